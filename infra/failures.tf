# Events a function could not handle after its retries, with the error, and
# sweep work items (one account and region each) that failed every attempt.
resource "aws_sqs_queue" "failures" {
  name                      = "${var.name_prefix}-failures"
  kms_master_key_id         = aws_kms_key.guard.arn
  message_retention_seconds = 1209600
  tags                      = var.tags
}

locals {
  function_role_arns = [for f in local.functions : aws_iam_role.function[f].arn]

  # What reading the failure queue takes: only var.failure_queue_readers.
  failure_queue_reads = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:PurgeQueue"]
}

# The queue admits only the module's roles (the functions' on-failure
# destinations send with them) and the break-glass principals named in
# failure_queue_readers, who alone may read, delete or purge. The work
# queue's dead-letter moves are SQS's own, not a principal's call. The
# account can still change this policy (SetQueueAttributes), which
# CloudTrail records.
data "aws_iam_policy_document" "failures" {
  statement {
    sid       = "GuardFunctionsSend"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failures.arn]
    principals {
      type        = "AWS"
      identifiers = local.function_role_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.failure_queue_readers) > 0 ? [1] : []
    content {
      sid       = "BreakGlassReads"
      actions   = concat(local.failure_queue_reads, ["sqs:GetQueueAttributes"])
      resources = [aws_sqs_queue.failures.arn]
      principals {
        type        = "AWS"
        identifiers = var.failure_queue_readers
      }
    }
  }

  statement {
    sid       = "DenySendFromOthers"
    effect    = "Deny"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failures.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = local.function_role_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.failure_queue_readers) > 0 ? [1] : []
    content {
      sid       = "DenyReadsFromOthers"
      effect    = "Deny"
      actions   = local.failure_queue_reads
      resources = [aws_sqs_queue.failures.arn]
      principals {
        type        = "*"
        identifiers = ["*"]
      }
      condition {
        test     = "ArnNotEquals"
        variable = "aws:PrincipalArn"
        values   = var.failure_queue_readers
      }
    }
  }

  # No break-glass principal named: nobody reads.
  dynamic "statement" {
    for_each = length(var.failure_queue_readers) > 0 ? [] : [1]
    content {
      sid       = "DenyReads"
      effect    = "Deny"
      actions   = local.failure_queue_reads
      resources = [aws_sqs_queue.failures.arn]
      principals {
        type        = "*"
        identifiers = ["*"]
      }
    }
  }
}

resource "aws_sqs_queue_policy" "failures" {
  queue_url = aws_sqs_queue.failures.id
  policy    = data.aws_iam_policy_document.failures.json
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each            = local.functions
  alarm_name          = "${var.name_prefix}-${each.key}-errors"
  alarm_description   = "${each.key} failed to handle an event or a work item (it will be retried, then sent to the failure queue)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.guard[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "failures" {
  alarm_name          = "${var.name_prefix}-failures"
  alarm_description   = "Messages are waiting in the failure queue: an event, or a sweep of one account and region, was not handled after its retries."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.failures.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}
