//! `access-guard`: the ecs-access-guard rules, offline, over sample events and
//! CloudTrail archives. `check` never calls AWS; `scan` (built with the `aws`
//! feature) reads the current state with the caller's credentials, read-only.

mod check;
mod plan;
#[cfg(feature = "aws")]
mod s3;
#[cfg(feature = "aws")]
mod scan;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use access_guard::finding::Severity;
use access_guard::policy::Policy;
use access_guard::rules;
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "access-guard",
    version,
    about = "Evaluate ECS and security-group CloudTrail events against the ecs-access-guard rules, offline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate events: EventBridge events, CloudTrail records, log files (.json, .json.gz), JSON lines.
    ///
    /// Folders are searched recursively, in sorted order; CloudTrail digest files and other
    /// JSON that holds no event (an S3 inventory manifest) are counted and skipped. Symbolic
    /// links inside folders are not followed unless --follow-links; a path named here is read
    /// even when it is a link. Files are read as streams: memory follows the largest record,
    /// not the file. A progress bar is drawn on stderr when it is a terminal.
    ///
    /// Exit status: 0 when it ran, 1 when a finding reaches --fail-on, 2 when an input could
    /// not be read (2 wins; the summary then names the --fail-on findings too).
    Check {
        /// Policy file (TOML); the embedded default when absent.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Exit 1 when a finding of at least this severity is found.
        #[arg(long, value_name = "SEVERITY", value_enum, ignore_case = true)]
        fail_on: Option<FailOn>,
        /// Also print the events no guard handles (by default they are only counted).
        #[arg(long)]
        all_events: bool,
        /// Follow symbolic links inside folders (a link back to a folder above is reported once
        /// and not followed again; a file reached twice is read once).
        #[arg(long)]
        follow_links: bool,
        /// Colour in text output.
        #[arg(long, value_name = "WHEN", value_enum, default_value_t = Color::Auto)]
        color: Color,
        /// Files read at once (default: the machine's cores).
        #[arg(long, short = 'j', value_name = "N")]
        jobs: Option<usize>,
        /// s3:// inputs: only the keys of days on or after this one (YYYY-MM-DD).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        since: Option<time::Date>,
        /// s3:// inputs: only the keys of days on or before this one (YYYY-MM-DD).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        until: Option<time::Date>,
        /// s3:// inputs: only this account's keys (repeatable).
        #[arg(long, value_name = "ID")]
        account: Vec<String>,
        /// s3:// inputs: only this region's keys (repeatable).
        #[arg(long, value_name = "REGION")]
        region: Vec<String>,
        /// s3:// inputs: keep the last key done of each in FILE, and start after it when FILE
        /// says (an interrupted run resumes).
        #[arg(long, value_name = "FILE")]
        resume: Option<PathBuf>,
        /// Files or folders (searched recursively); `-` reads standard input;
        /// s3://BUCKET/PREFIX reads a bucket where it lies (the build with the `aws` feature).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Sweep the current state of an account, read-only, with your credentials:
    /// security groups, ECS services and the task definitions they run, judged
    /// by the same rules as the events. Nothing is changed or published.
    ///
    /// Exit status: 0 when it ran, 1 when a finding reaches --fail-on, 2 when something could not be read.
    #[cfg(feature = "aws")]
    Scan {
        /// The AWS profile (else the environment's credentials).
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        /// A region to scan (repeatable); else the profile's or AWS_REGION.
        #[arg(long, value_name = "REGION", conflicts_with = "all_regions")]
        region: Vec<String>,
        /// Every region enabled in the account.
        #[arg(long)]
        all_regions: bool,
        /// Policy file (TOML); the embedded default when absent.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
        format: ScanFormat,
        /// Exit 1 when a finding of at least this severity is found.
        #[arg(long, value_name = "SEVERITY", value_enum, ignore_case = true)]
        fail_on: Option<FailOn>,
        /// Colour in text output.
        #[arg(long, value_name = "WHEN", value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Judge a Terraform plan or a CloudFormation template before it is deployed.
    ///
    /// A plan is the JSON of `terraform show -json PLANFILE`; a template is JSON or YAML (what
    /// `cdk synth` writes too). Each resource is judged by the same rules as the CloudTrail
    /// event of the call that would make it, joined with the resources of the same file it
    /// names, and named by its address or logical id (and line). A value known only after
    /// apply or deployment is said, never taken as a pass.
    ///
    /// Exit status: 0 when it ran, 1 when a finding reaches --fail-on, 2 when a file or a
    /// resource could not be read.
    Plan {
        /// The account the plan deploys to: its own ECR registry is then trusted, and it is
        /// `AWS::AccountId` in a template (neither says).
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// Policy file (TOML); the embedded default when absent.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
        /// Exit 1 when a finding of at least this severity is found.
        #[arg(long, value_name = "SEVERITY", value_enum, ignore_case = true)]
        fail_on: Option<FailOn>,
        /// Colour in text output.
        #[arg(long, value_name = "WHEN", value_enum, default_value_t = Color::Auto)]
        color: Color,
        /// Plans (the JSON of `terraform show -json`) and templates (JSON or YAML).
        #[arg(required = true, value_name = "FILE")]
        paths: Vec<PathBuf>,
    },
    /// List the rule catalog, or show one rule's documentation.
    Rules {
        /// A rule id, e.g. EC2-SG-003.
        id: Option<String>,
        /// Print the catalog as the Markdown table of the README.
        #[arg(long)]
        markdown: bool,
    },
    /// Policy files.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a policy file: exit 0 when it is valid and no exemption is past due.
    Check { file: PathBuf },
    /// Print the embedded default policy.
    Default,
}

/// A day as `YYYY-MM-DD`.
fn parse_date(text: &str) -> Result<time::Date, String> {
    time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|e| format!("{text}: not a day as YYYY-MM-DD ({e})"))
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One block per event, and a summary.
    Text,
    /// One JSON document per event (the document the Lambda publishes).
    Json,
}

/// What `plan` prints.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// One block per resource, and a summary.
    Text,
    /// One JSON document per resource (the document the Lambda publishes).
    Json,
    /// One SARIF 2.1.0 log for all the files (code scanning); what was not
    /// judged or not read is in its notifications, and said on stderr.
    Sarif,
}

/// What `scan` prints.
#[cfg(feature = "aws")]
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// The findings by resource, and a summary.
    Text,
    /// One JSON document per resource (the document the Lambda publishes).
    Json,
    /// The access map: one JSON document per service and container instance,
    /// every way in with its evidence (schema access-guard/map/1).
    Map,
    /// The access map as a tree, for a terminal.
    Tree,
    /// The access map as one self-contained HTML page (no network needed).
    Html,
}

/// `--fail-on`: a severity, as clap lists it in `--help`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl From<FailOn> for Severity {
    fn from(level: FailOn) -> Severity {
        match level {
            FailOn::Info => Severity::Info,
            FailOn::Low => Severity::Low,
            FailOn::Medium => Severity::Medium,
            FailOn::High => Severity::High,
            FailOn::Critical => Severity::Critical,
        }
    }
}

/// `--color`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// When stdout is a terminal and NO_COLOR is unset or empty.
    Auto,
    /// Always, NO_COLOR or not.
    Always,
    Never,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            policy,
            format,
            fail_on,
            all_events,
            follow_links,
            color,
            jobs,
            since,
            until,
            account,
            region,
            resume,
            paths,
        } => {
            let policy = match load_policy(policy.as_deref()) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("access-guard: {e:#}");
                    return ExitCode::from(2);
                }
            };
            let options = check::Options {
                format,
                fail_on: fail_on.map(Severity::from),
                jobs: jobs
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
                colour: format == Format::Text && terminal_colour(color),
                all_events,
                follow_links,
                select: check::Select {
                    since,
                    until,
                    accounts: account,
                    regions: region,
                },
                resume,
            };
            ExitCode::from(check::run(&policy, &options, &paths))
        }
        #[cfg(feature = "aws")]
        Command::Scan {
            profile,
            region,
            all_regions,
            policy,
            format,
            fail_on,
            color,
        } => {
            let policy = match load_policy(policy.as_deref()) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("access-guard: {e:#}");
                    return ExitCode::from(2);
                }
            };
            let args = scan::ScanArgs {
                profile,
                regions: region,
                all_regions,
                format,
                fail_on: fail_on.map(Severity::from),
                colour: format == ScanFormat::Text && terminal_colour(color),
            };
            ExitCode::from(scan::run(&policy, &args))
        }
        Command::Plan {
            account,
            policy,
            format,
            fail_on,
            color,
            paths,
        } => {
            let policy = match load_policy(policy.as_deref()) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("access-guard: {e:#}");
                    return ExitCode::from(2);
                }
            };
            let options = plan::Options {
                account,
                format,
                fail_on: fail_on.map(Severity::from),
                colour: format == PlanFormat::Text && terminal_colour(color),
            };
            ExitCode::from(plan::run(&policy, &options, &paths))
        }
        Command::Rules { id, markdown } => rules_command(id.as_deref(), markdown),
        Command::Policy { command } => match command {
            PolicyCommand::Check { file } => policy_check(&file),
            PolicyCommand::Default => {
                print!("{}", access_guard::policy::EMBEDDED);
                ExitCode::SUCCESS
            }
        },
    }
}

/// `--color` for text on standard output: the terminal and `NO_COLOR` decide `auto`.
fn terminal_colour(color: Color) -> bool {
    check::colour(
        color,
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

fn load_policy(path: Option<&std::path::Path>) -> anyhow::Result<Policy> {
    let Some(path) = path else {
        return Ok(Policy::embedded());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read policy {}: {e}", path.display()))?;
    Ok(access_guard::rules::policy_from_toml(
        &text,
        &path.display().to_string(),
    )?)
}

fn rules_command(id: Option<&str>, markdown: bool) -> ExitCode {
    if markdown {
        print!("{}", rules::markdown_table());
        return ExitCode::SUCCESS;
    }
    if let Some(id) = id {
        let Some(rule) = rules::find(&id.to_ascii_uppercase()) else {
            eprintln!("access-guard: no rule {id:?} (run `access-guard rules` for the catalog)");
            return ExitCode::from(2);
        };
        println!("{} — {}", rule.id, rule.title);
        println!(
            "severity: {}   default action: {}   anchors: {}",
            rule.severity,
            rule.action,
            rule.anchors.join(", ")
        );
        println!();
        print!(
            "{}",
            rule.doc
                .lines()
                .map(|l| l.strip_prefix(' ').unwrap_or(l))
                .collect::<Vec<_>>()
                .join("\n")
        );
        println!();
        if rule.id == rules::ecs_td::secret_value_in_env::SECRET_VALUE_IN_ENV.id {
            println!("## Kinds");
            println!("Structured: AWS access key id and secret key, private key (PEM), JSON Web Token, credentials in a URL, connection-string Password/AccountKey/SharedAccessKey, Slack webhook URL, Telegram bot token, Mailchimp key; then high entropy.");
            println!("Provider formats (prefix + body, severity):");
            for row in access_guard::secrets::formats::rows() {
                println!("  {row}");
            }
        }
        return ExitCode::SUCCESS;
    }
    let _ = write_table(&mut std::io::stdout().lock());
    ExitCode::SUCCESS
}

/// The catalog as a table, each column as wide as its widest cell.
fn write_table(out: &mut impl Write) -> std::io::Result<()> {
    let rows: Vec<[&str; 4]> = rules::ALL
        .iter()
        .map(|r| [r.id, r.severity.as_str(), r.action.as_str(), r.title])
        .collect();
    let header = ["ID", "SEVERITY", "ACTION", "TITLE"];
    let width = |column: usize| {
        rows.iter()
            .chain([&header])
            .map(|row| row[column].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (id, severity, action) = (width(0), width(1), width(2));
    for row in [&header].into_iter().chain(&rows) {
        writeln!(
            out,
            "{:<id$}  {:<severity$}  {:<action$}  {}",
            row[0], row[1], row[2], row[3]
        )?;
    }
    Ok(())
}

fn policy_check(file: &std::path::Path) -> ExitCode {
    let mut policy = match load_policy(Some(file)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("access-guard: {e:#}");
            return ExitCode::from(2);
        }
    };
    // What a function with this policy would do: the environment's overrides too.
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let Err(e) = access_guard::config::apply_overrides(&mut policy, &env) {
        eprintln!("access-guard: {e}");
        return ExitCode::from(2);
    }
    let past_due = policy.expired_exemptions(access_guard::model::today());
    for problem in &past_due {
        eprintln!("access-guard: policy {}: {problem}", file.display());
    }
    if !past_due.is_empty() {
        return ExitCode::from(1);
    }
    println!(
        "{}: valid ({} rules, {} exemptions, dry_run = {} (from {}), notify_min_severity = {})",
        file.display(),
        policy.rules.len(),
        policy.exemptions.len(),
        policy.dry_run,
        policy.dry_run_source,
        policy.notify_min_severity
    );
    // Every setting's effective value and where it came from: what a
    // function with this policy and this environment logs when it starts.
    let width = policy
        .settings
        .iter()
        .map(|s| s.key.len())
        .max()
        .unwrap_or(0);
    for setting in &policy.settings {
        println!(
            "  {:<width$} = {}  ({})",
            setting.key, setting.value, setting.source
        );
    }
    ExitCode::SUCCESS
}
