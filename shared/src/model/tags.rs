//! `CreateTags` and `DeleteTags` records that set or remove the exemption tag
//! on security groups (DESIGN §7.11): whoever exempts a group from
//! remediation, or ends its exemption, is named in an alert.

use serde::Serialize;

use crate::model::event::Event;
use crate::model::json::FieldError;

pub const CREATE_TAGS: &str = "CreateTags";
pub const DELETE_TAGS: &str = "DeleteTags";

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

impl ExemptionTagChange {
    /// Reads a `CreateTags`/`DeleteTags` record of EC2. `Ok(None)` for any
    /// other event, and for a call that touches no security group's `tag_key`.
    pub fn from_event(
        event: &Event,
        tag_key: &str,
    ) -> Result<Option<ExemptionTagChange>, FieldError> {
        let action = match event.name.as_str() {
            CREATE_TAGS => TagAction::Set,
            DELETE_TAGS => TagAction::Removed,
            _ => return Ok(None),
        };
        if !event.is_from("ec2") {
            return Ok(None);
        }
        let request = event.request();
        if request.is_omitted() || !request.is_present() {
            return Err(request.error("missing or omitted by CloudTrail"));
        }
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

    /// True for the calls this module reads.
    pub fn is_tag_call(event: &Event) -> bool {
        matches!(event.name.as_str(), CREATE_TAGS | DELETE_TAGS) && event.is_from("ec2")
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
}
