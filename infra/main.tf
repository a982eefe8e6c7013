data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name

  user_policy = var.policy_file != "" ? file(var.policy_file) : var.policy_toml
  policy      = trimspace(join("\n", compact([local.user_policy, local.organization_toml])))

  # What each function calls, and nothing more. The tests compare these lists
  # with the ones the functions declare in their code (IAM_ACTIONS in shared/src/lambda/<function>.rs).
  # ingress-guard keeps its retry idempotency records in the state table; the
  # sweep (DESIGN §12) reads every (account, region) in scope, records its
  # findings in the state table and hands work items to itself on the work
  # queue. iam.tf scopes each action to its resource.
  function_actions = {
    "ingress-guard" = [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "ec2:DescribeInternetGateways",
      "ec2:DescribeManagedPrefixLists",
      "ec2:DescribeNetworkAcls",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeRouteTables",
      "ec2:DescribeSecurityGroupRules",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets",
      "ec2:GetManagedPrefixListAssociations",
      "ec2:GetManagedPrefixListEntries",
      "ec2:RevokeSecurityGroupIngress",
      "ecs:DescribeServices",
      "ecs:DescribeTaskDefinition",
      "ecs:ListClusters",
      "ecs:ListServices",
      "iam:GetPolicy",
      "iam:GetPolicyVersion",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListRolePolicies",
      "sns:Publish",
    ]
    "task-definition-guard" = [
      "ecs:DescribeTaskDefinition",
      "iam:GetPolicy",
      "iam:GetPolicyVersion",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListRolePolicies",
      "sns:Publish",
      "sqs:SendMessage",
    ]
    "service-guard" = [
      "dynamodb:Query",
      "ec2:DescribeInternetGateways",
      "ec2:DescribeManagedPrefixLists",
      "ec2:DescribeNetworkAcls",
      "ec2:DescribeRouteTables",
      "ec2:DescribeSecurityGroupRules",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets",
      "ec2:GetManagedPrefixListEntries",
      "ecs:DescribeClusters",
      "ecs:DescribeTaskDefinition",
      "iam:GetPolicy",
      "iam:GetPolicyVersion",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListRolePolicies",
      "sns:Publish",
      "sqs:SendMessage",
    ]
    "cluster-guard" = [
      "ecs:DescribeClusters",
      "sns:Publish",
    ]
    "instance-guard" = [
      "autoscaling:DescribeAutoScalingGroups",
      "ec2:DescribeImages",
      "ec2:DescribeInstances",
      "ec2:DescribeInternetGateways",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:DescribeManagedPrefixLists",
      "ec2:DescribeNetworkAcls",
      "ec2:DescribeRouteTables",
      "ec2:DescribeSecurityGroupRules",
      "ec2:DescribeSubnets",
      "ec2:GetInstanceMetadataDefaults",
      "ec2:GetManagedPrefixListEntries",
      "ecs:DescribeCapacityProviders",
      "ecs:DescribeClusters",
      "ecs:ListClusters",
      "iam:GetInstanceProfile",
      "iam:ListAttachedRolePolicies",
      "sns:Publish",
    ]
    "iam-guard" = [
      "iam:GetPolicy",
      "iam:GetPolicyVersion",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListEntitiesForPolicy",
      "iam:ListRolePolicies",
      "sns:Publish",
    ]
    "network-guard" = [
      "ec2:DescribeInternetGateways",
      "ec2:DescribeNetworkAcls",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeRouteTables",
      "ec2:DescribeSecurityGroupRules",
      "ec2:DescribeSubnets",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeTargetGroups",
      "sns:Publish",
    ]
    "sweep" = [
      "autoscaling:DescribeAutoScalingGroups",
      "dynamodb:DeleteItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:Scan",
      "ec2:DescribeImages",
      "ec2:DescribeInstances",
      "ec2:DescribeInternetGateways",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:DescribeManagedPrefixLists",
      "ec2:DescribeNetworkAcls",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeRouteTables",
      "ec2:DescribeSecurityGroupRules",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets",
      "ec2:GetInstanceMetadataDefaults",
      "ec2:GetManagedPrefixListEntries",
      "ecs:DescribeCapacityProviders",
      "ecs:DescribeClusters",
      "ecs:DescribeContainerInstances",
      "ecs:DescribeServices",
      "ecs:DescribeTaskDefinition",
      "ecs:DescribeTasks",
      "ecs:ListAccountSettings",
      "ecs:ListClusters",
      "ecs:ListServices",
      "ecs:ListTasks",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
      "iam:GetAccountAuthorizationDetails",
      "iam:GetInstanceProfile",
      "iam:GetPolicy",
      "iam:GetPolicyVersion",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListRolePolicies",
      "sns:Publish",
      "sqs:SendMessage",
    ]
    # The retro scan (retro.tf): reads the trail's objects, writes its
    # findings and summaries to the results bucket, lists a run's summaries
    # to aggregate them, and publishes one summary. Deployed only with
    # retro_scan.
    "retro-scan" = [
      "s3:GetObject",
      "s3:ListBucket",
      "s3:PutObject",
      "sns:Publish",
    ]
  }

  # Who revokes (DESIGN §7.13): ingress-guard, and the sweep only with
  # sweep_revoke (which also sets the policy's [sweep] revoke). Only their
  # roles are granted ec2:RevokeSecurityGroupIngress (the sweep's from
  # sweep_revoke_actions, the code's sweep::REVOKE_ACTIONS), and in member
  # accounts only they are trusted by the revoke role.
  sweep_revoke_actions = ["ec2:RevokeSecurityGroupIngress"]
  revoking_functions   = var.sweep_revoke ? ["ingress-guard", "sweep"] : ["ingress-guard"]
  granted_actions = {
    for f, actions in local.function_actions :
    f => f == "sweep" && var.sweep_revoke ? concat(actions, local.sweep_revoke_actions) : actions
  }

  # EventBridge patterns, one per event-driven function: the sweep runs on a
  # schedule and has none, so the rules (here and in member accounts) iterate
  # over this map, never over local.functions. Failed calls are dropped,
  # except a duplicate ingress rule (the open rule exists: ingress-guard
  # re-reads it).
  # ModifyManagedPrefixList reaches ingress-guard too: an entry that makes a
  # customer-managed list internet-wide opens every group that references it.
  # The exemption tag is alerted however it reaches a group (DESIGN §7.12):
  # CreateTags/DeleteTags only on security groups (a resource id starting
  # sg-, so that tag floods on other resources do not take the reserved
  # concurrency revocations need), CreateSecurityGroup (its
  # tagSpecificationSet), and the Resource Groups Tagging API's TagResources
  # (source aws.tag) only on security-group ARNs. The tag key is policy, so
  # the function filters on it.
  # The tests install these patterns in an emulator and route every sample
  # event, and check that each function's event names are exactly the ones
  # its guard registers in the code (access_guard::guards::REGISTRY).
  event_patterns = {
    "ingress-guard" = {
      "detail-type" = ["AWS API Call via CloudTrail"]
      "$or" = [
        {
          "source" = ["aws.ec2"]
          "detail" = {
            "eventSource" = ["ec2.amazonaws.com"]
            "eventName"   = ["AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules", "ModifyManagedPrefixList", "CreateSecurityGroup"]
            "errorCode"   = [{ "exists" = false }]
          }
        },
        {
          "source" = ["aws.ec2"]
          "detail" = {
            "eventSource" = ["ec2.amazonaws.com"]
            "eventName"   = ["AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules"]
            "errorCode"   = ["Client.InvalidPermission.Duplicate", "InvalidPermission.Duplicate"]
          }
        },
        {
          "source" = ["aws.ec2"]
          "detail" = {
            "eventSource" = ["ec2.amazonaws.com"]
            "eventName"   = ["CreateTags", "DeleteTags"]
            "errorCode"   = [{ "exists" = false }]
            "requestParameters" = {
              "resourcesSet" = { "items" = { "resourceId" = [{ "prefix" = "sg-" }] } }
            }
          }
        },
        {
          "source" = ["aws.tag"]
          "detail" = {
            "eventSource"       = ["tagging.amazonaws.com"]
            "eventName"         = ["TagResources"]
            "errorCode"         = [{ "exists" = false }]
            "requestParameters" = { "resourceARNList" = [{ "wildcard" = "arn:*:ec2:*:security-group/*" }] }
          }
        },
      ]
    }
    "task-definition-guard" = {
      "source"      = ["aws.ecs"]
      "detail-type" = ["AWS API Call via CloudTrail"]
      "detail" = {
        "eventSource" = ["ecs.amazonaws.com"]
        "eventName"   = ["RegisterTaskDefinition"]
        "errorCode"   = [{ "exists" = false }]
      }
    }
    "service-guard" = {
      "source"      = ["aws.ecs"]
      "detail-type" = ["AWS API Call via CloudTrail"]
      "detail" = {
        "eventSource" = ["ecs.amazonaws.com"]
        "eventName"   = ["CreateService", "UpdateService", "CreateTaskSet", "UpdateTaskSet", "RunTask", "StartTask"]
        "errorCode"   = [{ "exists" = false }]
      }
    }
    "cluster-guard" = {
      "source"      = ["aws.ecs"]
      "detail-type" = ["AWS API Call via CloudTrail"]
      "detail" = {
        "eventSource" = ["ecs.amazonaws.com"]
        "eventName" = [
          "CreateCluster", "UpdateCluster", "UpdateClusterSettings",
          "PutAccountSetting", "PutAccountSettingDefault",
          "CreateCapacityProvider", "UpdateCapacityProvider",
        ]
        "errorCode" = [{ "exists" = false }]
      }
    }
    "instance-guard" = {
      "source"      = ["aws.ec2"]
      "detail-type" = ["AWS API Call via CloudTrail"]
      "detail" = {
        "eventSource" = ["ec2.amazonaws.com"]
        "eventName"   = ["RunInstances", "CreateLaunchTemplate", "CreateLaunchTemplateVersion", "ModifyInstanceMetadataOptions"]
        "errorCode"   = [{ "exists" = false }]
      }
    }
    "network-guard" = {
      "detail-type" = ["AWS API Call via CloudTrail"]
      "$or" = [
        {
          "source" = ["aws.elasticloadbalancing"]
          "detail" = {
            "eventSource" = ["elasticloadbalancing.amazonaws.com"]
            "eventName" = [
              "CreateLoadBalancer", "SetSecurityGroups", "CreateListener", "ModifyListener",
              "CreateRule", "ModifyRule", "ModifyLoadBalancerAttributes",
              "CreateTargetGroup", "ModifyTargetGroup", "RegisterTargets",
            ]
            "errorCode" = [{ "exists" = false }]
          }
        },
        {
          "source" = ["aws.ec2"]
          "detail" = {
            "eventSource" = ["ec2.amazonaws.com"]
            "eventName" = [
              "CreateRoute", "ReplaceRoute", "AssociateRouteTable", "ReplaceRouteTableAssociation",
              "CreateNetworkAclEntry", "ReplaceNetworkAclEntry", "ModifySubnetAttribute",
              "AttachInternetGateway",
            ]
            "errorCode" = [{ "exists" = false }]
          }
        },
      ]
    }
    # IAM is global: CloudTrail delivers its events to EventBridge in
    # us-east-1 only. See the README for forwarding them to another region.
    "iam-guard" = {
      "source"      = ["aws.iam"]
      "detail-type" = ["AWS API Call via CloudTrail"]
      "detail" = {
        "eventSource" = ["iam.amazonaws.com"]
        "eventName" = [
          "AttachRolePolicy", "PutRolePolicy", "CreatePolicyVersion", "UpdateAssumeRolePolicy",
          "AttachUserPolicy", "PutUserPolicy", "AttachGroupPolicy", "PutGroupPolicy",
        ]
        "errorCode" = [{ "exists" = false }]
      }
    }
  }

  # The functions deployed: the event-driven guards, the sweep, and the
  # retro scan only with retro_scan (off by default).
  functions = toset([for f in keys(local.function_actions) : f if f != "retro-scan" || var.retro_scan])

  # The functions that read and act in member accounts (organization mode):
  # all but the retro scan, which reads the organization's trail bucket
  # here and nothing in the member accounts. The member roles trust only
  # these.
  member_functions = toset([for f in local.functions : f if f != "retro-scan"])

  # The guards whose events may carry secrets (a task definition's
  # environment, RunTask's overrides): an event they cannot handle goes to
  # the failure queue as a redacted copy they send themselves
  # (sqs:SendMessage above), never through Lambda's on-failure destination,
  # which would keep it as it came for 14 days (lambda.tf).
  redacting_functions = ["task-definition-guard", "service-guard"]

  # Operator settings win (DESIGN §7.17): an override of a policy setting
  # is passed only when its variable is set, and then wins over the policy;
  # unset (null, the default), the policy decides. A test checks that every
  # override here is so guarded.
  common_environment = merge(
    {
      ACCESS_GUARD_TOPIC_ARN   = aws_sns_topic.alerts.arn
      ACCESS_GUARD_STATE_TABLE = aws_dynamodb_table.state.name
      AWS_LAMBDA_LOG_FORMAT    = "JSON"
    },
    local.policy_location != null ? { ACCESS_GUARD_POLICY = local.policy_location } : {},
    var.dry_run != null ? { ACCESS_GUARD_DRY_RUN = tostring(var.dry_run) } : {},
    var.notify_min_severity != null ? { ACCESS_GUARD_NOTIFY_MIN_SEVERITY = var.notify_min_severity } : {},
    var.exemption_tag_key != null ? { ACCESS_GUARD_EXEMPTION_TAG_KEY = var.exemption_tag_key } : {},
    var.tls_roots != null ? { ACCESS_GUARD_TLS_ROOTS = var.tls_roots } : {},
  )

  log_kms_key_arn = var.log_kms_key_arn != "" ? var.log_kms_key_arn : aws_kms_key.guard.arn
}
