//! End to end: the instance-guard handler against moto server. An instance
//! is launched in moto with IMDSv1 allowed, a public IP and a group whose
//! SSH is open to the world; the RunInstances record built from that call
//! alerts EC2-CI-001, EC2-CI-002 and EC2-CI-005 (the group's live rules read
//! from moto). The alert is read back from an SQS queue subscribed to the topic.

use access_guard::config::FunctionConfig;
use access_guard::lambda::instance_guard::{handle, Deps};
use access_guard_e2e::{envelope, AlertSink, Emulator};
use aws_sdk_ec2::types::{
    HttpTokensState, InstanceMetadataOptionsRequest, InstanceNetworkInterfaceSpecification,
    InstanceType, LaunchTemplateHttpTokensState, LaunchTemplateInstanceMetadataOptionsRequest,
    RequestLaunchTemplateData,
};
use lambda_runtime::LambdaEvent;
use serde_json::json;

fn deps(emu: &Emulator, sink: &AlertSink) -> Deps {
    let topic = sink.topic_arn.clone();
    let config = FunctionConfig::from_lookup(move |name| {
        (name == "ACCESS_GUARD_TOPIC_ARN").then(|| topic.clone())
    })
    .expect("config");
    Deps::new(&emu.sdk, config)
}

#[tokio::test]
async fn a_launch_with_imdsv1_a_public_ip_and_an_open_group_is_alerted() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let group = emu.group(&[]).await;
    emu.open_to_world(&group, &[22]).await;
    let (image, subnet) = emu.image_and_subnet().await;
    let launched = emu
        .ec2
        .run_instances()
        .image_id(&image)
        .min_count(1)
        .max_count(1)
        .metadata_options(
            InstanceMetadataOptionsRequest::builder()
                .http_tokens(HttpTokensState::Optional)
                .http_put_response_hop_limit(1)
                .build(),
        )
        .network_interfaces(
            InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .subnet_id(&subnet)
                .associate_public_ip_address(true)
                .groups(&group)
                .build(),
        )
        .send()
        .await
        .expect("RunInstances");
    let instance = launched
        .instances()
        .first()
        .and_then(|i| i.instance_id())
        .expect("an instance")
        .to_string();
    let nic = json!({"deviceIndex": 0, "subnetId": subnet, "associatePublicIpAddress": true,
        "groupSet": {"items": [{"groupId": group}]}});
    let event = envelope(
        "ec2",
        "RunInstances",
        json!({"instancesSet": {"items": [{"imageId": image, "minCount": 1, "maxCount": 1}]},
               "networkInterfaceSet": {"items": [nic]},
               "metadataOptions": {"httpTokens": "optional", "httpPutResponseHopLimit": 1}}),
        json!({"instancesSet": {"items": [{"instanceId": instance, "imageId": image,
               "subnetId": subnet, "groupSet": {"items": [{"groupId": group}]},
               "metadataOptions": {"state": "pending", "httpTokens": "optional",
                   "httpPutResponseHopLimit": 1, "httpEndpoint": "enabled"}}]}}),
    );

    let verdict = handle(
        LambdaEvent::new(event, access_guard_e2e::context()),
        &deps(&emu, &sink),
    )
    .await
    .expect("handler");

    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1, "{verdict}");
    let rules: Vec<&str> = alerts[0].doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    for rule in ["EC2-CI-001", "EC2-CI-002", "EC2-CI-005"] {
        assert!(rules.contains(&rule), "{rule} missing: {rules:?}");
    }
    let open = alerts[0].doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "EC2-CI-005")
        .expect("EC2-CI-005");
    assert!(
        open["detail"].as_str().unwrap_or_default().contains(&group),
        "{open}"
    );
    assert!(
        alerts[0].doc.get("could_not_evaluate").is_none(),
        "everything needed was read: {}",
        alerts[0].doc
    );
}

fn rules(doc: &serde_json::Value) -> Vec<&str> {
    doc["findings"]
        .as_array()
        .map(|f| f.iter().filter_map(|f| f["rule"].as_str()).collect())
        .unwrap_or_default()
}

/// A CreateLaunchTemplateVersion record for version `version` of `(id, name)`.
fn template_version_event(
    (id, name): &(String, String),
    data: serde_json::Value,
    version: i64,
) -> serde_json::Value {
    envelope(
        "ec2",
        "CreateLaunchTemplateVersion",
        json!({"CreateLaunchTemplateVersionRequest": {"LaunchTemplateId": id, "LaunchTemplateData": data}}),
        json!({"CreateLaunchTemplateVersionResponse": {"launchTemplateVersion": {
            "launchTemplateId": id, "launchTemplateName": name, "versionNumber": version}}}),
    )
}

#[tokio::test]
async fn a_template_version_a_capacity_provider_launches_from_is_a_container_instance_template() {
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let deps = deps(&emu, &sink);
    let (image, _) = emu.image_and_subnet().await;
    let base = RequestLaunchTemplateData::builder()
        .image_id(&image)
        .instance_type(InstanceType::T3Micro)
        .build();
    let used = emu.launch_template(base.clone()).await;
    let (provider, group, _) = emu.capacity_provider_for(&used.0).await;
    let unused = emu.launch_template(base).await;
    // A version with IMDSv1 allowed (high: it alerts), a key pair and a hop
    // limit of 2, on both templates. Both metadata options are set, so no
    // default is read (moto 5.2.5 does not implement
    // GetInstanceMetadataDefaults: HTTP 500; the guard's unit tests cover
    // the defaults with fakes).
    let data = json!({"ImageId": image, "KeyName": "ops",
        "MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 2}});
    for template in [&used, &unused] {
        emu.ec2
            .create_launch_template_version()
            .launch_template_id(&template.0)
            .launch_template_data(
                RequestLaunchTemplateData::builder()
                    .image_id(&image)
                    .key_name("ops")
                    .metadata_options(
                        LaunchTemplateInstanceMetadataOptionsRequest::builder()
                            .http_tokens(LaunchTemplateHttpTokensState::Optional)
                            .http_put_response_hop_limit(2)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("CreateLaunchTemplateVersion");
    }

    handle(
        LambdaEvent::new(
            template_version_event(&unused, data.clone(), 2),
            access_guard_e2e::context(),
        ),
        &deps,
    )
    .await
    .expect("handler");
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        rules(&alerts[0].doc),
        ["EC2-CI-001"],
        "no capacity provider launches from it: not shown to be a container instance template"
    );

    let verdict = handle(
        LambdaEvent::new(
            template_version_event(&used, data, 2),
            access_guard_e2e::context(),
        ),
        &deps,
    )
    .await
    .expect("handler");
    let alerts = sink.alerts(&emu).await;
    assert_eq!(alerts.len(), 1, "{verdict}");
    let findings: Vec<(String, String)> = alerts[0].doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_string(),
                f["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rules(&alerts[0].doc),
        ["EC2-CI-001", "EC2-CI-003", "EC2-CI-004"],
        "{findings:?}"
    );
    let evidence = format!(
        "launch template {} is what capacity provider {provider}'s Auto Scaling group {group} launches from",
        used.0
    );
    assert!(
        findings
            .iter()
            .filter(|(r, _)| r != "EC2-CI-001")
            .all(|(_, d)| d.contains(&evidence)),
        "{findings:?}"
    );
    assert!(
        alerts[0].doc.get("could_not_evaluate").is_none(),
        "{}",
        alerts[0].doc
    );
}

#[tokio::test]
async fn an_amis_imds_support_is_read_from_ec2() {
    // moto 5.2.5 keeps no ImdsSupport on its AMIs (DescribeImages leaves it
    // out): this proves the read and the "not found" answer; the guard's unit
    // tests cover `v2.0` with fakes.
    use access_guard::aws::instances::Ec2Instances;
    use access_guard::ports::Instances;
    let emu = Emulator::connect().await;
    let (image, _) = emu.image_and_subnet().await;
    let instances = Ec2Instances::new(
        emu.ec2.clone(),
        emu.ecs.clone(),
        aws_sdk_autoscaling::Client::new(&emu.sdk),
    );
    assert_eq!(
        instances
            .image_imds_support(&image)
            .await
            .expect("DescribeImages"),
        Some(None)
    );
    assert_eq!(
        instances
            .image_imds_support("ami-0000000000000000f")
            .await
            .expect("DescribeImages"),
        None
    );
}
