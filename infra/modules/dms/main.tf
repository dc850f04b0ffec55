# DMS: PostgreSQL `autocorp` (full load + CDC) to raw/database/ in the lake, writing exactly the
# S3 file contract of DESIGN.md. The table mappings (table_mappings.json) select the registry's
# tables by name (tests/infra/test_terraform.py holds them equal to include/tables.yaml).

resource "aws_dms_replication_subnet_group" "this" {
  replication_subnet_group_id          = "autocorp-${var.environment}"
  replication_subnet_group_description = "AutoCorp Lake ${var.environment} replication subnets"
  subnet_ids                           = var.subnet_ids
}

resource "aws_dms_replication_instance" "this" {
  replication_instance_id     = "autocorp-${var.environment}"
  replication_instance_class  = var.instance_class
  allocated_storage           = var.allocated_storage
  engine_version              = var.engine_version
  multi_az                    = var.multi_az
  kms_key_arn                 = var.kms_key_arn
  publicly_accessible         = false
  auto_minor_version_upgrade  = true
  apply_immediately           = false
  replication_subnet_group_id = aws_dms_replication_subnet_group.this.id
  vpc_security_group_ids      = var.security_group_ids
}

# Host, port, user and password come from the secret (value set outside Terraform: README.md).
resource "aws_dms_endpoint" "source" {
  endpoint_id                     = "autocorp-source-${var.environment}"
  endpoint_type                   = "source"
  engine_name                     = "postgres"
  database_name                   = var.source_db_name
  secrets_manager_arn             = var.source_db_secret_arn
  secrets_manager_access_role_arn = var.secrets_access_role_arn
  ssl_mode                        = "require"
  kms_key_arn                     = var.kms_key_arn

  postgres_settings {
    plugin_name      = "test-decoding" # PluginNameValue: no-preference | test-decoding | pglogical
    heartbeat_enable = true
    capture_ddls     = false
  }
}

resource "aws_dms_s3_endpoint" "target" {
  endpoint_id             = "autocorp-raw-${var.environment}"
  endpoint_type           = "target"
  bucket_name             = var.lake_bucket
  service_access_role_arn = var.s3_target_role_arn

  # The DMS S3 file contract (DESIGN.md); the local replicator writes the same layout.
  bucket_folder            = "raw/database"
  data_format              = "parquet"
  parquet_version          = "parquet-2-0"
  include_op_for_full_load = true
  timestamp_column_name    = "dms_commit_ts"
  date_partition_enabled   = true
  date_partition_sequence  = "YYYYMMDD"
  date_partition_delimiter = "SLASH"
  # No cdc_path: on an S3 target CdcPath only takes effect with preserve_transactions = true (one
  # transaction-ordered stream for all tables). Without it DMS writes each table's CDC files beside
  # its full load: raw/database/<schema>/<table>/YYYY/MM/DD/<yyyymmdd-hhmmssfff>.parquet, which
  # apply_changes and the CDC sensor read.

  encryption_mode                   = "SSE_KMS"
  server_side_encryption_kms_key_id = var.kms_key_arn
  kms_key_arn                       = var.kms_key_arn
}

resource "aws_dms_replication_task" "full_load_cdc" {
  replication_task_id      = "autocorp-full-load-cdc-${var.environment}"
  migration_type           = "full-load-and-cdc"
  replication_instance_arn = aws_dms_replication_instance.this.replication_instance_arn
  source_endpoint_arn      = aws_dms_endpoint.source.endpoint_arn
  target_endpoint_arn      = aws_dms_s3_endpoint.target.endpoint_arn
  table_mappings           = file("${path.module}/table_mappings.json")
  start_replication_task   = false

  replication_task_settings = jsonencode({
    TargetMetadata = {
      SupportLobs        = true
      LimitedSizeLobMode = true
      LobMaxSize         = 64
    }
    FullLoadSettings = {
      TargetTablePrepMode = "DO_NOTHING"
    }
    Logging = {
      EnableLogging = true
    }
  })

  lifecycle {
    # DMS adds defaults to the settings; the task is started and stopped by the DAGs.
    ignore_changes = [replication_task_settings]
  }
}
