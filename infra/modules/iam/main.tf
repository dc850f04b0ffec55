# One role per service, least privilege: every statement names its actions and its resources
# (bucket prefixes, job/crawler/task names). Only actions that AWS does not scope to a resource
# (cloudwatch:PutMetricData, logs:DescribeLogGroups, ...) use "*", each with a condition where AWS
# offers one.

locals {
  env  = var.environment
  arn  = "arn:${var.partition}"
  acct = var.account_id
  rgn  = var.region

  lake = var.lake_bucket_arn
  mwaa = var.mwaa_bucket_arn

  glue_job_arns     = ["${local.arn}:glue:${local.rgn}:${local.acct}:job/autocorp-*-${local.env}"]
  glue_crawler_arns = ["${local.arn}:glue:${local.rgn}:${local.acct}:crawler/autocorp-*-${local.env}"]
  glue_catalog_arns = [
    "${local.arn}:glue:${local.rgn}:${local.acct}:catalog",
    "${local.arn}:glue:${local.rgn}:${local.acct}:database/autocorp_*",
    "${local.arn}:glue:${local.rgn}:${local.acct}:table/autocorp_*/*",
    "${local.arn}:glue:${local.rgn}:${local.acct}:userDefinedFunction/autocorp_*/*",
    # Hudi's catalog sync and Spark look up the default database.
    "${local.arn}:glue:${local.rgn}:${local.acct}:database/default",
  ]
  glue_catalog_read = [
    "glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables",
    "glue:GetTableVersions", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition",
    "glue:GetUserDefinedFunctions",
  ]
  glue_catalog_write = [
    "glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable", "glue:CreatePartition",
    "glue:UpdatePartition", "glue:DeletePartition", "glue:BatchCreatePartition",
    "glue:BatchUpdatePartition", "glue:BatchDeletePartition",
  ]
}

# ---------------------------------------------------------------- Glue (jobs and crawlers)
data "aws_iam_policy_document" "glue_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["glue.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.acct]
    }
  }
}

resource "aws_iam_role" "glue" {
  name               = "autocorp-glue-${local.env}"
  assume_role_policy = data.aws_iam_policy_document.glue_trust.json
}

data "aws_iam_policy_document" "glue" {
  statement {
    sid       = "ListLakeAndScripts"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [local.lake, local.mwaa]
  }
  statement {
    sid       = "ReadLake"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${local.lake}/*"]
  }
  statement {
    sid     = "WriteLakeZones"
    actions = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = [
      "${local.lake}/staged/*",
      "${local.lake}/curated/*",
      "${local.lake}/quarantine/*",
      "${local.lake}/logs/*",
      "${local.lake}/reports/*",
    ]
  }
  statement {
    sid       = "ReadScripts"
    actions   = ["s3:GetObject"]
    resources = ["${local.mwaa}/glue_scripts/*"]
  }
  statement {
    sid       = "Catalog"
    actions   = concat(local.glue_catalog_read, local.glue_catalog_write)
    resources = local.glue_catalog_arns
  }
  statement {
    sid       = "OwnJobs"
    actions   = ["glue:GetJob", "glue:GetCrawler"]
    resources = concat(local.glue_job_arns, local.glue_crawler_arns)
  }
  statement {
    # the maintenance job's JDBC connection to the source (reconcile)
    sid       = "SourceConnection"
    actions   = ["glue:GetConnection"]
    resources = ["${local.arn}:glue:${local.rgn}:${local.acct}:catalog", "${local.arn}:glue:${local.rgn}:${local.acct}:connection/autocorp-source-${local.env}"]
  }
  statement {
    sid       = "SourceCredentials"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [var.source_db_secret_arn]
  }
  statement {
    # a Glue connection in a VPC: Glue describes the subnet and attaches an ENI to the job
    sid = "ConnectionNetworkDescribe"
    actions = [
      "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcEndpoints",
      "ec2:DescribeRouteTables", "ec2:DescribeNetworkInterfaces",
    ]
    resources = ["*"]
  }
  statement {
    sid       = "ConnectionVpcAttribute"
    actions   = ["ec2:DescribeVpcAttribute"]
    resources = ["${local.arn}:ec2:${local.rgn}:${local.acct}:vpc/*"]
  }
  statement {
    sid       = "ConnectionNetworkInterfaces"
    actions   = ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:CreateTags"]
    resources = [
      "${local.arn}:ec2:${local.rgn}:${local.acct}:network-interface/*",
      "${local.arn}:ec2:${local.rgn}:${local.acct}:subnet/*",
      "${local.arn}:ec2:${local.rgn}:${local.acct}:security-group/*",
    ]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"]
    resources = ["${local.arn}:logs:${local.rgn}:${local.acct}:log-group:/aws-glue/*"]
  }
  statement {
    sid       = "Metrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["Glue", "AutoCorpLake"]
    }
  }
  statement {
    sid       = "LakeKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "glue" {
  name   = "autocorp-glue-${local.env}"
  role   = aws_iam_role.glue.id
  policy = data.aws_iam_policy_document.glue.json
}

# ---------------------------------------------------------------- DMS
data "aws_iam_policy_document" "dms_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["dms.amazonaws.com", "dms.${local.rgn}.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.acct]
    }
  }
}

resource "aws_iam_role" "dms_s3" {
  name               = "autocorp-dms-s3-${local.env}"
  assume_role_policy = data.aws_iam_policy_document.dms_trust.json
}

data "aws_iam_policy_document" "dms_s3" {
  statement {
    sid       = "WriteRawDatabase"
    actions   = ["s3:PutObject", "s3:DeleteObject", "s3:PutObjectTagging"]
    resources = ["${local.lake}/raw/database/*"]
  }
  statement {
    sid       = "ListRawDatabase"
    actions   = ["s3:ListBucket"]
    resources = [local.lake]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["raw/database/*", "raw/database"]
    }
  }
  statement {
    sid       = "BucketLocation"
    actions   = ["s3:GetBucketLocation"]
    resources = [local.lake]
  }
  statement {
    sid       = "LakeKey"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "dms_s3" {
  name   = "autocorp-dms-s3-${local.env}"
  role   = aws_iam_role.dms_s3.id
  policy = data.aws_iam_policy_document.dms_s3.json
}

resource "aws_iam_role" "dms_secrets" {
  name               = "autocorp-dms-secrets-${local.env}"
  assume_role_policy = data.aws_iam_policy_document.dms_trust.json
}

data "aws_iam_policy_document" "dms_secrets" {
  statement {
    sid       = "ReadSourceDbSecret"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [var.source_db_secret_arn]
  }
  statement {
    sid       = "DecryptSecret"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "dms_secrets" {
  name   = "autocorp-dms-secrets-${local.env}"
  role   = aws_iam_role.dms_secrets.id
  policy = data.aws_iam_policy_document.dms_secrets.json
}

# Account-wide roles that DMS looks up by these exact names (create once per account).
data "aws_iam_policy_document" "dms_service_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["dms.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "dms_vpc" {
  count              = var.create_dms_vpc_role ? 1 : 0
  name               = "dms-vpc-role"
  assume_role_policy = data.aws_iam_policy_document.dms_service_trust.json
}

resource "aws_iam_role_policy_attachment" "dms_vpc" {
  count      = var.create_dms_vpc_role ? 1 : 0
  role       = aws_iam_role.dms_vpc[0].name
  policy_arn = "${local.arn}:iam::aws:policy/service-role/AmazonDMSVPCManagementRole"
}

resource "aws_iam_role" "dms_cloudwatch" {
  count              = var.create_dms_vpc_role ? 1 : 0
  name               = "dms-cloudwatch-logs-role"
  assume_role_policy = data.aws_iam_policy_document.dms_service_trust.json
}

resource "aws_iam_role_policy_attachment" "dms_cloudwatch" {
  count      = var.create_dms_vpc_role ? 1 : 0
  role       = aws_iam_role.dms_cloudwatch[0].name
  policy_arn = "${local.arn}:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole"
}

# ---------------------------------------------------------------- DataSync
data "aws_iam_policy_document" "datasync_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["datasync.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.acct]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["${local.arn}:datasync:${local.rgn}:${local.acct}:*"]
    }
  }
}

resource "aws_iam_role" "datasync" {
  name               = "autocorp-datasync-${local.env}"
  assume_role_policy = data.aws_iam_policy_document.datasync_trust.json
}

data "aws_iam_policy_document" "datasync" {
  statement {
    sid       = "Bucket"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"]
    resources = [local.lake]
  }
  statement {
    sid = "WriteRawCsvAndReports"
    actions = [
      "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:GetObjectTagging",
      "s3:ListMultipartUploadParts", "s3:PutObject", "s3:PutObjectTagging",
    ]
    resources = ["${local.lake}/raw/csv/*", "${local.lake}/logs/datasync/*"]
  }
  statement {
    sid       = "LakeKey"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "datasync" {
  name   = "autocorp-datasync-${local.env}"
  role   = aws_iam_role.datasync.id
  policy = data.aws_iam_policy_document.datasync.json
}

# ---------------------------------------------------------------- MWAA execution
data "aws_iam_policy_document" "mwaa_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.acct]
    }
  }
}

resource "aws_iam_role" "mwaa" {
  name               = "autocorp-mwaa-${local.env}"
  assume_role_policy = data.aws_iam_policy_document.mwaa_trust.json
}

data "aws_iam_policy_document" "mwaa" {
  # -- what MWAA itself needs
  statement {
    sid       = "PublishMetrics"
    actions   = ["airflow:PublishMetrics"]
    resources = ["${local.arn}:airflow:${local.rgn}:${local.acct}:environment/${var.mwaa_environment_name}"]
  }
  statement {
    sid = "ReadBundle"
    actions = [
      "s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:GetBucketLocation",
      "s3:GetBucketVersioning", "s3:GetEncryptionConfiguration", "s3:GetBucketPublicAccessBlock",
    ]
    resources = [local.mwaa, "${local.mwaa}/*"]
  }
  statement {
    sid       = "AccountPublicAccessBlock"
    actions   = ["s3:GetAccountPublicAccessBlock"]
    resources = ["*"]
  }
  statement {
    sid = "AirflowLogs"
    actions = [
      "logs:CreateLogStream", "logs:CreateLogGroup", "logs:PutLogEvents", "logs:GetLogEvents",
      "logs:GetLogRecord", "logs:GetLogGroupFields", "logs:GetQueryResults",
    ]
    resources = ["${local.arn}:logs:${local.rgn}:${local.acct}:log-group:airflow-${var.mwaa_environment_name}-*"]
  }
  statement {
    sid       = "DescribeLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"]
  }
  statement {
    sid       = "Metrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["AmazonMWAA", "AutoCorpLake"]
    }
  }
  statement {
    sid = "CeleryQueue"
    actions = [
      "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage",
    ]
    resources = ["${local.arn}:sqs:${local.rgn}:*:airflow-celery-*"]
  }
  statement {
    # The environment's key: Celery queue, bundle bucket, lake bucket, secrets.
    sid       = "LakeKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
  # -- what the DAGs do
  statement {
    sid     = "AirflowSecrets"
    actions = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [
      "${local.arn}:secretsmanager:${local.rgn}:${local.acct}:secret:airflow/connections/*",
      "${local.arn}:secretsmanager:${local.rgn}:${local.acct}:secret:airflow/variables/*",
    ]
  }
  statement {
    sid = "GlueJobsAndCrawlers"
    actions   = [
      "glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun", "glue:GetJob",
      "glue:StartCrawler", "glue:GetCrawler", "glue:StopCrawler",
    ]
    resources = concat(local.glue_job_arns, local.glue_crawler_arns)
  }
  statement {
    sid       = "CrawlerMetrics"
    actions   = ["glue:GetCrawlerMetrics"]
    resources = ["*"]
  }
  statement {
    sid       = "CatalogForAthena"
    actions   = concat(local.glue_catalog_read, local.glue_catalog_write)
    resources = local.glue_catalog_arns
  }
  statement {
    # Athena's `create database if not exists` calls CreateDatabase even when the database exists
    sid       = "AthenaCreateDatabase"
    actions   = ["glue:CreateDatabase"]
    resources = local.glue_catalog_arns
  }
  statement {
    sid = "Athena"
    actions = [
      "athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
      "athena:StopQueryExecution", "athena:GetWorkGroup", "athena:GetNamedQuery", "athena:ListNamedQueries",
    ]
    resources = ["${local.arn}:athena:${local.rgn}:${local.acct}:workgroup/autocorp-${local.env}"]
  }
  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [local.lake]
  }
  statement {
    sid       = "ReadLake"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${local.lake}/*"]
  }
  statement {
    sid     = "WriteLakeOutputs"
    actions = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = [
      "${local.lake}/athena-results/*",
      "${local.lake}/reports/*",
      "${local.lake}/logs/*",
      "${local.lake}/quarantine/*",
      "${local.lake}/staged/*",
    ]
  }
  statement {
    sid = "DmsTask"
    actions = [
      "dms:StartReplicationTask", "dms:StopReplicationTask", "dms:ModifyReplicationTask",
      "dms:DescribeTableStatistics",
    ]
    resources = ["${local.arn}:dms:${local.rgn}:${local.acct}:task:*"]
  }
  statement {
    # DescribeReplicationTasks has no resource-level permissions: granted on a task ARN it is denied
    sid       = "DmsDescribe"
    actions   = ["dms:DescribeReplicationTasks"]
    resources = ["*"]
  }
  statement {
    # autocorp_bootstrap with reset: the old snapshot's raw files and curated tables are removed
    sid       = "ResetRemovesOldSnapshot"
    actions   = ["s3:DeleteObject"]
    resources = ["${local.lake}/raw/database/*", "${local.lake}/curated/hudi/*"]
  }
  statement {
    sid = "DataSyncTask"
    actions = [
      "datasync:StartTaskExecution", "datasync:DescribeTask", "datasync:DescribeTaskExecution",
      "datasync:CancelTaskExecution",
    ]
    resources = [
      "${local.arn}:datasync:${local.rgn}:${local.acct}:task/*",
      "${local.arn}:datasync:${local.rgn}:${local.acct}:location/*",
    ]
  }
}

resource "aws_iam_role_policy" "mwaa" {
  name   = "autocorp-mwaa-${local.env}"
  role   = aws_iam_role.mwaa.id
  policy = data.aws_iam_policy_document.mwaa.json
}
