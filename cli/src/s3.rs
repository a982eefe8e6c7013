//! `check s3://BUCKET/PREFIX`: a trail bucket read where it lies. Objects
//! are listed (only the prefixes `--since`, `--until`, `--account` and
//! `--region` select, by CloudTrail's key layout
//! `AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`) and read as
//! streams by `check`'s workers, each GET's body handed to the same reader
//! as a local file's bytes. The endpoint is the SDK's (`AWS_ENDPOINT_URL`
//! for an S3-compatible store).

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_s3::primitives::ByteStream;
use time::Date;

/// One object to read.
#[derive(Debug, Clone)]
pub struct Object {
    /// The `s3://BUCKET/PREFIX` named, which a resume file keys by.
    pub source: String,
    pub bucket: String,
    pub key: String,
    pub size: u64,
}

impl Object {
    /// `s3://bucket/key`, as messages name it.
    pub fn name(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

pub use crate::check::Select;

/// `s3://bucket/prefix` → (bucket, prefix); `None` for another path.
pub fn source(arg: &str) -> Option<(String, String)> {
    let rest = arg.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then(|| (bucket.to_string(), prefix.to_string()))
}

/// The S3 client with the runtime its calls run on, and the calls counted.
pub struct S3 {
    runtime: tokio::runtime::Runtime,
    client: aws_sdk_s3::Client,
    /// ListObjectsV2 calls made.
    pub list_calls: AtomicUsize,
}

/// One page of a listing: the keys, the folders, the next page's token.
type Page = (Vec<Object>, Vec<String>, Option<String>);

/// What the walk does with a folder of the key layout.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Look inside, one level at a time.
    Descend,
    /// Every key below it is wanted.
    ListAll,
    /// Nothing below it is wanted.
    Skip,
}

impl S3 {
    /// The client from the environment's configuration (profile, region,
    /// credentials, `AWS_ENDPOINT_URL`); path-style addressing when an
    /// endpoint is set, as S3-compatible stores want.
    pub fn new() -> Result<S3, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the S3 client's runtime: {e}"))?;
        let sdk =
            runtime.block_on(aws_config::defaults(aws_config::BehaviorVersion::latest()).load());
        let mut config = aws_sdk_s3::config::Builder::from(&sdk);
        if sdk.endpoint_url().is_some() {
            config = config.force_path_style(true);
        }
        Ok(S3 {
            runtime,
            client: aws_sdk_s3::Client::from_conf(config.build()),
            list_calls: AtomicUsize::new(0),
        })
    }

    /// The objects under `prefix` that `select` wants, in key order.
    pub fn list(&self, bucket: &str, prefix: &str, select: &Select) -> Result<Vec<Object>, String> {
        let mut out = Vec::new();
        if select.is_empty() {
            self.list_all(bucket, prefix, &mut out)?;
        } else {
            self.walk(bucket, prefix, select, &mut out)?;
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        let source = format!("s3://{bucket}/{prefix}");
        for o in &mut out {
            o.source.clone_from(&source);
        }
        Ok(out)
    }

    /// One page of ListObjectsV2: the keys with their sizes, the folders
    /// (with a delimiter), and the token of the next page.
    fn page(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: bool,
        token: Option<String>,
    ) -> Result<Page, String> {
        self.list_calls.fetch_add(1, Ordering::Relaxed);
        let mut call = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token);
        if delimiter {
            call = call.delimiter("/");
        }
        let out = self
            .runtime
            .block_on(call.send())
            .map_err(|e| format!("s3://{bucket}/{prefix}: cannot list: {}", describe(&e)))?;
        let objects = out
            .contents()
            .iter()
            .filter_map(|o| {
                Some(Object {
                    source: String::new(),
                    bucket: bucket.to_string(),
                    key: o.key()?.to_string(),
                    size: o.size().unwrap_or_default().max(0) as u64,
                })
            })
            .collect();
        let folders = out
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix().map(str::to_string))
            .collect();
        let next = out
            .is_truncated()
            .unwrap_or(false)
            .then(|| out.next_continuation_token().map(str::to_string))
            .flatten();
        Ok((objects, folders, next))
    }

    fn list_all(&self, bucket: &str, prefix: &str, out: &mut Vec<Object>) -> Result<(), String> {
        let mut token = None;
        loop {
            let (objects, _, next) = self.page(bucket, prefix, false, token)?;
            out.extend(objects);
            match next {
                Some(next) => token = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Walks the key layout a folder at a time, listing only the folders
    /// `select` wants.
    fn walk(
        &self,
        bucket: &str,
        prefix: &str,
        select: &Select,
        out: &mut Vec<Object>,
    ) -> Result<(), String> {
        let mut folders = Vec::new();
        let mut token = None;
        loop {
            let (_, found, next) = self.page(bucket, prefix, true, token)?;
            folders.extend(found);
            match next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        for folder in folders {
            match step(&folder, select) {
                Step::Skip => {}
                Step::ListAll => self.list_all(bucket, &folder, out)?,
                Step::Descend => self.walk(bucket, &folder, select, out)?,
            }
        }
        Ok(())
    }

    /// The object's bytes as a stream.
    pub fn open(&self, object: &Object) -> Result<Box<dyn Read + Send>, String> {
        let out = self
            .runtime
            .block_on(
                self.client
                    .get_object()
                    .bucket(&object.bucket)
                    .key(&object.key)
                    .send(),
            )
            .map_err(|e| describe(&e))?;
        Ok(Box::new(Body {
            runtime: self.runtime.handle().clone(),
            stream: out.body,
            chunk: bytes::Bytes::new(),
        }))
    }
}

/// An SDK error as its code and message.
fn describe<E: aws_sdk_s3::error::ProvideErrorMetadata>(
    e: &aws_sdk_s3::error::SdkError<E>,
) -> String {
    match e.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or_default()
        ),
        None => format!("{e}"),
    }
}

/// What the walk does with `folder` (`…/AWSLogs/111122223333/CloudTrail/`),
/// by the part of CloudTrail's layout it reaches.
fn step(folder: &str, select: &Select) -> Step {
    let parts: Vec<&str> = folder.trim_end_matches('/').split('/').collect();
    let Some(at) = parts.iter().position(|p| *p == "AWSLogs") else {
        // Above the layout: look for it.
        return Step::Descend;
    };
    let mut rest = &parts[at + 1..];
    if rest.first().is_some_and(|p| p.starts_with("o-")) {
        rest = &rest[1..];
    }
    let Some(account) = rest.first() else {
        return Step::Descend;
    };
    if !select.accounts.is_empty() && !select.accounts.iter().any(|a| a == account) {
        return Step::Skip;
    }
    match rest.get(1) {
        None => return Step::Descend,
        // Digests and other services' logs hold no event.
        Some(service) if *service != "CloudTrail" => return Step::Skip,
        Some(_) => {}
    }
    let Some(region) = rest.get(2) else {
        return Step::Descend;
    };
    if !select.regions.is_empty() && !select.regions.iter().any(|r| r == region) {
        return Step::Skip;
    }
    let numbers: Vec<u32> = rest[3..].iter().filter_map(|p| p.parse().ok()).collect();
    if numbers.len() != rest.len() - 3 {
        return Step::Skip;
    }
    // The first and last day the folder holds, against the range.
    let (first, last) = match numbers.as_slice() {
        [] => return Step::Descend,
        [year] => (date(*year, 1, 1), date(*year, 12, 31)),
        [year, month] => (date(*year, *month, 1), last_day(*year, *month)),
        [year, month, day, ..] => (date(*year, *month, *day), date(*year, *month, *day)),
    };
    let (Some(first), Some(last)) = (first, last) else {
        return Step::Skip;
    };
    if select.since.is_some_and(|since| last < since)
        || select.until.is_some_and(|until| first > until)
    {
        return Step::Skip;
    }
    if numbers.len() >= 3 {
        Step::ListAll
    } else {
        Step::Descend
    }
}

fn date(year: u32, month: u32, day: u32) -> Option<Date> {
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()
}

fn last_day(year: u32, month: u32) -> Option<Date> {
    let first = date(year, month, 1)?;
    Date::from_calendar_date(
        first.year(),
        first.month(),
        first.month().length(first.year()),
    )
    .ok()
}

/// A GET's body read as a stream, a chunk at a time.
struct Body {
    runtime: tokio::runtime::Handle,
    stream: ByteStream,
    chunk: bytes::Bytes,
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.runtime.block_on(self.stream.try_next()) {
                Ok(Some(chunk)) => self.chunk = chunk,
                Ok(None) => return Ok(0),
                Err(e) => return Err(std::io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Date {
        Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).unwrap()
    }

    #[test]
    fn the_walk_lists_only_the_folders_the_selection_wants() {
        let select = Select {
            since: Some(day("2026-11-02")),
            until: Some(day("2026-11-03")),
            accounts: vec!["111122223333".into()],
            regions: vec!["eu-west-1".into()],
        };
        let base = "trail/AWSLogs/o-abc123/";
        for (folder, want) in [
            ("trail/", Step::Descend),
            (base, Step::Descend),
            ("trail/AWSLogs/o-abc123/111122223333/", Step::Descend),
            ("trail/AWSLogs/o-abc123/444455556666/", Step::Skip),
            (
                "trail/AWSLogs/o-abc123/111122223333/CloudTrail-Digest/",
                Step::Skip,
            ),
            (
                "trail/AWSLogs/o-abc123/111122223333/CloudTrail/us-east-1/",
                Step::Skip,
            ),
            (
                "trail/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/",
                Step::Descend,
            ),
            (
                "trail/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2025/",
                Step::Skip,
            ),
            (
                "trail/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/",
                Step::Descend,
            ),
            (
                "trail/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/10/",
                Step::Skip,
            ),
            (
                "trail/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/11/",
                Step::Descend,
            ),
            (
                "trail/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/11/01/",
                Step::Skip,
            ),
            (
                "trail/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/11/02/",
                Step::ListAll,
            ),
            (
                "trail/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/11/03/",
                Step::ListAll,
            ),
            (
                "trail/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/11/04/",
                Step::Skip,
            ),
            // Without an organization: the account comes first.
            (
                "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/02/",
                Step::ListAll,
            ),
        ] {
            assert_eq!(step(folder, &select), want, "{folder}");
        }
        // A date only: every account and region, the days in range.
        let dates = Select {
            since: Some(day("2026-11-02")),
            ..Select::default()
        };
        assert_eq!(
            step(
                "AWSLogs/444455556666/CloudTrail/us-east-1/2026/11/01/",
                &dates
            ),
            Step::Skip
        );
        assert_eq!(
            step(
                "AWSLogs/444455556666/CloudTrail/us-east-1/2026/12/01/",
                &dates
            ),
            Step::ListAll
        );
    }

    #[test]
    fn a_source_is_a_bucket_and_a_prefix() {
        assert_eq!(
            source("s3://trail/AWSLogs/"),
            Some(("trail".into(), "AWSLogs/".into()))
        );
        assert_eq!(source("s3://trail"), Some(("trail".into(), String::new())));
        assert_eq!(source("s3:///x"), None);
        assert_eq!(source("logs/x.json"), None);
    }
}
