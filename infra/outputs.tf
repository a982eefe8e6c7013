output "alert_topic_arn" {
  description = "SNS topic the alerts go to: subscribe SQS, email, chat integrations here."
  value       = aws_sns_topic.alerts.arn
}

output "failure_queue_url" {
  description = "Events not handled after their retries (with the error), and sweep work items that failed every attempt."
  value       = aws_sqs_queue.failures.url
}

output "state_table_name" {
  description = "The state table: the sweep's findings and the event path's idempotency records."
  value       = aws_dynamodb_table.state.name
}

output "sweep_work_queue_url" {
  description = "The sweep's work queue: one message per (account, region) of a run."
  value       = aws_sqs_queue.sweep_work.url
}

output "sweep_function_name" {
  description = "The sweep function (invoke it with {\"sweep\": \"run\"} to sweep now)."
  value       = aws_lambda_function.guard["sweep"].function_name
}

output "function_names" {
  description = "The functions (the guards and the sweep), by name."
  value       = { for f in local.functions : f => aws_lambda_function.guard[f].function_name }
}

output "role_arns" {
  description = "The functions' roles (each acts only within its listed actions)."
  value       = { for f in local.functions : f => aws_iam_role.function[f].arn }
}

output "kms_key_arn" {
  description = "The key encrypting the topic, the queues, the state table, the schedules and the logs."
  value       = aws_kms_key.guard.arn
}

output "member_inputs" {
  description = "Organization mode: what module infra/member needs in each member account (null otherwise)."
  value = local.organization ? {
    central_bus_arn    = aws_cloudwatch_event_bus.central[0].arn
    central_role_arns  = [for f in local.member_functions : aws_iam_role.function[f].arn]
    revoking_role_arns = [for f in local.revoking_functions : aws_iam_role.function[f].arn]
    event_patterns     = local.event_patterns
    member_role_name   = var.member_role_name
    revoke_role_name   = local.revoke_role_name
    regions            = var.organization_regions
    name_prefix        = var.name_prefix
  } : null
}

output "chatbot_topic_arn" {
  description = "With chatbot_topic: the topic carrying each alert as an AWS Chatbot custom notification (subscribe a Chatbot Slack or Teams channel configuration to it); null otherwise."
  value       = var.chatbot_topic ? aws_sns_topic.chatbot[0].arn : null
}

output "retro_state_machine_arn" {
  description = "With retro_scan: the state machine to start for a retro scan (input {\"prefix\": \"AWSLogs/o-.../\", \"since\": \"YYYY-MM-DD\", \"until\": \"YYYY-MM-DD\"}, or {\"manifest\": {\"bucket\": ..., \"key\": ...}}); null otherwise."
  value       = var.retro_scan ? aws_sfn_state_machine.retro[0].arn : null
}

output "retro_results_bucket" {
  description = "With retro_scan: the bucket of the retro scan's findings (findings/account=/region=/date=/), run summaries (summaries/run=/) and Athena results (athena/); null otherwise."
  value       = var.retro_scan ? aws_s3_bucket.retro[0].id : null
}

output "retro_athena_table" {
  description = "With retro_scan: the Glue table of the findings, as database.table, for Athena (run MSCK REPAIR TABLE on it after a run); null otherwise."
  value       = var.retro_scan ? "${aws_glue_catalog_database.retro[0].name}.${aws_glue_catalog_table.retro_findings[0].name}" : null
}

output "retro_athena_workgroup" {
  description = "With retro_scan: the Athena workgroup whose query results go to the results bucket, encrypted with the module's key; null otherwise."
  value       = var.retro_scan ? aws_athena_workgroup.retro[0].name : null
}
