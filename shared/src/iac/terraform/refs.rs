//! What a resource's arguments refer to in the same plan: the plan's
//! `configuration` keeps each argument's expression with its `references`
//! (`aws_security_group.web.id`), which is how a service names a group or
//! task definition that has no id until apply. Only references to managed
//! resources of the same plan are kept; variables, data sources, locals and
//! other modules' outputs are not followed.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

/// Each resource's `expressions` in the configuration, by its address with
/// its module path and without instance keys (`module.app.aws_ecs_service.web`).
pub(super) struct Configuration<'a> {
    expressions: HashMap<String, &'a Value>,
    /// Every address in `resource_changes`, to resolve a reference to the
    /// instances it may name.
    addresses: BTreeSet<String>,
}

impl<'a> Configuration<'a> {
    pub(super) fn read(plan: &'a Value) -> Self {
        let mut expressions = HashMap::new();
        if let Some(root) = plan.pointer("/configuration/root_module") {
            module(root, "", &mut expressions);
        }
        let addresses = plan
            .get("resource_changes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|rc| rc.get("address").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        Configuration {
            expressions,
            addresses,
        }
    }

    /// The addresses of the plan's resources that the argument at `path`
    /// (`network_configuration.security_groups`) of `address` refers to, in
    /// the order written.
    pub(super) fn references(&self, address: &str, path: &str) -> Vec<String> {
        let prefix = module_prefix(address);
        let mut out: Vec<String> = Vec::new();
        for reference in self.written(address, path) {
            for found in self.resolve(&prefix, reference) {
                if !out.contains(&found) {
                    out.push(found);
                }
            }
        }
        out
    }

    /// The references written at `path` (indices left out: `ingress[0].x`
    /// is `ingress.x`), without those that only repeat a longer one
    /// (`aws_security_group.web` beside `aws_security_group.web.id`).
    fn written(&self, address: &str, path: &str) -> Vec<&str> {
        let Some(expressions) = self.expressions.get(&without_keys(address)) else {
            return Vec::new();
        };
        let mut at: Vec<&Value> = vec![expressions];
        for key in without_keys(path).split('.') {
            at = at
                .into_iter()
                .flat_map(|v| match v {
                    Value::Array(blocks) => blocks.iter().filter_map(|b| b.get(key)).collect(),
                    other => other.get(key).into_iter().collect::<Vec<_>>(),
                })
                .collect();
        }
        let all: Vec<&str> = at
            .iter()
            .filter_map(|v| v.get("references").and_then(Value::as_array))
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        all.iter()
            .copied()
            .filter(|r| {
                !all.iter()
                    .any(|o| o.len() > r.len() && o.starts_with(&format!("{r}.")))
            })
            .collect()
    }

    /// True when the configuration of `address` is known and does not set
    /// the top-level argument `name`: the call does not carry it, and
    /// AWS's default applies, as for a CloudTrail record without it.
    pub(super) fn leaves_unset(&self, address: &str, name: &str) -> bool {
        self.expressions
            .get(&without_keys(address))
            .and_then(|e| e.as_object())
            .is_some_and(|e| !e.contains_key(name))
    }

    /// True when a rule resource of the plan (`aws_security_group_rule`,
    /// `aws_vpc_security_group_ingress_rule`) adds ingress to the group at
    /// `address`: the provider then keeps the group's inline `ingress`
    /// empty (the two cannot be mixed), whatever the configuration shows.
    pub(super) fn has_rule_resources(&self, address: &str) -> bool {
        self.expressions.keys().any(|config| {
            let kind = config.rsplit('.').nth(1).unwrap_or_default();
            matches!(
                kind,
                "aws_security_group_rule" | "aws_vpc_security_group_ingress_rule"
            ) && self
                .addresses
                .iter()
                .filter(|a| without_keys(a) == *config)
                .any(|rule| {
                    self.references(rule, "security_group_id")
                        .iter()
                        .any(|g| g == address)
                })
        })
    }

    /// True when the argument at `path` is written as the ids, ARNs or
    /// names of resources of the same plan (`[aws_security_group.web.id]`), which
    /// their addresses stand for until apply.
    pub(super) fn names_planned(&self, address: &str, path: &str) -> bool {
        let written = self.written(address, path);
        !written.is_empty()
            && written.iter().all(|reference| {
                let parts: Vec<&str> = reference.splitn(3, '.').collect();
                let attribute_is_a_name = match parts.get(2) {
                    None => true,
                    // A role is named by its name as well as by its id.
                    Some(attribute) => matches!(*attribute, "id" | "arn" | "name"),
                };
                attribute_is_a_name && !self.resolve(&module_prefix(address), reference).is_empty()
            })
    }

    /// `aws_security_group.web.id` in module `module.app.` → the planned
    /// instances it names (`module.app.aws_security_group.web`, or each of
    /// `…web[0]`, `…web[1]` when the reference has no key).
    fn resolve(&self, prefix: &str, reference: &str) -> Vec<String> {
        let mut parts = reference.splitn(3, '.');
        let (Some(kind), Some(name)) = (parts.next(), parts.next()) else {
            return Vec::new();
        };
        if !kind.starts_with("aws_") {
            return Vec::new();
        }
        let target = format!("{prefix}{kind}.{name}");
        if self.addresses.contains(&target) {
            return vec![target];
        }
        if name.contains('[') {
            return Vec::new();
        }
        let keyed = format!("{target}[");
        self.addresses
            .range(keyed.clone()..)
            .take_while(|a| a.starts_with(&keyed))
            .cloned()
            .collect()
    }
}

/// The resources of a configuration module and of the modules it calls.
fn module<'a>(m: &'a Value, prefix: &str, out: &mut HashMap<String, &'a Value>) {
    for r in m
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if r.get("mode").and_then(Value::as_str) == Some("data") {
            continue;
        }
        if let (Some(address), Some(expressions)) = (
            r.get("address").and_then(Value::as_str),
            r.get("expressions"),
        ) {
            out.insert(format!("{prefix}{address}"), expressions);
        }
    }
    if let Some(calls) = m.get("module_calls").and_then(Value::as_object) {
        for (name, call) in calls {
            if let Some(inner) = call.get("module") {
                module(inner, &format!("{prefix}module.{name}."), out);
            }
        }
    }
}

/// An address without its instance keys: `module.app["a"].aws_x.y[0]` →
/// `module.app.aws_x.y`.
pub(super) fn without_keys(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut depth = 0;
    let mut quoted = false;
    for c in address.chars() {
        match c {
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The module path of an address, with its instance keys, and a dot
/// (`module.app[0].`), or "" at the root.
fn module_prefix(address: &str) -> String {
    // The resource is the last `type.name` pair; what precedes it is the
    // module path (each `module.NAME[KEY]`).
    let mut segments: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut depth = 0;
    let mut quoted = false;
    for (i, c) in address.char_indices() {
        match c {
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth -= 1,
            '.' if depth == 0 => {
                segments.push(&address[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    segments.push(&address[start..]);
    if segments.len() <= 2 {
        return String::new();
    }
    let mut prefix = segments[..segments.len() - 2].join(".");
    prefix.push('.');
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn addresses_lose_their_keys_and_keep_their_module_path() {
        assert_eq!(
            without_keys(r#"module.app["a.b"].aws_ecs_service.web[0]"#),
            "module.app.aws_ecs_service.web"
        );
        assert_eq!(
            module_prefix(r#"module.app["a.b"].aws_ecs_service.web[0]"#),
            r#"module.app["a.b"]."#
        );
        assert_eq!(module_prefix("aws_ecs_service.web"), "");
    }

    #[test]
    fn a_reference_names_the_planned_resources_of_its_own_module() {
        let plan = json!({
            "resource_changes": [
                {"address": "module.app.aws_security_group.web"},
                {"address": "module.app.aws_security_group.extra[0]"},
                {"address": "module.app.aws_security_group.extra[1]"},
                {"address": "aws_security_group.web"},
                {"address": "module.app.aws_ecs_service.web"}],
            "configuration": {"root_module": {
                "resources": [{"address": "aws_security_group.web", "mode": "managed", "expressions": {}}],
                "module_calls": {"app": {"module": {"resources": [
                    {"address": "aws_ecs_service.web", "mode": "managed", "expressions": {
                        "network_configuration": [{"security_groups": {"references": [
                            "aws_security_group.web.id", "aws_security_group.web",
                            "aws_security_group.extra", "var.extra_groups",
                            "data.aws_security_group.shared.id"]}}],
                        "task_definition": {"references": ["aws_ecs_task_definition.app.arn"]}}}]}}}}}
        });
        let config = Configuration::read(&plan);
        assert_eq!(
            config.references(
                "module.app.aws_ecs_service.web",
                "network_configuration.security_groups"
            ),
            [
                "module.app.aws_security_group.web",
                "module.app.aws_security_group.extra[0]",
                "module.app.aws_security_group.extra[1]"
            ]
        );
        // Not in the plan: no reference made up.
        assert!(config
            .references("module.app.aws_ecs_service.web", "task_definition")
            .is_empty());
        assert!(config
            .references("aws_security_group.web", "ingress")
            .is_empty());
    }
}
