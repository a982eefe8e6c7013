# One account, one region: notify-only first.
#
#   make package                       # from the repository root
#   cd infra/examples/single-account
#   terraform init && terraform apply -var 'alert_emails=["secops@example.com"]'
#
# When the alerts look right, set dry_run = false to let ingress-guard revoke.
# The sweep reads the account and region every 6 hours and sends a daily
# summary. To remove everything, set state_deletion_protection = false on the
# module and apply before destroying (the state table is protected).

terraform {
  required_version = ">= 1.5.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 7.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  description = "Region to guard."
  type        = string
  default     = "eu-west-1"
}

variable "alert_emails" {
  description = "Addresses that receive the alerts."
  type        = list(string)
  default     = []
}

module "ecs_access_guard" {
  source = "../.."

  artifacts_dir = "${path.module}/../../../target/lambda"
  alert_emails  = var.alert_emails
  dry_run       = true

  # Settings live in the policy; a module variable such as
  # notify_min_severity overrides its key only when set.
  policy_toml = <<-TOML
    notify_min_severity = "high"

    [authorized_public_ports]
    tcp = [80, 443]

    [task_definition]
    trusted_registries = ["public.ecr.aws/aws-observability"]
  TOML

  tags = {
    "owner" = "security"
  }
}

output "alert_topic_arn" {
  description = "Subscribe more endpoints here."
  value       = module.ecs_access_guard.alert_topic_arn
}

output "failure_queue_url" {
  description = "Read events that could not be handled."
  value       = module.ecs_access_guard.failure_queue_url
}
