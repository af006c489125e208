//! One attempt of a task on this node: the RepoAgent's work from assignment to pushed branch.
//!
//! worktree on `factory/<run>` -> prompt rendered from the skill -> agent run under its budget ->
//! commit and push -> the repo's own setup/build/test checks in the new worktree. Every step's logs
//! travel back to the coordinator as artifacts, whether the attempt succeeded or not.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use actors::agent::{self, AgentError, AgentSpec, Budget};
use actors::org::Manifest;
use actors::verify::{self, CheckRecord, VerifyError};
use protocol::run::{Blob, TaskAssignment, TaskDone, TaskResult};

use crate::attempts::Tenure;

/// Test hook: with `FACTORY_TEST_PANIC_ONCE=<repo>` in its environment, the node's first attempt
/// on `<repo>` panics, once per process, so tests can crash a worker on demand and watch the
/// crash be reported and retried. Unset in normal use.
pub const PANIC_ONCE_ENV: &str = "FACTORY_TEST_PANIC_ONCE";
use tracing::Instrument;

/// How long an attempt holds its push waiting for the coordinator to confirm it still owns the
/// repo (through a partition or a coordinator restart) before it steps down.
const CONFIRM_WITHIN: Duration = Duration::from_secs(120);

/// Largest log shipped back per file; a reviewer sees the tail, the node keeps the whole file.
const MAX_LOG_BYTES: u64 = 256 * 1024;

/// Where and how this node runs tasks.
#[derive(Debug, Clone)]
pub struct WorkConfig {
    /// This node's name.
    pub node: String,
    /// Repo caches and sandboxes live here.
    pub work_dir: PathBuf,
    /// Command line of the deterministic agent (for the `sim` selector).
    pub sim_argv: Vec<String>,
    /// Time limit of each repo check.
    pub check_timeout: Duration,
    /// The line to the coordinator: Memory (context before the agent runs, check facts after)
    /// and the ownership check before a push.
    pub coordinator: crate::link::CoordinatorLink,
}

/// Why an attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The agent or git failed.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// A check could not run.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The repo's manifest is missing or wrong on the branch.
    #[error("{0}")]
    Manifest(String),
    /// The repo moved to another node or epoch while the attempt ran; it did not push.
    #[error("stepped down: {0}")]
    SteppedDown(String),
    /// A repo check failed.
    #[error("check `{name}` failed (exit {exit}) in {repo}: `{command}`\n{tail}")]
    CheckFailed {
        /// Repo.
        repo: String,
        /// Check name.
        name: String,
        /// The command.
        command: String,
        /// Exit code or `timeout`.
        exit: String,
        /// End of its log.
        tail: String,
    },
}

/// Run one attempt; never fails as a call: a failure is a result with `ok = false`.
/// Traced as `repo_agent.attempt`, a child of the span current when it is called (the request's
/// `rpc.server` span on a node).
pub async fn run_task(cfg: &WorkConfig, a: &TaskAssignment) -> TaskDone {
    run_task_with(cfg, a, None).await
}

/// [`run_task`], stepping down before the push if `tenure` shows the repo moved on meanwhile.
pub async fn run_task_with(
    cfg: &WorkConfig,
    a: &TaskAssignment,
    tenure: Option<&Tenure>,
) -> TaskDone {
    let span = tracing::info_span!(
        "repo_agent.attempt",
        run = %a.task.run_id,
        task = %a.task.task_id,
        repo = %a.task.repo,
        attempt = a.task.attempt,
        node = %cfg.node,
        ok = tracing::field::Empty,
    );
    let done = run_task_in_span(cfg, a, tenure)
        .instrument(span.clone())
        .await;
    span.record("ok", done.result.ok);
    done
}

async fn run_task_in_span(
    cfg: &WorkConfig,
    a: &TaskAssignment,
    tenure: Option<&Tenure>,
) -> TaskDone {
    panic_once(&a.task.repo);
    let mut result = TaskResult::empty(a.task.attempt, cfg.node.clone(), a.epoch, unix_ms());
    let started = Instant::now();
    let mut artifacts = Vec::new();
    match attempt(cfg, a, tenure, &mut result, &mut artifacts).await {
        Ok(()) => result.ok = true,
        Err(e) => {
            tracing::warn!(repo = %a.task.repo, task = %a.task.task_id, attempt = a.task.attempt, error = %e, "task attempt failed");
            result.error = Some(e.to_string());
        }
    }
    result.wall_ms = started.elapsed().as_millis() as u64;
    result.finished_unix_ms = unix_ms();
    TaskDone { result, artifacts }
}

async fn attempt(
    cfg: &WorkConfig,
    a: &TaskAssignment,
    tenure: Option<&Tenure>,
    result: &mut TaskResult,
    artifacts: &mut Vec<Blob>,
) -> Result<(), TaskError> {
    let task = &crate::memory_link::with_context(&cfg.coordinator, &a.task).await;
    let wt = agent::prepare(&cfg.work_dir, &a.origin, &task.run_id, &task.repo).await?;
    let prompt = agent::render(&a.skill, task)?;
    let spec = AgentSpec::from_selector(&a.agent, cfg.sim_argv.clone())?;
    let budget = Budget {
        time_limit: Duration::from_secs(a.agent_timeout_secs),
        max_cost_usd: a.agent_max_cost_usd,
    };
    let prefix = format!("{}/attempt-{}", task.repo, task.attempt);
    let t = Instant::now();
    let run = agent::run_agent(&spec, &wt, task, &prompt, budget)
        .instrument(tracing::info_span!("agent.invoke", agent = %a.agent, repo = %task.repo))
        .await;
    result.agent_ms = t.elapsed().as_millis() as u64;
    artifacts.push(Blob {
        name: format!("{prefix}/prompt.md"),
        bytes: prompt.into_bytes(),
    });
    for (name, path) in agent_logs(&wt.logs_dir()) {
        push_log(artifacts, format!("{prefix}/agent-{name}"), &path);
    }
    let run = run?;
    result.cost_usd = run.cost_usd;
    result.summary = run.report.summary.clone();
    let message = format!(
        "{}\n\nfactory run {} task {} attempt {}",
        task.title, task.run_id, task.task_id, task.attempt
    );
    if let Some(tenure) = tenure {
        // What the heartbeats said, then what the coordinator says now: grants heard before a
        // partition look current to a node that can no longer hear anything.
        let why = match tenure.lost(&task.repo, a.epoch) {
            Some(why) => Some(why),
            None => {
                let node = protocol::NodeId::new(cfg.node.clone());
                let deadline = Instant::now() + CONFIRM_WITHIN;
                let asked = cfg
                    .coordinator
                    .confirm_owner(&node, &task.repo, a.epoch, deadline);
                asked.await.err()
            }
        };
        if let Some(why) = why {
            // Our result would be refused by the fence anyway; not pushing keeps the branch to
            // the successor's work alone.
            tracing::warn!(repo = %task.repo, task = %task.task_id, attempt = task.attempt, epoch = a.epoch, reason = %why, "stepping down: result refused by epoch");
            return Err(TaskError::SteppedDown(why));
        }
    }
    // A later attempt may legitimately change nothing more; so may a re-send of an attempt whose
    // first send already pushed (the branch it continues from already differs from the base).
    let allow_no_change = task.attempt > 1 || wt.start != wt.base;
    let delivered = agent::commit_and_push(&wt, &message, allow_no_change).await?;
    result.branch = Some(delivered.branch.clone());
    result.base = Some(delivered.base.clone());
    result.head = Some(delivered.head.clone());
    result.diff = delivered.diff.clone();

    let manifest = read_manifest(&wt.path)?;
    let log_dir = wt.sandbox.join("checks");
    let checks =
        verify::repo_checks(&wt.path, &manifest.commands, &log_dir, cfg.check_timeout).await?;
    result.checks_ms = checks.iter().map(|c| c.duration_ms).sum();
    result.checks = serde_json::to_value(&checks).unwrap_or(serde_json::Value::Null);
    crate::memory_link::record_checks(&cfg.coordinator, a, &delivered.head, &checks).await;
    for c in &checks {
        push_log(
            artifacts,
            format!("{prefix}/check-{}.log", c.name),
            &c.log_path,
        );
    }
    match checks.iter().find(|c| !c.passed) {
        Some(c) => Err(check_failed(&task.repo, c)),
        None => Ok(()),
    }
}

/// The [`PANIC_ONCE_ENV`] hook.
fn panic_once(repo: &str) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static FIRED: AtomicBool = AtomicBool::new(false);
    if std::env::var(PANIC_ONCE_ENV).is_ok_and(|r| r == repo) && !FIRED.swap(true, Ordering::SeqCst)
    {
        panic!("{PANIC_ONCE_ENV}: worker panics on its first attempt on {repo}");
    }
}

/// Read `factory.toml` from a worktree, with its schemas.
pub fn read_manifest(root: &Path) -> Result<Manifest, TaskError> {
    let path = root.join("factory.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| TaskError::Manifest(format!("{}: {e}", path.display())))?;
    actors::org::parse_manifest(&text, "factory.toml", |rel| {
        let bytes = std::fs::read(root.join(rel)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => actors::org::SchemaError::Missing,
            _ => actors::org::SchemaError::Unreadable(e.to_string()),
        })?;
        actors::org::schema_from_bytes(&bytes)
    })
    .map_err(|e| TaskError::Manifest(e.to_string()))
}

fn check_failed(repo: &str, c: &CheckRecord) -> TaskError {
    TaskError::CheckFailed {
        repo: repo.to_string(),
        name: c.name.clone(),
        command: c.command.clone(),
        exit: c
            .exit_code
            .map(|e| e.to_string())
            .unwrap_or_else(|| "timeout".into()),
        tail: String::from_utf8_lossy(&read_tail(&c.log_path, 2048).unwrap_or_default())
            .into_owned(),
    }
}

fn agent_logs(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut logs: Vec<(String, PathBuf)> = entries
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(_, p)| p.is_file())
        .collect();
    logs.sort();
    logs
}

/// Ship the tail of a log file (a missing file is skipped: the error says why elsewhere).
fn push_log(artifacts: &mut Vec<Blob>, name: String, path: &Path) {
    if let Ok(bytes) = read_tail(path, MAX_LOG_BYTES) {
        artifacts.push(Blob { name, bytes });
    }
}

fn read_tail(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    if len > max {
        f.seek(SeekFrom::Start(len - max))?;
    }
    let mut buf = Vec::new();
    f.take(max).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
