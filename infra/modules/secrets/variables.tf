variable "environment" {
  description = "Environment id."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the secret."
  type        = string
}

variable "airflow_variables" {
  description = "Airflow Variables written to Secrets Manager (airflow/variables/<name>): name -> value."
  type        = map(string)
  default     = {}
}
