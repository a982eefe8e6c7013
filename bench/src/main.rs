//! `make bench`: cold start, warm latency and memory of the three functions
//! (release builds, against moto server through a Runtime API emulator),
//! archive scan speed of the CLI against the `gzip -dc` floor, and artifact
//! sizes. Prints one Markdown table.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use access_guard_bench::archive;
use access_guard_bench::process::{lambda_command, timed, vm_hwm_kib};
use access_guard_bench::runtime::RuntimeApi;
use access_guard_bench::stats::{ms, Stats};
use access_guard_e2e::{authorize_event, endpoint, AlertSink, Emulator};
use aws_sdk_ec2::types::{IpPermission, IpRange};
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

fn cold_start(
    bootstrap: &Path,
    function: &str,
    event: &Value,
    topic: &str,
) -> anyhow::Result<Cold> {
    let api = RuntimeApi::start()?;
    let id = api.push(serde_json::to_vec(event)?);
    let started = Instant::now();
    let mut child =
        against_moto(lambda_command(bootstrap, api.address(), function), topic).spawn()?;
    let answer = api.answer(&id, Duration::from_secs(20));
    let rss_kib = vm_hwm_kib(child.id()).unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    let answer =
        answer.ok_or_else(|| anyhow::anyhow!("{function}: no answer ({:?})", api.init_error()))?;
    anyhow::ensure!(
        !answer.error,
        "{function}: {}",
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
        .env("ACCESS_GUARD_TOPIC_ARN", topic);
    cmd
}

fn read_event(name: &str) -> anyhow::Result<Value> {
    Ok(serde_json::from_slice(&std::fs::read(
        repo().join("events").join(name),
    )?)?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runs = env_usize("BENCH_RUNS", 20);
    let warm_events = env_usize("BENCH_WARM_EVENTS", 1000);
    let archive_mb = env_usize("BENCH_ARCHIVE_MB", 1024) as u64;
    let release = repo()
        .join(std::env::var("BENCH_BINARIES").unwrap_or_else(|_| "target/release".to_string()));
    let emu = Emulator::connect().await;
    let sink = AlertSink::new(&emu).await;
    let mut rows = Vec::new();

    // 1. Cold starts. ingress-guard really revokes and publishes each time.
    let mut init = Vec::new();
    let mut total = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs {
        let group = emu.group(&[]).await;
        let rules = emu.open_to_world(&group, &[22]).await;
        let cold = cold_start(
            &release.join("ingress-guard"),
            "ingress-guard",
            &authorize_event(&group, &rules),
            &sink.topic_arn,
        )?;
        anyhow::ensure!(
            emu.ingress_rules(&group).await.is_empty(),
            "ingress-guard did not revoke"
        );
        anyhow::ensure!(
            sink.alerts(&emu).await.len() == 1,
            "ingress-guard did not publish once"
        );
        init.push(cold.init);
        total.push(cold.total);
        rss.push(Duration::from_micros(cold.rss_kib));
    }
    push_cold(
        &mut rows,
        "ingress-guard (describe + revoke + publish)",
        &init,
        &total,
        &rss,
    );
    for (function, file) in [
        ("task-definition-guard", "td-privileged.json"),
        ("service-guard", "svc-create-public-ip.json"),
    ] {
        let event = read_event(file)?;
        let (mut init, mut total, mut rss) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let cold = cold_start(&release.join(function), function, &event, &sink.topic_arn)?;
            init.push(cold.init);
            total.push(cold.total);
            rss.push(Duration::from_micros(cold.rss_kib));
        }
        let _ = sink.alerts(&emu).await;
        push_cold(
            &mut rows,
            &format!("{function} ({file})"),
            &init,
            &total,
            &rss,
        );
    }

    // 2. Warm: one process, many events, each opening SSH from a different /8.
    let latencies = warm(
        &emu,
        &release.join("ingress-guard"),
        &sink.topic_arn,
        warm_events,
    )
    .await?;
    if let Some(s) = Stats::of(&latencies) {
        rows.push(Row(
            format!(
                "warm ingress-guard, {} events (revoke + publish each)",
                s.count
            ),
            "mean / p50 / p99".into(),
            format!("{} / {} / {}", ms(s.mean), ms(s.median), ms(s.p99)),
        ));
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

fn push_cold(
    rows: &mut Vec<Row>,
    what: &str,
    init: &[Duration],
    total: &[Duration],
    rss: &[Duration],
) {
    let (Some(i), Some(t), Some(r)) = (Stats::of(init), Stats::of(total), Stats::of(rss)) else {
        return;
    };
    let kib = |d: Duration| format!("{:.1} MiB", d.as_micros() as f64 / 1024.0);
    rows.push(Row(
        format!("cold {what}"),
        format!("{} runs, median / max", t.count),
        format!(
            "spawn→response {} / {}; spawn→first /next {} / {}; peak RSS {} / {}",
            ms(t.median),
            ms(t.max),
            ms(i.median),
            ms(i.max),
            kib(r.median),
            kib(r.max)
        ),
    ));
}

async fn warm(
    emu: &Emulator,
    bootstrap: &Path,
    topic: &str,
    count: usize,
) -> anyhow::Result<Vec<Duration>> {
    // Public /8 networks: each is internet-wide, so each rule is SSH from the internet.
    let nets: Vec<String> = (1..=223)
        .filter(|n| *n != 10 && *n != 127)
        .map(|n| format!("{n}.0.0.0/8"))
        .collect();
    let mut events = Vec::new();
    while events.len() < count {
        let group = emu.group(&[]).await;
        let mut perm = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(22)
            .to_port(22);
        // Groups hold at most 60 rules (the AWS default quota).
        for net in nets.iter().skip(events.len() % nets.len()).take(50) {
            perm = perm.ip_ranges(IpRange::builder().cidr_ip(net).build());
        }
        emu.ec2
            .authorize_security_group_ingress()
            .group_id(&group)
            .ip_permissions(perm.build())
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "AuthorizeSecurityGroupIngress: {}",
                    aws_sdk_ec2::error::DisplayErrorContext(e)
                )
            })?;
        let stored = emu
            .ec2
            .describe_security_group_rules()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("group-id")
                    .values(&group)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "DescribeSecurityGroupRules: {}",
                    aws_sdk_ec2::error::DisplayErrorContext(e)
                )
            })?;
        for rule in stored
            .security_group_rules()
            .iter()
            .filter(|r| r.is_egress() == Some(false))
        {
            let (Some(id), Some(cidr)) = (rule.security_group_rule_id(), rule.cidr_ipv4()) else {
                continue;
            };
            let mut event = authorize_event(&group, &[(22, id.to_string())]);
            event["detail"]["requestParameters"]["ipPermissions"]["items"][0]["ipRanges"]
                ["items"][0]["cidrIp"] = cidr.into();
            event["detail"]["responseElements"]["securityGroupRuleSet"]["items"][0]["cidrIpv4"] =
                cidr.into();
            events.push(event);
        }
    }
    events.truncate(count);
    let api = RuntimeApi::start()?;
    let mut child = against_moto(
        lambda_command(bootstrap, api.address(), "ingress-guard"),
        topic,
    )
    .spawn()?;
    // Warm it up with the first event, then measure the rest one by one.
    let mut latencies = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let id = api.push(serde_json::to_vec(event)?);
        let answer = api
            .answer(&id, Duration::from_secs(20))
            .ok_or_else(|| anyhow::anyhow!("no answer to warm event {i}"))?;
        anyhow::ensure!(
            !answer.error,
            "warm event {i}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        if i > 0 {
            latencies.extend(answer.latency);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(latencies)
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
    let out = Command::new(cli)
        .args(["check", "--format", "json"])
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
