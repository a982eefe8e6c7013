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

locals {
  # Each function's calls on the state table, granted in one statement.
  state_table_actions = { for f, actions in local.function_actions : f => [for a in actions : a if startswith(a, "dynamodb:")] }
}

# The calls the function's code makes (local.function_actions), scoped where
# the action allows it, plus what Lambda needs to run it: its own log group,
# X-Ray, the failure queue, and for the sweep its work queue's event source.
# Every grant of a listed action is generated from local.function_actions, so
# a function gets nothing its list does not name.
data "aws_iam_policy_document" "function" {
  for_each = local.functions

  dynamic "statement" {
    for_each = [for a in local.function_actions[each.key] : a if startswith(a, "ec2:Describe") || startswith(a, "ecs:Describe") || startswith(a, "autoscaling:Describe") || startswith(a, "elasticloadbalancing:Describe")]
    content {
      sid       = "Read${replace(replace(statement.value, ":", ""), "Describe", "")}"
      actions   = [statement.value]
      resources = ["*"]
    }
  }

  # IAM reads: the account's roles, instance profiles and policies, and
  # AWS's managed policies (to read their documents).
  dynamic "statement" {
    for_each = length([for a in local.function_actions[each.key] : a if startswith(a, "iam:") && a != "iam:GetAccountAuthorizationDetails"]) > 0 ? [1] : []
    content {
      sid     = "ReadIam"
      actions = [for a in local.function_actions[each.key] : a if startswith(a, "iam:") && a != "iam:GetAccountAuthorizationDetails"]
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
    for_each = [for a in local.function_actions[each.key] : a if a == "iam:GetAccountAuthorizationDetails"]
    content {
      sid       = "ReadAuthorizationDetails"
      actions   = [statement.value]
      resources = ["*"]
    }
  }

  # The account's default instance metadata options: no resource narrower than "*".
  dynamic "statement" {
    for_each = [for a in local.function_actions[each.key] : a if a == "ec2:GetInstanceMetadataDefaults"]
    content {
      sid       = "ReadMetadataDefaults"
      actions   = [statement.value]
      resources = ["*"]
    }
  }

  # What a customer-managed prefix list holds and which groups reference
  # it: a list of any account (one may be shared with this account).
  dynamic "statement" {
    for_each = [for a in local.function_actions[each.key] : a if startswith(a, "ec2:GetManagedPrefixList")]
    content {
      sid       = replace(replace(statement.value, "ec2:GetManagedPrefixList", "ReadPrefixList"), ":", "")
      actions   = [statement.value]
      resources = ["arn:${local.partition}:ec2:*:*:prefix-list/*"]
    }
  }

  # ListClusters and ListServices take no resource narrower than "*" that
  # would still let the sweep enumerate what it must read.
  dynamic "statement" {
    for_each = [for a in local.function_actions[each.key] : a if startswith(a, "ecs:List")]
    content {
      sid       = "List${replace(replace(statement.value, ":", ""), "List", "")}"
      actions   = [statement.value]
      resources = ["*"]
    }
  }

  # The revoke: ingress-guard's, and the sweep's only with sweep_revoke
  # (local.granted_actions).
  dynamic "statement" {
    for_each = [for a in local.granted_actions[each.key] : a if a == "ec2:RevokeSecurityGroupIngress"]
    content {
      sid       = "RevokeIngress"
      actions   = [statement.value]
      resources = ["arn:${local.partition}:ec2:*:${local.account}:security-group/*"]
    }
  }

  # The policy's object (policy.tf), at the version the environment names.
  dynamic "statement" {
    for_each = local.policy != "" ? [local.policy_actions] : []
    content {
      sid       = "ReadPolicy"
      actions   = statement.value
      resources = ["${aws_s3_bucket.policy[0].arn}/${local.policy_key}"]
    }
  }

  # The state table only (findings, and ingress-guard's idempotency records).
  dynamic "statement" {
    for_each = length(local.state_table_actions[each.key]) > 0 ? [local.state_table_actions[each.key]] : []
    content {
      sid       = "StateTable"
      actions   = statement.value
      resources = [aws_dynamodb_table.state.arn]
    }
  }

  dynamic "statement" {
    for_each = [for a in local.function_actions[each.key] : a if startswith(a, "sns:")]
    content {
      sid       = "PublishAlerts"
      actions   = [statement.value]
      resources = [aws_sns_topic.alerts.arn]
    }
  }

  # Optional sinks (sinks.tf), only when switched on: findings into this
  # account's default product, for this account only (securityhub:TargetAccount
  # is the findings' AwsAccountId), their workflow status on this hub, and
  # the Chatbot topic. Not the retro scan's: it has no sink (lambda.tf).
  dynamic "statement" {
    for_each = var.security_hub_findings && each.key != "retro-scan" ? [for a in local.security_hub_actions : a if a == "securityhub:BatchImportFindings"] : []
    content {
      sid       = "ImportFindings"
      actions   = [statement.value]
      resources = [local.security_hub_product_arn]
      condition {
        test     = "StringEquals"
        variable = "securityhub:TargetAccount"
        values   = [local.account]
      }
    }
  }

  dynamic "statement" {
    for_each = var.security_hub_findings && each.key != "retro-scan" ? [for a in local.security_hub_actions : a if a == "securityhub:BatchUpdateFindings"] : []
    content {
      sid       = "ResolveFindings"
      actions   = [statement.value]
      resources = [local.security_hub_hub_arn]
    }
  }

  dynamic "statement" {
    for_each = var.chatbot_topic && each.key != "retro-scan" ? local.chatbot_actions : []
    content {
      sid       = "PublishChatbot"
      actions   = [statement.value]
      resources = [aws_sns_topic.chatbot[0].arn]
    }
  }

  # The sweep's run hands one work item per (account, region) to its workers.
  dynamic "statement" {
    for_each = each.key == "sweep" ? [for a in local.function_actions[each.key] : a if startswith(a, "sqs:")] : []
    content {
      sid       = "EnqueueSweepWork"
      actions   = [statement.value]
      resources = [aws_sqs_queue.sweep_work.arn]
    }
  }

  # Organization mode: the member (read-only) role in any account, and the
  # revoke role for the functions that revoke (each role trusts only these
  # functions' roles). Nothing else new. Not the retro scan, which acts in
  # no member account (local.member_functions).
  dynamic "statement" {
    for_each = local.organization && contains(local.member_functions, each.key) ? [for a in local.organization_actions : a if startswith(a, "sts:")] : []
    content {
      sid     = "AssumeMemberRole"
      actions = [statement.value]
      resources = concat(
        ["arn:${local.partition}:iam::*:role/${var.member_role_name}"],
        contains(local.revoking_functions, each.key) ? ["arn:${local.partition}:iam::*:role/${local.revoke_role_name}"] : [],
      )
      # Only in accounts of the organization.
      condition {
        test     = "StringEquals"
        variable = "aws:ResourceOrgID"
        values   = [var.organization_id]
      }
    }
  }

  # Organization mode, the functions that read Organizations alone
  # (local.organization_reads): where an account sits (exemptions by OU)
  # and, for the sweep, the accounts to sweep when they are "*". This
  # account must manage the organization or be its delegated administrator.
  dynamic "statement" {
    for_each = local.organization ? lookup(local.organization_reads, each.key, []) : []
    content {
      sid       = replace(statement.value, "organizations:", "Organizations")
      actions   = [statement.value]
      resources = ["*"]
    }
  }

  # The retro scan (retro.tf): the trail's objects, and its results bucket,
  # where it writes findings and summaries and reads them back (with the
  # Distributed Map's result files) to aggregate a run. Its actions are
  # granted here only, from its list in local.function_actions.
  dynamic "statement" {
    for_each = each.key == "retro-scan" ? [for a in local.function_actions[each.key] : a if a == "s3:GetObject"] : []
    content {
      sid       = "ReadTrailAndResults"
      actions   = [statement.value]
      resources = local.retro_read_objects
    }
  }

  dynamic "statement" {
    for_each = each.key == "retro-scan" ? [for a in local.function_actions[each.key] : a if a == "s3:ListBucket"] : []
    content {
      sid       = "ListRunSummaries"
      actions   = [statement.value]
      resources = [aws_s3_bucket.retro[0].arn]
      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["summaries/*"]
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "retro-scan" ? [for a in local.function_actions[each.key] : a if a == "s3:PutObject"] : []
    content {
      sid       = "WriteFindings"
      actions   = [statement.value]
      resources = local.retro_write_objects
    }
  }

  # A trail bucket encrypted with SSE-KMS: its key decrypts the objects
  # read, only when retro_trail_kms_key_arn names it.
  dynamic "statement" {
    for_each = each.key == "retro-scan" && var.retro_trail_kms_key_arn != null ? local.retro_trail_kms_actions : []
    content {
      sid       = "DecryptTrail"
      actions   = [statement.value]
      resources = [var.retro_trail_kms_key_arn]
    }
  }

  # Not the function's own calls: the Lambda event source mapping polls the
  # work queue with the sweep's role (receive, delete, read its attributes).
  dynamic "statement" {
    for_each = each.key == "sweep" ? [1] : []
    content {
      sid       = "PollSweepWork"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
      resources = [aws_sqs_queue.sweep_work.arn]
    }
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

  # Lambda's on-failure destination (with the function's role), or the
  # redacting guards' own copies (local.redacting_functions). The retro
  # scan has neither (lambda.tf).
  dynamic "statement" {
    for_each = each.key == "retro-scan" ? [] : [1]
    content {
      sid       = "FailureQueue"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.failures.arn]
    }
  }

  # The topic, the queues, the state table, the environment and the retro
  # scan's results are encrypted with the module's key.
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
