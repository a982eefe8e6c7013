//! Completing what the sweep read, as the guards complete an event: which
//! instances are container instances (their instance profile's role), what
//! the launch templates capacity providers launch from take for what they
//! leave out (the metadata defaults), and what each task role may do. The
//! estate reader only reads; these are decided here, through the ports,
//! with the guards' own functions.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::guards::iam::role_access;
use crate::guards::instance::{container_instance, metadata_defaults};
use crate::model::iam::role_findings;
use crate::ports::estate::{Estate, Unread};
use crate::ports::{AwsError, Iam, Instances};
use crate::rules::ecs_td::TaskRoleAccess;

/// Fills in the estate's container-instance evidence, the launch templates'
/// metadata defaults and the task roles' access. A read that fails is in
/// the estate's unread (the place is then incomplete and nothing is
/// resolved); what it would have decided stays unknown.
pub(super) async fn complete(estate: &mut Estate, iam: &dyn Iam, instances: &dyn Instances) {
    container_instances(estate, iam).await;
    template_defaults(estate, instances).await;
    task_roles(estate, iam).await;
    principals(estate, iam).await;
}

fn failed(estate: &mut Estate, what: String, error: AwsError) {
    estate.unread.push(Unread { what, error });
}

/// Whether each instance is a container instance: its instance profile's
/// role carries the ECS instance policy (read once per profile).
async fn container_instances(estate: &mut Estate, iam: &dyn Iam) {
    let profiles: BTreeSet<String> = estate
        .instances
        .iter()
        .filter_map(|i| i.settings.instance_profile.set().cloned())
        .collect();
    let mut evidence = BTreeMap::new();
    for profile in profiles {
        estate.api_calls += 1;
        match container_instance(iam, &profile).await {
            Ok(found) => {
                evidence.insert(profile, found);
            }
            Err(e) => failed(
                estate,
                format!("{} (instance profile {profile})", e.operation),
                e,
            ),
        }
    }
    for instance in &mut estate.instances {
        instance.container_instance = instance
            .settings
            .instance_profile
            .set()
            .and_then(|p| evidence.get(p).cloned().flatten());
    }
}

/// The metadata defaults each capacity provider's launch template takes
/// for what it leaves out (the account's, the AMI's).
async fn template_defaults(estate: &mut Estate, instances: &dyn Instances) {
    let calls = AtomicUsize::new(0);
    let mut unread = Vec::new();
    for template in &mut estate.launch_templates {
        let defaults = metadata_defaults(instances, &template.settings, &|| {
            calls.fetch_add(1, Ordering::Relaxed);
        })
        .await;
        template.metadata_defaults = match defaults {
            Ok(defaults) => defaults,
            Err(e) => {
                unread.push(Unread {
                    what: format!("the metadata defaults of {}", template.template),
                    error: e,
                });
                None
            }
        };
    }
    estate.api_calls += calls.into_inner();
    estate.unread.extend(unread);
}

/// What each task role the task definitions name grants (ECS-TD-021).
async fn task_roles(estate: &mut Estate, iam: &dyn Iam) {
    let roles: BTreeSet<String> = estate
        .task_definitions
        .values()
        .filter_map(|td| td.task_role_arn.clone())
        .collect();
    for role in roles {
        estate.api_calls += 1;
        let findings = match iam.role(&role).await {
            Ok(Some(raw)) => match role_access(&raw) {
                Ok((_, policies)) => {
                    Ok(role_findings(&policies.documents, &policies.attached_arns))
                }
                Err(field) => Err(field.to_string()),
            },
            // A role that does not exist grants nothing (its tasks cannot start).
            Ok(None) => Ok(Vec::new()),
            Err(e) => {
                let why = e.code_or_kind();
                failed(estate, format!("{} (task role {role})", e.operation), e);
                Err(why)
            }
        };
        estate
            .task_roles
            .insert(role.clone(), TaskRoleAccess { role, findings });
    }
}

/// Who may open a shell (DESIGN §15): every user and role of the account
/// with its policies, read when a service has ECS Exec on. Customer
/// managed policies come with the read; an AWS managed one attached is read
/// by ARN, once. A document that cannot be read makes the read fail (said,
/// never an empty policy); a permissions boundary that cannot be read is
/// said on the principal.
pub async fn principals(estate: &mut Estate, iam: &dyn Iam) {
    use crate::model::iam::access::{Boundary, PrincipalPolicies};
    use crate::model::iam::PolicyDocument;
    let exec = estate
        .services
        .iter()
        .any(|s| s.settings.enable_execute_command == Some(true));
    if !exec {
        return;
    }
    let read = match iam.account_authorization().await {
        Ok(read) => read,
        Err(e) => {
            estate.api_calls += 1;
            let why = format!("{}: {}", e.operation, e.code_or_kind());
            failed(estate, e.operation.to_string(), e);
            estate.principals = Some(Err(why));
            return;
        }
    };
    estate.api_calls += read.calls;
    // Every managed policy's document, by ARN: the account's from the
    // read, AWS's read once each.
    let mut documents: BTreeMap<String, Result<Option<String>, String>> = read
        .local_policies
        .iter()
        .map(|(arn, doc)| (arn.clone(), Ok(Some(doc.clone()))))
        .collect();
    let wanted: BTreeSet<String> = read
        .principals
        .iter()
        .flat_map(|p| p.managed.iter().chain(p.boundary.iter()))
        .filter(|arn| !documents.contains_key(*arn))
        .cloned()
        .collect();
    for arn in wanted {
        estate.api_calls += 2;
        let got = iam
            .policy_document(&arn)
            .await
            .map_err(|e| format!("{}: {}", e.operation, e.code_or_kind()));
        documents.insert(arn, got);
    }
    let parse = |text: &str, name: &str| -> Result<PolicyDocument, String> {
        PolicyDocument::parse_text(text, name)
            .map(|d| d.named(name.to_string()))
            .map_err(|e| format!("{name}: {e}"))
    };
    let mut out = Vec::new();
    for p in &read.principals {
        let mut docs = Vec::new();
        for arn in &p.managed {
            match documents.get(arn) {
                Some(Ok(Some(text))) => match parse(text, &format!("{arn} (default version)")) {
                    Ok(doc) => docs.push(doc),
                    Err(why) => {
                        estate.principals = Some(Err(why));
                        return;
                    }
                },
                // Detached or deleted since it was listed: grants nothing.
                Some(Ok(None)) => {}
                Some(Err(why)) => {
                    estate.principals = Some(Err(format!("{arn}: {why}")));
                    return;
                }
                None => {
                    estate.principals = Some(Err(format!("{arn}: not read")));
                    return;
                }
            }
        }
        for (name, text) in &p.inline {
            match parse(text, &format!("inline policy {name}")) {
                Ok(doc) => docs.push(doc),
                Err(why) => {
                    estate.principals = Some(Err(why));
                    return;
                }
            }
        }
        let boundary = match &p.boundary {
            None => Boundary::None,
            Some(arn) => match documents.get(arn) {
                Some(Ok(Some(text))) => match parse(text, &format!("{arn} (default version)")) {
                    Ok(doc) => Boundary::Document(doc),
                    Err(why) => Boundary::Unread(why),
                },
                Some(Ok(None)) => Boundary::Unread(format!("{arn} was not found")),
                Some(Err(why)) => Boundary::Unread(format!("{arn}: {why}")),
                None => Boundary::Unread(format!("{arn}: not read")),
            },
        };
        out.push(PrincipalPolicies {
            kind: p.kind,
            name: p.name.clone(),
            arn: p.arn.clone(),
            documents: docs,
            groups: p.groups.clone(),
            boundary,
        });
    }
    estate.principals = Some(Ok(out));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ci::{InstanceSettings, Said, TemplateRef};
    use crate::model::td::TaskDefinition;
    use crate::ports::estate::{InstanceState, TemplateState};
    use crate::ports::fakes::{MemoryIam, MemoryInstances};
    use crate::ports::RolePolicies;

    const ECS_POLICY: &str =
        "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role";
    const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
    const APP_ROLE: &str = "arn:aws:iam::111122223333:role/app";

    fn instance(id: &str, profile: Option<&str>) -> InstanceState {
        InstanceState {
            id: id.to_string(),
            settings: InstanceSettings {
                instance_profile: match profile {
                    Some(p) => Said::Set(p.to_string()),
                    None => Said::Default,
                },
                ..InstanceSettings::default()
            }
            .whole(),
            container_instance: None,
            auto_scaling_group: None,
        }
    }

    fn role(name: &str, managed: &[&str]) -> RolePolicies {
        RolePolicies {
            role: name.to_string(),
            trust: None,
            managed: managed
                .iter()
                .map(|arn| {
                    let empty = r#"{"Version":"2012-10-17","Statement":[]}"#;
                    (arn.to_string(), Some(empty.to_string()))
                })
                .collect(),
            inline: Vec::new(),
        }
    }

    fn denied() -> AwsError {
        AwsError {
            operation: "GetInstanceProfile",
            code: Some("AccessDenied".to_string()),
            message: "denied".to_string(),
            retryable: false,
        }
    }

    #[tokio::test]
    async fn an_instance_whose_profile_role_carries_the_ecs_policy_is_a_container_instance() {
        let mut estate = Estate {
            instances: vec![
                instance(
                    "i-ecs",
                    Some("arn:aws:iam::111122223333:instance-profile/ecs"),
                ),
                instance(
                    "i-web",
                    Some("arn:aws:iam::111122223333:instance-profile/web"),
                ),
                instance("i-bare", None),
            ],
            ..Estate::default()
        };
        let iam = MemoryIam {
            roles: vec![role("ecs-node", &[ECS_POLICY]), role("web", &[])],
            profiles: vec![
                ("ecs".to_string(), vec!["ecs-node".to_string()]),
                ("web".to_string(), vec!["web".to_string()]),
            ],
            ..MemoryIam::default()
        };
        complete(&mut estate, &iam, &MemoryInstances::default()).await;
        let evidence: Vec<Option<String>> = estate
            .instances
            .iter()
            .map(|i| i.container_instance.as_ref().map(|e| e.0.clone()))
            .collect();
        assert_eq!(
            evidence,
            [
                Some(format!(
                    "instance profile arn:aws:iam::111122223333:instance-profile/ecs's role ecs-node carries {ECS_POLICY}"
                )),
                None,
                None
            ]
        );
        assert!(estate.unread.is_empty(), "{:?}", estate.unread);
        assert_eq!(estate.api_calls, 2, "one read per profile");
    }

    #[tokio::test]
    async fn a_profile_that_cannot_be_read_is_unread_never_taken_as_no_container_instance() {
        let mut estate = Estate {
            instances: vec![instance("i-1", Some("ecs"))],
            ..Estate::default()
        };
        let iam = MemoryIam {
            error: Some(denied()),
            ..MemoryIam::default()
        };
        complete(&mut estate, &iam, &MemoryInstances::default()).await;
        assert_eq!(estate.instances[0].container_instance, None);
        assert_eq!(estate.unread.len(), 1);
        assert_eq!(
            estate.unread[0].phrase(),
            "GetInstanceProfile (instance profile ecs): AccessDenied"
        );
        assert!(!estate.complete(), "nothing is resolved on this read");
    }

    #[tokio::test]
    async fn a_launch_template_takes_the_accounts_metadata_defaults() {
        let mut estate = Estate {
            launch_templates: vec![TemplateState {
                template: TemplateRef {
                    id: Some("lt-1".to_string()),
                    name: None,
                    version: "4".to_string(),
                },
                used_by: "capacity provider prod".to_string(),
                settings: InstanceSettings::default().whole(),
                metadata_defaults: None,
            }],
            ..Estate::default()
        };
        let instances = MemoryInstances {
            defaults: (Some("required".to_string()), Some(1)),
            ..MemoryInstances::default()
        };
        complete(&mut estate, &MemoryIam::default(), &instances).await;
        let defaults = estate.launch_templates[0]
            .metadata_defaults
            .clone()
            .expect("read");
        assert_eq!(
            defaults.http_tokens.map(|s| s.value),
            Some("required".to_string())
        );
        assert_eq!(defaults.hop_limit.map(|s| s.value), Some(1));
        assert_eq!(estate.api_calls, 1);
        let failing = MemoryInstances {
            error: Some(denied()),
            ..MemoryInstances::default()
        };
        estate.launch_templates[0].metadata_defaults = None;
        complete(&mut estate, &MemoryIam::default(), &failing).await;
        assert_eq!(estate.launch_templates[0].metadata_defaults, None);
        assert_eq!(
            estate.unread[0].what,
            "the metadata defaults of launch template lt-1 version 4"
        );
    }

    #[tokio::test]
    async fn each_task_role_is_read_once_and_what_it_grants_is_kept() {
        let mut estate = Estate::default();
        for (arn, role) in [
            ("td:1", Some(APP_ROLE)),
            ("td:2", Some(APP_ROLE)),
            ("td:3", None),
        ] {
            let td = TaskDefinition {
                task_role_arn: role.map(str::to_string),
                ..TaskDefinition::default()
            };
            estate.task_definitions.insert(arn.to_string(), td);
        }
        let iam = MemoryIam {
            roles: vec![role("app", &[ADMIN])],
            ..MemoryIam::default()
        };
        complete(&mut estate, &iam, &MemoryInstances::default()).await;
        assert_eq!(iam.calls.lock().unwrap().len(), 1, "one read per role");
        let access = &estate.task_roles[APP_ROLE];
        assert_eq!(access.role, APP_ROLE);
        let granted = access.findings.as_ref().expect("read");
        assert!(
            granted.iter().any(|g| g.contains("AdministratorAccess")),
            "{granted:?}"
        );

        // A role that cannot be read is unknown, with the code, and unread.
        let mut estate = Estate::default();
        let td = TaskDefinition {
            task_role_arn: Some(APP_ROLE.to_string()),
            ..TaskDefinition::default()
        };
        estate.task_definitions.insert("td:1".to_string(), td);
        let iam = MemoryIam {
            error: Some(denied()),
            ..MemoryIam::default()
        };
        complete(&mut estate, &iam, &MemoryInstances::default()).await;
        assert_eq!(
            estate.task_roles[APP_ROLE].findings,
            Err("AccessDenied".to_string())
        );
        assert_eq!(estate.unread.len(), 1);
    }

    fn exec_service() -> crate::ports::estate::ServiceState {
        crate::ports::estate::ServiceState {
            cluster: "prod".to_string(),
            name: "web".to_string(),
            settings: crate::model::svc::ServiceSettings {
                enable_execute_command: Some(true),
                ..Default::default()
            },
            task_sets: Vec::new(),
        }
    }

    fn principal(
        name: &str,
        managed: &[&str],
        boundary: Option<&str>,
    ) -> crate::ports::AccountPrincipal {
        crate::ports::AccountPrincipal {
            kind: crate::model::iam::access::PrincipalKind::Role,
            name: name.to_string(),
            arn: format!("arn:aws:iam::111122223333:role/{name}"),
            managed: managed.iter().map(|m| m.to_string()).collect(),
            inline: vec![(
                "exec".to_string(),
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:ExecuteCommand","Resource":"*"}]}"#
                    .to_string(),
            )],
            groups: Vec::new(),
            boundary: boundary.map(str::to_string),
        }
    }

    #[tokio::test]
    async fn principals_are_read_once_when_a_service_has_exec_on_and_aws_policies_by_arn() {
        let local = "arn:aws:iam::111122223333:policy/ops";
        let iam = MemoryIam {
            authorization: crate::ports::AccountAuthorization {
                principals: vec![
                    principal("ops", &[ADMIN, local], None),
                    principal("dev", &[ADMIN], Some("arn:aws:iam::111122223333:policy/gone")),
                ],
                local_policies: [(
                    local.to_string(),
                    r#"{"Version":"2012-10-17","Statement":[]}"#.to_string(),
                )]
                .into(),
                calls: 1,
            },
            policies: vec![(
                ADMIN.to_string(),
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
                    .to_string(),
            )],
            ..MemoryIam::default()
        };
        // No service with Exec on: nothing is read.
        let mut estate = Estate::default();
        principals(&mut estate, &iam).await;
        assert_eq!(estate.principals, None);
        assert!(iam.calls.lock().unwrap().is_empty());

        let mut estate = Estate {
            services: vec![exec_service()],
            ..Estate::default()
        };
        principals(&mut estate, &iam).await;
        let calls = iam.calls.lock().unwrap().clone();
        assert_eq!(
            calls.iter().filter(|c| c.contains(ADMIN)).count(),
            1,
            "AdministratorAccess read once for both: {calls:?}"
        );
        assert!(
            !calls.iter().any(|c| c.contains(local)),
            "the account's own came with the read"
        );
        let read = estate.principals.clone().unwrap().unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].documents.len(), 3, "two managed and one inline");
        assert!(
            matches!(&read[1].boundary, crate::model::iam::access::Boundary::Unread(why) if why.contains("policy/gone")),
            "{:?}",
            read[1].boundary
        );

        // The read denied: unknown, said, and the place is not complete.
        let denied = MemoryIam {
            error: Some(AwsError {
                operation: "GetAccountAuthorizationDetails",
                code: Some("AccessDenied".to_string()),
                message: "no".to_string(),
                retryable: false,
            }),
            ..MemoryIam::default()
        };
        let mut estate = Estate {
            services: vec![exec_service()],
            ..Estate::default()
        };
        principals(&mut estate, &denied).await;
        assert_eq!(
            estate.principals,
            Some(Err(
                "GetAccountAuthorizationDetails: AccessDenied".to_string()
            ))
        );
        assert!(!estate.complete());
    }
}
