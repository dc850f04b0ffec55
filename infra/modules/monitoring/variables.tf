variable "environment" {
  description = "Environment id."
  type        = string
}

variable "region" {
  description = "AWS region of the dashboard widgets."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the alarm topic."
  type        = string
}

variable "alarm_email" {
  description = "E-mail subscribed to the alarm topic (empty: none)."
  type        = string
  default     = ""
}

variable "dms_replication_instance_id" {
  description = "DMS replication instance id."
  type        = string
}

variable "dms_task_id" {
  description = "DMS replication task id (autocorp-full-load-cdc-<env>)."
  type        = string
}

variable "dms_task_resource_id" {
  description = "DMS task resource id (ReplicationTaskIdentifier dimension)."
  type        = string
}

variable "glue_job_names" {
  description = "Glue job names by key."
  type        = map(string)
}

variable "datasync_task_id" {
  description = "DataSync task id (TaskId dimension)."
  type        = string
}

variable "athena_workgroup" {
  description = "Athena workgroup."
  type        = string
}

variable "metrics_namespace" {
  description = "Namespace of the DAGs' custom metrics."
  type        = string
  default     = "AutoCorpLake"
}

variable "cdc_latency_threshold_seconds" {
  description = "CDC latency alarm threshold (seconds)."
  type        = number
  default     = 600
}

variable "freshness_threshold_seconds" {
  description = "Freshness alarm: the oldest source change not yet in curated may wait this long (the seed's 15-minute goal)."
  type        = number
  default     = 900
}
