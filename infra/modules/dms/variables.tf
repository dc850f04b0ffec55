variable "environment" {
  description = "Environment id."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the replication instance."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the replication instance."
  type        = list(string)
}

variable "instance_class" {
  description = "Replication instance class."
  type        = string
  default     = "dms.t3.medium"
}

variable "allocated_storage" {
  description = "Replication instance storage (GiB)."
  type        = number
  default     = 50
}

variable "multi_az" {
  description = "Multi-AZ replication instance."
  type        = bool
  default     = false
}

variable "engine_version" {
  description = "DMS engine version (null: the default)."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "KMS key of the replication instance, the endpoints and the S3 files."
  type        = string
}

variable "source_db_name" {
  description = "Source database name."
  type        = string
  default     = "autocorp"
}

variable "source_db_secret_arn" {
  description = "Secret with the source credentials (autocorp/<env>/source-db)."
  type        = string
}

variable "secrets_access_role_arn" {
  description = "Role DMS assumes to read the secret."
  type        = string
}

variable "s3_target_role_arn" {
  description = "Role DMS assumes to write the lake."
  type        = string
}

variable "lake_bucket" {
  description = "Lake bucket name."
  type        = string
}
