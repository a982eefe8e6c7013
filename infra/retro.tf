# The retro scan (off by default, retro_scan): the organization's CloudTrail
# bucket judged where it lies, by the rules of the event path. A Standard
# state machine lists the trail under a prefix (or reads an S3 Inventory
# manifest of it) with a Distributed Map, which hands the objects in batches
# to the retro-scan function in Express child workflows, at most
# retro_max_concurrency at once. Each batch writes its findings as JSON
# Lines, partitioned by account, region and day, and a summary to the
# results bucket; the last state aggregates the summaries and publishes one
# alert. Athena queries the findings through a Glue table.
#
# Step Functions batches by the batch input's bytes (the items' keys and
# metadata, at most 256 KiB a batch), never by the objects' bytes: the
# function reports the objects it could not read before its deadline, so a
# batch of large objects is counted, never dropped.

locals {
  retro_results_bucket = "${var.name_prefix}-retro-${local.account}-${local.region}"
  retro_state_machine  = "${var.name_prefix}-retro-scan"
  retro_function_arn   = var.retro_scan ? aws_lambda_function.guard["retro-scan"].arn : null

  # The function learns its results bucket from its environment (lambda.tf).
  retro_environment = var.retro_scan ? { ACCESS_GUARD_RETRO_BUCKET = aws_s3_bucket.retro[0].id } : {}

  # What the function reads: the trail's objects, and in the results bucket
  # the summaries of a run and the Distributed Map's result files
  # (results/<map run>/manifest.json and the files it names). What it
  # writes: findings and summaries.
  retro_read_objects = var.retro_scan ? [
    "arn:${local.partition}:s3:::${var.retro_trail_bucket}/*",
    "${aws_s3_bucket.retro[0].arn}/summaries/*",
    "${aws_s3_bucket.retro[0].arn}/results/*",
  ] : []
  retro_write_objects = var.retro_scan ? [
    "${aws_s3_bucket.retro[0].arn}/findings/*",
    "${aws_s3_bucket.retro[0].arn}/summaries/*",
  ] : []

  # An SSE-KMS trail: decrypting what is read (retro_trail_kms_key_arn).
  retro_trail_kms_actions = ["kms:Decrypt"]

  # The state machine's role and the module's key: the Result Writer's
  # objects in the results bucket (written in parts, and read back).
  retro_state_machine_kms_actions = ["kms:GenerateDataKey", "kms:Decrypt"]

  # The finding columns of a line of JSON Lines, in order; account, region
  # and date are the partition keys (in the object's key, not the table's
  # columns). Every value is a string.
  retro_columns = [
    "run", "event_time", "event_id", "event_name", "actor", "source_ip",
    "resource", "rule", "severity", "title", "detail", "object",
  ]
  retro_partition_keys = ["account", "region", "date"]
}

# The results: findings/account=…/region=…/date=…/<run>-<batch>.jsonl,
# summaries/run=<run>/, the Distributed Map's results/ and Athena's athena/.
resource "aws_s3_bucket" "retro" {
  count = var.retro_scan ? 1 : 0
  #checkov:skip=CKV_AWS_18:The bucket holds what the retro scan writes and Athena reads; CloudTrail data events, if wanted, record access, and access logs would go to a second bucket for nothing more.
  #checkov:skip=CKV_AWS_144:The results are derived from the trail, which stays where it is; a run rebuilds them, so a replica in another region adds nothing.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to the objects: the state machine's last step reads a run's summaries when the run ends.
  bucket = local.retro_results_bucket
  tags   = var.tags

  lifecycle {
    precondition {
      condition     = var.retro_trail_bucket != null
      error_message = "retro_scan needs retro_trail_bucket: the bucket holding the trail's log files."
    }
  }
}

resource "aws_s3_bucket_versioning" "retro" {
  count  = var.retro_scan ? 1 : 0
  bucket = aws_s3_bucket.retro[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "retro" {
  count  = var.retro_scan ? 1 : 0
  bucket = aws_s3_bucket.retro[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.guard.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "retro" {
  count                   = var.retro_scan ? 1 : 0
  bucket                  = aws_s3_bucket.retro[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Findings, summaries and query results are kept
# retro_results_expiration_days; a rewritten object's earlier version, a
# week.
resource "aws_s3_bucket_lifecycle_configuration" "retro" {
  count  = var.retro_scan ? 1 : 0
  bucket = aws_s3_bucket.retro[0].id
  rule {
    id     = "expire-results"
    status = "Enabled"
    filter {}
    expiration {
      days = var.retro_results_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
  depends_on = [aws_s3_bucket_versioning.retro]
}

# Never without TLS.
data "aws_iam_policy_document" "retro_bucket" {
  count = var.retro_scan ? 1 : 0
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.retro[0].arn, "${aws_s3_bucket.retro[0].arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "retro" {
  count      = var.retro_scan ? 1 : 0
  bucket     = aws_s3_bucket.retro[0].id
  policy     = data.aws_iam_policy_document.retro_bucket[0].json
  depends_on = [aws_s3_bucket_public_access_block.retro]
}

# The state machine's errors, with the data of the state that failed (a
# batch's keys and summary, an error's cause; the findings stay in the
# bucket), encrypted like the functions' logs.
resource "aws_cloudwatch_log_group" "retro" {
  count             = var.retro_scan ? 1 : 0
  name              = "/aws/vendedlogs/states/${local.retro_state_machine}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.log_kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "retro_state_machine_assume" {
  count = var.retro_scan ? 1 : 0
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${local.retro_state_machine}"]
    }
  }
}

resource "aws_iam_role" "retro_state_machine" {
  count              = var.retro_scan ? 1 : 0
  name               = "${var.name_prefix}-retro-state-machine"
  assume_role_policy = data.aws_iam_policy_document.retro_state_machine_assume[0].json
  tags               = var.tags
}

# Exactly what the definition (retro/state_machine.asl.json) and the state
# machine's logging and tracing call; a test derives these actions from the
# definition with the rules AWS documents and compares. The state machine's
# ARN is written out: the state machine depends on the role.
data "aws_iam_policy_document" "retro_state_machine" {
  count = var.retro_scan ? 1 : 0
  #checkov:skip=CKV_AWS_111:The log delivery and X-Ray actions take no resource narrower than "*" (Step Functions' documented policies); every other statement names its resource.
  #checkov:skip=CKV_AWS_356:The log delivery and X-Ray actions take no resource narrower than "*" (Step Functions' documented policies); every other statement names its resource.

  # lambda:invoke, in the child workflows and the aggregation.
  statement {
    sid       = "InvokeRetroScan"
    actions   = ["lambda:InvokeFunction"]
    resources = [local.retro_function_arn, "${local.retro_function_arn}:*"]
  }

  # The ItemReader s3:listObjectsV2: the trail bucket.
  statement {
    sid       = "ListTrail"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${var.retro_trail_bucket}"]
  }

  # The ItemReader s3:getObject (MANIFEST): an inventory's manifest and the
  # files it names, only in retro_inventory_bucket.
  dynamic "statement" {
    for_each = var.retro_inventory_bucket != null ? [1] : []
    content {
      sid       = "ReadInventory"
      actions   = ["s3:GetObject"]
      resources = ["arn:${local.partition}:s3:::${var.retro_inventory_bucket}/*"]
    }
  }

  # The ResultWriter s3:putObject: the results/ prefix of the results bucket.
  statement {
    sid       = "WriteMapResults"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.retro[0].arn}/results/*"]
  }

  # The results bucket's key, for the ResultWriter's objects.
  statement {
    sid       = "ResultsKey"
    actions   = local.retro_state_machine_kms_actions
    resources = [aws_kms_key.guard.arn]
  }

  # The Distributed Map starts its child workflows, and follows them.
  statement {
    sid       = "StartChildWorkflows"
    actions   = ["states:StartExecution"]
    resources = ["arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${local.retro_state_machine}"]
  }

  # Child executions are named execution:<state machine>/<Map run>:<id>.
  statement {
    sid       = "FollowChildWorkflows"
    actions   = ["states:DescribeExecution", "states:StopExecution"]
    resources = ["arn:${local.partition}:states:${local.region}:${local.account}:execution:${local.retro_state_machine}/*"]
  }

  # sns:publish, when the summary step fails: one alert says so.
  statement {
    sid       = "PublishSummaryFailure"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
  }

  # logging_configuration: CloudWatch Logs' log delivery.
  statement {
    sid = "LogDelivery"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  # tracing_configuration: X-Ray.
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "retro_state_machine" {
  count  = var.retro_scan ? 1 : 0
  name   = "${var.name_prefix}-retro-state-machine"
  role   = aws_iam_role.retro_state_machine[0].id
  policy = data.aws_iam_policy_document.retro_state_machine[0].json
}

resource "aws_sfn_state_machine" "retro" {
  count    = var.retro_scan ? 1 : 0
  name     = local.retro_state_machine
  type     = "STANDARD"
  role_arn = aws_iam_role.retro_state_machine[0].arn
  definition = templatefile("${path.module}/retro/state_machine.asl.json", {
    trail_bucket                 = var.retro_trail_bucket
    results_bucket               = aws_s3_bucket.retro[0].id
    function_arn                 = local.retro_function_arn
    max_items_per_batch          = var.retro_max_items_per_batch
    max_concurrency              = var.retro_max_concurrency
    tolerated_failure_percentage = var.retro_tolerated_failure_percentage
    topic_arn                    = aws_sns_topic.alerts.arn
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.retro[0].arn}:*"
    include_execution_data = true
    level                  = "ERROR"
  }

  tracing_configuration {
    enabled = true
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.retro_state_machine]
}

# Athena's view of the findings: one table over findings/, partitioned as
# the keys are. Partitions are added after a run with
# MSCK REPAIR TABLE (the accounts cannot be enumerated for projection).
resource "aws_glue_catalog_database" "retro" {
  count       = var.retro_scan ? 1 : 0
  name        = replace("${var.name_prefix}_retro", "-", "_")
  description = "ecs-access-guard retro scan: findings from the trail"
}

resource "aws_glue_catalog_table" "retro_findings" {
  count         = var.retro_scan ? 1 : 0
  name          = "findings"
  database_name = aws_glue_catalog_database.retro[0].name
  description   = "One row per finding of the retro scan (JSON Lines under findings/)"
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    EXTERNAL       = "TRUE"
    classification = "json"
  }

  dynamic "partition_keys" {
    for_each = local.retro_partition_keys
    content {
      name = partition_keys.value
      type = "string"
    }
  }

  storage_descriptor {
    location      = "s3://${aws_s3_bucket.retro[0].id}/findings/"
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      name                  = "findings"
      serialization_library = "org.openx.data.jsonserde.JsonSerDe"
      parameters = {
        "ignore.malformed.json" = "false"
      }
    }

    dynamic "columns" {
      for_each = local.retro_columns
      content {
        name = columns.value
        type = "string"
      }
    }
  }
}

# Queries' results land in the same bucket (athena/), encrypted with the
# module's key; the workgroup's settings override the client's.
resource "aws_athena_workgroup" "retro" {
  count         = var.retro_scan ? 1 : 0
  name          = "${var.name_prefix}-retro"
  description   = "ecs-access-guard retro scan: queries over the findings table"
  force_destroy = false

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true

    result_configuration {
      output_location = "s3://${aws_s3_bucket.retro[0].id}/athena/"
      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = aws_kms_key.guard.arn
      }
    }
  }

  tags = var.tags
}
