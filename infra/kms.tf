# One customer-managed key encrypts the alert topic, the queues, the state
# table, the schedules' input, the functions' environment, the log groups
# and, with retro_scan, the retro scan's results. Only the account (for
# administration), the function roles, the scheduler role, the retro scan's
# state machine role, CloudWatch alarms and CloudWatch Logs may use it.
data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource is the key itself; write access is limited by the principals of each statement.
  #checkov:skip=CKV_AWS_356:A key policy's "*" resource is the key itself, not every resource.
  #checkov:skip=CKV_AWS_109:The account root must administer its key (AWS default key policy); other principals get encrypt/decrypt only.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
  }

  statement {
    sid       = "GuardFunctionsEncrypt"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [for f in local.functions : aws_iam_role.function[f].arn]
    }
  }

  # Scheduler reads the schedules' input with its role when it invokes the
  # sweep.
  statement {
    sid       = "SchedulesDecrypt"
    actions   = ["kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.scheduler.arn]
    }
  }

  statement {
    sid       = "AlarmsPublish"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account}:alarm:${var.name_prefix}-*"]
    }
  }

  # With retro_scan, the state machine's role writes the Distributed Map's
  # results to the results bucket, which the key encrypts (retro.tf).
  dynamic "statement" {
    for_each = var.retro_scan ? [1] : []
    content {
      sid       = "RetroScanResults"
      actions   = local.retro_state_machine_kms_actions
      resources = ["*"]
      principals {
        type        = "AWS"
        identifiers = [aws_iam_role.retro_state_machine[0].arn]
      }
    }
  }

  # The failure queue's break-glass readers decrypt its messages, through
  # SQS only.
  dynamic "statement" {
    for_each = length(var.failure_queue_readers) > 0 ? [1] : []
    content {
      sid       = "FailureQueueReadersDecrypt"
      actions   = ["kms:Decrypt"]
      resources = ["*"]
      principals {
        type        = "AWS"
        identifiers = var.failure_queue_readers
      }
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sqs.${local.region}.amazonaws.com"]
      }
    }
  }

  statement {
    sid       = "LogsEncrypt"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/lambda/${var.name_prefix}-*",
        "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/vendedlogs/states/${var.name_prefix}-*",
      ]
    }
  }
}

resource "aws_kms_key" "guard" {
  description             = "${var.name_prefix}: alert topic, queues, state table, schedules and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "guard" {
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.guard.key_id
}
