output "job_names" {
  description = "Glue job names by registry key (apply_changes, clean_feed, promote, maintenance)."
  value       = { for key, job in aws_glue_job.this : key => job.name }
}

output "crawler_names" {
  description = "Crawler names by key (raw_database, raw_csv)."
  value       = { for key, crawler in aws_glue_crawler.this : key => crawler.name }
}

output "database_names" {
  description = "Glue catalog databases."
  value       = [for db in aws_glue_catalog_database.this : db.name]
}
