use super::{Hit, TdContext};
use crate::finding::{Action, Severity};
use crate::model::td::ImageRef;
use crate::model::td::TaskDefinition;

crate::rule! {
    /// ## What it does
    /// Flags images referenced as `:latest` or without a tag, unless pinned by a
    /// `@sha256:` digest.
    ///
    /// ## Why is this bad?
    /// `latest` is whatever was pushed last: two tasks of the same revision can run
    /// different code, and a pushed image takes effect without review.
    ///
    /// ## Example
    /// `"image": "nginx"`, `"image": "…/app:latest"`.
    ///
    /// ## Fix
    /// Use `…/app@sha256:<digest>` or an immutable version tag with ECR tag
    /// immutability on.
    ///
    /// ## References
    /// Beyond the peers.
    pub static MUTABLE_IMAGE = {
        id: "ECS-TD-016",
        title: "Mutable image reference (`:latest` or no tag, no digest)",
        severity: Severity::Medium,
        action: Action::Notify,
        anchors: &["beyond (seed)"],
        remediation: "Reference the image by digest (`name@sha256:…`) or by an immutable version tag.",
        check: crate::rules::Check::TaskDefinition(evaluate),
    }
}

/// Pure check over the task definition.
pub fn evaluate(td: &TaskDefinition, _ctx: &TdContext) -> Vec<Hit> {
    let mut hits = Vec::new();
    for c in &td.containers {
        let Some(image) = c.image.as_deref() else {
            continue;
        };
        let r = ImageRef::parse(image);
        if r.is_pinned() {
            continue;
        }
        match r.tag.as_deref() {
            None => hits.push(Hit::new(format!(
                "container {}: image {image} has no tag (means latest) and no digest",
                c.name
            ))),
            Some(t) if t.eq_ignore_ascii_case("latest") => hits.push(Hit::new(format!(
                "container {}: image {image} uses :latest",
                c.name
            ))),
            _ => {}
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ecs_td::test_support::{container, run, task};

    #[test]
    fn flags_what_it_should() {
        let mut c = container("app");
        assert!(run(evaluate, &task(vec![c.clone()])).is_empty());
        c.image = Some("nginx".into());
        assert_eq!(run(evaluate, &task(vec![c.clone()])).len(), 1);
        c.image = Some("registry.local:5000/app:latest".into());
        assert_eq!(
            run(evaluate, &task(vec![c.clone()])),
            ["container app: image registry.local:5000/app:latest uses :latest"]
        );
        c.image = Some("registry.local:5000/app:1.4.2".into());
        assert!(run(evaluate, &task(vec![c])).is_empty());
    }
}
