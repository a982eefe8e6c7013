//! Cloud Custodian side by side: its Lambda handler (`c7n.handler.dispatch_event`,
//! as in a Custodian cloudtrail-mode package) in a fresh Python process, served
//! by the same Runtime API emulator, against the same moto, with the policy in
//! `bench/custodian/config.json` (revoke world-open ingress, notify by SNS).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::as_lambda;

/// A prepared Custodian function: its Python, runtime loop and package folder.
pub struct Custodian {
    python: PathBuf,
    bootstrap: PathBuf,
    package: PathBuf,
}

impl Custodian {
    /// Writes the package folder (`config.json` with alerts going to `topic`).
    /// `venv` is the virtualenv Custodian is installed in.
    pub fn prepare(repo: &Path, venv: &Path, topic: &str) -> anyhow::Result<Custodian> {
        let python = venv.join("bin/python");
        anyhow::ensure!(
            python.exists(),
            "{} is missing: `make bench` installs Cloud Custodian there",
            python.display()
        );
        let package = repo.join("target/bench-custodian");
        std::fs::create_dir_all(&package)?;
        let template = std::fs::read_to_string(repo.join("bench/custodian/config.json"))?;
        std::fs::write(package.join("config.json"), config(&template, topic)?)?;
        Ok(Custodian {
            python,
            bootstrap: repo.join("bench/custodian/bootstrap.py"),
            package,
        })
    }

    /// A fresh process serving `runtime_api`. Python writes no `.pyc`, so
    /// each start compiles Custodian's modules as a Lambda package would.
    pub fn command(&self, runtime_api: &str) -> Command {
        let mut cmd = Command::new(&self.python);
        cmd.arg(&self.bootstrap)
            .current_dir(&self.package)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("AWS_DEFAULT_REGION", access_guard_e2e::REGION);
        as_lambda(cmd, runtime_api, "custodian-sg-world-open-ingress")
    }

    /// The installed Custodian version.
    pub fn version(&self) -> String {
        Command::new(&self.python)
            .args(["-c", "from c7n.version import version; print(version)"])
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "unknown".to_string())
    }
}

/// The policy file with its SNS topic filled in; fails if the template no
/// longer has the placeholder or stops being JSON.
fn config(template: &str, topic: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        template.contains("\"TOPIC_ARN\""),
        "bench/custodian/config.json: no \"TOPIC_ARN\" placeholder"
    );
    let filled = template.replace("\"TOPIC_ARN\"", &serde_json::to_string(topic)?);
    let parsed: serde_json::Value = serde_json::from_str(&filled)?;
    let transport = &parsed["policies"][0]["actions"][1]["transport"];
    anyhow::ensure!(
        transport["topic"] == topic,
        "bench/custodian/config.json: the notify action's topic is not the placeholder"
    );
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_sends_alerts_to_the_benchmark_topic() {
        let template = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/custodian/config.json"
        ))
        .unwrap();
        let topic = "arn:aws:sns:us-east-1:123456789012:alerts-1";
        let filled: serde_json::Value =
            serde_json::from_str(&config(&template, topic).unwrap()).unwrap();
        let policy = &filled["policies"][0];
        assert_eq!(policy["mode"]["type"], "cloudtrail");
        assert_eq!(
            policy["mode"]["events"][0]["event"],
            "AuthorizeSecurityGroupIngress"
        );
        assert_eq!(policy["actions"][0]["type"], "remove-permissions");
        assert_eq!(policy["actions"][1]["transport"]["topic"], topic);
        assert!(config("{}", topic).is_err());
    }
}
