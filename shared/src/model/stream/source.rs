//! The input as it arrives: inflated when gzipped, buffered and refilled,
//! with the small reads the document's shapes are made of (whitespace, a
//! line, one JSON value, `{"Records": [`), and [`Stop`], why reading stops.

use std::io::Read;

use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::model::event::{self, Event, NotPlain, ParseError, Want};

/// Bytes of a gzip file read at a time.
const GZIP_READ: usize = 128 * 1024;
/// How much of the start is searched for the first line's end, to tell JSON
/// lines from one document (past it, a first value alone on its line with
/// more lines after it makes the document JSON lines).
pub(super) const FIRST_LINE: usize = 1024 * 1024;
/// How far `{"Records": [` is looked for (whitespace allowed between).
const LOG_FILE_PREFIX: usize = 4096;

/// Why reading stops.
#[derive(Debug)]
pub(super) enum Stop {
    /// The input could not be read (or inflated): the document ends.
    Read(String),
    /// Not JSON from here: what is wrong, and in which element (`Records[3]`).
    Syntax { at: Option<String>, problem: String },
}

impl Stop {
    pub(super) fn syntax(problem: impl Into<String>) -> Stop {
        Stop::Syntax {
            at: None,
            problem: problem.into(),
        }
    }

    /// Names the element the syntax error is in.
    pub(super) fn within(self, element: impl FnOnce() -> String) -> Stop {
        match self {
            Stop::Syntax { at: None, problem } => Stop::Syntax {
                at: Some(element()),
                problem,
            },
            other => other,
        }
    }

    pub(super) fn error(self, label: &str) -> ParseError {
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
pub(super) struct Source<'r> {
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
    pub(super) line: usize,
    /// Count the lines of every value, not only of the whitespace between
    /// them (JSON lines: the next value's name depends on it).
    pub(super) count_lines: bool,
    /// Bytes read at a time.
    chunk: usize,
    /// The input broke here (a read or inflate error: a truncated or
    /// corrupt gzip file, trailing bytes after its last member). What was
    /// read before is still parsed; this then ends the document as an error.
    broken: Option<String>,
    /// The first line is longer than [`FIRST_LINE`]: whether the document is
    /// JSON lines is told after its first value.
    pub(super) long_first_line: bool,
}

impl<'r> Source<'r> {
    /// Opens `input`, inflating it when it starts as gzip does.
    pub(super) fn open(mut input: impl Read + 'r, chunk: usize) -> Result<Source<'r>, String> {
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
    pub(super) fn explain(&mut self, stop: Stop) -> Stop {
        match (self.broken.take(), stop) {
            (None, stop) => stop,
            (Some(problem), Stop::Syntax { at: Some(at), .. }) => {
                Stop::Read(format!("{at}: {problem}"))
            }
            (Some(problem), _) => Stop::Read(problem),
        }
    }

    /// The input's failure, once everything before it was read.
    pub(super) fn broken_at_end(&mut self) -> Option<Stop> {
        self.broken.take().map(Stop::Read)
    }

    /// The bytes read and not yet parsed.
    fn rest(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Moves past `n` bytes, counting their lines when asked.
    pub(super) fn advance(&mut self, n: usize) {
        let end = self.pos + n;
        if self.count_lines {
            self.line += memchr::memchr_iter(b'\n', &self.buf[self.pos..end]).count();
        }
        self.pos = end;
    }

    /// Skips whitespace (up to a line end when `stop_at_newline`) and peeks
    /// at the next byte; `None` at the end of the input.
    pub(super) fn skip_ws(&mut self, stop_at_newline: bool) -> Result<Option<u8>, Stop> {
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
    pub(super) fn skip_line(&mut self) -> Result<(), Stop> {
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
    pub(super) fn plain(
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
    pub(super) fn value<T>(&mut self, mut f: impl FnMut(&RawValue) -> T) -> Result<T, Stop> {
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
    pub(super) fn json_lines(&mut self) -> Result<bool, Stop> {
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
    pub(super) fn log_file_prefix(&mut self) -> Result<Option<usize>, Stop> {
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
    pub(super) fn finish_log_file(&mut self) -> Result<(), Stop> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stream::test_support::*;
    use serde_json::{json, Value};

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
