output "arn" {
  description = "MWAA environment ARN."
  value       = aws_mwaa_environment.this.arn
}

output "webserver_url" {
  description = "Airflow UI URL."
  value       = aws_mwaa_environment.this.webserver_url
}
