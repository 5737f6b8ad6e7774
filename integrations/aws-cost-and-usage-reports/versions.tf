terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.0"
    }
  }
}

# Cost and Usage Report definitions exist only in us-east-1, so the provider is pinned to it rather than
# inherited from the caller's environment.
provider "aws" {
  region = "us-east-1"
}
