//! A deterministic CloudTrail archive in the S3 layout
//! (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz`, each file a
//! `{"Records": [...]}` log), with a realistic mix of management events and a
//! few planted findings.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";

/// A small deterministic generator (64-bit LCG): the same seed, the same archive.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 17
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// What was written.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    pub files: usize,
    pub records: usize,
    pub uncompressed_bytes: u64,
    pub compressed_bytes: u64,
    pub planted_findings: usize,
}

fn record(rng: &mut Lcg, n: u64, planted: &mut usize) -> Value {
    let identity = json!({"type": "AssumedRole", "principalId": format!("AROAEXAMPLE{:08}:session-{}", n % 97, n % 13),
        "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/Role{}/session-{}", n % 23, n % 13), "accountId": ACCOUNT,
        "accessKeyId": format!("ASIAEXAMPLE{:09}", n % 1_000_000),
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{ACCOUNT}:role/Role{}", n % 23)},
            "attributes": {"creationDate": "2026-11-02T08:00:00Z", "mfaAuthenticated": "false"}}});
    let (source, name, request, response) = match rng.below(1000) {
        // A planted world-open SSH rule, a privileged task definition, a public service.
        0 => {
            *planted += 1;
            (
                "ec2",
                "AuthorizeSecurityGroupIngress",
                json!({"groupId": format!("sg-{n:017x}"), "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                 "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}),
                json!({"_return": true, "securityGroupRuleSet": {"items": [{"groupId": format!("sg-{n:017x}"), "securityGroupRuleId": format!("sgr-{n:017x}"),
                 "isEgress": false, "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": "0.0.0.0/0"}]}}),
            )
        }
        1 => {
            *planted += 1;
            (
                "ecs",
                "RegisterTaskDefinition",
                json!({"family": format!("batch-{}", n % 50), "containerDefinitions": [{"name": "job", "image": format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/job:1.{}", n % 9),
                 "privileged": true, "user": "1000", "readonlyRootFilesystem": true, "logConfiguration": {"logDriver": "awslogs"}}]}),
                json!({"taskDefinition": {"taskDefinitionArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/batch-{}:{}", n % 50, n % 400)}}),
            )
        }
        2..=30 => (
            "ec2",
            "AuthorizeSecurityGroupIngress",
            json!({"groupId": format!("sg-{n:017x}"), "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                "ipRanges": {"items": [{"cidrIp": format!("10.{}.0.0/16", n % 256)}]}}]}}),
            json!({"_return": true}),
        ),
        31..=300 => (
            "sts",
            "AssumeRole",
            json!({"roleArn": format!("arn:aws:iam::{ACCOUNT}:role/Role{}", n % 23), "roleSessionName": format!("session-{}", n % 13), "durationSeconds": 3600}),
            json!({"credentials": {"accessKeyId": format!("ASIAEXAMPLE{:09}", n % 1_000_000), "expiration": "Nov 2, 2026, 10:00:00 AM", "sessionToken": "HIDDEN_DUE_TO_SECURITY_REASONS"},
                "assumedRoleUser": {"assumedRoleId": "AROAEXAMPLE:session", "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/Role{}/session", n % 23)}}),
        ),
        301..=650 => (
            "ec2",
            "DescribeInstances",
            json!({"instancesSet": {}, "filterSet": {"items": [{"name": "tag:team", "valueSet": {"items": [{"value": "orders"}]}}]}}),
            Value::Null,
        ),
        651..=800 => (
            "ecs",
            "DescribeServices",
            json!({"cluster": "prod", "services": [format!("svc-{}", n % 40)], "include": ["TAGS"]}),
            Value::Null,
        ),
        801..=900 => (
            "ec2",
            "CreateTags",
            json!({"resourcesSet": {"items": [{"resourceId": format!("i-{n:017x}")}]}, "tagSet": {"items": [{"key": "owner", "value": "team-orders"}]}}),
            json!({"_return": true}),
        ),
        901..=960 => (
            "ecs",
            "UpdateService",
            json!({"cluster": "prod", "service": format!("svc-{}", n % 40), "desiredCount": 2 + n % 5}),
            json!({"service": {"serviceName": format!("svc-{}", n % 40), "desiredCount": 2 + n % 5,
                "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}}}}),
        ),
        _ => (
            "kms",
            "Decrypt",
            json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:lambda:FunctionArn": format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:f{}", n % 30)}}),
            Value::Null,
        ),
    };
    json!({"eventVersion": "1.10", "userIdentity": identity, "eventTime": format!("2026-11-02T{:02}:{:02}:{:02}Z", (n / 3600) % 24, (n / 60) % 60, n % 60),
        "eventSource": format!("{source}.amazonaws.com"), "eventName": name, "awsRegion": REGION,
        "sourceIPAddress": format!("198.51.100.{}", n % 250), "userAgent": "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#arm64",
        "requestParameters": request, "responseElements": response,
        "requestID": format!("{:08x}-{:04x}-4000-8000-{:012x}", n, n % 65536, n), "eventID": format!("{:08x}-0000-4000-8000-{:012x}", n, n),
        "readOnly": name.starts_with("Describe") || name == "Decrypt", "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": ACCOUNT, "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": format!("{source}.{REGION}.amazonaws.com")}})
}

/// Writes files of `records_per_file` records until `target_bytes` of JSON
/// (uncompressed) are written. Returns the files and what they hold.
pub fn generate(
    root: &Path,
    target_bytes: u64,
    records_per_file: usize,
    seed: u64,
) -> std::io::Result<(Vec<PathBuf>, Written)> {
    let mut rng = Lcg::new(seed);
    let mut written = Written::default();
    let mut files = Vec::new();
    let mut n: u64 = 0;
    while written.uncompressed_bytes < target_bytes {
        let hour = files.len() / 12;
        let dir = root.join(format!(
            "AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2026/11/{:02}",
            1 + (hour / 24) % 28
        ));
        std::fs::create_dir_all(&dir)?;
        let records: Vec<Value> = (0..records_per_file)
            .map(|_| {
                n += 1;
                record(&mut rng, n, &mut written.planted_findings)
            })
            .collect();
        let body = serde_json::to_vec(&json!({"Records": records}))?;
        let path = dir.join(format!(
            "{ACCOUNT}_CloudTrail_{REGION}_20261102T{:04}Z_{:016x}.json.gz",
            files.len() % 10000,
            rng.next_u64()
        ));
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&path)?,
            flate2::Compression::default(),
        );
        gz.write_all(&body)?;
        let file = gz.finish()?;
        written.compressed_bytes += file.metadata()?.len();
        written.uncompressed_bytes += body.len() as u64;
        written.records += records_per_file;
        written.files += 1;
        files.push(path);
    }
    Ok((files, written))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_readable_by_the_cli_reader() {
        let dir = std::env::temp_dir().join(format!("access-guard-archive-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (files, written) = generate(&dir, 300_000, 200, 7).unwrap();
        assert!(written.uncompressed_bytes >= 300_000 && written.files == files.len());
        let mut records = 0;
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            let events = access_guard::model::stream::read_document(&bytes, "archive");
            assert!(events.iter().all(|e| e.is_ok()));
            records += events.len();
        }
        assert_eq!(records, written.records);
        let again =
            std::env::temp_dir().join(format!("access-guard-archive-{}-b", std::process::id()));
        let (_, second) = generate(&again, 300_000, 200, 7).unwrap();
        assert_eq!(
            (
                second.records,
                second.uncompressed_bytes,
                second.planted_findings
            ),
            (
                written.records,
                written.uncompressed_bytes,
                written.planted_findings
            )
        );
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&again);
    }
}
