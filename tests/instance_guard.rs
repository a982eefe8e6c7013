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
    let subnet = emu
        .ec2
        .describe_subnets()
        .send()
        .await
        .expect("DescribeSubnets")
        .subnets()
        .first()
        .and_then(|s| s.subnet_id())
        .expect("a default subnet")
        .to_string();
    let image = emu
        .ec2
        .describe_images()
        .send()
        .await
        .expect("DescribeImages")
        .images()
        .first()
        .and_then(|i| i.image_id())
        .expect("one of moto's images")
        .to_string();
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
