variable "environment" {
  description = "Environment id."
  type        = string
}

variable "agent_arn" {
  description = "ARN of the activated DataSync agent (activation is manual: infra/README.md)."
  type        = string
}

variable "nfs_server" {
  description = "NFS server holding the CSV exports."
  type        = string
}

variable "nfs_path" {
  description = "Exported path of the CSV exports."
  type        = string
}

variable "manifest_file" {
  description = "Manifest JSON written next to the CSV exports."
  type        = string
  default     = "data_validation_manifest.json"
}

variable "lake_bucket_arn" {
  description = "Lake bucket ARN."
  type        = string
}

variable "datasync_role_arn" {
  description = "Role DataSync assumes to write the lake."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the task's log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the task's log group."
  type        = number
  default     = 365
}

variable "schedule_expression" {
  description = "Optional DataSync schedule (null: the autocorp_files DAG starts the task hourly)."
  type        = string
  default     = null
}
