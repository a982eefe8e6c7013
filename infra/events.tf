resource "aws_cloudwatch_event_rule" "guard" {
  for_each       = local.functions
  name           = "${var.name_prefix}-${each.key}"
  event_bus_name = local.event_bus_name
  description    = "CloudTrail calls that ${each.key} judges"
  event_pattern  = jsonencode(local.event_patterns[each.key])
  tags           = var.tags
}

resource "aws_cloudwatch_event_target" "guard" {
  for_each       = local.functions
  event_bus_name = local.event_bus_name
  rule           = aws_cloudwatch_event_rule.guard[each.key].name
  arn            = aws_lambda_function.guard[each.key].arn
}

resource "aws_lambda_permission" "events" {
  for_each      = local.functions
  statement_id  = "AllowEventBridgeRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.guard[each.key].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.guard[each.key].arn
}
