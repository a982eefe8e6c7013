//! `access-guard scan` as a user runs it (feature `aws`), against moto server
//! (the README's test command starts it and names it in
//! `ACCESS_GUARD_TEST_ENDPOINT`). The test works in an account of its own
//! (STS AssumeRole switches account in moto) and hands the binary those
//! credentials through the environment, as a user's shell would.
#![cfg(feature = "aws")]

use std::process::{Command, Output};

use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ec2::types::{IpPermission, IpRange};
use serde_json::Value;

fn endpoint() -> String {
    std::env::var("ACCESS_GUARD_TEST_ENDPOINT")
        .expect("ACCESS_GUARD_TEST_ENDPOINT is not set: run the README's test command")
}

/// Temporary credentials in an account no other test uses.
async fn own_account() -> (String, Credentials) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let account = format!(
        "4{:05}{:06}",
        std::process::id() % 100_000,
        nanos % 1_000_000
    );
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await;
    let out = aws_sdk_sts::Client::new(&sdk)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/reader"))
        .role_session_name("scan-test")
        .send()
        .await
        .expect("AssumeRole");
    let c = out.credentials().expect("credentials");
    (
        account,
        Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "scan-test",
        ),
    )
}

fn scan(credentials: &Credentials, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_access-guard"))
        .arg("scan")
        .args(args)
        .env_clear()
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
        .env(
            "AWS_SESSION_TOKEN",
            credentials.session_token().unwrap_or_default(),
        )
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run access-guard scan")
}

#[tokio::test]
async fn scan_reports_what_is_open_now_changes_nothing_and_counts_its_calls() {
    let (account, credentials) = own_account().await;
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials.clone())
        .load()
        .await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let mut groups = Vec::new();
    for (name, cidr) in [("open", "0.0.0.0/0"), ("private", "10.0.0.0/8")] {
        let group = ec2
            .create_security_group()
            .group_name(name)
            .description("scan test")
            .send()
            .await
            .expect("CreateSecurityGroup")
            .group_id()
            .expect("id")
            .to_string();
        ec2.authorize_security_group_ingress()
            .group_id(&group)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
                    .build(),
            )
            .send()
            .await
            .expect("AuthorizeSecurityGroupIngress");
        groups.push(group);
    }

    let json = scan(&credentials, &["--format", "json", "--fail-on", "high"]);
    let stdout = String::from_utf8_lossy(&json.stdout);
    let stderr = String::from_utf8_lossy(&json.stderr);
    assert_eq!(
        json.status.code(),
        Some(1),
        "a critical finding: {stdout}{stderr}"
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
        .collect();
    let open: Vec<&Value> = lines
        .iter()
        .filter(|l| l["resource"] == groups[0].as_str())
        .collect();
    assert_eq!(open.len(), 1, "{stdout}");
    assert_eq!(open[0]["event_name"], "Sweep");
    assert_eq!(open[0]["account"], account.as_str());
    assert_eq!(open[0]["findings"][0]["rule"], "EC2-SG-003");
    assert!(
        lines.iter().all(|l| l["resource"] != groups[1].as_str()),
        "{stdout}"
    );
    // Groups, their rules, clusters, the account's Container Insights
    // setting, instances, and the way in: subnets, route tables, network
    // ACLs, internet gateways, network interfaces, load balancers, target
    // groups: one page each in an account this small.
    assert!(stderr.contains("api calls: 12"), "{stderr}");

    let text = scan(&credentials, &[]);
    let out = String::from_utf8_lossy(&text.stdout);
    assert_eq!(text.status.code(), Some(0), "no --fail-on: {out}");
    assert!(
        out.contains(&groups[0]) && out.contains("EC2-SG-003"),
        "{out}"
    );
    assert!(out.contains(" security groups, 0 services"), "{out}");

    // Read-only: the open rule is still there.
    let rules = ec2
        .describe_security_group_rules()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-id")
                .values(&groups[0])
                .build(),
        )
        .send()
        .await
        .expect("DescribeSecurityGroupRules");
    assert!(rules
        .security_group_rules()
        .iter()
        .any(|r| r.is_egress() == Some(false) && r.from_port() == Some(22)));
}

#[test]
fn without_a_region_scan_says_so_and_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_access-guard"))
        .args(["scan"])
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no region"), "{stderr}");
}
