# The sweep and its state (DESIGN §12). On a schedule, one run of the sweep
# function enqueues a work item per (account, region) in scope on the work
# queue; workers (the same function, invoked by the queue's event source)
# each read one place and judge it with the rules of the event path. Lambda
# and SQS bound the concurrency and retry the failures; a place that keeps
# failing lands in the failure queue, where the failure alarm sees it.

# Findings by place and fingerprint (first and last seen, status, last
# alert), and the event path's idempotency records, which expire.
resource "aws_dynamodb_table" "state" {
  name                        = "${var.name_prefix}-state"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "place"
  range_key                   = "fingerprint"
  deletion_protection_enabled = var.state_deletion_protection

  attribute {
    name = "place"
    type = "S"
  }

  attribute {
    name = "fingerprint"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.guard.arn
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = var.tags
}

# One message per (account, region) of a run. A worker that fails leaves its
# item to come back after the visibility timeout (six times the function's
# timeout, as Lambda advises); after sweep_max_receive_count attempts the
# item goes to the failure queue.
resource "aws_sqs_queue" "sweep_work" {
  name                       = "${var.name_prefix}-sweep-work"
  kms_master_key_id          = aws_kms_key.guard.arn
  visibility_timeout_seconds = 6 * var.sweep_timeout_seconds
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.failures.arn
    maxReceiveCount     = var.sweep_max_receive_count
  })
  tags = var.tags
}

# The failure queue is a dead-letter queue for the work queue alone (the
# functions' on-failure destinations send to it as any sender would).
resource "aws_sqs_queue_redrive_allow_policy" "failures" {
  queue_url = aws_sqs_queue.failures.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.sweep_work.arn]
  })
}

# One item per invocation, so a failure is exactly one (account, region); at
# most sweep_concurrency workers at once.
resource "aws_lambda_event_source_mapping" "sweep_work" {
  event_source_arn        = aws_sqs_queue.sweep_work.arn
  function_name           = aws_lambda_function.guard["sweep"].arn
  batch_size              = 1
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.sweep_concurrency
  }

  tags = var.tags

  lifecycle {
    # The workers share the function's reserved concurrency with the
    # scheduled run and summary; a throttled worker would count an attempt
    # against its item and could send a healthy place to the failure queue.
    precondition {
      condition     = var.reserved_concurrency < 0 || var.sweep_concurrency + 2 <= var.reserved_concurrency
      error_message = "sweep_concurrency must be at least 2 below reserved_concurrency (the scheduled run and summary need room beside the workers): raise reserved_concurrency or lower sweep_concurrency."
    }
  }
}

# EventBridge Scheduler invokes the sweep through this role, and nothing
# else, for the module's two schedules only (their ARNs written out: the
# schedules depend on the role).
data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values = [
        "arn:${local.partition}:scheduler:${local.region}:${local.account}:schedule/default/${var.name_prefix}-sweep",
        "arn:${local.partition}:scheduler:${local.region}:${local.account}:schedule/default/${var.name_prefix}-summary",
      ]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name_prefix}-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeSweep"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.guard["sweep"].arn]
  }

  # The schedules' input is encrypted with the module's key; Scheduler
  # decrypts it with this role when it invokes the target.
  statement {
    sid       = "DecryptScheduleInput"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.guard.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "${var.name_prefix}-scheduler"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

# The run: read every (account, region) in scope, alert on new and resolved
# findings. Scheduler invokes asynchronously, so the function's retries and
# on-failure destination (lambda.tf) apply; retry_policy covers Scheduler
# failing to invoke at all.
resource "aws_scheduler_schedule" "sweep" {
  name                = "${var.name_prefix}-sweep"
  description         = "ecs-access-guard: sweep every account and region in scope"
  schedule_expression = var.sweep_schedule
  kms_key_arn         = aws_kms_key.guard.arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.guard["sweep"].arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ sweep = "run" })

    retry_policy {
      maximum_retry_attempts       = 2
      maximum_event_age_in_seconds = 3600
    }
  }

  depends_on = [aws_iam_role_policy.scheduler]
}

# The summary of open findings, once a day by default.
resource "aws_scheduler_schedule" "summary" {
  name                         = "${var.name_prefix}-summary"
  description                  = "ecs-access-guard: summary of the open findings"
  schedule_expression          = var.summary_schedule
  schedule_expression_timezone = var.summary_timezone
  kms_key_arn                  = aws_kms_key.guard.arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.guard["sweep"].arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ sweep = "summary" })

    retry_policy {
      maximum_retry_attempts       = 2
      maximum_event_age_in_seconds = 3600
    }
  }

  depends_on = [aws_iam_role_policy.scheduler]
}
