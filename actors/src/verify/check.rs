//! One check: a shell command run in a directory with a time limit, its output kept in a log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::VerifyError;
use super::process::{GroupGuard, filtered_env, sha256_file};
use crate::org::model::Commands;

/// At most this much output is kept per check; the rest is counted and dropped so a chatty or
/// hostile command cannot fill the disk.
pub const LOG_LIMIT_BYTES: u64 = 1 << 20;

/// How long we keep reading output after the command ended and its group was killed. Only a
/// process that left the group (setsid) can hold the pipes open longer.
const DRAIN: Duration = Duration::from_secs(2);

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSpec {
    /// Short name, e.g. `test`; also names the log file.
    pub name: String,
    /// Run with `sh -c`.
    pub command: String,
    /// Working directory.
    pub cwd: PathBuf,
    /// Variables added to the filtered environment.
    pub env: BTreeMap<String, String>,
    /// Wall-clock limit; the process group is killed when it passes.
    pub timeout: Duration,
}

/// What happened when a check ran: enough for a reviewer to re-run it and compare the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRecord {
    /// The check's name.
    pub name: String,
    /// The command, as given to `sh -c`.
    pub command: String,
    /// Where it ran.
    pub cwd: PathBuf,
    /// Exit code; `None` when killed by a signal, timed out, or it could not start.
    pub exit_code: Option<i32>,
    /// Whether the time limit was hit.
    pub timed_out: bool,
    /// Wall-clock duration.
    pub duration_ms: u64,
    /// The log file holding stdout and stderr.
    pub log_path: PathBuf,
    /// SHA-256 of the log file.
    pub log_sha256: String,
    /// Exit code 0 within the time limit.
    pub passed: bool,
}

/// Runs one check, writing its output to `<log_dir>/<name>.log`.
///
/// A command that cannot start is a failed check (the reason is in its log), not an error; only
/// failing to write the log is an error.
pub async fn run_check(spec: &CheckSpec, log_dir: &Path) -> Result<CheckRecord, VerifyError> {
    tokio::fs::create_dir_all(log_dir)
        .await
        .map_err(|e| VerifyError::io(format!("create {}", log_dir.display()), e))?;
    let log_path = log_dir.join(format!("{}.log", file_stem(&spec.name)));
    let mut log = tokio::fs::File::create(&log_path)
        .await
        .map_err(|e| VerifyError::io(format!("create {}", log_path.display()), e))?;
    let header = format!("$ {}\n# cwd: {}\n", spec.command, spec.cwd.display());
    write_log(&mut log, header.as_bytes(), &log_path).await?;

    let started = Instant::now();
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(&spec.command)
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(filtered_env())
        .envs(&spec.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let (exit_code, timed_out) = match cmd.spawn() {
        Err(e) => {
            let note = format!("# could not start: {e}\n");
            write_log(&mut log, note.as_bytes(), &log_path).await?;
            (None, false)
        }
        Ok(mut child) => {
            let guard = GroupGuard::new(child.id());
            let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
                // Both were set to piped above, so tokio always hands them out.
                return Err(VerifyError::io(
                    "take child pipes",
                    std::io::Error::other("pipes missing"),
                ));
            };
            let pump = tokio::spawn(pump(out, err, log, LOG_LIMIT_BYTES));
            let waited = tokio::time::timeout(spec.timeout, child.wait()).await;
            // Kill the group either way: background jobs must not outlive their check.
            guard.kill();
            let result = match waited {
                Ok(Ok(status)) => (status.code(), false),
                Ok(Err(_)) => (None, false),
                Err(_) => {
                    let _ = child.wait().await;
                    (None, true)
                }
            };
            log = match tokio::time::timeout(DRAIN, pump).await {
                Ok(Ok(Ok(file))) => file,
                // The pump failed or never finished: reopen for the footer.
                _ => tokio::fs::OpenOptions::new()
                    .append(true)
                    .open(&log_path)
                    .await
                    .map_err(|e| VerifyError::io(format!("reopen {}", log_path.display()), e))?,
            };
            result
        }
    };
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let footer = match (exit_code, timed_out) {
        (_, true) => format!("# timed out after {duration_ms} ms; process group killed\n"),
        (Some(c), _) => format!("# exit code {c} after {duration_ms} ms\n"),
        (None, _) => format!("# no exit code (signal or start failure) after {duration_ms} ms\n"),
    };
    write_log(&mut log, footer.as_bytes(), &log_path).await?;
    log.flush()
        .await
        .map_err(|e| VerifyError::io(format!("flush {}", log_path.display()), e))?;
    drop(log);
    Ok(CheckRecord {
        name: spec.name.clone(),
        command: spec.command.clone(),
        cwd: spec.cwd.clone(),
        exit_code,
        timed_out,
        duration_ms,
        log_sha256: sha256_file(&log_path)?,
        log_path,
        passed: exit_code == Some(0) && !timed_out,
    })
}

/// Runs a repo's setup, build and test commands in order, skipping absent ones and stopping at
/// the first failure (a failed build makes the test result meaningless). Logs are named after
/// the step (`test.log`), so give each repo its own `log_dir`.
pub async fn repo_checks(
    worktree: &Path,
    commands: &Commands,
    log_dir: &Path,
    timeout: Duration,
) -> Result<Vec<CheckRecord>, VerifyError> {
    let steps = [
        ("setup", commands.setup.as_deref()),
        ("build", commands.build.as_deref()),
        ("test", Some(commands.test.as_str())),
    ];
    let mut records = Vec::new();
    for (name, command) in steps {
        let Some(command) = command.filter(|c| !c.trim().is_empty()) else {
            continue;
        };
        let spec = CheckSpec {
            name: name.to_string(),
            command: command.to_string(),
            cwd: worktree.to_path_buf(),
            env: BTreeMap::new(),
            timeout,
        };
        // One `check.run` span per step, so a trace shows which check took the time.
        let span = tracing::info_span!("check.run", name, passed = tracing::field::Empty);
        let record =
            tracing::Instrument::instrument(run_check(&spec, log_dir), span.clone()).await?;
        span.record("passed", record.passed);
        let passed = record.passed;
        records.push(record);
        if !passed {
            break;
        }
    }
    Ok(records)
}

/// A check name made safe as a file name.
fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' => c,
            _ => '_',
        })
        .collect();
    if stem.is_empty() {
        "check".to_string()
    } else {
        stem
    }
}

async fn write_log(
    log: &mut tokio::fs::File,
    bytes: &[u8],
    path: &Path,
) -> Result<(), VerifyError> {
    log.write_all(bytes)
        .await
        .map_err(|e| VerifyError::io(format!("write {}", path.display()), e))
}

/// Copies stdout and stderr into the log as they arrive (interleaved by arrival), keeping at
/// most `limit` bytes and reading on past it so the child never blocks on a full pipe.
async fn pump(
    mut out: impl AsyncRead + Unpin,
    mut err: impl AsyncRead + Unpin,
    mut log: tokio::fs::File,
    limit: u64,
) -> std::io::Result<tokio::fs::File> {
    let (mut out_buf, mut err_buf) = (vec![0u8; 8192], vec![0u8; 8192]);
    let (mut out_open, mut err_open) = (true, true);
    let (mut kept, mut dropped) = (0u64, 0u64);
    while out_open || err_open {
        let (from_out, n) = tokio::select! {
            r = out.read(&mut out_buf), if out_open => (true, r?),
            r = err.read(&mut err_buf), if err_open => (false, r?),
        };
        if n == 0 {
            if from_out {
                out_open = false;
            } else {
                err_open = false;
            }
            continue;
        }
        let chunk = if from_out {
            &out_buf[..n]
        } else {
            &err_buf[..n]
        };
        let room = usize::try_from(limit.saturating_sub(kept)).unwrap_or(usize::MAX);
        let keep = n.min(room);
        log.write_all(&chunk[..keep]).await?;
        kept += keep as u64;
        dropped += (n - keep) as u64;
    }
    if dropped > 0 {
        let note = format!("\n# output truncated: {dropped} more bytes dropped\n");
        log.write_all(note.as_bytes()).await?;
    }
    Ok(log)
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
