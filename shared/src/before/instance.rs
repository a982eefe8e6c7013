//! Launch templates and instances of a plan or template known to be for
//! container instances: their user data sets `ECS_CLUSTER`, the cluster the
//! ECS agent joins. EC2-CI-003 and EC2-CI-004 judge container instances
//! only; offline they cannot tell one, a plan's user data can.

use base64::Engine;
use time::Date;

use crate::guards::instance::{evaluate_planned, NEEDS_AWS};
use crate::policy::Policy;
use crate::rules::ec2_ci::{CiFacts, Evidence};

use super::Judged;

/// Judges again, as container instances, the launches and launch templates
/// whose user data registers them with an ECS cluster.
pub(super) fn container_instances(judged: &mut [Judged], policy: &Policy, today: Date) {
    for j in judged.iter_mut() {
        let (Ok(event), Ok(report)) = (&j.planned.event, &j.report) else {
            continue;
        };
        if !report.notes.iter().any(|n| n == NEEDS_AWS) {
            continue;
        }
        let user_data = event
            .request
            .pointer("/CreateLaunchTemplateRequest/LaunchTemplateData/UserData")
            .or_else(|| event.request.get("userData"))
            .and_then(|v| v.as_str());
        let Some(evidence) = user_data.and_then(registers_with_ecs) else {
            continue;
        };
        let facts = CiFacts {
            container_instance: Some(Evidence(evidence)),
            ..CiFacts::default()
        };
        j.report = evaluate_planned(event, policy, &facts)
            .map(|mut report| {
                report.finish(policy, today);
                report
            })
            .map_err(|field| format!("{}: {}", j.planned.address, event.field_error(field)));
    }
}

/// Why user data (base64, as the API takes it) makes the instances
/// container instances, if it does: it names the cluster the agent joins.
fn registers_with_ecs(user_data: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(user_data.trim())
        .ok()?;
    let text = String::from_utf8_lossy(&bytes);
    text.contains("ECS_CLUSTER")
        .then(|| "its user data sets ECS_CLUSTER, the cluster the ECS agent joins".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_that_names_the_agents_cluster_makes_container_instances() {
        let encode = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert!(registers_with_ecs(&encode(
            "#!/bin/bash\necho ECS_CLUSTER=prod >> /etc/ecs/ecs.config\n"
        ))
        .is_some());
        assert!(registers_with_ecs(&encode("#!/bin/bash\nyum update -y\n")).is_none());
        assert!(registers_with_ecs("not base64 ECS_CLUSTER").is_none());
    }
}
