//! An IAM policy document and what it grants that matters to ECS: admin-level
//! statements, service-wide wildcards (`ecs:*`, `iam:*`), `ecs:ExecuteCommand`
//! on all tasks, `iam:PassRole` on all roles together with task launch or
//! registration, and whether a role's trust policy lets ECS tasks assume it.
//!
//! This is not policy evaluation. Each grant comes from one `Allow`
//! statement, and is always reported; what narrows it is said next to it —
//! the statement's own `Condition` keys (never their values), and a `Deny`
//! of the same document that removes the whole grant ("removed by a Deny").
//! A `Deny` that removes only part of a grant is not mentioned: the grant is
//! as wide as its statement says.
//!
//! Matching is IAM's: actions case-insensitively, `*` any run of characters
//! and `?` one, anywhere in the pattern. A resource is "all resources" when
//! its pattern is `*`, or an ARN pattern whose region, account and resource
//! parts are wildcards (an account id counts as all of that account); narrower
//! ARN patterns are not "all".

use serde_json::Value;

use crate::model::json::{FieldError, Node};

/// The service principal of ECS tasks.
pub const ECS_TASKS: &str = "ecs-tasks.amazonaws.com";

/// The calls that start or define tasks: with `iam:PassRole` on all roles,
/// whoever holds them runs code as any role ECS tasks may assume.
pub const LAUNCH_ACTIONS: [&str; 5] = [
    "ecs:RunTask",
    "ecs:StartTask",
    "ecs:RegisterTaskDefinition",
    "ecs:CreateService",
    "ecs:UpdateService",
];

/// The services whose service-wide wildcard is reported.
pub const WATCHED_SERVICES: [&str; 2] = ["ecs", "iam"];

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action`/`Resource` (the listed patterns) or `NotAction`/`NotResource`
/// (everything but them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patterns {
    Listed(Vec<String>),
    AllBut(Vec<String>),
}

/// `Principal` (or `NotPrincipal`) of a trust-policy statement, as far as
/// the checks need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principal {
    /// `NotPrincipal`: everyone but the listed.
    pub not: bool,
    /// `"*"` or `{"AWS": "*"}`: anyone.
    pub any: bool,
    /// `Service` principals (`ecs-tasks.amazonaws.com`).
    pub services: Vec<String>,
}

/// One statement of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// How messages name it: `Sid X` when it has one, else `Statement[i]`.
    pub label: String,
    pub effect: Effect,
    pub actions: Patterns,
    /// `None` when it has neither `Resource` nor `NotResource` (trust
    /// policies); judged as all resources.
    pub resources: Option<Patterns>,
    pub principal: Option<Principal>,
    /// `(operator, key)` of each condition: the values are never kept.
    pub conditions: Vec<(String, String)>,
}

/// A policy document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyDocument {
    /// How messages name the document (`inline policy app`,
    /// `arn:aws:iam::111122223333:policy/ci (default version)`); set by
    /// whoever read it.
    pub name: Option<String>,
    pub statements: Vec<Statement>,
}

/// What a grant is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    /// Every action (`*`, `*:*`, or `NotAction`) on all resources.
    Admin,
    /// Every action of one of [`WATCHED_SERVICES`] on all its resources.
    ServiceWide(&'static str),
    /// `ecs:ExecuteCommand` on all tasks.
    ExecuteCommand,
    /// `iam:PassRole` on all roles, and one of [`LAUNCH_ACTIONS`] on any resource.
    PassRoleWithLaunch,
}

impl GrantKind {
    /// Admin-level or a service-wide wildcard (IAM-ECS-001, ECS-TD-021).
    pub fn is_admin_or_wildcard(self) -> bool {
        matches!(self, GrantKind::Admin | GrantKind::ServiceWide(_))
    }
}

/// One thing a document grants, and what narrows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub kind: GrantKind,
    /// The statement(s) that grant it (`Statement[0]`, `Sid Admin`).
    pub statement: String,
    /// What is granted on what (`Action * on *`, `ecs:ExecuteCommand on *
    /// (through ecs:*)`).
    pub what: String,
    /// What narrows it: its conditions' keys, a `Deny` removing it. Empty
    /// when nothing does.
    pub narrowed_by: Vec<String>,
}

impl Grant {
    /// `what`, then what narrows it.
    pub fn describe(&self) -> String {
        let mut out = self.what.clone();
        for note in &self.narrowed_by {
            out.push_str(", ");
            out.push_str(note);
        }
        out
    }
}

/// IAM's wildcard match: `*` any run of characters (also none), `?` exactly
/// one, ASCII case-insensitive (action names are). Linear in practice,
/// never worse than `pattern × text`.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// How much of a set of resources a `Resource` pattern reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reach {
    Nothing,
    /// Some of them, not all.
    Part,
    All,
}

/// How `pattern` (IAM wildcards, as [`wildcard_match`]) reaches what `arn`
/// names: one ARN, or — when `arn` ends in `*` — every ARN that is the rest
/// followed by one name, without `:` or `/`
/// (`arn:aws:ecs:eu-west-1:111122223333:task/web/*`, any task of cluster
/// web: its id). One ARN is reached all or nothing. Resource ARNs compare
/// case-sensitively, as IAM does; `fold_case` compares them as action
/// names are compared, to find what a pattern might reach.
pub fn resource_reach(pattern: &str, arn: &str, fold_case: bool) -> Reach {
    let fold = |c: char| if fold_case { c.to_ascii_lowercase() } else { c };
    let p: Vec<char> = pattern.chars().map(fold).collect();
    let (text, open) = match arn.strip_suffix('*') {
        Some(rest) => (rest, true),
        None => (arn, false),
    };
    // The positions in `p` the text read so far can end at; a `*` may
    // also match nothing, so it lets the next position in.
    let close = |states: &mut Vec<bool>| {
        for i in 0..p.len() {
            if states[i] && p[i] == '*' {
                states[i + 1] = true;
            }
        }
    };
    let mut states = vec![false; p.len() + 1];
    states[0] = true;
    close(&mut states);
    for c in text.chars().map(fold) {
        let mut next = vec![false; p.len() + 1];
        for i in 0..p.len() {
            if states[i] {
                if p[i] == '*' {
                    next[i] = true;
                } else if p[i] == '?' || p[i] == c {
                    next[i + 1] = true;
                }
            }
        }
        close(&mut next);
        if !next.contains(&true) {
            return Reach::Nothing;
        }
        states = next;
    }
    if !open {
        return if states[p.len()] {
            Reach::All
        } else {
            Reach::Nothing
        };
    }
    // What is left of the pattern takes any name when it is only `*`s;
    // it takes some (not empty) name when some is left that names
    // no `:` or `/` (a `?` or `*` takes any other character).
    let rest = |i: usize| &p[i..];
    if (0..p.len()).any(|i| states[i] && rest(i).iter().all(|&c| c == '*')) {
        Reach::All
    } else if (0..p.len()).any(|i| states[i] && !rest(i).iter().any(|&c| c == ':' || c == '/')) {
        Reach::Part
    } else {
        Reach::Nothing
    }
}

fn only_stars(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c == '*')
}

/// True when the action pattern matches every action of every service:
/// `*`, `*:*`, `**`. (Forms built with `?` are not recognised.)
fn is_all_actions(pattern: &str) -> bool {
    pattern.starts_with('*')
        && pattern.ends_with('*')
        && matches!(pattern.replace('*', "").as_str(), "" | ":")
}

/// True when the action pattern matches every action of `service`
/// (`ecs:*`, `ec?:*`, `e*`, `*`): it matches `service:` and ends with `*`,
/// so its last `*` can take any action name.
fn covers_service(pattern: &str, service: &str) -> bool {
    is_all_actions(pattern)
        || (pattern.ends_with('*') && wildcard_match(pattern, &format!("{service}:")))
}

/// Which resources a check needs to be "all".
#[derive(Debug, Clone, Copy)]
struct Scope {
    /// `None`: every service (admin-level).
    service: Option<&'static str>,
    /// Resource types whose `type/*` counts as all (`task`, `role`).
    types: &'static [&'static str],
}

const EVERYTHING: Scope = Scope {
    service: None,
    types: &[],
};
const EXEC_SCOPE: Scope = Scope {
    service: Some("ecs"),
    types: &["task"],
};
const PASS_ROLE_SCOPE: Scope = Scope {
    service: Some("iam"),
    types: &["role"],
};

fn service_scope(service: &'static str) -> Scope {
    Scope {
        service: Some(service),
        types: &[],
    }
}

/// True when the resource pattern covers every resource of the scope.
fn resource_covers(pattern: &str, scope: Scope) -> bool {
    if only_stars(pattern) {
        return true;
    }
    let segments: Vec<&str> = pattern.splitn(6, ':').collect();
    let segment_ok = |i: usize, s: &str| match i {
        0 => s.eq_ignore_ascii_case("arn") || only_stars(s),
        1 => true,
        2 => only_stars(s) || scope.service.is_some_and(|svc| wildcard_match(s, svc)),
        3 => s.is_empty() || only_stars(s),
        4 => {
            s.is_empty()
                || only_stars(s)
                || (s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()))
        }
        _ => {
            only_stars(s)
                || scope.types.iter().any(|t| {
                    s.split_once('/')
                        .is_some_and(|(ty, rest)| ty.eq_ignore_ascii_case(t) && only_stars(rest))
                })
        }
    };
    let last = segments.len() - 1;
    segments.iter().enumerate().all(|(i, s)| {
        // A short pattern (`arn:aws:*`) ends in a `*` that takes the rest.
        if i == last && last < 5 {
            only_stars(s)
        } else {
            segment_ok(i, s)
        }
    })
}

fn list(patterns: &[String]) -> String {
    format!("[{}]", patterns.join(", "))
}

fn conditions_note(conditions: &[(String, String)]) -> Option<String> {
    if conditions.is_empty() {
        return None;
    }
    let keys: Vec<String> = conditions
        .iter()
        .map(|(op, key)| format!("{key} ({op})"))
        .collect();
    let noun = if keys.len() == 1 {
        "a condition on"
    } else {
        "conditions on"
    };
    Some(format!("with {noun} {}", keys.join(", ")))
}

impl Patterns {
    /// True when `action` is one of them (`Listed`) or none of them (`AllBut`).
    pub fn matches(&self, action: &str) -> bool {
        match self {
            Patterns::Listed(ps) => ps.iter().any(|p| wildcard_match(p, action)),
            Patterns::AllBut(ps) => !ps.iter().any(|p| wildcard_match(p, action)),
        }
    }

    /// How `action` is granted: `None` when it is not, `""` when named as
    /// is, ` (through ecs:*)` when through a wildcard or `NotAction`.
    fn through(&self, action: &str) -> Option<String> {
        match self {
            Patterns::Listed(ps) => ps.iter().find(|p| wildcard_match(p, action)).map(|p| {
                if p.eq_ignore_ascii_case(action) {
                    String::new()
                } else {
                    format!(" (through {p})")
                }
            }),
            Patterns::AllBut(ps) => self
                .matches(action)
                .then(|| format!(" (through NotAction {})", list(ps))),
        }
    }

    /// As an `Allow`: every action, said as written (`Action *`,
    /// `NotAction [iam:*]`); `None` when not.
    fn every_action(&self) -> Option<String> {
        match self {
            Patterns::Listed(ps) => ps
                .iter()
                .find(|p| is_all_actions(p))
                .map(|p| format!("Action {p}")),
            // Anything not listed, unless what is listed is everything.
            Patterns::AllBut(ps) => {
                (!ps.iter().any(|p| is_all_actions(p))).then(|| format!("NotAction {}", list(ps)))
            }
        }
    }

    /// As a `Deny`: certainly every action (a `NotAction` deny leaves some out).
    fn denies_everything(&self) -> bool {
        match self {
            Patterns::Listed(ps) => ps.iter().any(|p| is_all_actions(p)),
            Patterns::AllBut(ps) => ps.is_empty(),
        }
    }

    /// The listed pattern that covers all of `service` (`ecs:*`).
    fn service_wide(&self, service: &str) -> Option<&str> {
        match self {
            Patterns::Listed(ps) => ps
                .iter()
                .find(|p| covers_service(p, service))
                .map(String::as_str),
            Patterns::AllBut(ps) => ps.is_empty().then_some("NotAction []"),
        }
    }
}

impl Statement {
    /// The resources when they are all of `scope`, said as written (`*`,
    /// `NotResource [..]`); `None` when narrower.
    fn all_resources(&self, scope: Scope) -> Option<String> {
        match &self.resources {
            None => Some("* (no Resource)".to_string()),
            Some(Patterns::Listed(ps)) => ps.iter().find(|p| resource_covers(p, scope)).cloned(),
            Some(Patterns::AllBut(ps)) => {
                (!ps.iter().any(|p| only_stars(p))).then(|| format!("NotResource {}", list(ps)))
            }
        }
    }

    /// Certainly all resources of `scope` (for a `Deny`).
    fn certainly_all_resources(&self, scope: Scope) -> bool {
        match &self.resources {
            None => true,
            Some(Patterns::Listed(ps)) => ps.iter().any(|p| resource_covers(p, scope)),
            Some(Patterns::AllBut(ps)) => ps.is_empty(),
        }
    }

    /// True when its principal names `service` (or anyone).
    fn names_service(&self, service: &str) -> bool {
        let Some(p) = &self.principal else {
            return false;
        };
        let named = p.any
            || p.services.iter().any(|s| {
                s.eq_ignore_ascii_case(service)
                    || s.to_ascii_lowercase()
                        .strip_suffix(".cn")
                        .is_some_and(|s| s == service)
            });
        named != p.not
    }

    fn from_json(node: &Node<'_>, index: usize) -> Result<Statement, FieldError> {
        if node.object()?.is_none() {
            return Err(node.error("expected a statement object"));
        }
        let effect_node = node.get("Effect");
        let effect = match effect_node.required_str()? {
            e if e.eq_ignore_ascii_case("Allow") => Effect::Allow,
            e if e.eq_ignore_ascii_case("Deny") => Effect::Deny,
            other => {
                return Err(effect_node.error(format!("expected Allow or Deny, found {other:?}")))
            }
        };
        let actions = match either(node, "Action", "NotAction")? {
            Some(actions) => actions,
            None => return Err(node.error("neither Action nor NotAction")),
        };
        let resources = either(node, "Resource", "NotResource")?;
        let principal = match (node.get("Principal"), node.get("NotPrincipal")) {
            (p, n) if p.is_present() && n.is_present() => {
                return Err(node.error("both Principal and NotPrincipal"))
            }
            (p, _) if p.is_present() => Some(principal(&p, false)?),
            (_, n) if n.is_present() => Some(principal(&n, true)?),
            _ => None,
        };
        let mut conditions = Vec::new();
        let condition = node.get("Condition");
        if let Some(operators) = condition.object()? {
            for (operator, keys) in operators {
                let keys_node = condition.get(operator);
                let Some(keys) = keys.as_object() else {
                    return Err(keys_node.error(format!(
                        "expected an object of condition keys, found {}",
                        crate::model::json::kind(keys)
                    )));
                };
                conditions.extend(keys.keys().map(|k| (operator.clone(), k.clone())));
            }
        }
        let label = match node.get("Sid").value().and_then(Value::as_str) {
            Some(sid) if !sid.is_empty() => format!("Sid {sid}"),
            _ => format!("Statement[{index}]"),
        };
        Ok(Statement {
            label,
            effect,
            actions,
            resources,
            principal,
            conditions,
        })
    }
}

/// A string or a list of strings.
fn strings(node: &Node<'_>) -> Result<Vec<String>, FieldError> {
    match node.value() {
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(values)) => values
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(FieldError {
                    path: format!("{}[{i}]", node.path()),
                    problem: format!(
                        "expected a string, found {}",
                        crate::model::json::kind(other)
                    ),
                }),
            })
            .collect(),
        Some(other) => Err(node.error(format!(
            "expected a string or a list of strings, found {}",
            crate::model::json::kind(other)
        ))),
        None => Ok(Vec::new()),
    }
}

/// `Action`/`NotAction` (or `Resource`/`NotResource`): one of the two, or none.
fn either(node: &Node<'_>, listed: &str, all_but: &str) -> Result<Option<Patterns>, FieldError> {
    let (l, a) = (node.get(listed), node.get(all_but));
    match (l.is_present(), a.is_present()) {
        (true, true) => Err(node.error(format!("both {listed} and {all_but}"))),
        (true, false) => Ok(Some(Patterns::Listed(strings(&l)?))),
        (false, true) => Ok(Some(Patterns::AllBut(strings(&a)?))),
        (false, false) => Ok(None),
    }
}

fn principal(node: &Node<'_>, not: bool) -> Result<Principal, FieldError> {
    let mut out = Principal {
        not,
        ..Principal::default()
    };
    match node.value() {
        Some(Value::String(s)) if s == "*" => out.any = true,
        Some(Value::Object(map)) => {
            for key in map.keys() {
                let values = strings(&node.get(key))?;
                match key.as_str() {
                    "AWS" if values.iter().any(|v| v == "*") => out.any = true,
                    "Service" => out.services.extend(values),
                    _ => {}
                }
            }
        }
        Some(other) => {
            return Err(node.error(format!(
                "expected \"*\" or an object, found {}",
                crate::model::json::kind(other)
            )))
        }
        None => {}
    }
    Ok(out)
}

/// Decodes `%XX` escapes (RFC 3986, what IAM uses); `plus_is_space` also
/// reads `+` as a space (HTML forms). `None` for a broken escape.
fn percent_decode(text: &str, plus_is_space: bool) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

impl PolicyDocument {
    /// Reads `policyDocument` as CloudTrail carries it: a JSON string, a
    /// URL-encoded JSON string (`%7B%22Version%22…`), or an object. Absent,
    /// trimmed by CloudTrail (`{"omitted": true}`) or unreadable is an error
    /// naming the field, never an empty document.
    pub fn from_node(node: &Node<'_>) -> Result<PolicyDocument, FieldError> {
        match node.value() {
            None => Err(node.error("missing")),
            Some(Value::String(text)) => PolicyDocument::parse_text(text, node.path()),
            Some(value @ Value::Object(_)) if !node.is_omitted() => {
                PolicyDocument::from_value(value, node.path())
            }
            Some(Value::Object(_)) => Err(node.error("omitted by CloudTrail")),
            Some(other) => Err(node.error(format!(
                "expected a policy document, found {}",
                crate::model::json::kind(other)
            ))),
        }
    }

    /// Reads a document from its text, plain or URL-encoded (as IAM's
    /// `GetRolePolicy`, `GetPolicyVersion` and `GetRole` return it). `path`
    /// names where it came from in errors.
    pub fn parse_text(text: &str, path: &str) -> Result<PolicyDocument, FieldError> {
        let fail = |problem: String| FieldError {
            path: if path.is_empty() {
                "(root)".to_string()
            } else {
                path.to_string()
            },
            problem,
        };
        let trimmed = text.trim();
        let value: Value = if trimmed.starts_with('{') {
            crate::model::json::parse_strict(trimmed)
                .map_err(|e| fail(format!("not a JSON policy document: {e}")))?
        } else if trimmed.starts_with('%') {
            let parse = |plus_is_space: bool| -> Result<Value, String> {
                let bytes = percent_decode(trimmed, plus_is_space)
                    .ok_or_else(|| "a broken %-escape".to_string())?;
                let decoded = String::from_utf8(bytes)
                    .map_err(|_| "URL-decodes to invalid UTF-8".to_string())?;
                crate::model::json::parse_strict(&decoded).map_err(|e| e.to_string())
            };
            // IAM encodes as RFC 3986 (a space is %20): `+` is literal. A
            // document encoded as a form (`+` for space) is read as such
            // when the literal reading is not JSON.
            parse(false)
                .or_else(|first| parse(true).map_err(|_| first))
                .map_err(|e| fail(format!("not a URL-encoded JSON policy document: {e}")))?
        } else if trimmed.is_empty() {
            return Err(fail("empty policy document".to_string()));
        } else {
            return Err(fail(
                "expected a JSON policy document, plain or URL-encoded".to_string(),
            ));
        };
        if !value.is_object() {
            return Err(fail(format!(
                "expected a policy document object, found {}",
                crate::model::json::kind(&value)
            )));
        }
        if value.get("omitted").and_then(Value::as_bool) == Some(true) {
            return Err(fail("omitted by CloudTrail".to_string()));
        }
        PolicyDocument::from_value(&value, path)
    }

    /// Reads a parsed document; errors name `path` and the field under it.
    pub fn from_value(value: &Value, path: &str) -> Result<PolicyDocument, FieldError> {
        let root = Node::root(value, path);
        if root.object()?.is_none() {
            return Err(root.error("expected a policy document object"));
        }
        if root.is_omitted() {
            return Err(root.error("omitted by CloudTrail"));
        }
        let statement = root.get("Statement");
        if !statement.is_present() {
            return Err(statement.error("missing"));
        }
        let statements = statement
            .one_or_many()?
            .iter()
            .enumerate()
            .map(|(i, s)| Statement::from_json(s, i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PolicyDocument {
            name: None,
            statements,
        })
    }

    /// The same document, named for messages.
    pub fn named(mut self, name: impl Into<String>) -> PolicyDocument {
        self.name = Some(name.into());
        self
    }

    fn allows(&self) -> impl Iterator<Item = &Statement> {
        self.statements.iter().filter(|s| s.effect == Effect::Allow)
    }

    /// "removed by a Deny (…)" for each `Deny` that removes what `covers` says.
    fn denials(&self, covers: impl Fn(&Statement) -> bool) -> Vec<String> {
        self.statements
            .iter()
            .filter(|s| s.effect == Effect::Deny && covers(s))
            .map(|s| match conditions_note(&s.conditions) {
                Some(c) => format!("removed by a Deny ({}) {c}", s.label),
                None => format!("removed by a Deny ({})", s.label),
            })
            .collect()
    }

    fn grant(
        &self,
        kind: GrantKind,
        statement: &Statement,
        what: String,
        removed_by: impl Fn(&Statement) -> bool,
    ) -> Grant {
        let mut narrowed_by: Vec<String> =
            conditions_note(&statement.conditions).into_iter().collect();
        narrowed_by.extend(self.denials(removed_by));
        Grant {
            kind,
            statement: statement.label.clone(),
            what,
            narrowed_by,
        }
    }

    /// Everything the document grants that matters to ECS, statement by
    /// statement: admin-level, else service-wide wildcards; `ecs:ExecuteCommand`
    /// on all tasks; and, once per document, `iam:PassRole` on all roles with
    /// task launch or registration.
    pub fn grants(&self) -> Vec<Grant> {
        let mut out = Vec::new();
        for st in self.allows() {
            if let (Some(actions), Some(resources)) =
                (st.actions.every_action(), st.all_resources(EVERYTHING))
            {
                out.push(self.grant(
                    GrantKind::Admin,
                    st,
                    format!("{actions} on {resources}"),
                    |deny| {
                        deny.actions.denies_everything() && deny.certainly_all_resources(EVERYTHING)
                    },
                ));
            } else {
                for service in WATCHED_SERVICES {
                    let scope = service_scope(service);
                    if let (Some(pattern), Some(resources)) =
                        (st.actions.service_wide(service), st.all_resources(scope))
                    {
                        out.push(self.grant(
                            GrantKind::ServiceWide(service),
                            st,
                            format!("{pattern} on {resources}"),
                            |deny| {
                                (deny.actions.denies_everything()
                                    || deny.actions.service_wide(service).is_some())
                                    && deny.certainly_all_resources(scope)
                            },
                        ));
                    }
                }
            }
            if let (Some(through), Some(resources)) = (
                st.actions.through("ecs:ExecuteCommand"),
                st.all_resources(EXEC_SCOPE),
            ) {
                out.push(self.grant(
                    GrantKind::ExecuteCommand,
                    st,
                    format!("ecs:ExecuteCommand on {resources}{through}"),
                    |deny| {
                        deny.actions.matches("ecs:ExecuteCommand")
                            && deny.certainly_all_resources(EXEC_SCOPE)
                    },
                ));
            }
        }
        out.extend(self.pass_role_with_launch());
        out
    }

    /// `iam:PassRole` on all roles together with a launch action: the
    /// statements least narrowed (no condition first) are the ones named.
    fn pass_role_with_launch(&self) -> Option<Grant> {
        let least_narrowed =
            |a: &&Statement, b: &&Statement| a.conditions.len().cmp(&b.conditions.len());
        let pass = self
            .allows()
            .filter(|s| {
                s.actions.matches("iam:PassRole") && s.all_resources(PASS_ROLE_SCOPE).is_some()
            })
            .min_by(least_narrowed)?;
        let launched: Vec<(&str, &Statement)> = LAUNCH_ACTIONS
            .iter()
            .filter_map(|action| {
                self.allows()
                    .filter(|s| s.actions.matches(action))
                    .min_by(least_narrowed)
                    .map(|s| (*action, s))
            })
            .collect();
        if launched.is_empty() {
            return None;
        }
        let resources = pass.all_resources(PASS_ROLE_SCOPE).unwrap_or_default();
        let through = pass.actions.through("iam:PassRole").unwrap_or_default();
        let actions: Vec<&str> = launched.iter().map(|(a, _)| *a).collect();
        let what = format!(
            "iam:PassRole on {resources}{through} with {}",
            actions.join(", ")
        );
        let mut involved: Vec<&Statement> = vec![pass];
        for (_, s) in &launched {
            if !involved.iter().any(|x| std::ptr::eq(*x, *s)) {
                involved.push(*s);
            }
        }
        // Each statement's conditions, named by statement when several take part.
        let mut narrowed_by: Vec<String> = involved
            .iter()
            .filter_map(|s| {
                conditions_note(&s.conditions).map(|note| {
                    if involved.len() > 1 {
                        format!("{note} ({})", s.label)
                    } else {
                        note
                    }
                })
            })
            .collect();
        narrowed_by.extend(self.denials(|deny| {
            (deny.actions.matches("iam:PassRole") && deny.certainly_all_resources(PASS_ROLE_SCOPE))
                || (actions.iter().all(|a| deny.actions.matches(a))
                    && deny.certainly_all_resources(service_scope("ecs")))
        }));
        Some(Grant {
            kind: GrantKind::PassRoleWithLaunch,
            statement: involved
                .iter()
                .map(|s| s.label.as_str())
                .collect::<Vec<_>>()
                .join(" + "),
            what,
            narrowed_by,
        })
    }

    /// A trust policy lets `service` assume the role: an `Allow` of
    /// `sts:AssumeRole` to it (or to anyone), and no unconditional `Deny` of it.
    pub fn trusts_service(&self, service: &str) -> bool {
        let assumes =
            |s: &Statement| s.names_service(service) && s.actions.matches("sts:AssumeRole");
        self.allows().any(assumes)
            && !self
                .statements
                .iter()
                .any(|s| s.effect == Effect::Deny && s.conditions.is_empty() && assumes(s))
    }

    /// A trust policy lets ECS tasks assume the role.
    pub fn trusts_ecs_tasks(&self) -> bool {
        self.trusts_service(ECS_TASKS)
    }
}

#[cfg(test)]
mod tests;
