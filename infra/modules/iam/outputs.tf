output "glue_role_arn" {
  description = "Role of the Glue jobs and crawlers."
  value       = aws_iam_role.glue.arn
}

output "dms_s3_role_arn" {
  description = "Role DMS uses to write raw/database/."
  value       = aws_iam_role.dms_s3.arn
}

output "dms_secrets_role_arn" {
  description = "Role DMS uses to read the source database secret."
  value       = aws_iam_role.dms_secrets.arn
}

output "datasync_role_arn" {
  description = "Role DataSync uses to write raw/csv/ and its reports."
  value       = aws_iam_role.datasync.arn
}

output "mwaa_role_arn" {
  description = "MWAA execution role."
  value       = aws_iam_role.mwaa.arn
}
