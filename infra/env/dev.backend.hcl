bucket         = "autocorp-terraform-state-dev"
key            = "autocorp-lake/dev.tfstate"
region         = "eu-west-1"
dynamodb_table = "autocorp-terraform-locks"
encrypt        = true
