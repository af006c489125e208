//! The Learner and Memory around a run: facts for the planner before it, champion skills for its
//! agents and learned gates and setup steps for the verifier during it, and learning from it
//! once it ends.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use actors::agent::{AgentSpec, Budget};
use actors::learner::{
    self, Decision, LearnerConfig, SetupReplayEnv, SkillCandidate, SkillReplayEnv,
};
use actors::memory::{MemoryStore, Time};
use actors::plan::Fact;
use protocol::run::{GateSpec, RunBudget, RunRecord, SetupStep};

use super::service::Inner;
use crate::driver::now_unix_ms;

/// Facts Memory holds about these repos and contracts, as the planner cites them.
pub(crate) async fn facts_for(
    memory: &Arc<MemoryStore>,
    repos: Vec<String>,
    contracts: Vec<String>,
) -> Vec<Fact> {
    let memory = memory.clone();
    let found = tokio::task::spawn_blocking(move || {
        let repos: Vec<&str> = repos.iter().map(String::as_str).collect();
        let contracts: Vec<&str> = contracts.iter().map(String::as_str).collect();
        memory.context_for(&repos, &contracts)
    })
    .await;
    match found {
        Ok(Ok(facts)) => facts
            .into_iter()
            .take(20)
            .map(|f| Fact {
                subject: f.subject.clone(),
                statement: format!("{} {} {}", f.subject, f.predicate, f.object),
                provenance: format!(
                    "{} via {:?} from {} (confidence {:.2})",
                    f.provenance
                        .run
                        .as_deref()
                        .map(|r| format!("run {r}"))
                        .unwrap_or_else(|| "declared".into()),
                    f.provenance.method,
                    f.provenance.source,
                    f.confidence
                ),
            })
            .collect(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "memory context unavailable");
            Vec::new()
        }
        Err(e) => {
            tracing::warn!(error = %e, "memory context task failed");
            Vec::new()
        }
    }
}

/// The champion gates and setup steps that apply to these repos.
pub(crate) async fn champions_for(
    memory: &Arc<MemoryStore>,
    repos: &[String],
) -> (Vec<GateSpec>, Vec<SetupStep>) {
    let memory = memory.clone();
    let all = tokio::task::spawn_blocking(move || learner::champions(&memory)).await;
    let (gates, steps) = match all {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "learned champions unavailable");
            return (Vec::new(), Vec::new());
        }
        Err(e) => {
            tracing::warn!(error = %e, "learned champions task failed");
            return (Vec::new(), Vec::new());
        }
    };
    let gates = gates
        .into_iter()
        .filter(|g| repos.contains(&g.writer) && repos.contains(&g.reader))
        .collect();
    let steps = steps
        .into_iter()
        .filter(|s| repos.contains(&s.repo))
        .collect();
    (gates, steps)
}

/// The prompt template for a task on `repo`: the learner's champion skill for it if a person
/// (or the evidence, when allowed) promoted one, else the configured template.
pub(crate) async fn skill_for(inner: &Inner, repo: &str) -> String {
    let (memory, name) = (inner.memory.clone(), repo.to_string());
    match tokio::task::spawn_blocking(move || learner::champion_skill(&memory, &name)).await {
        Ok(Ok(Some(template))) => template,
        Ok(Ok(None)) => inner.cfg.skill.clone(),
        Ok(Err(e)) => {
            tracing::warn!(repo, error = %e, "champion skill unavailable");
            inner.cfg.skill.clone()
        }
        Err(e) => {
            tracing::warn!(repo, error = %e, "champion skill task failed");
            inner.cfg.skill.clone()
        }
    }
}

/// Learn from a finished run: facts, proposals, replays, promotions. Returns what was learned,
/// one line each, for the bundle. Learning never fails a run: an error becomes a line.
pub(crate) async fn learn_from(inner: &Arc<Inner>, run: &RunRecord) -> Vec<String> {
    use tracing::Instrument;
    let span = tracing::info_span!("run.learn", run = %run.id);
    learn_inner(inner, run).instrument(span).await
}

async fn learn_inner(inner: &Arc<Inner>, run: &RunRecord) -> Vec<String> {
    let memory = inner.memory.clone();
    let cfg = inner.cfg.learner.clone();
    let (owned, learn_cfg) = (run.clone(), cfg.clone());
    let report = tokio::task::spawn_blocking(move || {
        learner::learn(&owned, &memory, Time(now_unix_ms()), &learn_cfg)
    })
    .await;
    let report = match report {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return vec![format!("learning failed: {e}")],
        Err(e) => return vec![format!("learning task failed: {e}")],
    };
    let mut lines = vec![format!(
        "memory: {} facts recorded, {} confirmed, {} closed",
        report.facts_recorded, report.facts_confirmed, report.facts_closed
    )];
    for g in &report.gates {
        let verdict = match &g.decision {
            Decision::Promote(why) => format!("promoted ({why})"),
            Decision::Reject(why) => format!("rejected: {why}"),
        };
        let mode = if g.blocking.is_some() {
            "blocking"
        } else {
            "shadow"
        };
        lines.push(format!(
            "gate {} ({}) {verdict}; mode {mode}",
            g.gate.slot, g.gate.rule
        ));
        if let Some(why) = &g.not_blocking {
            lines.push(format!("gate {} stays in shadow: {why}", g.gate.slot));
        }
    }
    let mut env = SetupReplayEnv::new(&inner.cfg.state_dir.join("learner-replays"));
    env.origins = origins(inner);
    for cand in &report.setup_candidates {
        match learner::evaluate_setup(&inner.memory, cand, &env, Time(now_unix_ms())).await {
            Ok(v) if v.promoted => lines.push(format!(
                "setup step `{}` for {} promoted: replayed run {} and the service started",
                cand.step.command, cand.step.repo, cand.run
            )),
            Ok(v) => lines.push(format!(
                "setup step `{}` for {} rejected: {}",
                cand.step.command, cand.step.repo, v.reason
            )),
            Err(e) => lines.push(format!(
                "setup step `{}` could not be replayed: {e}",
                cand.step.command
            )),
        }
    }
    if !report.skill_candidates.is_empty() {
        // A skill replay runs the agent twice per recorded task: with a real agent that is
        // minutes, which must not hold up this run's delivery. It goes on in the background;
        // the verdict lands in Memory (`factory learner list`) and in the service's late lessons.
        for c in &report.skill_candidates {
            lines.push(format!(
                "skill {} proposed ({}); its replay runs in the background: `factory learner list` shows the verdict",
                c.slot, c.rule
            ));
        }
        let (inner, run, report) = (inner.clone(), run.clone(), report.clone());
        let pending = inner.late.start();
        tokio::spawn(async move {
            let verdicts = replay_skills(&inner, &report.skill_candidates, &run.budget, &cfg).await;
            for l in &verdicts {
                tracing::info!(run = %run.id, "{l}");
            }
            inner.late.keep(&run.id, verdicts);
            drop(pending);
        });
    }
    for s in &report.skipped {
        lines.push(format!("skipped: {s}"));
    }
    for l in &lines {
        tracing::info!(run = %run.id, "{l}");
    }
    lines
}

/// Replay each proposed skill with the agent the tasks run, one line per verdict.
async fn replay_skills(
    inner: &Inner,
    candidates: &[SkillCandidate],
    budget: &RunBudget,
    cfg: &LearnerConfig,
) -> Vec<String> {
    if candidates.is_empty() {
        return Vec::new();
    }
    let agent = match AgentSpec::from_selector(&inner.cfg.agent, inner.cfg.sim_argv.clone()) {
        Ok(a) => a,
        Err(e) => return vec![format!("skills could not be replayed: {e}")],
    };
    let mut env = SkillReplayEnv::new(&inner.cfg.state_dir.join("learner-replays"), agent);
    env.origins = origins(inner);
    env.budget = Budget {
        time_limit: std::time::Duration::from_secs(budget.agent_timeout_secs),
        max_cost_usd: budget.agent_max_cost_usd,
    };
    let mut lines = Vec::new();
    for cand in candidates {
        let line = match learner::evaluate_skill(
            &inner.memory,
            cand,
            &env,
            cfg,
            Time(now_unix_ms()),
        )
        .await
        {
            Ok(v) if v.promoted => {
                format!("skill {} accepted and promoted: {}", cand.slot, v.reason)
            }
            Ok(v) if v.accepted => format!(
                "skill {} accepted: {}; promote it with `factory learner promote {}`",
                cand.slot, v.reason, cand.slot
            ),
            Ok(v) => format!("skill {} rejected: {}", cand.slot, v.reason),
            Err(e) => format!("skill {} could not be replayed: {e}", cand.slot),
        };
        lines.push(line);
    }
    lines
}

/// Each repo's origin, where replays check out the code they judge.
fn origins(inner: &Inner) -> std::collections::BTreeMap<String, String> {
    inner
        .cfg
        .org
        .repos
        .iter()
        .map(|r| (r.name.clone(), r.origin.clone()))
        .collect()
}

/// Replay, in the background, the skill proposals a stopped coordinator left without a verdict.
pub(crate) fn resume_skill_replays(inner: &Arc<Inner>) {
    let memory = inner.memory.clone();
    let inner = inner.clone();
    let pending = inner.late.start();
    tokio::spawn(async move {
        let found = tokio::task::spawn_blocking(move || learner::unjudged(&memory)).await;
        let candidates = match found {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "skill proposals without a verdict could not be read");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading skill proposals failed");
                return;
            }
        };
        if candidates.is_empty() {
            return;
        }
        tracing::info!(
            count = candidates.len(),
            "replaying skill proposals left without a verdict"
        );
        let cfg = inner.cfg.learner.clone();
        let budget = RunBudget::default();
        for cand in candidates {
            let lines = replay_skills(&inner, std::slice::from_ref(&cand), &budget, &cfg).await;
            for l in &lines {
                tracing::info!(run = %cand.run, "{l}");
            }
            inner.late.keep(&cand.run, lines);
        }
        drop(pending);
    });
}

/// Learning that goes on after its run was delivered (skill replays), and what it concluded.
pub(crate) struct LateLearning {
    running: Arc<watch::Sender<usize>>,
    /// (run, line), oldest first, at most [`LATE_LINES`].
    lines: Mutex<VecDeque<(String, String)>>,
}

/// Late lessons kept for readers (the demo prints its run's); older ones are in Memory.
const LATE_LINES: usize = 1000;

/// One piece of late learning under way; ends when dropped, even by a panic.
pub(crate) struct Pending(Arc<watch::Sender<usize>>);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl LateLearning {
    pub(crate) fn new() -> Self {
        LateLearning {
            running: Arc::new(watch::Sender::new(0)),
            lines: Mutex::new(VecDeque::new()),
        }
    }

    /// Count one more piece of work under way.
    pub(crate) fn start(&self) -> Pending {
        self.running.send_modify(|n| *n += 1);
        Pending(self.running.clone())
    }

    /// Keep what late learning concluded about `run`.
    pub(crate) fn keep(&self, run: &str, lines: Vec<String>) {
        let mut kept = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        kept.extend(lines.into_iter().map(|l| (run.to_owned(), l)));
        while kept.len() > LATE_LINES {
            kept.pop_front();
        }
    }

    /// Wait until no late learning is under way.
    pub(crate) async fn settled(&self) {
        let mut rx = self.running.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }

    /// What late learning concluded about `run` so far.
    pub(crate) fn lessons(&self, run: &str) -> Vec<String> {
        let kept = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter()
            .filter(|(r, _)| r == run)
            .map(|(_, l)| l.clone())
            .collect()
    }
}
