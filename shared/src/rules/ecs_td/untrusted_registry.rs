use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::ImageRef;
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags images whose registry is neither the account's own ECR (any region)
    /// nor listed in `task_definition.trusted_registries` (a host such as
    /// `public.ecr.aws`, or a host and path prefix such as `ghcr.io/my-org`). An
    /// image without a registry host comes from Docker Hub (`docker.io`).
    ///
    /// ## Why is this bad?
    /// An image from anywhere is code from anyone: registries outside your control
    /// can change, disappear or serve a compromised tag.
    ///
    /// ## Example
    /// `"image": "nginx:1.27"` (Docker Hub), `"image": "ghcr.io/someone/tool:2"`.
    ///
    /// ## Fix
    /// Mirror the image into ECR (pull-through cache) and reference it there.
    ///
    /// ## References
    /// Beyond the peers: where does the application come from.
    pub static UNTRUSTED_REGISTRY = {
        id: "ECS-TD-015",
        title: "Image from a registry outside the trusted list",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["beyond (seed)"],
        remediation: "Pull the image through your own ECR (a pull-through cache rule or a copy), or add the registry to `task_definition.trusted_registries`.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// A policy entry is a registry host, or a host and path prefix.
fn is_trusted(image: &ImageRef, ctx: &TdContext) -> bool {
    let full = format!("{}/{}", image.registry, image.repository);
    ctx.policy.trusted_registries.iter().any(|entry| {
        let entry = entry.trim().trim_end_matches('/').to_ascii_lowercase();
        image.registry == entry || full == entry || full.starts_with(&format!("{entry}/"))
    })
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, ctx: &TdContext) -> Vec<Hit> {
    let mut hits = Vec::new();
    for c in &td.containers {
        let Some(image) = c.image.as_deref() else {
            continue;
        };
        let r = ImageRef::parse(image);
        if r.is_ecr_of(ctx.account) || is_trusted(&r, ctx) {
            continue;
        }
        hits.push(Hit::new(format!(
            "container {}: image {image} comes from {}",
            c.name, r.registry
        )));
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::rules::ecs_td::test_support::{container, run, task};

    #[test]
    fn flags_what_it_should() {
        let mut c = container("app");
        assert!(
            run(evaluate, &task(vec![c.clone()])).is_empty(),
            "own ECR is trusted"
        );
        c.image = Some("nginx:1.27".into());
        assert_eq!(
            run(evaluate, &task(vec![c.clone()])),
            ["container app: image nginx:1.27 comes from docker.io"]
        );
        c.image = Some("999999999999.dkr.ecr.eu-west-1.amazonaws.com/x:1".into());
        assert_eq!(
            run(evaluate, &task(vec![c.clone()])).len(),
            1,
            "another account's ECR is not"
        );
        let mut policy = Policy::embedded();
        policy.trusted_registries = vec!["ghcr.io/my-org".into()];
        c.image = Some("ghcr.io/my-org/tool:2".into());
        let td = task(vec![c.clone()]);
        assert!(evaluate(
            &td,
            &TdContext {
                task_role: None,
                policy: &policy,
                account: "1"
            }
        )
        .is_empty());
        c.image = Some("ghcr.io/my-organisation/tool:2".into());
        assert_eq!(
            evaluate(
                &task(vec![c]),
                &TdContext {
                    task_role: None,
                    policy: &policy,
                    account: "1"
                }
            )
            .len(),
            1
        );
    }
}
