variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "ecs-access-guard"
}

variable "artifacts_dir" {
  description = "Folder holding <function>/bootstrap.zip as `make package` leaves them (target/lambda)."
  type        = string
}

variable "alert_emails" {
  description = "Addresses subscribed to the alert topic (each must confirm the subscription)."
  type        = list(string)
  default     = []
}

variable "dry_run" {
  description = "Set to override the policy's dry_run (true: report \"would revoke\" without revoking; false: let ingress-guard revoke). Unset (null): the policy decides, and the embedded policy's dry_run is true."
  type        = bool
  default     = null
  nullable    = true
}

variable "notify_min_severity" {
  description = "Set to override the policy's notify_min_severity: findings below it are logged and listed, but do not alert on their own (info, low, medium, high, critical). Unset (null): the policy decides (embedded default: high)."
  type        = string
  default     = null
  nullable    = true

  validation {
    condition     = var.notify_min_severity == null ? true : contains(["info", "low", "medium", "high", "critical"], var.notify_min_severity)
    error_message = "notify_min_severity must be null or one of info, low, medium, high, critical."
  }
}

variable "exemption_tag_key" {
  description = "Set to override the policy's exemption_tag_key: the tag on a security group that exempts it from remediation (\"<reason>;expires=YYYY-MM-DD\"). Unset (null): the policy decides (embedded default: access-guard:exempt)."
  type        = string
  default     = null
  nullable    = true

  validation {
    condition     = var.exemption_tag_key == null ? true : length(trimspace(var.exemption_tag_key)) > 0
    error_message = "exemption_tag_key must be null or a tag key."
  }
}

variable "tls_roots" {
  description = "Set to choose which authorities the functions trust for their calls to AWS (ACCESS_GUARD_TLS_ROOTS): \"amazon\", the five roots of Amazon Trust Services alone, which every AWS service endpoint chains to in the commercial regions and GovCloud (US), or \"system\", the Lambda runtime's store (for an HTTPS proxy or an HTTPS endpoint override). Unset (null): amazon in the commercial regions and GovCloud (US), system in the other partitions."
  type        = string
  default     = null
  nullable    = true

  validation {
    condition     = var.tls_roots == null ? true : contains(["amazon", "system"], var.tls_roots)
    error_message = "tls_roots must be null, \"amazon\" or \"system\"."
  }
}

variable "policy_toml" {
  description = "The policy as inline TOML (replaces the embedded default; keys left out keep their defaults). Empty: the embedded default."
  type        = string
  default     = ""
}

variable "policy_file" {
  description = "Path of a policy TOML file to use instead of policy_toml."
  type        = string
  default     = ""
}

variable "memory_mb" {
  description = "Memory of each function."
  type        = number
  default     = 128
}

variable "timeout_seconds" {
  description = "Timeout of each function."
  type        = number
  default     = 30
}

variable "reserved_concurrency" {
  description = "Reserved concurrency of each function (a bound on blast radius and cost)."
  type        = number
  default     = 10
}

variable "maximum_retry_attempts" {
  description = "Asynchronous retries before an event goes to the on-failure queue (0-2)."
  type        = number
  default     = 2
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups."
  type        = number
  default     = 365
}

variable "log_kms_key_arn" {
  description = "KMS key for the log groups; empty: the module's key."
  type        = string
  default     = ""
}

variable "failure_queue_readers" {
  description = "Break-glass principals (IAM role or user ARNs) that alone may read, delete and purge the failure queue's messages (and decrypt them through SQS). Only the module's function roles may send to it. Empty: nobody reads it until the queue policy is changed."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.failure_queue_readers : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", arn))])
    error_message = "failure_queue_readers must be IAM role or user ARNs."
  }
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

variable "organization_id" {
  description = "Organization mode: the organization (o-...) whose member accounts forward their events to this deployment's central bus. Empty: this account and region only."
  type        = string
  default     = ""

  validation {
    condition     = var.organization_id == "" || can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id must be empty or an organization id (o-...)."
  }
}

variable "organization_accounts" {
  description = "Organization mode: the accounts in scope; empty: every account of the organization."
  type        = list(string)
  default     = []
}

variable "organization_regions" {
  description = "Organization mode: the regions in scope (member accounts forward from these)."
  type        = list(string)
  default     = []
}

variable "member_role_name" {
  description = "Organization mode: the read-only role every function assumes in member accounts (module infra/member creates it, and beside it the revoke role <member_role_name>-revoke, which only the revoking functions may assume)."
  type        = string
  default     = "access-guard-member"
}

variable "member_ou_ids" {
  description = "Organization mode: roll the member stack out by StackSet (service-managed, automatic deployment) to every account of these OUs (ou-... or the root r-...), in every region of organization_regions. Empty: apply module member/ yourself."
  type        = list(string)
  default     = []
}

variable "stack_set_call_as" {
  description = "Whether this account manages the StackSet as the organization's management account (SELF) or as a delegated administrator (DELEGATED_ADMIN)."
  type        = string
  default     = "DELEGATED_ADMIN"

  validation {
    condition     = contains(["SELF", "DELEGATED_ADMIN"], var.stack_set_call_as)
    error_message = "stack_set_call_as must be SELF or DELEGATED_ADMIN."
  }
}

variable "member_roles_region" {
  description = "Organization mode: the region whose member stack creates the account-wide roles (member role, forwarder role). Empty: the first of organization_regions; keep it fixed once deployed."
  type        = string
  default     = ""
}

variable "sweep_revoke" {
  description = "Let the sweep revoke the world-open ingress it finds (sets the policy's [sweep] revoke; every invariant of ingress-guard holds, dry_run included). Only then is the sweep's role granted ec2:RevokeSecurityGroupIngress and trusted by the member accounts' revoke role. Off: the sweep only alerts."
  type        = bool
  default     = false
}

variable "sweep_schedule" {
  description = "When the sweep reads every (account, region) in scope and alerts on new and resolved findings: an EventBridge Scheduler expression, rate(...) or cron(...)."
  type        = string
  default     = "rate(6 hours)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.sweep_schedule))
    error_message = "sweep_schedule must be a rate(...) or cron(...) expression."
  }
}

variable "summary_schedule" {
  description = "When the sweep sends its summary of open findings: an EventBridge Scheduler expression, in summary_timezone."
  type        = string
  default     = "cron(0 7 * * ? *)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.summary_schedule))
    error_message = "summary_schedule must be a rate(...) or cron(...) expression."
  }
}

variable "summary_timezone" {
  description = "Time zone of summary_schedule (an IANA name such as Europe/Paris)."
  type        = string
  default     = "UTC"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_+/-]*$", var.summary_timezone))
    error_message = "summary_timezone must be an IANA time zone name such as UTC or Europe/Paris."
  }
}

variable "sweep_concurrency" {
  description = "At most this many sweep workers run at once, each on one (account, region): the work queue's maximum concurrency. Keep it at least 2 below reserved_concurrency, which the scheduled runs share."
  type        = number
  default     = 5

  validation {
    condition     = var.sweep_concurrency >= 2 && var.sweep_concurrency <= 1000 && floor(var.sweep_concurrency) == var.sweep_concurrency
    error_message = "sweep_concurrency must be a whole number from 2 to 1000 (the limits of an SQS event source's maximum concurrency)."
  }
}

variable "sweep_timeout_seconds" {
  description = "Timeout of the sweep function: one (account, region), or enqueueing the work of a run. The work queue's visibility timeout is six times this."
  type        = number
  default     = 300

  validation {
    condition     = var.sweep_timeout_seconds >= 1 && var.sweep_timeout_seconds <= 900 && floor(var.sweep_timeout_seconds) == var.sweep_timeout_seconds
    error_message = "sweep_timeout_seconds must be a whole number from 1 to 900 (Lambda's limit)."
  }
}

variable "sweep_max_receive_count" {
  description = "Attempts at one (account, region) before its work item goes to the failure queue."
  type        = number
  default     = 3

  validation {
    condition     = var.sweep_max_receive_count >= 1 && var.sweep_max_receive_count <= 1000 && floor(var.sweep_max_receive_count) == var.sweep_max_receive_count
    error_message = "sweep_max_receive_count must be a whole number from 1 to 1000 (SQS's limits)."
  }
}

variable "state_deletion_protection" {
  description = "Protect the state table (findings, their history, idempotency records) from deletion; set false before destroying the module."
  type        = bool
  default     = true
}

variable "security_hub_findings" {
  description = "Also record every finding in Security Hub (ASFF, one finding per fingerprint, updated in place, RESOLVED when its rule is revoked or the sweep finds it gone), in this account and region's default product. Security Hub must be enabled here."
  type        = bool
  default     = false
}

variable "chatbot_topic" {
  description = "Also post each alert, as an AWS Chatbot custom notification, to an SNS topic of its own (output chatbot_topic_arn) for Slack or Teams channels. The Chatbot channel configuration subscribing to it is yours."
  type        = bool
  default     = false
}

variable "retro_scan" {
  description = "Deploy the retro scan (retro.tf): a Step Functions state machine whose Distributed Map runs the retro-scan function over the organization's CloudTrail bucket where it lies, writing findings as JSON Lines to a results bucket of its own, queryable in Athena. Off: none of it exists."
  type        = bool
  default     = false
}

variable "retro_trail_bucket" {
  description = "With retro_scan: the bucket holding the (organization) trail's log files, AWSLogs/<org-id>/<account>/CloudTrail/<region>/YYYY/MM/DD/. It must be in this account and region's reach: the state machine lists it and the function reads its objects."
  type        = string
  default     = null
  nullable    = true

  validation {
    condition     = var.retro_trail_bucket == null ? true : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.retro_trail_bucket))
    error_message = "retro_trail_bucket must be null or an S3 bucket name."
  }
}

variable "retro_inventory_bucket" {
  description = "With retro_scan: the bucket an S3 Inventory of the trail bucket is delivered to, for runs started from its manifest ({\"manifest\": {\"bucket\", \"key\"}}) instead of a listing. Only then may the state machine read it. Unset (null): runs list the trail bucket."
  type        = string
  default     = null
  nullable    = true

  validation {
    condition     = var.retro_inventory_bucket == null ? true : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.retro_inventory_bucket))
    error_message = "retro_inventory_bucket must be null or an S3 bucket name."
  }
}

variable "retro_trail_kms_key_arn" {
  description = "With retro_scan: the KMS key of a trail bucket encrypted with SSE-KMS. Only then is the retro-scan function granted kms:Decrypt, on this key alone. Unset (null): the trail's objects are read as SSE-S3."
  type        = string
  default     = null
  nullable    = true

  validation {
    condition     = var.retro_trail_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.retro_trail_kms_key_arn))
    error_message = "retro_trail_kms_key_arn must be null or a KMS key ARN (arn:...:kms:<region>:<account>:key/<id>)."
  }
}

variable "retro_timeout_seconds" {
  description = "Timeout of the retro-scan function. Each batch runs in an Express child workflow, which lasts at most 5 minutes, so it stays below 300; the function reports the objects it could not read before its deadline."
  type        = number
  default     = 240

  validation {
    condition     = var.retro_timeout_seconds >= 10 && var.retro_timeout_seconds < 300 && floor(var.retro_timeout_seconds) == var.retro_timeout_seconds
    error_message = "retro_timeout_seconds must be a whole number from 10 to 299: an Express child workflow lasts at most 300 seconds."
  }
}

variable "retro_memory_mb" {
  description = "Memory of the retro-scan function (Lambda gives one vCPU at 1,769 MB)."
  type        = number
  default     = 1769

  validation {
    condition     = var.retro_memory_mb >= 128 && var.retro_memory_mb <= 10240 && floor(var.retro_memory_mb) == var.retro_memory_mb
    error_message = "retro_memory_mb must be a whole number from 128 to 10240 (Lambda's limits)."
  }
}

variable "retro_max_items_per_batch" {
  description = "At most this many trail objects in one batch (one invocation of retro-scan). Step Functions also caps a batch at 256 KiB of batch input (the items' keys and metadata, not the objects' bytes: about 1,000 listed objects). At the function's measured 144 MB/s of JSON, 500 busy five-minute log files of 5 MB take about 17 s, well inside the batch's time; fewer objects a batch spend more of it starting invocations."
  type        = number
  default     = 500

  validation {
    condition     = var.retro_max_items_per_batch >= 1 && var.retro_max_items_per_batch <= 10000 && floor(var.retro_max_items_per_batch) == var.retro_max_items_per_batch
    error_message = "retro_max_items_per_batch must be a whole number from 1 to 10000."
  }
}

variable "retro_max_concurrency" {
  description = "At most this many batches at once: the Distributed Map's MaxConcurrency, and so the retro-scan function's concurrency (it reserves none; the account's unreserved concurrency must hold it)."
  type        = number
  default     = 100

  validation {
    condition     = var.retro_max_concurrency >= 1 && var.retro_max_concurrency <= 10000 && floor(var.retro_max_concurrency) == var.retro_max_concurrency
    error_message = "retro_max_concurrency must be a whole number from 1 to 10000 (a Distributed Map's limit)."
  }
}

variable "retro_tolerated_failure_percentage" {
  description = "The percentage of batches that may fail (after their retries) before the Distributed Map, and the run, fails. 0: any failed batch fails the run; the summary is published either way."
  type        = number
  default     = 0

  validation {
    condition     = var.retro_tolerated_failure_percentage >= 0 && var.retro_tolerated_failure_percentage <= 100
    error_message = "retro_tolerated_failure_percentage must be from 0 to 100."
  }
}

variable "retro_results_expiration_days" {
  description = "Days the retro scan's findings, summaries and Athena results are kept in the results bucket."
  type        = number
  default     = 365

  validation {
    condition     = var.retro_results_expiration_days >= 1 && floor(var.retro_results_expiration_days) == var.retro_results_expiration_days
    error_message = "retro_results_expiration_days must be a whole number of days, 1 or more."
  }
}
