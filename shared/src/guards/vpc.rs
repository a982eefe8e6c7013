//! The VPC side of the network guard (DESIGN §14): routes, route-table
//! associations, network ACL entries, subnets' public addresses and
//! internet gateways ▶ the NET rules. What a record cannot show (which
//! subnets a route table serves, what runs in them, whether a table routes
//! to the internet) the Lambda reads; offline it is named as not judged.

use crate::guards::failed_call;
use crate::model::event::Event;
use crate::model::json::FieldError;
use crate::model::vpc::NetChange;
use crate::policy::Policy;
use crate::report::Report;
use crate::rules::net::{NetContext, NetFacts};
use crate::rules::{self};

/// The VPC calls the network guard judges.
pub const CALLS: [(&str, &str); 8] = [
    ("ec2", crate::model::vpc::CREATE_ROUTE),
    ("ec2", crate::model::vpc::REPLACE_ROUTE),
    ("ec2", crate::model::vpc::ASSOCIATE_ROUTE_TABLE),
    ("ec2", crate::model::vpc::REPLACE_ROUTE_TABLE_ASSOCIATION),
    ("ec2", crate::model::vpc::CREATE_NETWORK_ACL_ENTRY),
    ("ec2", crate::model::vpc::REPLACE_NETWORK_ACL_ENTRY),
    ("ec2", crate::model::vpc::MODIFY_SUBNET_ATTRIBUTE),
    ("ec2", crate::model::vpc::ATTACH_INTERNET_GATEWAY),
];

/// The verdict on a change with what was read about it.
pub fn report_for(event: &Event, change: &NetChange, policy: &Policy, facts: &NetFacts) -> Report {
    let mut report = Report::for_event(event);
    report.resource = Some(change.resource());
    report.findings = rules::evaluate_net(change, &NetContext { policy, facts });
    report
}

/// What NET-001 needs that the record does not say, for this change.
pub fn needs_aws(change: &NetChange, facts: &NetFacts) -> Vec<String> {
    let mut notes = Vec::new();
    let table_unread = facts.internet_route.is_none();
    match change {
        NetChange::Association { route_table, .. } if table_unread => notes.push(format!(
            "NET-001 needs AWS: whether {route_table} routes to an internet gateway (the Lambda reads the table)"
        )),
        NetChange::AttachGateway { vpc, .. } if table_unread => notes.push(format!(
            "NET-001 needs AWS: whether {vpc}'s route tables send everything to the gateway (the Lambda reads them)"
        )),
        _ => {}
    }
    notes
}

/// The offline verdict (CLI): only what the event shows.
pub fn evaluate_offline(event: &Event, policy: &Policy) -> Result<Report, FieldError> {
    if let Some(reason) = failed_call(event, &[]) {
        return Ok(Report::skipped(event, reason));
    }
    let Some(change) = NetChange::from_event(event)? else {
        return Ok(Report::not_handled(event));
    };
    let facts = NetFacts::default();
    let mut report = report_for(event, &change, policy, &facts);
    report.notes = needs_aws(&change, &facts);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Event {
        let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        Event::from_value(&value, name).unwrap()
    }

    fn rules_of(report: &Report) -> Vec<&str> {
        report.findings.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn the_sample_events_give_the_net_rules_offline() {
        let policy = Policy::embedded();
        for (file, rules, notes) in [
            ("net-create-route-to-igw.json", vec!["NET-001"], 0),
            ("net-create-route-to-nat.json", vec![], 0),
            ("net-acl-entry-ssh-world.json", vec!["NET-002"], 0),
            ("net-acl-entry-udp-22.json", vec![], 0),
            ("net-subnet-map-public-ip.json", vec!["NET-003"], 0),
            ("net-associate-route-table.json", vec![], 1),
        ] {
            let report = evaluate_offline(&sample(file), &policy).unwrap();
            assert_eq!(rules_of(&report), rules, "{file}");
            assert_eq!(report.notes.len(), notes, "{file}: {:?}", report.notes);
        }
    }

    #[test]
    fn a_failed_call_is_skipped_and_other_events_are_not_handled() {
        let policy = Policy::embedded();
        let mut value: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!(
                "{}/../events/net-create-route-to-igw.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        )
        .unwrap();
        value["detail"]["errorCode"] = serde_json::json!("Client.UnauthorizedOperation");
        let report = evaluate_offline(&Event::from_value(&value, "t").unwrap(), &policy).unwrap();
        assert!(report.findings.is_empty());
        assert!(report.skipped.is_some(), "{report:?}");
    }
}
