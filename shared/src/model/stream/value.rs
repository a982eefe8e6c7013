//! One value of the document: a CloudTrail log file's `Records` or a list,
//! element by element, anything else (an event, or JSON that is not events)
//! whole.

use super::source::{Source, Stop};
use super::{not_events, Contents};
use crate::model::event::{self, Event, ParseError, Want};

/// Reads the value at the source's position: a log file or a list element by
/// element, anything else whole. `alone`: the document is this one value,
/// which may then be something other than events.
pub(super) fn read_value(
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
    use crate::model::stream::test_support::*;
    use crate::model::stream::Contents;
    use serde_json::{json, Value};

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
}
