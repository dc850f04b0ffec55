# The MWAA environment (Airflow 3.3.1). LAKE_TARGET=aws, LAKE_ENV and LAKE_BUCKET are exported by
# startup.sh (infra/mwaa/startup.sh, shipped in the bundle); the same values are set as Airflow
# configuration options (custom section `lake`) so they show in the UI's configuration page.

resource "aws_mwaa_environment" "this" {
  name               = var.name
  airflow_version    = var.airflow_version
  environment_class  = var.environment_class
  min_workers        = var.min_workers
  max_workers        = var.max_workers
  execution_role_arn = var.execution_role_arn
  kms_key            = var.kms_key_arn

  source_bucket_arn                = var.source_bucket_arn
  dag_s3_path                      = "dags/"
  plugins_s3_path                  = "plugins.zip"
  plugins_s3_object_version        = var.plugins_s3_object_version
  requirements_s3_path             = "requirements.txt"
  requirements_s3_object_version   = var.requirements_s3_object_version
  startup_script_s3_path           = "startup.sh"
  startup_script_s3_object_version = var.startup_script_object_version

  webserver_access_mode = "PRIVATE_ONLY"

  airflow_configuration_options = merge(var.airflow_configuration_options, {
    "lake.target" = "aws"
    "lake.env"    = var.environment
    "lake.bucket" = var.lake_bucket
  })

  network_configuration {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  logging_configuration {
    dag_processing_logs {
      enabled   = true
      log_level = var.log_level
    }
    scheduler_logs {
      enabled   = true
      log_level = var.log_level
    }
    task_logs {
      enabled   = true
      log_level = var.log_level
    }
    webserver_logs {
      enabled   = true
      log_level = var.log_level
    }
    worker_logs {
      enabled   = true
      log_level = var.log_level
    }
  }
}
