use super::SgContext;
use crate::finding::{Action, Severity};
use crate::model::sg::{SgRule, DEFAULT_GROUP_NAME};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags every ingress rule added to a group named `default`: the default
    /// security group every VPC has (no other group may take the name). The
    /// name comes from the record (`groupName`) or, in the Lambda, from
    /// `DescribeSecurityGroups`; offline, a record without it cannot be
    /// judged and the report says so. The sweep flags the default groups'
    /// current ingress rules, the self-reference AWS creates included.
    ///
    /// ## Why is this bad?
    /// Every resource launched without a security group lands in the default
    /// group: an ingress rule there opens resources nobody chose to open
    /// (an awsvpc service without `securityGroups`, ECS-SVC-003, is one).
    ///
    /// ## Example
    /// `AuthorizeSecurityGroupIngress` with `groupName: "default"`, `tcp 443 from 10.0.0.0/8`.
    ///
    /// ## Fix
    /// Remove every rule from the default groups; give each workload a group
    /// of its own.
    ///
    /// ## References
    /// Security Hub EC2.2; CIS AWS Foundations 5.4.
    pub static DEFAULT_GROUP = {
        id: "EC2-SG-010",
        title: "Rule added to a VPC default security group",
        severity: Severity::High,
        action: Action::Notify,
        anchors: &["SH EC2.2", "CIS 5.4"],
        remediation: "Remove the rule from the default group; give the workload a security group of its own.",
        check: crate::rules::Check::SgIngress(evaluate),
    }
}

/// Pure check: the rule sits in a group named `default`. A name not in the
/// record is not judged offline (the verdict says so); a name the Lambda
/// could not read is reported as unknown, never as "not default".
pub fn evaluate(rule: &SgRule, ctx: &SgContext) -> Option<Hit> {
    if ctx.group_name == Some(DEFAULT_GROUP_NAME) {
        return Some(Hit::new(format!("{rule} in the default group")));
    }
    (ctx.group_name.is_none() && ctx.group_name_unread).then(|| {
        Hit::new(format!(
            "{rule}: whether the group is a VPC default group is unknown (its name could not be read)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::rules::ec2_sg::test_support::{ctx, rule};

    #[test]
    fn any_rule_of_the_default_group() {
        let policy = Policy::embedded();
        let named = |name| SgContext {
            group_name: Some(name),
            ..ctx(&policy)
        };
        let private = rule("tcp", 443, 443, "10.0.0.0/8");
        assert_eq!(
            evaluate(&private, &named("default")).unwrap().detail,
            "tcp 443 from 10.0.0.0/8 in the default group"
        );
        assert!(evaluate(&rule("-1", -1, -1, "0.0.0.0/0"), &named("default")).is_some());
        assert!(evaluate(&private, &named("web")).is_none());
        assert!(
            evaluate(&private, &named("Default")).is_none(),
            "EC2 names it in lower case"
        );
        assert!(evaluate(&private, &named("default-web")).is_none());
        assert!(
            evaluate(&private, &ctx(&policy)).is_none(),
            "unknown name: said by the guard"
        );
    }
}
