output "alarm_topic_arn" {
  description = "SNS topic of the lake's alarms."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.lake.dashboard_name
}
