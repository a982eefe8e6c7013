//! Who may do one action on some resources, judged from the account's
//! identity policies (as IAM's `GetAccountAuthorizationDetails` returns
//! them): the control-plane paths of the access map (DESIGN §15), first of
//! all who may open a shell in a task (`ecs:ExecuteCommand`).
//!
//! Each `Allow` statement that reaches the action and the resources is one
//! [`Allowance`], with its conditions (operator and key, never the values).
//! What takes it away is judged, never assumed:
//! - a `Deny` of the principal's own policies or its groups' without
//!   conditions that reaches every resource the `Allow` does removes it;
//! - a `Deny` with conditions, or one that reaches only part of those
//!   resources, is a note: it may deny, it may not;
//! - a permission boundary that allows none of it removes it; one that
//!   allows it only under conditions or on part of it, or that could not be
//!   read, is a note.
//!
//! Service control policies and session policies are not read here: what
//! is listed is what the identity policies allow.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::model::iam::document::{
    resource_reach, Effect, Patterns, PolicyDocument, Reach, Statement,
};

/// The action of ECS Exec.
pub const EXECUTE_COMMAND: &str = "ecs:ExecuteCommand";

/// What kind of IAM identity holds the policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrincipalKind {
    User,
    Role,
    Group,
}

impl PrincipalKind {
    fn word(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Role => "role",
            PrincipalKind::Group => "group",
        }
    }
}

/// A permission boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Boundary {
    None,
    Document(PolicyDocument),
    /// Set but not read: why.
    Unread(String),
}

/// A user, role or group with the identity policies it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalPolicies {
    pub kind: PrincipalKind,
    pub name: String,
    pub arn: String,
    /// Attached managed policies (their default version) and inline ones,
    /// each named (`PolicyDocument::named`): `arn:aws:iam::111122223333:policy/x
    /// (default version)`, `inline policy y`.
    pub documents: Vec<PolicyDocument>,
    /// A user's groups, by name; their documents are the user's too.
    pub groups: Vec<String>,
    pub boundary: Boundary,
}

/// One statement that lets a principal do the action on the resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    /// `role ops-admin`, `user alice`.
    pub principal: String,
    pub arn: String,
    /// `<document name>, <statement label>`.
    pub statement: String,
    /// The group whose policy it is, for a user.
    pub via_group: Option<String>,
    /// The statement's resource that reaches them: a pattern (`*`,
    /// `arn:aws:ecs:*:111122223333:task/*`), `NotResource [..]`, or
    /// `* (no Resource)`.
    pub resource: String,
    /// The statement's conditions, `StringEquals aws:ResourceTag/env`:
    /// operator and key, never the values.
    pub conditions: Vec<String>,
    /// What may take it away, or could not be judged.
    pub notes: Vec<String>,
}

/// Who may do `action` on any of `resources`: each principal's `Allow`
/// statements that reach them, less what a `Deny` or a permission boundary
/// certainly takes away (see the module's doc). Users and roles are listed,
/// never a group (it cannot act): a user holds its groups' policies, each
/// allowance naming the group it comes from. A user's group that is not
/// among `principals` was not read: it is listed as an allowance of that
/// user not judged (`group NAME, not read`, resource `unknown`).
///
/// A resource is one ARN, or, ending in `*`, any ARN that is the rest and
/// one more name (no `:` or `/`): ECS Exec asks about a cluster's ARN,
/// `arn:aws:ecs:REGION:ACCOUNT:cluster/NAME`, and any of its tasks,
/// `arn:aws:ecs:REGION:ACCOUNT:task/NAME/*` (see [`who_may_exec`]). A
/// statement reaches a resource when one of its patterns matches that ARN or
/// some ARN under that prefix (`task/NAME/*`, `task/*`, one task's ARN);
/// see [`resource_reach`].
///
/// Sorted by principal, then statement; the same input gives the same output.
pub fn who_may(
    action: &str,
    resources: &[&str],
    principals: &[PrincipalPolicies],
) -> Vec<Allowance> {
    let mut groups: BTreeMap<&str, &PrincipalPolicies> = BTreeMap::new();
    for p in principals.iter().filter(|p| p.kind == PrincipalKind::Group) {
        groups.entry(p.name.as_str()).or_insert(p);
    }
    let mut out = Vec::new();
    for p in principals.iter().filter(|p| p.kind != PrincipalKind::Group) {
        let mut held: Vec<(&PolicyDocument, Option<&str>)> =
            p.documents.iter().map(|d| (d, None)).collect();
        let mut unread_groups = Vec::new();
        if p.kind == PrincipalKind::User {
            for g in &p.groups {
                match groups.get(g.as_str()) {
                    Some(group) => {
                        held.extend(group.documents.iter().map(|d| (d, Some(g.as_str()))))
                    }
                    None => unread_groups.push(g.as_str()),
                }
            }
        }
        let denies: Vec<(&PolicyDocument, &Statement)> = held
            .iter()
            .flat_map(|(d, _)| d.statements.iter().map(move |s| (*d, s)))
            .filter(|(_, s)| s.effect == Effect::Deny && s.actions.matches(action))
            .collect();
        let principal = format!("{} {}", p.kind.word(), p.name);
        let mut allow = |statement: String,
                         via_group: Option<&str>,
                         resource: String,
                         conditions: Vec<String>,
                         mut notes: Vec<String>,
                         reached: &[&str]| {
            for (doc, deny) in &denies {
                match judge_deny(deny, reached) {
                    DenyJudgement::Removes => return,
                    DenyJudgement::May(why) => notes.push(format!(
                        "may be denied by {}, {} {why}",
                        doc_name(doc),
                        deny.label
                    )),
                    DenyJudgement::Misses => {}
                }
            }
            match &p.boundary {
                Boundary::None => {}
                Boundary::Unread(why) => notes.push(format!(
                    "permission boundary not read ({why}): it may deny this"
                )),
                Boundary::Document(b) => match judge_boundary(b, action, reached) {
                    Some(more) => notes.extend(more),
                    None => return,
                },
            }
            out.push(Allowance {
                principal: principal.clone(),
                arn: p.arn.clone(),
                statement,
                via_group: via_group.map(str::to_string),
                resource,
                conditions,
                notes,
            });
        };
        for (doc, via_group) in &held {
            for st in doc.statements.iter().filter(|s| s.effect == Effect::Allow) {
                if !st.actions.matches(action) {
                    continue;
                }
                let reached: Vec<&str> = resources
                    .iter()
                    .copied()
                    .filter(|r| statement_reach(st, r, true) != Reach::Nothing)
                    .collect();
                if reached.is_empty() {
                    continue;
                }
                let notes = if has_variable(st) {
                    vec!["its Resource has a policy variable, taken as any value".to_string()]
                } else {
                    Vec::new()
                };
                allow(
                    format!("{}, {}", doc_name(doc), st.label),
                    *via_group,
                    shown_resource(st, &reached),
                    st.conditions
                        .iter()
                        .map(|(op, key)| format!("{op} {key}"))
                        .collect(),
                    notes,
                    &reached,
                );
            }
        }
        for g in unread_groups {
            allow(
                format!("group {g}, not read"),
                Some(g),
                "unknown".to_string(),
                Vec::new(),
                vec![format!(
                    "the policies of group {g} were not read: they may allow this"
                )],
                resources,
            );
        }
    }
    out.sort_by(|a, b| {
        (&a.principal, &a.statement)
            .cmp(&(&b.principal, &b.statement))
            .then_with(|| {
                (&a.arn, &a.via_group, &a.resource, &a.conditions, &a.notes).cmp(&(
                    &b.arn,
                    &b.via_group,
                    &b.resource,
                    &b.conditions,
                    &b.notes,
                ))
            })
    });
    out.dedup();
    out
}

/// Who may open a shell (ECS Exec) in the tasks of cluster `cluster` (its
/// name) of `account` in `region`: [`who_may`] `ecs:ExecuteCommand` on the
/// cluster's ARN and any of its tasks' (`task/NAME/*`), in the region's
/// partition.
pub fn who_may_exec(
    region: &str,
    account: &str,
    cluster: &str,
    principals: &[PrincipalPolicies],
) -> Vec<Allowance> {
    let partition = partition_of(region);
    let cluster_arn = format!("arn:{partition}:ecs:{region}:{account}:cluster/{cluster}");
    let tasks = format!("arn:{partition}:ecs:{region}:{account}:task/{cluster}/*");
    who_may(EXECUTE_COMMAND, &[&cluster_arn, &tasks], principals)
}

/// The partition a region is in.
fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eu-isoe-") {
        "aws-iso-e"
    } else if region.starts_with("us-isof-") {
        "aws-iso-f"
    } else {
        "aws"
    }
}

fn doc_name(doc: &PolicyDocument) -> &str {
    doc.name.as_deref().unwrap_or("unnamed policy")
}

/// The pattern with its policy variables (`${aws:username}`) taken as any
/// value, and whether it had one.
fn resolved(pattern: &str) -> (Cow<'_, str>, bool) {
    if !pattern.contains("${") {
        return (Cow::Borrowed(pattern), false);
    }
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                out.push('*');
                rest = &rest[start + end + 1..];
            }
            None => {
                out.push('*');
                rest = "";
            }
        }
    }
    out.push_str(rest);
    (Cow::Owned(out), true)
}

/// How one pattern reaches the resource; a policy variable makes it part
/// at most, since what it stands for is not known here.
fn pattern_reach(pattern: &str, resource: &str, fold_case: bool) -> Reach {
    let (p, variable) = resolved(pattern);
    let reach = resource_reach(&p, resource, fold_case);
    if variable {
        reach.min(Reach::Part)
    } else {
        reach
    }
}

/// How a statement's `Resource` (or `NotResource`) reaches the resource.
fn statement_reach(st: &Statement, resource: &str, fold_case: bool) -> Reach {
    match &st.resources {
        None => Reach::All,
        Some(Patterns::Listed(ps)) => ps
            .iter()
            .map(|p| pattern_reach(p, resource, fold_case))
            .max()
            .unwrap_or(Reach::Nothing),
        Some(Patterns::AllBut(ps)) => {
            let reaches: Vec<Reach> = ps
                .iter()
                .map(|p| pattern_reach(p, resource, fold_case))
                .collect();
            if reaches.contains(&Reach::All) {
                Reach::Nothing
            } else if reaches.iter().all(|r| *r == Reach::Nothing) {
                Reach::All
            } else {
                Reach::Part
            }
        }
    }
}

fn has_variable(st: &Statement) -> bool {
    match &st.resources {
        None => false,
        Some(Patterns::Listed(ps) | Patterns::AllBut(ps)) => ps.iter().any(|p| p.contains("${")),
    }
}

/// The statement's resource as written, the widest-reaching pattern first.
fn shown_resource(st: &Statement, reached: &[&str]) -> String {
    match &st.resources {
        None => "* (no Resource)".to_string(),
        Some(Patterns::Listed(ps)) => {
            let reach = |p: &String| {
                reached
                    .iter()
                    .map(|r| pattern_reach(p, r, true))
                    .max()
                    .unwrap_or(Reach::Nothing)
            };
            // The first of the widest: `max_by_key` would take the last.
            let widest = ps.iter().map(reach).max().unwrap_or(Reach::Nothing);
            ps.iter()
                .find(|p| reach(p) == widest)
                .cloned()
                .unwrap_or_default()
        }
        Some(Patterns::AllBut(ps)) => format!("NotResource [{}]", ps.join(", ")),
    }
}

fn conditions_text(st: &Statement) -> String {
    st.conditions
        .iter()
        .map(|(op, key)| format!("{op} {key}"))
        .collect::<Vec<_>>()
        .join(", ")
}

enum DenyJudgement {
    /// Reaches none of the resources.
    Misses,
    /// Certainly denies all of them.
    Removes,
    /// May deny: the rest of the note.
    May(String),
}

/// A `Deny` (whose actions already match) against the resources an `Allow`
/// reaches. It removes the allowance only when it has no conditions and
/// reaches every one of them entirely, ARNs compared as IAM does.
fn judge_deny(deny: &Statement, reached: &[&str]) -> DenyJudgement {
    if !reached
        .iter()
        .any(|r| statement_reach(deny, r, true) != Reach::Nothing)
    {
        return DenyJudgement::Misses;
    }
    if !deny.conditions.is_empty() {
        return DenyJudgement::May(format!("when {}", conditions_text(deny)));
    }
    if reached
        .iter()
        .all(|r| statement_reach(deny, r, false) == Reach::All)
    {
        DenyJudgement::Removes
    } else {
        DenyJudgement::May("on part of these resources".to_string())
    }
}

/// A permission boundary against what an `Allow` reaches: `None` when it
/// certainly allows none of it, else the notes it adds.
fn judge_boundary(
    boundary: &PolicyDocument,
    action: &str,
    reached: &[&str],
) -> Option<Vec<String>> {
    let name = format!("permission boundary {}", doc_name(boundary));
    let mut notes = Vec::new();
    for deny in boundary
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Deny && s.actions.matches(action))
    {
        match judge_deny(deny, reached) {
            DenyJudgement::Removes => return None,
            DenyJudgement::May(why) => {
                notes.push(format!("may be denied by {name}, {} {why}", deny.label))
            }
            DenyJudgement::Misses => {}
        }
    }
    let allows: Vec<&Statement> = boundary
        .statements
        .iter()
        .filter(|s| {
            s.effect == Effect::Allow
                && s.actions.matches(action)
                && reached
                    .iter()
                    .any(|r| statement_reach(s, r, true) != Reach::Nothing)
        })
        .collect();
    if allows.is_empty() {
        return None;
    }
    let unconditional: Vec<&&Statement> =
        allows.iter().filter(|s| s.conditions.is_empty()).collect();
    if unconditional.is_empty() {
        let when: Vec<String> = allows
            .iter()
            .map(|s| format!("when {} ({})", conditions_text(s), s.label))
            .collect();
        notes.push(format!("{name} allows it only {}", when.join("; or ")));
    } else if !reached.iter().all(|r| {
        unconditional
            .iter()
            .any(|s| statement_reach(s, r, true) == Reach::All)
    }) {
        notes.push(format!("{name} allows it on part of these resources only"));
    }
    Some(notes)
}

#[cfg(test)]
mod tests;
