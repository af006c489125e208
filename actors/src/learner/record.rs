//! The facts a run teaches, as memory writes: the run as an entity with its outcome vector and
//! replay case, contracts as observed, mismatches, failures, missing setup steps and check
//! durations — each with provenance (run, round, method).

use std::collections::BTreeMap;

use protocol::run::RunRecord;
use serde_json::{Value, json};

use super::LearnerError;
use super::observe::{Boundary, RunCase};
use crate::contracts::naming::dominant_casing;
use crate::memory::{Entity, EntityKind, Fact, Method, Provenance, Time, Write, new_fact_id};

/// Attribute of a run entity holding its replay case (JSON of [`RunCase`]).
pub const CASE_ATTR: &str = "case";

/// Everything `run` teaches, before any proposal.
pub fn run_writes(
    run: &RunRecord,
    case: &RunCase,
    agent: &str,
    now: Time,
) -> Result<Vec<Write>, LearnerError> {
    let case_json = serde_json::to_string(case).map_err(|e| LearnerError::Corrupt {
        what: "run case",
        id: run.id.clone(),
        detail: e.to_string(),
    })?;
    let errors = run
        .findings
        .iter()
        .filter(|f| f.severity == "error")
        .count();
    let outcome = json!({
        "delivered": case.delivered,
        "rounds": run.verify_rounds,
        "findings": run.findings.len(),
        "error_findings": errors,
        "checks_green": case.rounds.last().is_some_and(|r| r.passed),
        "cost_usd": run.cost_usd,
        "wall_ms": case.wall_ms,
        "checks_ms": case.checks_ms,
    });
    let entity = Entity::new(EntityKind::Run, &run.id)
        .with_attr("title", &case.title)
        .with_attr("status", &format!("{:?}", run.status).to_lowercase())
        .with_attr("delivered", &case.delivered.to_string())
        .with_attr("rounds", &run.verify_rounds.to_string())
        .with_attr("findings", &run.findings.len().to_string())
        .with_attr("cost_usd", &run.cost_usd.to_string())
        .with_attr("wall_ms", &case.wall_ms.to_string())
        .with_attr(CASE_ATTR, &case_json);
    let run_id = entity.id.clone();
    let mut w = vec![Write::PutEntity(entity)];
    let fact =
        |subject: &str, predicate: &str, object: String, step: &str, source: String, at: Time| {
            let p = Provenance {
                run: Some(run.id.clone()),
                step: Some(step.to_string()),
                agent: agent.to_string(),
                source,
                method: Method::Observed,
            };
            let mut f = Fact::new(&new_fact_id(), subject, predicate, &object, p, at);
            f.recorded_at = now;
            f.last_verified_at = now;
            Write::RecordFact(f)
        };
    w.push(fact(
        &run_id,
        "outcome",
        outcome.to_string(),
        "run",
        format!("run {}", run.id),
        now,
    ));

    for r in &case.rounds {
        let step = format!("verify round {}", r.round);
        let at = round_time(run, r.round).unwrap_or(now);
        let head = |repo: &str| r.heads.get(repo).map_or("?", String::as_str).to_string();
        for c in &r.captured {
            let mut fields = c.fields.clone();
            fields.sort();
            let source = format!(
                "{}@{}:{} (captured payload)",
                c.writer,
                head(&c.writer),
                c.contract
            );
            let contract = EntityKind::Contract.id(&c.contract);
            let pred = format!("observed.fields@{}", c.writer);
            w.push(fact(
                &contract,
                &pred,
                json!(fields).to_string(),
                &step,
                source.clone(),
                at,
            ));
            let casing = dominant_casing(c.fields.iter().map(String::as_str))
                .map_or("none".to_string(), |c| c.to_string());
            let writer = EntityKind::Repo.id(&c.writer);
            let pred = format!("casing.writes.{}", c.contract);
            w.push(fact(&writer, &pred, casing, &step, source, at));
        }
        let mut seen: BTreeMap<(Boundary, String, String), Vec<String>> = BTreeMap::new();
        for m in &r.mismatches {
            seen.entry((
                m.boundary.clone(),
                m.writer_field.clone(),
                m.reader_field.clone(),
            ))
            .or_default()
            .push(m.caught_by.clone());
        }
        let fixed = fixed_after(case, r.round);
        for ((b, wf, rf), by) in seen {
            let object = json!({
                "rule": super::observe::CASING_MISMATCH, "contract": b.contract,
                "writer": b.writer, "reader": b.reader, "writer_field": wf, "reader_field": rf,
                "round": r.round, "caught_by": by.join("+"), "fixed": fixed,
            });
            let pred = format!("mismatch.{}.{}.round-{}.{wf}", b.label(), run.id, r.round);
            let source = format!("{}@{}:{}", b.writer, head(&b.writer), b.contract);
            let contract = EntityKind::Contract.id(&b.contract);
            w.push(fact(
                &contract,
                &pred,
                object.to_string(),
                &step,
                source,
                at,
            ));
        }
        for (i, f) in r.failures.iter().enumerate() {
            let repo = f.repo.clone().unwrap_or_else(|| "unknown".into());
            let object = json!({
                "rule": f.rule, "message": f.message, "round": r.round,
                "caught_by": f.caught_by, "fixed": fixed,
            });
            let pred = format!("failure.{}.round-{}.{i}", run.id, r.round);
            let source = format!("{repo}@{}", head(&repo));
            w.push(fact(
                &EntityKind::Repo.id(&repo),
                &pred,
                object.to_string(),
                &step,
                source,
                at,
            ));
        }
        for s in &r.start_failures {
            if let Some(cmd) = &s.missing_step {
                let source = format!("{}@{} (sandbox log tail)", s.repo, head(&s.repo));
                let subject = EntityKind::Repo.id(&s.repo);
                w.push(fact(
                    &subject,
                    "setup.missing-step",
                    cmd.clone(),
                    &step,
                    source,
                    at,
                ));
            }
        }
    }
    for t in &run.tasks {
        let Some(last) = t.results.last() else {
            continue;
        };
        let step = format!("task {} attempt {}", t.id, last.attempt);
        let source = format!("{}@{}", t.repo, last.head.as_deref().unwrap_or("?"));
        let at = Time(last.finished_unix_ms);
        let subject = EntityKind::Repo.id(&t.repo);
        w.push(fact(
            &subject,
            "checks.duration_ms",
            last.checks_ms.to_string(),
            &step,
            source.clone(),
            at,
        ));
        w.push(fact(
            &subject,
            "agent.duration_ms",
            last.agent_ms.to_string(),
            &step,
            source.clone(),
            at,
        ));
        for c in last.checks.as_array().into_iter().flatten() {
            let (Some(name), Some(ms)) = (
                c.get("name").and_then(Value::as_str),
                c.get("duration_ms").and_then(Value::as_u64),
            ) else {
                continue;
            };
            let pred = format!("check.{name}.duration_ms");
            w.push(fact(
                &subject,
                &pred,
                ms.to_string(),
                &step,
                source.clone(),
                at,
            ));
        }
    }
    Ok(w)
}

/// Whether a round after `round` passed: what failed in `round` was fixed within the run.
pub fn fixed_after(case: &RunCase, round: u32) -> bool {
    case.rounds.iter().any(|r| r.round > round && r.passed)
}

/// When a round ended, from the run's events (`verify.passed` / `verify.failed`, `round N ...`).
fn round_time(run: &RunRecord, round: u32) -> Option<Time> {
    let prefix = format!("round {round}");
    run.events
        .iter()
        .find(|e| {
            e.kind.starts_with("verify.")
                && e.kind != "verify.started"
                && (e.message == prefix
                    || e.message.starts_with(&format!("{prefix} "))
                    || e.message.starts_with(&format!("{prefix}:")))
        })
        .map(|e| Time(e.at_unix_ms))
}
