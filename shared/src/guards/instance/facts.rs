//! What the guard and the sweep resolve alike: the metadata defaults a
//! launch leaves to EC2, and the evidence that instances are container
//! instances (their profile's role, a capacity provider's group).

use crate::model::ci::{InstanceChange, InstanceSettings, Said};
use crate::ports::{AwsError, Iam, Instances, ProviderGroup};
use crate::rules::ec2_ci::{Evidence, MetadataDefaults, Sourced};

const ACCOUNT_DEFAULT: &str = "the account's metadata default (GetInstanceMetadataDefaults)";

/// The metadata defaults `settings` take for what they leave out (httpTokens,
/// the hop limit), in EC2's order of precedence: the account's default
/// where it sets one, else the AMI's (`ImdsSupport: v2.0` means `required`
/// and a hop limit of 2), else EC2's own. `Ok(None)` when nothing is left
/// out; `on_call` counts the reads. `Err`: the account's defaults could not
/// be read, or the AMI's read may be retried. The guard and the sweep
/// resolve them alike.
pub async fn metadata_defaults(
    instances: &dyn Instances,
    settings: &InstanceSettings,
    on_call: &(dyn Fn() + Send + Sync),
) -> Result<Option<MetadataDefaults>, AwsError> {
    let need_tokens = settings.http_tokens == Said::Default;
    let need_hops = settings.hop_limit == Said::Default;
    if !need_tokens && !need_hops {
        return Ok(None);
    }
    on_call();
    let (tokens, hops) = instances.metadata_defaults().await?;
    let mut defaults = MetadataDefaults {
        http_tokens: tokens.map(|t| Sourced::new(t, ACCOUNT_DEFAULT)),
        hop_limit: hops.map(|h| Sourced::new(h, ACCOUNT_DEFAULT)),
        consulted: "the account's metadata defaults".to_string(),
        ami_unknown: None,
    };
    let ami_decides = (need_tokens && defaults.http_tokens.is_none())
        || (need_hops && defaults.hop_limit.is_none());
    if !ami_decides {
        return Ok(Some(defaults));
    }
    // What the account leaves unset, the AMI decides; when the AMI cannot
    // be told, those fields are unknown (the rules say so), never EC2's own.
    let image = match settings.image.as_deref().map(str::trim) {
        Some(image) if image.starts_with("ami-") => image.to_string(),
        Some(image) => {
            defaults.ami_unknown = Some(format!(
                "the image is {}, resolved only at launch",
                crate::rules::ec2_ci::shown(image)
            ));
            return Ok(Some(defaults));
        }
        None => {
            defaults.ami_unknown = Some("no AMI is named".to_string());
            return Ok(Some(defaults));
        }
    };
    on_call();
    let support = match instances.image_imds_support(&image).await {
        Ok(support) => support,
        Err(e) if e.retryable => return Err(e),
        Err(e) => {
            defaults.ami_unknown = Some(format!("DescribeImages {image}: {}", e.code_or_kind()));
            return Ok(Some(defaults));
        }
    };
    defaults.consulted = format!("the account's metadata defaults or AMI {image}'s ImdsSupport");
    match support {
        Some(Some(version)) if version == "v2.0" => {
            let from = format!("AMI {image} (ImdsSupport v2.0)");
            defaults.http_tokens = defaults
                .http_tokens
                .or_else(|| Some(Sourced::new("required".to_string(), from.clone())));
            defaults.hop_limit = defaults.hop_limit.or(Some(Sourced::new(2, from)));
        }
        Some(_) => {}
        None => defaults.ami_unknown = Some(format!("AMI {image} is not found")),
    }
    Ok(Some(defaults))
}

/// The ECS container-instance policy: a role that carries it is a
/// container instance's.
const ECS_INSTANCE_POLICY: &str = "AmazonEC2ContainerServiceforEC2Role";

/// Why the instances of an instance profile are container instances (a
/// role of the profile carries the ECS instance policy); `None`: not shown.
/// The guard and the sweep decide it the same way.
pub async fn container_instance(
    iam: &dyn Iam,
    profile: &str,
) -> Result<Option<Evidence>, AwsError> {
    let Some(roles) = iam.instance_profile_roles(profile).await? else {
        return Ok(None);
    };
    for role in roles {
        let attached = iam.attached_policies(&role).await?.unwrap_or_default();
        if let Some(policy) = attached.iter().find(|a| a.ends_with(ECS_INSTANCE_POLICY)) {
            return Ok(Some(Evidence(format!(
                "instance profile {profile}'s role {role} carries {policy}"
            ))));
        }
    }
    Ok(None)
}

/// Why the instances of `change` are container instances by way of a
/// capacity provider: the Auto Scaling group that launched them is one's,
/// or the launch template they come from is what one's group launches.
pub fn provider_evidence(change: &InstanceChange, groups: &[ProviderGroup]) -> Option<Evidence> {
    if let Some(name) = &change.auto_scaling_group {
        if let Some(g) = groups.iter().find(|g| &g.group == name) {
            return Some(Evidence(format!(
                "launched by Auto Scaling group {} of capacity provider {}",
                g.group, g.provider
            )));
        }
    }
    let template = change.template.as_ref()?;
    let g = groups.iter().find(|g| g.launches_from(template))?;
    Some(Evidence(format!(
        "launch template {} is what capacity provider {}'s Auto Scaling group {} launches from",
        template.key(),
        g.provider,
        g.group
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guards::instance::test_support::*;
    use crate::model::ci::TemplateRef;
    use crate::ports::fakes::{MemoryIam, MemoryInstances};
    use serde_json::json;

    fn settings(image: Option<&str>) -> InstanceSettings {
        InstanceSettings {
            image: image.map(str::to_string),
            ..InstanceSettings::default()
        }
        .whole()
    }

    async fn resolve(
        instances: &MemoryInstances,
        image: Option<&str>,
    ) -> Result<Option<MetadataDefaults>, AwsError> {
        metadata_defaults(instances, &settings(image), &|| {}).await
    }
    #[tokio::test]
    async fn the_account_default_comes_first_then_the_ami_then_ec2s_own() {
        let v2 = |defaults: (Option<&str>, Option<i64>)| MemoryInstances {
            defaults: (defaults.0.map(str::to_string), defaults.1),
            images: vec![
                ("ami-2".into(), Some("v2.0".into())),
                ("ami-1".into(), None),
            ],
            ..MemoryInstances::default()
        };
        // No account default: the AMI's ImdsSupport v2.0 gives required and 2.
        let d = resolve(&v2((None, None)), Some("ami-2"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            d.http_tokens,
            Some(Sourced::new(
                "required".to_string(),
                "AMI ami-2 (ImdsSupport v2.0)"
            ))
        );
        assert_eq!(
            d.hop_limit,
            Some(Sourced::new(2, "AMI ami-2 (ImdsSupport v2.0)"))
        );
        // The account's default wins over the AMI, field by field.
        let d = resolve(&v2((Some("optional"), None)), Some("ami-2"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.http_tokens.unwrap().value, "optional");
        assert_eq!(d.hop_limit.unwrap().value, 2);
        // Both set by the account: the AMI is not read.
        let both = v2((Some("required"), Some(1)));
        let d = resolve(&both, Some("ami-2")).await.unwrap().unwrap();
        assert_eq!(d.hop_limit.unwrap().value, 1);
        assert_eq!(*both.calls.lock().unwrap(), ["defaults"]);
        // An AMI without ImdsSupport: EC2's own defaults, and the alert says what was consulted.
        let d = resolve(&v2((None, None)), Some("ami-1"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((d.http_tokens, d.hop_limit), (None, None));
        assert_eq!(
            d.consulted,
            "the account's metadata defaults or AMI ami-1's ImdsSupport"
        );
        // Nothing left out: nothing read.
        let none = MemoryInstances::default();
        let whole = InstanceSettings {
            http_tokens: Said::Set("required".into()),
            hop_limit: Said::Set(1),
            ..InstanceSettings::default()
        };
        assert!(metadata_defaults(&none, &whole, &|| {})
            .await
            .unwrap()
            .is_none());
        assert!(none.calls.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_ami_that_cannot_be_told_or_read_is_never_taken_for_imdsv2() {
        let none = MemoryInstances::default();
        let alias =
            "resolve:ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id";
        let unknown = |d: Option<MetadataDefaults>| {
            let d = d.unwrap();
            assert_eq!((d.http_tokens.clone(), d.hop_limit.clone()), (None, None));
            d.ami_unknown.unwrap()
        };
        assert!(
            unknown(resolve(&none, Some(alias)).await.unwrap()).contains("resolved only at launch")
        );
        assert_eq!(
            unknown(resolve(&none, None).await.unwrap()),
            "no AMI is named"
        );
        assert_eq!(
            unknown(resolve(&none, Some("ami-404")).await.unwrap()),
            "AMI ami-404 is not found"
        );
        // What the account's default says is kept when the AMI cannot be told.
        let hardened = MemoryInstances {
            defaults: (Some("required".into()), None),
            ..MemoryInstances::default()
        };
        let d = resolve(&hardened, Some(alias)).await.unwrap().unwrap();
        assert_eq!(d.http_tokens.unwrap().value, "required");
        assert!(d.hop_limit.is_none() && d.ami_unknown.is_some());
        // An AMI not found never clears EC2-CI-004 on a container instance.
        let version = event(
            "CreateLaunchTemplateVersion",
            json!({"CreateLaunchTemplateVersionRequest": {"LaunchTemplateId": "lt-7",
                "LaunchTemplateData": {"ImageId": "ami-404", "MetadataOptions": {"HttpTokens": "required"}}}}),
            json!({"CreateLaunchTemplateVersionResponse": {"launchTemplateVersion": {
                "launchTemplateId": "lt-7", "versionNumber": 2}}}),
        );
        let ecs = MemoryInstances {
            provider_groups: vec![ProviderGroup {
                provider: "p".into(),
                group: "g".into(),
                template: Some(TemplateRef {
                    id: Some("lt-7".into()),
                    name: None,
                    version: "$Latest".into(),
                }),
            }],
            ..MemoryInstances::default()
        };
        let (report, _) = run(&ecs, &MemoryIam::default(), &version).await;
        let report = report.unwrap();
        assert_eq!(rules_of(&report), ["EC2-CI-004"], "{report:?}");
        assert!(report.findings[0]
            .detail
            .contains("could not be told (AMI ami-404 is not found)"));
        assert!(report
            .unevaluated
            .as_deref()
            .is_some_and(|u| u.contains("the AMI's ImdsSupport (AMI ami-404 is not found)")));
        // In the guard: EC2-CI-001 stands and the alert says what could not be checked.
        let template = event(
            "CreateLaunchTemplate",
            json!({"CreateLaunchTemplateRequest": {"LaunchTemplateName": "ecs",
                "LaunchTemplateData": {"ImageId": alias}}}),
            json!({"CreateLaunchTemplateResponse": {"launchTemplate": {"launchTemplateId": "lt-9", "latestVersionNumber": 1}}}),
        );
        let (report, sent) = run(&none, &MemoryIam::default(), &template).await;
        let report = report.unwrap();
        assert_eq!(rules_of(&report), ["EC2-CI-001"]);
        assert!(
            report
                .unevaluated
                .as_deref()
                .is_some_and(|u| u.contains("the AMI's ImdsSupport")),
            "{report:?}"
        );
        assert_eq!(sent, 1);
    }

    #[tokio::test]
    async fn an_ami_requiring_imdsv2_clears_ec2_ci_001_and_raises_the_hop_limit() {
        let template = event(
            "CreateLaunchTemplateVersion",
            json!({"CreateLaunchTemplateVersionRequest": {"LaunchTemplateId": "lt-7",
                "LaunchTemplateData": {"ImageId": "ami-2"}}}),
            json!({"CreateLaunchTemplateVersionResponse": {"launchTemplateVersion": {
                "launchTemplateId": "lt-7", "launchTemplateName": "ecs", "versionNumber": 5}}}),
        );
        let instances = MemoryInstances {
            images: vec![("ami-2".into(), Some("v2.0".into()))],
            provider_groups: vec![ProviderGroup {
                provider: "al2023".into(),
                group: "al2023-asg".into(),
                template: Some(TemplateRef {
                    id: Some("lt-7".into()),
                    name: None,
                    version: "$Latest".into(),
                }),
            }],
            ..MemoryInstances::default()
        };
        let (report, _) = run(&instances, &MemoryIam::default(), &template).await;
        let report = report.unwrap();
        assert_eq!(rules_of(&report), ["EC2-CI-004"], "{report:?}");
        assert_eq!(
            report.findings[0].detail,
            "httpPutResponseHopLimit not set: 2 by AMI ami-2 (ImdsSupport v2.0), on a container instance (launch template lt-7 is what capacity provider al2023's Auto Scaling group al2023-asg launches from)"
        );
        assert!(report.unevaluated.is_none(), "{report:?}");
    }
    #[test]
    fn a_template_is_matched_by_id_or_name_never_by_a_missing_one() {
        let by_id = ProviderGroup {
            provider: "p".into(),
            group: "g".into(),
            template: Some(TemplateRef {
                id: Some("lt-1".into()),
                name: None,
                version: "$Default".into(),
            }),
        };
        let named = |id: Option<&str>, name: Option<&str>| TemplateRef {
            id: id.map(str::to_string),
            name: name.map(str::to_string),
            version: "2".into(),
        };
        assert!(by_id.launches_from(&named(Some("lt-1"), Some("ecs"))));
        assert!(!by_id.launches_from(&named(Some("lt-2"), None)));
        assert!(
            !by_id.launches_from(&named(None, None)),
            "two missing ids are not the same template"
        );
        let by_name = ProviderGroup {
            template: Some(named(None, Some("ecs"))),
            ..by_id
        };
        assert!(by_name.launches_from(&named(Some("lt-9"), Some("ecs"))));
    }
}
