//! What the instance guard's tests share: events, a run of the guard with
//! fakes, and readers of what it did.

use serde_json::json;

use super::InstanceGuard;
use crate::guards::{GuardError, GuardSettings};
use crate::model::event::Event;
use crate::policy::Policy;
use crate::ports::fakes::{MemoryGroups, MemoryIam, MemoryInstances, MemoryNotifier, MemoryVpcs};
use crate::ports::AwsError;
use crate::report::Report;

pub(super) fn event(name: &str, request: serde_json::Value, response: serde_json::Value) -> Event {
    let record = json!({"eventID": "ev-ci", "eventName": name, "eventSource": "ec2.amazonaws.com",
        "recipientAccountId": "111122223333", "awsRegion": "eu-west-1",
        "requestParameters": request, "responseElements": response});
    Event::from_value(&record, "test").unwrap()
}

pub(super) fn rules_of(report: &Report) -> Vec<&str> {
    report.findings.iter().map(|f| f.rule).collect()
}

pub(super) fn imdsv1_public_launch() -> Event {
    event(
        "RunInstances",
        json!({"instancesSet": {"items": [{"imageId": "ami-1", "minCount": 1, "maxCount": 1, "keyName": "ops"}]},
               "networkInterfaceSet": {"items": [{"deviceIndex": 0, "subnetId": "subnet-1", "associatePublicIpAddress": true,
                   "groupSet": {"items": [{"groupId": "sg-1"}]}}]},
               "metadataOptions": {"httpTokens": "optional", "httpPutResponseHopLimit": 2}}),
        json!({"instancesSet": {"items": [{"instanceId": "i-1"}]}}),
    )
}

pub(super) fn denied(operation: &'static str) -> AwsError {
    AwsError {
        operation,
        code: Some("UnauthorizedOperation".into()),
        message: "no".into(),
        retryable: false,
    }
}

pub(super) async fn run(
    instances: &MemoryInstances,
    iam: &MemoryIam,
    e: &Event,
) -> (Result<Report, GuardError>, usize) {
    let notifier = MemoryNotifier::default();
    let policy = Policy::embedded();
    let settings = GuardSettings::default();
    let groups = MemoryGroups::default();
    let vpcs = MemoryVpcs::default();
    let result = InstanceGuard {
        instances,
        iam,
        groups: &groups,
        vpcs: &vpcs,
        notifier: &notifier,
        policy: &policy,
        settings: &settings,
    }
    .handle(e)
    .await;
    let sent = notifier.sent.lock().unwrap().len();
    (result, sent)
}
