//! What the stream's tests share: a reader that hands out a few bytes at a
//! time, a record, readers of a whole document as text, and gzip.

use std::io::{Read, Write};

use serde_json::{json, Value};

use super::{read_in_chunks, Contents, CHUNK};
use crate::model::event::Want;

/// Hands out at most `step` bytes per read, so that every value straddles reads.
pub(super) struct Trickle<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

pub(super) fn record(id: &str) -> Value {
    json!({"eventID": id, "eventName": "AuthorizeSecurityGroupIngress", "eventSource": "ec2.amazonaws.com",
           "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
           "userIdentity": {"arn": "arn:aws:iam::111122223333:user/a"},
           "requestParameters": {"groupId": "sg-1", "n": 12345, "x": -1.25e3}})
}

/// Every result as text (events by id and origin, errors in full), and
/// what the document was, read `chunk` bytes at a time.
pub(super) fn read_by(input: impl Read, chunk: usize, origin: &str) -> (Vec<String>, Contents) {
    let mut out = Vec::new();
    let contents = read_in_chunks(
        input,
        chunk,
        origin,
        |_| Want::Everything,
        |r| {
            out.push(match r {
                Ok(Some(e)) => format!("{} @ {}", e.id, e.origin),
                Ok(None) => "nothing".to_string(),
                Err(e) => format!("error: {e}"),
            })
        },
    );
    (out, contents)
}

pub(super) fn read(input: impl Read, origin: &str) -> (Vec<String>, Contents) {
    read_by(input, CHUNK, origin)
}

/// Read a few bytes at a time, so that values straddle reads.
pub(super) fn trickle(bytes: &[u8], step: usize, origin: &str) -> (Vec<String>, Contents) {
    read_by(Trickle { bytes, step }, step, origin)
}

pub(super) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}
