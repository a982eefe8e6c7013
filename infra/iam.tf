data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each           = local.functions
  name               = "${var.name_prefix}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

# The calls the function's code makes (local.function_actions), scoped where
# the action allows it, plus what Lambda needs to run it: its own log group,
# X-Ray, and the failure queue.
data "aws_iam_policy_document" "function" {
  for_each = local.functions

  dynamic "statement" {
    for_each = [for a in local.function_actions[each.key] : a if startswith(a, "ec2:Describe") || startswith(a, "ecs:Describe")]
    content {
      sid       = "Read${replace(replace(statement.value, ":", ""), "Describe", "")}"
      actions   = [statement.value]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = contains(local.function_actions[each.key], "ec2:RevokeSecurityGroupIngress") ? [1] : []
    content {
      sid       = "RevokeIngress"
      actions   = ["ec2:RevokeSecurityGroupIngress"]
      resources = ["arn:${local.partition}:ec2:*:${local.account}:security-group/*"]
    }
  }

  # Organization mode: the member role in any account (the role trusts only
  # these functions' roles), and where an account sits (exemptions by OU;
  # this account must manage the organization or be its delegated
  # administrator). Nothing else new.
  dynamic "statement" {
    for_each = local.organization ? [for a in local.organization_actions : a if startswith(a, "sts:")] : []
    content {
      sid       = "AssumeMemberRole"
      actions   = [statement.value]
      resources = ["arn:${local.partition}:iam::*:role/${var.member_role_name}"]
      # Only in accounts of the organization.
      condition {
        test     = "StringEquals"
        variable = "aws:ResourceOrgID"
        values   = [var.organization_id]
      }
    }
  }

  dynamic "statement" {
    for_each = local.organization ? [for a in local.organization_actions : a if startswith(a, "organizations:")] : []
    content {
      sid       = "ReadOrganizationUnits"
      actions   = [statement.value]
      resources = ["*"]
    }
  }

  statement {
    sid       = "PublishAlerts"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "FailureQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failures.arn]
  }

  statement {
    sid       = "EncryptedDestinations"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = [aws_kms_key.guard.arn]
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions
  name     = "${var.name_prefix}-${each.key}"
  role     = aws_iam_role.function[each.key].id
  policy   = data.aws_iam_policy_document.function[each.key].json
}
