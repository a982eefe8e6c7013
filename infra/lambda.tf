resource "aws_cloudwatch_log_group" "function" {
  for_each          = local.functions
  name              = "/aws/lambda/${var.name_prefix}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.log_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "guard" {
  for_each = local.functions
  #checkov:skip=CKV_AWS_117:The functions call only AWS APIs; a VPC would add NAT cost and cold-start latency for no isolation gain.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile the deploying team owns; the zips are built from source by `make package`.
  #checkov:skip=CKV_AWS_116:Failures go to the failure queue: through an on-failure destination (aws_lambda_function_event_invoke_config), which keeps the error with the event, or, for the guards whose events may carry secrets, as a redacted copy the function sends; a DLQ would deliver the event as it came.
  function_name                  = "${var.name_prefix}-${each.key}"
  description                    = "ecs-access-guard ${each.key}"
  role                           = aws_iam_role.function[each.key].arn
  filename                       = "${var.artifacts_dir}/${each.key}/bootstrap.zip"
  source_code_hash               = filebase64sha256("${var.artifacts_dir}/${each.key}/bootstrap.zip")
  handler                        = "bootstrap"
  runtime                        = "provided.al2023"
  architectures                  = ["arm64"]
  memory_size                    = each.key == "retro-scan" ? var.retro_memory_mb : var.memory_mb
  timeout                        = each.key == "sweep" ? var.sweep_timeout_seconds : each.key == "retro-scan" ? var.retro_timeout_seconds : var.timeout_seconds
  reserved_concurrent_executions = each.key == "retro-scan" ? -1 : var.reserved_concurrency
  kms_key_arn                    = aws_kms_key.guard.arn

  # The sweep also learns its work queue (DESIGN §12): the run enqueues one
  # item per (account, region) there, and the workers drain it; and whether
  # it revokes, which sweep_revoke decides because it decides the grant (a
  # policy asking for it without sweep_revoke fails the plan, below).
  # The retro scan learns its results bucket and no sink: it reports the
  # past in its bucket and one summary on the topic, never as live findings.
  # Its concurrency is the Distributed Map's MaxConcurrency (plus the
  # aggregation), so none is reserved for it: a reservation would hold that
  # many executions of the account's pool between runs.
  environment {
    variables = merge(
      local.common_environment,
      { ACCESS_GUARD_ROLE_ARN = aws_iam_role.function[each.key].arn },
      each.key == "sweep" ? {
        ACCESS_GUARD_SWEEP_QUEUE_URL = aws_sqs_queue.sweep_work.url
        ACCESS_GUARD_SWEEP_REVOKE    = tostring(var.sweep_revoke)
      } : {},
      contains(local.redacting_functions, each.key) ? { ACCESS_GUARD_FAILURE_QUEUE_URL = aws_sqs_queue.failures.url } : {},
      each.key == "retro-scan" ? local.retro_environment : local.sinks_environment,
    )
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.function[each.key].name
  }

  tracing_config {
    mode = "Active"
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.function]

  lifecycle {
    precondition {
      condition     = var.sweep_revoke || !can(regex("(?m)^[^#\\n]*\\brevoke\\s*=\\s*true", local.user_policy))
      error_message = "The policy sets [sweep] revoke = true: set sweep_revoke = true instead (it sets the policy's [sweep] revoke and grants the sweep the revoke, which it otherwise lacks)."
    }
  }
}

# The retro scan has none: Step Functions invokes it synchronously and
# retries it as the state machine says (retro.tf).
resource "aws_lambda_function_event_invoke_config" "guard" {
  for_each                     = setsubtract(local.functions, ["retro-scan"])
  function_name                = aws_lambda_function.guard[each.key].function_name
  maximum_retry_attempts       = var.maximum_retry_attempts
  maximum_event_age_in_seconds = 3600

  # The redacting guards have none: Lambda's record would carry the event as
  # it came, secrets included; they send a redacted copy themselves.
  dynamic "destination_config" {
    for_each = contains(local.redacting_functions, each.key) ? [] : [aws_sqs_queue.failures.arn]
    content {
      on_failure {
        destination = destination_config.value
      }
    }
  }
}
