# Organization mode (DESIGN §11): set organization_id and the functions run
# once, here, for every account and region in scope. Member accounts forward
# the guarded events to the central bus (module infra/member); the functions
# act in each event's own account and region through the member role.

locals {
  organization = var.organization_id != ""

  # What the functions call besides their own actions in organization mode
  # (a test compares it with the code's ORGANIZATION_ACTIONS).
  organization_actions = ["sts:AssumeRole"]

  event_bus_name = local.organization ? aws_cloudwatch_event_bus.central[0].name : "default"

  # The policy's [organization] table, from the module's variables.
  organization_toml = local.organization ? join("\n", [
    "[organization]",
    length(var.organization_accounts) > 0 ? "accounts = ${jsonencode(var.organization_accounts)}" : "accounts = \"*\"",
    "organization_id = \"${var.organization_id}\"",
    "regions = ${jsonencode(var.organization_regions)}",
    "member_role_name = \"${var.member_role_name}\"",
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

# Only accounts of the organization may put events on the central bus.
data "aws_iam_policy_document" "central_bus" {
  count = local.organization ? 1 : 0

  statement {
    sid       = "PutEventsFromTheOrganization"
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
  }
}

resource "aws_cloudwatch_event_bus_policy" "central" {
  count          = local.organization ? 1 : 0
  event_bus_name = aws_cloudwatch_event_bus.central[0].name
  policy         = data.aws_iam_policy_document.central_bus[0].json
}
