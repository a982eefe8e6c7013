# Organization mode (DESIGN §11): set organization_id and the functions run
# once, here, for every account and region in scope. Member accounts forward
# the guarded events to the central bus (module infra/member); the functions
# act in each event's own account and region through the member role.

locals {
  organization = var.organization_id != ""

  # What every function calls besides its own actions in organization mode:
  # the member roles. A test compares it with the code's ORGANIZATION_ACTIONS.
  organization_actions = ["sts:AssumeRole"]

  # And Organizations, only for the functions that read it (the code's
  # lambda::ORGANIZATION_READS): where an account sits (exemptions by OU),
  # and for the sweep the organization's accounts, when the accounts in
  # scope are "*" (organization_accounts empty).
  organization_reads = {
    "ingress-guard" = ["organizations:ListParents"]
    "sweep"         = ["organizations:ListAccounts", "organizations:ListParents"]
  }

  # The member accounts' revoke role (DESIGN §11): trusted only by
  # local.revoking_functions, granted only the revoke.
  revoke_role_name = "${var.member_role_name}-revoke"

  event_bus_name = local.organization ? aws_cloudwatch_event_bus.central[0].name : "default"

  # The policy's [organization] table, from the module's variables.
  organization_toml = local.organization ? join("\n", [
    "[organization]",
    length(var.organization_accounts) > 0 ? "accounts = ${jsonencode(var.organization_accounts)}" : "accounts = \"*\"",
    "organization_id = \"${var.organization_id}\"",
    "regions = ${jsonencode(var.organization_regions)}",
    "member_role_name = \"${var.member_role_name}\"",
    "revoke_role_name = \"${local.revoke_role_name}\"",
  ]) : ""
}

resource "aws_cloudwatch_event_bus" "central" {
  count = local.organization ? 1 : 0
  name  = "${var.name_prefix}-central"
  tags  = var.tags

  lifecycle {
    precondition {
      condition     = length(var.organization_regions) > 0
      error_message = "Organization mode needs organization_regions: the regions in scope."
    }
  }
}

# Only the forwarder roles (module member/, in accounts of the organization)
# may put events on the central bus: not any principal of the organization.
data "aws_iam_policy_document" "central_bus" {
  count = local.organization ? 1 : 0

  statement {
    sid       = "PutEventsFromTheForwarders"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.central[0].arn]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalOrgID"
      values   = [var.organization_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:PrincipalArn"
      values   = ["arn:${local.partition}:iam::*:role/${var.name_prefix}-forwarder"]
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "central" {
  count          = local.organization ? 1 : 0
  event_bus_name = aws_cloudwatch_event_bus.central[0].name
  policy         = data.aws_iam_policy_document.central_bus[0].json
}

# Rollout: every account of the target OUs, in every region in scope, gets
# the member stack (member/member.cfn.json, the same resources as module
# member/); a new account joining those OUs gets it without a person.
resource "aws_cloudformation_stack_set" "member" {
  count            = local.organization && length(var.member_ou_ids) > 0 ? 1 : 0
  name             = "${var.name_prefix}-member"
  description      = "ecs-access-guard member account: forwarding rules, forwarder role, member role, revoke role"
  permission_model = "SERVICE_MANAGED"
  call_as          = var.stack_set_call_as
  capabilities     = ["CAPABILITY_NAMED_IAM"]
  template_body    = file("${path.module}/member/member.cfn.json")

  parameters = {
    CentralBusArn          = aws_cloudwatch_event_bus.central[0].arn
    CentralRoleArns        = join(",", [for f in local.member_functions : aws_iam_role.function[f].arn])
    RevokingRoleArns       = join(",", [for f in local.revoking_functions : aws_iam_role.function[f].arn])
    MemberRoleName         = var.member_role_name
    RevokeRoleName         = local.revoke_role_name
    Regions                = join(",", var.organization_regions)
    AccountResourcesRegion = coalesce(var.member_roles_region, var.organization_regions[0])
    NamePrefix             = var.name_prefix
  }

  auto_deployment {
    enabled                          = true
    retain_stacks_on_account_removal = false
  }

  lifecycle {
    # Service-managed stack sets have no administration role.
    ignore_changes = [administration_role_arn]
  }

  tags = var.tags
}

# All regions in one resource: one StackSet operation at a time (parallel
# instances would collide with OperationInProgress), regions in parallel.
resource "aws_cloudformation_stack_instances" "member" {
  count          = local.organization && length(var.member_ou_ids) > 0 ? 1 : 0
  stack_set_name = aws_cloudformation_stack_set.member[0].name
  call_as        = var.stack_set_call_as
  regions        = var.organization_regions

  deployment_targets {
    organizational_unit_ids = var.member_ou_ids
  }

  operation_preferences {
    region_concurrency_type      = "PARALLEL"
    max_concurrent_percentage    = 25
    failure_tolerance_percentage = 10
  }

  timeouts {
    create = "2h"
    update = "2h"
    delete = "2h"
  }
}
