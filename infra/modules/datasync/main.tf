# DataSync: the on-premises CSV export share (NFS, read by an agent activated by hand) to
# raw/csv/ in the lake, verifying the files it moved, with logs and a task report.

resource "aws_datasync_location_nfs" "exports" {
  server_hostname = var.nfs_server
  subdirectory    = var.nfs_path

  on_prem_config {
    agent_arns = [var.agent_arn]
  }

  mount_options {
    version = "NFS4_1"
  }
}

resource "aws_datasync_location_s3" "raw_csv" {
  s3_bucket_arn    = var.lake_bucket_arn
  subdirectory     = "/raw/csv/"
  s3_storage_class = "STANDARD"

  s3_config {
    bucket_access_role_arn = var.datasync_role_arn
  }
}

resource "aws_cloudwatch_log_group" "datasync" {
  name              = "/aws/datasync/autocorp-exports-${var.environment}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

data "aws_iam_policy_document" "datasync_logs" {
  statement {
    sid       = "DataSyncWritesTaskLogs"
    actions   = ["logs:PutLogEvents", "logs:CreateLogStream"]
    resources = ["${aws_cloudwatch_log_group.datasync.arn}:*"]
    principals {
      type        = "Service"
      identifiers = ["datasync.amazonaws.com"]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "datasync" {
  policy_name     = "autocorp-datasync-${var.environment}"
  policy_document = data.aws_iam_policy_document.datasync_logs.json
}

resource "aws_datasync_task" "exports" {
  name                     = "autocorp-exports-${var.environment}"
  source_location_arn      = aws_datasync_location_nfs.exports.arn
  destination_location_arn = aws_datasync_location_s3.raw_csv.arn
  cloudwatch_log_group_arn = aws_cloudwatch_log_group.datasync.arn

  # Only the CSV exports and their manifest.
  includes {
    filter_type = "SIMPLE_PATTERN"
    value       = "*.csv|/${var.manifest_file}"
  }

  options {
    verify_mode            = "ONLY_FILES_TRANSFERRED"
    transfer_mode          = "CHANGED"
    overwrite_mode         = "ALWAYS"
    preserve_deleted_files = "PRESERVE"
    log_level              = "TRANSFER"
    posix_permissions      = "NONE"
    uid                    = "NONE"
    gid                    = "NONE"
  }

  task_report_config {
    output_type          = "STANDARD"
    report_level         = "ERRORS_ONLY"
    s3_object_versioning = "INCLUDE"

    s3_destination {
      s3_bucket_arn          = var.lake_bucket_arn
      bucket_access_role_arn = var.datasync_role_arn
      subdirectory           = "logs/datasync/"
    }

    report_overrides {
      transferred_override = "SUCCESSES_AND_ERRORS"
      verified_override    = "SUCCESSES_AND_ERRORS"
    }
  }

  dynamic "schedule" {
    for_each = var.schedule_expression == null ? [] : [var.schedule_expression]
    content {
      schedule_expression = schedule.value
    }
  }

  depends_on = [aws_cloudwatch_log_resource_policy.datasync]
}
