//! `access-guard check`: read every input, evaluate every event, print one
//! verdict per event; unreadable inputs are reported by name and the rest still run.

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsStr;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use access_guard::finding::Severity;
use access_guard::model::event::{ParseError, Want};
use access_guard::model::stream::{read_stream_with, Contents};
use access_guard::policy::Policy;
use access_guard::report::Report;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::{Color, Format};

/// How `check` runs.
pub struct Options {
    pub format: Format,
    pub fail_on: Option<Severity>,
    /// Files read at once.
    pub jobs: usize,
    /// Colour in text output (see [`colour`]).
    pub colour: bool,
    /// Print the events no guard handles too.
    pub all_events: bool,
    /// Follow symbolic links found inside folders.
    pub follow_links: bool,
    /// Which keys of an `s3://` input to list, by CloudTrail's key layout.
    pub select: Select,
    /// Where the last key done of each `s3://` input is kept, to resume an
    /// interrupted run.
    pub resume: Option<PathBuf>,
}

/// The last key done of each `s3://` input (`--resume FILE`): JSON, one
/// entry per input as named. Keys come in order and are printed in order,
/// so every key up to it is done. An object that could not be read whole
/// stops its input's key there: a resumed run reads it again (and what
/// follows), never skips it.
#[derive(Default)]
struct Resume {
    path: Option<PathBuf>,
    done: BTreeMap<String, String>,
    /// The inputs whose key stopped at an object not read whole.
    #[cfg_attr(not(feature = "aws"), allow(dead_code))]
    stopped: HashSet<String>,
    /// Files done since the file was last written.
    unsaved: usize,
}

impl Resume {
    /// The file's entries; a missing file is a first run, one that cannot
    /// be read is an error (nothing is redone or skipped on a guess).
    fn load(path: Option<&Path>) -> Result<Resume, String> {
        let Some(path) = path else {
            return Ok(Resume::default());
        };
        let done = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                format!("{}: not a resume file (a JSON object of the last key done per s3:// input): {e}", path.display())
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
        };
        Ok(Resume {
            path: Some(path.to_path_buf()),
            done,
            stopped: HashSet::new(),
            unsaved: 0,
        })
    }

    /// Records `input` done (`failed`: not read whole); writes the file
    /// every 64 inputs and when `flush`.
    fn done(&mut self, input: Option<&Input>, failed: bool, flush: bool) {
        if self.path.is_none() {
            return;
        }
        #[cfg(feature = "aws")]
        if let Some(Input::S3(object)) = input {
            if failed {
                self.stopped.insert(object.source.clone());
            } else if !self.stopped.contains(&object.source) {
                self.done.insert(object.source.clone(), object.key.clone());
                self.unsaved += 1;
            }
        }
        #[cfg(not(feature = "aws"))]
        let _ = (input, failed);
        if self.unsaved >= 64 || (flush && self.unsaved > 0) {
            self.save();
        }
    }

    /// Writes the file whole (a new file renamed over the old one), so an
    /// interruption leaves the last one written.
    fn save(&mut self) {
        let Some(path) = &self.path else { return };
        let temporary = path.with_extension("tmp");
        let written = serde_json::to_vec_pretty(&self.done)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&temporary, bytes))
            .and_then(|()| std::fs::rename(&temporary, path));
        match written {
            Ok(()) => self.unsaved = 0,
            Err(e) => eprintln!("access-guard: {}: cannot write: {e}", path.display()),
        }
    }
}

/// Which keys of a trail bucket to read (`s3://` inputs only); all empty:
/// every key under the prefix.
#[derive(Debug, Default, Clone)]
pub struct Select {
    pub since: Option<time::Date>,
    pub until: Option<time::Date>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
}

impl Select {
    pub fn is_empty(&self) -> bool {
        self.since.is_none()
            && self.until.is_none()
            && self.accounts.is_empty()
            && self.regions.is_empty()
    }
}

/// One input: a file (or standard input), or an object of a bucket.
pub enum Input {
    Path(PathBuf),
    #[cfg(feature = "aws")]
    S3(crate::s3::Object),
}

impl Input {
    /// Its size as stored, when known without reading it.
    fn size(&self) -> Option<u64> {
        match self {
            Input::Path(path) => std::fs::metadata(path).ok().map(|m| m.len()),
            #[cfg(feature = "aws")]
            Input::S3(object) => Some(object.size),
        }
    }

    fn name(&self) -> String {
        match self {
            Input::Path(path) => path.display().to_string(),
            #[cfg(feature = "aws")]
            Input::S3(object) => object.name(),
        }
    }
}

/// Where objects are read from, when an input is in S3.
#[cfg(feature = "aws")]
type Store = Option<crate::s3::S3>;
#[cfg(not(feature = "aws"))]
type Store = Option<std::convert::Infallible>;

/// Whether text output is coloured: `--color`, and for `auto` a terminal
/// and no `NO_COLOR` (set and not empty, as <https://no-color.org> says).
pub fn colour(choice: Color, terminal: bool, no_color: Option<&OsStr>) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => terminal && no_color.is_none_or(OsStr::is_empty),
    }
}

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
    /// Findings at or above `--fail-on`.
    at_fail_on: usize,
    /// CloudTrail digest files, skipped.
    digests: usize,
    /// JSON files that hold no event (an S3 inventory manifest, `{}`), skipped.
    not_events: usize,
    /// Symbolic links inside folders, not followed.
    links: usize,
    /// Links back to a folder above them (with `--follow-links`), followed once.
    loops: usize,
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
        self.at_fail_on += other.at_fail_on;
        self.digests += other.digests;
        self.not_events += other.not_events;
        self.links += other.links;
        self.loops += other.loops;
    }
}

/// What reading one input produced so far: output and error lines, notes,
/// totals. A file's parts are sent as it is read, so that a large file is
/// never held whole; `last` closes the file.
#[derive(Default)]
struct Part {
    file: usize,
    out: Vec<u8>,
    errors: Vec<String>,
    notes: Vec<String>,
    tally: Tally,
    last: bool,
}

/// Output and errors are handed on once a part holds this much.
const PART_BYTES: usize = 256 * 1024;
const PART_LINES: usize = 256;

/// How verdicts are written.
struct Output<'a> {
    options: &'a Options,
    today: time::Date,
}

/// Progress on stderr, when it is a terminal: bytes read of the files (as
/// stored, gzipped or not) of their total and how fast, files done, events.
struct Progress {
    bar: Option<ProgressBar>,
    files_done: Arc<AtomicUsize>,
    events: Arc<AtomicU64>,
}

impl Progress {
    fn new(files: &[Input]) -> Progress {
        let files_done = Arc::new(AtomicUsize::new(0));
        let events = Arc::new(AtomicU64::new(0));
        let bar = std::io::stderr().is_terminal().then(|| {
            let total: u64 = files.iter().filter_map(Input::size).sum();
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let (done, count) = (files_done.clone(), files.len());
            let seen = events.clone();
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{bar:30}] {bytes}/{total_bytes} read ({bytes_per_sec})  {files} files  {events} events  {elapsed}",
            ) {
                let style = style
                    .with_key(
                        "files",
                        move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = write!(w, "{}/{count}", done.load(Ordering::Relaxed));
                        },
                    )
                    .with_key(
                        "events",
                        move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = write!(w, "{}", seen.load(Ordering::Relaxed));
                        },
                    );
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            files_done,
            events,
        }
    }

    /// Runs `f` with the bar cleared, so that lines printed do not mix with it.
    fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }
}

/// Counts the bytes read from an input into the progress bar.
struct Counted<'a, R> {
    inner: R,
    bar: Option<&'a ProgressBar>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(bar) = self.bar {
            bar.inc(n as u64);
        }
        Ok(n)
    }
}

/// Runs the check and returns the exit status: 0 ran, 1 a finding reached
/// `fail_on`, 2 an input could not be read or parsed. Inputs are read by
/// `jobs` threads, one file at a time each, as streams (memory follows the
/// largest record, not the file); verdicts are printed in input order.
pub fn run(policy: &Policy, options: &Options, paths: &[PathBuf]) -> u8 {
    let output = Output {
        options,
        today: access_guard::model::today(),
    };
    let mut tally = Tally::default();
    let mut resume = match Resume::load(options.resume.as_deref()) {
        Ok(resume) => resume,
        Err(e) => {
            eprintln!("access-guard: {e}");
            return 2;
        }
    };
    let (files, store) = inputs(paths, options, &resume, &mut tally);
    let progress = Progress::new(&files);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let next = AtomicUsize::new(0);
    let jobs = options.jobs.max(1);
    let (send, receive) = mpsc::sync_channel::<Part>(jobs * 4);
    let mut closed = false;
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let send = send.clone();
            let (next, files, output, progress, store) =
                (&next, &files, &output, &progress, &store);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(input) = files.get(i) else { break };
                if !check_file(i, input, store, policy, output, progress, &send) {
                    break;
                }
                progress.files_done.fetch_add(1, Ordering::Relaxed);
            });
        }
        drop(send);
        // Print in input order as parts arrive.
        let mut pending: BTreeMap<usize, Vec<Part>> = BTreeMap::new();
        let mut printing = 0;
        // Errors in the parts of the file being printed.
        let mut file_errors = 0;
        for part in receive {
            if part.file != printing {
                pending.entry(part.file).or_default().push(part);
                continue;
            }
            let mut ready = vec![part];
            while let Some(part) = ready.pop() {
                let last = part.last;
                progress.suspend(|| {
                    for e in &part.errors {
                        eprintln!("access-guard: {e}");
                    }
                    for note in &part.notes {
                        eprintln!("access-guard: {note}");
                    }
                    if !closed
                        && (out.write_all(&part.out).is_err()
                            || (progress.bar.is_some() && out.flush().is_err()))
                    {
                        // Closed pipe (e.g. `| head`): stop writing, still count.
                        closed = true;
                    }
                });
                tally.add(&part.tally);
                file_errors += part.tally.errors;
                if last {
                    resume.done(files.get(printing), file_errors > 0, false);
                    file_errors = 0;
                    printing += 1;
                    // The next file's parts, in the order they came.
                    if let Some(mut parts) = pending.remove(&printing) {
                        parts.reverse();
                        ready = parts;
                    }
                }
            }
        }
    });
    resume.done(None, false, true);
    if let Some(bar) = &progress.bar {
        bar.finish_and_clear();
    }
    #[cfg(feature = "aws")]
    if let Some(s3) = &store {
        eprintln!(
            "access-guard: s3: {} objects listed in {} ListObjectsV2 calls",
            files.iter().filter(|f| matches!(f, Input::S3(_))).count(),
            s3.list_calls.load(Ordering::Relaxed)
        );
    }
    match options.format {
        Format::Text if !closed => {
            let _ = write_summary(&mut out, &tally, options.fail_on);
        }
        Format::Text => {}
        // Standard output stays one JSON document per line.
        Format::Json => {
            let _ = write_summary(&mut std::io::stderr().lock(), &tally, options.fail_on);
        }
    }
    let _ = out.flush();
    exit_status(&tally)
}

/// Reads and evaluates input `index`, sending its parts as it goes; false
/// when nobody listens any more.
fn check_file(
    index: usize,
    input: &Input,
    store: &Store,
    policy: &Policy,
    output: &Output<'_>,
    progress: &Progress,
    send: &mpsc::SyncSender<Part>,
) -> bool {
    let mut part = Part {
        file: index,
        ..Part::default()
    };
    let (name, reader) = match open(input, store) {
        Ok(opened) => opened,
        Err(e) => {
            part.errors
                .push(format!("{}: cannot read: {e}", input.name()));
            part.tally.errors += 1;
            part.last = true;
            return send.send(part).is_ok();
        }
    };
    let options = output.options;
    // Only what is printed is built: events no guard handles are counted.
    let want = |event_name: &str| {
        if access_guard::guards::offline::is_guarded(event_name) {
            Want::Everything
        } else if options.all_events {
            Want::Head
        } else {
            Want::Nothing
        }
    };
    let reader = Counted {
        inner: reader,
        bar: progress.bar.as_ref(),
    };
    let mut listening = true;
    let contents = read_stream_with(reader, &name, want, |parsed| {
        progress.events.fetch_add(1, Ordering::Relaxed);
        record(&mut part, parsed, &name, policy, output);
        if listening && (part.out.len() >= PART_BYTES || part.errors.len() >= PART_LINES) {
            let full = std::mem::replace(
                &mut part,
                Part {
                    file: index,
                    ..Part::default()
                },
            );
            listening = send.send(full).is_ok();
        }
    });
    match contents {
        Contents::Events => {}
        Contents::Digest => part.tally.digests += 1,
        Contents::NotEvents => {
            part.tally.not_events += 1;
            part.notes
                .push(format!("{name}: skipped: {}", contents.describe()));
        }
    }
    part.last = true;
    listening && send.send(part).is_ok()
}

/// Evaluates one record into `part`.
fn record(
    part: &mut Part,
    parsed: Result<Option<access_guard::model::event::Event>, ParseError>,
    name: &str,
    policy: &Policy,
    output: &Output<'_>,
) {
    let tally = &mut part.tally;
    let report = match parsed {
        Ok(None) => {
            tally.events += 1;
            tally.not_handled += 1;
            return;
        }
        Ok(Some(event)) => access_guard::guards::offline::evaluate(&event, policy, output.today),
        Err(e) => Err(e),
    };
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            part.errors.push(e.to_string());
            tally.errors += 1;
            return;
        }
    };
    tally.events += 1;
    let not_handled = report.is_not_handled();
    if not_handled {
        tally.not_handled += 1;
    } else if report.skipped.is_some() {
        tally.skipped += 1;
    }
    for f in &report.findings {
        tally.findings += 1;
        tally.by_severity[f.severity as usize] += 1;
        if output.options.fail_on.is_some_and(|min| f.severity >= min) {
            tally.at_fail_on += 1;
        }
    }
    if not_handled && !output.options.all_events {
        return;
    }
    let _ = match output.options.format {
        Format::Json => writeln!(part.out, "{}", report.to_json()),
        Format::Text => write_text(&mut part.out, name, &report, output.options.colour, None),
    };
}

fn exit_status(tally: &Tally) -> u8 {
    if tally.errors > 0 {
        2
    } else if tally.at_fail_on > 0 {
        1
    } else {
        0
    }
}

/// Files named, and files found in folders (recursively, sorted), of the
/// kinds we read. A path named is read as given, a link too; inside folders
/// links are followed only with `follow_links`, and then a link back to a
/// folder above it is reported and not followed again, and a file reached
/// twice is read once.
fn expand(paths: &[PathBuf], follow_links: bool, tally: &mut Tally) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut seen = HashSet::new();
    for path in paths {
        if path.as_os_str() == "-" || !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let walk = walkdir::WalkDir::new(path)
            .follow_links(follow_links)
            .sort_by_file_name();
        for entry in walk {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    let at = e.path().unwrap_or(path).display().to_string();
                    if let Some(ancestor) = e.loop_ancestor() {
                        eprintln!(
                            "access-guard: {at}: link to {} above it, not followed again",
                            ancestor.display()
                        );
                        tally.loops += 1;
                    } else {
                        let cause = e
                            .io_error()
                            .map_or_else(|| e.to_string(), |io| io.to_string());
                        eprintln!("access-guard: {at}: cannot read: {cause}");
                        tally.errors += 1;
                    }
                    continue;
                }
            };
            if entry.depth() > 0 && entry.path_is_symlink() && !follow_links {
                tally.links += 1;
                continue;
            }
            if !entry.file_type().is_file() || !is_event_file(entry.path()) {
                continue;
            }
            if follow_links {
                // Through links, one file can be found under two names.
                let real = std::fs::canonicalize(entry.path())
                    .unwrap_or_else(|_| entry.path().to_path_buf());
                if !seen.insert(real) {
                    continue;
                }
            }
            files.push(entry.into_path());
        }
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

/// The inputs named: files and folders as [`expand`] finds them, and the
/// objects under each `s3://` prefix that `options.select` wants (in the
/// build with the `aws` feature), with the store they are read from.
fn inputs(
    paths: &[PathBuf],
    options: &Options,
    resume: &Resume,
    tally: &mut Tally,
) -> (Vec<Input>, Store) {
    let mut files = Vec::new();
    #[cfg_attr(not(feature = "aws"), allow(unused_mut))]
    let mut store: Store = None;
    let mut local = Vec::new();
    let mut any_s3 = false;
    for path in paths {
        let Some(arg) = path.to_str().filter(|p| p.starts_with("s3://")) else {
            local.push(path.clone());
            continue;
        };
        any_s3 = true;
        // Local inputs named before it keep their place.
        files.extend(
            expand(&local, options.follow_links, tally)
                .into_iter()
                .map(Input::Path),
        );
        local.clear();
        #[cfg(feature = "aws")]
        {
            let listed = crate::s3::source(arg)
                .ok_or_else(|| format!("{arg}: not an s3://BUCKET/PREFIX"))
                .and_then(|(bucket, prefix)| {
                    if store.is_none() {
                        store = Some(crate::s3::S3::new()?);
                    }
                    match &store {
                        Some(s3) => s3.list(&bucket, &prefix, &options.select),
                        None => Err(format!("{arg}: no S3 client")),
                    }
                });
            match listed {
                Ok(mut objects) => {
                    // An interrupted run's keys done are not read again.
                    if let Some(last) = objects.first().and_then(|o| resume.done.get(&o.source)) {
                        let before = objects.len();
                        objects.retain(|o| o.key > *last);
                        eprintln!(
                            "access-guard: {arg}: resuming after {last}: {} keys done before, not read again",
                            before - objects.len()
                        );
                    }
                    files.extend(objects.into_iter().map(Input::S3));
                }
                Err(e) => {
                    eprintln!("access-guard: {e}");
                    tally.errors += 1;
                }
            }
        }
        #[cfg(not(feature = "aws"))]
        {
            let _ = resume;
            eprintln!(
                "access-guard: {arg}: reading S3 needs the build with the `aws` feature (cargo install --path cli --features aws)"
            );
            tally.errors += 1;
        }
    }
    files.extend(
        expand(&local, options.follow_links, tally)
            .into_iter()
            .map(Input::Path),
    );
    if !any_s3 && !options.select.is_empty() {
        eprintln!(
            "access-guard: --since, --until, --account and --region select the keys of s3:// inputs; none was named"
        );
        tally.errors += 1;
    }
    (files, store)
}

/// The input's name for messages, and its bytes as a stream.
fn open(input: &Input, store: &Store) -> std::io::Result<(String, Box<dyn Read>)> {
    #[cfg_attr(not(feature = "aws"), allow(clippy::infallible_destructuring_match))]
    let path = match input {
        Input::Path(path) => path,
        #[cfg(feature = "aws")]
        Input::S3(object) => {
            let s3 = store
                .as_ref()
                .ok_or_else(|| std::io::Error::other("no S3 client"))?;
            let body = s3.open(object).map_err(std::io::Error::other)?;
            return Ok((object.name(), body));
        }
    };
    let _ = store;
    if path.as_os_str() == "-" {
        return Ok(("(stdin)".to_string(), Box::new(std::io::stdin().lock())));
    }
    let file = std::fs::File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(std::io::Error::other("a folder"));
    }
    Ok((path.display().to_string(), Box::new(file)))
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

/// When, where and by whom: `at 2026-11-02T10:00:00Z, account 111122223333, eu-west-1, by arn:…`.
fn context(report: &Report) -> String {
    let or_dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "at {}, account {}, {}, by {}",
        or_dash(&report.event_time),
        or_dash(&report.account),
        or_dash(&report.region),
        report.actor.as_deref().unwrap_or("unknown principal")
    )
}

/// One report as text; `place` replaces the line of when, where and by
/// whom (a plan's resource has none of those: its file and line instead).
pub(crate) fn write_text(
    out: &mut impl Write,
    name: &str,
    report: &Report,
    colour: bool,
    place: Option<&str>,
) -> std::io::Result<()> {
    let resource = report.resource.as_deref().unwrap_or("-");
    let context = place.map_or_else(|| context(report), str::to_string);
    if let Some(reason) = &report.skipped {
        writeln!(out, "{name}  {}  skipped: {reason}", report.event_name)?;
        return writeln!(out, "    {context}");
    }
    writeln!(
        out,
        "{name}  {}  {resource}  (event {})",
        report.event_name, report.event_id
    )?;
    writeln!(out, "    {context}")?;
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

/// The summary: what was read and found, what was skipped and why, and
/// when the exit status is not 0, why — both reasons when both apply.
fn write_summary(
    out: &mut impl Write,
    tally: &Tally,
    fail_on: Option<Severity>,
) -> std::io::Result<()> {
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
    let mut extra = String::new();
    for (n, what) in [
        (tally.digests, "digest files skipped"),
        (tally.not_events, "JSON files without events skipped"),
        (tally.links, "symbolic links not followed"),
        (tally.loops, "link loops not followed again"),
    ] {
        if n > 0 {
            extra.push_str(&format!(", {n} {what}"));
        }
    }
    writeln!(
        out,
        "\n{} events, {} findings{counts}, {} skipped, {} not handled, {} unreadable{extra}",
        tally.events, tally.findings, tally.skipped, tally.not_handled, tally.errors
    )?;
    let reached = fail_on
        .filter(|_| tally.at_fail_on > 0)
        .map(|min| format!("{} findings reach --fail-on {min}", tally.at_fail_on));
    match (tally.errors, reached) {
        (0, None) => Ok(()),
        (0, Some(reached)) => writeln!(out, "exit 1: {reached}"),
        (errors, None) => writeln!(out, "exit 2: {errors} inputs could not be read"),
        (errors, Some(reached)) => writeln!(
            out,
            "exit 2: {errors} inputs could not be read, and {reached} (exit 1 on its own)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_counts_only_when_set_and_not_empty_and_the_flag_wins() {
        let set = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        assert!(colour(Color::Auto, true, None));
        assert!(
            colour(Color::Auto, true, empty),
            "NO_COLOR= (empty) is not set"
        );
        assert!(!colour(Color::Auto, true, set));
        assert!(!colour(Color::Auto, false, None), "not a terminal");
        assert!(colour(Color::Always, false, set), "--color always wins");
        assert!(!colour(Color::Never, true, None));
    }

    #[test]
    fn the_summary_names_both_reasons_when_both_apply() {
        let tally = Tally {
            events: 3,
            findings: 2,
            by_severity: [0, 0, 0, 1, 1],
            errors: 1,
            at_fail_on: 2,
            digests: 4,
            ..Tally::default()
        };
        let mut out = Vec::new();
        write_summary(&mut out, &tally, Some(Severity::High)).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.contains("1 unreadable, 4 digest files skipped"),
            "{out}"
        );
        assert!(
            out.contains("exit 2: 1 inputs could not be read, and 2 findings reach --fail-on high"),
            "{out}"
        );
        assert_eq!(exit_status(&tally), 2);
    }
}
