//! Spawning a function's `bootstrap`, and reading peak memory of a process.
//!
//! Peak RSS is read from the process itself (`VmHWM` in `/proc/<pid>/status`)
//! or by GNU time around it: `wait4`'s `ru_maxrss` of a child counts the
//! parent's pages it shared between fork and exec, which would charge this
//! harness's own memory to the function.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The peak resident set size of a running process, in KiB.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Runs `program args…` to completion under GNU time: wall time, peak RSS (KiB).
pub fn timed(program: &Path, args: &[&std::ffi::OsStr]) -> std::io::Result<(Duration, u64)> {
    let report =
        std::env::temp_dir().join(format!("access-guard-bench-time-{}", std::process::id()));
    let started = Instant::now();
    let status = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(program)
        .args(args)
        .stdout(Stdio::null())
        .status()?;
    let took = started.elapsed();
    let kib = std::fs::read_to_string(&report)?
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    if !status.success() && status.code() != Some(1) {
        return Err(std::io::Error::other(format!(
            "{} exited with {status}",
            program.display()
        )));
    }
    Ok((took, kib))
}

/// The environment a Lambda `bootstrap` needs outside Lambda.
pub fn lambda_command(bootstrap: &Path, runtime_api: &str, function: &str) -> Command {
    as_lambda(Command::new(bootstrap), runtime_api, function)
}

/// `cmd` with the environment Lambda gives a function's process.
pub fn as_lambda(mut cmd: Command, runtime_api: &str, function: &str) -> Command {
    cmd.env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_of_a_running_process_and_of_a_timed_command() {
        let mut child = Command::new("sleep").arg("2").spawn().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let live = vm_hwm_kib(child.id()).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(live > 0 && live < 64 * 1024, "{live} KiB");
        let (took, kib) = timed(Path::new("true"), &[]).unwrap();
        assert!(
            kib > 0 && kib < 64 * 1024 && took < Duration::from_secs(5),
            "{kib} KiB"
        );
    }
}
