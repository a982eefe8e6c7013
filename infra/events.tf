# The guard rules, one per event-driven function (local.event_patterns): the
# sweep has no pattern, its schedules are in sweep.tf.
#
# Organization mode with listed accounts: the rules also match the envelope's
# account, so an event forwarded from an account outside the scope invokes
# nothing (and costs nothing past the bus). An event pattern holds at most
# 2,048 characters (EventBridge's default quota), so the accounts are split
# across rules of accounts_per_rule each (a test checks that the largest
# pattern with that many accounts stays within it; ingress-guard's own
# pattern takes about 1,000): 2,000 accounts make 34 rules per function, 204
# in all, within the 300 rules a bus holds by default. With one rule per function (no list, or a short one) the rules
# keep the function's name.
locals {
  accounts_per_rule = 60
  account_chunks    = local.organization && length(var.organization_accounts) > 0 ? chunklist(sort(distinct(var.organization_accounts)), local.accounts_per_rule) : [[]]
  guard_rules = merge([
    for f, pattern in local.event_patterns : {
      for i, accounts in local.account_chunks :
      (length(local.account_chunks) > 1 ? "${f}-${i}" : f) => {
        function = f
        pattern  = jsonencode(merge(pattern, length(accounts) > 0 ? { account = accounts } : {}))
      }
    }
  ]...)
}

resource "aws_cloudwatch_event_rule" "guard" {
  for_each       = local.guard_rules
  name           = "${var.name_prefix}-${each.key}"
  event_bus_name = local.event_bus_name
  description    = "CloudTrail calls that ${each.value.function} judges"
  event_pattern  = each.value.pattern
  tags           = var.tags
}

resource "aws_cloudwatch_event_target" "guard" {
  for_each       = local.guard_rules
  event_bus_name = local.event_bus_name
  rule           = aws_cloudwatch_event_rule.guard[each.key].name
  arn            = aws_lambda_function.guard[each.value.function].arn
}

resource "aws_lambda_permission" "events" {
  for_each      = local.guard_rules
  statement_id  = "AllowEventBridgeRule${trimprefix(each.key, each.value.function)}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.guard[each.value.function].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.guard[each.key].arn
}
