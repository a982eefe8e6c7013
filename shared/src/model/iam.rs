//! IAM records that widen what ECS tasks, or people, can do to ECS:
//! policies attached or put on roles, users and groups
//! (`Attach{Role,User,Group}Policy`, `Put{Role,User,Group}Policy`), a new
//! version of a managed policy (`CreatePolicyVersion`) and a role's trust
//! policy (`UpdateAssumeRolePolicy`). All come from `iam.amazonaws.com`, in
//! us-east-1.
//!
//! Shapes, as CloudTrail writes them: `requestParameters` holds the call's
//! parameters in camelCase (`roleName`/`userName`/`groupName`, `policyArn`,
//! `policyName`, `policyDocument`, `setAsDefault`); `responseElements` is
//! `null` except for `CreatePolicyVersion` (`policyVersion.{versionId,
//! isDefaultVersion}`). `policyDocument` is the JSON text as sent — or
//! URL-encoded, or (rarely) an object: see [`PolicyDocument::from_node`].

pub mod access;
pub mod document;

pub use document::{Grant, GrantKind, PolicyDocument};

use crate::model::event::Event;
use crate::model::json::{FieldError, Node};

pub const ATTACH_ROLE_POLICY: &str = "AttachRolePolicy";
pub const PUT_ROLE_POLICY: &str = "PutRolePolicy";
pub const CREATE_POLICY_VERSION: &str = "CreatePolicyVersion";
pub const UPDATE_ASSUME_ROLE_POLICY: &str = "UpdateAssumeRolePolicy";
pub const ATTACH_USER_POLICY: &str = "AttachUserPolicy";
pub const PUT_USER_POLICY: &str = "PutUserPolicy";
pub const ATTACH_GROUP_POLICY: &str = "AttachGroupPolicy";
pub const PUT_GROUP_POLICY: &str = "PutGroupPolicy";

/// The calls this module reads.
pub const EVENT_NAMES: [&str; 8] = [
    ATTACH_ROLE_POLICY,
    PUT_ROLE_POLICY,
    CREATE_POLICY_VERSION,
    UPDATE_ASSUME_ROLE_POLICY,
    ATTACH_USER_POLICY,
    PUT_USER_POLICY,
    ATTACH_GROUP_POLICY,
    PUT_GROUP_POLICY,
];

/// The AWS-managed policies that are admin-level or a wildcard over ECS or
/// IAM, by name, with the statements of theirs that matter here (from the
/// AWS managed policy reference; the rest of each grants nothing these
/// checks look at). Judged by ARN, in any partition, without reading them.
const MANAGED_ADMIN: [(&str, &str); 4] = [
    (
        "AdministratorAccess",
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ),
    (
        "PowerUserAccess",
        r#"{"Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"}]}"#,
    ),
    (
        "IAMFullAccess",
        r#"{"Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#,
    ),
    (
        "AmazonECS_FullAccess",
        r#"{"Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"},
            {"Effect":"Allow","Action":"iam:PassRole","Resource":"*",
             "Condition":{"StringLike":{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}}]}"#,
    ),
];

/// The name of the AWS-managed admin-level policy this ARN names
/// (`arn:<partition>:iam::aws:policy/AdministratorAccess`), if it is one.
pub fn aws_managed_admin(arn: &str) -> Option<&'static str> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some("aws"), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if partition.is_empty() {
        return None;
    }
    let name = resource.strip_prefix("policy/")?.rsplit('/').next()?;
    MANAGED_ADMIN
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(known, _)| *known)
}

/// What an AWS-managed admin-level policy grants here (see
/// [`aws_managed_admin`]), named `<arn> attached`.
pub fn aws_managed_admin_document(arn: &str) -> Option<PolicyDocument> {
    let name = aws_managed_admin(arn)?;
    let (_, text) = MANAGED_ADMIN.iter().find(|(known, _)| *known == name)?;
    PolicyDocument::parse_text(text, name)
        .ok()
        .map(|d| d.named(format!("{arn} attached")))
}

/// Who a policy is attached to or put on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Role(String),
    User(String),
    Group(String),
}

impl Identity {
    pub fn name(&self) -> &str {
        match self {
            Identity::Role(n) | Identity::User(n) | Identity::Group(n) => n,
        }
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Identity::Role(n) => write!(f, "role {n}"),
            Identity::User(n) => write!(f, "user {n}"),
            Identity::Group(n) => write!(f, "group {n}"),
        }
    }
}

/// One IAM call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IamChange {
    /// `Attach{Role,User,Group}Policy`: a managed policy, named by ARN (its
    /// document is not in the record).
    Attach { to: Identity, policy_arn: String },
    /// `Put{Role,User,Group}Policy`: an inline policy, document included
    /// (named `inline policy <name>`).
    PutInline {
        to: Identity,
        policy_name: String,
        document: PolicyDocument,
    },
    /// `CreatePolicyVersion`: a new version of a customer-managed policy
    /// (named `<arn> version <id> (default)`).
    PolicyVersion {
        policy_arn: String,
        version_id: Option<String>,
        /// It becomes the version in effect (`setAsDefault`, or the
        /// response's `isDefaultVersion`).
        default: bool,
        document: PolicyDocument,
    },
    /// `UpdateAssumeRolePolicy`: a role's new trust policy.
    Trust {
        role: String,
        document: PolicyDocument,
    },
}

/// The identity named by a `{role,user,group}Name` request parameter.
fn identity(request: &Node<'_>, name: &str) -> Result<Identity, FieldError> {
    let (key, make): (&str, fn(String) -> Identity) = if name.contains("Role") {
        ("roleName", Identity::Role)
    } else if name.contains("User") {
        ("userName", Identity::User)
    } else {
        ("groupName", Identity::Group)
    };
    Ok(make(request.get(key).required_str()?.to_string()))
}

impl IamChange {
    /// Reads one of [`EVENT_NAMES`] from IAM; `Ok(None)` for anything else.
    pub fn from_event(event: &Event) -> Result<Option<IamChange>, FieldError> {
        let name = event.name.as_str();
        if !EVENT_NAMES.contains(&name) || !event.is_from("iam") {
            return Ok(None);
        }
        let request = event.request();
        if request.is_omitted() || request.object()?.is_none() {
            return Err(request.error("missing or omitted by CloudTrail"));
        }
        let document = || PolicyDocument::from_node(&request.get("policyDocument"));
        Ok(Some(match name {
            ATTACH_ROLE_POLICY | ATTACH_USER_POLICY | ATTACH_GROUP_POLICY => IamChange::Attach {
                to: identity(&request, name)?,
                policy_arn: request.get("policyArn").required_str()?.to_string(),
            },
            PUT_ROLE_POLICY | PUT_USER_POLICY | PUT_GROUP_POLICY => {
                let policy_name = request.get("policyName").required_str()?.to_string();
                IamChange::PutInline {
                    to: identity(&request, name)?,
                    document: document()?.named(format!("inline policy {policy_name}")),
                    policy_name,
                }
            }
            CREATE_POLICY_VERSION => {
                let policy_arn = request.get("policyArn").required_str()?.to_string();
                let version = event.response().get("policyVersion");
                let version_id = version.get("versionId").str()?.map(str::to_string);
                let default = version
                    .get("isDefaultVersion")
                    .bool()?
                    .or(request.get("setAsDefault").bool()?)
                    .unwrap_or(false);
                let label = format!(
                    "{policy_arn} {}{}",
                    version_id
                        .as_deref()
                        .map_or("new version".to_string(), |v| format!("version {v}")),
                    if default {
                        " (default)"
                    } else {
                        " (not the default: in effect once made default)"
                    }
                );
                IamChange::PolicyVersion {
                    document: document()?.named(label),
                    policy_arn,
                    version_id,
                    default,
                }
            }
            _ => IamChange::Trust {
                role: request.get("roleName").required_str()?.to_string(),
                document: document()?.named("trust policy"),
            },
        }))
    }

    /// What the call is about, for messages: `role app-task`, `user dev`,
    /// `group ops`, `policy arn:…`.
    pub fn resource(&self) -> String {
        match self {
            IamChange::Attach { to, .. } | IamChange::PutInline { to, .. } => to.to_string(),
            IamChange::PolicyVersion { policy_arn, .. } => format!("policy {policy_arn}"),
            IamChange::Trust { role, .. } => format!("role {role}"),
        }
    }
}

/// A role's permissions as the Lambda reads them: the ARNs of its attached
/// managed policies and the documents it has — inline policies (named
/// `inline policy <name>`) and the default versions of its customer-managed
/// policies (named by ARN). AWS-managed admin policies are judged by ARN.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolePolicies {
    pub attached_arns: Vec<String>,
    pub documents: Vec<PolicyDocument>,
}

/// What makes a role's permissions admin-level or a wildcard (ECS-TD-021,
/// IAM-ECS-001 on a trust change), one line each:
/// `arn:aws:iam::aws:policy/AdministratorAccess attached`,
/// `inline policy app, Statement[0]: Action * on *`. Documents without a
/// name are `policy document <n>`.
pub fn role_findings(documents: &[PolicyDocument], attached_arns: &[String]) -> Vec<String> {
    let mut out: Vec<String> = attached_arns
        .iter()
        .filter(|arn| aws_managed_admin(arn).is_some())
        .map(|arn| format!("{arn} attached"))
        .collect();
    for (i, doc) in documents.iter().enumerate() {
        let label = doc
            .name
            .clone()
            .unwrap_or_else(|| format!("policy document {}", i + 1));
        for grant in doc.grants() {
            if grant.kind.is_admin_or_wildcard() {
                out.push(format!(
                    "{label}, {}: {}",
                    grant.statement,
                    grant.describe()
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(
        name: &str,
        request: serde_json::Value,
        response: serde_json::Value,
    ) -> Result<Option<IamChange>, FieldError> {
        let record = json!({"eventID": "e", "eventName": name, "eventSource": "iam.amazonaws.com",
            "awsRegion": "us-east-1", "requestParameters": request, "responseElements": response});
        IamChange::from_event(&Event::from_value(&record, "t").unwrap())
    }

    #[test]
    fn every_call_in_its_shape() {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
        let c = change(ATTACH_ROLE_POLICY, json!({"roleName": "app-task", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}), json!(null))
            .unwrap()
            .unwrap();
        assert_eq!(c.resource(), "role app-task");
        assert!(matches!(
            c,
            IamChange::Attach {
                to: Identity::Role(_),
                ..
            }
        ));
        let c = change(
            ATTACH_USER_POLICY,
            json!({"userName": "dev", "policyArn": "arn:aws:iam::1:policy/x"}),
            json!(null),
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.resource(), "user dev");
        let c = change(
            ATTACH_GROUP_POLICY,
            json!({"groupName": "ops", "policyArn": "arn:aws:iam::1:policy/x"}),
            json!(null),
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.resource(), "group ops");
        for (name, key) in [
            (PUT_ROLE_POLICY, "roleName"),
            (PUT_USER_POLICY, "userName"),
            (PUT_GROUP_POLICY, "groupName"),
        ] {
            let c = change(
                name,
                json!({key: "who", "policyName": "app", "policyDocument": doc}),
                json!(null),
            )
            .unwrap()
            .unwrap();
            let IamChange::PutInline { document, .. } = &c else {
                panic!("{c:?}")
            };
            assert_eq!(document.name.as_deref(), Some("inline policy app"));
        }
        let c = change(CREATE_POLICY_VERSION, json!({"policyArn": "arn:aws:iam::1:policy/ci", "policyDocument": doc, "setAsDefault": true}),
            json!({"policyVersion": {"versionId": "v3", "isDefaultVersion": true, "createDate": "Nov 2, 2026, 9:14:07 AM"}})).unwrap().unwrap();
        let IamChange::PolicyVersion {
            document, default, ..
        } = &c
        else {
            panic!()
        };
        assert!(*default);
        assert_eq!(
            document.name.as_deref(),
            Some("arn:aws:iam::1:policy/ci version v3 (default)")
        );
        let c = change(
            CREATE_POLICY_VERSION,
            json!({"policyArn": "arn:aws:iam::1:policy/ci", "policyDocument": doc}),
            json!(null),
        )
        .unwrap()
        .unwrap();
        assert!(matches!(
            c,
            IamChange::PolicyVersion {
                default: false,
                version_id: None,
                ..
            }
        ));
        let trust = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let c = change(
            UPDATE_ASSUME_ROLE_POLICY,
            json!({"roleName": "app-task", "policyDocument": trust}),
            json!(null),
        )
        .unwrap()
        .unwrap();
        let IamChange::Trust { document, .. } = &c else {
            panic!()
        };
        assert!(document.trusts_ecs_tasks());
    }

    #[test]
    fn other_calls_and_services_are_not_read() {
        assert_eq!(
            change("CreateRole", json!({"roleName": "x"}), json!(null)).unwrap(),
            None
        );
        let record = json!({"eventID": "e", "eventName": PUT_ROLE_POLICY, "eventSource": "sts.amazonaws.com",
            "requestParameters": {"roleName": "x"}});
        assert_eq!(
            IamChange::from_event(&Event::from_value(&record, "t").unwrap()).unwrap(),
            None
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                PUT_ROLE_POLICY,
                json!({"roleName": "r", "policyName": "p"}),
                "requestParameters.policyDocument",
            ),
            (
                PUT_ROLE_POLICY,
                json!({"roleName": "r", "policyName": "p", "policyDocument": {"omitted": true}}),
                "requestParameters.policyDocument",
            ),
            (
                PUT_USER_POLICY,
                json!({"policyName": "p", "policyDocument": "{}"}),
                "requestParameters.userName",
            ),
            (
                ATTACH_ROLE_POLICY,
                json!({"roleName": "r"}),
                "requestParameters.policyArn",
            ),
            (
                CREATE_POLICY_VERSION,
                json!({"policyArn": "a", "policyDocument": "%7Bnope"}),
                "requestParameters.policyDocument",
            ),
            (
                UPDATE_ASSUME_ROLE_POLICY,
                json!({"omitted": true}),
                "requestParameters",
            ),
            (UPDATE_ASSUME_ROLE_POLICY, json!(null), "requestParameters"),
        ];
        for (name, request, path) in cases {
            let err = change(name, request.clone(), json!(null)).unwrap_err();
            assert_eq!(err.path, path, "{name} {request}: {err}");
        }
    }

    #[test]
    fn aws_managed_admin_policies_by_arn_in_any_partition() {
        for arn in [
            "arn:aws:iam::aws:policy/AdministratorAccess",
            "arn:aws-cn:iam::aws:policy/AdministratorAccess",
            "arn:aws-us-gov:iam::aws:policy/PowerUserAccess",
            "arn:aws:iam::aws:policy/IAMFullAccess",
            "arn:aws:iam::aws:policy/AmazonECS_FullAccess",
        ] {
            assert!(aws_managed_admin(arn).is_some(), "{arn}");
            let doc = aws_managed_admin_document(arn).unwrap();
            assert!(
                doc.grants().iter().any(|g| g.kind.is_admin_or_wildcard()),
                "{arn}"
            );
        }
        for arn in [
            "arn:aws:iam::111122223333:policy/AdministratorAccess",
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
            "arn::iam::aws:policy/AdministratorAccess",
            "AdministratorAccess",
        ] {
            assert_eq!(aws_managed_admin(arn), None, "{arn}");
        }
        // Every table entry parses (a typo would make it judge nothing).
        for (name, text) in MANAGED_ADMIN {
            assert!(PolicyDocument::parse_text(text, name).is_ok(), "{name}");
        }
    }

    #[test]
    fn role_findings_name_what_makes_a_role_admin() {
        let inline = PolicyDocument::parse_text(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Allow","Action":"ecs:ExecuteCommand","Resource":"*"}]}"#,
            "p",
        )
        .unwrap()
        .named("inline policy app");
        let narrow = PolicyDocument::parse_text(
            r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#,
            "p",
        )
        .unwrap();
        let arns = vec![
            "arn:aws:iam::aws:policy/AdministratorAccess".to_string(),
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".to_string(),
        ];
        assert_eq!(
            role_findings(&[inline, narrow.clone()], &arns),
            [
                "arn:aws:iam::aws:policy/AdministratorAccess attached",
                "inline policy app, Statement[0]: Action * on *",
            ]
        );
        assert!(role_findings(&[narrow], &arns[1..]).is_empty());
    }
}
