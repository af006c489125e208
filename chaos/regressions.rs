//! Regression tests: each replays a seed (and a hand-made history) that once broke an invariant,
//! and opens with the story of its bug.

use coordinator::runs::{
    Effect, Input, RunBudget, RunMachine, RunRecord, RunStatus, TaskRecord, TaskResult, TaskState,
};
use protocol::outcome::{Outcome, TaskRole};

use crate::sim::run_seed;

/// The story: `RunMachine::start` resumed a run found `Verifying` by calling `after_changes`,
/// which opens a *new* verification round. Two acknowledged steps were thereby undone by a
/// coordinator restart: a round in flight was counted twice (seed 5: round 2 became round 3
/// with nothing new to verify), and a run whose final round had passed — its record already
/// said `run.verified` and only the bundle was outstanding — went back to verifying instead of
/// bundling (seed 98). Each restart spent a round of `max_verify_rounds`, so a few restarts
/// could fail a fully verified run with "verification budget used up".
#[test]
fn a_restart_while_verifying_resumes_the_round_instead_of_spending_another() {
    for seed in [5, 98] {
        let outcome = run_seed(seed);
        assert_eq!(outcome.violation, None, "CHAOS_SEED={seed}");
    }
}

fn result(attempt: u32) -> TaskResult {
    let mut r = TaskResult::empty(attempt, "node-0", 1, 0);
    r.ok = true;
    r.cost_usd = 0.01;
    r
}

fn task(id: &str, deps: &[&str]) -> TaskRecord {
    TaskRecord {
        id: id.into(),
        repo: format!("repo-{id}"),
        role: TaskRole::Writer,
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        instructions: String::new(),
        state: TaskState::Waiting,
        attempts: 0,
        findings: Vec::new(),
        results: Vec::new(),
    }
}

/// What a coordinator restart does: a new machine from the stored record, then `Start`.
fn restart(m: &RunMachine) -> (RunRecord, Vec<Effect>) {
    let mut fresh = RunMachine::new(m.run.clone());
    let effects = fresh.step(Input::Start, 99);
    (fresh.run, effects)
}

/// The same bug without the simulator, so it stays pinned if the simulator's use of the seed
/// changes: restart at each point of a verification and compare what `Start` asks for.
#[test]
fn start_while_verifying_re_sends_the_pending_round_or_the_bundle() {
    let outcome = Outcome {
        title: "t".into(),
        description: String::new(),
        changes: Vec::new(),
    };
    let record = RunRecord::new("run-0".into(), outcome, RunBudget::default(), 0);
    let mut m = RunMachine::new(record);
    m.step(Input::Start, 1);
    let tasks = vec![task("w", &[]), task("r", &["w"])];
    m.step(
        Input::Planned {
            plan: serde_json::json!({}),
            tasks,
        },
        2,
    );
    let verify = m.step(
        Input::TaskFinished {
            task_id: "w".into(),
            result: result(1),
        },
        3,
    );
    assert_eq!(
        verify,
        vec![Effect::Verify {
            round: 1,
            tasks: vec!["w".into()]
        }]
    );

    // Restart with round 1 in flight: the same round again, not round 2.
    let (run, effects) = restart(&m);
    assert_eq!(effects, verify);
    assert_eq!(run.verify_rounds, 1);

    m.step(
        Input::Verified {
            report: serde_json::json!({}),
            findings: Vec::new(),
        },
        4,
    );
    m.step(
        Input::TaskFinished {
            task_id: "r".into(),
            result: result(1),
        },
        5,
    );
    let bundle = m.step(
        Input::Verified {
            report: serde_json::json!({}),
            findings: Vec::new(),
        },
        6,
    );
    assert_eq!(bundle, vec![Effect::Bundle]);
    assert_eq!(m.run.status, RunStatus::Verifying);

    // Restart after the final round passed: only the bundle was outstanding.
    let (run, effects) = restart(&m);
    assert_eq!(effects, vec![Effect::Bundle]);
    assert_eq!(run.verify_rounds, 2);
}
