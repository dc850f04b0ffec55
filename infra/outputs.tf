output "lake_bucket" {
  description = "The lake bucket (LAKE_BUCKET)."
  value       = module.s3.lake_bucket_name
}

output "mwaa_bucket" {
  description = "The MWAA source bucket (dags/, plugins.zip, requirements.txt, startup.sh, glue_scripts/)."
  value       = module.s3.mwaa_bucket_name
}

output "kms_key_arn" {
  description = "The lake's customer-managed KMS key."
  value       = module.s3.kms_key_arn
}

output "source_db_secret_arn" {
  description = "Secret autocorp/<env>/source-db; its value is set outside Terraform (README.md)."
  value       = module.secrets.source_db_secret_arn
}

output "glue_job_names" {
  description = "Glue job names by registry key (aws_names().glue_jobs)."
  value       = module.glue.job_names
}

output "glue_crawler_names" {
  description = "Glue crawler names (aws_names().crawlers)."
  value       = module.glue.crawler_names
}

output "dms_replication_task_arn" {
  description = "ARN of the full-load-and-cdc task (Airflow Variable autocorp_dms_task_arn)."
  value       = module.dms.replication_task_arn
}

output "datasync_task_arn" {
  description = "ARN of the exports task (Airflow Variable autocorp_datasync_task_arn)."
  value       = module.datasync.task_arn
}

output "athena_workgroup" {
  description = "Athena workgroup of the DAGs."
  value       = module.athena.workgroup_name
}

output "alarm_topic_arn" {
  description = "SNS topic of the lake's alarms."
  value       = module.monitoring.alarm_topic_arn
}

output "mwaa_webserver_url" {
  description = "Airflow UI of the MWAA environment."
  value       = module.mwaa.webserver_url
}
