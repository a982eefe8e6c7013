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
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const REGION: &str = "eu-west-1";
    const ACCOUNT: &str = "111122223333";
    const CLUSTER: &str = "web";
    const ONE_TASK: &str =
        "arn:aws:ecs:eu-west-1:111122223333:task/web/0123456789abcdef0123456789abcdef";

    fn doc(name: &str, statements: Value) -> PolicyDocument {
        PolicyDocument::from_value(&json!({"Statement": statements}), "p")
            .unwrap()
            .named(name)
    }

    fn principal(
        kind: PrincipalKind,
        name: &str,
        documents: Vec<PolicyDocument>,
    ) -> PrincipalPolicies {
        PrincipalPolicies {
            kind,
            name: name.to_string(),
            arn: format!("arn:aws:iam::111122223333:{}/{name}", kind.word()),
            documents,
            groups: Vec::new(),
            boundary: Boundary::None,
        }
    }

    fn role(name: &str, statements: Value) -> PrincipalPolicies {
        principal(
            PrincipalKind::Role,
            name,
            vec![doc(&format!("inline policy {name}"), statements)],
        )
    }

    fn user_in(name: &str, groups: &[&str], statements: Value) -> PrincipalPolicies {
        let mut p = principal(
            PrincipalKind::User,
            name,
            vec![doc(&format!("inline policy {name}"), statements)],
        );
        p.groups = groups.iter().map(|g| g.to_string()).collect();
        p
    }

    fn group(name: &str, statements: Value) -> PrincipalPolicies {
        principal(
            PrincipalKind::Group,
            name,
            vec![doc(&format!("inline policy {name}"), statements)],
        )
    }

    fn exec(principals: &[PrincipalPolicies]) -> Vec<Allowance> {
        who_may_exec(REGION, ACCOUNT, CLUSTER, principals)
    }

    fn allow_exec() -> Value {
        json!([{"Effect": "Allow", "Action": "ecs:ExecuteCommand", "Resource": "*"}])
    }

    #[test]
    fn allows_that_reach_the_cluster_or_any_of_its_tasks() {
        let cluster = "arn:aws:ecs:eu-west-1:111122223333:cluster/web";
        for (statement, resource) in [
            (json!({"Action": "*", "Resource": "*"}), Some("*")),
            (json!({"Action": "ecs:*", "Resource": "*"}), Some("*")),
            (
                json!({"Action": "ecs:Execute*", "Resource": "*"}),
                Some("*"),
            ),
            (
                json!({"Action": "ECS:executecommand", "Resource": "*"}),
                Some("*"),
            ),
            (
                json!({"NotAction": ["iam:*", "s3:*"], "Resource": "*"}),
                Some("*"),
            ),
            (json!({"NotAction": "ecs:*", "Resource": "*"}), None),
            (
                json!({"Action": ["ecs:Describe*", "ecs:RunTask"], "Resource": "*"}),
                None,
            ),
            (
                json!({"Action": "ecs:ExecuteCommand"}),
                Some("* (no Resource)"),
            ),
            (
                json!({"Action": "ecs:ExecuteCommand", "Resource": cluster}),
                Some(cluster),
            ),
            (
                json!({"Action": "ecs:ExecuteCommand", "Resource": "arn:aws:ecs:eu-west-1:111122223333:task/web/*"}),
                Some("arn:aws:ecs:eu-west-1:111122223333:task/web/*"),
            ),
            (
                json!({"Action": "ecs:ExecuteCommand", "Resource": "arn:aws:ecs:*:111122223333:task/*"}),
                Some("arn:aws:ecs:*:111122223333:task/*"),
            ),
            (
                json!({"Action": "ecs:ExecuteCommand", "Resource": ONE_TASK}),
                Some(ONE_TASK),
            ),
            // The widest pattern is the one shown.
            (
                json!({"Action": "ecs:ExecuteCommand", "Resource": [ONE_TASK, "arn:aws:ecs:*:*:task/web/*", "*"]}),
                Some("arn:aws:ecs:*:*:task/web/*"),
            ),
            // Another cluster, region, account or partition: no allowance.
            (
                json!({"Action": "ecs:ExecuteCommand", "Resource": ["arn:aws:ecs:eu-west-1:111122223333:cluster/staging",
                    "arn:aws:ecs:eu-west-1:111122223333:task/staging/*"]}),
                None,
            ),
            (
                json!({"Action": "ecs:ExecuteCommand", "Resource": "arn:aws:ecs:eu-west-1:111122223333:task/web2/*"}),
                None,
            ),
            (
                json!({"Action": "ecs:ExecuteCommand", "Resource": "arn:aws:ecs:us-east-1:111122223333:task/web/*"}),
                None,
            ),
            (
                json!({"Action": "ecs:ExecuteCommand", "Resource": "arn:aws:ecs:eu-west-1:444455556666:cluster/web"}),
                None,
            ),
            (
                json!({"Action": "ecs:ExecuteCommand", "Resource": "arn:aws-cn:ecs:*:*:task/*"}),
                None,
            ),
            (
                json!({"Action": "ecs:ExecuteCommand", "NotResource": "arn:aws:ecs:*:*:cluster/staging"}),
                Some("NotResource [arn:aws:ecs:*:*:cluster/staging]"),
            ),
            (
                json!({"Action": "ecs:ExecuteCommand", "NotResource": [cluster, "arn:aws:ecs:*:*:task/web/*"]}),
                None,
            ),
        ] {
            let mut statement = statement;
            statement["Effect"] = json!("Allow");
            let got = exec(&[role("ops", json!([statement.clone()]))]);
            let shown: Vec<&str> = got.iter().map(|a| a.resource.as_str()).collect();
            assert_eq!(
                shown,
                resource.into_iter().collect::<Vec<_>>(),
                "{statement}"
            );
            for a in &got {
                assert_eq!(
                    (a.principal.as_str(), a.arn.as_str(), a.statement.as_str()),
                    (
                        "role ops",
                        "arn:aws:iam::111122223333:role/ops",
                        "inline policy ops, Statement[0]"
                    )
                );
                assert!(a.notes.is_empty(), "{a:?}");
            }
        }
    }

    #[test]
    fn the_partition_follows_the_region() {
        let p = [role(
            "ops",
            json!([{"Effect": "Allow", "Action": "ecs:ExecuteCommand",
                "Resource": "arn:aws-cn:ecs:cn-north-1:111122223333:task/web/*"}]),
        )];
        assert_eq!(who_may_exec("cn-north-1", ACCOUNT, CLUSTER, &p).len(), 1);
        assert!(who_may_exec("us-gov-west-1", ACCOUNT, CLUSTER, &p).is_empty());
    }

    #[test]
    fn a_user_holds_its_groups_policies_and_a_group_never_acts() {
        let admins = group(
            "admins",
            json!([{"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}]),
        );
        // A group alone: no one to act.
        assert!(exec(std::slice::from_ref(&admins)).is_empty());
        let alice = user_in(
            "alice",
            &["admins"],
            json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
        );
        let got = exec(&[admins.clone(), alice]);
        assert_eq!(
            got,
            [Allowance {
                principal: "user alice".to_string(),
                arn: "arn:aws:iam::111122223333:user/alice".to_string(),
                statement: "inline policy admins, Sid All".to_string(),
                via_group: Some("admins".to_string()),
                resource: "*".to_string(),
                conditions: Vec::new(),
                notes: Vec::new(),
            }]
        );
        // A role naming the group does not hold it.
        let mut r = role(
            "app",
            json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
        );
        r.groups = vec!["admins".to_string()];
        assert!(exec(&[admins, r]).is_empty());
    }

    #[test]
    fn a_group_not_read_is_an_allowance_not_judged() {
        let bob = user_in(
            "bob",
            &["ops"],
            json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
        );
        let got = exec(&[bob]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].statement, "group ops, not read");
        assert_eq!(got[0].via_group.as_deref(), Some("ops"));
        assert_eq!(got[0].resource, "unknown");
        assert_eq!(
            got[0].notes,
            ["the policies of group ops were not read: they may allow this"]
        );
    }

    #[test]
    fn a_deny_without_conditions_removes_what_it_covers() {
        let allow = json!({"Effect": "Allow", "Action": "ecs:*", "Resource": "*"});
        for deny in [
            json!({"Effect": "Deny", "Action": "*", "Resource": "*"}),
            json!({"Effect": "Deny", "Action": "ecs:ExecuteCommand"}),
            json!({"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}),
            json!({"Effect": "Deny", "Action": "ecs:Exec*", "Resource": [
                "arn:aws:ecs:eu-west-1:111122223333:cluster/web", "arn:aws:ecs:eu-west-1:111122223333:task/web/*"]}),
            json!({"Effect": "Deny", "Action": "ecs:ExecuteCommand", "NotResource": "arn:aws:ecs:*:*:cluster/staging"}),
        ] {
            assert!(
                exec(&[role("ops", json!([allow, deny]))]).is_empty(),
                "{deny}"
            );
        }
        // From a group, on the user's own allow.
        let deny_all = group(
            "locked",
            json!([{"Effect": "Deny", "Action": "ecs:*", "Resource": "*"}]),
        );
        let carol = user_in("carol", &["locked"], json!([allow]));
        assert!(exec(&[deny_all, carol]).is_empty());
        // A Deny of another action, or another cluster: no effect, no note.
        for deny in [
            json!({"Effect": "Deny", "Action": "ecs:RunTask", "Resource": "*"}),
            json!({"Effect": "Deny", "Action": "*", "Resource": "arn:aws:ecs:*:*:task/staging/*"}),
        ] {
            let got = exec(&[role("ops", json!([allow, deny]))]);
            assert_eq!(got.len(), 1, "{deny}");
            assert!(got[0].notes.is_empty(), "{deny}");
        }
        // A Deny that covers only the tasks leaves an allow on the cluster only.
        let got = exec(&[role(
            "ops",
            json!([
                {"Effect": "Allow", "Action": "ecs:*", "Resource": "arn:aws:ecs:eu-west-1:111122223333:cluster/web"},
                {"Effect": "Allow", "Action": "ecs:*", "Resource": "arn:aws:ecs:eu-west-1:111122223333:task/web/*"},
                {"Effect": "Deny", "Action": "*", "Resource": "arn:aws:ecs:*:*:task/*"},
            ]),
        )]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].statement, "inline policy ops, Statement[0]");
    }

    #[test]
    fn a_deny_that_may_not_apply_is_a_note() {
        let allow = json!({"Effect": "Allow", "Action": "*", "Resource": "*"});
        for (deny, note) in [
            (
                json!({"Sid": "Env", "Effect": "Deny", "Action": "ecs:ExecuteCommand", "Resource": "*",
                    "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}}}),
                "may be denied by inline policy ops, Sid Env when StringEquals aws:ResourceTag/env",
            ),
            // One task of the cluster only.
            (
                json!({"Effect": "Deny", "Action": "*", "Resource": ONE_TASK}),
                "may be denied by inline policy ops, Statement[1] on part of these resources",
            ),
            // Another case: IAM compares ARNs as written.
            (
                json!({"Effect": "Deny", "Action": "*", "Resource": ["arn:aws:ecs:*:*:cluster/WEB", "arn:aws:ecs:*:*:task/WEB/*"]}),
                "may be denied by inline policy ops, Statement[1] on part of these resources",
            ),
            // A policy variable: not known here.
            (
                json!({"Effect": "Deny", "Action": "*", "Resource": "arn:aws:ecs:*:*:${aws:PrincipalTag/cluster}"}),
                "may be denied by inline policy ops, Statement[1] on part of these resources",
            ),
        ] {
            let got = exec(&[role("ops", json!([allow, deny]))]);
            assert_eq!(got.len(), 1, "{deny}");
            assert_eq!(got[0].notes, [note], "{deny}");
        }
    }

    #[test]
    fn a_policy_variable_in_an_allow_is_taken_as_any_value() {
        let got = exec(&[role(
            "ops",
            json!([{"Effect": "Allow", "Action": "ecs:ExecuteCommand",
                "Resource": "arn:aws:ecs:*:*:task/${aws:PrincipalTag/cluster}/*"}]),
        )]);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].notes,
            ["its Resource has a policy variable, taken as any value"]
        );
    }

    #[test]
    fn conditions_are_reported_by_operator_and_key_never_value() {
        let mut ops = role(
            "ops",
            json!([
                {"Effect": "Allow", "Action": "ecs:ExecuteCommand", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"},
                               "Bool": {"aws:MultiFactorAuthPresent": "true"}}},
                {"Effect": "Deny", "Action": "*", "Resource": "*",
                 "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "prod"}}},
            ]),
        );
        ops.boundary = Boundary::Document(doc(
            "arn:aws:iam::111122223333:policy/fence (default version)",
            json!([{"Effect": "Allow", "Action": "ecs:*", "Resource": "*",
                "Condition": {"StringLike": {"ecs:cluster": "*prod*"}}}]),
        ));
        let got = exec(&[ops]);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].conditions,
            [
                "Bool aws:MultiFactorAuthPresent",
                "StringEquals aws:ResourceTag/env"
            ]
        );
        assert_eq!(
            got[0].notes,
            [
                "may be denied by inline policy ops, Statement[1] when StringNotEquals aws:PrincipalTag/team",
                "permission boundary arn:aws:iam::111122223333:policy/fence (default version) allows it only when StringLike ecs:cluster (Statement[0])",
            ]
        );
        assert!(!format!("{got:?}").contains("prod"), "{got:?}");
    }

    #[test]
    fn a_permission_boundary_removes_notes_or_is_reported_unread() {
        let with = |boundary: Boundary| {
            let mut ops = role("ops", allow_exec());
            ops.boundary = boundary;
            exec(&[ops])
        };
        let bounded = |statements: Value| with(Boundary::Document(doc("fence", statements)));
        // Allows it: kept, nothing to say.
        let got = bounded(json!([{"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}]));
        assert_eq!(got.len(), 1);
        assert!(got[0].notes.is_empty());
        // Does not allow it: removed.
        for statements in [
            json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
            json!([{"Effect": "Allow", "Action": "ecs:*", "Resource": "arn:aws:ecs:*:*:task/staging/*"}]),
            json!([{"Effect": "Allow", "Action": "*", "Resource": "*"},
                   {"Effect": "Deny", "Action": "ecs:ExecuteCommand", "Resource": "*"}]),
        ] {
            assert!(bounded(statements.clone()).is_empty(), "{statements}");
        }
        // Allows part of it.
        let got = bounded(
            json!([{"Effect": "Allow", "Action": "ecs:*", "Resource": "arn:aws:ecs:*:*:task/web/*"}]),
        );
        assert_eq!(
            got[0].notes,
            ["permission boundary fence allows it on part of these resources only"]
        );
        // Not read.
        let got = with(Boundary::Unread(
            "AccessDenied on GetPolicyVersion".to_string(),
        ));
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].notes,
            ["permission boundary not read (AccessDenied on GetPolicyVersion): it may deny this"]
        );
    }

    #[test]
    fn the_order_is_by_principal_then_statement_whatever_the_input_order() {
        let principals = vec![
            role(
                "zeta",
                json!([
                    {"Sid": "B", "Effect": "Allow", "Action": "ecs:*", "Resource": "*"},
                    {"Sid": "A", "Effect": "Allow", "Action": "*", "Resource": "*"},
                ]),
            ),
            user_in("alice", &["ops"], allow_exec()),
            group("ops", allow_exec()),
            role("beta", allow_exec()),
        ];
        let expected = [
            ("role beta", "inline policy beta, Statement[0]"),
            ("role zeta", "inline policy zeta, Sid A"),
            ("role zeta", "inline policy zeta, Sid B"),
            ("user alice", "inline policy alice, Statement[0]"),
            ("user alice", "inline policy ops, Statement[0]"),
        ];
        let mut reversed = principals.clone();
        reversed.reverse();
        for input in [principals, reversed] {
            let got = exec(&input);
            let order: Vec<(&str, &str)> = got
                .iter()
                .map(|a| (a.principal.as_str(), a.statement.as_str()))
                .collect();
            assert_eq!(order, expected);
        }
    }

    #[test]
    fn who_may_takes_any_action_and_concrete_arns() {
        let p = [role(
            "ci",
            json!([{"Effect": "Allow", "Action": "ecs:UpdateService",
                "Resource": "arn:aws:ecs:eu-west-1:111122223333:service/web/*"}]),
        )];
        let service = "arn:aws:ecs:eu-west-1:111122223333:service/web/api";
        assert_eq!(who_may("ecs:UpdateService", &[service], &p).len(), 1);
        assert!(who_may("ecs:ExecuteCommand", &[service], &p).is_empty());
        assert!(who_may(
            "ecs:UpdateService",
            &["arn:aws:ecs:eu-west-1:111122223333:service/web2/api"],
            &p
        )
        .is_empty());
    }
}
