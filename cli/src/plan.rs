//! `access-guard plan`: what a Terraform plan or a CloudFormation template
//! would deploy, judged before it is (DESIGN §16) by the guards' own offline
//! verdicts, joined within each file, each resource by its address or
//! logical id (and line). A value known only after apply is said ("unknown until
//! apply"), never taken as a pass; a file that is not a plan, or a resource
//! that cannot be read, is an error naming it, and the rest still run.
//! `--format sarif` writes one SARIF log for all the files at the end
//! (`access_guard::output::sarif`), and says on stderr what the text would.

use std::io::Write;
use std::path::PathBuf;

use access_guard::finding::Severity;
use access_guard::output::sarif;
use access_guard::policy::Policy;

use crate::PlanFormat as Format;

/// How `plan` runs.
pub struct Options {
    /// The account the plan deploys to (its own ECR registry is trusted).
    pub account: Option<String>,
    pub format: Format,
    pub fail_on: Option<Severity>,
    pub colour: bool,
}

/// Judges every plan named and returns the exit status, as `check`: 0 it
/// ran, 1 a finding reached `fail_on`, 2 an input could not be read.
pub fn run(policy: &Policy, options: &Options, paths: &[PathBuf]) -> u8 {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let today = access_guard::model::today();
    let (mut resources, mut findings, mut errors, mut at_fail_on, mut unknown) = (0, 0, 0, 0, 0);
    // For `--format sarif`: what was judged and what failed, written at the end.
    let (mut verdicts, mut failures) = (Vec::new(), Vec::new());
    let mut fail = |origin: &str, address: Option<&str>, message: String| {
        eprintln!("access-guard: {message}");
        failures.push(sarif::Failure {
            file: origin.to_string(),
            address: address.map(str::to_string),
            message,
        });
    };
    for path in paths {
        let origin = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                fail(
                    &origin,
                    None,
                    format!("{origin}: cannot read the file: {e}"),
                );
                errors += 1;
                continue;
            }
        };
        let planned = match access_guard::iac::read(&text, &origin, options.account.as_deref()) {
            Ok(planned) => planned,
            Err(e) => {
                fail(&origin, None, e);
                errors += 1;
                continue;
            }
        };
        for judged in access_guard::before::judge(planned, policy, today) {
            resources += 1;
            let p = judged.planned;
            let mut report = match judged.report {
                Ok(report) => report,
                // Unknown until apply: said, never a pass, not an error.
                Err(_) if !p.unknown.is_empty() => {
                    unknown += 1;
                    let why = format!(
                        "{}: not judged: {} unknown until apply",
                        p.address,
                        p.unknown.join(", ")
                    );
                    let _ = match options.format {
                        Format::Json => writeln!(
                            out,
                            "{}",
                            serde_json::json!({"event_id": p.address, "resource": p.address,
                                "could_not_evaluate": why})
                        ),
                        Format::Text => writeln!(out, "{why}"),
                        Format::Sarif => {
                            eprintln!("access-guard: {origin}: {why}");
                            verdicts.push(sarif::Resource {
                                file: origin.clone(),
                                address: p.address.clone(),
                                line: p.line,
                                verdict: sarif::Verdict::NotJudged(format!(
                                    "{} unknown until apply",
                                    p.unknown.join(", ")
                                )),
                            });
                            Ok(())
                        }
                    };
                    continue;
                }
                Err(e) => {
                    fail(&origin, Some(&p.address), format!("{origin}: {e}"));
                    errors += 1;
                    continue;
                }
            };
            // Nothing is deployed yet: there is nothing to revoke.
            report.plan.clear();
            if !p.unknown.is_empty() {
                let why = format!(
                    "could not check {}: unknown until apply",
                    p.unknown.join(", ")
                );
                report.unevaluated = Some(match report.unevaluated.take() {
                    Some(before) => format!("{before}; {why}"),
                    None => why,
                });
            }
            findings += report.findings.len();
            at_fail_on += report
                .findings
                .iter()
                .filter(|f| options.fail_on.is_some_and(|min| f.severity >= min))
                .count();
            let _ = match options.format {
                Format::Json => writeln!(out, "{}", report.to_json()),
                Format::Text => {
                    let written = crate::check::write_text(
                        &mut out,
                        &p.address,
                        &report,
                        options.colour,
                        Some(&match p.line {
                            Some(line) => format!("in {origin}, line {line}"),
                            None => format!("in {origin}"),
                        }),
                    );
                    match &report.unevaluated {
                        Some(why) => writeln!(out, "    {why}"),
                        None => written,
                    }
                }
                Format::Sarif => {
                    if let Some(why) = &report.unevaluated {
                        eprintln!("access-guard: {origin}: {}: {why}", p.address);
                    }
                    verdicts.push(sarif::Resource {
                        file: origin.clone(),
                        address: p.address.clone(),
                        line: p.line,
                        verdict: sarif::Verdict::Judged(Box::new(report)),
                    });
                    Ok(())
                }
            };
        }
    }
    if options.format == Format::Sarif {
        let log = sarif::log(policy, &verdicts, &failures);
        let _ = writeln!(out, "{log:#}");
        eprintln!(
            "access-guard: {resources} resources, {findings} findings, {unknown} not judged (unknown until apply), {errors} errors"
        );
    }
    if options.format == Format::Text {
        let _ = writeln!(
            out,
            "\n{resources} resources, {findings} findings, {unknown} not judged (unknown until apply), {errors} errors"
        );
    }
    let _ = out.flush();
    if errors > 0 {
        2
    } else if at_fail_on > 0 {
        1
    } else {
        0
    }
}
