//! Runs built to mirror the demo, for the learner's tests and its benchmark: backend adds
//! `created_at` (round 1 passes: nobody reads it yet), frontend and worker start reading
//! `createdAt` (round 2 fails with a casing mismatch on backend->frontend (orders.v1) and
//! backend->worker (order-events.v1)), backend renames it (round 3 passes).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use protocol::outcome::Outcome;
use protocol::run::{RunBudget, RunEvent, RunFinding, RunRecord, RunStatus};
use serde_json::{Value, json};

use crate::memory::{MemoryStore, Time};

pub const RUN: &str = "run-demo";

/// A finished run with these verification reports and findings.
pub fn run(id: &str, reports: Vec<Value>, findings: Vec<RunFinding>, delivered: bool) -> RunRecord {
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
pub fn report(round: u32, heads: [&str; 3], samples: &[(&str, Value)]) -> Value {
    let names = ["backend", "frontend", "worker"];
    json!({
        "round": round,
        "repos": names.iter().zip(heads).map(|(n, h)| json!({"name": n, "branch": null, "head": h})).collect::<Vec<_>>(),
        "setup": [{"repo": "backend", "passed": true}],
        "static": {"flows_checked": 2, "findings": 0},
        "dynamic": {"captured": samples.iter().map(|(c, s)| json!({"contract": c, "writer": "backend", "payloads": 1, "sample": s})).collect::<Vec<_>>()},
    })
}

pub fn orders(created: &str) -> (&'static str, Value) {
    let mut v = json!({"id": 1001, "customer": "Ada", "total": 42.5, "status": "new", "items": [{"sku": "B-1", "qty": 1}]});
    v[created] = json!("2026-01-01T00:00:00Z");
    ("orders.v1", v)
}

pub fn events(created: &str) -> (&'static str, Value) {
    let mut v = json!({"type": "order.created", "orderId": 1003, "customer": "Ada", "total": 42.5});
    v[created] = json!("2026-01-01T00:00:00Z");
    ("order-events.v1", v)
}

pub fn finding(
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
pub fn demo_run(id: &str) -> RunRecord {
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

pub fn store() -> MemoryStore {
    MemoryStore::in_memory().expect("in-memory store")
}

pub const NOW: Time = Time(10_000);
