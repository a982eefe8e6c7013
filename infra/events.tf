# One rule per event-driven function (local.event_patterns): the sweep has no
# pattern, its schedules are in sweep.tf.
resource "aws_cloudwatch_event_rule" "guard" {
  for_each       = local.event_patterns
  name           = "${var.name_prefix}-${each.key}"
  event_bus_name = local.event_bus_name
  description    = "CloudTrail calls that ${each.key} judges"
  event_pattern  = jsonencode(each.value)
  tags           = var.tags
}

resource "aws_cloudwatch_event_target" "guard" {
  for_each       = local.event_patterns
  event_bus_name = local.event_bus_name
  rule           = aws_cloudwatch_event_rule.guard[each.key].name
  arn            = aws_lambda_function.guard[each.key].arn
}

resource "aws_lambda_permission" "events" {
  for_each      = local.event_patterns
  statement_id  = "AllowEventBridgeRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.guard[each.key].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.guard[each.key].arn
}
