//! Records that set or remove the exemption tag on security groups (DESIGN
//! §7.11–12): EC2's `CreateTags` and `DeleteTags`, `CreateSecurityGroup`
//! with a `tagSpecificationSet`, and the Resource Groups Tagging API's
//! `TagResources`. Whoever exempts a group from remediation, or ends its
//! exemption, however the tag reaches the group, is named in an alert.

use serde::Serialize;

use crate::model::event::Event;
use crate::model::json::{FieldError, Node};

pub const CREATE_TAGS: &str = "CreateTags";
pub const DELETE_TAGS: &str = "DeleteTags";
pub const CREATE_SECURITY_GROUP: &str = "CreateSecurityGroup";
/// The Resource Groups Tagging API's call (event source `tagging.amazonaws.com`).
pub const TAG_RESOURCES: &str = "TagResources";

/// Set or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TagAction {
    Set,
    Removed,
}

/// The exemption tag set on, or removed from, security groups by one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExemptionTagChange {
    pub action: TagAction,
    pub groups: Vec<String>,
    /// The value set (`<reason>;expires=YYYY-MM-DD`); for a removal, the
    /// value named in the call, if any.
    #[serde(skip)]
    pub value: Option<String>,
}

/// The security group an ARN names (`arn:<partition>:ec2:<region>:<account>:security-group/sg-…`).
pub fn group_of_arn(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", _, "ec2", _, _, resource] = parts[..] else {
        return None;
    };
    resource
        .strip_prefix("security-group/")
        .filter(|id| id.starts_with("sg-"))
}

impl ExemptionTagChange {
    /// Reads a record of one of the calls this module knows. `Ok(None)` for
    /// any other event, and for a call that touches no security group's `tag_key`.
    pub fn from_event(
        event: &Event,
        tag_key: &str,
    ) -> Result<Option<ExemptionTagChange>, FieldError> {
        if !Self::is_tag_call(event) {
            return Ok(None);
        }
        let request = event.request();
        if request.is_omitted() || !request.is_present() {
            return Err(request.error("missing or omitted by CloudTrail"));
        }
        match event.name.as_str() {
            CREATE_SECURITY_GROUP => Self::created(event, tag_key),
            TAG_RESOURCES => Self::tagged(&request, tag_key),
            _ => Self::ec2_tags(&request, event.name == DELETE_TAGS, tag_key),
        }
    }

    /// `CreateTags`/`DeleteTags`: `resourcesSet` and `tagSet`.
    fn ec2_tags(
        request: &Node<'_>,
        deleted: bool,
        tag_key: &str,
    ) -> Result<Option<ExemptionTagChange>, FieldError> {
        let action = if deleted {
            TagAction::Removed
        } else {
            TagAction::Set
        };
        let mut groups = Vec::new();
        for resource in request.get("resourcesSet").items()? {
            let id = resource.get("resourceId").required_str()?;
            if id.starts_with("sg-") {
                groups.push(id.to_string());
            }
        }
        let tags = request.get("tagSet").items()?;
        let mut touched = None;
        if action == TagAction::Removed && tags.is_empty() {
            // DeleteTags without tags deletes them all, the exemption too.
            touched = Some(None);
        }
        for tag in tags {
            if tag.get("key").required_str()? == tag_key {
                touched = Some(tag.get("value").str()?.map(str::to_string));
            }
        }
        let resources = request.get("resourcesSet");
        if touched.is_some() && resources.items()?.is_empty() {
            // The exemption key, on resources the record does not name.
            return Err(resources.error("missing: the record names no resource"));
        }
        Ok(match touched {
            Some(value) if !groups.is_empty() => Some(ExemptionTagChange {
                action,
                groups,
                value,
            }),
            _ => None,
        })
    }

    /// `CreateSecurityGroup`: the tags of `tagSpecificationSet` whose
    /// `resourceType` is `security-group`, on the group of
    /// `responseElements.groupId`.
    fn created(event: &Event, tag_key: &str) -> Result<Option<ExemptionTagChange>, FieldError> {
        let mut touched = None;
        for spec in event.request().get("tagSpecificationSet").items()? {
            let kind = spec.get("resourceType").str()?;
            if kind.is_some_and(|k| k != "security-group") {
                continue;
            }
            for tag in spec.get("tags").items()? {
                if tag.get("key").required_str()? == tag_key {
                    touched = Some(tag.get("value").str()?.map(str::to_string));
                }
            }
        }
        let Some(value) = touched else {
            return Ok(None);
        };
        let response = event.response();
        if response.is_omitted() {
            return Err(response.error("omitted by CloudTrail: the group is unknown"));
        }
        let group = response.get("groupId").required_str()?;
        Ok(Some(ExemptionTagChange {
            action: TagAction::Set,
            groups: vec![group.to_string()],
            value,
        }))
    }

    /// `TagResources`: `resourceARNList` and the `tags` map; only the ARNs of
    /// security groups count.
    fn tagged(request: &Node<'_>, tag_key: &str) -> Result<Option<ExemptionTagChange>, FieldError> {
        let tags = request.get("tags");
        let Some(map) = tags.object()? else {
            return Err(tags.error("missing: the record names no tag"));
        };
        if !map.contains_key(tag_key) {
            return Ok(None);
        }
        let value = tags.get(tag_key).str()?.map(str::to_string);
        let arns = request.get("resourceARNList").items()?;
        if arns.is_empty() {
            return Err(request
                .get("resourceARNList")
                .error("missing: the record names no resource"));
        }
        let mut groups = Vec::new();
        for arn in arns {
            if let Some(group) = group_of_arn(arn.required_str()?) {
                groups.push(group.to_string());
            }
        }
        Ok((!groups.is_empty()).then_some(ExemptionTagChange {
            action: TagAction::Set,
            groups,
            value,
        }))
    }

    /// True for the calls this module reads.
    pub fn is_tag_call(event: &Event) -> bool {
        match event.name.as_str() {
            CREATE_TAGS | DELETE_TAGS | CREATE_SECURITY_GROUP => event.is_from("ec2"),
            TAG_RESOURCES => event.is_from("tagging"),
            _ => false,
        }
    }

    /// The groups, for messages.
    pub fn resource(&self) -> String {
        self.groups.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(name: &str, request: serde_json::Value) -> Event {
        let record = json!({"eventID": "e", "eventName": name, "eventSource": "ec2.amazonaws.com",
            "requestParameters": request});
        Event::from_value(&record, "t").unwrap()
    }

    const KEY: &str = "access-guard:exempt";

    #[test]
    fn reads_the_exemption_tag_on_security_groups_only() {
        let set = event(
            CREATE_TAGS,
            json!({"resourcesSet": {"items": [{"resourceId": "i-1"}, {"resourceId": "sg-1"}]},
                   "tagSet": {"items": [{"key": "team", "value": "web"}, {"key": KEY, "value": "sftp;expires=2027-01-01"}]}}),
        );
        let change = ExemptionTagChange::from_event(&set, KEY).unwrap().unwrap();
        assert_eq!(change.action, TagAction::Set);
        assert_eq!(change.groups, ["sg-1"]);
        assert_eq!(change.value.as_deref(), Some("sftp;expires=2027-01-01"));

        let removed = event(
            DELETE_TAGS,
            json!({"resourcesSet": {"items": [{"resourceId": "sg-1"}]}, "tagSet": {"items": [{"key": KEY}]}}),
        );
        let change = ExemptionTagChange::from_event(&removed, KEY)
            .unwrap()
            .unwrap();
        assert_eq!((change.action, change.value), (TagAction::Removed, None));

        for other in [
            json!({"resourcesSet": {"items": [{"resourceId": "i-1"}]}, "tagSet": {"items": [{"key": KEY, "value": "x"}]}}),
            json!({"resourcesSet": {"items": [{"resourceId": "sg-1"}]}, "tagSet": {"items": [{"key": "team", "value": "x"}]}}),
        ] {
            assert_eq!(
                ExemptionTagChange::from_event(&event(CREATE_TAGS, other), KEY).unwrap(),
                None
            );
        }
        let err =
            ExemptionTagChange::from_event(&event(CREATE_TAGS, json!({"omitted": true})), KEY)
                .unwrap_err();
        assert_eq!(err.path, "requestParameters");
    }

    fn record(
        name: &str,
        source: &str,
        request: serde_json::Value,
        response: serde_json::Value,
    ) -> Event {
        let record = json!({"eventID": "e", "eventName": name, "eventSource": source,
            "requestParameters": request, "responseElements": response});
        Event::from_value(&record, "t").unwrap()
    }

    #[test]
    fn a_group_created_with_the_exemption_tag_is_read_from_its_tag_specifications() {
        let spec = |kind: &str| {
            json!({"groupName": "sftp", "tagSpecificationSet": {"items": [{"resourceType": kind,
                "tags": [{"key": "team", "value": "web"}, {"key": KEY, "value": "sftp;expires=2027-01-01"}]}]}})
        };
        let created = record(
            CREATE_SECURITY_GROUP,
            "ec2.amazonaws.com",
            spec("security-group"),
            json!({"_return": true, "groupId": "sg-9"}),
        );
        let change = ExemptionTagChange::from_event(&created, KEY)
            .unwrap()
            .unwrap();
        assert_eq!(change.action, TagAction::Set);
        assert_eq!(change.groups, ["sg-9"]);
        assert_eq!(change.value.as_deref(), Some("sftp;expires=2027-01-01"));
        // Without the tag, or tags for another kind of resource: nothing to alert.
        for request in [json!({"groupName": "plain"}), spec("vpc")] {
            let other = record(
                CREATE_SECURITY_GROUP,
                "ec2.amazonaws.com",
                request,
                json!({"groupId": "sg-9"}),
            );
            assert_eq!(ExemptionTagChange::from_event(&other, KEY).unwrap(), None);
        }
        // The tag, but which group got it is lost: an error, never a pass.
        let lost = record(
            CREATE_SECURITY_GROUP,
            "ec2.amazonaws.com",
            spec("security-group"),
            json!({"_return": true}),
        );
        let err = ExemptionTagChange::from_event(&lost, KEY).unwrap_err();
        assert_eq!(err.path, "responseElements.groupId");
    }

    #[test]
    fn the_tagging_api_counts_only_security_group_arns() {
        let tagged = |arns: serde_json::Value, tags: serde_json::Value| {
            record(
                TAG_RESOURCES,
                "tagging.amazonaws.com",
                json!({"resourceARNList": arns, "tags": tags}),
                json!({"failedResourcesMap": {}}),
            )
        };
        let event = tagged(
            json!([
                "arn:aws:s3:::bucket",
                "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-7",
                "arn:aws-cn:ec2:cn-north-1:111122223333:security-group/sg-8",
                "arn:aws:ec2:eu-west-1:111122223333:instance/i-1"
            ]),
            json!({KEY: "load test;expires=2027-01-01", "team": "perf"}),
        );
        let change = ExemptionTagChange::from_event(&event, KEY)
            .unwrap()
            .unwrap();
        assert_eq!(change.groups, ["sg-7", "sg-8"]);
        assert_eq!(
            change.value.as_deref(),
            Some("load test;expires=2027-01-01")
        );
        // Another key, or no group: nothing to alert.
        let other = tagged(
            json!(["arn:aws:ec2:eu-west-1:1:security-group/sg-7"]),
            json!({"team": "perf"}),
        );
        assert_eq!(ExemptionTagChange::from_event(&other, KEY).unwrap(), None);
        let bucket = tagged(
            json!(["arn:aws:s3:::bucket"]),
            json!({KEY: "x;expires=2027-01-01"}),
        );
        assert_eq!(ExemptionTagChange::from_event(&bucket, KEY).unwrap(), None);
        // The same call name from EC2 is not the tagging API's.
        let ec2 = record(TAG_RESOURCES, "ec2.amazonaws.com", json!({}), json!({}));
        assert!(!ExemptionTagChange::is_tag_call(&ec2));
        // Tags the record does not carry: an error.
        let err = ExemptionTagChange::from_event(
            &tagged(
                json!(["arn:aws:ec2:eu-west-1:1:security-group/sg-7"]),
                json!(null),
            ),
            KEY,
        )
        .unwrap_err();
        assert_eq!(err.path, "requestParameters.tags");
        assert_eq!(
            group_of_arn("arn:aws:ec2:eu-west-1:1:security-group/sg-7"),
            Some("sg-7")
        );
        assert_eq!(
            group_of_arn("arn:aws:ec2:eu-west-1:1:security-group-rule/sgr-7"),
            None
        );
    }
}
