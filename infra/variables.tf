variable "environment" {
  description = "Environment id (dev, prod): the suffix of every resource name, as LAKE_ENV in the DAGs."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment must be 2-10 lowercase letters/digits, e.g. dev or prod."
  }
}

variable "region" {
  description = "AWS region of the lake."
  type        = string
  default     = "eu-west-1"
}

variable "lake_sse_kms" {
  description = "Encrypt the lake bucket with the lake's customer-managed KMS key (true) or with SSE-S3 (false)."
  type        = bool
  default     = true
}

variable "private_subnet_ids" {
  description = "Two or more private subnets (in different AZs) for MWAA and DMS; they need a NAT route or VPC endpoints."
  type        = list(string)
}

variable "mwaa_security_group_ids" {
  description = "Security groups of the MWAA environment (one must allow traffic between its own members)."
  type        = list(string)
}

variable "dms_security_group_ids" {
  description = "Security groups of the DMS replication instance (egress to the source PostgreSQL on 5432 and to S3)."
  type        = list(string)
}

variable "dms_instance_class" {
  description = "DMS replication instance class."
  type        = string
  default     = "dms.t3.medium"
}

variable "dms_allocated_storage" {
  description = "DMS replication instance storage (GiB)."
  type        = number
  default     = 50
}

variable "dms_multi_az" {
  description = "Run the DMS replication instance in two AZs."
  type        = bool
  default     = false
}

variable "create_dms_vpc_role" {
  description = "Create the account-wide dms-vpc-role (false if the account already has it)."
  type        = bool
  default     = true
}

variable "glue_worker_type" {
  description = "Glue worker type of every job (G.1X, G.2X, ...)."
  type        = string
  default     = "G.1X"
}

variable "glue_number_of_workers" {
  description = "Glue workers per job run."
  type        = number
  default     = 2
}

variable "glue_job_timeout_minutes" {
  description = "Timeout of one Glue job run (minutes)."
  type        = number
  default     = 60
}

variable "datasync_agent_arn" {
  description = "ARN of the activated DataSync agent next to the on-premises export share (activation is manual: README.md)."
  type        = string
}

variable "exports_nfs_server" {
  description = "Host name or IP of the NFS server that holds the CSV exports."
  type        = string
}

variable "exports_nfs_path" {
  description = "Exported path of the CSV export share, e.g. /exports/autocorp."
  type        = string
  default     = "/exports/autocorp"
}

variable "exports_manifest_file" {
  description = "Name of the manifest JSON written next to the CSV exports."
  type        = string
  default     = "data_validation_manifest.json"
}

variable "mwaa_environment_class" {
  description = "MWAA environment class."
  type        = string
  default     = "mw1.small"
}

variable "mwaa_min_workers" {
  description = "MWAA minimum workers."
  type        = number
  default     = 1
}

variable "mwaa_max_workers" {
  description = "MWAA maximum workers."
  type        = number
  default     = 5
}

variable "mwaa_bundle_dir" {
  description = "Folder with the MWAA bundle built by `make bundle` (dags/, plugins.zip, requirements.txt, startup.sh)."
  type        = string
  default     = "../dist/mwaa"
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups (days)."
  type        = number
  default     = 365
}

variable "alarm_email" {
  description = "E-mail subscribed to the alarm topic (empty: no subscription)."
  type        = string
  default     = ""
}

variable "cdc_latency_threshold_seconds" {
  description = "Alarm when the DMS CDC latency (source or target) stays above this many seconds."
  type        = number
  default     = 600
}

variable "source_db_host" {
  description = "Host name of the source PostgreSQL as seen from the VPC (Glue connection of the reconcile job)."
  type        = string
}

variable "source_db_port" {
  description = "Port of the source PostgreSQL."
  type        = number
  default     = 5432
}

variable "glue_security_group_ids" {
  description = "Security groups of the Glue connection to the source (needs a self-referencing all-TCP rule)."
  type        = list(string)
}
