# The optional sinks (DESIGN §13), both off by default. SNS stays the one
# required sink: a sink that fails is logged by the functions and never
# fails an invocation or stops the alert.
#
# - security_hub_findings: every function imports its findings into this
#   account and region's Security Hub, under the account's default product
#   (with the default product, BatchImportFindings takes only findings of the
#   calling account: a member account's finding is recorded here, naming the
#   member account in its resource ARN and product fields), and resolves
#   them (BatchUpdateFindings).
# - chatbot_topic: an SNS topic, encrypted with the module's key, on which
#   the functions post each alert as a Chatbot custom notification.

locals {
  # What the functions call when a sink is on; a test compares these with
  # SECURITY_HUB_ACTIONS and CHATBOT_ACTIONS in shared/src/aws/ (securityhub.rs, sns.rs).
  security_hub_actions = ["securityhub:BatchImportFindings", "securityhub:BatchUpdateFindings"]
  chatbot_actions      = ["sns:Publish"]

  # BatchImportFindings authorizes on the product (resource type product*),
  # BatchUpdateFindings on the hub (Service Authorization Reference).
  security_hub_product_arn = "arn:${local.partition}:securityhub:${local.region}:${local.account}:product/${local.account}/default"
  security_hub_hub_arn     = "arn:${local.partition}:securityhub:${local.region}:${local.account}:hub/default"

  # The functions learn where each sink is from their environment; unset: off.
  sinks_environment = merge(
    var.security_hub_findings ? { ACCESS_GUARD_SECURITY_HUB_PRODUCT_ARN = local.security_hub_product_arn } : {},
    var.chatbot_topic ? { ACCESS_GUARD_CHATBOT_TOPIC_ARN = aws_sns_topic.chatbot[0].arn } : {},
  )
}

resource "aws_sns_topic" "chatbot" {
  count             = var.chatbot_topic ? 1 : 0
  name              = "${var.name_prefix}-chatbot"
  kms_master_key_id = aws_kms_key.guard.arn
  tags              = var.tags
}

# Only the functions publish; no one publishes without TLS.
data "aws_iam_policy_document" "chatbot_topic" {
  count = var.chatbot_topic ? 1 : 0

  statement {
    sid       = "GuardFunctionsPublish"
    actions   = local.chatbot_actions
    resources = [aws_sns_topic.chatbot[0].arn]
    principals {
      type        = "AWS"
      identifiers = [for f in local.functions : aws_iam_role.function[f].arn]
    }
  }

  statement {
    sid       = "DenyWithoutTls"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.chatbot[0].arn]
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

resource "aws_sns_topic_policy" "chatbot" {
  count  = var.chatbot_topic ? 1 : 0
  arn    = aws_sns_topic.chatbot[0].arn
  policy = data.aws_iam_policy_document.chatbot_topic[0].json
}
