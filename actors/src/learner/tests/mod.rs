//! Learner tests on runs built to mirror the demo: backend adds `created_at` (round 1 passes:
//! nobody reads it yet), frontend and worker start reading `createdAt` (round 2 fails with a
//! casing mismatch on backend->frontend (orders.v1) and backend->worker (order-events.v1)),
//! backend renames it (round 3 passes).

mod gates_flow;
mod setup_flow;

use protocol::outcome::Outcome;
use protocol::run::{RunBudget, RunEvent, RunFinding, RunRecord, RunStatus};
use serde_json::{Value, json};

use crate::memory::{MemoryStore, Time};

pub(super) const RUN: &str = "run-demo";

/// A finished run with these verification reports and findings.
pub(super) fn run(
    id: &str,
    reports: Vec<Value>,
    findings: Vec<RunFinding>,
    delivered: bool,
) -> RunRecord {
    let outcome = Outcome {
        title: "expose the order creation time".into(),
        description: String::new(),
        changes: vec![],
    };
    let mut r = RunRecord::new(id.into(), outcome, RunBudget::default(), 1_000);
    r.plan = Some(json!({"flows": [
        {"flow": {"contract": "order-events.v1", "writer": "backend", "reader": "worker"}},
        {"flow": {"contract": "orders.v1", "writer": "backend", "reader": "frontend"}},
    ]}));
    r.verify_rounds = reports.len() as u32;
    for (i, rep) in reports.iter().enumerate() {
        r.events.push(RunEvent {
            at_unix_ms: 2_000 + 1_000 * i as u64,
            kind: "verify.passed".into(),
            message: format!("round {} passed", i + 1),
        });
        let _ = rep;
    }
    r.verifications = reports;
    r.findings = findings;
    r.status = if delivered {
        RunStatus::Delivered
    } else {
        RunStatus::Failed
    };
    r.finished_unix_ms = Some(9_000);
    r.cost_usd = 0.0126;
    r
}

/// A round's report: heads of backend, frontend and worker, and the samples captured.
pub(super) fn report(round: u32, heads: [&str; 3], samples: &[(&str, Value)]) -> Value {
    let names = ["backend", "frontend", "worker"];
    json!({
        "round": round,
        "repos": names.iter().zip(heads).map(|(n, h)| json!({"name": n, "branch": null, "head": h})).collect::<Vec<_>>(),
        "setup": [{"repo": "backend", "passed": true}],
        "static": {"flows_checked": 2, "findings": 0},
        "dynamic": {"captured": samples.iter().map(|(c, s)| json!({"contract": c, "writer": "backend", "payloads": 1, "sample": s})).collect::<Vec<_>>()},
    })
}

pub(super) fn orders(created: &str) -> (&'static str, Value) {
    let mut v = json!({"id": 1001, "customer": "Ada", "total": 42.5, "status": "new", "items": [{"sku": "B-1", "qty": 1}]});
    v[created] = json!("2026-01-01T00:00:00Z");
    ("orders.v1", v)
}

pub(super) fn events(created: &str) -> (&'static str, Value) {
    let mut v = json!({"type": "order.created", "orderId": 1003, "customer": "Ada", "total": 42.5});
    v[created] = json!("2026-01-01T00:00:00Z");
    ("order-events.v1", v)
}

pub(super) fn finding(
    round: u32,
    caught_by: &str,
    rule: &str,
    message: &str,
    fix_repo: &str,
) -> RunFinding {
    RunFinding {
        round,
        caught_by: caught_by.into(),
        severity: "error".into(),
        note: protocol::outcome::FindingNote {
            rule: rule.into(),
            message: message.into(),
            fix_repo: Some(fix_repo.into()),
            fix: None,
        },
    }
}

/// The demo's run: three rounds, two casing mismatches (static and dynamic) in round 2.
pub(super) fn demo_run(id: &str) -> RunRecord {
    let reports = vec![
        report(
            1,
            ["b1", "f0", "w0"],
            &[orders("created_at"), events("created_at")],
        ),
        report(
            2,
            ["b1", "f1", "w1"],
            &[orders("created_at"), events("created_at")],
        ),
        report(
            3,
            ["b2", "f1", "w1"],
            &[orders("createdAt"), events("createdAt")],
        ),
    ];
    let mut findings = Vec::new();
    for reader in ["frontend", "worker"] {
        findings.push(finding(2, "static", "NAMING/casing-mismatch",
            &format!("{reader} reads `createdAt` but backend sends `created_at`: same name, different casing"), "backend"));
        findings.push(finding(2, "dynamic", "NAMING/casing-mismatch",
            &format!("{reader} reads `createdAt` but the payload has `created_at`: same name, different casing"), "backend"));
    }
    run(id, reports, findings, true)
}

pub(super) fn store() -> MemoryStore {
    MemoryStore::in_memory().expect("in-memory store")
}

pub(super) const NOW: Time = Time(10_000);

#[test]
fn the_demo_run_is_placed_on_its_boundaries() {
    let case = super::case_of(&demo_run(RUN));
    let r2 = &case.rounds[1];
    let mut placed: Vec<(String, String, String)> = r2
        .mismatches
        .iter()
        .map(|m| {
            (
                m.boundary.label(),
                m.writer_field.clone(),
                m.caught_by.clone(),
            )
        })
        .collect();
    placed.sort();
    assert_eq!(
        placed,
        [
            (
                "backend->frontend:orders.v1".into(),
                "created_at".into(),
                "dynamic".into()
            ),
            (
                "backend->frontend:orders.v1".into(),
                "created_at".into(),
                "static".into()
            ),
            (
                "backend->worker:order-events.v1".into(),
                "created_at".into(),
                "dynamic".into()
            ),
            (
                "backend->worker:order-events.v1".into(),
                "created_at".into(),
                "static".into()
            ),
        ]
    );
    assert_eq!(r2.unplaced, 0);
    assert!(case.rounds[0].passed && !r2.passed && case.rounds[2].passed);
}

#[test]
fn without_a_plan_a_mismatch_is_placed_by_the_payload_that_carried_it() {
    let mut r = demo_run(RUN);
    r.plan = None;
    // Both contracts carry `created_at` in round 2: ambiguous without the plan...
    assert_eq!(super::case_of(&r).rounds[1].unplaced, 4);
    // ...but with one payload carrying it, the place is clear.
    r.verifications[1] = report(
        2,
        ["b1", "f1", "w1"],
        &[orders("created_at"), events("createdAt")],
    );
    r.findings
        .retain(|f| f.note.message.starts_with("frontend"));
    let case = super::case_of(&r);
    let labels: Vec<String> = case.rounds[1]
        .mismatches
        .iter()
        .map(|m| m.boundary.label())
        .collect();
    assert_eq!(
        labels,
        ["backend->frontend:orders.v1", "backend->frontend:orders.v1"]
    );
}
