//! `sweep`. Three invocations, told apart by their payload:
//! - `{"sweep": "run"}` (the schedule): one work item per (account, region)
//!   in scope on the work queue;
//! - an SQS batch of work items (the queue's event source mapping, whose
//!   maximum concurrency bounds the parallel sweeps): the sweep of each
//!   place; a place that fails is reported back as a batch item failure, so
//!   SQS retries it and then moves it to the failure queue, the others go on;
//! - `{"sweep": "summary"}` (the daily schedule): the summary of the table.

use super::{Function, HandlerError};
use crate::aws::state::DynamoState;
use crate::aws::{Members, OrganizationsAccounts, OrganizationsOus, SnsNotifier};
use crate::config::{FunctionConfig, STATE_TABLE_VAR, SWEEP_QUEUE_VAR};
use crate::guards::sinks::WithSinks;
use crate::guards::{GuardError, GuardSettings};
use crate::ports::{AwsError, Notifier, StateStore};
use crate::ports::{Home, Place};
use crate::state::PlaceStatus;
use crate::sweep::{places, PlaceSweep, Remediation, Summary, WorkItem};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::{error, info, warn};

/// Every AWS action this function calls but the revoke: the state table,
/// the reads of the sweep, the alert and the work queue. The Terraform
/// module grants exactly these (a test compares them), and
/// [`REVOKE_ACTIONS`] only with its `sweep_revoke`.
pub const IAM_ACTIONS: &[&str] = &[
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
];

/// What the sweep calls with `[sweep] revoke = true` alone (DESIGN §7.13):
/// the module grants it, here and through the member accounts' revoke role,
/// only when its `sweep_revoke` (which sets `[sweep] revoke`) is on.
pub const REVOKE_ACTIONS: &[&str] = &["ec2:RevokeSecurityGroupIngress"];

/// Besides [`crate::aws::ORGANIZATION_ACTIONS`], in organization mode:
/// the organization's accounts, for `accounts = "*"`, and where an account
/// sits, for exemptions by OU.
pub const ORGANIZATION_ACTIONS: &[&str] =
    &["organizations:ListAccounts", "organizations:ListParents"];

/// SQS takes at most 10 messages per SendMessageBatch.
const SEND_BATCH: usize = 10;

/// What the handler uses, built once per Lambda instance.
pub struct Deps {
    /// SNS, and the optional sinks behind it (DESIGN §13).
    pub notifier: WithSinks<SnsNotifier>,
    pub members: Members,
    pub organizations: OrganizationsOus,
    pub accounts: OrganizationsAccounts,
    pub state: DynamoState,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub config: FunctionConfig,
}

impl Deps {
    /// Fails without the state table or the work queue: a sweep that cannot
    /// remember what it alerted would alert everything every time.
    pub fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Result<Deps, String> {
        let table = config
            .state_table
            .clone()
            .ok_or_else(|| format!("{STATE_TABLE_VAR}: missing: the state table's name"))?;
        let queue_url = config
            .sweep_queue_url
            .clone()
            .ok_or_else(|| format!("{SWEEP_QUEUE_VAR}: missing: the work queue's URL"))?;
        let organizations = aws_sdk_organizations::Client::new(sdk);
        Ok(Deps {
            notifier: super::alerting(sdk, &config, crate::guards::sinks::SWEEP_SINKS_BUDGET),
            members: Members::new(sdk),
            organizations: OrganizationsOus::new(organizations.clone())
                .with_ttl(super::ou_cache(&config.policy)),
            accounts: OrganizationsAccounts::new(organizations),
            state: DynamoState::new(aws_sdk_dynamodb::Client::new(sdk), table),
            sqs: aws_sdk_sqs::Client::new(sdk),
            queue_url,
            config,
        })
    }
}

impl Function for Deps {
    const IAM_ACTIONS: &'static [&'static str] = IAM_ACTIONS;

    fn new(sdk: &aws_config::SdkConfig, config: FunctionConfig) -> Result<Deps, String> {
        Deps::new(sdk, config)
    }

    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, HandlerError> {
        handle(event, self).await
    }

    /// Pages of a thousand rules are slow: longer than a guard's.
    fn timeouts() -> aws_config::timeout::TimeoutConfig {
        crate::aws::sweep_timeouts()
    }
}

#[derive(Deserialize)]
struct SqsBatch {
    #[serde(rename = "Records")]
    records: Vec<SqsRecord>,
}

#[derive(Deserialize)]
struct SqsRecord {
    #[serde(rename = "messageId")]
    message_id: String,
    body: String,
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn failure(what: &str, source: AwsError) -> HandlerError {
    HandlerError(GuardError::Aws {
        event_id: what.to_string(),
        source,
    })
}

/// Handles one invocation (see the module's documentation).
pub async fn handle(event: LambdaEvent<Value>, deps: &Deps) -> Result<Value, HandlerError> {
    let home = Home::from_function_arn(&event.context.invoked_function_arn).ok_or_else(|| {
        failure(
            "sweep",
            AwsError {
                operation: "Invoke",
                code: Some("NoFunctionArn".to_string()),
                message: "the function cannot tell where it runs".to_string(),
                retryable: false,
            },
        )
    })?;
    let payload = event.payload;
    if payload.get("Records").is_some() {
        let batch: SqsBatch = serde_json::from_value(payload).map_err(|e| {
            HandlerError(GuardError::Event(
                crate::model::event::ParseError::Document {
                    origin: "SQS batch".to_string(),
                    problem: e.to_string(),
                },
            ))
        })?;
        return Ok(work(&batch, &home, deps).await);
    }
    match payload.get("sweep").and_then(Value::as_str) {
        Some("run") => coordinate(&home, deps).await,
        Some("summary") => summary(deps).await,
        _ => Err(HandlerError(GuardError::Event(
            crate::model::event::ParseError::Document {
                origin: format!("request {}", event.context.request_id),
                problem: "not a sweep invocation: expected {\"sweep\": \"run\"}, {\"sweep\": \"summary\"} or an SQS batch (field sweep)".to_string(),
            },
        ))),
    }
}

/// One work item per place in scope.
async fn coordinate(home: &Home, deps: &Deps) -> Result<Value, HandlerError> {
    let run = now();
    let all = places(
        &deps.config.policy,
        &home.account,
        &home.region,
        &deps.accounts,
    )
    .await
    .map_err(|e| failure("sweep run", e))?;
    for (n, chunk) in all.chunks(SEND_BATCH).enumerate() {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, (account, region))| {
                let item = WorkItem {
                    account: account.clone(),
                    region: region.clone(),
                    run: run.clone(),
                };
                SendMessageBatchRequestEntry::builder()
                    .id(format!("{n}-{i}"))
                    .message_body(serde_json::to_string(&item).unwrap_or_default())
                    .build()
                    .map_err(|e| AwsError {
                        operation: "SendMessageBatch",
                        code: None,
                        message: e.to_string(),
                        retryable: false,
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| failure("sweep run", e))?;
        let out = deps
            .sqs
            .send_message_batch()
            .queue_url(&deps.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| failure("sweep run", crate::aws::classify("SendMessageBatch", &e)))?;
        if let Some(failed) = out.failed().first() {
            // The schedule retries the whole run; work items are idempotent.
            return Err(failure(
                "sweep run",
                AwsError {
                    operation: "SendMessageBatch",
                    code: Some(failed.code().to_string()),
                    message: format!("{} work items not enqueued", out.failed().len()),
                    retryable: !failed.sender_fault(),
                },
            ));
        }
    }
    info!(run = %run, places = all.len(), "sweep enqueued");
    Ok(json!({"run": run, "enqueued": all.len()}))
}

/// Sweeps each place of the batch; the ones that failed go back to SQS.
async fn work(batch: &SqsBatch, home: &Home, deps: &Deps) -> Value {
    let mut failures = Vec::new();
    let mut done = Vec::new();
    for record in &batch.records {
        match sweep_one(&record.body, home, deps).await {
            Ok(summary) => done.push(summary),
            Err(problem) => {
                error!(message_id = %record.message_id, problem = %problem, "work item failed");
                failures.push(json!({"itemIdentifier": record.message_id}));
            }
        }
    }
    json!({"batchItemFailures": failures, "swept": done})
}

/// The sweep of one place. An error means the item is retried.
async fn sweep_one(body: &str, home: &Home, deps: &Deps) -> Result<Value, String> {
    let item: WorkItem = serde_json::from_str(body).map_err(|e| format!("work item body: {e}"))?;
    let policy = &deps.config.policy;
    let organization = policy.organization.as_ref();
    let place = Place {
        account: item.account.clone(),
        region: item.region.clone(),
    };
    let outside = match organization {
        Some(org) => org.outside(&place.account, &place.region),
        None if place.is_home(home) => None,
        None => Some(format!(
            "{}/{} is not where the function runs and there is no [organization]",
            place.account, place.region
        )),
    };
    if let Some(reason) = outside {
        return Err(format!("not swept: {reason}"));
    }
    let clients = match Box::pin(deps.members.at(&place, home, organization)).await {
        Ok(clients) => clients,
        Err(e) => {
            // Reported in the daily summary as well as by the failure queue.
            let status = PlaceStatus {
                account: place.account.clone(),
                region: place.region.clone(),
                swept_at: now(),
                complete: false,
                problems: vec![format!("{}: {}", e.operation, e.code_or_kind())],
                read_at: crate::state::epoch_seconds(&now()).unwrap_or(0),
            };
            if let Err(save) = deps.state.save_status(&status).await {
                warn!(error = %save, "cannot record the place's status");
            }
            return Err(format!(
                "{}/{}: {} failed: {}",
                place.account,
                place.region,
                e.operation,
                e.code_or_kind()
            ));
        }
    };
    let acting_as = organization.map(|_| {
        clients
            .acting_as(policy.sweep.revoke)
            .or_else(|| deps.config.settings.own_role_arn.clone())
            .unwrap_or_else(|| "the function's own role".to_string())
    });
    let settings = GuardSettings {
        acting_as,
        ..deps.config.settings.clone()
    };
    let now = now();
    let notifier: &dyn Notifier = &deps.notifier;
    let result = PlaceSweep {
        account: &place.account,
        region: &place.region,
        run: &item.run,
        estate: &clients.estate,
        iam: clients.estate.iam(),
        instances: clients.estate.instances(),
        state: Some(&deps.state),
        notifier: Some(notifier),
        organizations: Some(&deps.organizations),
        remediation: policy.sweep.revoke.then_some(Remediation {
            groups: &clients.groups,
            remediator: &clients.remediator,
        }),
        policy,
        settings: &settings,
        now: &now,
        today: crate::model::today(),
    }
    .run()
    .await
    .map_err(|e| format!("{}/{}: {e}", place.account, place.region))?;
    if let Some(why) = &result.skipped {
        // Not a failure: the sweep running there now covers the place.
        info!(account = %place.account, region = %place.region, run = %item.run, why = %why, "place not swept");
        return Ok(json!({"account": place.account, "region": place.region, "skipped": why}));
    }
    if let Some(u) = result.unread.iter().find(|u| u.error.retryable) {
        // Throttled or unavailable: worth another try (nothing was resolved).
        return Err(format!(
            "{}/{}: {}",
            place.account,
            place.region,
            u.phrase()
        ));
    }
    Ok(json!({
        "account": place.account, "region": place.region,
        "groups": result.groups, "services": result.services,
        "task_definitions": result.task_definitions,
        "findings": result.seen.len(), "new": result.report.findings.len(),
        "resolved": result.report.resolved.len(),
        "unread": result.unread.iter().map(|u| u.phrase()).collect::<Vec<_>>(),
        "api_calls": result.api_calls,
    }))
}

/// The daily summary.
async fn summary(deps: &Deps) -> Result<Value, HandlerError> {
    let (records, statuses) = deps
        .state
        .everything()
        .await
        .map_err(|e| failure("sweep summary", e))?;
    let summary = Summary::of(&records, statuses, &now());
    deps.notifier
        .publish(&summary.notification())
        .await
        .map_err(|e| failure("sweep summary", e))?;
    info!(open = summary.open, "summary sent");
    Ok(serde_json::to_value(&summary).unwrap_or(Value::Null))
}
