# terraform plan -var-file=env/prod.tfvars  (see README.md). Replace the placeholder ids with the account's.
environment  = "prod"
region       = "eu-west-1"
lake_sse_kms = true

private_subnet_ids      = ["subnet-0fedcba9876543210", "subnet-0fedcba9876543211"]
mwaa_security_group_ids = ["sg-0fedcba9876543210"]
dms_security_group_ids  = ["sg-0fedcba9876543211"]
glue_security_group_ids = ["sg-0fedcba9876543212"]

dms_instance_class    = "dms.r5.large"
dms_allocated_storage = 200
dms_multi_az          = true

glue_worker_type       = "G.2X"
glue_number_of_workers = 10

datasync_agent_arn = "arn:aws:datasync:eu-west-1:222222222222:agent/agent-0fedcba9876543210"
exports_nfs_server = "files.prod.internal"
exports_nfs_path   = "/exports/autocorp"

mwaa_environment_class = "mw1.medium"
mwaa_min_workers       = 2
mwaa_max_workers       = 10
log_retention_days     = 731

# the source database as the VPC reaches it (Glue connection of the reconcile job)
source_db_host = "autocorp-db.prod.internal"
