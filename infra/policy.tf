# The policy (DESIGN §6) travels as an S3 object that every function reads
# once, when it starts: Lambda's environment holds at most 4 KB in all, and a
# listed scope of a few hundred accounts is more than that. S3 rather than an
# SSM parameter, whose advanced tier stops at 8 KB (a scope of 2,000 accounts
# is about 30 KB). The functions' environment names the object's version, so
# a changed policy is a changed configuration: every instance starts anew
# with it, and the version each one runs is on record.

locals {
  policy_key = "policy.toml"

  # The location the functions read (ACCESS_GUARD_POLICY), when there is a
  # policy of the operator's or an organization's; none: the embedded one.
  policy_location = local.policy != "" ? "s3://${aws_s3_bucket.policy[0].id}/${local.policy_key}?versionId=${aws_s3_object.policy[0].version_id}" : null

  # What the functions call to read it (the code's config::POLICY_ACTIONS).
  policy_actions = ["s3:GetObjectVersion"]
}

resource "aws_s3_bucket" "policy" {
  count = local.policy != "" ? 1 : 0
  #checkov:skip=CKV_AWS_18:The bucket holds one small object written by this module; CloudTrail records every write to it, and access logs would go to a second bucket for nothing more.
  #checkov:skip=CKV_AWS_144:The policy is rewritten from Terraform's configuration on every apply; a replica in another region adds nothing the configuration does not hold.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to the object: the functions read it when they start, at the version their configuration names.
  bucket_prefix = "${var.name_prefix}-policy-"
  tags          = var.tags
}

resource "aws_s3_bucket_versioning" "policy" {
  count  = local.policy != "" ? 1 : 0
  bucket = aws_s3_bucket.policy[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "policy" {
  count  = local.policy != "" ? 1 : 0
  bucket = aws_s3_bucket.policy[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.guard.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "policy" {
  count                   = local.policy != "" ? 1 : 0
  bucket                  = aws_s3_bucket.policy[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Versions the functions no longer run are kept 90 days (what an auditor
# asks about), then removed.
resource "aws_s3_bucket_lifecycle_configuration" "policy" {
  count  = local.policy != "" ? 1 : 0
  bucket = aws_s3_bucket.policy[0].id
  rule {
    id     = "expire-replaced-policies"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
  depends_on = [aws_s3_bucket_versioning.policy]
}

# Never without TLS.
data "aws_iam_policy_document" "policy_bucket" {
  count = local.policy != "" ? 1 : 0
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.policy[0].arn, "${aws_s3_bucket.policy[0].arn}/*"]
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

resource "aws_s3_bucket_policy" "policy" {
  count      = local.policy != "" ? 1 : 0
  bucket     = aws_s3_bucket.policy[0].id
  policy     = data.aws_iam_policy_document.policy_bucket[0].json
  depends_on = [aws_s3_bucket_public_access_block.policy]
}

resource "aws_s3_object" "policy" {
  count        = local.policy != "" ? 1 : 0
  bucket       = aws_s3_bucket.policy[0].id
  key          = local.policy_key
  content      = local.policy
  content_type = "application/toml"
  kms_key_id   = aws_kms_key.guard.arn
  tags         = var.tags
  depends_on   = [aws_s3_bucket_versioning.policy, aws_s3_bucket_server_side_encryption_configuration.policy]
}
