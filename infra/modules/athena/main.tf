# Athena: the DAGs' workgroup (results location and encryption enforced, engine v3) and one
# named query per analytics SQL file, so analysts find the same queries the DAGs run.

resource "aws_athena_workgroup" "lake" {
  name          = "autocorp-${var.environment}"
  description   = "AutoCorp Lake ${var.environment}: DAG and analyst queries"
  state         = "ENABLED"
  force_destroy = false

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${var.lake_bucket}/athena-results/"

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }
}

resource "aws_athena_named_query" "analytics" {
  for_each = fileset(var.analytics_sql, "*.sql")

  name        = "autocorp-${var.environment}-${trimsuffix(each.value, ".sql")}"
  description = "include/sql/athena/analytics/${each.value}"
  workgroup   = aws_athena_workgroup.lake.id
  database    = var.database
  query       = file("${var.analytics_sql}/${each.value}")
}
