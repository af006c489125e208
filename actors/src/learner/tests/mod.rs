//! Learner tests on runs built to mirror the demo: backend adds `created_at` (round 1 passes:
//! nobody reads it yet), frontend and worker start reading `createdAt` (round 2 fails with a
//! casing mismatch on backend->frontend (orders.v1) and backend->worker (order-events.v1)),
//! backend renames it (round 3 passes).

mod gates_flow;
mod setup_flow;
mod skills_flow;

pub(super) use super::fixtures::*;
#[allow(unused_imports)]
pub(super) use crate::memory::{MemoryStore, Time};
#[allow(unused_imports)]
pub(super) use protocol::run::{RunFinding, RunRecord};
#[allow(unused_imports)]
use serde_json::{Value, json};

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

/// The commit `main` points at in a bare repo.
pub(super) fn bare_head(origin: &std::path::Path) -> String {
    let out = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(origin)
        .args(["rev-parse", "main"])
        .output()
        .expect("git runs (install git)");
    assert!(
        out.status.success(),
        "rev-parse: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
