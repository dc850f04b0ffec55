variable "environment" {
  description = "Environment id."
  type        = string
}

variable "account_id" {
  description = "AWS account id."
  type        = string
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "partition" {
  description = "AWS partition (aws, aws-cn, ...)."
  type        = string
  default     = "aws"
}

variable "lake_bucket_arn" {
  description = "ARN of the lake bucket."
  type        = string
}

variable "mwaa_bucket_arn" {
  description = "ARN of the MWAA bucket (also holds glue_scripts/)."
  type        = string
}

variable "kms_key_arn" {
  description = "The lake's KMS key."
  type        = string
}

variable "source_db_secret_arn" {
  description = "ARN of the source database secret."
  type        = string
}

variable "mwaa_environment_name" {
  description = "Name of the MWAA environment (its log groups and metrics are scoped by it)."
  type        = string
}

variable "create_dms_vpc_role" {
  description = "Create the account-wide dms-vpc-role and dms-cloudwatch-logs-role."
  type        = bool
  default     = true
}
