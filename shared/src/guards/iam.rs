//! The IAM guard: policies attached or put on roles, users and groups, new
//! policy versions and trust policy updates ▶ the IAM-ECS rules ▶ one
//! alert. Notify only. Offline it judges what the record shows (an inline
//! document, an attached AWS-managed admin policy by ARN) and says which
//! checks need AWS ([`needs_aws`]); the Lambda fills [`IamFacts`] from IAM.

use tracing::warn;

use crate::guards::{failed_call, preflight, report_and_notify, GuardError, GuardSettings};
use crate::model::event::Event;
use crate::model::iam::{aws_managed_admin, IamChange, Identity, PolicyDocument};
use crate::model::json::FieldError;
use crate::policy::Policy;
use crate::ports::{AwsError, Iam, Notifier};
use crate::report::Report;
use crate::rules;
use crate::rules::iam_ecs::{IamContext, IamFacts};

/// True when the document grants anything IAM-ECS-001 reports.
fn admin_or_wildcard(document: &PolicyDocument) -> bool {
    document
        .grants()
        .iter()
        .any(|g| g.kind.is_admin_or_wildcard())
}

/// What cannot be judged from the change and `facts` alone, one note per
/// gap (`IAM-ECS-001 needs AWS: …`). Empty when nothing is missing. Offline
/// `facts` is all `None`; the Lambda can ask again after its reads.
pub fn needs_aws(change: &IamChange, facts: &IamFacts) -> Vec<String> {
    let mut notes = Vec::new();
    match change {
        IamChange::Attach { to, policy_arn } => {
            let known =
                aws_managed_admin(policy_arn).is_some() || facts.attached_document.is_some();
            if !known {
                let rules = if matches!(to, Identity::Role(_)) {
                    "IAM-ECS-001, IAM-ECS-002 and IAM-ECS-003 need"
                } else {
                    "IAM-ECS-002 and IAM-ECS-003 need"
                };
                notes.push(format!(
                    "{rules} AWS: the record names {policy_arn}, not its document (the Lambda reads its default version)"
                ));
            }
            // An AWS-managed admin policy always matters; an unknown one may.
            if let (Identity::Role(role), None) = (to, facts.role_trusts_ecs_tasks) {
                notes.push(trust_note(role));
            }
        }
        IamChange::PutInline {
            to: Identity::Role(role),
            document,
            ..
        } if facts.role_trusts_ecs_tasks.is_none() && admin_or_wildcard(document) => {
            notes.push(trust_note(role));
        }
        IamChange::PolicyVersion {
            policy_arn,
            document,
            ..
        } if facts.task_roles.is_none() && admin_or_wildcard(document) => {
            notes.push(format!(
                "IAM-ECS-001 needs AWS: which roles ECS tasks assume have {policy_arn} attached (the Lambda lists them)"
            ));
        }
        IamChange::Trust { role, document }
            if facts.role_policies.is_none() && document.trusts_ecs_tasks() =>
        {
            notes.push(format!(
                "IAM-ECS-001 needs AWS: the policies of role {role}, now trusted by ecs-tasks.amazonaws.com (the Lambda reads them)"
            ));
        }
        _ => {}
    }
    notes
}

fn trust_note(role: &str) -> String {
    format!(
        "IAM-ECS-001 needs AWS: whether ECS tasks assume role {role} (the Lambda reads its trust policy)"
    )
}

/// The verdict on `change` with what is known of it; `needs_aws` notes
/// are added by the caller (the Lambda words its own failed reads).
pub(crate) fn report_for(
    event: &Event,
    change: &IamChange,
    policy: &Policy,
    facts: &IamFacts,
) -> Report {
    let mut report = Report::for_event(event);
    report.resource = Some(change.resource());
    report.findings = rules::evaluate_iam(change, &IamContext { policy, facts });
    report
}

/// The offline verdict (CLI): only what the event shows.
pub fn evaluate_offline(event: &Event, policy: &Policy) -> Result<Report, FieldError> {
    if let Some(reason) = failed_call(event, &[]) {
        return Ok(Report::skipped(event, reason));
    }
    let Some(change) = IamChange::from_event(event)? else {
        return Ok(Report::not_handled(event));
    };
    let facts = IamFacts::default();
    let mut report = report_for(event, &change, policy, &facts);
    report.notes = needs_aws(&change, &facts);
    Ok(report)
}

/// The verdict before deployment (DESIGN §16): what the record shows, with
/// what the same plan or template holds of the role or policy in `facts`;
/// the checks it does not hold still say they need AWS.
pub fn evaluate_planned(
    event: &Event,
    policy: &Policy,
    facts: &IamFacts,
) -> Result<Report, FieldError> {
    let Some(change) = IamChange::from_event(event)? else {
        return Ok(Report::not_handled(event));
    };
    let mut report = report_for(event, &change, policy, facts);
    report.notes = needs_aws(&change, facts);
    Ok(report)
}

/// A role as IAM returned it, read by the model: whether ECS tasks assume
/// it (its trust policy) and what it carries. A document that cannot be
/// read is an error naming it, never an empty policy.
pub fn role_access(
    raw: &crate::ports::RolePolicies,
) -> Result<(bool, crate::model::iam::RolePolicies), FieldError> {
    let trusts = match &raw.trust {
        Some(text) => PolicyDocument::parse_text(text, &format!("role {} trust policy", raw.role))?
            .trusts_ecs_tasks(),
        None => false,
    };
    let mut documents = Vec::new();
    for (arn, document) in &raw.managed {
        if let Some(text) = document {
            documents.push(PolicyDocument::parse_text(text, arn)?.named(arn.clone()));
        }
    }
    for (name, text) in &raw.inline {
        let label = format!("inline policy {name}");
        documents.push(PolicyDocument::parse_text(text, &label)?.named(label));
    }
    Ok((
        trusts,
        crate::model::iam::RolePolicies {
            attached_arns: raw.managed.iter().map(|(arn, _)| arn.clone()).collect(),
            documents,
        },
    ))
}

/// What a task role may do (ECS-TD-021, and the end of every way into its
/// tasks): its admin-level or wildcard grants, or why they could not be
/// read. A role that does not exist grants nothing (its tasks cannot
/// start); a failure a retry may pass is the error.
pub async fn task_role(
    iam: &dyn crate::ports::Iam,
    role: &str,
    event_id: &str,
) -> Result<crate::rules::ecs_td::TaskRoleAccess, AwsError> {
    let findings = match iam.role(role).await {
        Ok(Some(raw)) => match role_access(&raw) {
            Ok((_, policies)) => Ok(crate::model::iam::role_findings(
                &policies.documents,
                &policies.attached_arns,
            )),
            Err(field) => Err(field.to_string()),
        },
        Ok(None) => Ok(Vec::new()),
        Err(e) if e.retryable => return Err(e),
        Err(e) => {
            warn!(event_id = %event_id, role = %role, error = %e, "could not read the task role");
            Err(e.code_or_kind())
        }
    };
    Ok(crate::rules::ecs_td::TaskRoleAccess {
        role: role.to_string(),
        findings,
    })
}

/// The IAM guard with its ports.
pub struct IamGuard<'a> {
    pub iam: &'a dyn Iam,
    pub notifier: &'a dyn Notifier,
    pub policy: &'a Policy,
    pub settings: &'a GuardSettings,
}

impl IamGuard<'_> {
    pub async fn handle(&self, event: &Event) -> Result<Report, GuardError> {
        let aws = GuardError::aws(event);
        if let Some(skipped) = preflight(event, self.settings, &[]) {
            return Ok(skipped);
        }
        let Some(change) = IamChange::from_event(event).map_err(GuardError::parse(event))? else {
            return Ok(Report::not_handled(event));
        };
        let mut facts = IamFacts::default();
        let mut notes = Vec::new();
        let unread = |what: String, e: AwsError, notes: &mut Vec<String>| {
            if e.retryable {
                Err(aws(e))
            } else {
                warn!(event_id = %event.id, what = %what, error = %e, "could not read");
                notes.push(format!("could not read {what}: {}", e.code_or_kind()));
                Ok(())
            }
        };
        match &change {
            IamChange::Attach { to, policy_arn } => {
                if aws_managed_admin(policy_arn).is_none() {
                    match self.iam.policy_document(policy_arn).await {
                        Ok(Some(text)) => match PolicyDocument::parse_text(&text, policy_arn) {
                            Ok(document) => {
                                facts.attached_document = Some(document.named(policy_arn.clone()))
                            }
                            Err(field) => notes.push(format!("could not read {field}")),
                        },
                        Ok(None) => notes.push(format!("could not read {policy_arn}: not found")),
                        Err(e) => unread(policy_arn.clone(), e, &mut notes)?,
                    }
                }
                if let Identity::Role(role) = to {
                    match self.trusts_ecs_tasks(role).await {
                        Ok(trust) => facts.role_trusts_ecs_tasks = trust,
                        Err(e) => unread(format!("role {role}"), e, &mut notes)?,
                    }
                }
            }
            IamChange::PutInline {
                to: Identity::Role(role),
                ..
            } => match self.trusts_ecs_tasks(role).await {
                Ok(trust) => facts.role_trusts_ecs_tasks = trust,
                Err(e) => unread(format!("role {role}"), e, &mut notes)?,
            },
            IamChange::PolicyVersion { policy_arn, .. } => {
                match self.task_roles_with(policy_arn).await {
                    Ok(roles) => facts.task_roles = Some(roles),
                    Err(e) => unread(format!("the roles of {policy_arn}"), e, &mut notes)?,
                }
            }
            IamChange::Trust { role, document } if document.trusts_ecs_tasks() => {
                match self.iam.role(role).await {
                    Ok(Some(raw)) => match role_access(&raw) {
                        Ok((_, policies)) => facts.role_policies = Some(policies),
                        Err(field) => notes.push(format!("could not read {field}")),
                    },
                    Ok(None) => notes.push(format!("could not read role {role}: not found")),
                    Err(e) => unread(format!("role {role}"), e, &mut notes)?,
                }
            }
            _ => {}
        }
        let mut report = report_for(event, &change, self.policy, &facts);
        // A read that failed is a check that did not run: the alert says so.
        let failed: Vec<&String> = notes
            .iter()
            .filter(|n| n.starts_with("could not read"))
            .collect();
        if !failed.is_empty() {
            report.unevaluated = Some(
                failed
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            );
        }
        notes.extend(needs_aws(&change, &facts));
        report.notes = notes;
        report_and_notify(event, report, self.policy, self.settings, self.notifier).await
    }

    /// Whether ECS tasks assume the role; `None` when it does not exist.
    async fn trusts_ecs_tasks(&self, role: &str) -> Result<Option<bool>, AwsError> {
        // The trust policy alone: an unrelated policy the function may not
        // read does not make the trust unknown.
        let Some(trust) = self.iam.trust_policy(role).await? else {
            return Ok(None);
        };
        match Some(trust.as_str()).filter(|t| !t.is_empty()) {
            None => Ok(Some(false)),
            Some(text) => match PolicyDocument::parse_text(text, "trust policy") {
                Ok(document) => Ok(Some(document.trusts_ecs_tasks())),
                // Unreadable is unknown, never "not trusted".
                Err(field) => Err(AwsError {
                    operation: "GetRole",
                    code: Some("UnreadableTrustPolicy".to_string()),
                    message: field.to_string(),
                    retryable: false,
                }),
            },
        }
    }

    /// The roles the policy is attached to that ECS tasks assume.
    async fn task_roles_with(&self, policy_arn: &str) -> Result<Vec<String>, AwsError> {
        let mut roles = Vec::new();
        for role in self.iam.roles_with_policy(policy_arn).await? {
            if self.trusts_ecs_tasks(&role).await? == Some(true) {
                roles.push(role);
            }
        }
        Ok(roles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::iam::{
        ATTACH_GROUP_POLICY, ATTACH_ROLE_POLICY, CREATE_POLICY_VERSION, PUT_ROLE_POLICY,
        PUT_USER_POLICY, UPDATE_ASSUME_ROLE_POLICY,
    };
    use serde_json::json;

    fn event(name: &str, request: serde_json::Value) -> Event {
        let record = json!({"eventID": "ev-iam", "eventName": name, "eventSource": "iam.amazonaws.com",
            "recipientAccountId": "111122223333", "awsRegion": "us-east-1",
            "requestParameters": request, "responseElements": null});
        Event::from_value(&record, "test").unwrap()
    }

    fn rules_of(report: &Report) -> Vec<&str> {
        report.findings.iter().map(|f| f.rule).collect()
    }

    const ADMIN: &str = r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

    #[test]
    fn offline_judges_what_the_record_shows_and_says_what_needs_aws() {
        let policy = Policy::embedded();
        let attach = event(
            ATTACH_ROLE_POLICY,
            json!({"roleName": "orders-api-task", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        );
        let report = evaluate_offline(&attach, &policy).unwrap();
        assert_eq!(rules_of(&report), ["IAM-ECS-003", "IAM-ECS-002"]);
        assert_eq!(report.resource.as_deref(), Some("role orders-api-task"));
        assert_eq!(
            report.notes,
            ["IAM-ECS-001 needs AWS: whether ECS tasks assume role orders-api-task (the Lambda reads its trust policy)"]
        );
        let customer = event(
            ATTACH_GROUP_POLICY,
            json!({"groupName": "ops", "policyArn": "arn:aws:iam::111122223333:policy/ops"}),
        );
        let report = evaluate_offline(&customer, &policy).unwrap();
        assert!(report.findings.is_empty());
        assert_eq!(
            report.notes,
            ["IAM-ECS-002 and IAM-ECS-003 need AWS: the record names arn:aws:iam::111122223333:policy/ops, not its document (the Lambda reads its default version)"]
        );
        // A narrow inline policy on a role needs nothing from AWS.
        let narrow = event(
            PUT_ROLE_POLICY,
            json!({"roleName": "r", "policyName": "p", "policyDocument":
                r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#}),
        );
        let report = evaluate_offline(&narrow, &policy).unwrap();
        assert!(
            report.findings.is_empty() && report.notes.is_empty(),
            "{report:?}"
        );
        let user = event(
            PUT_USER_POLICY,
            json!({"userName": "dev", "policyName": "p", "policyDocument": ADMIN}),
        );
        let report = evaluate_offline(&user, &policy).unwrap();
        assert_eq!(rules_of(&report), ["IAM-ECS-003", "IAM-ECS-002"]);
        assert!(report.notes.is_empty(), "IAM-ECS-001 is about roles only");
        let version = event(
            CREATE_POLICY_VERSION,
            json!({"policyArn": "arn:aws:iam::111122223333:policy/ops", "policyDocument": ADMIN, "setAsDefault": true}),
        );
        assert!(evaluate_offline(&version, &policy).unwrap().notes[0]
            .starts_with("IAM-ECS-001 needs AWS: which roles"));
        let trust = event(
            UPDATE_ASSUME_ROLE_POLICY,
            json!({"roleName": "ops", "policyDocument":
                r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#}),
        );
        let report = evaluate_offline(&trust, &policy).unwrap();
        assert!(report.findings.is_empty());
        assert_eq!(report.notes.len(), 1);
    }

    #[test]
    fn what_the_lambda_learned_completes_the_verdict() {
        let attach = event(
            ATTACH_ROLE_POLICY,
            json!({"roleName": "orders-api-task", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        );
        let change = IamChange::from_event(&attach).unwrap().unwrap();
        let facts = IamFacts {
            role_trusts_ecs_tasks: Some(true),
            ..IamFacts::default()
        };
        assert!(needs_aws(&change, &facts).is_empty());
        let report = report_for(&attach, &change, &Policy::embedded(), &facts);
        assert_eq!(
            rules_of(&report),
            ["IAM-ECS-001", "IAM-ECS-003", "IAM-ECS-002"]
        );
    }

    #[test]
    fn unreadable_records_fail_closed_and_failed_calls_are_skipped() {
        let omitted = event(
            PUT_ROLE_POLICY,
            json!({"roleName": "r", "policyName": "p", "policyDocument": {"omitted": true}}),
        );
        assert_eq!(
            evaluate_offline(&omitted, &Policy::embedded())
                .unwrap_err()
                .path,
            "requestParameters.policyDocument"
        );
        let mut failed = event(PUT_ROLE_POLICY, json!({"roleName": "r"}));
        failed.error_code = Some("MalformedPolicyDocument".into());
        assert_eq!(
            evaluate_offline(&failed, &Policy::embedded())
                .unwrap()
                .skipped
                .as_deref(),
            Some("failed call: MalformedPolicyDocument")
        );
        let mut other = event(PUT_ROLE_POLICY, json!({"roleName": "r"}));
        other.source = "sts.amazonaws.com".into();
        assert!(evaluate_offline(&other, &Policy::embedded())
            .unwrap()
            .is_not_handled());
    }

    mod lambda_side {
        use super::*;
        use crate::ports::fakes::{MemoryIam, MemoryNotifier};
        use crate::ports::RolePolicies;

        const TRUST_ECS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        const CUSTOMER: &str = "arn:aws:iam::111122223333:policy/everything";

        async fn run(iam: &MemoryIam, e: &Event) -> (Result<Report, GuardError>, usize) {
            let notifier = MemoryNotifier::default();
            let policy = Policy::embedded();
            let settings = GuardSettings::default();
            let result = IamGuard {
                iam,
                notifier: &notifier,
                policy: &policy,
                settings: &settings,
            }
            .handle(e)
            .await;
            let sent = notifier.sent.lock().unwrap().len();
            (result, sent)
        }

        #[tokio::test]
        async fn a_customer_policy_is_read_and_the_trust_decides_iam_ecs_001() {
            let attach = event(
                ATTACH_ROLE_POLICY,
                json!({"roleName": "app", "policyArn": CUSTOMER}),
            );
            let iam = MemoryIam {
                roles: vec![RolePolicies {
                    role: "app".into(),
                    trust: Some(TRUST_ECS.replace('"', "%22").replace('{', "%7B").replace('}', "%7D")),
                    ..RolePolicies::default()
                }],
                policies: vec![(
                    CUSTOMER.into(),
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.into(),
                )],
                ..MemoryIam::default()
            };
            let (report, sent) = run(&iam, &attach).await;
            let report = report.unwrap();
            let rules: Vec<&str> = report.findings.iter().map(|f| f.rule).collect();
            assert!(rules.contains(&"IAM-ECS-001"), "{rules:?}");
            assert!(report.notes.is_empty(), "{:?}", report.notes);
            assert_eq!(sent, 1);

            // IAM cannot be read: IAM-ECS-001 is not claimed either way, and
            // the verdict says what is unknown.
            let denied = MemoryIam {
                error: Some(crate::ports::AwsError {
                    operation: "GetRole",
                    code: Some("AccessDenied".into()),
                    message: "no".into(),
                    retryable: false,
                }),
                ..MemoryIam::default()
            };
            let (report, _) = run(&denied, &attach).await;
            let report = report.unwrap();
            assert!(!report.findings.iter().any(|f| f.rule == "IAM-ECS-001"));
            assert!(
                report.notes.iter().any(|n| n.contains("AccessDenied"))
                    && report
                        .notes
                        .iter()
                        .any(|n| n.contains("IAM-ECS-001 needs AWS")),
                "{:?}",
                report.notes
            );
        }
    }
}
