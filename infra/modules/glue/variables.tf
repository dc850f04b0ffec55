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

variable "quality_gate_python_modules" {
  description = "pip packages of the quality-gate job (--additional-python-modules): GX as pinned in requirements.txt."
  type        = string
  default     = "great-expectations==1.24.1,PyYAML==6.0.4"
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
  description = "Concurrent runs per job (the DAGs map jobs over 7 tables and 4 feeds; pools cap them)."
  type        = number
  default     = 11
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the lake's custom metrics."
  type        = string
  default     = "AutoCorpLake"
}

variable "source_schema" {
  description = "Schema of the source tables (registry source_schema)."
  type        = string
  default     = "public"
}
