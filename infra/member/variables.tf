variable "central_bus_arn" {
  description = "The central event bus (the central module's member_inputs.central_bus_arn)."
  type        = string
}

variable "central_role_arns" {
  description = "The central functions' roles: the only principals the member (read-only) role trusts (member_inputs.central_role_arns)."
  type        = list(string)
}

variable "revoking_role_arns" {
  description = "The roles of the central functions that revoke: the only principals the revoke role trusts (member_inputs.revoking_role_arns)."
  type        = list(string)
}

variable "regions" {
  description = "The regions in scope: the only ones the revoke role may revoke in (member_inputs.regions)."
  type        = list(string)

  validation {
    condition     = length(var.regions) > 0
    error_message = "regions must name the regions in scope."
  }
}

variable "event_patterns" {
  description = "The guarded events, by function (member_inputs.event_patterns): forwarded exactly, failed calls dropped."
  type        = any
}

variable "member_role_name" {
  description = "The read-only role the central functions assume here (member_inputs.member_role_name)."
  type        = string
  default     = "access-guard-member"
}

variable "revoke_role_name" {
  description = "The role the revoking central functions assume here to revoke, and for nothing else (member_inputs.revoke_role_name)."
  type        = string
  default     = "access-guard-member-revoke"
}

variable "create_account_resources" {
  description = "Create the account-wide IAM roles (member role, revoke role, forwarder role). True in exactly one region per account."
  type        = bool
  default     = true
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "ecs-access-guard"
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
