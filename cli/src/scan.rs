//! `access-guard scan` (feature `aws`): the sweep of DESIGN §12, read-only,
//! with the caller's credentials. Each region is read with the sweep's own
//! paginated calls and judged by the same rules; nothing is written,
//! revoked or published.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use access_guard::aws::estate::SdkEstate;
use access_guard::finding::{Finding, Severity};
use access_guard::guards::GuardSettings;
use access_guard::policy::Policy;
use access_guard::report::Report;
use access_guard::sweep::PlaceResult;

use crate::ScanFormat as Format;

/// What to scan and how to print it.
pub struct ScanArgs {
    pub profile: Option<String>,
    pub regions: Vec<String>,
    pub all_regions: bool,
    pub format: Format,
    pub fail_on: Option<Severity>,
    /// `--color`, decided with the terminal and NO_COLOR.
    pub colour: bool,
}

/// Runs the scan and returns the exit status: 0 it ran, 1 a finding reached
/// `fail_on`, 2 something could not be read (what was read is still reported).
pub fn run(policy: &Policy, args: &ScanArgs) -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("access-guard: cannot start the async runtime: {e}");
            return 2;
        }
    };
    runtime.block_on(scan(policy, args))
}

/// Timeouts for a person's scan: large pages may take a while to arrive.
fn timeouts() -> aws_config::timeout::TimeoutConfig {
    access_guard::aws::timeouts(5, 60, 180)
}

async fn scan(policy: &Policy, args: &ScanArgs) -> u8 {
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts());
    if let Some(profile) = &args.profile {
        loader = loader.profile_name(profile);
    }
    let mut sdk = loader.load().await;
    let regions = match regions(&sdk, args).await {
        Ok(r) => r,
        Err(problem) => {
            eprintln!("access-guard: {problem}");
            return 2;
        }
    };
    if sdk.region().is_none() {
        // STS in the first region scanned.
        sdk = sdk
            .to_builder()
            .region(aws_config::Region::new(regions[0].clone()))
            .build();
    }
    let account = match aws_sdk_sts::Client::new(&sdk)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(out) => out.account().unwrap_or_default().to_string(),
        Err(e) => {
            let e = access_guard::aws::classify("GetCallerIdentity", &e);
            eprintln!("access-guard: cannot tell whose credentials these are: {e}");
            return 2;
        }
    };
    let progress = progress_bar(regions.len());
    let started = Instant::now();
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let settings = GuardSettings::default();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let colour = args.colour;
    let mut totals = Totals::default();
    let mut map = Vec::new();
    for region in &regions {
        progress.set_message(format!("{account} {region}"));
        let regional = sdk
            .to_builder()
            .region(aws_config::Region::new(region.clone()))
            .build();
        let estate = SdkEstate::new(
            aws_sdk_ec2::Client::new(&regional),
            aws_sdk_ecs::Client::new(&regional),
            aws_sdk_iam::Client::new(&regional),
            aws_sdk_autoscaling::Client::new(&regional),
            aws_sdk_elasticloadbalancingv2::Client::new(&regional),
        );
        let result = estate
            .scan(
                &account,
                region,
                &now,
                policy,
                &settings,
                access_guard::model::today(),
            )
            .await;
        progress.inc(1);
        match result {
            Ok(mut result) => {
                let _ = progress.suspend(|| print_place(&mut out, &result, args.format, colour));
                totals.add(&result, args.fail_on);
                if args.format == Format::Html {
                    map.append(&mut result.map);
                }
            }
            Err(e) => {
                progress.suspend(|| eprintln!("access-guard: {account} {region}: {e}"));
                totals.failed_places += 1;
            }
        }
    }
    progress.finish_and_clear();
    if args.format == Format::Html {
        let _ = write!(out, "{}", access_guard::output::map::html(&map, &now));
    }
    if args.format == Format::Text {
        let _ = totals.write_summary(&mut out, regions.len(), started.elapsed());
    }
    let _ = out.flush();
    eprintln!(
        "access-guard: scanned {} regions in {:.2} s; api calls: {}; access map: {} targets in {:.1} ms",
        regions.len(),
        started.elapsed().as_secs_f64(),
        totals.api_calls,
        totals.map_targets,
        totals.map_time.as_secs_f64() * 1000.0
    );
    if totals.unread > 0 || totals.failed_places > 0 {
        2
    } else if totals.reached_fail_on {
        1
    } else {
        0
    }
}

/// The regions to scan: `--region` (repeatable), every enabled region with
/// `--all-regions`, else the profile's or environment's region.
async fn regions(sdk: &aws_config::SdkConfig, args: &ScanArgs) -> Result<Vec<String>, String> {
    if args.all_regions {
        if sdk.region().is_none() {
            return Err(
                "no region to list the others from: set AWS_REGION or the profile's region"
                    .to_string(),
            );
        }
        let out = aws_sdk_ec2::Client::new(sdk)
            .describe_regions()
            .send()
            .await
            .map_err(|e| {
                format!(
                    "cannot list the regions: {}",
                    access_guard::aws::classify("DescribeRegions", &e)
                )
            })?;
        let mut names: Vec<String> = out
            .regions()
            .iter()
            .filter_map(|r| r.region_name().map(str::to_string))
            .collect();
        names.sort();
        return Ok(names);
    }
    if !args.regions.is_empty() {
        let mut regions = args.regions.clone();
        regions.dedup();
        return Ok(regions);
    }
    sdk.region()
        .map(|r| vec![r.to_string()])
        .ok_or_else(|| "no region: give --region or --all-regions, or set AWS_REGION".to_string())
}

fn progress_bar(places: usize) -> indicatif::ProgressBar {
    // Drawn only when stderr is a terminal.
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(places as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{bar:30}] {pos}/{len} regions  {msg}  {elapsed}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

#[derive(Default)]
struct Totals {
    groups: usize,
    services: usize,
    task_definitions: usize,
    findings: usize,
    by_severity: BTreeMap<Severity, usize>,
    unread: usize,
    failed_places: usize,
    api_calls: usize,
    reached_fail_on: bool,
    map_targets: usize,
    map_time: std::time::Duration,
}

impl Totals {
    fn add(&mut self, r: &PlaceResult, fail_on: Option<Severity>) {
        self.groups += r.groups;
        self.services += r.services;
        self.task_definitions += r.task_definitions;
        self.findings += r.report.findings.len();
        for s in r.seen.iter().filter(|s| !s.exempt) {
            *self.by_severity.entry(s.finding.severity).or_insert(0) += 1;
            if fail_on.is_some_and(|min| s.finding.severity >= min) {
                self.reached_fail_on = true;
            }
        }
        self.unread += r.unread.len();
        self.api_calls += r.api_calls;
        self.map_targets += r.map.len();
        self.map_time += r.map_time;
    }

    fn write_summary(
        &self,
        out: &mut impl Write,
        regions: usize,
        took: Duration,
    ) -> std::io::Result<()> {
        let counts: Vec<String> = self
            .by_severity
            .iter()
            .rev()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        writeln!(
            out,
            "\n{regions} regions, {} security groups, {} services, {} task definitions: {} findings{} in {:.1} s; {} reads failed",
            self.groups,
            self.services,
            self.task_definitions,
            self.findings,
            if counts.is_empty() { String::new() } else { format!(" ({})", counts.join(", ")) },
            took.as_secs_f64(),
            self.unread + self.failed_places
        )
    }
}

/// One place's findings: text grouped by resource, or one JSON line per
/// resource (the JSON document of DESIGN §8, `event_name` "Sweep").
fn print_place(
    out: &mut impl Write,
    result: &PlaceResult,
    format: Format,
    colour: bool,
) -> std::io::Result<()> {
    let report = &result.report;
    let mut by_resource: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        by_resource
            .entry(f.resource.as_deref().unwrap_or("-"))
            .or_default()
            .push(f);
    }
    match format {
        Format::Map => {
            for doc in &result.map {
                writeln!(out, "{}", doc.to_json())?;
            }
        }
        Format::Tree => {
            for doc in &result.map {
                writeln!(out, "{}", access_guard::output::map::tree(doc))?;
            }
        }
        // Written whole once every region is read.
        Format::Html => {}
        Format::Json => {
            for (resource, findings) in by_resource {
                let line = Report {
                    event_id: format!("{}-{resource}", report.event_id),
                    resource: Some(resource.to_string()),
                    findings: findings.into_iter().cloned().collect(),
                    notes: Vec::new(),
                    ..report.clone()
                };
                writeln!(out, "{}", line.to_json())?;
            }
            for u in &result.unread {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"event_id": report.event_id, "event_name": report.event_name,
                        "account": report.account, "region": report.region,
                        "could_not_read": u.phrase()})
                )?;
            }
        }
        Format::Text => {
            writeln!(out, "{} {}", report.account, report.region)?;
            if by_resource.is_empty() && result.unread.is_empty() {
                writeln!(out, "    no findings")?;
            }
            for (resource, findings) in by_resource {
                writeln!(out, "  {resource}")?;
                for f in findings {
                    let label = format!("{:<8}", f.severity.as_str().to_ascii_uppercase());
                    writeln!(
                        out,
                        "    {} {:<11} {}: {}",
                        crate::check::paint(&label, f.severity, colour),
                        f.rule,
                        f.title,
                        f.detail
                    )?;
                }
            }
            for u in &result.unread {
                writeln!(
                    out,
                    "    could not read {} (nothing there is known to be clean)",
                    u.phrase()
                )?;
            }
        }
    }
    Ok(())
}
