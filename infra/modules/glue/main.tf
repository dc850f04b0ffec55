# Catalog databases, crawlers, the jobs of glue_scripts/ (Glue 5.0 with Hudi) and their upload.
# Job and crawler names are those of aws_names() in plugins/autocorp_lake/config.py.

locals {
  scripts_prefix = "s3://${var.scripts_bucket}/glue_scripts"
  package_zip    = "autocorp_lake.zip"

  databases = {
    autocorp_raw       = "Raw zone: DMS files (raw/database/) and CSV exports (raw/csv/), as crawled"
    autocorp_curated   = "Curated zone: Hudi tables under curated/hudi/"
    autocorp_analytics = "Analytics: Athena views and report tables"
  }

  crawlers = {
    raw_database = { name = "autocorp-raw-database-${var.environment}", path = "raw/database/" }
    raw_csv      = { name = "autocorp-raw-csv-${var.environment}", path = "raw/csv/" }
  }

  # Every job gets the same code (the autocorp_lake package zip from `make bundle`: the scripts are
  # entry points into autocorp_lake.jobs) and PyYAML (the registry); the two staging jobs add GX (they
  # validate each batch they stage: the quality gate). One run of a job serves every table of a DAG
  # run. No job uses Glue job bookmarks: runs of one job overlap (a bootstrap beside a CDC run) and a
  # bookmark fails them with a version mismatch; the lake's checkpoints track what was processed.
  extra_py_files = "${local.scripts_prefix}/${local.package_zip}"

  jobs = {
    apply_changes = {
      name            = "autocorp-apply-changes-${var.environment}"
      script          = "apply_changes.py"
      python_modules  = var.staging_python_modules
      connections     = []
      extra_arguments = {}
    }
    clean_feed = {
      name            = "autocorp-clean-feed-${var.environment}"
      script          = "clean_feed.py"
      python_modules  = var.staging_python_modules
      connections     = []
      extra_arguments = {}
    }
    promote = {
      name            = "autocorp-promote-${var.environment}"
      script          = "promote.py"
      python_modules  = var.python_modules
      connections     = []
      extra_arguments = {}
    }
    # autocorp_maintenance's reconcile: source (JDBC through the Glue connection) vs curated Hudi
    maintenance = {
      name           = "autocorp-maintenance-${var.environment}"
      script         = "maintenance.py"
      python_modules = var.python_modules
      connections    = [aws_glue_connection.source.name]
      extra_arguments = {
        "--source_connection" = aws_glue_connection.source.name
        "--registry"          = "s3://${var.lake_bucket}/config/tables.yaml"
        "--lake_root"         = "s3://${var.lake_bucket}"
      }
    }
  }

  # every job's arguments; a job's extra_arguments are merged over them
  common_arguments = {
    "--datalake-formats"                 = "hudi"
    "--extra-py-files"                   = local.extra_py_files
    "--job-bookmark-option"              = "job-bookmark-disable"
    "--conf"                             = local.hudi_spark_conf
    "--enable-glue-datacatalog"          = "true"
    "--enable-metrics"                   = "true"
    "--enable-observability-metrics"     = "true"
    "--enable-continuous-cloudwatch-log" = "true"
    "--job-language"                     = "python"
    "--TempDir"                          = "s3://${var.lake_bucket}/logs/glue-temp/"
  }

  hudi_spark_conf = join(" --conf ", [
    "spark.serializer=org.apache.spark.serializer.KryoSerializer",
    "spark.sql.extensions=org.apache.spark.sql.hudi.HoodieSparkSessionExtension",
    "spark.sql.hive.convertMetastoreParquet=false",
  ])
}

# ---------------------------------------------------------------- encryption
resource "aws_glue_security_configuration" "lake" {
  name = "autocorp-lake-${var.environment}"

  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = var.kms_key_arn
    }
    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = var.kms_key_arn
    }
    s3_encryption {
      s3_encryption_mode = "SSE-KMS"
      kms_key_arn        = var.kms_key_arn
    }
  }
}

# ---------------------------------------------------------------- catalog
resource "aws_glue_catalog_database" "this" {
  for_each = local.databases

  name        = each.key
  description = each.value
}

# ---------------------------------------------------------------- crawlers
resource "aws_glue_crawler" "this" {
  for_each = local.crawlers

  name                   = each.value.name
  role                   = var.glue_role_arn
  database_name          = aws_glue_catalog_database.this["autocorp_raw"].name
  security_configuration = aws_glue_security_configuration.lake.name
  description            = "Crawls s3://${var.lake_bucket}/${each.value.path} into autocorp_raw"

  s3_target {
    path       = "s3://${var.lake_bucket}/${each.value.path}"
    exclusions = ["**/_temporary/**", "**.tmp"]
  }

  schema_change_policy {
    update_behavior = "UPDATE_IN_DATABASE"
    delete_behavior = "LOG"
  }

  configuration = jsonencode({
    Version = 1.0
    Grouping = {
      TableGroupingPolicy = "CombineCompatibleSchemas"
    }
    CrawlerOutput = {
      Partitions = { AddOrUpdateBehavior = "InheritFromTable" }
    }
  })
}

# ---------------------------------------------------------------- scripts
resource "aws_s3_object" "script" {
  for_each = fileset(var.glue_scripts_dir, "*.py")

  bucket      = var.scripts_bucket
  key         = "glue_scripts/${each.value}"
  source      = "${var.glue_scripts_dir}/${each.value}"
  source_hash = filemd5("${var.glue_scripts_dir}/${each.value}")
}

# The autocorp_lake package for every job (--extra-py-files), built by `make bundle` (skipped
# before the first build, like the MWAA bundle).
resource "aws_s3_object" "package" {
  for_each = fileexists(var.package_zip_path) ? toset([local.package_zip]) : toset([])

  bucket      = var.scripts_bucket
  key         = "glue_scripts/${each.value}"
  source      = var.package_zip_path
  source_hash = filemd5(var.package_zip_path)
}

# The table registry and the GX suites, read by the jobs as --registry s3://<lake>/config/tables.yaml
# (suites beside it, in config/quality/).
resource "aws_s3_object" "config" {
  for_each = toset(concat(["tables.yaml"], tolist(fileset(var.include_dir, "quality/*.json"))))

  bucket      = var.lake_bucket
  key         = "config/${each.value}"
  source      = "${var.include_dir}/${each.value}"
  source_hash = filemd5("${var.include_dir}/${each.value}")
}

# ---------------------------------------------------------------- source connection
# JDBC to the source PostgreSQL for the maintenance job's reconcile; credentials from the same
# secret DMS reads (its value is set outside Terraform), in the VPC subnet that reaches the source.
data "aws_subnet" "glue" {
  id = var.connection_subnet_id
}

resource "aws_glue_connection" "source" {
  name            = "autocorp-source-${var.environment}"
  description     = "AutoCorp source PostgreSQL (reconcile in autocorp-maintenance-${var.environment})"
  connection_type = "JDBC"

  connection_properties = {
    JDBC_CONNECTION_URL = "jdbc:postgresql://${var.source_db_host}:${var.source_db_port}/${var.source_db_name}"
    JDBC_ENFORCE_SSL    = "true"
    SECRET_ID           = var.source_db_secret_name
  }

  physical_connection_requirements {
    subnet_id              = var.connection_subnet_id
    security_group_id_list = var.connection_security_group_ids
    availability_zone      = data.aws_subnet.glue.availability_zone
  }
}

# ---------------------------------------------------------------- jobs
resource "aws_glue_job" "this" {
  for_each = local.jobs

  name                   = each.value.name
  description            = "AutoCorp Lake ${each.key} (glue_scripts/${each.value.script})"
  role_arn               = var.glue_role_arn
  glue_version           = "5.0"
  worker_type            = var.worker_type
  number_of_workers      = var.number_of_workers
  timeout                = var.job_timeout_minutes
  max_retries            = 0
  security_configuration = aws_glue_security_configuration.lake.name

  command {
    name            = "glueetl"
    python_version  = "3"
    script_location = "${local.scripts_prefix}/${each.value.script}"
  }

  execution_property {
    max_concurrent_runs = var.max_concurrent_runs
  }

  connections = each.value.connections

  default_arguments = merge(
    local.common_arguments,
    { "--additional-python-modules" = each.value.python_modules },
    each.value.extra_arguments,
  )

  depends_on = [aws_s3_object.script, aws_s3_object.package, aws_s3_object.config]
}
