//! No environment value of 8 characters or more ever appears verbatim in
//! what the guard produces: the JSON document (also the CLI's JSON line), the
//! SNS message (text and JSON bodies) and its subject.

use access_guard::model::event::Event;
use access_guard::output::notify::Notification;
use access_guard::policy::Policy;
use proptest::prelude::*;
use serde_json::json;

/// A well-formed fake of every provider format (checksums included), and of
/// every structured kind.
fn every_kind() -> impl Strategy<Value = String> {
    use access_guard::secrets::formats::{well_formed, FORMATS};
    prop_oneof![
        (0..FORMATS.len(), any::<u64>()).prop_map(|(i, seed)| well_formed(&FORMATS[i], seed)),
        "[A-Za-z0-9]{24}"
            .prop_map(|s| format!("https://hooks.slack.com/services/T04ABCDE12/B05FGHIJ34/{s}")),
        "[A-Za-z0-9_-]{33}".prop_map(|s| format!("123456789:AA{s}")),
        "[A-Za-z0-9+/]{86}".prop_map(|k| format!(
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={k}=="
        )),
        "[0-9a-f]{32}".prop_map(|k| format!("{k}-us21")),
        "[A-Za-z0-9]{12,30}"
            .prop_map(|p| format!("Server=db;Database=app;User Id=app;Password={p};")),
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        every_kind(),
        "[A-Za-z0-9+/]{8,60}",
        "[A-Z0-9]{16}".prop_map(|s| format!("AKIA{s}")),
        "[A-Za-z0-9]{8,20}".prop_map(|p| format!("postgres://app:{p}@db.internal:5432/app")),
        "[A-Za-z0-9]{36}".prop_map(|s| format!("ghp_{s}")),
        "[A-Za-z0-9_-]{12,30}".prop_map(|s| format!("eyJhbGciOiJIUzI1NiJ9.eyJ{s}.{s}")),
        "[ -~]{8,40}",
    ]
}

fn name() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("DB_PASSWORD"),
        Just("API_TOKEN"),
        Just("AWS_SECRET_ACCESS_KEY"),
        Just("AWS_ACCESS_KEY_ID"),
        Just("DATABASE_URL"),
        Just("CLIENT_SECRET"),
        Just("FEATURE_FLAGS"),
        Just("SESSION_SEED"),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn environment_values_are_never_repeated(vars in prop::collection::vec((name(), value()), 1..8)) {
        let environment: Vec<serde_json::Value> = vars.iter().map(|(n, v)| json!({"name": n, "value": v})).collect();
        let record = json!({"eventID": "ev", "eventName": "RegisterTaskDefinition", "recipientAccountId": "111122223333",
            "awsRegion": "eu-west-1", "requestParameters": {"family": "web", "containerDefinitions": [
                {"name": "app", "image": "nginx", "environment": environment}]}});
        let event = Event::from_value(&record, "prop").unwrap();
        let report = access_guard::guards::offline::evaluate(&event, &Policy::embedded(), time::macros::date!(2026 - 01 - 01)).unwrap();
        let notification = Notification::render(&report);
        let outputs = [report.to_json(), notification.message.clone(), notification.subject.clone()];
        for (_, v) in vars.iter().filter(|(_, v)| v.len() >= 8) {
            for out in &outputs {
                prop_assert!(!out.contains(v.as_str()), "value leaked into output");
                // Through JSON escaping too (a value with quotes or backslashes).
                let escaped = serde_json::to_string(v).unwrap();
                prop_assert!(!out.contains(escaped.trim_matches('"')), "escaped value leaked into output");
            }
        }
    }
}
