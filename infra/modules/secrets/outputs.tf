output "source_db_secret_arn" {
  description = "ARN of autocorp/<env>/source-db."
  value       = aws_secretsmanager_secret.source_db.arn
}

output "source_db_secret_name" {
  description = "Name of the source database secret."
  value       = aws_secretsmanager_secret.source_db.name
}

output "mwaa_secrets_backend_options" {
  description = "airflow_configuration_options that make MWAA use the Secrets Manager backend."
  value       = local.mwaa_secrets_backend_options
}

output "airflow_connections_prefix" {
  description = "Secrets Manager prefix of Airflow connections."
  value       = "airflow/connections"
}

output "airflow_variables_prefix" {
  description = "Secrets Manager prefix of Airflow variables."
  value       = "airflow/variables"
}

output "airflow_variable_secret_arns" {
  description = "Secrets of the Airflow Variables Terraform writes, by variable name."
  value       = { for name, secret in aws_secretsmanager_secret.airflow_variable : name => secret.arn }
}
