//! Terraform plans (`terraform show -json PLANFILE`): each resource change
//! that is not a deletion, read from `change.after` (`planned_values` are
//! the same values), as the record of the call that would make it:
//!
//! | resource | record |
//! | --- | --- |
//! | `aws_security_group` (inline `ingress`) | AuthorizeSecurityGroupIngress |
//! | `aws_security_group_rule` (`type = "ingress"`) | AuthorizeSecurityGroupIngress |
//! | `aws_vpc_security_group_ingress_rule` | AuthorizeSecurityGroupIngress |
//! | `aws_ecs_task_definition` | RegisterTaskDefinition |
//! | `aws_ecs_service` | CreateService |
//!
//! A group created in the same plan has no id yet: its address stands for
//! it. `change.after_unknown` marks what apply decides; such a value the
//! rules would judge is listed as unknown.

mod cluster;
mod ec2;
mod ecs;
mod elb;
mod iam;
mod instance;
mod refs;
mod vpc;

use serde_json::Value;

use super::Planned;
use crate::model::event::Event;

/// What is not judged though unknown: ids and ARNs AWS gives at creation,
/// the tags the provider adds.
const DECIDED_BY_AWS: &[&str] = &[
    "id",
    "arn",
    "arn_without_revision",
    "owner_id",
    "revision",
    "tags_all",
    "security_group_rule_id",
    "security_group_id",
    "task_role_arn",
    "execution_role_arn",
    "cluster",
    "task_definition",
    "iam_role",
    "vpc_id",
    "name_prefix",
    // A group's egress: the records of ingress do not carry it.
    "egress",
    // A service's platform version when not set (AWS picks LATEST), and
    // the redeployment triggers.
    "platform_version",
    "triggers",
    "arn_suffix",
    "dns_name",
    "zone_id",
    "load_balancer_arns",
    "unique_id",
    "create_date",
    "policy_id",
    "attachment_count",
    "latest_version",
    "default_version",
    "public_ip",
    "public_dns",
    "private_ip",
    "private_dns",
    "primary_network_interface_id",
    "instance_state",
    "password_data",
    "ipv6_cidr_block_association_id",
    // The order of a listener's actions, when not set.
    "order",
];

pub use super::UNKNOWN_UNTIL_APPLY;

/// The arguments the readers name by the addresses of the plan's
/// resources they refer to, when they are unknown until apply (paths
/// without indices).
const NAMED_BY_ADDRESS: &[(&str, &str)] = &[
    ("aws_ecs_service", "network_configuration.security_groups"),
    ("aws_ecs_service", "load_balancer.target_group_arn"),
    (
        "aws_vpc_security_group_ingress_rule",
        "referenced_security_group_id",
    ),
    ("aws_security_group_rule", "source_security_group_id"),
    ("aws_lb", "security_groups"),
    ("aws_alb", "security_groups"),
    ("aws_lb_listener", "load_balancer_arn"),
    ("aws_alb_listener", "load_balancer_arn"),
    ("aws_lb_listener", "default_action.target_group_arn"),
    ("aws_alb_listener", "default_action.target_group_arn"),
    ("aws_iam_role_policy", "role"),
    ("aws_iam_role_policy_attachment", "role"),
    ("aws_iam_role_policy_attachment", "policy_arn"),
];

/// The resources a plan would create or change that some guard judges, in
/// the plan's order; `Err` when the document is not a plan. `account` is the
/// account the plan deploys to, when known (its own ECR registry is
/// trusted); a plan does not say.
pub fn planned(plan: &Value, origin: &str, account: Option<&str>) -> Result<Vec<Planned>, String> {
    let account = account.unwrap_or("plan");
    let changes = plan
        .get("resource_changes")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            format!("{origin}: not a Terraform plan (no resource_changes: `terraform show -json PLANFILE` writes one)")
        })?;
    let configuration = refs::Configuration::read(plan);
    let afters: std::collections::HashMap<&str, &Value> = changes
        .iter()
        .filter_map(|rc| Some((rc.get("address")?.as_str()?, rc.pointer("/change/after")?)))
        .collect();
    let after_of = |address: &str| afters.get(address).map(|after| (*after).clone());
    let mut out = Vec::new();
    for (i, rc) in changes.iter().enumerate() {
        let address = rc
            .get("address")
            .and_then(Value::as_str)
            .map_or_else(|| format!("resource_changes[{i}]"), str::to_string);
        let kind = rc.get("type").and_then(Value::as_str).unwrap_or_default();
        let actions: Vec<&str> = rc
            .pointer("/change/actions")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if actions.iter().all(|a| *a == "delete") && !actions.is_empty() {
            continue;
        }
        let after = rc.pointer("/change/after").cloned().unwrap_or(Value::Null);
        let unknown_tree = rc
            .pointer("/change/after_unknown")
            .cloned()
            .unwrap_or(Value::Null);
        let mut unknown = Vec::new();
        unknown_paths(&unknown_tree, String::new(), &mut unknown);
        unknown.retain(|p| {
            let leaf = p
                .rsplit(['.', ']'])
                .find(|s| !s.is_empty() && !s.starts_with('['))
                .unwrap_or(p);
            let top = p.split(['.', '[']).next().unwrap_or(p);
            !DECIDED_BY_AWS.contains(&top) && !DECIDED_BY_AWS.contains(&leaf)
        });
        // An argument the configuration does not set is not in the call
        // (AWS's default applies); one written as the ids of resources of
        // the same plan is named by their addresses.
        unknown.retain(|p| {
            let top = p.split(['.', '[']).next().unwrap_or(p);
            // A group's inline ingress missing from the configuration may be
            // a dynamic block (the plan's configuration does not show those):
            // it is known empty only when rule resources manage the group.
            let unset = configuration.leaves_unset(&address, top)
                && !(kind == "aws_security_group"
                    && top == "ingress"
                    && !configuration.has_rule_resources(&address));
            let named = NAMED_BY_ADDRESS.contains(&(kind, refs::without_keys(p).as_str()))
                && configuration.names_planned(&address, p);
            !unset && !named
        });
        let unknown_at = |key: &str| {
            unknown.iter().any(|u| {
                u == key || u.starts_with(&format!("{key}.")) || u.starts_with(&format!("{key}["))
            })
        };
        let refers_to = |path: &str| configuration.references(&address, path);
        let resource = Resource {
            address: &address,
            after: &after,
            account,
            unknown_at: &unknown_at,
            refers_to: &refers_to,
            after_of: &after_of,
        };
        let records = match kind {
            "aws_security_group" => ec2::security_group(&resource),
            "aws_security_group_rule" => ec2::group_rule(&resource),
            "aws_vpc_security_group_ingress_rule" => ec2::ingress_rule(&resource),
            "aws_ecs_task_definition" => ecs::task_definition(&resource),
            "aws_ecs_service" => ecs::service(&resource),
            "aws_ecs_cluster" => cluster::cluster(&resource),
            "aws_ecs_cluster_capacity_providers" => cluster::cluster_capacity_providers(&resource),
            "aws_ecs_capacity_provider" => cluster::capacity_provider(&resource),
            "aws_ecs_account_setting_default" => cluster::account_setting_default(&resource),
            "aws_launch_template" => instance::launch_template(&resource),
            "aws_instance" => instance::instance(&resource),
            "aws_iam_role" => iam::role(&resource),
            "aws_iam_role_policy" => iam::role_policy(&resource),
            "aws_iam_policy" => iam::policy(&resource),
            "aws_iam_role_policy_attachment" => iam::role_policy_attachment(&resource),
            "aws_route" => vpc::route(&resource),
            "aws_route_table" => vpc::route_table(&resource),
            "aws_network_acl_rule" => vpc::network_acl_rule(&resource),
            "aws_network_acl" => vpc::network_acl(&resource),
            "aws_subnet" => vpc::subnet(&resource),
            "aws_lb" | "aws_alb" => elb::load_balancer(&resource),
            "aws_lb_listener" | "aws_alb_listener" => elb::listener(&resource),
            "aws_lb_listener_rule" | "aws_alb_listener_rule" => elb::listener_rule(&resource),
            "aws_lb_target_group" | "aws_alb_target_group" => elb::target_group(&resource),
            _ => continue,
        };
        let records = match records {
            Ok(records) => records.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e)],
        };
        for record in records {
            let event = record
                .and_then(|r| Event::from_value(&r, origin).map_err(|e| format!("{address}: {e}")));
            // A record that cannot be made because a value is unknown until
            // apply is unknown, not an error of the plan.
            let event = match event {
                Err(_) if !unknown.is_empty() => Err(format!(
                    "{address}: not judged: {} unknown until apply",
                    unknown.join(", ")
                )),
                other => other,
            };
            out.push(Planned {
                address: address.clone(),
                kind: kind.to_string(),
                event,
                unknown: unknown.clone(),
                line: None,
            });
        }
    }
    Ok(out)
}

/// A non-empty string at `key`.
fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Fails when a value the rules judge (at one of `paths`) is known only
/// after apply.
fn known<S: AsRef<str>>(r: &Resource, paths: &[S]) -> Result<(), String> {
    match paths.iter().map(AsRef::as_ref).find(|p| (r.unknown_at)(p)) {
        Some(p) => Err(format!("{}: {p} is not known until apply", r.address)),
        None => Ok(()),
    }
}

/// One resource change as the function that reads its kind sees it.
struct Resource<'a> {
    address: &'a str,
    /// `change.after`.
    after: &'a Value,
    account: &'a str,
    /// True when the value at a path (`network_configuration`) or under it
    /// is unknown until apply.
    unknown_at: &'a dyn Fn(&str) -> bool,
    /// The addresses of the plan's resources the argument at a path
    /// (`network_configuration.security_groups`) refers to.
    refers_to: &'a dyn Fn(&str) -> Vec<String>,
    /// Another resource of the plan's `change.after`, by address.
    after_of: &'a dyn Fn(&str) -> Option<Value>,
}

impl Resource<'_> {
    /// The plan's resource the argument at `path` refers to, and its
    /// `change.after`, when it refers to exactly one.
    fn referred(&self, path: &str) -> Option<(String, Value)> {
        match (self.refers_to)(path).as_slice() {
            [only] => (self.after_of)(only).map(|after| (only.clone(), after)),
            _ => None,
        }
    }
}

/// The paths of the `true` leaves of `after_unknown`.
fn unknown_paths(tree: &Value, at: String, out: &mut Vec<String>) {
    match tree {
        Value::Bool(true) => out.push(if at.is_empty() {
            "(all)".to_string()
        } else {
            at
        }),
        Value::Object(map) => {
            for (k, v) in map {
                let next = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                unknown_paths(v, next, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                unknown_paths(v, format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_kinds;
