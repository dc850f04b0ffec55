locals {
  lake_bucket = "autocorp-datalake-${var.environment}"
  mwaa_bucket = "autocorp-mwaa-${var.environment}"

  # The zones of DESIGN.md: empty "folder" objects so the layout is visible from day one.
  zones = [
    "raw/",
    "raw/database/",
    "raw/csv/",
    "staged/",
    "curated/hudi/",
    "quarantine/",
    "logs/quality/",
    "logs/metrics/",
    "logs/datasync/",
    "athena-results/",
    "reports/",
  ]
}

# ---------------------------------------------------------------- lake bucket
resource "aws_s3_bucket" "lake" {
  bucket = local.lake_bucket
}

resource "aws_s3_bucket_public_access_block" "lake" {
  bucket                  = aws_s3_bucket.lake.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "lake" {
  bucket = aws_s3_bucket.lake.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "lake" {
  bucket = aws_s3_bucket.lake.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.lake_sse_kms ? "aws:kms" : "AES256"
      kms_master_key_id = var.lake_sse_kms ? aws_kms_key.lake.arn : null
    }
    bucket_key_enabled = var.lake_sse_kms
  }
}

resource "aws_s3_bucket_policy" "lake" {
  bucket = aws_s3_bucket.lake.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.lake.arn, "${aws_s3_bucket.lake.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "DenyOldTls"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.lake.arn, "${aws_s3_bucket.lake.arn}/*"]
        Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
      },
    ]
  })
  depends_on = [aws_s3_bucket_public_access_block.lake]
}

resource "aws_s3_bucket_lifecycle_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id

  rule {
    id     = "abort-incomplete-uploads-and-old-versions"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiry_days
    }
  }

  rule {
    id     = "raw-to-infrequent-access"
    status = "Enabled"
    filter {
      prefix = "raw/"
    }
    transition {
      days          = var.raw_to_ia_days
      storage_class = "STANDARD_IA"
    }
  }

  # No GLACIER rule for raw/: a reset replays the full load and CDC files, and the crawlers and
  # apply_changes read them; objects in GLACIER cannot be read without a restore.

  rule {
    id     = "athena-results-expiry"
    status = "Enabled"
    filter {
      prefix = "athena-results/"
    }
    expiration {
      days = var.athena_results_expiry_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.lake]
}

resource "aws_s3_object" "zone" {
  for_each = toset(local.zones)

  bucket  = aws_s3_bucket.lake.id
  key     = each.value
  content = ""
}

# ---------------------------------------------------------------- MWAA bucket
resource "aws_s3_bucket" "mwaa" {
  bucket = local.mwaa_bucket
}

resource "aws_s3_bucket_public_access_block" "mwaa" {
  bucket                  = aws_s3_bucket.mwaa.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "mwaa" {
  bucket = aws_s3_bucket.mwaa.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "mwaa" {
  bucket = aws_s3_bucket.mwaa.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "mwaa" {
  bucket = aws_s3_bucket.mwaa.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.lake.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_policy" "mwaa" {
  bucket = aws_s3_bucket.mwaa.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.mwaa.arn, "${aws_s3_bucket.mwaa.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
  depends_on = [aws_s3_bucket_public_access_block.mwaa]
}

resource "aws_s3_bucket_lifecycle_configuration" "mwaa" {
  bucket = aws_s3_bucket.mwaa.id

  rule {
    id     = "abort-incomplete-uploads-and-old-versions"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiry_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.mwaa]
}

# The bundle built by `make bundle` (dist/mwaa/). Missing files are skipped so a plan works before
# the first build; MWAA needs plugins.zip, requirements.txt and startup.sh to exist before apply.
locals {
  bundle_dags = fileset(var.mwaa_bundle_dir, "dags/**")
  bundle_files = merge(
    # infra/mwaa/startup.sh is the source of the bundle's startup.sh; the bundle's copy wins.
    { "startup.sh" = "${path.module}/../../mwaa/startup.sh" },
    {
      for name in ["plugins.zip", "requirements.txt", "startup.sh"] :
      name => "${var.mwaa_bundle_dir}/${name}" if fileexists("${var.mwaa_bundle_dir}/${name}")
    },
  )
}

resource "aws_s3_object" "dags" {
  for_each = local.bundle_dags

  bucket      = aws_s3_bucket.mwaa.id
  key         = each.value
  source      = "${var.mwaa_bundle_dir}/${each.value}"
  source_hash = filemd5("${var.mwaa_bundle_dir}/${each.value}")
}

resource "aws_s3_object" "bundle" {
  for_each = local.bundle_files

  bucket      = aws_s3_bucket.mwaa.id
  key         = each.key
  source      = each.value
  source_hash = filemd5(each.value)
}
