//! The sweep's ELBv2 reads: every load balancer with its attributes and
//! listeners (and the rules of its plain-HTTP listeners), every target group
//! with its targets' health.

use super::*;

impl SdkEstate {
    /// Every load balancer with its attributes, listeners and (for plain
    /// HTTP listeners) their rules, and every target group with its
    /// targets. A read that fails is unread, naming what it was about.
    pub(super) async fn load_balancing(
        &self,
    ) -> (Vec<LoadBalancerState>, Vec<TargetGroupState>, Part) {
        let mut part = Part::default();
        let mut load_balancers = Vec::new();
        match self.describe_load_balancers(&part).await {
            Ok(found) => {
                for read in found {
                    match read {
                        Ok(lb) => load_balancers.push(LoadBalancerState {
                            load_balancer: lb,
                            attributes: None,
                            listeners: None,
                        }),
                        Err(e) => part.failed(format!("DescribeLoadBalancers ({})", e.message), e),
                    }
                }
            }
            Err(e) => part.failed("DescribeLoadBalancers", e),
        }
        for state in &mut load_balancers {
            let Some(arn) = state.load_balancer.arn.clone() else {
                continue;
            };
            let label = short_arn(&arn).to_string();
            part.call();
            match self
                .elbv2
                .describe_load_balancer_attributes()
                .load_balancer_arn(&arn)
                .send()
                .await
            {
                Ok(out) => {
                    state.attributes = Some(
                        out.attributes()
                            .iter()
                            .filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string())))
                            .collect(),
                    )
                }
                Err(e) => part.failed(
                    format!("DescribeLoadBalancerAttributes ({label})"),
                    classify("DescribeLoadBalancerAttributes", &e),
                ),
            }
            let lb_type = state.load_balancer.lb_type;
            match self.listeners(&arn, lb_type, &part).await {
                Ok(mut listeners) => {
                    for l in listeners.iter_mut().filter(|l| l.listener.has_rules()) {
                        let Some(listener) = l.listener.arn.clone() else {
                            continue;
                        };
                        match self.rules(&listener, lb_type, &part).await {
                            Ok(rules) => l.rules = Some(rules),
                            Err(e) => {
                                part.failed(format!("DescribeRules ({})", short_arn(&listener)), e)
                            }
                        }
                    }
                    state.listeners = Some(listeners);
                }
                Err(e) => part.failed(format!("DescribeListeners ({label})"), e),
            }
        }
        let mut target_groups = match self.target_groups(&part).await {
            Ok(found) => found,
            Err(e) => {
                part.failed("DescribeTargetGroups", e);
                Vec::new()
            }
        };
        for group in &mut target_groups {
            let Some(arn) = group.group.arn.clone() else {
                continue;
            };
            part.call();
            match self
                .elbv2
                .describe_target_health()
                .target_group_arn(&arn)
                .send()
                .await
            {
                Ok(out) => {
                    group.targets = Some(
                        out.target_health_descriptions()
                            .iter()
                            .filter_map(|d| d.target())
                            .filter_map(|t| {
                                Some(Target {
                                    id: t.id()?.to_string(),
                                    port: t.port().map(i64::from),
                                    availability_zone: t.availability_zone().map(str::to_string),
                                })
                            })
                            .collect(),
                    )
                }
                Err(e) => part.failed(
                    format!("DescribeTargetHealth ({})", short_arn(&arn)),
                    classify("DescribeTargetHealth", &e),
                ),
            }
        }
        (load_balancers, target_groups, part)
    }

    /// Every load balancer of the place; each that does not parse is its
    /// own error.
    pub(super) async fn describe_load_balancers(
        &self,
        part: &Part,
    ) -> Result<Vec<Result<LoadBalancer, AwsError>>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            part.call();
            let page = self
                .elbv2
                .describe_load_balancers()
                .page_size(ELB_PAGE)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| classify("DescribeLoadBalancers", &e))?;
            out.extend(page.load_balancers().iter().map(load_balancer_of));
            match page.next_marker() {
                Some(next) if !next.is_empty() => marker = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }

    pub(super) async fn listeners(
        &self,
        load_balancer: &str,
        lb_type: LbType,
        part: &Part,
    ) -> Result<Vec<ListenerState>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            part.call();
            let page = self
                .elbv2
                .describe_listeners()
                .load_balancer_arn(load_balancer)
                .page_size(ELB_PAGE)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| classify("DescribeListeners", &e))?;
            out.extend(page.listeners().iter().map(|l| listener_of(l, lb_type)));
            match page.next_marker() {
                Some(next) if !next.is_empty() => marker = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// A listener's rules but its default one (the listener's default
    /// actions, judged with the listener).
    pub(super) async fn rules(
        &self,
        listener: &str,
        lb_type: LbType,
        part: &Part,
    ) -> Result<Vec<ListenerRule>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            part.call();
            let page = self
                .elbv2
                .describe_rules()
                .listener_arn(listener)
                .page_size(ELB_PAGE)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| classify("DescribeRules", &e))?;
            out.extend(
                page.rules()
                    .iter()
                    .filter(|r| r.is_default() != Some(true))
                    .map(|r| ListenerRule {
                        arn: r.rule_arn().map(str::to_string),
                        listener: Some(listener.to_string()),
                        lb_type: Some(lb_type),
                        actions: Some(r.actions().iter().map(action_of).collect()),
                    }),
            );
            match page.next_marker() {
                Some(next) if !next.is_empty() => marker = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }

    pub(super) async fn target_groups(
        &self,
        part: &Part,
    ) -> Result<Vec<TargetGroupState>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            part.call();
            let page = self
                .elbv2
                .describe_target_groups()
                .page_size(ELB_PAGE)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| classify("DescribeTargetGroups", &e))?;
            out.extend(page.target_groups().iter().map(target_group_of));
            match page.next_marker() {
                Some(next) if !next.is_empty() => marker = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }
}

/// A load balancer ELBv2 describes; `Err` says what is missing (its kind or
/// scheme: without them no rule can judge it).
pub(super) fn load_balancer_of(lb: &elbv2::types::LoadBalancer) -> Result<LoadBalancer, AwsError> {
    let name = lb.load_balancer_name().unwrap_or_default().to_string();
    let unreadable = |what: &str| AwsError {
        operation: "DescribeLoadBalancers",
        code: Some("Unparsed".to_string()),
        message: format!("{name}: {what} not in the answer"),
        retryable: false,
    };
    Ok(LoadBalancer {
        arn: lb.load_balancer_arn().map(str::to_string),
        lb_type: lb
            .r#type()
            .and_then(|t| LbType::parse(t.as_str()))
            .ok_or_else(|| unreadable("the type"))?,
        type_defaulted: false,
        scheme: lb
            .scheme()
            .and_then(|s| Scheme::parse(s.as_str()))
            .ok_or_else(|| unreadable("the scheme"))?,
        scheme_defaulted: false,
        security_groups: lb.security_groups().to_vec(),
        vpc_id: lb.vpc_id().map(str::to_string),
        subnets: lb
            .availability_zones()
            .iter()
            .filter_map(|z| z.subnet_id().map(str::to_string))
            .collect(),
        name,
    })
}

/// A listener ELBv2 describes, as its `CreateListener` made it.
pub(super) fn listener_of(l: &elbv2::types::Listener, lb_type: LbType) -> ListenerState {
    ListenerState {
        listener: Listener {
            arn: l.listener_arn().map(str::to_string),
            load_balancer: l.load_balancer_arn().map(str::to_string),
            lb_type: Some(lb_type),
            protocol: l.protocol().map(|p| p.as_str().to_string()),
            port: l.port().map(i64::from),
            ssl_policy: l.ssl_policy().map(str::to_string),
            ssl_policy_defaulted: false,
            default_actions: Some(l.default_actions().iter().map(action_of).collect()),
            moves: true,
        },
        rules: None,
    }
}

/// A target group ELBv2 describes, as its `CreateTargetGroup` made it.
pub(super) fn target_group_of(t: &elbv2::types::TargetGroup) -> TargetGroupState {
    TargetGroupState {
        group: TargetGroup {
            created: true,
            arn: t.target_group_arn().map(str::to_string),
            name: t.target_group_name().unwrap_or_default().to_string(),
            protocol: t.protocol().map(|p| p.as_str().to_string()),
            port: t.port().map(i64::from),
            target_type: t.target_type().map(|k| k.as_str().to_string()),
            health_check_protocol: t.health_check_protocol().map(|p| p.as_str().to_string()),
            health_check_defaulted: false,
            health_check_enabled: t.health_check_enabled(),
            vpc_id: t.vpc_id().map(str::to_string),
        },
        targets: None,
    }
}
