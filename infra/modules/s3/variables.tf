variable "environment" {
  description = "Environment id: bucket names end with it."
  type        = string
}

variable "account_id" {
  description = "AWS account id (KMS key policy)."
  type        = string
}

variable "region" {
  description = "AWS region (KMS key policy for CloudWatch Logs)."
  type        = string
}

variable "lake_sse_kms" {
  description = "SSE-KMS with the lake key (true) or SSE-S3 (false) on the lake bucket."
  type        = bool
  default     = true
}

variable "mwaa_bundle_dir" {
  description = "Absolute path of dist/mwaa (built by `make bundle`)."
  type        = string
}

variable "raw_to_ia_days" {
  description = "Days after which raw/ objects move to STANDARD_IA."
  type        = number
  default     = 30
}

variable "athena_results_expiry_days" {
  description = "Days after which athena-results/ objects expire."
  type        = number
  default     = 30
}

variable "noncurrent_version_expiry_days" {
  description = "Days after which noncurrent object versions expire."
  type        = number
  default     = 90
}
