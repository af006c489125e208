//! Replaying a setup step for real: a fresh clone of the repo's origin at the commit that failed,
//! the learned step, the repo's own setup, then its start command with `PORT` and a poll of its
//! health path. The step is promoted if the service comes up, rejected (with why) otherwise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::super::LearnerError;
use super::super::setup::SetupCandidate;
use crate::memory::{EntityKind, Evaluation, MemoryStore, Promotion, PromotionKind, Time, Write};
use crate::org::{Manifest, SchemaError, parse_manifest, schema_from_bytes};
use crate::verify::{CheckSpec, HEALTH_TIMEOUT, Sandbox, ServiceSpec, run_check};

/// Where and how setup replays run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupReplayEnv {
    /// Origin of each repo (path or URL). A repo missing here is looked up in memory (the
    /// `origin` attribute of its repo entity, as seeding from the org sets it).
    pub origins: BTreeMap<String, String>,
    /// Folder the throwaway checkouts are made in (each in its own temporary folder, removed
    /// afterwards).
    pub work_dir: PathBuf,
    /// Time each command (the step, the repo's setup) may take.
    pub check_timeout: Duration,
    /// Time the service may take to answer on its health path.
    pub health_timeout: Duration,
}

impl SetupReplayEnv {
    /// Defaults: no origins given, 5 minutes per command, the sandbox's health time-out.
    pub fn new(work_dir: &Path) -> Self {
        SetupReplayEnv {
            origins: BTreeMap::new(),
            work_dir: work_dir.to_path_buf(),
            check_timeout: Duration::from_secs(300),
            health_timeout: HEALTH_TIMEOUT,
        }
    }
}

/// What a setup replay showed and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupVerdict {
    /// The candidate replayed.
    pub candidate: SetupCandidate,
    /// The service came up healthy after the step.
    pub started: bool,
    /// Why it was promoted or rejected.
    pub reason: String,
    /// The champion pointer moved to the step.
    pub promoted: bool,
}

/// Replay a setup candidate and promote it if the service starts. The evaluation (and the
/// champion move, when promoted) is one memory transaction. Run it on a tokio runtime; the
/// store's blocking calls go to the blocking pool.
pub async fn evaluate_setup(
    store: &MemoryStore,
    cand: &SetupCandidate,
    env: &SetupReplayEnv,
    now: Time,
) -> Result<SetupVerdict, LearnerError> {
    let started_at = std::time::Instant::now();
    let repo = cand.step.repo.clone();
    let origin = match env.origins.get(&repo) {
        Some(o) => Some(o.clone()),
        None => {
            let s = store.clone();
            let id = EntityKind::Repo.id(&repo);
            blocking(move || s.entity(&id))
                .await?
                .and_then(|e| e.attrs.get("origin").cloned())
        }
    };
    let outcome = match origin {
        None => Err(format!("no origin known for {repo}")),
        Some(origin) => start_with_step(cand, &origin, env).await?,
    };
    let (started, reason) = match outcome {
        Ok(()) => (
            true,
            format!(
                "{repo} at {} started healthy after `{}`",
                short(&cand.head),
                cand.step.command
            ),
        ),
        Err(why) => (false, why),
    };
    let mut writes = vec![Write::RecordEvaluation(Evaluation {
        artifact: cand.step.id.clone(),
        case: format!("{}#round-{}", cand.run, cand.round),
        at: now,
        delivered: started,
        checks_green: started,
        violation_escaped: false,
        rollback_needed: false,
        human_edits: 0,
        cost_micros: 0,
        wall_ms: started_at.elapsed().as_millis() as u64,
        note: format!("{}: {reason}", if started { "promote" } else { "reject" }),
    })];
    if started {
        writes.push(Write::MoveChampion(Promotion {
            seq: 0,
            slot: cand.slot.clone(),
            from: cand.parent.clone(),
            to: cand.step.id.clone(),
            kind: PromotionKind::Promote,
            at: now,
            reason: format!("replay: {reason}"),
        }));
    }
    let s = store.clone();
    blocking(move || s.apply(writes)).await?;
    Ok(SetupVerdict {
        candidate: cand.clone(),
        started,
        reason,
        promoted: started,
    })
}

/// Clone, check out, run the step and the repo's setup, start the service. The outer error is
/// the replay failing to run at all; the inner one is the step failing its test.
async fn start_with_step(
    cand: &SetupCandidate,
    origin: &str,
    env: &SetupReplayEnv,
) -> Result<Result<(), String>, LearnerError> {
    std::fs::create_dir_all(&env.work_dir)
        .map_err(|e| LearnerError::Replay(format!("{}: {e}", env.work_dir.display())))?;
    let tmp = tempfile::Builder::new()
        .prefix("setup-replay-")
        .tempdir_in(&env.work_dir)
        .map_err(|e| LearnerError::Replay(format!("temp dir: {e}")))?;
    let checkout = tmp.path().join("repo");
    let target = checkout.display().to_string();
    if let Err(e) = git(
        None,
        &["clone", "--quiet", "--no-checkout", origin, &target],
    )
    .await
    {
        return Ok(Err(format!("clone of {origin} failed: {e}")));
    }
    let checked_out = git(
        Some(&checkout),
        &[
            "-c",
            "advice.detachedHead=false",
            "checkout",
            "--quiet",
            &cand.head,
        ],
    )
    .await;
    if let Err(e) = checked_out {
        return Ok(Err(format!(
            "checkout of {} failed: {e}",
            short(&cand.head)
        )));
    }
    let manifest = match read_manifest(&checkout) {
        Ok(m) => m,
        Err(e) => return Ok(Err(e)),
    };
    let Some(start) = manifest
        .commands
        .start
        .clone()
        .filter(|s| !s.trim().is_empty())
    else {
        return Ok(Err(format!("{} has no start command", cand.step.repo)));
    };
    let logs = tmp.path().join("logs");
    let mut steps = vec![("learned-setup", cand.step.command.clone())];
    if let Some(own) = manifest
        .commands
        .setup
        .clone()
        .filter(|s| !s.trim().is_empty())
    {
        steps.push(("setup", own));
    }
    for (name, command) in steps {
        let spec = CheckSpec {
            name: name.into(),
            command: command.clone(),
            cwd: checkout.clone(),
            env: BTreeMap::new(),
            timeout: env.check_timeout,
        };
        let record = run_check(&spec, &logs)
            .await
            .map_err(|e| LearnerError::Replay(e.to_string()))?;
        if !record.passed {
            let tail = log_tail(&record.log_path);
            return Ok(Err(format!("`{command}` failed: {tail}")));
        }
    }
    let service = ServiceSpec {
        name: cand.step.repo.clone(),
        cwd: checkout.clone(),
        command: start,
        health_path: manifest.commands.health.clone(),
        env: BTreeMap::new(),
    };
    match Sandbox::start_within(
        vec![service],
        &tmp.path().join("sandbox"),
        env.health_timeout,
    )
    .await
    {
        Ok(sandbox) => {
            sandbox.stop().await;
            Ok(Ok(()))
        }
        Err(e) => Ok(Err(format!("{} did not start: {e}", cand.step.repo))),
    }
}

/// The last 400 characters of a check's log (empty when unreadable).
pub(super) fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let tail: Vec<char> = text.chars().rev().take(400).collect();
    tail.into_iter().rev().collect()
}

/// The manifest of a checkout, schemas loaded; the error in words.
pub(super) fn read_manifest(root: &Path) -> Result<Manifest, String> {
    let path = root.join("factory.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("factory.toml: {e}"))?;
    parse_manifest(&text, "factory.toml", |rel| {
        let bytes = std::fs::read(root.join(rel)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SchemaError::Missing,
            _ => SchemaError::Unreadable(e.to_string()),
        })?;
        schema_from_bytes(&bytes)
    })
    .map_err(|e| e.to_string())
}

/// Run git; the error is its stderr.
pub(super) async fn git(cwd: Option<&Path>, args: &[&str]) -> Result<(), String> {
    let mut cmd = tokio::process::Command::new("git");
    if let Some(c) = cwd {
        cmd.current_dir(c);
    }
    let run = cmd
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .kill_on_drop(true)
        .output();
    // An unreachable origin must not hold the learner (and the run's bundle) forever; the
    // dropped child is killed.
    let out = tokio::time::timeout(GIT_TIMEOUT, run)
        .await
        .map_err(|_| {
            format!(
                "git {} gave no answer within {GIT_TIMEOUT:?}",
                args.join(" ")
            )
        })?
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// How long one git command of a replay may take.
const GIT_TIMEOUT: Duration = Duration::from_secs(120);

/// Run a blocking store call on the blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::memory::MemoryError> + Send + 'static,
) -> Result<T, LearnerError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| LearnerError::Replay(format!("store task: {e}")))?
        .map_err(LearnerError::from)
}

/// A commit id cut to 12 characters, for messages.
pub(super) fn short(head: &str) -> &str {
    head.get(..12).unwrap_or(head)
}
