output "task_arn" {
  description = "ARN of autocorp-exports-<env> (Airflow Variable autocorp_datasync_task_arn)."
  value       = aws_datasync_task.exports.arn
}

output "task_id" {
  description = "Task id (last part of the ARN): the TaskId dimension of DataSync metrics."
  value       = element(split("/", aws_datasync_task.exports.arn), 1)
}

output "task_name" {
  description = "Task name (aws_names().datasync_task_name)."
  value       = aws_datasync_task.exports.name
}
