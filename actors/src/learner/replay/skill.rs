//! Replaying a skill for real: every recorded first attempt of a task on the skill's repo runs
//! again, from the commit it started at, once with the parent template and once with the
//! candidate, through the configured agent and the agent runner; [`super::judge`] judges each.
//!
//! Verdict: rejected when a case that passed under the parent fails under the candidate (the
//! record names the case and why), when it improves no case, or when it does not render (then
//! every case counts as regressed); accepted otherwise. An accepted skill becomes champion only
//! with [`LearnerConfig::auto_promote_skills`]; by default a person promotes it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::super::skills::SkillCandidate;
use super::super::{LearnerConfig, LearnerError, load_corpus};
use super::judge::{Judgement, judge};
use super::setup::{blocking, git, read_manifest, short};
use crate::agent::{AgentSpec, Budget, Worktree, render, run_agent};
use crate::memory::{EntityKind, Evaluation, MemoryStore, Promotion, PromotionKind, Time, Write};
use crate::outcome::TaskSpec;

/// Most recorded tasks one skill replay runs (the newest): each costs two agent runs and two
/// test runs, and the corpus only grows.
pub const MAX_CASES: usize = 8;

/// Where and how skill replays run.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillReplayEnv {
    /// Origin of each repo (path or URL); a repo missing here is looked up in memory.
    pub origins: BTreeMap<String, String>,
    /// Folder the throwaway checkouts are made in (one temporary folder per replay, removed
    /// afterwards).
    pub work_dir: PathBuf,
    /// The agent that runs each case: the one the factory's tasks run.
    pub agent: AgentSpec,
    /// What one agent run may take and spend.
    pub budget: Budget,
    /// Time each of the repo's commands may take.
    pub check_timeout: Duration,
}

impl SkillReplayEnv {
    /// No origins given, 10 minutes and $1 per agent run, 5 minutes per command.
    pub fn new(work_dir: &Path, agent: AgentSpec) -> Self {
        SkillReplayEnv {
            origins: BTreeMap::new(),
            work_dir: work_dir.to_path_buf(),
            agent,
            budget: Budget {
                time_limit: Duration::from_secs(600),
                max_cost_usd: 1.0,
            },
            check_timeout: Duration::from_secs(300),
        }
    }
}

/// One replayed task under both templates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillCase {
    /// `<run>/<task>`.
    pub case: String,
    /// Under the parent template.
    pub parent: Judgement,
    /// Under the candidate.
    pub candidate: Judgement,
}

/// What a skill replay showed and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillVerdict {
    /// The candidate replayed.
    pub candidate: SkillCandidate,
    /// The evaluator accepted it.
    pub accepted: bool,
    /// Why, naming the cases.
    pub reason: String,
    /// Every replayed case.
    pub cases: Vec<SkillCase>,
    /// The champion pointer moved to it.
    pub promoted: bool,
}

/// Replay a skill candidate over the recorded tasks on its repo (the newest [`MAX_CASES`]) and record the verdict (and,
/// with `cfg.auto_promote_skills` and an accepted verdict, the champion move) in one memory
/// transaction. Run it on a tokio runtime; the store's blocking calls go to the blocking pool.
pub async fn evaluate_skill(
    store: &MemoryStore,
    cand: &SkillCandidate,
    env: &SkillReplayEnv,
    cfg: &LearnerConfig,
    now: Time,
) -> Result<SkillVerdict, LearnerError> {
    let started = Instant::now();
    let s = store.clone();
    let corpus = tokio::task::spawn_blocking(move || load_corpus(&s))
        .await
        .map_err(|e| LearnerError::Replay(format!("store task: {e}")))??;
    let tasks: Vec<(TaskSpec, String)> = corpus
        .iter()
        .flat_map(|c| c.tasks.iter().map(move |t| (c, t)))
        .filter(|(_, t)| t.repo == cand.repo)
        .filter_map(|(c, t)| {
            let spec = TaskSpec {
                run_id: c.run.clone(),
                task_id: t.id.clone(),
                repo: t.repo.clone(),
                role: t.role,
                title: c.title.clone(),
                instructions: t.instructions.clone(),
                changes: t.changes.clone(),
                attempt: 1,
                findings: Vec::new(),
                context: t.context.clone(),
            };
            Some((spec, t.base.clone()?))
        })
        .collect();
    // Run ids are time-ordered (UUIDv7), and the corpus comes in id order: keep the newest.
    let tasks = &tasks[tasks.len().saturating_sub(MAX_CASES)..];
    let origin = origin_of(store, env, &cand.repo).await?;
    let mut cases = Vec::new();
    for (task, base) in tasks {
        let parent = replay_one(&cand.parent_template, task, base, origin.as_deref(), env).await?;
        let candidate = replay_one(&cand.template, task, base, origin.as_deref(), env).await?;
        cases.push(SkillCase {
            case: format!("{}/{}", task.run_id, task.task_id),
            parent,
            candidate,
        });
    }
    let (accepted, reason) = decide(&cases, &cand.repo);
    let promoted = accepted && cfg.auto_promote_skills;
    let wall_ms = started.elapsed().as_millis() as u64;
    let mut writes: Vec<Write> = cases
        .iter()
        .map(|c| {
            Write::RecordEvaluation(Evaluation {
                artifact: cand.id.clone(),
                case: c.case.clone(),
                at: now,
                delivered: c.candidate.passed,
                checks_green: c.candidate.passed,
                violation_escaped: false,
                rollback_needed: false,
                human_edits: 0,
                cost_micros: 0,
                wall_ms,
                note: format!("parent: {}; candidate: {}", c.parent.why, c.candidate.why),
            })
        })
        .collect();
    writes.push(Write::RecordEvaluation(Evaluation {
        artifact: cand.id.clone(),
        case: "decision".into(),
        at: now,
        delivered: accepted,
        checks_green: accepted,
        violation_escaped: false,
        rollback_needed: false,
        human_edits: 0,
        cost_micros: 0,
        wall_ms,
        note: format!("{}: {reason}", if accepted { "accept" } else { "reject" }),
    }));
    if promoted {
        writes.push(Write::MoveChampion(Promotion {
            seq: 0,
            slot: cand.slot.clone(),
            from: cand.champion.clone(),
            to: cand.id.clone(),
            kind: PromotionKind::Promote,
            at: now,
            reason: format!("{}: replay: {reason}", cfg.agent),
        }));
    }
    let s = store.clone();
    blocking(move || s.apply(writes)).await?;
    Ok(SkillVerdict {
        candidate: cand.clone(),
        accepted,
        reason,
        cases,
        promoted,
    })
}

/// The verdict over replayed cases: no regression and at least one improvement.
pub fn decide(cases: &[SkillCase], repo: &str) -> (bool, String) {
    if cases.is_empty() {
        return (false, format!("no recorded task on {repo} to replay"));
    }
    if let Some(c) = cases
        .iter()
        .find(|c| c.parent.passed && !c.candidate.passed)
    {
        return (
            false,
            format!(
                "regresses {}: it passed under the parent, and under the candidate {}",
                c.case, c.candidate.why
            ),
        );
    }
    let fixed: Vec<&SkillCase> = cases
        .iter()
        .filter(|c| !c.parent.passed && c.candidate.passed)
        .collect();
    if fixed.is_empty() {
        return (
            false,
            format!("improves none of {} replayed cases", cases.len()),
        );
    }
    let named: Vec<String> = fixed
        .iter()
        .map(|c| format!("{} (parent: {})", c.case, c.parent.why))
        .collect();
    (
        true,
        format!(
            "fixes {} of {} replayed cases and regresses none: {}",
            fixed.len(),
            cases.len(),
            named.join("; ")
        ),
    )
}

async fn origin_of(
    store: &MemoryStore,
    env: &SkillReplayEnv,
    repo: &str,
) -> Result<Option<String>, LearnerError> {
    if let Some(o) = env.origins.get(repo) {
        return Ok(Some(o.clone()));
    }
    let s = store.clone();
    let id = EntityKind::Repo.id(repo);
    Ok(blocking(move || s.entity(&id))
        .await?
        .and_then(|e| e.attrs.get("origin").cloned()))
}

/// One task under one template: render, check out `base`, run the agent, judge. Anything that
/// goes wrong with the candidate's own doing (it does not render, the agent fails) is a failed
/// judgement; only the replay's own machinery failing is an error.
async fn replay_one(
    template: &str,
    task: &TaskSpec,
    base: &str,
    origin: Option<&str>,
    env: &SkillReplayEnv,
) -> Result<Judgement, LearnerError> {
    let prompt = match render(template, task) {
        Ok(p) => p,
        Err(e) => {
            return Ok(Judgement::fail(format!(
                "the template does not render: {e}"
            )));
        }
    };
    let Some(origin) = origin else {
        return Ok(Judgement::fail(format!(
            "no origin known for {}",
            task.repo
        )));
    };
    std::fs::create_dir_all(&env.work_dir)
        .map_err(|e| LearnerError::Replay(format!("{}: {e}", env.work_dir.display())))?;
    let tmp = tempfile::Builder::new()
        .prefix("skill-replay-")
        .tempdir_in(&env.work_dir)
        .map_err(|e| LearnerError::Replay(format!("temp dir: {e}")))?;
    let root = std::fs::canonicalize(tmp.path())
        .map_err(|e| LearnerError::Replay(format!("temp dir: {e}")))?;
    let judged = replay_at(&root, &prompt, task, base, origin, env).await;
    // Removing a checkout is blocking file work; keep it off the async threads.
    let _ = tokio::task::spawn_blocking(move || drop(tmp)).await;
    judged
}

/// The replay of one task with its rendered `prompt`, in the scratch folder `root`.
async fn replay_at(
    root: &Path,
    prompt: &str,
    task: &TaskSpec,
    base: &str,
    origin: &str,
    env: &SkillReplayEnv,
) -> Result<Judgement, LearnerError> {
    let wt = match checkout(root, origin, task, base).await {
        Ok(wt) => wt,
        Err(why) => return Ok(Judgement::fail(why)),
    };
    // The commands judged are the commit's own, read before the agent can touch them.
    let manifest = match read_manifest(&wt.path) {
        Ok(m) => m,
        Err(e) => return Ok(Judgement::fail(e)),
    };
    if let Err(e) = run_agent(&env.agent, &wt, task, prompt, env.budget).await {
        return Ok(Judgement::fail(format!("the agent failed: {e}")));
    }
    judge(
        &wt.path,
        &manifest,
        &task.changes,
        &root.join("checks"),
        env.check_timeout,
    )
    .await
}

/// A plain clone at `base`, laid out as the agent runner expects a task sandbox: the checkout,
/// the agent's folder and logs inside `root`, and an empty folder standing for the repo cache
/// (so the runner's check for writes outside the worktree still has something to watch).
async fn checkout(
    root: &Path,
    origin: &str,
    task: &TaskSpec,
    base: &str,
) -> Result<Worktree, String> {
    let sandbox = root.join("sandbox");
    let path = sandbox.join("worktree");
    let cache = root.join("cache");
    for dir in [&sandbox, &cache] {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let target = path.display().to_string();
    git(
        None,
        &["clone", "--quiet", "--no-checkout", origin, &target],
    )
    .await
    .map_err(|e| format!("clone of {origin} failed: {e}"))?;
    git(
        Some(&path),
        &[
            "-c",
            "advice.detachedHead=false",
            "checkout",
            "--quiet",
            base,
        ],
    )
    .await
    .map_err(|e| format!("checkout of {} failed: {e}", short(base)))?;
    Ok(Worktree {
        repo: task.repo.clone(),
        run_id: task.run_id.clone(),
        origin: origin.to_string(),
        branch: format!("replay/{}", task.run_id),
        admin_dir: cache.join("none"),
        path,
        sandbox,
        cache,
        base: base.to_string(),
        start: base.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(name: &str, parent: bool, candidate: bool) -> SkillCase {
        let j = |passed: bool| Judgement {
            passed,
            why: if passed { "ok".into() } else { "bad".into() },
        };
        SkillCase {
            case: name.into(),
            parent: j(parent),
            candidate: j(candidate),
        }
    }

    fn check(cases: &[SkillCase], accepted: bool, reason_has: &str) {
        let (a, why) = decide(cases, "backend");
        assert_eq!(a, accepted, "{why}");
        assert!(why.contains(reason_has), "{why}");
    }

    #[test]
    fn a_skill_must_fix_something_and_regress_nothing() {
        check(&[], false, "no recorded task");
        check(&[case("r1/t", false, true)], true, "fixes 1 of 1");
        check(
            &[case("r1/t", false, true), case("r2/t", true, true)],
            true,
            "fixes 1 of 2",
        );
        check(
            &[case("r1/t", false, true), case("r2/t", true, false)],
            false,
            "regresses r2/t",
        );
        check(&[case("r1/t", true, true)], false, "improves none");
        check(&[case("r1/t", false, false)], false, "improves none");
    }
}
