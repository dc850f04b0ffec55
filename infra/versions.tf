terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }

  # State lives in S3 per environment: pass -backend-config=env/<env>.backend.hcl (see README.md).
  backend "s3" {}
}
