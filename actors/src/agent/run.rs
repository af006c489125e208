//! Running an agent process in a worktree, within a budget, and judging what it did.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::git::cache_lock;
use super::process::{GroupGuard, capture, kill_group};
use super::report::{TAIL_BYTES, read_report, tail};
use super::snapshot::{Snapshot, is_loose_object};
use super::spec::{ArgvValues, expand_argv};
use super::{AgentError, AgentSpec, Worktree};
use crate::outcome::{AgentReport, TaskSpec};

/// Each of stdout and stderr is kept up to this size; the rest is drained and counted.
pub const MAX_LOG_BYTES: u64 = 16 * 1024 * 1024;

/// After the group is killed its pipes close at once; this only bounds a process that escaped
/// the group (e.g. with `setsid`) and still holds them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What an agent may spend on one task.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Wall-clock limit; the process group is killed when it is reached.
    pub time_limit: Duration,
    /// Cost limit in US dollars, checked against the agent's report.
    pub max_cost_usd: f64,
}

/// A finished, accepted agent run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRun {
    /// Exit code (0).
    pub exit_code: i32,
    /// Wall-clock time, in milliseconds.
    pub duration_ms: u64,
    /// The agent's report.
    pub report: AgentReport,
    /// Captured stdout.
    pub stdout_log: PathBuf,
    /// Captured stderr.
    pub stderr_log: PathBuf,
    /// Cost in US dollars, from the report.
    pub cost_usd: f64,
}

/// The agent's files inside the sandbox, outside the worktree.
struct Files {
    prompt: PathBuf,
    task: PathBuf,
    report: PathBuf,
    home: PathBuf,
    tmp: PathBuf,
    stdout: PathBuf,
    stderr: PathBuf,
}

/// Runs `spec` in `wt` for `task`, with `prompt` (already rendered) on stdin and in
/// `$FACTORY_PROMPT_FILE`, and checks the result: time, exit code, writes outside the worktree,
/// the report and the cost, in that order of precedence (a write outside wins over everything).
pub async fn run_agent(
    spec: &AgentSpec,
    wt: &Worktree,
    task: &TaskSpec,
    prompt: &str,
    budget: Budget,
) -> Result<AgentRun, AgentError> {
    let files = write_files(wt, task, prompt)?;
    let argv = expand_argv(
        &spec.argv,
        &ArgvValues {
            prompt_file: &files.prompt,
            task_file: &files.task,
            report_file: &files.report,
            worktree: &wt.path,
            prompt,
        },
    )?;
    let lock = cache_lock(&wt.cache);
    let _held = lock.lock().await;
    let before = snapshot(wt).await?;

    let started = Instant::now();
    let (status, timed_out) = spawn_and_wait(spec, wt, &files, &argv, budget.time_limit).await?;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

    let after = snapshot(wt).await?;
    let cache = wt.cache.clone();
    let outside = before.changes(&after, |p| {
        p.strip_prefix(&cache).is_ok_and(is_loose_object)
    });
    if !outside.is_empty() {
        return Err(AgentError::WroteOutside { paths: outside });
    }
    if timed_out {
        return Err(AgentError::TimedOut {
            limit_ms: u64::try_from(budget.time_limit.as_millis()).unwrap_or(u64::MAX),
        });
    }
    let exit_code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1);
    if exit_code != 0 {
        let mut log_tail = tail(&files.stderr, TAIL_BYTES);
        if log_tail.trim().is_empty() {
            log_tail = tail(&files.stdout, TAIL_BYTES);
        }
        return Err(AgentError::Exited {
            code: exit_code,
            log_tail: log_tail.trim().to_string(),
        });
    }
    let report = read_report(spec.report, &files.report, &files.stdout)?;
    if report.cost_usd > budget.max_cost_usd {
        return Err(AgentError::OverBudget {
            cost: report.cost_usd,
            limit: budget.max_cost_usd,
        });
    }
    Ok(AgentRun {
        exit_code,
        duration_ms,
        cost_usd: report.cost_usd,
        report,
        stdout_log: files.stdout,
        stderr_log: files.stderr,
    })
}

/// Starts the agent in its own process group and waits up to `limit`. The group is always
/// killed afterwards, so nothing the agent left running in the background outlives the run.
async fn spawn_and_wait(
    spec: &AgentSpec,
    wt: &Worktree,
    files: &Files,
    argv: &[String],
    limit: Duration,
) -> Result<(std::process::ExitStatus, bool), AgentError> {
    let stdin =
        std::fs::File::open(&files.prompt).map_err(|e| AgentError::io("open", &files.prompt, e))?;
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(&wt.path)
        .env_clear()
        .envs(environment(spec, wt, files))
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|source| AgentError::Spawn {
        program: argv[0].clone(),
        source,
    })?;
    // The leader's pid is the group id, since it was started with process_group(0). `id()` is
    // only None after the child was reaped, which has not happened yet.
    let guard = child.id().map(|pgid| GroupGuard { pgid });
    let out = child.stdout.take().map(|s| {
        let path = files.stdout.clone();
        tokio::spawn(async move { capture(s, &path, MAX_LOG_BYTES).await })
    });
    let err = child.stderr.take().map(|s| {
        let path = files.stderr.clone();
        tokio::spawn(async move { capture(s, &path, MAX_LOG_BYTES).await })
    });
    let waited = tokio::time::timeout(limit, child.wait()).await;
    if let Some(guard) = &guard {
        kill_group(guard.pgid);
    }
    let (status, timed_out) = match waited {
        Ok(status) => (status, false),
        Err(_) => {
            // Should `kill` be missing, the leader at least still dies.
            let _ = child.start_kill();
            (child.wait().await, true)
        }
    };
    let status = status.map_err(|e| AgentError::io("wait for the agent in", &wt.path, e))?;
    for copier in [out, err].into_iter().flatten() {
        let abort = copier.abort_handle();
        if tokio::time::timeout(DRAIN_TIMEOUT, copier).await.is_err() {
            abort.abort();
        }
    }
    drop(guard);
    Ok((status, timed_out))
}

/// The agent's whole environment: nothing of the factory's leaks except PATH, LANG and the
/// names the spec passes. The factory's own variables are set last, so `env_pass` cannot
/// override them.
fn environment(
    spec: &AgentSpec,
    wt: &Worktree,
    files: &Files,
) -> Vec<(String, std::ffi::OsString)> {
    let mut env = Vec::new();
    for name in &spec.env_pass {
        if let Some(value) = std::env::var_os(name) {
            env.push((name.clone(), value));
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let lang = std::env::var_os("LANG").unwrap_or_else(|| "C.UTF-8".into());
    let fixed: [(&str, std::ffi::OsString); 8] = [
        ("PATH", path),
        ("LANG", lang),
        ("HOME", files.home.clone().into()),
        ("TMPDIR", files.tmp.clone().into()),
        ("FACTORY_TASK_FILE", files.task.clone().into()),
        ("FACTORY_PROMPT_FILE", files.prompt.clone().into()),
        ("FACTORY_REPORT_FILE", files.report.clone().into()),
        ("FACTORY_WORKTREE", wt.path.clone().into()),
    ];
    env.extend(fixed.into_iter().map(|(k, v)| (k.to_string(), v)));
    env
}

/// Lays out a fresh `agent/` and `logs/` in the sandbox and writes the prompt and task.
fn write_files(wt: &Worktree, task: &TaskSpec, prompt: &str) -> Result<Files, AgentError> {
    let agent = wt.agent_dir();
    let logs = wt.logs_dir();
    for dir in [&agent, &logs] {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| AgentError::io("clear", dir, e))?;
        }
    }
    let files = Files {
        prompt: agent.join("prompt.md"),
        task: agent.join("task.json"),
        report: agent.join("report.json"),
        home: agent.join("home"),
        tmp: agent.join("tmp"),
        stdout: logs.join("stdout.log"),
        stderr: logs.join("stderr.log"),
    };
    for dir in [&files.home, &files.tmp, &logs] {
        std::fs::create_dir_all(dir).map_err(|e| AgentError::io("create", dir, e))?;
    }
    let task_json = serde_json::to_vec_pretty(task).map_err(|e| AgentError::BadSpec {
        message: format!("task cannot be encoded: {e}"),
    })?;
    write(&files.task, &task_json)?;
    write(&files.prompt, prompt.as_bytes())?;
    Ok(files)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), AgentError> {
    std::fs::write(path, bytes).map_err(|e| AgentError::io("write", path, e))
}

/// Snapshots the sandbox (less the worktree, the agent's files and the logs) and the repo
/// cache (less this worktree's own admin directory, which git inside the worktree writes).
async fn snapshot(wt: &Worktree) -> Result<Snapshot, AgentError> {
    let wt = wt.clone();
    let sandbox = wt.sandbox.clone();
    tokio::task::spawn_blocking(move || {
        let mut snap = Snapshot::default();
        snap.take(
            &wt.sandbox,
            &[wt.path.clone(), wt.agent_dir(), wt.logs_dir()],
        );
        snap.take(&wt.cache, std::slice::from_ref(&wt.admin_dir));
        snap
    })
    .await
    .map_err(|e| AgentError::io("snapshot", sandbox, std::io::Error::other(e)))
}
