# AutoCorp Lake: every AWS resource the DAGs use (names as in plugins/autocorp_lake/config.py aws_names()).
# One root, one module per service; per-environment values in env/<env>.tfvars.

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  tags = {
    Project     = "autocorp-lake"
    Environment = var.environment
    ManagedBy   = "terraform"
  }
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  repo_root  = abspath("${path.root}/..")

  mwaa_environment_name = "autocorp-lake-${var.environment}"
}

module "s3" {
  source = "./modules/s3"

  environment     = var.environment
  account_id      = local.account_id
  region          = var.region
  lake_sse_kms    = var.lake_sse_kms
  mwaa_bundle_dir = abspath("${path.root}/${var.mwaa_bundle_dir}")
}

module "secrets" {
  source = "./modules/secrets"

  environment = var.environment
  kms_key_arn = module.s3.kms_key_arn

  # What the DAGs read as Airflow Variables, written by Terraform: nothing is set by hand after apply.
  airflow_variables = {
    autocorp_dms_task_arn      = module.dms.replication_task_arn
    autocorp_datasync_task_arn = module.datasync.task_arn
  }
}

module "iam" {
  source = "./modules/iam"

  environment           = var.environment
  account_id            = local.account_id
  region                = var.region
  partition             = local.partition
  lake_bucket_arn       = module.s3.lake_bucket_arn
  mwaa_bucket_arn       = module.s3.mwaa_bucket_arn
  kms_key_arn           = module.s3.kms_key_arn
  source_db_secret_arn  = module.secrets.source_db_secret_arn
  mwaa_environment_name = local.mwaa_environment_name
  create_dms_vpc_role   = var.create_dms_vpc_role
}

module "glue" {
  source = "./modules/glue"

  environment         = var.environment
  lake_bucket         = module.s3.lake_bucket_name
  scripts_bucket      = module.s3.mwaa_bucket_name
  glue_scripts_dir    = "${local.repo_root}/glue_scripts"
  include_dir         = "${local.repo_root}/include"
  package_zip_path    = abspath("${path.root}/${var.mwaa_bundle_dir}/glue/autocorp_lake.zip")
  glue_role_arn       = module.iam.glue_role_arn
  kms_key_arn         = module.s3.kms_key_arn
  worker_type         = var.glue_worker_type
  number_of_workers   = var.glue_number_of_workers
  job_timeout_minutes = var.glue_job_timeout_minutes

  source_db_host                = var.source_db_host
  source_db_port                = var.source_db_port
  source_db_secret_name         = module.secrets.source_db_secret_name
  connection_subnet_id          = var.private_subnet_ids[0]
  connection_security_group_ids = var.glue_security_group_ids
}

module "dms" {
  source = "./modules/dms"

  environment             = var.environment
  subnet_ids              = var.private_subnet_ids
  security_group_ids      = var.dms_security_group_ids
  instance_class          = var.dms_instance_class
  allocated_storage       = var.dms_allocated_storage
  multi_az                = var.dms_multi_az
  kms_key_arn             = module.s3.kms_key_arn
  source_db_secret_arn    = module.secrets.source_db_secret_arn
  secrets_access_role_arn = module.iam.dms_secrets_role_arn
  s3_target_role_arn      = module.iam.dms_s3_role_arn
  lake_bucket             = module.s3.lake_bucket_name

  # The replication subnet group needs the account's dms-vpc-role first.
  depends_on = [module.iam]
}

module "datasync" {
  source = "./modules/datasync"

  environment        = var.environment
  agent_arn          = var.datasync_agent_arn
  nfs_server         = var.exports_nfs_server
  nfs_path           = var.exports_nfs_path
  manifest_file      = var.exports_manifest_file
  lake_bucket_arn    = module.s3.lake_bucket_arn
  datasync_role_arn  = module.iam.datasync_role_arn
  kms_key_arn        = module.s3.kms_key_arn
  log_retention_days = var.log_retention_days
}

module "athena" {
  source = "./modules/athena"

  environment   = var.environment
  lake_bucket   = module.s3.lake_bucket_name
  kms_key_arn   = module.s3.kms_key_arn
  analytics_sql = "${local.repo_root}/include/sql/athena/analytics"
  database      = "autocorp_analytics"
  depends_on    = [module.glue]
}

module "monitoring" {
  source = "./modules/monitoring"

  environment                   = var.environment
  region                        = var.region
  kms_key_arn                   = module.s3.kms_key_arn
  alarm_email                   = var.alarm_email
  dms_replication_instance_id   = module.dms.replication_instance_id
  dms_task_id                   = module.dms.replication_task_id
  dms_task_resource_id          = module.dms.replication_task_resource_id
  glue_job_names                = module.glue.job_names
  datasync_task_id              = module.datasync.task_id
  athena_workgroup              = module.athena.workgroup_name
  metrics_namespace             = "AutoCorpLake"
  cdc_latency_threshold_seconds = var.cdc_latency_threshold_seconds
}

module "mwaa" {
  source = "./modules/mwaa"

  environment        = var.environment
  name               = local.mwaa_environment_name
  source_bucket_arn  = module.s3.mwaa_bucket_arn
  lake_bucket        = module.s3.lake_bucket_name
  execution_role_arn = module.iam.mwaa_role_arn
  subnet_ids         = slice(var.private_subnet_ids, 0, 2)
  security_group_ids = var.mwaa_security_group_ids
  environment_class  = var.mwaa_environment_class
  min_workers        = var.mwaa_min_workers
  max_workers        = var.mwaa_max_workers
  kms_key_arn        = module.s3.kms_key_arn

  airflow_configuration_options = merge(module.secrets.mwaa_secrets_backend_options, {
    "core.default_timezone" = "utc"
    "core.load_examples"    = "false"
  })

  plugins_s3_object_version      = module.s3.plugins_object_version
  requirements_s3_object_version = module.s3.requirements_object_version
  startup_script_object_version  = module.s3.startup_object_version
}
