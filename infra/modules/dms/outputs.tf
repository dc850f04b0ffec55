output "replication_instance_id" {
  description = "Replication instance id (CloudWatch dimension)."
  value       = aws_dms_replication_instance.this.replication_instance_id
}

output "replication_task_id" {
  description = "Task id autocorp-full-load-cdc-<env> (aws_names().dms_task_id)."
  value       = aws_dms_replication_task.full_load_cdc.replication_task_id
}

output "replication_task_arn" {
  description = "Task ARN (the DAGs read it from the Airflow Variable autocorp_dms_task_arn)."
  value       = aws_dms_replication_task.full_load_cdc.replication_task_arn
}

output "replication_task_resource_id" {
  description = "Last part of the task ARN: the ReplicationTaskIdentifier dimension of CDC latency metrics."
  value       = element(split(":", aws_dms_replication_task.full_load_cdc.replication_task_arn), 6)
}
