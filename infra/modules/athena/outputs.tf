output "workgroup_name" {
  description = "Workgroup autocorp-<env> (aws_names().athena_workgroup)."
  value       = aws_athena_workgroup.lake.name
}

output "named_query_ids" {
  description = "Named query ids by SQL file name."
  value       = { for file, query in aws_athena_named_query.analytics : file => query.id }
}
