//! The CloudTrail record, whichever way it arrives (DESIGN §3): an EventBridge
//! envelope, a bare record, a CloudTrail log file `{"Records": [...]}` (also
//! gzipped), or JSON lines of any of those.

use std::borrow::Cow;

use serde_json::value::RawValue;
use serde_json::Value;

use crate::model::json::{FieldError, Node};

/// An event that could not be read, naming where it came from and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("{origin}: {problem}")]
    Document { origin: String, problem: String },
    #[error("{origin}: event {event}: {field}")]
    Field {
        origin: String,
        event: String,
        field: FieldError,
    },
}

/// Reads a field of the EventBridge envelope (`id`, `account`, `region`, `time`).
type EnvelopeField<'a> = &'a dyn Fn(&str) -> Result<Option<String>, FieldError>;

/// Who made the call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    /// `userIdentity.arn` (for an assumed role, the session ARN).
    pub arn: Option<String>,
    /// The role behind an assumed-role session (`sessionContext.sessionIssuer.arn`).
    pub issuer_arn: Option<String>,
    pub identity_type: Option<String>,
    pub mfa_authenticated: Option<bool>,
    /// The AWS service that made the call on the caller's behalf
    /// (`userIdentity.invokedBy`: `events.amazonaws.com`, `states.amazonaws.com`, …).
    pub invoked_by: Option<String>,
    /// `userIdentity.accessKeyId`: the key (or the session's temporary key)
    /// that signed the call. An identifier, not a secret: it is what
    /// CloudTrail and IAM look a key up by.
    pub access_key_id: Option<String>,
}

/// One CloudTrail record: the facts every guard needs, plus the raw request
/// and response for the guard that understands them.
#[derive(Debug, Clone)]
pub struct Event {
    /// Where the record came from (`file.json`, `trail.json.gz: Records[3]`), for errors.
    pub origin: String,
    pub id: String,
    pub name: String,
    pub source: String,
    pub time: String,
    pub account: String,
    pub region: String,
    pub actor: Actor,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub error_code: Option<String>,
    /// Where the EventBridge envelope and the record disagree on the account
    /// or the region: what each says.
    pub envelope_conflict: Option<String>,
    pub request: Value,
    pub response: Value,
}

impl Event {
    /// Reads one record. `value` is an EventBridge envelope or a bare record.
    pub fn from_value(value: &Value, origin: &str) -> Result<Event, ParseError> {
        let root = Node::root(value, "");
        if root.get("detail").is_present() {
            let envelope = |key: &str| Ok(root.get(key).str()?.map(str::to_string));
            Event::from_record(root.get("detail"), Some(&envelope), origin)
        } else {
            Event::from_record(root, None, origin)
        }
    }

    /// Reads the CloudTrail record an EventBridge event carries in `detail`,
    /// the envelope (read by `aws_lambda_events`) giving what the record leaves out.
    #[cfg(feature = "lambda")]
    pub fn from_envelope(
        envelope: &aws_lambda_events::eventbridge::EventBridgeEvent,
        origin: &str,
    ) -> Result<Event, ParseError> {
        let field = |key: &str| {
            Ok(match key {
                "id" => envelope.id.clone(),
                "account" => envelope.account.clone(),
                "region" => envelope.region.clone(),
                "time" => envelope
                    .time
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                _ => None,
            })
        };
        Event::from_record(Node::root(&envelope.detail, "detail"), Some(&field), origin)
    }

    /// Reads `record`; `envelope(key)` reads the EventBridge envelope's
    /// `id`, `account`, `region` and `time`, when there is one.
    fn from_record(
        record: Node<'_>,
        envelope: Option<EnvelopeField<'_>>,
        origin: &str,
    ) -> Result<Event, ParseError> {
        let event_label = record
            .get("eventID")
            .value()
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| envelope.and_then(|e| e("id").ok().flatten()))
            .unwrap_or_else(|| "(no eventID)".to_string());
        let fail = |field: FieldError| ParseError::Field {
            origin: origin.to_string(),
            event: event_label.clone(),
            field,
        };
        if record.object().map_err(&fail)?.is_none() {
            return Err(fail(record.error("expected a CloudTrail record")));
        }
        let from_envelope = |key: &str| -> Result<Option<String>, ParseError> {
            match envelope {
                Some(e) => e(key).map_err(&fail),
                None => Ok(None),
            }
        };
        let text = |key: &str| -> Result<Option<String>, ParseError> {
            Ok(record.get(key).str().map_err(&fail)?.map(str::to_string))
        };

        let name = record
            .get("eventName")
            .required_str()
            .map_err(&fail)?
            .to_string();
        let id = match text("eventID")? {
            Some(id) => id,
            None => {
                from_envelope("id")?.ok_or_else(|| fail(record.get("eventID").error("missing")))?
            }
        };
        let identity = record.get("userIdentity");
        let issuer = identity.get("sessionContext").get("sessionIssuer");
        let actor = Actor {
            arn: identity
                .get("arn")
                .str()
                .map_err(&fail)?
                .map(str::to_string),
            issuer_arn: issuer.get("arn").str().map_err(&fail)?.map(str::to_string),
            identity_type: identity
                .get("type")
                .str()
                .map_err(&fail)?
                .map(str::to_string),
            mfa_authenticated: identity
                .get("sessionContext")
                .get("attributes")
                .get("mfaAuthenticated")
                .bool()
                .map_err(&fail)?,
            invoked_by: identity
                .get("invokedBy")
                .str()
                .map_err(&fail)?
                .map(str::to_string),
            access_key_id: identity
                .get("accessKeyId")
                .str()
                .map_err(&fail)?
                .map(str::to_string),
        };
        // Where the record and its envelope both say, they must agree
        // (DESIGN §11): a forwarded event that disagrees is never acted on.
        let mut conflicts = Vec::new();
        for (in_record, in_envelope, what) in [
            ("recipientAccountId", "account", "account"),
            ("awsRegion", "region", "region"),
        ] {
            if let (Some(record), Some(envelope)) = (text(in_record)?, from_envelope(in_envelope)?)
            {
                if record != envelope {
                    conflicts.push(format!(
                        "the envelope says {what} {envelope}, the record {record}"
                    ));
                }
            }
        }
        let account = match text("recipientAccountId")? {
            Some(account) => account,
            None => from_envelope("account")?
                .or(identity
                    .get("accountId")
                    .str()
                    .map_err(&fail)?
                    .map(str::to_string))
                .unwrap_or_default(),
        };
        let region = match text("awsRegion")? {
            Some(region) => region,
            None => from_envelope("region")?.unwrap_or_default(),
        };
        Ok(Event {
            origin: origin.to_string(),
            id,
            name,
            source: text("eventSource")?.unwrap_or_default(),
            time: match text("eventTime")? {
                Some(t) => t,
                None => from_envelope("time")?.unwrap_or_default(),
            },
            account,
            region,
            actor,
            source_ip: text("sourceIPAddress")?,
            user_agent: text("userAgent")?,
            error_code: text("errorCode")?,
            envelope_conflict: (!conflicts.is_empty()).then(|| conflicts.join("; ")),
            request: record
                .get("requestParameters")
                .value()
                .cloned()
                .unwrap_or(Value::Null),
            response: record
                .get("responseElements")
                .value()
                .cloned()
                .unwrap_or(Value::Null),
        })
    }

    /// Like [`Event::from_value`], taking the request and response out of
    /// `value` instead of copying them (archives: most of a record's bytes).
    pub fn from_owned(mut value: Value, origin: &str) -> Result<Event, ParseError> {
        let in_envelope = value.get("detail").is_some_and(|d| d.is_object());
        let record = if in_envelope {
            &mut value["detail"]
        } else {
            &mut value
        };
        let mut take = |key: &str| record.get_mut(key).map(Value::take).unwrap_or(Value::Null);
        let (request, response) = (take("requestParameters"), take("responseElements"));
        let mut event = Event::from_value(&value, origin)?;
        event.request = request;
        event.response = response;
        Ok(event)
    }

    /// True when the record is a call to `service` (`ec2`, `ecs`):
    /// `eventSource` is part of the event's identity, so App Runner's
    /// `CreateService` is not ECS's. A record without `eventSource` is taken
    /// at its name (judged rather than passed).
    pub fn is_from(&self, service: &str) -> bool {
        self.source.is_empty() || self.source.strip_suffix(".amazonaws.com") == Some(service)
    }

    /// The `source` EventBridge gives the record's service's CloudTrail
    /// events (`aws.ec2` for `ec2.amazonaws.com`; the Resource Groups
    /// Tagging API's are `aws.tag`). Only AWS puts `aws.*` events on a bus;
    /// `None` when the record names no AWS service.
    pub fn aws_source(&self) -> Option<String> {
        let service = self.source.strip_suffix(".amazonaws.com")?;
        let valid = !service.is_empty()
            && service
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        valid.then(|| match service {
            "tagging" => "aws.tag".to_string(),
            other => format!("aws.{other}"),
        })
    }

    /// Path-aware view of `requestParameters`.
    pub fn request(&self) -> Node<'_> {
        Node::root(&self.request, "requestParameters")
    }

    /// Path-aware view of `responseElements`.
    pub fn response(&self) -> Node<'_> {
        Node::root(&self.response, "responseElements")
    }

    /// An error about a field of this event.
    pub fn field_error(&self, field: FieldError) -> ParseError {
        ParseError::Field {
            origin: self.origin.clone(),
            event: self.id.clone(),
            field,
        }
    }
}

/// What a reader wants of a record, decided by its event name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// The whole event, request and response included.
    Everything,
    /// The event without its request and response (left `null`).
    Head,
    /// Only that a well-formed record was there: `Ok(None)`.
    Nothing,
}

/// The fields of a record [`Event::from_value`] reads, borrowed from the
/// file, with the request and response left as raw JSON. Any other shape
/// (a wrong type, a duplicate key, an envelope) fails here and the record is
/// read the general way.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head<'a> {
    #[serde(borrow, rename = "eventID")]
    event_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_source: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    aws_region: Option<Cow<'a, str>>,
    #[serde(borrow)]
    recipient_account_id: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "sourceIPAddress")]
    source_ip_address: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_identity: Option<Identity<'a>>,
    detail: Option<serde::de::IgnoredAny>,
    #[serde(rename = "Records")]
    records: Option<serde::de::IgnoredAny>,
    #[serde(borrow)]
    request_parameters: Option<&'a RawValue>,
    #[serde(borrow)]
    response_elements: Option<&'a RawValue>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    #[serde(borrow)]
    arn: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    account_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    invoked_by: Option<Cow<'a, str>>,
    #[serde(borrow)]
    access_key_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    session_context: Option<SessionContext<'a>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext<'a> {
    #[serde(borrow)]
    session_issuer: Option<Issuer<'a>>,
    #[serde(borrow)]
    attributes: Option<Attributes<'a>>,
}

#[derive(serde::Deserialize)]
struct Issuer<'a> {
    #[serde(borrow)]
    arn: Option<Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Attributes<'a> {
    #[serde(borrow)]
    mfa_authenticated: Option<Cow<'a, str>>,
}

impl Head<'_> {
    /// `mfaAuthenticated`, `Err` when it is not a boolean word.
    fn mfa(&self) -> Result<Option<bool>, ()> {
        match self
            .user_identity
            .as_ref()
            .and_then(|i| i.session_context.as_ref())
            .and_then(|c| c.attributes.as_ref())
            .and_then(|a| a.mfa_authenticated.as_deref())
        {
            None => Ok(None),
            Some(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(()),
        }
    }

    /// The event name, when the record has the plain shape: no envelope (nor
    /// `Records`), an event id, a boolean `mfaAuthenticated`. Otherwise the
    /// record is read the general way, which also names whatever is wrong.
    fn plain_name(&self) -> Option<&str> {
        let plain = self.detail.is_none()
            && self.records.is_none()
            && self.event_id.is_some()
            && self.mfa().is_ok();
        self.event_name.as_deref().filter(|_| plain)
    }

    /// The event without its request and response (a plain record).
    fn event(&self, origin: String) -> Event {
        let identity = self.user_identity.as_ref();
        let context = identity.and_then(|i| i.session_context.as_ref());
        let owned = |s: &Option<Cow<str>>| s.as_deref().map(str::to_string);
        Event {
            origin,
            id: owned(&self.event_id).unwrap_or_default(),
            name: owned(&self.event_name).unwrap_or_default(),
            source: owned(&self.event_source).unwrap_or_default(),
            time: owned(&self.event_time).unwrap_or_default(),
            account: owned(&self.recipient_account_id)
                .or_else(|| identity.and_then(|i| owned(&i.account_id)))
                .unwrap_or_default(),
            region: owned(&self.aws_region).unwrap_or_default(),
            actor: Actor {
                arn: identity.and_then(|i| owned(&i.arn)),
                issuer_arn: context
                    .and_then(|c| c.session_issuer.as_ref())
                    .and_then(|s| owned(&s.arn)),
                identity_type: identity.and_then(|i| owned(&i.kind)),
                mfa_authenticated: self.mfa().ok().flatten(),
                invoked_by: identity.and_then(|i| owned(&i.invoked_by)),
                access_key_id: identity.and_then(|i| owned(&i.access_key_id)),
            },
            source_ip: owned(&self.source_ip_address),
            user_agent: owned(&self.user_agent),
            error_code: owned(&self.error_code),
            envelope_conflict: None,
            request: Value::Null,
            response: Value::Null,
        }
    }
}

/// A record of a log file (or any one value), read the fast way when it has
/// the plain shape and the general way otherwise. `origin()` names it.
pub(crate) fn read_record(
    raw: &RawValue,
    origin: &impl Fn() -> String,
    want: &impl Fn(&str) -> Want,
) -> Result<Option<Event>, ParseError> {
    if let Some(event) = read_plain(raw, origin, want) {
        return Ok(event);
    }
    match crate::model::json::parse_strict(raw.get()) {
        Ok(value) => Event::from_owned(value, &origin()).map(Some),
        Err(e) => Err(ParseError::Document {
            origin: origin(),
            problem: format!("not valid JSON: {e}"),
        }),
    }
}

/// A record of the plain shape, its head fields read without building a
/// tree and its request and response parsed only when `want` says so;
/// `None` when the record is not of that shape (read it the general way).
pub(crate) fn read_plain(
    raw: &RawValue,
    origin: &impl Fn() -> String,
    want: &impl Fn(&str) -> Want,
) -> Option<Option<Event>> {
    let head = serde_json::from_str::<Head>(raw.get()).ok()?;
    plain_event(&head, origin, want)
}

/// Why [`read_plain_at`] read no record.
pub(crate) enum NotPlain {
    /// The buffer ends inside the record.
    Incomplete,
    /// Anything else: read it the general way (which also names what is wrong).
    Other,
}

/// Like [`read_plain`], for the record at the start of `bytes` (a buffer of a
/// log file), in one pass: its head is read straight from the buffer, which
/// also finds where the record ends. Returns the event and the record's
/// length in bytes.
pub(crate) fn read_plain_at(
    bytes: &[u8],
    origin: &impl Fn() -> String,
    want: &impl Fn(&str) -> Want,
) -> Result<(Option<Event>, usize), NotPlain> {
    let mut values = serde_json::Deserializer::from_slice(bytes).into_iter::<Head>();
    let head = match values.next() {
        Some(Ok(head)) => head,
        Some(Err(e)) if e.is_eof() => return Err(NotPlain::Incomplete),
        _ => return Err(NotPlain::Other),
    };
    let end = values.byte_offset();
    // The fields skipped are JSON too: the record is valid UTF-8 as a whole.
    if std::str::from_utf8(&bytes[..end]).is_err() {
        return Err(NotPlain::Other);
    }
    match plain_event(&head, origin, want) {
        Some(event) => Ok((event, end)),
        None => Err(NotPlain::Other),
    }
}

fn plain_event(
    head: &Head<'_>,
    origin: &impl Fn() -> String,
    want: &impl Fn(&str) -> Want,
) -> Option<Option<Event>> {
    let name = head.plain_name()?;
    let mut event = match want(name) {
        Want::Nothing => return Some(None),
        Want::Head => return Some(Some(head.event(origin()))),
        Want::Everything => head.event(origin()),
    };
    let body = |raw: Option<&RawValue>| match raw {
        // A duplicate key: the general way names it.
        Some(raw) => crate::model::json::parse_strict(raw.get()).ok(),
        None => Some(Value::Null),
    };
    event.request = body(head.request_parameters)?;
    event.response = body(head.response_elements)?;
    Some(Some(event))
}

/// The records of a parsed document, taken apart without copying their bodies.
pub(crate) fn records_of(value: Value, origin: &str) -> Vec<Result<Event, ParseError>> {
    match value {
        Value::Object(mut map) if map.contains_key("Records") => match map.remove("Records") {
            Some(Value::Array(records)) => records
                .into_iter()
                .enumerate()
                .map(|(i, r)| Event::from_owned(r, &format!("{origin}: Records[{i}]")))
                .collect(),
            _ => vec![Err(ParseError::Document {
                origin: origin.to_string(),
                problem: "Records: expected a list".to_string(),
            })],
        },
        Value::Array(values) => values
            .into_iter()
            .enumerate()
            .map(|(i, r)| Event::from_owned(r, &format!("{origin}: [{i}]")))
            .collect(),
        other => vec![Event::from_owned(other, origin)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stream::read_document;
    use serde_json::json;

    fn record() -> Value {
        json!({"eventID": "e1", "eventName": "AuthorizeSecurityGroupIngress",
               "eventSource": "ec2.amazonaws.com", "awsRegion": "us-east-1",
               "userIdentity": {"arn": "arn:aws:iam::111122223333:user/a",
                   "sessionContext": {"attributes": {"mfaAuthenticated": "TRUE"}}},
               "requestParameters": {"groupId": "sg-1"}})
    }

    #[test]
    fn envelope_and_bare_record_read_alike() {
        let bare = Event::from_value(&record(), "f").unwrap();
        let wrapped = json!({"id": "x", "account": "111122223333", "detail": record()});
        let wrapped = Event::from_value(&wrapped, "f").unwrap();
        assert_eq!(bare.id, "e1");
        assert_eq!(
            wrapped.account, "111122223333",
            "account falls back to the envelope"
        );
        assert_eq!(bare.actor.mfa_authenticated, Some(true));
        assert_eq!(wrapped.request, bare.request);
    }

    #[test]
    fn log_files_gzip_and_json_lines() {
        let log = json!({"Records": [record(), {"eventID": "e2"}]}).to_string();
        let out = read_document(log.as_bytes(), "log.json");
        assert_eq!(out.len(), 2);
        assert!(out[0].is_ok());
        let err = out[1].as_ref().unwrap_err().to_string();
        assert!(
            err.contains("log.json") && err.contains("e2") && err.contains("eventName"),
            "{err}"
        );

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, log.as_bytes()).unwrap();
        assert_eq!(read_document(&gz.finish().unwrap(), "log.json.gz").len(), 2);

        let lines = format!("{}\n\n{}\nnot json\n", record(), record());
        let out = read_document(lines.as_bytes(), "lines.jsonl");
        assert_eq!(out.len(), 3);
        assert!(out[2]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("lines.jsonl:4"));
    }

    #[test]
    fn wrong_types_name_the_field() {
        let mut r = record();
        r["eventName"] = json!(7);
        let err = Event::from_value(&r, "f.json").unwrap_err().to_string();
        assert_eq!(
            err,
            "f.json: event e1: eventName: expected a string, found a number"
        );
        assert!(read_document(b"{", "broken.json")[0].is_err());
    }
}
