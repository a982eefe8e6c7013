output "member_role_arn" {
  description = "The read-only role the central functions assume in this account (null where create_account_resources is false)."
  value       = var.create_account_resources ? aws_iam_role.member[0].arn : null
}

output "revoke_role_arn" {
  description = "The role the revoking central functions assume in this account to revoke (null where create_account_resources is false)."
  value       = var.create_account_resources ? aws_iam_role.revoke[0].arn : null
}

output "forward_rule_arns" {
  description = "The forwarding rules of this region, by function."
  value       = { for k, r in aws_cloudwatch_event_rule.forward : k => r.arn }
}
