//! The intrinsic functions of a template, resolved where the template
//! alone decides them and unknown where it does not: a parameter's default
//! (a parameter without one is unknown), a resource of the template as its
//! logical id, the account given, `AWS::NoValue` as absent; `Fn::Sub`,
//! `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::FindInMap` and `Fn::Base64`
//! when every part resolves. `Fn::If` and the conditions, `Fn::ImportValue`,
//! `Fn::GetAZs` and `Fn::Cidr` are unknown.

use base64::Engine;
use serde_json::{Map, Value};

use crate::iac::terraform::UNKNOWN_UNTIL_APPLY;

/// What a template's intrinsics are resolved against.
pub(super) struct Template<'a> {
    pub parameters: Option<&'a Map<String, Value>>,
    pub mappings: Option<&'a Map<String, Value>>,
    pub resources: &'a Map<String, Value>,
    pub account: Option<&'a str>,
}

/// A value resolved, absent (`AWS::NoValue`), or unknown with why.
type Resolved = Result<Option<Value>, String>;

impl Template<'_> {
    /// `value` with every intrinsic resolved; an intrinsic that does not
    /// resolve becomes [`UNKNOWN_UNTIL_APPLY`] and its path (`at`) goes into
    /// `unknown`. `None` when the whole value is `AWS::NoValue`.
    pub fn resolve(&self, value: &Value, at: &str, unknown: &mut Vec<String>) -> Option<Value> {
        if let Some((name, args)) = intrinsic(value) {
            return match self.function(name, args) {
                Ok(v) => v,
                Err(_) => {
                    unknown.push(at.to_string());
                    Some(Value::from(UNKNOWN_UNTIL_APPLY))
                }
            };
        }
        match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    let next = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    if let Some(v) = self.resolve(v, &next, unknown) {
                        out.insert(k.clone(), v);
                    }
                }
                Some(Value::Object(out))
            }
            Value::Array(items) => Some(Value::Array(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| self.resolve(v, &format!("{at}[{i}]"), unknown))
                    .collect(),
            )),
            other => Some(other.clone()),
        }
    }

    /// `value` resolved whole: any part unknown makes it unknown.
    fn whole(&self, value: &Value) -> Resolved {
        if let Some((name, args)) = intrinsic(value) {
            return self.function(name, args);
        }
        match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    if let Some(v) = self.whole(v)? {
                        out.insert(k.clone(), v);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            Value::Array(items) => {
                let mut out = Vec::new();
                for v in items {
                    if let Some(v) = self.whole(v)? {
                        out.push(v);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    fn string(&self, value: &Value, what: &str) -> Result<String, String> {
        match self.whole(value)? {
            Some(Value::String(s)) => Ok(s),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(Value::Bool(b)) => Ok(b.to_string()),
            _ => Err(format!("{what} is not a string")),
        }
    }

    fn list(&self, value: &Value, what: &str) -> Result<Vec<Value>, String> {
        match self.whole(value)? {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(format!("{what} is not a list")),
        }
    }

    fn function(&self, name: &str, args: &Value) -> Resolved {
        match name {
            "Ref" => match args {
                Value::String(target) => self.reference(target),
                _ => Err("Ref names no string".into()),
            },
            "Fn::GetAtt" => {
                let resource = match args {
                    Value::Array(parts) => parts.first().and_then(Value::as_str),
                    Value::String(s) => s.split('.').next(),
                    _ => None,
                }
                .ok_or("Fn::GetAtt names no resource")?;
                let attribute = match args {
                    Value::Array(parts) => parts.get(1).and_then(Value::as_str),
                    Value::String(s) => s.split_once('.').map(|(_, a)| a),
                    _ => None,
                };
                if self.resources.contains_key(resource) {
                    Ok(Some(match attribute {
                        Some("LoadBalancerArn" | "ListenerArn") => self.stands_for(resource),
                        _ => Value::from(resource),
                    }))
                } else {
                    Err(format!("Fn::GetAtt {resource}: no such resource"))
                }
            }
            "Fn::Sub" => self.sub(args).map(|s| Some(Value::from(s))),
            "Fn::Join" => {
                let [separator, parts] = pair(args, name)?;
                let separator = self.string(separator, "Fn::Join's separator")?;
                let parts = self
                    .list(parts, "Fn::Join's list")?
                    .iter()
                    .map(|p| self.string(p, "Fn::Join's part"))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Some(Value::from(parts.join(&separator))))
            }
            "Fn::Select" => {
                let [index, list] = pair(args, name)?;
                let index: usize = self
                    .string(index, "Fn::Select's index")?
                    .parse()
                    .map_err(|_| "Fn::Select's index is not a number".to_string())?;
                let list = self.list(list, "Fn::Select's list")?;
                list.get(index)
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| format!("Fn::Select: no item {index}"))
            }
            "Fn::Split" => {
                let [separator, text] = pair(args, name)?;
                let separator = self.string(separator, "Fn::Split's separator")?;
                let text = self.string(text, "Fn::Split's string")?;
                Ok(Some(Value::Array(
                    text.split(separator.as_str()).map(Value::from).collect(),
                )))
            }
            "Fn::FindInMap" => {
                let parts = match args {
                    Value::Array(parts) if parts.len() == 3 => parts,
                    _ => return Err("Fn::FindInMap takes three names".into()),
                };
                let map = self.string(&parts[0], "Fn::FindInMap's map")?;
                let top = self.string(&parts[1], "Fn::FindInMap's key")?;
                let second = self.string(&parts[2], "Fn::FindInMap's second key")?;
                self.mappings
                    .and_then(|m| m.get(&map))
                    .and_then(|m| m.get(&top))
                    .and_then(|m| m.get(&second))
                    .map(|v| self.whole(v))
                    .unwrap_or_else(|| {
                        Err(format!(
                            "Fn::FindInMap {map}.{top}.{second}: not in the template"
                        ))
                    })
            }
            "Fn::Base64" => {
                let text = self.string(args, "Fn::Base64's string")?;
                Ok(Some(Value::from(
                    base64::engine::general_purpose::STANDARD.encode(text),
                )))
            }
            other => Err(format!("{other} is decided at deployment")),
        }
    }

    fn reference(&self, target: &str) -> Resolved {
        match target {
            "AWS::NoValue" => return Ok(None),
            "AWS::AccountId" => {
                return self
                    .account
                    .map(|a| Some(Value::from(a)))
                    .ok_or_else(|| "AWS::AccountId: no account given".into())
            }
            "AWS::Region" | "AWS::StackName" => return Ok(Some(Value::from("template"))),
            "AWS::Partition" => return Ok(Some(Value::from("aws"))),
            "AWS::URLSuffix" => return Ok(Some(Value::from("amazonaws.com"))),
            _ => {}
        }
        if let Some(parameter) = self.parameters.and_then(|p| p.get(target)) {
            let default = parameter
                .get("Default")
                .ok_or_else(|| format!("parameter {target} has no default"))?;
            let kind = parameter
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            // The default of an SSM parameter type names the parameter whose
            // value deployment reads, not the value.
            if kind.starts_with("AWS::SSM::Parameter::Value<") {
                return Err(format!("parameter {target} is read from SSM at deployment"));
            }
            let listed = kind.starts_with("List<") || kind == "CommaDelimitedList";
            return Ok(Some(match default {
                Value::String(s) if listed => Value::Array(
                    s.split(',')
                        .map(|p| Value::from(p.trim()))
                        .filter(|p| p.as_str() != Some(""))
                        .collect(),
                ),
                other => other.clone(),
            }));
        }
        if self.resources.contains_key(target) {
            return Ok(Some(self.stands_for(target)));
        }
        Err(format!("Ref {target}: no such parameter or resource"))
    }

    /// What a `Ref` to a resource of the template stands for: its logical
    /// id, or for a load balancer and its listeners an ARN that names the
    /// kind of load balancer and holds the logical ids
    /// (`…:loadbalancer/app/Web/template`), as the rules tell an ALB by it;
    /// for a managed policy the ARN it is attached by
    /// (`arn:aws:iam::111122223333:policy/Ops`).
    fn stands_for(&self, id: &str) -> Value {
        let resource = self.resources.get(id);
        let kind = resource.and_then(|r| r.get("Type")).and_then(Value::as_str);
        let property = |key: &str| resource.and_then(|r| r.pointer(&format!("/Properties/{key}")));
        let arn = match kind {
            Some("AWS::ElasticLoadBalancingV2::LoadBalancer") => {
                load_balancer_arn(id, property("Type"), self.account)
            }
            Some("AWS::ElasticLoadBalancingV2::Listener") => {
                // Its load balancer, when the template names one of its own.
                let lb = property("LoadBalancerArn")
                    .and_then(|v| match intrinsic(v) {
                        Some(("Ref", Value::String(lb))) => Some(lb.as_str()),
                        Some(("Fn::GetAtt", Value::Array(parts))) => {
                            parts.first().and_then(Value::as_str)
                        }
                        _ => None,
                    })
                    .filter(|lb| {
                        self.resources
                            .get(*lb)
                            .and_then(|r| r.get("Type"))
                            .and_then(Value::as_str)
                            == Some("AWS::ElasticLoadBalancingV2::LoadBalancer")
                    });
                lb.and_then(|lb| {
                    let kind = self
                        .resources
                        .get(lb)
                        .and_then(|r| r.pointer("/Properties/Type"));
                    load_balancer_arn(lb, kind, self.account)
                })
                .map(|arn| format!("{}/{id}", arn.replacen(":loadbalancer/", ":listener/", 1)))
            }
            // A managed policy is attached by its ARN.
            Some("AWS::IAM::ManagedPolicy") => Some(format!(
                "arn:aws:iam::{}:policy/{id}",
                self.account.unwrap_or("template")
            )),
            _ => None,
        };
        Value::from(arn.unwrap_or_else(|| id.to_string()))
    }

    /// `Fn::Sub`: a string, or a string and its own variables.
    fn sub(&self, args: &Value) -> Result<String, String> {
        let (text, vars) = match args {
            Value::String(s) => (s.as_str(), None),
            Value::Array(parts) if parts.len() == 2 => (
                parts[0]
                    .as_str()
                    .ok_or("Fn::Sub's string is not a string")?,
                parts[1].as_object(),
            ),
            _ => return Err("Fn::Sub takes a string".into()),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            // `${!Literal}` is the text `${Literal}`.
            if let Some(literal) = after.strip_prefix('!') {
                out.push_str("${");
                rest = literal;
                continue;
            }
            let end = after
                .find('}')
                .ok_or_else(|| format!("Fn::Sub: unclosed ${{ in {text}"))?;
            let name = &after[..end];
            let value = match vars.and_then(|v| v.get(name)) {
                Some(v) => self.string(v, name)?,
                None => match name.split_once('.') {
                    Some((resource, _)) if self.resources.contains_key(resource) => {
                        resource.to_string()
                    }
                    _ => match self.reference(name)? {
                        Some(Value::String(s)) => s,
                        Some(Value::Number(n)) => n.to_string(),
                        _ => return Err(format!("Fn::Sub: ${{{name}}} is not a string")),
                    },
                },
            };
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The ARN that stands for a load balancer of the template: its kind
/// (`Type`, application when absent) and its logical id; `None` when the
/// kind is left to deployment.
pub(super) fn load_balancer_arn(
    id: &str,
    kind: Option<&Value>,
    account: Option<&str>,
) -> Option<String> {
    let short = match kind {
        None => "app",
        Some(Value::String(k)) => match k.as_str() {
            "application" => "app",
            "network" => "net",
            "gateway" => "gwy",
            _ => return None,
        },
        Some(_) => return None,
    };
    let account = account.unwrap_or("template");
    Some(format!(
        "arn:aws:elasticloadbalancing:template:{account}:loadbalancer/{short}/{id}/template"
    ))
}

/// The function an object stands for: one key, `Ref`, `Condition` or
/// `Fn::…`.
fn intrinsic(value: &Value) -> Option<(&str, &Value)> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    let (name, args) = map.iter().next()?;
    (name == "Ref" || name == "Condition" || name.starts_with("Fn::")).then_some((name, args))
}

fn pair<'a>(args: &'a Value, name: &str) -> Result<[&'a Value; 2], String> {
    match args {
        Value::Array(parts) if parts.len() == 2 => Ok([&parts[0], &parts[1]]),
        _ => Err(format!("{name} takes two arguments")),
    }
}
