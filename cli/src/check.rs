//! `access-guard check`: read every input, evaluate every event, print one
//! verdict per event; unreadable inputs are reported by name and the rest still run.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use access_guard::finding::Severity;
use access_guard::model::event::{read_document_with, Want};
use access_guard::output::report::Report;
use access_guard::policy::Policy;

use crate::Format;

/// Totals for the summary line and the exit status.
#[derive(Default)]
struct Tally {
    events: usize,
    findings: usize,
    by_severity: [usize; 5],
    skipped: usize,
    /// Events no guard evaluates (most of a CloudTrail archive).
    not_handled: usize,
    errors: usize,
    failed: bool,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.events += other.events;
        self.findings += other.findings;
        for (a, b) in self.by_severity.iter_mut().zip(other.by_severity) {
            *a += b;
        }
        self.skipped += other.skipped;
        self.not_handled += other.not_handled;
        self.errors += other.errors;
        self.failed |= other.failed;
    }
}

/// What one input produced: its output and error lines, and its totals.
#[derive(Default)]
struct FileResult {
    out: Vec<u8>,
    errors: Vec<String>,
    tally: Tally,
}

/// How verdicts are written.
struct Output {
    format: Format,
    colour: bool,
    fail_on: Option<Severity>,
    today: time::Date,
}

/// Runs the check and returns the exit status: 0 ran, 1 a finding reached
/// `fail_on`, 2 an input could not be read or parsed. Inputs are read by
/// `jobs` threads, one file at a time each (memory follows the largest file,
/// not the archive); verdicts are printed in input order.
pub fn run(
    policy: &Policy,
    format: Format,
    fail_on: Option<Severity>,
    jobs: usize,
    paths: &[PathBuf],
) -> u8 {
    let output = Output {
        format,
        colour: format == Format::Text
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none(),
        fail_on,
        today: access_guard::today(),
    };
    let mut tally = Tally::default();
    let files = expand(paths, &mut tally);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let next = AtomicUsize::new(0);
    let (send, receive) = mpsc::sync_channel::<(usize, FileResult)>(jobs * 2);
    let mut closed = false;
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            let send = send.clone();
            let (next, files, output) = (&next, &files, &output);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                if send.send((i, check_file(path, policy, output))).is_err() {
                    break;
                }
            });
        }
        drop(send);
        // Print in input order as results arrive.
        let mut pending = BTreeMap::new();
        let mut printed = 0;
        for (i, result) in receive {
            pending.insert(i, result);
            while let Some(result) = pending.remove(&printed) {
                printed += 1;
                for e in &result.errors {
                    eprintln!("access-guard: {e}");
                }
                tally.add(&result.tally);
                if !closed && out.write_all(&result.out).is_err() {
                    // Closed pipe (e.g. `| head`): stop writing, still count.
                    closed = true;
                }
            }
        }
    });
    if format == Format::Text && !closed {
        let _ = write_summary(&mut out, &tally);
    }
    let _ = out.flush();
    exit_status(&tally)
}

/// Reads and evaluates one input.
fn check_file(input: &Path, policy: &Policy, output: &Output) -> FileResult {
    let mut result = FileResult::default();
    let (name, bytes) = match read_input(input) {
        Ok(read) => read,
        Err(e) => {
            result
                .errors
                .push(format!("{}: cannot read: {e}", input.display()));
            result.tally.errors += 1;
            return result;
        }
    };
    // Text output only counts the events no guard handles; JSON prints them.
    let want = |name: &str| match output.format {
        _ if access_guard::guards::offline::is_guarded(name) => Want::Everything,
        Format::Json => Want::Head,
        Format::Text => Want::Nothing,
    };
    for parsed in read_document_with(&bytes, &name, want) {
        let report = match parsed {
            Ok(None) => {
                result.tally.events += 1;
                result.tally.not_handled += 1;
                continue;
            }
            Ok(Some(event)) => {
                access_guard::guards::offline::evaluate(&event, policy, output.today)
            }
            Err(e) => Err(e),
        };
        let report = match report {
            Ok(report) => report,
            Err(e) => {
                result.errors.push(e.to_string());
                result.tally.errors += 1;
                continue;
            }
        };
        let tally = &mut result.tally;
        tally.events += 1;
        if report.is_not_handled() {
            tally.not_handled += 1;
        } else if report.skipped.is_some() {
            tally.skipped += 1;
        }
        for f in &report.findings {
            tally.findings += 1;
            tally.by_severity[f.severity as usize] += 1;
            if output.fail_on.is_some_and(|min| f.severity >= min) {
                tally.failed = true;
            }
        }
        let _ = match output.format {
            Format::Json => writeln!(result.out, "{}", report.to_json()),
            Format::Text => write_text(&mut result.out, &name, &report, output.colour),
        };
    }
    result
}

fn exit_status(tally: &Tally) -> u8 {
    if tally.errors > 0 {
        2
    } else if tally.failed {
        1
    } else {
        0
    }
}

/// Files named, and files found in folders (recursively, sorted), of the kinds we read.
fn expand(paths: &[PathBuf], tally: &mut Tally) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" || !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let mut stack = vec![path.clone()];
        let mut found = Vec::new();
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) => {
                    eprintln!("access-guard: {}: cannot read folder: {e}", dir.display());
                    tally.errors += 1;
                    continue;
                }
            };
            for entry in entries.flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else if is_event_file(&p) {
                    found.push(p);
                }
            }
        }
        found.sort();
        files.extend(found);
    }
    files
}

fn is_event_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    [".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

fn read_input(path: &Path) -> std::io::Result<(String, Vec<u8>)> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes)?;
        return Ok(("(stdin)".to_string(), bytes));
    }
    Ok((path.display().to_string(), std::fs::read(path)?))
}

pub(crate) fn paint(text: &str, severity: Severity, colour: bool) -> String {
    if !colour {
        return text.to_string();
    }
    let code = match severity {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Info => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn write_text(
    out: &mut impl Write,
    name: &str,
    report: &Report,
    colour: bool,
) -> std::io::Result<()> {
    let resource = report.resource.as_deref().unwrap_or("-");
    if let Some(reason) = &report.skipped {
        // Events no guard handles are only counted; failed calls are worth a line.
        if report.is_not_handled() {
            return Ok(());
        }
        return writeln!(out, "{name}  {}  skipped: {reason}", report.event_name);
    }
    writeln!(
        out,
        "{name}  {}  {resource}  (event {})",
        report.event_name, report.event_id
    )?;
    if let Some(change) = &report.exemption_tag {
        let what = match change.action {
            access_guard::model::tags::TagAction::Set => "set on",
            access_guard::model::tags::TagAction::Removed => "removed from",
        };
        writeln!(
            out,
            "    exemption tag {what} {} by {}",
            change.resource(),
            report.actor.as_deref().unwrap_or("unknown principal")
        )?;
    } else if report.findings.is_empty() {
        writeln!(out, "    no findings")?;
    }
    for f in &report.findings {
        let label = format!("{:<8}", f.severity.as_str().to_ascii_uppercase());
        writeln!(
            out,
            "    {} {:<11} {}: {}",
            paint(&label, f.severity, colour),
            f.rule,
            f.title,
            f.detail
        )?;
    }
    for step in &report.plan {
        let mut what: Vec<String> = step.rule_ids.clone();
        what.extend(step.permissions.iter().cloned());
        let direction = step
            .direction
            .map(|d| format!(" (direction {d})"))
            .unwrap_or_default();
        writeln!(
            out,
            "    plan: {} {}: {}{direction}",
            step.action,
            step.group_id,
            what.join(", ")
        )?;
        if !step.held_back.is_empty() {
            writeln!(
                out,
                "    held back (over max_revocations_per_event): {}",
                step.held_back.join(", ")
            )?;
        }
    }
    if let Some(reach) = &report.reachability {
        writeln!(out, "    reach: {reach}")?;
    }
    if let Some(ex) = &report.exemption {
        let expires = ex
            .expires
            .as_deref()
            .map(|e| format!(", expires {e}"))
            .unwrap_or_default();
        writeln!(
            out,
            "    exemption ({}): {} — {}{expires}",
            ex.status.phrase(),
            ex.source,
            ex.reason
        )?;
    }
    for note in &report.notes {
        writeln!(out, "    note: {note}")?;
    }
    Ok(())
}

fn write_summary(out: &mut impl Write, tally: &Tally) -> std::io::Result<()> {
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter(|s| tally.by_severity[**s as usize] > 0)
        .map(|s| format!("{} {}", tally.by_severity[*s as usize], s))
        .collect();
    let counts = if counts.is_empty() {
        String::new()
    } else {
        format!(" ({})", counts.join(", "))
    };
    writeln!(
        out,
        "\n{} events, {} findings{counts}, {} skipped, {} not handled, {} unreadable",
        tally.events, tally.findings, tally.skipped, tally.not_handled, tally.errors
    )
}
