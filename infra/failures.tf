# Events a function could not handle after its retries, with the error, and
# sweep work items (one account and region each) that failed every attempt.
resource "aws_sqs_queue" "failures" {
  name                      = "${var.name_prefix}-failures"
  kms_master_key_id         = aws_kms_key.guard.arn
  message_retention_seconds = 1209600
  tags                      = var.tags
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
