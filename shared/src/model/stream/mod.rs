//! A document read as it arrives: a CloudTrail log file `{"Records": [...]}`
//! record by record, JSON lines value by value, gzipped or not, so that
//! memory follows the largest record, never the file.
//!
//! serde_json parses every value from a slice of a buffer that is refilled as
//! the input is read, and [`event`]'s record reader takes each record from
//! there as raw JSON; only the punctuation between values (`{"Records": [`,
//! `,`, `]`, `}`, line ends) is read here. serde_json's own reader-based
//! parser takes its input byte by byte through `io::Read`: it found the
//! records of a 100 MB log file in 0.8–1.0 s, its slice parser in 0.1 s.

use std::io::Read;

use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::model::event::{self, Event, NotPlain, ParseError, Want};

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
/// Bytes of a gzip file read at a time.
const GZIP_READ: usize = 128 * 1024;
/// How much of the start is searched for the first line's end, to tell JSON
/// lines from one document (past it, a first value alone on its line with
/// more lines after it makes the document JSON lines).
const FIRST_LINE: usize = 1024 * 1024;
/// How far `{"Records": [` is looked for (whitespace allowed between).
const LOG_FILE_PREFIX: usize = 4096;

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

/// JSON lines from the source's position: each value named `file:LINE`, a
/// bad line an error of its own.
fn read_lines(
    source: &mut Source<'_>,
    origin: &str,
    want: &impl Fn(&str) -> Want,
    each: &mut impl FnMut(Result<Option<Event>, ParseError>),
) -> Contents {
    source.count_lines = true;
    loop {
        match source.skip_ws(false) {
            Ok(Some(_)) => {}
            Ok(None) => {
                if let Some(stop) = source.broken_at_end() {
                    each(Err(stop.error(origin)));
                }
                return Contents::Events;
            }
            Err(stop) => {
                each(Err(source.explain(stop).error(origin)));
                return Contents::Events;
            }
        }
        let label = format!("{origin}:{}", source.line);
        let stop = match read_value(source, &label, false, want, each) {
            // One value per line: the rest of the line is blank.
            Ok(_) => match source.skip_ws(true) {
                Ok(None | Some(b'\n')) => continue,
                Ok(Some(_)) => Stop::syntax("trailing characters after the value"),
                Err(stop) => stop,
            },
            Err(stop) => stop,
        };
        let stop = source.explain(stop);
        if let Stop::Read(_) = stop {
            // The input broke in this line: nothing after it can be read.
            each(Err(stop.error(&label)));
            return Contents::Events;
        }
        // The line is an error; the next one is read.
        each(Err(stop.error(&label)));
        if let Err(stop) = source.skip_line() {
            each(Err(stop.error(origin)));
            return Contents::Events;
        }
    }
}

/// A document that is one JSON value (surrounded by whitespace only) — or
/// JSON lines whose first line was too long to tell them by: when that
/// value was alone on its line and more lines follow, they are read as JSON
/// lines after all.
fn read_one(
    source: &mut Source<'_>,
    origin: &str,
    want: &impl Fn(&str) -> Want,
    each: &mut impl FnMut(Result<Option<Event>, ParseError>),
) -> Contents {
    // The line ends between tokens are counted as they are skipped; those
    // inside a record are not (no pass over its bytes): a first line of over
    // 1 MiB with a line end only inside a record is not a case to pay for.
    let long_first_line = source.long_first_line;
    let mut first_line = 0;
    let read = source.skip_ws(false).and_then(|next| match next {
        // Nothing but whitespace: serde_json's words for it.
        None => Err(Stop::syntax(
            match serde_json::from_slice::<IgnoredAny>(b"") {
                Err(e) => e.to_string(),
                Ok(_) => "no JSON value".to_string(),
            },
        )),
        Some(_) => {
            first_line = source.line;
            read_value(source, origin, true, want, each)
        }
    });
    let mut lines_follow = false;
    let contents = read.and_then(|contents| {
        let mut next = source.skip_ws(true)?;
        if next == Some(b'\n') {
            let alone = long_first_line && source.line == first_line;
            next = source.skip_ws(false)?;
            lines_follow = next.is_some() && alone && contents == Contents::Events;
        }
        match next {
            None => Ok(contents),
            Some(_) if lines_follow => Ok(contents),
            Some(_) => Err(Stop::syntax("trailing characters after the document")),
        }
    });
    if lines_follow {
        return read_lines(source, origin, want, each);
    }
    // What was read before the input broke has been handed on; the break
    // is still an error (bytes after the last gzip member too).
    let contents = match contents {
        Ok(contents) => source.broken_at_end().map_or(Ok(contents), Err),
        Err(stop) => Err(source.explain(stop)),
    };
    match contents {
        Ok(contents) => contents,
        Err(stop) => {
            each(Err(stop.error(origin)));
            Contents::Events
        }
    }
}

/// Why reading stops.
#[derive(Debug)]
enum Stop {
    /// The input could not be read (or inflated): the document ends.
    Read(String),
    /// Not JSON from here: what is wrong, and in which element (`Records[3]`).
    Syntax { at: Option<String>, problem: String },
}

impl Stop {
    fn syntax(problem: impl Into<String>) -> Stop {
        Stop::Syntax {
            at: None,
            problem: problem.into(),
        }
    }

    /// Names the element the syntax error is in.
    fn within(self, element: impl FnOnce() -> String) -> Stop {
        match self {
            Stop::Syntax { at: None, problem } => Stop::Syntax {
                at: Some(element()),
                problem,
            },
            other => other,
        }
    }

    fn error(self, label: &str) -> ParseError {
        match self {
            Stop::Read(problem) => ParseError::Document {
                origin: label.to_string(),
                problem,
            },
            Stop::Syntax { at, problem } => ParseError::Document {
                origin: match at {
                    Some(at) => format!("{label}: {at}"),
                    None => label.to_string(),
                },
                problem: format!("not valid JSON: {problem}"),
            },
        }
    }
}

/// The input, decompressed, and a buffer of what is read but not yet parsed.
struct Source<'r> {
    input: Box<dyn Read + 'r>,
    gzip: bool,
    /// Read bytes up to `end`; past it, room to read into (kept, not zeroed again).
    buf: Vec<u8>,
    end: usize,
    /// Where parsing is in `buf`.
    pos: usize,
    /// The input has no more bytes.
    eof: bool,
    /// The line of `buf[pos]`, from 1 (inside values only when `count_lines`).
    line: usize,
    /// Count the lines of every value, not only of the whitespace between
    /// them (JSON lines: the next value's name depends on it).
    count_lines: bool,
    /// Bytes read at a time.
    chunk: usize,
    /// The input broke here (a read or inflate error: a truncated or
    /// corrupt gzip file, trailing bytes after its last member). What was
    /// read before is still parsed; this then ends the document as an error.
    broken: Option<String>,
    /// The first line is longer than [`FIRST_LINE`]: whether the document is
    /// JSON lines is told after its first value.
    long_first_line: bool,
}

impl<'r> Source<'r> {
    /// Opens `input`, inflating it when it starts as gzip does.
    fn open(mut input: impl Read + 'r, chunk: usize) -> Result<Source<'r>, String> {
        let mut head = [0u8; 2];
        let mut n = 0;
        while n < head.len() {
            match input.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("cannot read: {e}")),
            }
        }
        let gzip = head[..n] == [0x1f, 0x8b];
        let input = std::io::Cursor::new(head).take(n as u64).chain(input);
        Ok(Source {
            input: if gzip {
                Box::new(flate2::bufread::MultiGzDecoder::new(
                    std::io::BufReader::with_capacity(GZIP_READ, input),
                ))
            } else {
                Box::new(input)
            },
            gzip,
            buf: Vec::new(),
            end: 0,
            pos: 0,
            eof: false,
            line: 1,
            count_lines: false,
            chunk: chunk.max(1),
            broken: None,
            long_first_line: false,
        })
    }

    /// Reads at least `at_least` more bytes (or to the end); false when there
    /// were none. What was parsed is dropped first.
    fn fill(&mut self, at_least: usize) -> Result<bool, Stop> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        let start = self.end;
        let want = start + at_least.max(self.chunk);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        while self.end < want {
            match self.input.read(&mut self.buf[self.end..want]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.broken = Some(if self.gzip {
                        format!("not a valid gzip file: {e}")
                    } else {
                        format!("cannot read: {e}")
                    });
                    self.eof = true;
                    break;
                }
            }
        }
        Ok(self.end > start)
    }

    /// `stop` as the input's failure when the input broke (a record cut
    /// short by it is named with the read error, not as bad JSON).
    fn explain(&mut self, stop: Stop) -> Stop {
        match (self.broken.take(), stop) {
            (None, stop) => stop,
            (Some(problem), Stop::Syntax { at: Some(at), .. }) => {
                Stop::Read(format!("{at}: {problem}"))
            }
            (Some(problem), _) => Stop::Read(problem),
        }
    }

    /// The input's failure, once everything before it was read.
    fn broken_at_end(&mut self) -> Option<Stop> {
        self.broken.take().map(Stop::Read)
    }

    /// The bytes read and not yet parsed.
    fn rest(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Moves past `n` bytes, counting their lines when asked.
    fn advance(&mut self, n: usize) {
        let end = self.pos + n;
        if self.count_lines {
            self.line += memchr::memchr_iter(b'\n', &self.buf[self.pos..end]).count();
        }
        self.pos = end;
    }

    /// Skips whitespace (up to a line end when `stop_at_newline`) and peeks
    /// at the next byte; `None` at the end of the input.
    fn skip_ws(&mut self, stop_at_newline: bool) -> Result<Option<u8>, Stop> {
        loop {
            while let Some(&b) = self.rest().first() {
                match b {
                    b'\n' if stop_at_newline => return Ok(Some(b)),
                    b'\n' => {
                        self.line += 1;
                        self.pos += 1;
                    }
                    b' ' | b'\t' | b'\r' => self.pos += 1,
                    _ => return Ok(Some(b)),
                }
            }
            if !self.fill(self.chunk)? {
                return Ok(None);
            }
        }
    }

    /// Moves past the next line end (or to the end of the input).
    fn skip_line(&mut self) -> Result<(), Stop> {
        loop {
            if let Some(i) = memchr::memchr(b'\n', self.rest()) {
                self.pos += i + 1;
                self.line += 1;
                return Ok(());
            }
            self.pos = self.end;
            if !self.fill(self.chunk)? {
                return Ok(());
            }
        }
    }

    /// The record of the plain shape at `pos`, read in one pass
    /// ([`event::read_plain_at`]), reading more of the input until it is
    /// whole; `None` when it is not one (read it with [`Source::value`]).
    fn plain(
        &mut self,
        origin: &impl Fn() -> String,
        want: &impl Fn(&str) -> Want,
    ) -> Result<Option<Option<Event>>, Stop> {
        loop {
            let buffered = self.end - self.pos;
            match event::read_plain_at(self.rest(), origin, want) {
                Ok((event, len)) => {
                    self.advance(len);
                    return Ok(Some(event));
                }
                Err(NotPlain::Incomplete) if !self.eof => {
                    self.fill(buffered)?;
                }
                Err(NotPlain::Incomplete | NotPlain::Other) => return Ok(None),
            }
        }
    }

    /// Parses the JSON value at `pos` and hands it to `f`, reading more of
    /// the input until it is whole. Each retry reads at least as much as is
    /// buffered, so a long value is parsed a bounded number of times over.
    ///
    /// Where the buffer ends inside a number (`-`, `1.`, `1e`), serde_json
    /// says "invalid number", not "EOF": an error is taken as final only when
    /// more input leaves it where it was.
    fn value<T>(&mut self, mut f: impl FnMut(&RawValue) -> T) -> Result<T, Stop> {
        let mut last_error = None;
        loop {
            let buffered = self.end - self.pos;
            let parsed = {
                let slice = self.rest();
                let mut values =
                    serde_json::Deserializer::from_slice(slice).into_iter::<&RawValue>();
                match values.next() {
                    // A value that ends where the buffer ends may go on (a number).
                    Some(Ok(raw)) if values.byte_offset() < slice.len() || self.eof => {
                        Ok(Some((f(raw), values.byte_offset())))
                    }
                    Some(Ok(_)) | None => Ok(None),
                    Some(Err(e))
                        if !self.eof
                            && (e.is_eof() || last_error != Some((e.line(), e.column()))) =>
                    {
                        last_error = Some((e.line(), e.column()));
                        Ok(None)
                    }
                    Some(Err(e)) => Err(e),
                }
            };
            match parsed {
                Ok(Some((value, end))) => {
                    self.advance(end);
                    return Ok(value);
                }
                Ok(None) => {
                    let was_eof = self.eof;
                    if !self.fill(buffered)? && was_eof {
                        // Nothing more to read and nothing parsed: serde_json's words.
                        let slice = self.rest();
                        let problem = match serde_json::from_slice::<&RawValue>(slice) {
                            Err(e) => e.to_string(),
                            Ok(_) => "EOF while parsing a value".to_string(),
                        };
                        return Err(Stop::syntax(problem));
                    }
                }
                Err(e) => return Err(Stop::syntax(e.to_string())),
            }
        }
    }

    /// True when the input is JSON lines: its first line is a JSON value of
    /// its own, and more follows it.
    fn json_lines(&mut self) -> Result<bool, Stop> {
        if self.skip_ws(false)?.is_none() {
            return Ok(false);
        }
        loop {
            let rest = self.rest();
            if let Some(end) = memchr::memchr(b'\n', &rest[..rest.len().min(FIRST_LINE)]) {
                if serde_json::from_slice::<IgnoredAny>(&rest[..end]).is_err() {
                    return Ok(false);
                }
                let more = rest[end..].iter().any(|b| !b.is_ascii_whitespace());
                return Ok(more || !self.eof);
            }
            if rest.len() >= FIRST_LINE {
                self.long_first_line = true;
                return Ok(false);
            }
            if !self.fill(self.chunk)? {
                return Ok(false);
            }
        }
    }

    /// The length of `{"Records": [` at `pos` (whitespace allowed between
    /// the tokens), when the value there starts so.
    fn log_file_prefix(&mut self) -> Result<Option<usize>, Stop> {
        while self.end - self.pos < LOG_FILE_PREFIX {
            if !self.fill(self.chunk)? {
                break;
            }
        }
        let rest = self.rest();
        let mut at = 0;
        for token in [&b"{"[..], b"\"Records\"", b":", b"["] {
            while rest
                .get(at)
                .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            {
                at += 1;
            }
            if !rest[at.min(rest.len())..].starts_with(token) {
                return Ok(None);
            }
            at += token.len();
        }
        Ok(Some(at))
    }

    /// After a log file's list of records: its other members, skipped, and
    /// its end.
    fn finish_log_file(&mut self) -> Result<(), Stop> {
        loop {
            match self.skip_ws(false)? {
                Some(b'}') => {
                    self.advance(1);
                    return Ok(());
                }
                Some(b',') => {
                    self.advance(1);
                    self.skip_ws(false)?;
                    let key = self.value(|raw| serde_json::from_str::<String>(raw.get()).ok())?;
                    match key.as_deref() {
                        Some("Records") => return Err(Stop::syntax("a second `Records` member")),
                        Some(_) => {}
                        None => return Err(Stop::syntax("expected a member name after `,`")),
                    }
                    if self.skip_ws(false)? != Some(b':') {
                        return Err(Stop::syntax("expected `:` after a member name"));
                    }
                    self.advance(1);
                    self.skip_ws(false)?;
                    self.value(|_| ())?;
                }
                Some(_) => return Err(Stop::syntax("expected `,` or `}` after `Records`")),
                None => return Err(Stop::syntax("EOF while parsing an object")),
            }
        }
    }
}

/// Reads the value at the source's position: a log file or a list element by
/// element, anything else whole. `alone`: the document is this one value,
/// which may then be something other than events.
fn read_value(
    source: &mut Source<'_>,
    label: &str,
    alone: bool,
    want: &impl Fn(&str) -> Want,
    each: &mut impl FnMut(Result<Option<Event>, ParseError>),
) -> Result<Contents, Stop> {
    if let Some(prefix) = source.log_file_prefix()? {
        source.advance(prefix);
        read_list(source, label, "Records", want, each)?;
        source.finish_log_file()?;
        return Ok(Contents::Events);
    }
    if source.skip_ws(false)? == Some(b'[') {
        source.advance(1);
        read_list(source, label, "", want, each)?;
        return Ok(Contents::Events);
    }
    if let Some(event) = source.plain(&|| label.to_string(), want)? {
        each(Ok(event));
        return Ok(Contents::Events);
    }
    source.value(|raw| {
        let value = match crate::model::json::parse_strict(raw.get()) {
            Ok(value) => value,
            Err(e) => {
                each(Err(ParseError::Document {
                    origin: label.to_string(),
                    problem: format!("not valid JSON: {e}"),
                }));
                return Contents::Events;
            }
        };
        if let Some(contents) = not_events(&value).filter(|_| alone) {
            return contents;
        }
        for record in event::records_of(value, label) {
            each(record.map(Some));
        }
        Contents::Events
    })
}

/// The elements of a list (`Records` of a log file, or a list of events),
/// after its `[`, each read as a record.
fn read_list(
    source: &mut Source<'_>,
    label: &str,
    name: &str,
    want: &impl Fn(&str) -> Want,
    each: &mut impl FnMut(Result<Option<Event>, ParseError>),
) -> Result<(), Stop> {
    if source.skip_ws(false)? == Some(b']') {
        source.advance(1);
        return Ok(());
    }
    for index in 0.. {
        let origin = || format!("{label}: {name}[{index}]");
        match source.plain(&origin, want)? {
            Some(event) => each(Ok(event)),
            None => source
                .value(|raw| each(event::read_record(raw, &origin, want)))
                .map_err(|stop| stop.within(|| format!("{name}[{index}]")))?,
        }
        match source.skip_ws(false)? {
            Some(b',') => {
                source.advance(1);
                // Here, not inside the next record's parse: its line ends
                // are counted.
                source.skip_ws(false)?;
            }
            Some(b']') => {
                source.advance(1);
                return Ok(());
            }
            Some(_) => {
                return Err(Stop::syntax(format!(
                    "expected `,` or `]` after {name}[{index}]"
                )))
            }
            None => {
                return Err(Stop::syntax(format!(
                    "EOF while parsing a list, after {name}[{index}]"
                )))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Write;

    /// Hands out at most `step` bytes per read, so that every value straddles reads.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    fn record(id: &str) -> Value {
        json!({"eventID": id, "eventName": "AuthorizeSecurityGroupIngress", "eventSource": "ec2.amazonaws.com",
               "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
               "userIdentity": {"arn": "arn:aws:iam::111122223333:user/a"},
               "requestParameters": {"groupId": "sg-1", "n": 12345, "x": -1.25e3}})
    }

    /// Every result as text (events by id and origin, errors in full), and
    /// what the document was, read `chunk` bytes at a time.
    fn read_by(input: impl Read, chunk: usize, origin: &str) -> (Vec<String>, Contents) {
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

    fn read(input: impl Read, origin: &str) -> (Vec<String>, Contents) {
        read_by(input, CHUNK, origin)
    }

    /// Read a few bytes at a time, so that values straddle reads.
    fn trickle(bytes: &[u8], step: usize, origin: &str) -> (Vec<String>, Contents) {
        read_by(Trickle { bytes, step }, step, origin)
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn a_log_file_reads_the_same_however_its_bytes_arrive() {
        let mut records: Vec<Value> = (0..50).map(|i| record(&format!("e{i}"))).collect();
        records[17] = json!({"eventID": "bad", "eventName": 7});
        let doc = json!({"Records": records, "trail": "x"}).to_string();
        let pretty = serde_json::to_string_pretty(&json!({"Records": records})).unwrap();
        let (whole, contents) = read(doc.as_bytes(), "f.json");
        assert_eq!(contents, Contents::Events);
        assert_eq!(whole.len(), 50);
        assert_eq!(whole[3], "e3 @ f.json: Records[3]");
        assert_eq!(
            whole[17],
            "error: f.json: Records[17]: event bad: eventName: expected a string, found a number"
        );
        for step in [1, 2, 7, 64, 1000] {
            for bytes in [doc.as_bytes(), pretty.as_bytes()] {
                assert_eq!(trickle(bytes, step, "f.json").0, whole, "step {step}");
            }
            let gz = gzip(doc.as_bytes());
            assert_eq!(trickle(&gz, step, "f.json").0, whole, "gzip, step {step}");
        }
    }

    #[test]
    fn json_lines_are_named_by_line_and_a_bad_line_ends_only_itself() {
        let lines = format!(
            "\n{}\n{{ not json\n\n{} {{}}\n{}\n{{\"Records\":[{}]}}\n",
            record("a"),
            record("b"),
            record("c"),
            record("d")
        );
        let want = [
            "a @ f.jsonl:2",
            "error: f.jsonl:3: not valid JSON: key must be a string at line 1 column 3",
            "b @ f.jsonl:5",
            "error: f.jsonl:5: not valid JSON: trailing characters after the value",
            "c @ f.jsonl:6",
            "d @ f.jsonl:7: Records[0]",
        ];
        for step in [1, 3, 4096] {
            assert_eq!(
                trickle(lines.as_bytes(), step, "f.jsonl").0,
                want,
                "step {step}"
            );
        }
    }

    #[test]
    fn one_event_a_list_of_events_and_numbers_at_a_read_boundary() {
        let one = serde_json::to_string_pretty(&record("a")).unwrap();
        assert_eq!(read(one.as_bytes(), "one.json").0, ["a @ one.json"]);
        let envelope =
            json!({"id": "x", "account": "111122223333", "detail": record("b")}).to_string();
        assert_eq!(read(envelope.as_bytes(), "eb.json").0, ["b @ eb.json"]);
        let list = json!([record("a"), 42]).to_string();
        let (out, _) = trickle(list.as_bytes(), 1, "l.json");
        assert_eq!(out[0], "a @ l.json: [0]");
        assert!(out[1].starts_with("error: l.json: [1]: "), "{}", out[1]);
    }

    #[test]
    fn a_value_is_never_cut_where_a_read_ends() {
        for (bytes, want) in [
            (&b"12345,"[..], "12345"),
            (b"true]", "true"),
            (b"-1.5e3", "-1.5e3"),
        ] {
            let mut source = Source::open(Trickle { bytes, step: 1 }, 1).unwrap();
            let value = source.value(|raw| raw.get().to_string()).unwrap();
            assert_eq!(value, want);
        }
    }

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

    #[test]
    fn broken_input_stops_the_document_and_says_why() {
        let doc = json!({"Records": [record("a"), record("b")]}).to_string();
        let cut = &doc[..doc.len() - 40];
        let (out, _) = read(cut.as_bytes(), "cut.json");
        assert_eq!(out[0], "a @ cut.json: Records[0]");
        assert!(
            out[1].starts_with("error: cut.json: Records[1]: not valid JSON: EOF while parsing"),
            "{}",
            out[1]
        );
        let gz = gzip(doc.as_bytes());
        let (out, _) = read(&gz[..gz.len() - 20], "cut.json.gz");
        assert_eq!(
            out[0], "a @ cut.json.gz: Records[0]",
            "read before the break"
        );
        assert!(
            out[1].starts_with("error: cut.json.gz: Records[1]: not a valid gzip file"),
            "{out:?}"
        );
        let missing = format!("{{\"Records\":[{} {}]}}", record("a"), record("b"));
        let (out, _) = read(missing.as_bytes(), "m.json");
        assert_eq!(
            out[1],
            "error: m.json: not valid JSON: expected `,` or `]` after Records[0]"
        );
        // One document is one value: what follows it is an error, not another document.
        let two = format!(
            "{}\n{}",
            serde_json::to_string_pretty(&record("a")).unwrap(),
            record("b")
        );
        assert_eq!(
            read(two.as_bytes(), "two.json").0,
            [
                "a @ two.json",
                "error: two.json: not valid JSON: trailing characters after the document"
            ]
        );
        let twice = format!("{{\"Records\":[],\"Records\":[{}]}}", record("a"));
        assert!(read(twice.as_bytes(), "t.json").0[0].contains("a second `Records` member"));
        // Not first, `Records` twice is still an error, as is any key twice.
        let later = format!("{{\"x\":1,\"Records\":[{}],\"Records\":[]}}", record("a"));
        let (out, _) = read(later.as_bytes(), "l.json");
        assert_eq!(out.len(), 1);
        assert!(out[0].contains("duplicate key \"Records\""), "{out:?}");
        let mut dup = record("a").to_string();
        dup.pop();
        dup.push_str(",\"eventName\":\"DescribeInstances\"}");
        let (out, _) = read(format!("{{\"Records\":[{dup}]}}").as_bytes(), "d.json");
        assert!(
            out[0].starts_with(
                "error: d.json: Records[0]: not valid JSON: duplicate key \"eventName\""
            ),
            "{out:?}"
        );
    }

    #[test]
    fn json_lines_whose_first_line_is_longer_than_the_search_are_still_json_lines() {
        let mut long = record("long");
        long["userAgent"] = json!("A".repeat(FIRST_LINE + 1024));
        let lines = format!("{long}\n{}\n\n{}\n", record("b"), record("c"));
        let (out, _) = read(lines.as_bytes(), "l.jsonl");
        assert_eq!(out, ["long @ l.jsonl", "b @ l.jsonl:2", "c @ l.jsonl:4"]);
        let (out, _) = read(gzip(lines.as_bytes()).as_slice(), "l.jsonl.gz");
        assert_eq!(out.len(), 3, "{:?}", &out[1..]);
        // A long value over several lines is one document: what follows it
        // is still an error.
        let pretty = format!(
            "{}\n{}\n",
            serde_json::to_string_pretty(&long).unwrap(),
            record("b")
        );
        let (out, _) = read(pretty.as_bytes(), "p.json");
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[1],
            "error: p.json: not valid JSON: trailing characters after the document"
        );
        let spread = format!(
            "{{\"Records\":[{long},\n{}]}}\n{}\n",
            record("b"),
            record("c")
        );
        let (out, _) = read(spread.as_bytes(), "s.json");
        assert_eq!(out.len(), 3, "{:?}", &out[1..]);
        assert_eq!(
            out[2],
            "error: s.json: not valid JSON: trailing characters after the document"
        );
        // A bad line after the long one is an error of its own.
        let bad = format!("{long}\n{{\"eventID\": \n{}\n", record("c"));
        let (out, _) = read(bad.as_bytes(), "b.jsonl");
        assert_eq!(out.len(), 3, "{:?}", &out[1..]);
        assert!(
            out[1].starts_with("error: b.jsonl:2: not valid JSON"),
            "{}",
            out[1]
        );
        assert_eq!(out[2], "c @ b.jsonl:3");
    }

    #[test]
    fn what_was_inflated_before_a_gzip_file_breaks_is_read_then_the_break_is_an_error() {
        let records: Vec<Value> = (0..400).map(|i| record(&format!("e{i}"))).collect();
        let doc = json!({ "Records": records }).to_string();
        let gz = gzip(doc.as_bytes());
        // Bytes after the last member: every record, then the error.
        let mut trailing = gz.clone();
        trailing.push(b'X');
        let (out, _) = read_by(trailing.as_slice(), 4096, "t.json.gz");
        assert_eq!(out.len(), 401, "{:?}", &out[out.len().saturating_sub(2)..]);
        assert!(out[..400].iter().all(|o| !o.starts_with("error")));
        assert!(
            out[400].starts_with("error: t.json.gz: not a valid gzip file"),
            "{}",
            out[400]
        );
        // Cut short: every whole record before the cut, then the error
        // naming the record it cut.
        let (out, _) = read_by(&gz[..gz.len() * 3 / 5], 4096, "c.json.gz");
        let whole = out.iter().filter(|o| !o.starts_with("error")).count();
        assert!(whole > 100 && whole < 400, "{whole}");
        assert_eq!(out.len(), whole + 1);
        assert!(
            out[whole].starts_with(&format!(
                "error: c.json.gz: Records[{whole}]: not a valid gzip file"
            )),
            "{}",
            out[whole]
        );
        // JSON lines: the line it broke in is named.
        let lines: String = (0..400)
            .map(|i| format!("{}\n", record(&format!("l{i}"))))
            .collect();
        let gz = gzip(lines.as_bytes());
        let (out, _) = read_by(&gz[..gz.len() / 2], 4096, "j.jsonl.gz");
        let whole = out.iter().filter(|o| !o.starts_with("error")).count();
        assert!(whole > 100, "{whole}");
        assert!(
            out[whole].starts_with(&format!(
                "error: j.jsonl.gz:{}: not a valid gzip file",
                whole + 1
            )),
            "{}",
            out[whole]
        );
    }
}
