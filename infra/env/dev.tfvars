# terraform plan -var-file=env/dev.tfvars  (see README.md). Replace the placeholder ids with the account's.
environment  = "dev"
region       = "eu-west-1"
lake_sse_kms = true

private_subnet_ids      = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
mwaa_security_group_ids = ["sg-0123456789abcdef0"]
dms_security_group_ids  = ["sg-0123456789abcdef1"]
glue_security_group_ids = ["sg-0123456789abcdef2"]

dms_instance_class    = "dms.t3.medium"
dms_allocated_storage = 50
dms_multi_az          = false

glue_worker_type       = "G.1X"
glue_number_of_workers = 2

datasync_agent_arn = "arn:aws:datasync:eu-west-1:111111111111:agent/agent-0123456789abcdef0"
exports_nfs_server = "files.dev.internal"
exports_nfs_path   = "/exports/autocorp"

mwaa_environment_class = "mw1.small"
mwaa_min_workers       = 1
mwaa_max_workers       = 3
log_retention_days     = 365

# the source database as the VPC reaches it (Glue connection of the reconcile job)
source_db_host = "autocorp-db.dev.internal"
