# One member account, one region: forward the guarded CloudTrail events to
# the central bus, and (once per account) the two roles the central
# functions act through (DESIGN §7.13): the member role, read-only, trusted
# by every central function; the revoke role, trusted only by the functions
# that revoke, granted only the revoke, in the regions in scope.
# Instantiate once per region in scope, with create_account_resources = true
# in exactly one of them.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition

  # What the central functions read in a member account, and nothing more
  # (a test compares it with the functions' code): every function's actions
  # but those on central resources (the topic, the state table, the queues,
  # the organization) and the revoke. The member role's grants.
  member_actions = [
    "autoscaling:DescribeAutoScalingGroups",
    "ec2:DescribeImages",
    "ec2:DescribeInstances",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeManagedPrefixLists",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:GetInstanceMetadataDefaults",
    "ec2:GetManagedPrefixListAssociations",
    "ec2:GetManagedPrefixListEntries",
    "ecs:DescribeCapacityProviders",
    "ecs:DescribeClusters",
    "ecs:DescribeContainerInstances",
    "ecs:DescribeServices",
    "ecs:DescribeTaskDefinition",
    "ecs:DescribeTasks",
    "ecs:ListAccountSettings",
    "ecs:ListClusters",
    "ecs:ListServices",
    "ecs:ListTasks",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "iam:GetAccountAuthorizationDetails",
    "iam:GetInstanceProfile",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListEntitiesForPolicy",
    "iam:ListRolePolicies",
  ]

  # The revoke role's grants: the revoke alone, on this account's security
  # groups, in the regions in scope.
  revoke_actions = ["ec2:RevokeSecurityGroupIngress"]

  forwarder_role_name = "${var.name_prefix}-forwarder"
  forwarder_role_arn  = "arn:${local.partition}:iam::${local.account}:role/${local.forwarder_role_name}"
}

resource "aws_cloudwatch_event_rule" "forward" {
  for_each      = var.event_patterns
  name          = "${var.name_prefix}-forward-${each.key}"
  description   = "CloudTrail calls that ${each.key} judges, to the central bus"
  event_pattern = jsonencode(each.value)
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "forward" {
  for_each = var.event_patterns
  rule     = aws_cloudwatch_event_rule.forward[each.key].name
  arn      = var.central_bus_arn
  role_arn = local.forwarder_role_arn
}

# EventBridge puts the forwarded events on the central bus with this role,
# for this account's forwarding rules only (any region).
data "aws_iam_policy_document" "forwarder_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:events:*:${local.account}:rule/${var.name_prefix}-forward-*"]
    }
  }
}

data "aws_iam_policy_document" "forwarder" {
  statement {
    sid       = "PutOnTheCentralBus"
    actions   = ["events:PutEvents"]
    resources = [var.central_bus_arn]
  }
}

resource "aws_iam_role" "forwarder" {
  count              = var.create_account_resources ? 1 : 0
  name               = local.forwarder_role_name
  assume_role_policy = data.aws_iam_policy_document.forwarder_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "forwarder" {
  count  = var.create_account_resources ? 1 : 0
  name   = local.forwarder_role_name
  role   = aws_iam_role.forwarder[0].id
  policy = data.aws_iam_policy_document.forwarder.json
}

# The member role, read-only: trusted only by the central functions' roles.
data "aws_iam_policy_document" "member_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = var.central_role_arns
    }
  }
}

data "aws_iam_policy_document" "member" {
  dynamic "statement" {
    for_each = [for a in local.member_actions : a if startswith(a, "ec2:Describe") || startswith(a, "ecs:Describe") || startswith(a, "autoscaling:Describe") || startswith(a, "elasticloadbalancing:Describe")]
    content {
      sid       = "Read${replace(replace(statement.value, ":", ""), "Describe", "")}"
      actions   = [statement.value]
      resources = ["*"]
    }
  }

  # IAM reads: the account's roles, instance profiles and policies, and
  # AWS's managed policies (to read their documents).
  dynamic "statement" {
    for_each = length([for a in local.member_actions : a if startswith(a, "iam:") && a != "iam:GetAccountAuthorizationDetails"]) > 0 ? [1] : []
    content {
      sid     = "ReadIam"
      actions = [for a in local.member_actions : a if startswith(a, "iam:") && a != "iam:GetAccountAuthorizationDetails"]
      resources = [
        "arn:${local.partition}:iam::${local.account}:role/*",
        "arn:${local.partition}:iam::${local.account}:instance-profile/*",
        "arn:${local.partition}:iam::${local.account}:policy/*",
        "arn:${local.partition}:iam::aws:policy/*",
      ]
    }
  }

  # Who may open a shell in a task (the access map): every user, role and
  # group of the account at once; the call takes no resource narrower than "*".
  dynamic "statement" {
    for_each = [for a in local.member_actions : a if a == "iam:GetAccountAuthorizationDetails"]
    content {
      sid       = "ReadAuthorizationDetails"
      actions   = [statement.value]
      resources = ["*"]
    }
  }

  # The account's default instance metadata options: no resource narrower than "*".
  dynamic "statement" {
    for_each = [for a in local.member_actions : a if a == "ec2:GetInstanceMetadataDefaults"]
    content {
      sid       = "ReadMetadataDefaults"
      actions   = [statement.value]
      resources = ["*"]
    }
  }

  # What a customer-managed prefix list holds and which groups reference
  # it: a list of any account (one may be shared with this account).
  dynamic "statement" {
    for_each = [for a in local.member_actions : a if startswith(a, "ec2:GetManagedPrefixList")]
    content {
      sid       = replace(replace(statement.value, "ec2:GetManagedPrefixList", "ReadPrefixList"), ":", "")
      actions   = [statement.value]
      resources = ["arn:${local.partition}:ec2:*:*:prefix-list/*"]
    }
  }

  # What the sweep lists: no resource narrower than "*" would let it
  # enumerate the clusters and their services.
  dynamic "statement" {
    for_each = [for a in local.member_actions : a if startswith(a, "ecs:List")]
    content {
      sid       = "List${replace(replace(statement.value, ":", ""), "List", "")}"
      actions   = [statement.value]
      resources = ["*"]
    }
  }

}

resource "aws_iam_role" "member" {
  count              = var.create_account_resources ? 1 : 0
  name               = var.member_role_name
  assume_role_policy = data.aws_iam_policy_document.member_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "member" {
  count  = var.create_account_resources ? 1 : 0
  name   = var.member_role_name
  role   = aws_iam_role.member[0].id
  policy = data.aws_iam_policy_document.member.json
}

# The revoke role: trusted only by the central functions that revoke.
data "aws_iam_policy_document" "revoke_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = var.revoking_role_arns
    }
  }
}

# Every grant comes from revoke_actions: the revoke, on this account's
# security groups, in the regions in scope only.
data "aws_iam_policy_document" "revoke" {
  dynamic "statement" {
    for_each = [for a in local.revoke_actions : a if a == "ec2:RevokeSecurityGroupIngress"]
    content {
      sid       = "RevokeIngress"
      actions   = [statement.value]
      resources = ["arn:${local.partition}:ec2:*:${local.account}:security-group/*"]
      condition {
        test     = "StringEquals"
        variable = "aws:RequestedRegion"
        values   = var.regions
      }
    }
  }
}

resource "aws_iam_role" "revoke" {
  count              = var.create_account_resources ? 1 : 0
  name               = var.revoke_role_name
  assume_role_policy = data.aws_iam_policy_document.revoke_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "revoke" {
  count  = var.create_account_resources ? 1 : 0
  name   = var.revoke_role_name
  role   = aws_iam_role.revoke[0].id
  policy = data.aws_iam_policy_document.revoke.json
}
