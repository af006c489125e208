//! Setup steps: proposed from a sandbox that did not start, replayed for real on the example
//! org generated without its seed step.

use std::time::Duration;

use super::*;
use crate::example::{ExampleOptions, generate};
use crate::learner::{LearnerConfig, SetupReplayEnv, champions, evaluate_setup, learn, lineage};

/// A run whose only round could not start the backend: its log names the seed step.
fn seedless_run(head: &str) -> RunRecord {
    let mut rep = report(1, [head, "f0", "w0"], &[]);
    rep["dynamic"] =
        json!({"error": "service backend exited early (exit status: 1); log tail:\n..."});
    let message = "service backend exited early (exit status: 1); log tail:\nbackend: error: seed data missing: \
                   /tmp/x/data/orders.json does not exist (run `python3 scripts/seed.py`)\n";
    let findings = vec![finding(
        1,
        "dynamic",
        "SANDBOX/start-failed",
        message,
        "backend",
    )];
    run("run-seedless", vec![rep], findings, false)
}

fn python_present() {
    let ok = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "these tests start the example backend: install python3");
}

#[test]
fn a_failing_round_proposes_the_step_its_log_names() {
    let s = store();
    let report = learn(&seedless_run("abc123"), &s, NOW, &LearnerConfig::default()).expect("learn");
    assert_eq!(report.setup_candidates.len(), 1, "{report:#?}");
    let c = &report.setup_candidates[0];
    assert_eq!(c.step.repo, "backend");
    assert_eq!(c.step.command, "python3 scripts/seed.py");
    assert_eq!(c.step.learned_from_run, "run-seedless");
    assert_eq!(
        (c.head.as_str(), c.round, c.slot.as_str()),
        ("abc123", 1, "skill:setup@backend")
    );
    // Proposed, not yet promoted: promotion waits for the real replay.
    assert_eq!(s.champion(&c.slot).expect("read"), None);
    let facts = s.facts_about("repo:backend").expect("facts");
    assert!(
        facts
            .iter()
            .any(|f| f.predicate == "setup.missing-step" && f.object == "python3 scripts/seed.py")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_starts_the_seedless_backend_with_the_step() {
    python_present();
    let tmp = tempfile::tempdir().expect("tempdir");
    generate(
        &tmp.path().join("org"),
        &ExampleOptions {
            missing_seed_step: true,
        },
    )
    .expect("example org (needs git)");
    let origin = tmp.path().join("org").join("origins").join("backend.git");
    let head = bare_head(&origin);
    let s = store();
    let report = learn(&seedless_run(&head), &s, NOW, &LearnerConfig::default()).expect("learn");
    let cand = report.setup_candidates[0].clone();
    let mut env = SetupReplayEnv::new(&tmp.path().join("replays"));
    env.origins
        .insert("backend".into(), origin.display().to_string());
    env.health_timeout = Duration::from_secs(20);

    let v = evaluate_setup(&s, &cand, &env, Time(11_000))
        .await
        .expect("replay");
    assert!(v.started && v.promoted, "{v:#?}");
    assert!(v.reason.contains("started healthy"), "{}", v.reason);
    let (_, steps) = champions(&s).expect("champions");
    assert_eq!(steps, vec![cand.step.clone()]);
    let line = lineage(&s, "skill:setup@backend").expect("lineage");
    assert!(line[0].champion);
    assert!(
        line[0]
            .verdict
            .as_deref()
            .is_some_and(|n| n.starts_with("promote:")),
        "{line:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_does_not_fix_the_start_is_rejected_with_why() {
    python_present();
    let tmp = tempfile::tempdir().expect("tempdir");
    generate(
        &tmp.path().join("org"),
        &ExampleOptions {
            missing_seed_step: true,
        },
    )
    .expect("example org (needs git)");
    let origin = tmp.path().join("org").join("origins").join("backend.git");
    let head = bare_head(&origin);
    // The log names a step that does nothing useful.
    let mut run = seedless_run(&head);
    run.findings[0].note.message =
        "service backend exited early; log tail:\nerror: (run `true`)".into();
    let s = store();
    let report = learn(&run, &s, NOW, &LearnerConfig::default()).expect("learn");
    let cand = report.setup_candidates[0].clone();
    assert_eq!(cand.step.command, "true");
    let mut env = SetupReplayEnv::new(&tmp.path().join("replays"));
    env.origins
        .insert("backend".into(), origin.display().to_string());
    env.health_timeout = Duration::from_secs(20);
    let v = evaluate_setup(&s, &cand, &env, Time(11_000))
        .await
        .expect("replay");
    assert!(!v.started && !v.promoted, "{v:#?}");
    assert!(v.reason.contains("seed data missing"), "{}", v.reason);
    assert_eq!(s.champion(&cand.slot).expect("read"), None);
    let evals = s.evaluations_of(&cand.step.id).expect("evaluations");
    assert!(
        evals[0].note.starts_with("reject: backend did not start"),
        "{evals:#?}"
    );
}
