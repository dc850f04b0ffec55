variable "environment" {
  description = "Environment id."
  type        = string
}

variable "lake_bucket" {
  description = "Lake bucket name."
  type        = string
}

variable "scripts_bucket" {
  description = "Bucket that holds glue_scripts/ (the MWAA bucket)."
  type        = string
}

variable "glue_scripts_dir" {
  description = "Absolute path of the repo's glue_scripts/ folder."
  type        = string
}

variable "include_dir" {
  description = "Absolute path of the repo's include/ folder (tables.yaml and quality/*.json go to s3://<lake>/config/)."
  type        = string
}

variable "package_zip_path" {
  description = "The autocorp_lake package zip built by `make bundle` (dist/mwaa/glue/autocorp_lake.zip)."
  type        = string
}

variable "python_modules" {
  description = "pip packages of every job (--additional-python-modules): PyYAML for the registry."
  type        = string
  default     = "PyYAML==6.0.3"
}

variable "staging_python_modules" {
  description = "pip packages of the staging jobs apply_changes and clean_feed, which run the quality gate (--additional-python-modules): GX Core and PyYAML."
  type        = string
  default     = "great-expectations==1.24.1,PyYAML==6.0.3"
}

variable "source_db_host" {
  description = "Host name of the source PostgreSQL, as the Glue connection's subnet reaches it."
  type        = string
}

variable "source_db_port" {
  description = "Port of the source PostgreSQL."
  type        = number
  default     = 5432
}

variable "source_db_name" {
  description = "Source database name."
  type        = string
  default     = "autocorp"
}

variable "source_db_secret_name" {
  description = "Secrets Manager secret with the source credentials (username, password), also read by DMS."
  type        = string
}

variable "connection_subnet_id" {
  description = "Private subnet of the Glue connection (a route to the source database)."
  type        = string
}

variable "connection_security_group_ids" {
  description = "Security groups of the Glue connection (self-referencing rule required by Glue)."
  type        = list(string)
}

variable "glue_role_arn" {
  description = "Role of the Glue jobs and crawlers."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the Glue security configuration."
  type        = string
}

variable "worker_type" {
  description = "Glue worker type."
  type        = string
  default     = "G.1X"
}

variable "number_of_workers" {
  description = "Glue workers per run."
  type        = number
  default     = 2
}

variable "job_timeout_minutes" {
  description = "Timeout of one run (minutes)."
  type        = number
  default     = 60
}

variable "max_concurrent_runs" {
  description = "Concurrent runs per job: at least 2 (GLUE_CONCURRENCY) per task that runs it, over all DAGs."
  type        = number
  default     = 11
}

