variable "environment" {
  description = "Environment id (LAKE_ENV)."
  type        = string
}

variable "name" {
  description = "MWAA environment name (autocorp-lake-<env>; startup.sh derives LAKE_ENV from it)."
  type        = string
}

variable "airflow_version" {
  description = "Airflow version of the environment."
  type        = string
  default     = "3.3.1"
}

variable "source_bucket_arn" {
  description = "MWAA bucket ARN."
  type        = string
}

variable "lake_bucket" {
  description = "Lake bucket name (LAKE_BUCKET)."
  type        = string
}

variable "execution_role_arn" {
  description = "MWAA execution role."
  type        = string
}

variable "subnet_ids" {
  description = "Two private subnets."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the environment."
  type        = list(string)
}

variable "environment_class" {
  description = "Environment class."
  type        = string
  default     = "mw1.small"
}

variable "min_workers" {
  description = "Minimum workers."
  type        = number
  default     = 1
}

variable "max_workers" {
  description = "Maximum workers."
  type        = number
  default     = 5
}

variable "kms_key_arn" {
  description = "Customer-managed key of the environment."
  type        = string
}

variable "log_level" {
  description = "Level of every Airflow log type sent to CloudWatch."
  type        = string
  default     = "INFO"
}

variable "airflow_configuration_options" {
  description = "Extra Airflow configuration options (secrets backend etc.)."
  type        = map(string)
  default     = {}
}

variable "plugins_s3_object_version" {
  description = "Version of plugins.zip."
  type        = string
  default     = null
}

variable "requirements_s3_object_version" {
  description = "Version of requirements.txt."
  type        = string
  default     = null
}

variable "startup_script_object_version" {
  description = "Version of startup.sh."
  type        = string
  default     = null
}
