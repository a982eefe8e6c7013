use super::ClContext;
use crate::finding::{Action, Severity};
use crate::model::cl::{ClusterChange, CONTAINER_INSIGHTS};
use crate::rules::ecs_td::Hit;

crate::rule! {
    /// ## What it does
    /// Flags `PutAccountSettingDefault` and `PutAccountSetting` that set
    /// `containerInsights` to `disabled`.
    ///
    /// ## Why is this bad?
    /// The account default decides Container Insights for every cluster
    /// created without the setting: one call silently turns monitoring off for
    /// all future clusters of the account (or of a principal).
    ///
    /// ## Example
    /// `PutAccountSettingDefault {"name": "containerInsights", "value": "disabled"}`
    ///
    /// ## Fix
    /// `aws ecs put-account-setting-default --name containerInsights --value enhanced`
    ///
    /// ## References
    /// Security Hub ECS.12 (the clusters it leaves without Container Insights).
    pub static ACCOUNT_INSIGHTS_OFF = {
        id: "ECS-CL-004",
        title: "Account default turns Container Insights off",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["SH ECS.12"],
        remediation: "Set the account default containerInsights to enabled or enhanced.",
        check: crate::rules::Check::Cluster(evaluate),
    }
}

/// Pure check over the change.
pub fn evaluate(change: &ClusterChange, _ctx: &ClContext) -> Vec<Hit> {
    let ClusterChange::AccountSetting {
        default,
        name,
        value,
        principal,
    } = change
    else {
        return Vec::new();
    };
    if name != CONTAINER_INSIGHTS || !value.eq_ignore_ascii_case("disabled") {
        return Vec::new();
    }
    let whom = match (default, principal) {
        (true, _) => "every principal of the account (default)".to_string(),
        (false, Some(p)) => p.clone(),
        (false, None) => "the calling principal".to_string(),
    };
    vec![Hit::new(format!("containerInsights disabled for {whom}"))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cl::{PUT_ACCOUNT_SETTING, PUT_ACCOUNT_SETTING_DEFAULT};
    use crate::rules::ecs_cl::test_support::{change, run};
    use serde_json::json;

    #[test]
    fn flags_what_it_should() {
        assert_eq!(
            run(
                evaluate,
                &change(
                    PUT_ACCOUNT_SETTING_DEFAULT,
                    json!({"name": "containerInsights", "value": "disabled"})
                )
            ),
            ["containerInsights disabled for every principal of the account (default)"]
        );
        assert_eq!(
            run(
                evaluate,
                &change(
                    PUT_ACCOUNT_SETTING,
                    json!({"name": "containerInsights", "value": "disabled",
                "principalArn": "arn:aws:iam::111122223333:role/ci"})
                )
            ),
            ["containerInsights disabled for arn:aws:iam::111122223333:role/ci"]
        );
        for (name, value) in [
            ("containerInsights", "enhanced"),
            ("containerInsights", "enabled"),
            ("awsvpcTrunking", "disabled"),
        ] {
            assert!(run(
                evaluate,
                &change(
                    PUT_ACCOUNT_SETTING_DEFAULT,
                    json!({"name": name, "value": value})
                )
            )
            .is_empty());
        }
    }
}
