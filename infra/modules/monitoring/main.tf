# Monitoring: one dashboard and the alarms of the lake, all to one SNS topic.
# Custom metrics come from the DAGs (namespace AutoCorpLake, dimension Environment=<env>).

locals {
  dms_dimensions = {
    ReplicationInstanceIdentifier = var.dms_replication_instance_id
    ReplicationTaskIdentifier     = var.dms_task_resource_id
  }
  glue_jobs = sort(values(var.glue_job_names))
}

# ---------------------------------------------------------------- topic
resource "aws_sns_topic" "alarms" {
  name              = "autocorp-lake-alarms-${var.environment}"
  kms_master_key_id = var.kms_key_arn
}

data "aws_iam_policy_document" "alarms_topic" {
  statement {
    sid       = "CloudWatchAndEventBridgePublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_caller_identity" "current" {}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms_topic.json
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# ---------------------------------------------------------------- alarms
resource "aws_cloudwatch_metric_alarm" "cdc_latency" {
  for_each = toset(["CDCLatencySource", "CDCLatencyTarget"])

  alarm_name          = "autocorp-${var.environment}-dms-${lower(each.value)}"
  alarm_description   = "DMS ${each.value} of ${var.dms_task_id} above ${var.cdc_latency_threshold_seconds} s"
  namespace           = "AWS/DMS"
  metric_name         = each.value
  dimensions          = local.dms_dimensions
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  threshold           = var.cdc_latency_threshold_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# Any Glue job run of the lake that fails, times out or errors: an EventBridge rule notifies at
# once, and an alarm on the rule's matches keeps the state visible.
resource "aws_cloudwatch_event_rule" "glue_failure" {
  name        = "autocorp-${var.environment}-glue-failure"
  description = "A Glue job of AutoCorp Lake ${var.environment} failed"
  event_pattern = jsonencode({
    source        = ["aws.glue"]
    "detail-type" = ["Glue Job State Change"]
    detail = {
      jobName = local.glue_jobs
      state   = ["FAILED", "TIMEOUT", "ERROR"]
    }
  })
}

resource "aws_cloudwatch_event_target" "glue_failure" {
  rule = aws_cloudwatch_event_rule.glue_failure.name
  arn  = aws_sns_topic.alarms.arn
}

resource "aws_cloudwatch_metric_alarm" "glue_failure" {
  alarm_name          = "autocorp-${var.environment}-glue-job-failure"
  alarm_description   = "A Glue job of AutoCorp Lake ${var.environment} failed, timed out or errored"
  namespace           = "AWS/Events"
  metric_name         = "TriggeredRules"
  dimensions          = { RuleName = aws_cloudwatch_event_rule.glue_failure.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "gate_failure" {
  alarm_name          = "autocorp-${var.environment}-quality-gate-failure"
  alarm_description   = "A quality gate of AutoCorp Lake ${var.environment} failed (data quarantined)"
  namespace           = var.metrics_namespace
  metric_name         = "GateFailures"
  dimensions          = { Environment = var.environment }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

# A table blocked behind a quarantined batch, and changes waiting longer than the freshness goal:
# published every run by publish_metrics (quality/held.py), per table and per environment.
resource "aws_cloudwatch_metric_alarm" "held_batches" {
  alarm_name          = "autocorp-${var.environment}-tables-blocked"
  alarm_description   = "A table of AutoCorp Lake ${var.environment} is blocked by a quarantined batch: `autocorp-lake quality` / the quality logs name it and the release command"
  namespace           = var.metrics_namespace
  metric_name         = "HeldBatches"
  dimensions          = { Environment = var.environment }
  statistic           = "Maximum"
  period              = 600
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "freshness" {
  alarm_name          = "autocorp-${var.environment}-freshness"
  alarm_description   = "A source change of AutoCorp Lake ${var.environment} has waited more than ${var.freshness_threshold_seconds} s to reach curated"
  namespace           = var.metrics_namespace
  metric_name         = "FreshnessSeconds"
  dimensions          = { Environment = var.environment }
  statistic           = "Maximum"
  period              = 600
  evaluation_periods  = 1
  threshold           = var.freshness_threshold_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "breaching" # no metric for a while: the CDC DAG is not running
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

# ---------------------------------------------------------------- dashboard
resource "aws_cloudwatch_dashboard" "lake" {
  dashboard_name = "autocorp-lake-${var.environment}"
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title  = "DMS CDC latency (s)"
          region = var.region
          stat   = "Maximum"
          period = 60
          metrics = [
            ["AWS/DMS", "CDCLatencySource", "ReplicationInstanceIdentifier", var.dms_replication_instance_id, "ReplicationTaskIdentifier", var.dms_task_resource_id],
            ["AWS/DMS", "CDCLatencyTarget", "ReplicationInstanceIdentifier", var.dms_replication_instance_id, "ReplicationTaskIdentifier", var.dms_task_resource_id],
          ]
          annotations = { horizontal = [{ label = "alarm", value = var.cdc_latency_threshold_seconds }] }
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title  = "Glue job failures"
          region = var.region
          stat   = "Sum"
          period = 300
          metrics = concat(
            [["AWS/Events", "TriggeredRules", "RuleName", aws_cloudwatch_event_rule.glue_failure.name, { label = "failed runs" }]],
            [for job in local.glue_jobs : ["Glue", "glue.driver.aggregate.numFailedTasks", "JobName", job, "JobRunId", "ALL", "Type", "count"]],
          )
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title   = "Glue job duration (ms)"
          region  = var.region
          stat    = "Maximum"
          period  = 300
          metrics = [for job in local.glue_jobs : ["Glue", "glue.driver.aggregate.elapsedTime", "JobName", job, "JobRunId", "ALL", "Type", "count"]]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title   = "DataSync bytes transferred"
          region  = var.region
          stat    = "Sum"
          period  = 3600
          metrics = [["AWS/DataSync", "BytesTransferred", "TaskId", var.datasync_task_id]]
        }
      },
      {
        type = "metric", x = 0, y = 12, width = 12, height = 6
        properties = {
          title  = "Athena bytes scanned (ProcessedBytes)"
          region = var.region
          period = 3600
          metrics = [[{
            expression = "SEARCH('{AWS/Athena,QueryState,QueryType,WorkGroup} MetricName=\"ProcessedBytes\" WorkGroup=\"${var.athena_workgroup}\"', 'Sum', 3600)"
            id         = "athena"
          }]]
        }
      },
      {
        type = "metric", x = 12, y = 12, width = 12, height = 6
        properties = {
          title  = "Quality gate failures (${var.metrics_namespace}/GateFailures)"
          region = var.region
          stat   = "Sum"
          period = 300
          metrics = [
            [var.metrics_namespace, "GateFailures", "Environment", var.environment],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 18, width = 12, height = 6
        properties = {
          title  = "Blocked: quarantined batches holding a table (HeldBatches)"
          region = var.region
          stat   = "Maximum"
          period = 600
          metrics = [[{
            expression = "SEARCH('{${var.metrics_namespace},Table} MetricName=\"HeldBatches\"', 'Maximum', 600)"
            id         = "held"
          }]]
        }
      },
      {
        type = "metric", x = 12, y = 18, width = 12, height = 6
        properties = {
          title  = "Freshness: age of the oldest change not yet in curated (s)"
          region = var.region
          stat   = "Maximum"
          period = 600
          metrics = [[{
            expression = "SEARCH('{${var.metrics_namespace},Table} MetricName=\"FreshnessSeconds\"', 'Maximum', 600)"
            id         = "freshness"
          }]]
          annotations = { horizontal = [{ label = "goal", value = var.freshness_threshold_seconds }] }
        }
      },
    ]
  })
}
