//! `make bench`: cold start, warm latency and memory of the three functions
//! (release builds, against moto server through a Runtime API emulator),
//! archive scan speed of the CLI against the `gzip -dc` floor, and artifact
//! sizes. Prints one Markdown table.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use access_guard_bench::archive;
use access_guard_bench::custodian::Custodian;
use access_guard_bench::process::{lambda_command, timed, vm_hwm_kib};
use access_guard_bench::runtime::RuntimeApi;
use access_guard_bench::sink::{self, Sink};
use access_guard_bench::stats::{ms, Stats};
use access_guard_e2e::{authorize_event, endpoint, Emulator};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Row(String, String, String);

/// One cold start: a fresh process, one event, until the response is posted.
struct Cold {
    init: Duration,
    total: Duration,
    rss_kib: u64,
}

/// Cold starts of one function: init, spawn → response, peak RSS.
#[derive(Default)]
struct Colds {
    init: Vec<Duration>,
    total: Vec<Duration>,
    rss: Vec<Duration>,
}

impl Colds {
    fn push(&mut self, cold: Cold) {
        self.init.push(cold.init);
        self.total.push(cold.total);
        self.rss.push(Duration::from_micros(cold.rss_kib));
    }
}

/// Spawns `command(runtime_api)` with one event queued and waits for its answer.
fn cold_start(
    what: &str,
    command: impl FnOnce(&str) -> Command,
    event: &Value,
) -> anyhow::Result<Cold> {
    let api = RuntimeApi::start()?;
    let id = api.push(serde_json::to_vec(event)?);
    let started = Instant::now();
    let mut child = command(api.address()).spawn()?;
    let answer = api.answer(&id, Duration::from_secs(30));
    let rss_kib = vm_hwm_kib(child.id()).unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    let answer =
        answer.ok_or_else(|| anyhow::anyhow!("{what}: no answer ({:?})", api.init_error()))?;
    anyhow::ensure!(
        !answer.error,
        "{what}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    let init = api.first_next().map_or(Duration::ZERO, |t| t - started);
    Ok(Cold {
        init,
        total: answer.at - started,
        rss_kib,
    })
}

/// The function's AWS is moto server; its alerts go to `topic`.
fn against_moto(mut cmd: Command, topic: &str) -> Command {
    cmd.env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", access_guard_e2e::REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("ACCESS_GUARD_TOPIC_ARN", topic)
        // The bench measures the revoke: the embedded policy is dry-run.
        .env("ACCESS_GUARD_DRY_RUN", "false");
    cmd
}

/// A sample event, moved to the account and region the functions run in
/// here (a guard judges an event from elsewhere only in organization mode).
fn read_event(name: &str) -> anyhow::Result<Value> {
    let mut event: Value =
        serde_json::from_slice(&std::fs::read(repo().join("events").join(name))?)?;
    let (account, region) = (access_guard_e2e::ACCOUNT, access_guard_e2e::REGION);
    event["account"] = account.into();
    event["region"] = region.into();
    event["detail"]["recipientAccountId"] = account.into();
    event["detail"]["awsRegion"] = region.into();
    Ok(event)
}

/// A security group with SSH just opened to 0.0.0.0/0, and the event that says so.
async fn ssh_opened(emu: &Emulator) -> (String, Value) {
    let group = emu.group(&[]).await;
    let rules = emu.open_to_world(&group, &[22]).await;
    let event = authorize_event(&group, &rules);
    (group, event)
}

/// Checks what a run of `what` did: no ingress left in `groups`, and one
/// alert for each.
async fn check_done(
    emu: &Emulator,
    what: &str,
    groups: &[String],
    alerts: usize,
) -> anyhow::Result<()> {
    let open = sink::groups_with_ingress(emu, groups).await?;
    anyhow::ensure!(
        open == 0 && alerts == groups.len(),
        "{what}: {open} of {} groups still open, {alerts} alerts",
        groups.len()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runs = env_usize("BENCH_RUNS", 20);
    let warm_events = env_usize("BENCH_WARM_EVENTS", 1000);
    let archive_mb = env_usize("BENCH_ARCHIVE_MB", 1024) as u64;
    let release = repo()
        .join(std::env::var("BENCH_BINARIES").unwrap_or_else(|_| "target/release".to_string()));
    let venv =
        repo().join(std::env::var("BENCH_CUSTODIAN_VENV").unwrap_or_else(|_| ".venv-c7n".into()));
    let emu = Emulator::connect().await;
    let sink = Sink::new(&emu).await;
    let custodian = Custodian::prepare(&repo(), &venv, &sink.topic_arn)?;
    eprintln!("==> Cloud Custodian {}", custodian.version());
    let ours = |api: &str| {
        against_moto(
            lambda_command(&release.join("ingress-guard"), api, "ingress-guard"),
            &sink.topic_arn,
        )
    };
    let theirs = |api: &str| against_moto(custodian.command(api), &sink.topic_arn);
    let mut rows = Vec::new();

    // 1. Cold starts, the two side by side run after run: the same job (SSH
    //    opened to the internet: describe, revoke, publish), each checked in moto.
    //    Each of ingress-guard's is paired with moto's own time for the same
    //    calls, made from here just before it.
    let (mut cold_ours, mut cold_theirs) = (Colds::default(), Colds::default());
    let mut cold_floor = Vec::new();
    for _ in 0..runs {
        cold_floor.push(sink::moto_floor(&emu, &sink).await?.0);
        let (group, event) = ssh_opened(&emu).await;
        cold_ours.push(cold_start("ingress-guard", ours, &event)?);
        check_done(&emu, "ingress-guard", &[group], sink.take(&emu).await?).await?;
        let (group, event) = ssh_opened(&emu).await;
        cold_theirs.push(cold_start("Cloud Custodian", theirs, &event)?);
        check_done(&emu, "Cloud Custodian", &[group], sink.take(&emu).await?).await?;
    }
    push_cold(
        &mut rows,
        "ingress-guard (describe, read back + revoke, publish)",
        &cold_ours,
    );
    let after_init: Vec<Duration> = cold_ours
        .total
        .iter()
        .zip(&cold_ours.init)
        .map(|(total, init)| total.saturating_sub(*init))
        .collect();
    if let Some((p25, p50, p75)) = paired_quartiles(&after_init, &cold_floor) {
        rows.push(Row(
            "ingress-guard's own share of a cold event (first /next → response, less moto's own time for the same calls made just before)".into(),
            "median / p25 / p75".into(),
            format!("{} / {} / {}", signed_ms(p50), signed_ms(p25), signed_ms(p75)),
        ));
    }
    push_cold(
        &mut rows,
        &format!(
            "Cloud Custodian {} (same event, same job)",
            custodian.version()
        ),
        &cold_theirs,
    );
    for (function, file) in [
        ("task-definition-guard", "td-privileged.json"),
        ("service-guard", "svc-create-public-ip.json"),
    ] {
        let event = read_event(file)?;
        let mut colds = Colds::default();
        for _ in 0..runs {
            let command = |api: &str| {
                against_moto(
                    lambda_command(&release.join(function), api, function),
                    &sink.topic_arn,
                )
            };
            colds.push(cold_start(function, command, &event)?);
        }
        sink.take(&emu).await?;
        push_cold(&mut rows, &format!("{function} ({file})"), &colds);
    }

    // 2. Warm: one process each, every event a group with SSH just opened.
    //    Each of ingress-guard's events is paired with moto's own time for
    //    the same calls, made from here at the same size of moto (it slows
    //    as it holds more groups), before or after the event in turn.
    let mut warm_stats = Vec::new();
    let mut paired = None;
    for (what, command) in [
        ("ingress-guard", &ours as &dyn Fn(&str) -> Command),
        ("Cloud Custodian", &theirs),
    ] {
        let mut groups = Vec::new();
        let mut events = Vec::new();
        for _ in 0..warm_events {
            let (group, event) = ssh_opened(&emu).await;
            groups.push(group);
            events.push(event);
        }
        let with_floor = paired.is_none();
        let run = warm(what, command, &events, &emu, &sink, with_floor).await?;
        check_done(&emu, &format!("warm {what}"), &groups, run.alerts).await?;
        let stats = Stats::of(&run.latencies).ok_or_else(|| anyhow::anyhow!("no warm events"))?;
        rows.push(Row(
            format!(
                "warm {what}, {} events (describe + revoke + publish each)",
                stats.count
            ),
            "mean / p50 / p99".into(),
            format!(
                "{} / {} / {}",
                ms(stats.mean),
                ms(stats.median),
                ms(stats.p99)
            ),
        ));
        if with_floor {
            paired = Some(run);
        }
        warm_stats.push(stats);
    }
    if let Some(run) = &paired {
        if let (Some(s), Some((p25, p50, p75))) = (Stats::of(&run.floor), run.share()) {
            rows.push(Row(
                format!("moto's own time for the same calls, made by this harness beside each warm event (describe with the rules read back; revoke with the interfaces read; publish of a {}-byte alert)", run.floor_body),
                format!("{} events, mean / p50 / p99", s.count),
                format!("{} / {} / {}", ms(s.mean), ms(s.median), ms(s.p99)),
            ));
            rows.push(Row(
                "ingress-guard's own share of a warm event (each event less its paired floor)"
                    .into(),
                "median / p25 / p75".into(),
                format!(
                    "{} / {} / {}",
                    signed_ms(p50),
                    signed_ms(p25),
                    signed_ms(p75)
                ),
            ));
        }
    }
    if let [w_ours, w_theirs] = warm_stats[..] {
        rows.push(ratios(&cold_ours, &cold_theirs, &w_ours, &w_theirs));
    }

    // 3. Archive scan.
    let dir = repo().join("target/bench-archive");
    let marker = dir.join(format!("{archive_mb}MB.done"));
    if !marker.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        let started = Instant::now();
        let (_, w) = archive::generate(&dir, archive_mb * 1024 * 1024, 2000, 42)?;
        std::fs::write(&marker, format!("{w:?}"))?;
        eprintln!(
            "archive: {} files, {} records, {} MB uncompressed, {} planted, in {:?}",
            w.files,
            w.records,
            w.uncompressed_bytes >> 20,
            w.planted_findings,
            started.elapsed()
        );
    }
    let files: Vec<PathBuf> = walk(&dir.join("AWSLogs"));
    let bytes: u64 = files.iter().map(|f| gunzipped_len(f)).sum();
    let mut gzip_args: Vec<&std::ffi::OsStr> = vec![std::ffi::OsStr::new("-dc")];
    gzip_args.extend(files.iter().map(|f| f.as_os_str()));
    let floor = timed(Path::new("/usr/bin/gzip"), &gzip_args)?;
    rows.push(Row(
        "gzip -dc > /dev/null (floor)".into(),
        format!("{} files", files.len()),
        throughput(bytes, None, floor.0, floor.1),
    ));
    let cli = release.join("access-guard");
    let records = count_records(&cli, &dir)?;
    for jobs in [
        1,
        std::thread::available_parallelism().map_or(2, |n| n.get()),
    ] {
        let jobs_arg = jobs.to_string();
        let args: [&std::ffi::OsStr; 4] = [
            "check".as_ref(),
            "--jobs".as_ref(),
            jobs_arg.as_ref(),
            dir.as_os_str(),
        ];
        let run = timed(&cli, &args)?;
        rows.push(Row(
            format!("access-guard check, {jobs} thread(s)"),
            format!("{records} records"),
            throughput(bytes, Some(records), run.0, run.1),
        ));
    }

    // 4. Artifacts.
    for function in ["ingress-guard", "task-definition-guard", "service-guard"] {
        let zip = repo().join(format!("target/lambda/{function}/bootstrap.zip"));
        let size = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| format!("{:.2} MB", m.len() as f64 / 1048576.0))
                .unwrap_or_else(|_| "not built".into())
        };
        rows.push(Row(
            format!("{function} artifacts"),
            "arm64 zip / x86_64 bootstrap".into(),
            format!("{} / {}", size(&zip), size(&release.join(function))),
        ));
    }

    println!("| measure | over | result |\n| --- | --- | --- |");
    for Row(a, b, c) in rows {
        println!("| {a} | {b} | {c} |");
    }
    Ok(())
}

fn push_cold(rows: &mut Vec<Row>, what: &str, colds: &Colds) {
    let (Some(i), Some(t), Some(r)) = (
        Stats::of(&colds.init),
        Stats::of(&colds.total),
        Stats::of(&colds.rss),
    ) else {
        return;
    };
    rows.push(Row(
        format!("cold {what}"),
        format!("{} runs, median / max", t.count),
        format!(
            "spawn→response {} / {}; spawn→first /next {} / {}; peak RSS {} / {}",
            ms(t.median),
            ms(t.max),
            ms(i.median),
            ms(i.max),
            mib(r.median),
            mib(r.max)
        ),
    ));
}

/// Peak RSS kept as microseconds-per-KiB in a `Duration`, shown in MiB.
fn mib(d: Duration) -> String {
    format!("{:.1} MiB", d.as_micros() as f64 / 1024.0)
}

/// How many times faster or smaller ingress-guard is than Custodian.
fn ratios(ours: &Colds, theirs: &Colds, w_ours: &Stats, w_theirs: &Stats) -> Row {
    let median = |v: &[Duration]| Stats::of(v).map_or(Duration::ZERO, |s| s.median);
    let times = |a: Duration, b: Duration| {
        if a.is_zero() {
            "-".to_string()
        } else {
            format!("{:.1}×", b.as_secs_f64() / a.as_secs_f64())
        }
    };
    Row(
        "Cloud Custodian ÷ ingress-guard, same run".into(),
        "cold median / peak RSS median / warm mean / warm p99".into(),
        format!(
            "{} / {} / {} / {}",
            times(median(&ours.total), median(&theirs.total)),
            times(median(&ours.rss), median(&theirs.rss)),
            times(w_ours.mean, w_theirs.mean),
            times(w_ours.p99, w_theirs.p99)
        ),
    )
}

/// What a warm run measured.
struct WarmRun {
    /// Each event's latency but the first's.
    latencies: Vec<Duration>,
    /// moto's own time for the same calls, paired with each latency (when asked).
    floor: Vec<Duration>,
    /// The floor's Publish body, in bytes.
    floor_body: usize,
    /// Alerts published by the function.
    alerts: usize,
}

impl WarmRun {
    /// Quartiles of each latency less its paired floor.
    fn share(&self) -> Option<(f64, f64, f64)> {
        paired_quartiles(&self.latencies, &self.floor)
    }
}

/// Quartiles of each of `a` less its pair in `b`, in milliseconds (negative
/// where `b` took longer).
fn paired_quartiles(a: &[Duration], b: &[Duration]) -> Option<(f64, f64, f64)> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let mut d: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(a, b)| (a.as_secs_f64() - b.as_secs_f64()) * 1000.0)
        .collect();
    d.sort_by(f64::total_cmp);
    let at = |q: f64| d[((d.len() - 1) as f64 * q).round() as usize];
    Some((at(0.25), at(0.5), at(0.75)))
}

fn signed_ms(v: f64) -> String {
    format!("{v:+.2} ms")
}

/// One process serving `events` one by one: the latency of each but the
/// first (from handing it out to the answer), and the alerts published (taken
/// from the queue between events). With `floor`, moto's own time for the
/// same calls is measured beside each timed event, before it or after it in
/// turn.
async fn warm(
    what: &str,
    command: &dyn Fn(&str) -> Command,
    events: &[Value],
    emu: &Emulator,
    sink: &Sink,
    floor: bool,
) -> anyhow::Result<WarmRun> {
    let api = RuntimeApi::start()?;
    let mut child = command(api.address()).spawn()?;
    let mut run = WarmRun {
        latencies: Vec::new(),
        floor: Vec::new(),
        floor_body: 0,
        alerts: 0,
    };
    for (i, event) in events.iter().enumerate() {
        let timed = i > 0;
        let floor_first = i % 2 == 0;
        if floor && timed && floor_first {
            let (took, body) = sink::moto_floor(emu, sink).await?;
            run.floor.push(took);
            run.floor_body = body;
        }
        let id = api.push(serde_json::to_vec(event)?);
        let answer = api
            .answer(&id, Duration::from_secs(30))
            .ok_or_else(|| anyhow::anyhow!("{what}: no answer to warm event {i}"))?;
        anyhow::ensure!(
            !answer.error,
            "{what}: warm event {i}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        if timed {
            let latency = answer
                .latency
                .ok_or_else(|| anyhow::anyhow!("{what}: warm event {i} has no latency"))?;
            run.latencies.push(latency);
        }
        run.alerts += sink.take_now(emu).await?;
        if floor && timed && !floor_first {
            let (took, body) = sink::moto_floor(emu, sink).await?;
            run.floor.push(took);
            run.floor_body = body;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(run)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p)
            } else if p.extension().is_some_and(|x| x == "gz") {
                out.push(p)
            }
        }
    }
    out.sort();
    out
}

fn gunzipped_len(path: &Path) -> u64 {
    let Ok(file) = std::fs::File::open(path) else {
        return 0;
    };
    std::io::copy(
        &mut flate2::read::MultiGzDecoder::new(file),
        &mut std::io::sink(),
    )
    .unwrap_or(0)
}

fn count_records(cli: &Path, dir: &Path) -> anyhow::Result<usize> {
    // One JSON line per event, those no guard handles included.
    let out = Command::new(cli)
        .args(["check", "--format", "json", "--all-events"])
        .arg(dir)
        .output()?;
    Ok(out.stdout.iter().filter(|b| **b == b'\n').count())
}

fn throughput(bytes: u64, records: Option<usize>, took: Duration, kib: u64) -> String {
    let secs = took.as_secs_f64();
    let mbs = bytes as f64 / 1048576.0 / secs;
    let rec = records
        .map(|r| format!(", {:.0} records/s", r as f64 / secs))
        .unwrap_or_default();
    format!(
        "{:.2} s, {mbs:.0} MB/s uncompressed{rec}, peak RSS {:.1} MiB",
        secs,
        kib as f64 / 1024.0
    )
}
