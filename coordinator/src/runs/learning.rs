//! The Learner and Memory around a run: facts for the planner before it, learned gates and setup
//! steps for the verifier during it, and learning from it once it ends.

use std::sync::Arc;

use actors::learner::{self, Decision, LearnerConfig, SetupReplayEnv};
use actors::memory::{MemoryStore, Time};
use actors::plan::Fact;
use protocol::run::{GateSpec, RunRecord, SetupStep};

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

/// Learn from a finished run: facts, proposals, replays, promotions. Returns what was learned,
/// one line each, for the bundle. Learning never fails a run: an error becomes a line.
pub(crate) async fn learn_from(inner: &Inner, run: &RunRecord) -> Vec<String> {
    use tracing::Instrument;
    let span = tracing::info_span!("run.learn", run = %run.id);
    learn_inner(inner, run).instrument(span).await
}

async fn learn_inner(inner: &Inner, run: &RunRecord) -> Vec<String> {
    let memory = inner.memory.clone();
    let cfg = LearnerConfig::default();
    let owned = run.clone();
    let report = tokio::task::spawn_blocking(move || {
        learner::learn(&owned, &memory, Time(now_unix_ms()), &cfg)
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
    env.origins = inner
        .cfg
        .org
        .repos
        .iter()
        .map(|r| (r.name.clone(), r.origin.clone()))
        .collect();
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
    for s in &report.skipped {
        lines.push(format!("skipped: {s}"));
    }
    for l in &lines {
        tracing::info!(run = %run.id, "{l}");
    }
    lines
}
