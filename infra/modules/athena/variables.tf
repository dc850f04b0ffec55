variable "environment" {
  description = "Environment id."
  type        = string
}

variable "lake_bucket" {
  description = "Lake bucket name (results under athena-results/)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the query results."
  type        = string
}

variable "analytics_sql" {
  description = "Absolute path of include/sql/athena/analytics/ (one named query per .sql file)."
  type        = string
}

variable "database" {
  description = "Catalog database of the named queries."
  type        = string
  default     = "autocorp_analytics"
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Cancel a query that scans more than this many bytes (10 GiB by default)."
  type        = number
  default     = 10737418240
}
