# One deployment for an organization: the functions in the security account,
# each member account forwarding its guarded events from every region in
# scope, the functions acting there through the member role.
#
#   make package                                   # from the repository root
#   cd infra/examples/organization
#   terraform init && terraform apply \
#     -var 'organization_id=o-a1b2c3d4e5' -var 'member_account_id=444455556666'
#
# Repeat the member part for each member account (and for the security
# account itself, whose own events reach its default bus, not the central one).
# The sweep reads every account and region in scope through the member role,
# at most sweep_concurrency at once.

terraform {
  required_version = ">= 1.5.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
  }
}

variable "organization_id" {
  description = "The organization (o-...)."
  type        = string
}

variable "member_account_id" {
  description = "A member account to cover."
  type        = string
}

variable "home_region" {
  description = "Where the functions run."
  type        = string
  default     = "eu-west-1"
}

variable "alert_emails" {
  description = "Addresses that receive the alerts."
  type        = list(string)
  default     = []
}

provider "aws" {
  region = var.home_region
}

# The member account, through the role Organizations creates in it.
provider "aws" {
  alias  = "member_eu_west_1"
  region = "eu-west-1"
  assume_role {
    role_arn = "arn:aws:iam::${var.member_account_id}:role/OrganizationAccountAccessRole"
  }
}

provider "aws" {
  alias  = "member_us_east_1"
  region = "us-east-1"
  assume_role {
    role_arn = "arn:aws:iam::${var.member_account_id}:role/OrganizationAccountAccessRole"
  }
}

module "central" {
  source = "../.."

  artifacts_dir        = "${path.module}/../../../target/lambda"
  alert_emails         = var.alert_emails
  dry_run              = true
  organization_id      = var.organization_id
  organization_regions = ["eu-west-1", "us-east-1"]
}

module "member_eu_west_1" {
  source    = "../../member"
  providers = { aws = aws.member_eu_west_1 }

  central_bus_arn    = module.central.member_inputs.central_bus_arn
  central_role_arns  = module.central.member_inputs.central_role_arns
  revoking_role_arns = module.central.member_inputs.revoking_role_arns
  event_patterns     = module.central.member_inputs.event_patterns
  member_role_name   = module.central.member_inputs.member_role_name
  revoke_role_name   = module.central.member_inputs.revoke_role_name
  regions            = module.central.member_inputs.regions
  name_prefix        = module.central.member_inputs.name_prefix
}

module "member_us_east_1" {
  source    = "../../member"
  providers = { aws = aws.member_us_east_1 }

  central_bus_arn          = module.central.member_inputs.central_bus_arn
  central_role_arns        = module.central.member_inputs.central_role_arns
  revoking_role_arns       = module.central.member_inputs.revoking_role_arns
  event_patterns           = module.central.member_inputs.event_patterns
  member_role_name         = module.central.member_inputs.member_role_name
  revoke_role_name         = module.central.member_inputs.revoke_role_name
  regions                  = module.central.member_inputs.regions
  name_prefix              = module.central.member_inputs.name_prefix
  create_account_resources = false
}

output "alert_topic_arn" {
  description = "Subscribe more endpoints here."
  value       = module.central.alert_topic_arn
}
