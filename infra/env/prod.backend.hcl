bucket         = "autocorp-terraform-state-prod"
key            = "autocorp-lake/prod.tfstate"
region         = "eu-west-1"
dynamodb_table = "autocorp-terraform-locks"
encrypt        = true
