//! The ELBv2 reads of the network guard (DESIGN §14): a load balancer's
//! scheme, kind, VPC and groups, its listeners, its attributes, a target
//! group's VPC, translated into the load-balancer model.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2 as elbv2;

use super::classify;
use crate::model::elb::{Action, LbType, Redirect, Scheme};
use crate::ports::{AwsError, ListenerInfo, LoadBalancerInfo, LoadBalancers};

/// ELBv2 error codes that mean the resource is gone.
const GONE: [&str; 3] = [
    "LoadBalancerNotFound",
    "ListenerNotFound",
    "TargetGroupNotFound",
];

fn gone<T>(e: AwsError) -> Result<Option<T>, AwsError> {
    if e.code.as_deref().is_some_and(|c| GONE.contains(&c)) {
        Ok(None)
    } else {
        Err(e)
    }
}

/// An action ELBv2 describes, in the load-balancer model.
pub(crate) fn action_of(a: &elbv2::types::Action) -> Action {
    let mut target_groups: Vec<String> = a
        .target_group_arn()
        .map(str::to_string)
        .into_iter()
        .collect();
    if let Some(config) = a.forward_config() {
        target_groups.extend(
            config
                .target_groups()
                .iter()
                .filter_map(|t| t.target_group_arn().map(str::to_string)),
        );
    }
    target_groups.sort();
    target_groups.dedup();
    Action {
        kind: a
            .r#type()
            .map(|t| t.as_str().to_ascii_lowercase())
            .unwrap_or_default(),
        target_groups,
        redirect: a.redirect_config().map(|r| Redirect {
            protocol: r.protocol().map(str::to_string),
            port: r.port().map(str::to_string),
            status_code: r.status_code().map(|s| s.as_str().to_string()),
        }),
    }
}

fn listener_of(l: &elbv2::types::Listener) -> ListenerInfo {
    ListenerInfo {
        arn: l.listener_arn().unwrap_or_default().to_string(),
        protocol: l
            .protocol()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        port: l.port().map(i64::from).unwrap_or_default(),
        default_actions: l.default_actions().iter().map(action_of).collect(),
    }
}

/// ELBv2 reads.
#[derive(Debug, Clone)]
pub struct ElbLoadBalancers {
    client: elbv2::Client,
}

impl ElbLoadBalancers {
    pub fn new(client: elbv2::Client) -> ElbLoadBalancers {
        ElbLoadBalancers { client }
    }
}

#[async_trait]
impl LoadBalancers for ElbLoadBalancers {
    async fn load_balancer(&self, arn: &str) -> Result<Option<LoadBalancerInfo>, AwsError> {
        let out = match self
            .client
            .describe_load_balancers()
            .load_balancer_arns(arn)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => return gone(classify("DescribeLoadBalancers", &e)),
        };
        let Some(lb) = out.load_balancers().first() else {
            return Ok(None);
        };
        let unreadable = |what: &str| AwsError {
            operation: "DescribeLoadBalancers",
            code: Some("Unparsed".to_string()),
            message: format!("{arn}: {what} not in the answer"),
            retryable: false,
        };
        Ok(Some(LoadBalancerInfo {
            arn: arn.to_string(),
            scheme: lb
                .scheme()
                .and_then(|s| Scheme::parse(s.as_str()))
                .ok_or_else(|| unreadable("the scheme"))?,
            lb_type: lb
                .r#type()
                .and_then(|t| LbType::parse(t.as_str()))
                .ok_or_else(|| unreadable("the type"))?,
            vpc_id: lb.vpc_id().map(str::to_string),
            security_groups: lb.security_groups().to_vec(),
        }))
    }

    async fn listeners(&self, load_balancer: &str) -> Result<Vec<ListenerInfo>, AwsError> {
        let mut out = Vec::new();
        let mut marker = None;
        loop {
            let page = self
                .client
                .describe_listeners()
                .load_balancer_arn(load_balancer)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| classify("DescribeListeners", &e))?;
            out.extend(page.listeners().iter().map(listener_of));
            marker = page
                .next_marker()
                .filter(|m| !m.is_empty())
                .map(str::to_string);
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    async fn listener(&self, arn: &str) -> Result<Option<ListenerInfo>, AwsError> {
        match self
            .client
            .describe_listeners()
            .listener_arns(arn)
            .send()
            .await
        {
            Ok(out) => Ok(out.listeners().first().map(listener_of)),
            Err(e) => gone(classify("DescribeListeners", &e)),
        }
    }

    async fn attributes(&self, load_balancer: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let out = self
            .client
            .describe_load_balancer_attributes()
            .load_balancer_arn(load_balancer)
            .send()
            .await
            .map_err(|e| classify("DescribeLoadBalancerAttributes", &e))?;
        Ok(out
            .attributes()
            .iter()
            .filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string())))
            .collect())
    }

    async fn target_group_vpc(&self, arn: &str) -> Result<Option<String>, AwsError> {
        match self
            .client
            .describe_target_groups()
            .target_group_arns(arn)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .target_groups()
                .first()
                .and_then(|t| t.vpc_id().map(str::to_string))),
            Err(e) => gone(classify("DescribeTargetGroups", &e)),
        }
    }
}
