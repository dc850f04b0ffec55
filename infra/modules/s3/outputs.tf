output "lake_bucket_name" {
  description = "Lake bucket name."
  value       = aws_s3_bucket.lake.id
}

output "lake_bucket_arn" {
  description = "Lake bucket ARN."
  value       = aws_s3_bucket.lake.arn
}

output "mwaa_bucket_name" {
  description = "MWAA source bucket name."
  value       = aws_s3_bucket.mwaa.id
}

output "mwaa_bucket_arn" {
  description = "MWAA source bucket ARN."
  value       = aws_s3_bucket.mwaa.arn
}

output "kms_key_arn" {
  description = "The lake's customer-managed KMS key."
  value       = aws_kms_key.lake.arn
}

output "plugins_object_version" {
  description = "Version id of plugins.zip (null before the first bundle)."
  value       = try(aws_s3_object.bundle["plugins.zip"].version_id, null)
}

output "requirements_object_version" {
  description = "Version id of requirements.txt (null before the first bundle)."
  value       = try(aws_s3_object.bundle["requirements.txt"].version_id, null)
}

output "startup_object_version" {
  description = "Version id of startup.sh (null before the first bundle)."
  value       = try(aws_s3_object.bundle["startup.sh"].version_id, null)
}
