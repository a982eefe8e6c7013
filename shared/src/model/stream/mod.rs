//! A document read as it arrives: a CloudTrail log file `{"Records": [...]}`
//! record by record, JSON lines value by value, gzipped or not, so that
//! memory follows the largest record, never the file.
//!
//! serde_json parses every value from a slice of a buffer that is refilled as
//! the input is read, and [`event`](crate::model::event)'s record reader
//! takes each record from there as raw JSON; only the punctuation between
//! values (`{"Records": [`, `,`, `]`, `}`, line ends) is read here.
//! serde_json's own reader-based parser takes its input byte by byte through
//! `io::Read`: it found the records of a 100 MB log file in 0.8–1.0 s, its
//! slice parser in 0.1 s.
//!
//! This file holds the entry points and what a document held ([`Contents`]).
//! The steps, one file each:
//! - `source`: the input, inflated and buffered, the small reads of
//!   punctuation and single values, and why reading stops;
//! - `lines`: the document's layout, JSON lines or one value;
//! - `value`: one value, a log file or a list element by element.

mod lines;
mod source;
#[cfg(test)]
mod test_support;
mod value;

use std::io::Read;

use serde_json::Value;

use crate::model::event::{Event, ParseError, Want};

use lines::{read_lines, read_one};
use source::Source;

/// Reads a document (file contents) into records. One entry per record: a
/// malformed record is an error in its place and the others still come through.
pub fn read_document(bytes: &[u8], origin: &str) -> Vec<Result<Event, ParseError>> {
    read_document_with(bytes, origin, |_| Want::Everything)
        .into_iter()
        .filter_map(Result::transpose)
        .collect()
}

/// Like [`read_document`], for archives: `want(eventName)` says how much of
/// each record to build. A CloudTrail log file is read record by record
/// without building the whole document; a record that does not have the plain
/// shape is read the general way, so errors are the same either way. A
/// document that holds no events (a digest file, other JSON) is an error here;
/// [`read_stream_with`] reads from a
/// stream and says what such a document was.
pub fn read_document_with(
    bytes: &[u8],
    origin: &str,
    want: impl Fn(&str) -> Want,
) -> Vec<Result<Option<Event>, ParseError>> {
    let mut out = Vec::new();
    let contents = read_stream_with(bytes, origin, want, |r| out.push(r));
    if contents != Contents::Events {
        out.push(Err(ParseError::Document {
            origin: origin.to_string(),
            problem: format!("{}, not CloudTrail records", contents.describe()),
        }));
    }
    out
}

/// Bytes read from the input at a time.
const CHUNK: usize = 256 * 1024;

/// What a document held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// Events: CloudTrail records, EventBridge events, log files (also
    /// none: `{"Records": []}`, `[]`).
    Events,
    /// A CloudTrail digest file (`digestStartTime`, `digestEndTime`,
    /// `digestS3Bucket`, …, and no field of a record): it lists log files, it
    /// holds no event.
    Digest,
    /// One JSON object with none of the fields of a CloudTrail record, an
    /// EventBridge event or a log file: an S3 inventory manifest, `{}`.
    NotEvents,
}

impl Contents {
    /// What the document was, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Contents::Events => "events",
            Contents::Digest => "a CloudTrail digest file",
            Contents::NotEvents => "a JSON object without any field of a CloudTrail record",
        }
    }
}

/// The fields of which any one makes an object a record, an EventBridge event
/// or a log file, to be read as such (and fail as such when malformed).
const EVENT_FIELDS: [&str; 18] = [
    "Records",
    "eventVersion",
    "eventID",
    "eventName",
    "eventSource",
    "eventTime",
    "eventType",
    "eventCategory",
    "awsRegion",
    "recipientAccountId",
    "userIdentity",
    "requestParameters",
    "responseElements",
    "errorCode",
    "sourceIPAddress",
    "userAgent",
    "detail",
    "detail-type",
];

/// The fields every CloudTrail digest file has.
const DIGEST_FIELDS: [&str; 3] = ["digestStartTime", "digestEndTime", "digestS3Bucket"];

/// What an object is when it is not events: `None` when it has a field of
/// an event (it is read as one), else a digest file or some other JSON.
fn not_events(value: &Value) -> Option<Contents> {
    let map = value.as_object()?;
    if EVENT_FIELDS.iter().any(|k| map.contains_key(*k)) {
        return None;
    }
    let digest = DIGEST_FIELDS
        .iter()
        .all(|k| map.get(*k).is_some_and(Value::is_string));
    Some(if digest {
        Contents::Digest
    } else {
        Contents::NotEvents
    })
}

/// Reads `input` (gzipped or not) and hands each record to `each` as it is
/// read: `want(eventName)` says how much of it to build, as in
/// [`read_document_with`]. A malformed record is an error in its
/// place (`file: Records[7]`) and the others still come through; JSON that
/// does not parse ends the document (in JSON lines, the line). A document that
/// is one object with no field of an event is reported as [`Contents::Digest`]
/// or [`Contents::NotEvents`], with nothing handed to `each`.
///
/// The document is JSON lines when its first line is a JSON value of its own
/// and something follows it (each value is then named `file:LINE`, and a bad
/// line ends only itself); else it is one JSON value, named `file`. A log
/// file, or a list, is read element by element; any other value (an event)
/// is read whole.
pub fn read_stream_with(
    input: impl Read,
    origin: &str,
    want: impl Fn(&str) -> Want,
    each: impl FnMut(Result<Option<Event>, ParseError>),
) -> Contents {
    read_in_chunks(input, CHUNK, origin, want, each)
}

/// [`read_stream_with`], reading `chunk` bytes at a time.
fn read_in_chunks(
    input: impl Read,
    chunk: usize,
    origin: &str,
    want: impl Fn(&str) -> Want,
    mut each: impl FnMut(Result<Option<Event>, ParseError>),
) -> Contents {
    let document = |problem: String| ParseError::Document {
        origin: origin.to_string(),
        problem,
    };
    let mut source = match Source::open(input, chunk) {
        Ok(source) => source,
        Err(problem) => {
            each(Err(document(problem)));
            return Contents::Events;
        }
    };
    let lines = match source.json_lines() {
        Ok(lines) => lines,
        Err(stop) => {
            each(Err(stop.error(origin)));
            return Contents::Events;
        }
    };
    if !lines {
        return read_one(&mut source, origin, &want, &mut each);
    }
    read_lines(&mut source, origin, &want, &mut each)
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn digest_and_other_json_are_told_apart_from_malformed_events() {
        let digest = json!({"awsAccountId": "111122223333", "digestStartTime": "2026-11-30T00:00:00Z",
            "digestEndTime": "2026-11-30T01:00:00Z", "digestS3Bucket": "trail", "digestS3Object": "x",
            "logFiles": []})
        .to_string();
        assert_eq!(
            read(digest.as_bytes(), "d.json"),
            (vec![], Contents::Digest)
        );
        let gz = gzip(digest.as_bytes());
        assert_eq!(read(&gz[..], "d.json.gz").1, Contents::Digest);
        let inventory = json!({"sourceBucket": "trail", "destinationBucket": "arn:aws:s3:::inv",
            "fileFormat": "CSV", "files": [{"key": "a.csv.gz"}]});
        assert_eq!(
            read(inventory.to_string().as_bytes(), "m.json").1,
            Contents::NotEvents
        );
        assert_eq!(read(&b" {} "[..], "e.json"), (vec![], Contents::NotEvents));
        // Anything with a field of an event is read as one, and fails as one.
        let half = json!({"digestStartTime": "x", "digestEndTime": "y", "digestS3Bucket": "z", "eventID": "e"});
        let (out, contents) = read(half.to_string().as_bytes(), "h.json");
        assert_eq!(contents, Contents::Events);
        assert_eq!(out, ["error: h.json: event e: eventName: missing"]);
        // A list, a scalar, nothing, a second value: never skipped.
        assert_eq!(read(&b"[]"[..], "x.json"), (vec![], Contents::Events));
        for bad in [
            &b"\"digest\""[..],
            b"",
            b"  \n",
            b"{\"Records\": null}",
            b"{}\n{}\n",
        ] {
            let (out, contents) = read(bad, "x.json");
            assert_eq!(contents, Contents::Events, "{bad:?}");
            assert!(
                !out.is_empty() && out.iter().all(|o| o.starts_with("error: x.json")),
                "{bad:?}: {out:?}"
            );
        }
    }
}
