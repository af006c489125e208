use super::*;
use crate::runs::record::{RunBudget, TaskResult};
use actors::outcome::{Outcome, TaskRole};

fn task(id: &str, repo: &str, deps: &[&str]) -> TaskRecord {
    TaskRecord {
        id: id.into(),
        repo: repo.into(),
        role: TaskRole::Reader,
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        instructions: String::new(),
        state: TaskState::Waiting,
        attempts: 0,
        findings: Vec::new(),
        results: Vec::new(),
    }
}

fn result(attempt: u32, ok: bool, cost: f64) -> TaskResult {
    let mut r = TaskResult::empty(attempt, "n1", 1, 0);
    r.ok = ok;
    r.error = (!ok).then(|| "agent exited with code 3".into());
    r.cost_usd = cost;
    r
}

fn finding(repo: &str) -> RunFinding {
    RunFinding {
        round: 0,
        caught_by: "static".into(),
        severity: "error".into(),
        note: FindingNote {
            rule: "NAMING/casing-mismatch".into(),
            message: "frontend reads createdAt, backend writes created_at".into(),
            fix_repo: Some(repo.into()),
            fix: None,
        },
    }
}

fn machine(budget: RunBudget) -> RunMachine {
    let outcome = Outcome {
        title: "t".into(),
        description: String::new(),
        changes: Vec::new(),
    };
    RunMachine::new(RunRecord::new("r1".into(), outcome, budget, 0))
}

fn planned(m: &mut RunMachine) -> Vec<Effect> {
    assert_eq!(m.step(Input::Start, 1), vec![Effect::Plan]);
    let tasks = vec![
        task("backend:change", "backend", &[]),
        task("frontend:change", "frontend", &["backend:change"]),
        task("worker:change", "worker", &["backend:change"]),
    ];
    m.step(
        Input::Planned {
            plan: serde_json::json!({}),
            tasks,
        },
        2,
    )
}

fn dispatch(id: &str, attempt: u32) -> Effect {
    Effect::Dispatch {
        task_id: id.into(),
        attempt,
        findings: Vec::new(),
    }
}

fn finished(m: &mut RunMachine, id: &str, attempt: u32) -> Vec<Effect> {
    m.step(
        Input::TaskFinished {
            task_id: id.into(),
            result: result(attempt, true, 0.01),
        },
        3,
    )
}

#[test]
fn the_casing_story_runs_writer_first_then_readers_then_fixes_the_writer() {
    let mut m = machine(RunBudget::default());
    assert_eq!(planned(&mut m), vec![dispatch("backend:change", 1)]);
    let e = finished(&mut m, "backend:change", 1);
    assert_eq!(
        e,
        vec![Effect::Verify {
            round: 1,
            tasks: vec!["backend:change".into()]
        }]
    );
    let e = m.step(
        Input::Verified {
            report: serde_json::json!({}),
            findings: vec![],
        },
        4,
    );
    assert_eq!(
        e,
        vec![dispatch("frontend:change", 1), dispatch("worker:change", 1)]
    );
    assert!(
        finished(&mut m, "frontend:change", 1).is_empty(),
        "worker still runs"
    );
    let e = finished(&mut m, "worker:change", 1);
    assert!(matches!(&e[..], [Effect::Verify { round: 2, tasks }] if tasks.len() == 3));
    let e = m.step(
        Input::Verified {
            report: serde_json::json!({}),
            findings: vec![finding("backend")],
        },
        5,
    );
    let [
        Effect::Dispatch {
            task_id,
            attempt: 2,
            findings,
        },
    ] = &e[..]
    else {
        panic!("{e:?}")
    };
    assert_eq!(task_id, "backend:change");
    assert_eq!(findings[0].rule, "NAMING/casing-mismatch");
    let e = finished(&mut m, "backend:change", 2);
    assert!(matches!(&e[..], [Effect::Verify { round: 3, .. }]));
    assert_eq!(
        m.step(
            Input::Verified {
                report: serde_json::json!({}),
                findings: vec![]
            },
            6
        ),
        vec![Effect::Bundle]
    );
    m.step(Input::Bundled { dir: "b".into() }, 7);
    assert_eq!(m.run.status, RunStatus::Delivered);
    assert!((m.run.cost_usd - 0.04).abs() < 1e-9);
}

#[test]
fn a_failing_agent_is_retried_then_fails_the_run() {
    let mut m = machine(RunBudget {
        max_attempts_per_task: 2,
        ..RunBudget::default()
    });
    planned(&mut m);
    let e = m.step(
        Input::TaskFinished {
            task_id: "backend:change".into(),
            result: result(1, false, 0.0),
        },
        3,
    );
    assert!(matches!(&e[..], [Effect::Dispatch { attempt: 2, .. }]));
    let e = m.step(
        Input::TaskFinished {
            task_id: "backend:change".into(),
            result: result(2, false, 0.0),
        },
        4,
    );
    assert_eq!(e, vec![Effect::Bundle]);
    assert_eq!(m.run.status, RunStatus::Failed);
    assert!(
        m.run
            .error
            .as_deref()
            .unwrap_or("")
            .contains("exited with code 3"),
        "{:?}",
        m.run.error
    );
}

#[test]
fn a_run_over_its_cost_budget_fails() {
    let mut m = machine(RunBudget {
        max_cost_usd: 0.5,
        ..RunBudget::default()
    });
    planned(&mut m);
    let e = m.step(
        Input::TaskFinished {
            task_id: "backend:change".into(),
            result: result(1, true, 0.9),
        },
        3,
    );
    assert_eq!(e, vec![Effect::Bundle]);
    assert!(m.run.error.as_deref().unwrap_or("").contains("cost budget"));
}

#[test]
fn a_stale_or_duplicate_result_changes_nothing() {
    let mut m = machine(RunBudget::default());
    planned(&mut m);
    finished(&mut m, "backend:change", 1);
    let before = m.run.clone();
    let e = finished(&mut m, "backend:change", 1);
    assert!(e.is_empty());
    assert_eq!(m.run.tasks, before.tasks);
    assert_eq!(m.run.cost_usd, before.cost_usd);
}

#[test]
fn a_restart_resends_what_was_in_flight() {
    let mut m = machine(RunBudget::default());
    planned(&mut m);
    let mut resumed = RunMachine::new(m.run.clone());
    assert_eq!(
        resumed.step(Input::Start, 9),
        vec![dispatch("backend:change", 1)]
    );
}

#[test]
fn a_finding_no_task_can_fix_fails_the_run() {
    let mut m = machine(RunBudget::default());
    planned(&mut m);
    finished(&mut m, "backend:change", 1);
    let e = m.step(
        Input::Verified {
            report: serde_json::json!({}),
            findings: vec![finding("infra")],
        },
        4,
    );
    assert_eq!(e, vec![Effect::Bundle]);
    assert!(m.run.error.as_deref().unwrap_or("").contains("infra"));
}

#[test]
fn a_moved_attempt_is_recorded_and_still_counts_once() {
    let mut m = machine(RunBudget::default());
    planned(&mut m);
    let mut r = result(1, true, 0.01);
    r.node = "n2".into();
    r.epoch = 2;
    r.moves = vec![crate::runs::record::TaskMove {
        from: "n1".into(),
        from_epoch: 1,
        to: "n2".into(),
        epoch: 2,
        reason: "connection lost".into(),
        at_unix_ms: 7,
    }];
    m.step(
        Input::TaskFinished {
            task_id: "backend:change".into(),
            result: r,
        },
        9,
    );
    let moved: Vec<&str> = m
        .run
        .events
        .iter()
        .filter(|e| e.kind == "task.moved")
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(
        moved,
        ["backend:change attempt 1 moved from n1@1 to n2@2: connection lost"]
    );
    let backend = &m.run.tasks[0];
    // The move did not burn an attempt: attempt 1 changed the repo.
    assert_eq!((backend.attempts, backend.results.len()), (1, 1));
    assert_eq!(backend.state, TaskState::Changed);
}
