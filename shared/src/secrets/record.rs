//! A copy of an event that can be kept where people and tools read it (the
//! failure queue, DESIGN §8): the request and the response of a record may
//! carry secrets (a task definition's `environment`, RunTask's overrides, a
//! log driver's options), so every string in them is redacted except the
//! values of keys known to hold identifiers, names and settings.

use serde_json::Value;

use super::redact;

/// Keys whose string values are identifiers or settings, never secrets: kept
/// as they are, so that the copy still says what the call was about.
const KEPT: &[&str] = &[
    "assignPublicIp",
    "cluster",
    "clusterArn",
    "clusterName",
    "containerName",
    "cpu",
    "executionRoleArn",
    "family",
    "group",
    "groupId",
    "image",
    "ipcMode",
    "launchType",
    "memory",
    "name",
    "networkMode",
    "pidMode",
    "platformFamily",
    "platformVersion",
    "protocol",
    "requiresCompatibilities",
    "revision",
    "securityGroups",
    "service",
    "serviceArn",
    "serviceName",
    "startedBy",
    "status",
    "subnets",
    "taskDefinition",
    "taskDefinitionArn",
    "taskRoleArn",
    "taskSet",
    "taskSetArn",
    "type",
    "user",
    "valueFrom",
];

/// Maps whose keys the user chooses (`dockerLabels`, a log driver's
/// `options`): a key there that happens to read `name` or `user` says
/// nothing of its value, so everything under them is redacted.
const USER_KEYED: &[&str] = &[
    "dockerLabels",
    "driverOpts",
    "labels",
    "options",
    "secretOptions",
    "tags",
];

/// The parts of a CloudTrail record that are the caller's input or AWS's
/// output, where a secret can sit.
const BODIES: [&str; 2] = ["requestParameters", "responseElements"];

/// `event` (an EventBridge envelope, or a bare CloudTrail record) with every
/// string of its request and response redacted but the values of `KEPT`
/// keys. Everything else of the record (who, where, when, the event id) is
/// kept.
pub fn redacted_event(event: &Value) -> Value {
    let mut copy = event.clone();
    let record = match copy.get_mut("detail") {
        Some(detail) => detail,
        None => &mut copy,
    };
    if let Value::Object(fields) = record {
        for body in BODIES {
            if let Some(value) = fields.get_mut(body) {
                redact_strings(value, Keys::Known);
            }
        }
    }
    copy
}

/// What the keys of the objects below say of their values.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// AWS's own field names: [`KEPT`] ones hold identifiers.
    Known,
    /// The value of a [`KEPT`] key: kept (a list of subnets, say).
    Kept,
    /// Keys the user chose: nothing below is kept.
    User,
}

fn redact_strings(value: &mut Value, keys: Keys) {
    match value {
        Value::String(text) if keys != Keys::Kept => *text = redact(text),
        Value::Array(items) => items.iter_mut().for_each(|v| redact_strings(v, keys)),
        Value::Object(fields) => {
            for (key, v) in fields.iter_mut() {
                let below = match keys {
                    Keys::User => Keys::User,
                    _ if USER_KEYED.contains(&key.as_str()) => Keys::User,
                    _ if KEPT.contains(&key.as_str()) => Keys::Kept,
                    _ => Keys::Known,
                };
                redact_strings(v, below);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_of_the_request_and_response_but_identifiers_is_redacted() {
        let password = "hunter2-but-longer";
        let token = super::super::formats::well_formed(&super::super::formats::FORMATS[0], 3);
        let event = serde_json::json!({
            "source": "aws.ecs",
            "detail": {
                "eventID": "ev-1",
                "eventName": "RegisterTaskDefinition",
                "userIdentity": {"arn": "arn:aws:iam::123456789012:user/alice"},
                "requestParameters": {
                    "family": "web",
                    "containerDefinitions": [{
                        "name": "app",
                        "image": "nginx:1.27",
                        "command": ["sh", "-c", format!("run --password {password}")],
                        "environment": [
                            {"name": "DB_PASSWORD", "value": password},
                            {"name": "TOKEN", "value": token},
                        ],
                        "dockerLabels": {"x": password, "name": password, "user": password},
                        "logConfiguration": {"logDriver": "splunk", "options": {"splunk-token": password, "type": password}},
                        "secrets": [{"name": "API", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/api"}],
                        "memory": 512
                    }]
                },
                "responseElements": {"taskDefinition": {"taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
                    "containerDefinitions": [{"environment": [{"name": "DB_PASSWORD", "value": password}]}]}}
            }
        });
        let copy = redacted_event(&event);
        let text = copy.to_string();
        assert!(!text.contains(password), "{text}");
        assert!(!text.contains(&token), "{text}");
        assert!(!text.contains("hunter"), "{text}");
        for kept in [
            "\"family\":\"web\"",
            "\"name\":\"DB_PASSWORD\"",
            "\"image\":\"nginx:1.27\"",
            "parameter/api",
            "task-definition/web:3",
            "\"memory\":512",
            "\"eventID\":\"ev-1\"",
            "user/alice",
        ] {
            assert!(text.contains(kept), "{kept} in {text}");
        }
        let env = &copy["detail"]["requestParameters"]["containerDefinitions"][0]["environment"];
        assert_eq!(env[0]["value"], redact(password));
        assert_eq!(env[1]["value"], redact(&token));
        // A bare record is redacted the same.
        let bare = redacted_event(&event["detail"]);
        assert!(!bare.to_string().contains(password));
    }
}
