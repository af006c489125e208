//! What a task takes from and gives to the coordinator's Memory (the `memory` target): what is
//! known about a repo before its agent runs, and what the node observed after its checks.
//!
//! Memory is advice, not a step: when it cannot be reached the task goes on without it and the
//! node logs why. A record is sent under the shard epoch of the attempt, so the coordinator drops
//! what a node says about a repo it no longer owns.

use actors::verify::CheckRecord;
use protocol::memory::{FactView, MemoryRecord, ObservedFact};
use protocol::outcome::TaskSpec;
use protocol::run::TaskAssignment;

use crate::link::CoordinatorLink;

/// A fact as one line of a prompt's context: the statement, then where it came from.
pub fn context_line(f: &FactView) -> String {
    let run = f
        .run
        .as_deref()
        .map(|r| format!("run {r}, "))
        .unwrap_or_default();
    format!(
        "{} {} {} ({}{} by {} from {}, confidence {:.2})",
        f.subject, f.predicate, f.object, run, f.method, f.agent, f.source, f.confidence
    )
}

/// The task with what Memory knows now about its repo and contracts added to its context: facts
/// recorded since the plan was made (by earlier tasks of this run, or other nodes) reach the
/// agent. Facts the plan already cited are not repeated.
pub async fn with_context(link: &CoordinatorLink, task: &TaskSpec) -> TaskSpec {
    let contracts = task
        .changes
        .iter()
        .map(|c| c.contract().to_owned())
        .collect();
    let mut task = task.clone();
    match link.context(&task.repo, contracts).await {
        Ok(facts) => {
            for f in &facts {
                let statement = format!("{} {} {}", f.subject, f.predicate, f.object);
                if !task.context.iter().any(|c| c.starts_with(&statement)) {
                    task.context.push(context_line(f));
                }
            }
        }
        Err(e) => {
            tracing::warn!(repo = %task.repo, error = %e, "memory context unavailable; the task goes on without it")
        }
    }
    task
}

/// Record what the repo's own checks showed at `commit`: whether each passes and how long it
/// takes (in coarse buckets, so a stable repo confirms its facts rather than churning them).
pub async fn record_checks(
    link: &CoordinatorLink,
    a: &TaskAssignment,
    commit: &str,
    checks: &[CheckRecord],
) {
    let subject = format!("repo:{}", a.task.repo);
    let mut facts = Vec::new();
    for c in checks {
        let status = if c.passed { "passes" } else { "fails" };
        for (what, value) in [
            ("status", status),
            ("duration", duration_bucket(c.duration_ms)),
        ] {
            facts.push(ObservedFact {
                subject: subject.clone(),
                predicate: format!("check.{}.{what}", c.name),
                object: value.to_owned(),
                path: "factory.toml".to_owned(),
            });
        }
    }
    let record = MemoryRecord {
        repo: a.task.repo.clone(),
        run_id: a.task.run_id.clone(),
        step: format!("{} attempt {}", a.task.task_id, a.task.attempt),
        commit: commit.to_owned(),
        facts,
    };
    match link.record(a.epoch, record).await {
        Ok(s) => tracing::info!(repo = %a.task.repo, epoch = a.epoch, recorded = s.recorded,
            confirmed = s.confirmed, closed = s.closed, "check facts recorded in memory"),
        Err(e) => {
            tracing::warn!(repo = %a.task.repo, epoch = a.epoch, error = %e, "memory record refused")
        }
    }
}

/// A check's duration as a coarse class.
pub fn duration_bucket(ms: u64) -> &'static str {
    match ms {
        0..1_000 => "under 1 s",
        1_000..10_000 => "1-10 s",
        10_000..60_000 => "10-60 s",
        _ => "over 60 s",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_fall_in_coarse_classes() {
        for (ms, want) in [
            (0, "under 1 s"),
            (999, "under 1 s"),
            (1_000, "1-10 s"),
            (59_999, "10-60 s"),
            (600_000, "over 60 s"),
        ] {
            assert_eq!(duration_bucket(ms), want, "{ms} ms");
        }
    }

    #[test]
    fn a_fact_line_starts_with_its_statement_and_names_its_source() {
        let f = FactView {
            id: "fact:1".into(),
            subject: "repo:backend".into(),
            predicate: "check.test.status".into(),
            object: "passes".into(),
            confidence: 0.8,
            run: Some("r1".into()),
            agent: "node-2".into(),
            source: "backend@abc:factory.toml".into(),
            method: "observed".into(),
            recorded_at_ms: 1,
            last_verified_ms: 1,
        };
        assert_eq!(
            context_line(&f),
            "repo:backend check.test.status passes (run r1, observed by node-2 from \
             backend@abc:factory.toml, confidence 0.80)"
        );
    }

    #[tokio::test]
    async fn an_unjoined_link_leaves_the_task_as_it_was() {
        let task: TaskSpec = serde_json::from_value(serde_json::json!({
            "run_id": "r", "task_id": "backend:expand", "repo": "backend", "role": "writer",
            "title": "t", "instructions": "i", "changes": [], "attempt": 1, "findings": [],
            "context": ["known"]
        }))
        .unwrap();
        let got = with_context(&CoordinatorLink::default(), &task).await;
        assert_eq!(got, task);
    }
}
