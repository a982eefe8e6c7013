//! The document's layout: JSON lines, each value named by its line and a bad
//! line an error of its own, or one JSON value, which turns out to be JSON
//! lines after all when it was alone on a first line too long to tell by.

use serde::de::IgnoredAny;

use super::source::{Source, Stop};
use super::value::read_value;
use super::Contents;
use crate::model::event::{Event, ParseError, Want};

/// JSON lines from the source's position: each value named `file:LINE`, a
/// bad line an error of its own.
pub(super) fn read_lines(
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
pub(super) fn read_one(
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

#[cfg(test)]
mod tests {
    use crate::model::stream::source::FIRST_LINE;
    use crate::model::stream::test_support::*;
    use serde_json::json;

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
}
