//! Support for end-to-end tests against moto server, the local AWS emulator
//! that the README's test command starts on 127.0.0.1 and names in
//! `ACCESS_GUARD_TEST_ENDPOINT`. Tests create their own resources (unique
//! names), run a handler, then read the result back from the emulator.

pub mod faults;
pub mod runtime;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::Credentials;
use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, Tag};
use serde_json::{json, Value};

pub const ENDPOINT_VAR: &str = "ACCESS_GUARD_TEST_ENDPOINT";
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// The emulator's address; the test command sets it.
pub fn endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!("{ENDPOINT_VAR} is not set: run the README's test command (`make test`), which starts moto server")
    })
}

/// SDK configuration for an endpoint, with dummy credentials and few retries.
pub async fn sdk_config(endpoint: &str, max_attempts: u32) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(max_attempts))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(10))
                .build(),
        )
        .load()
        .await
}

/// The Lambda context of a function deployed in the emulator's account and
/// region (the guards act only where their function ARN says they run).
pub fn context() -> lambda_runtime::Context {
    let mut context = lambda_runtime::Context::default();
    context.request_id = unique("req");
    context.invoked_function_arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:guard");
    context
}

/// A name no other test (or earlier run against the same emulator) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A 12-digit account id, starting with `first`, that no other test (or
/// run) uses: moto keeps each account's resources apart.
pub fn fresh_account(first: char) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!(
        "{first}{:05}{:06}",
        std::process::id() % 100_000,
        (nanos / 1000 + n) % 1_000_000
    )
}

/// Clients for the emulator.
pub struct Emulator {
    pub sdk: SdkConfig,
    pub ec2: aws_sdk_ec2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
}

impl Emulator {
    pub async fn connect() -> Emulator {
        Emulator::with(sdk_config(&endpoint(), 2).await)
    }

    /// The emulator as another account sees it: the `access-guard-member`
    /// role of `account` assumed through STS (moto keeps each account's
    /// resources apart), in `region`.
    pub async fn member(&self, account: &str, region: &str) -> Emulator {
        let out = aws_sdk_sts::Client::new(&self.sdk)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/access-guard-member"))
            .role_session_name("tests")
            .send()
            .await
            .expect("AssumeRole");
        let c = out.credentials().expect("credentials");
        let sdk = self
            .sdk
            .to_builder()
            .region(Region::new(region.to_string()))
            .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
                Credentials::new(
                    c.access_key_id(),
                    c.secret_access_key(),
                    Some(c.session_token().to_string()),
                    None,
                    "member",
                ),
            ))
            .build();
        Emulator::with(sdk)
    }

    /// The emulator in another region of the default account.
    pub fn in_region(&self, region: &str) -> Emulator {
        Emulator::with(
            self.sdk
                .to_builder()
                .region(Region::new(region.to_string()))
                .build(),
        )
    }

    fn with(sdk: SdkConfig) -> Emulator {
        Emulator {
            ec2: aws_sdk_ec2::Client::new(&sdk),
            ecs: aws_sdk_ecs::Client::new(&sdk),
            sns: aws_sdk_sns::Client::new(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            sdk,
        }
    }

    /// A new SQS queue: (url, arn).
    pub async fn queue(&self, prefix: &str) -> (String, String) {
        let name = unique(prefix);
        let url = self
            .sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .expect("CreateQueue")
            .queue_url()
            .expect("queue url")
            .to_string();
        (url, format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"))
    }

    /// A new SNS topic with a new SQS queue subscribed to it: (topic arn, queue url).
    pub async fn topic_to_queue(&self, prefix: &str) -> (String, String) {
        let topic_arn = self
            .sns
            .create_topic()
            .name(unique(prefix))
            .send()
            .await
            .expect("CreateTopic")
            .topic_arn()
            .expect("topic arn")
            .to_string();
        let (queue_url, queue_arn) = self.queue(prefix).await;
        self.sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .expect("Subscribe sqs");
        (topic_arn, queue_url)
    }

    /// One of moto's images and the default VPC's first subnet.
    pub async fn image_and_subnet(&self) -> (String, String) {
        let image = self
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
        let subnet = self
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
        (image, subnet)
    }

    /// A launch template (`data` as the SDK builds it): (id, name).
    pub async fn launch_template(
        &self,
        data: aws_sdk_ec2::types::RequestLaunchTemplateData,
    ) -> (String, String) {
        let name = unique("lt");
        let out = self
            .ec2
            .create_launch_template()
            .launch_template_name(&name)
            .launch_template_data(data)
            .send()
            .await
            .expect("CreateLaunchTemplate");
        let id = out
            .launch_template()
            .and_then(|t| t.launch_template_id())
            .expect("template id")
            .to_string();
        (id, name)
    }

    /// An ECS capacity provider whose Auto Scaling group launches from
    /// launch template `template` (`$Latest`), used by a new cluster:
    /// (provider, group, cluster).
    pub async fn capacity_provider_for(&self, template: &str) -> (String, String, String) {
        let (_, subnet) = self.image_and_subnet().await;
        let autoscaling = aws_sdk_autoscaling::Client::new(&self.sdk);
        let group = unique("asg");
        autoscaling
            .create_auto_scaling_group()
            .auto_scaling_group_name(&group)
            .launch_template(
                aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                    .launch_template_id(template)
                    .version("$Latest")
                    .build(),
            )
            .min_size(0)
            .max_size(1)
            .desired_capacity(0)
            .vpc_zone_identifier(&subnet)
            .send()
            .await
            .expect("CreateAutoScalingGroup");
        let arn = autoscaling
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(&group)
            .send()
            .await
            .expect("DescribeAutoScalingGroups")
            .auto_scaling_groups()
            .first()
            .and_then(|g| g.auto_scaling_group_arn())
            .expect("the group's ARN")
            .to_string();
        let provider = unique("cp");
        self.ecs
            .create_capacity_provider()
            .name(&provider)
            .auto_scaling_group_provider(
                aws_sdk_ecs::types::AutoScalingGroupProvider::builder()
                    .auto_scaling_group_arn(&arn)
                    .build()
                    .expect("provider"),
            )
            .send()
            .await
            .expect("CreateCapacityProvider");
        let cluster = unique("ec2-cluster");
        self.ecs
            .create_cluster()
            .cluster_name(&cluster)
            .capacity_providers(&provider)
            .send()
            .await
            .expect("CreateCluster");
        (provider, group, cluster)
    }

    /// A new security group in the default VPC, with `tags`.
    pub async fn group(&self, tags: &[(&str, &str)]) -> String {
        let out = self
            .ec2
            .create_security_group()
            .group_name(unique("guarded"))
            .description("ecs-access-guard test group")
            .send()
            .await
            .expect("CreateSecurityGroup");
        let group_id = out.group_id().expect("group id").to_string();
        if !tags.is_empty() {
            let mut call = self.ec2.create_tags().resources(&group_id);
            for (k, v) in tags {
                call = call.tags(Tag::builder().key(*k).value(*v).build());
            }
            call.send().await.expect("CreateTags");
        }
        group_id
    }

    /// Authorizes tcp `ports` from 0.0.0.0/0 in one call and returns the
    /// created rule ids by port, read back with DescribeSecurityGroupRules
    /// (moto returns ids only for the last permission of a call).
    pub async fn open_to_world(&self, group_id: &str, ports: &[u16]) -> Vec<(u16, String)> {
        self.open_to_world_described(group_id, ports, None).await
    }

    /// [`Emulator::open_to_world`], each range with `description`.
    pub async fn open_to_world_described(
        &self,
        group_id: &str,
        ports: &[u16],
        description: Option<&str>,
    ) -> Vec<(u16, String)> {
        let mut call = self
            .ec2
            .authorize_security_group_ingress()
            .group_id(group_id);
        for port in ports {
            call = call.ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(i32::from(*port))
                    .to_port(i32::from(*port))
                    .ip_ranges(
                        IpRange::builder()
                            .cidr_ip("0.0.0.0/0")
                            .set_description(description.map(str::to_string))
                            .build(),
                    )
                    .build(),
            );
        }
        call.send().await.expect("AuthorizeSecurityGroupIngress");
        let stored = self.ingress_rules(group_id).await;
        ports
            .iter()
            .map(|p| {
                let rule = stored
                    .iter()
                    .find(|(port, _)| port == p)
                    .unwrap_or_else(|| panic!("rule for port {p} not stored"));
                (*p, rule.1.clone())
            })
            .collect()
    }

    /// Sets a stored rule (ingress or egress) to tcp `port` from `cidr`.
    pub async fn modify_rule(&self, group_id: &str, rule_id: &str, port: u16, cidr: &str) {
        use aws_sdk_ec2::types::{SecurityGroupRuleRequest, SecurityGroupRuleUpdate};
        self.ec2
            .modify_security_group_rules()
            .group_id(group_id)
            .security_group_rules(
                SecurityGroupRuleUpdate::builder()
                    .security_group_rule_id(rule_id)
                    .security_group_rule(
                        SecurityGroupRuleRequest::builder()
                            .ip_protocol("tcp")
                            .from_port(i32::from(port))
                            .to_port(i32::from(port))
                            .cidr_ipv4(cidr)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("ModifySecurityGroupRules");
    }

    /// The group's egress rules as (from port, rule id), read from the emulator.
    pub async fn egress_rules(&self, group_id: &str) -> Vec<(i32, String)> {
        self.rules(group_id, true).await
    }

    async fn rules(&self, group_id: &str, egress: bool) -> Vec<(i32, String)> {
        let out = self
            .ec2
            .describe_security_group_rules()
            .filters(Filter::builder().name("group-id").values(group_id).build())
            .send()
            .await
            .expect("DescribeSecurityGroupRules");
        out.security_group_rules()
            .iter()
            .filter(|r| r.is_egress() == Some(egress))
            .map(|r| {
                (
                    r.from_port().unwrap_or(-1),
                    r.security_group_rule_id().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// The group's ingress rules as (from port, rule id), read from the emulator.
    pub async fn ingress_rules(&self, group_id: &str) -> Vec<(u16, String)> {
        self.rules(group_id, false)
            .await
            .into_iter()
            .map(|(port, id)| (u16::try_from(port).unwrap_or(0), id))
            .collect()
    }
}

/// The findings of a verdict or alert document: (rule, detail) each.
pub fn findings(doc: &Value) -> Vec<(String, String)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_string(),
                f["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The EventBridge event CloudTrail delivers for a call to `source`
/// (`ec2`, `ecs`) named `event_name`, made by the `Dev` role of the account.
pub fn envelope(source: &str, event_name: &str, request: Value, response: Value) -> Value {
    json!({
        "version": "0",
        "id": unique("eb"),
        "detail-type": "AWS API Call via CloudTrail",
        "source": format!("aws.{source}"),
        "account": ACCOUNT,
        "time": "2026-11-02T09:14:07Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "eventVersion": "1.10",
            "userIdentity": {"type": "AssumedRole", "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/Dev/jane"),
                "accountId": ACCOUNT,
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{ACCOUNT}:role/Dev")},
                    "attributes": {"mfaAuthenticated": "false"}}},
            "eventTime": "2026-11-02T09:14:07Z",
            "eventSource": format!("{source}.amazonaws.com"),
            "eventName": event_name,
            "awsRegion": REGION,
            "sourceIPAddress": "198.51.100.23",
            "userAgent": "aws-cli/2.17.20",
            "requestParameters": request,
            "responseElements": response,
            "eventID": unique("ev"),
            "eventType": "AwsApiCall",
            "recipientAccountId": ACCOUNT
        }
    })
}

/// The EventBridge event CloudTrail would deliver for one
/// AuthorizeSecurityGroupIngress call that opened `rules` (port, rule id) to 0.0.0.0/0.
pub fn authorize_event(group_id: &str, rules: &[(u16, String)]) -> Value {
    let permissions: Vec<Value> = rules
        .iter()
        .map(|(port, _)| {
            json!({"ipProtocol": "tcp", "fromPort": port, "toPort": port, "groups": {},
                   "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {}, "prefixListIds": {}})
        })
        .collect();
    let created: Vec<Value> = rules
        .iter()
        .map(|(port, id)| {
            json!({"groupOwnerId": ACCOUNT, "groupId": group_id, "securityGroupRuleId": id, "isEgress": false,
                   "ipProtocol": "tcp", "fromPort": port, "toPort": port, "cidrIpv4": "0.0.0.0/0"})
        })
        .collect();
    envelope(
        "ec2",
        "AuthorizeSecurityGroupIngress",
        json!({"groupId": group_id, "ipPermissions": {"items": permissions}}),
        json!({"requestId": "r-1", "_return": true, "securityGroupRuleSet": {"items": created}}),
    )
}

/// The same call as an older CloudTrail record: no `securityGroupRuleSet`, only `_return`.
pub fn older_authorize_event(group_id: &str, rules: &[(u16, String)]) -> Value {
    let mut event = authorize_event(group_id, rules);
    event["detail"]["responseElements"] = json!({"requestId": "r-1", "_return": true});
    event
}

/// The EventBridge event of a ModifySecurityGroupRules call that set rule
/// `rule_id` to tcp `port` from `cidr`.
pub fn modify_event(group_id: &str, rule_id: &str, port: u16, cidr: &str) -> Value {
    envelope(
        "ec2",
        "ModifySecurityGroupRules",
        json!({"ModifySecurityGroupRulesRequest": {"GroupId": group_id,
            "SecurityGroupRule": {"SecurityGroupRuleId": rule_id, "tag": 1,
                "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIpv4": cidr}}}}),
        json!({"ModifySecurityGroupRulesResponse": {"requestId": "r-2", "return": true}}),
    )
}

/// Registers in the emulator a task definition whose container `app` runs
/// privileged, with `DATABASE_URL` set to `database_url`; returns its ARN.
pub async fn register_privileged_task(emu: &Emulator, family: &str, database_url: &str) -> String {
    use aws_sdk_ecs::types::{ContainerDefinition, KeyValuePair, LogConfiguration, LogDriver};
    let container = ContainerDefinition::builder()
        .name("app")
        .image("nginx:1.27")
        .essential(true)
        .memory(512)
        .privileged(true)
        .user("1000")
        .readonly_root_filesystem(true)
        .log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options("awslogs-group", "/ecs/app")
                .build()
                .expect("log configuration"),
        )
        .environment(
            KeyValuePair::builder()
                .name("DATABASE_URL")
                .value(database_url)
                .build(),
        )
        .build();
    let out = emu
        .ecs
        .register_task_definition()
        .family(family)
        .container_definitions(container)
        .send()
        .await
        .expect("RegisterTaskDefinition");
    out.task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("task definition arn")
        .to_string()
}

/// One alert as an SQS subscriber receives it.
#[derive(Debug)]
pub struct SqsAlert {
    pub subject: String,
    pub attributes: Value,
    /// The JSON document (the `sqs` key of the structured message).
    pub doc: Value,
}

impl SqsAlert {
    pub fn attribute(&self, name: &str) -> Option<String> {
        self.attributes[name]["Value"].as_str().map(str::to_string)
    }
}

/// An SNS topic with an SQS queue and an HTTP endpoint subscribed to it:
/// the queue receives the JSON document, the HTTP endpoint the text body.
pub struct AlertSink {
    pub topic_arn: String,
    queue_url: String,
    texts: Arc<Mutex<Vec<String>>>,
}

impl AlertSink {
    pub async fn new(emu: &Emulator) -> AlertSink {
        let (topic_arn, queue_url) = emu.topic_to_queue("alerts").await;
        let (url, texts) = http_capture();
        emu.sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("http")
            .endpoint(url)
            .send()
            .await
            .expect("Subscribe http");
        AlertSink {
            topic_arn,
            queue_url,
            texts,
        }
    }

    /// Every alert waiting in the queue (waits up to a second for the first).
    pub async fn alerts(&self, emu: &Emulator) -> Vec<SqsAlert> {
        let out = emu
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("ReceiveMessage");
        let mut alerts = Vec::new();
        for m in out.messages() {
            let envelope: Value =
                serde_json::from_str(m.body().unwrap_or_default()).expect("SNS envelope");
            let doc: Value = serde_json::from_str(envelope["Message"].as_str().unwrap_or_default())
                .unwrap_or_else(|e| panic!("sqs message is not the JSON document: {e}"));
            alerts.push(SqsAlert {
                subject: envelope["Subject"].as_str().unwrap_or_default().to_string(),
                attributes: envelope["MessageAttributes"].clone(),
                doc,
            });
            if let Some(handle) = m.receipt_handle() {
                let _ = emu
                    .sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
        }
        alerts
    }

    /// The text bodies received by the HTTP subscriber so far.
    pub fn texts(&self) -> Vec<String> {
        self.texts.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

/// Reads one HTTP request (headers and a Content-Length body) from a stream.
fn read_request(stream: &mut std::net::TcpStream) -> std::io::Result<Vec<u8>> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(body)
}

/// An HTTP endpoint on 127.0.0.1 that keeps the `Message` of every SNS POST.
fn http_capture() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/sns", listener.local_addr().expect("addr"));
    let texts = Arc::new(Mutex::new(Vec::new()));
    let sink = texts.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            if let Ok(body) = read_request(&mut stream) {
                if let Ok(post) = serde_json::from_slice::<Value>(&body) {
                    if let Some(text) = post["Message"].as_str() {
                        if let Ok(mut t) = sink.lock() {
                            t.push(text.to_string());
                        }
                    }
                }
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, texts)
}

/// An EC2 endpoint on 127.0.0.1 that answers every call with `code` and HTTP `status`.
pub fn failing_ec2_endpoint(code: &'static str, status: u16) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = read_request(&mut stream);
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>injected by the test</Message></Error></Errors><RequestID>fault-1</RequestID></Response>"
            );
            let reply = format!(
                "HTTP/1.1 {status} Injected\r\nContent-Type: text/xml;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    url
}

/// A new state table shaped as the Terraform module creates it (DESIGN §12):
/// `place` and `fingerprint` keys, on demand.
pub async fn state_table(emu: &Emulator) -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let name = unique("state");
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key")
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute")
    };
    aws_sdk_dynamodb::Client::new(&emu.sdk)
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("place", KeyType::Hash))
        .key_schema(key("fingerprint", KeyType::Range))
        .attribute_definitions(attribute("place"))
        .attribute_definitions(attribute("fingerprint"))
        .send()
        .await
        .expect("CreateTable");
    name
}

/// Every item of the state table under `place` (`account/region`), read
/// from the emulator, as JSON objects of their string and boolean attributes.
pub async fn state_items(emu: &Emulator, table: &str, place: &str) -> Vec<Value> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let out = aws_sdk_dynamodb::Client::new(&emu.sdk)
        .query()
        .table_name(table)
        .key_condition_expression("place = :p")
        .expression_attribute_values(":p", AttributeValue::S(place.to_string()))
        .send()
        .await
        .expect("Query");
    out.items()
        .iter()
        .map(|item| {
            let fields: serde_json::Map<String, Value> = item
                .iter()
                .filter_map(|(k, v)| match v {
                    AttributeValue::S(s) => Some((k.clone(), json!(s))),
                    AttributeValue::Bool(b) => Some((k.clone(), json!(b))),
                    AttributeValue::L(l) => Some((
                        k.clone(),
                        json!(l.iter().filter_map(|v| v.as_s().ok()).collect::<Vec<_>>()),
                    )),
                    _ => None,
                })
                .collect();
            Value::Object(fields)
        })
        .collect()
}

/// A log writer (`tracing_subscriber::fmt().with_writer(...)`) that keeps
/// everything written to it, for tests that read what a function logged (the unit tests have
/// the same in `access_guard::ports::fakes`).
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

/// Organizations as the emulator's account manages it (moto keeps one
/// organization per account, perhaps made by another test already): the
/// client, the root's id, and a new OU under the root.
pub async fn organization_with_new_ou(
    emu: &Emulator,
    ou_name: &str,
) -> (aws_sdk_organizations::Client, String, String) {
    let orgs = aws_sdk_organizations::Client::new(&emu.sdk);
    let _ = orgs
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await;
    let roots = orgs.list_roots().send().await.expect("ListRoots");
    let root = roots.roots()[0].id().expect("root id").to_string();
    let ou = orgs
        .create_organizational_unit()
        .parent_id(&root)
        .name(unique(ou_name))
        .send()
        .await
        .expect("CreateOrganizationalUnit")
        .organizational_unit()
        .and_then(|o| o.id())
        .expect("ou id")
        .to_string();
    (orgs, root, ou)
}

/// A new account of the organization, at its root.
pub async fn new_account(orgs: &aws_sdk_organizations::Client, name: &str) -> String {
    orgs.create_account()
        .email(format!("{}@example.com", unique(name)))
        .account_name(unique(name))
        .send()
        .await
        .expect("CreateAccount")
        .create_account_status()
        .and_then(|s| s.account_id())
        .expect("account id")
        .to_string()
}
