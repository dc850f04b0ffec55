# The source database credentials. Only the secret is managed here: its value (JSON with
# username, password, host, port, dbname as DMS expects) is set outside Terraform (README.md),
# so no credential ever reaches the code or the state.
resource "aws_secretsmanager_secret" "source_db" {
  name                    = "autocorp/${var.environment}/source-db"
  description             = "AutoCorp source PostgreSQL credentials for DMS (value set outside Terraform)"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 30
}

locals {
  # MWAA reads Airflow connections and variables from Secrets Manager.
  mwaa_secrets_backend_options = {
    "secrets.backend" = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
    "secrets.backend_kwargs" = jsonencode({
      connections_prefix = "airflow/connections"
      variables_prefix   = "airflow/variables"
    })
  }
}

# Airflow Variables that only Terraform knows (ARNs), where MWAA's secrets backend reads them:
# airflow/variables/<name>. They name resources, they are not credentials.
resource "aws_secretsmanager_secret" "airflow_variable" {
  for_each = toset(keys(var.airflow_variables))

  name                    = "airflow/variables/${each.key}"
  description             = "Airflow Variable ${each.key} (written by Terraform)"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 0
}

resource "aws_secretsmanager_secret_version" "airflow_variable" {
  for_each = toset(keys(var.airflow_variables))

  secret_id     = aws_secretsmanager_secret.airflow_variable[each.key].id
  secret_string = var.airflow_variables[each.key]
}
