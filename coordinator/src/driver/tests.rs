use std::sync::Mutex;

use super::*;
use crate::runs::{RunBudget, RunFinding, RunStatus, TaskResult, TaskState};
use actors::outcome::{Outcome, TaskRole};

/// An in-process backend: every task succeeds; the first verification finds one casing error in
/// the writer, later ones pass.
#[derive(Default)]
struct Fake {
    verifies: Mutex<u32>,
    dispatched: Mutex<Vec<(String, u32, usize)>>,
}

fn task(id: &str, repo: &str, deps: &[&str]) -> TaskRecord {
    TaskRecord {
        id: id.into(),
        repo: repo.into(),
        role: TaskRole::Writer,
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        instructions: String::new(),
        state: TaskState::Waiting,
        attempts: 0,
        findings: vec![],
        results: vec![],
    }
}

impl Steps for Fake {
    fn plan(
        &self,
        _run: RunRecord,
    ) -> BoxFuture<'static, Result<(serde_json::Value, Vec<TaskRecord>), String>> {
        Box::pin(async {
            Ok((
                serde_json::json!({"waves": 2}),
                vec![task("b", "backend", &[]), task("w", "worker", &["b"])],
            ))
        })
    }
    fn dispatch(
        &self,
        _run: RunRecord,
        task_id: String,
        attempt: u32,
        findings: Vec<FindingNote>,
    ) -> BoxFuture<'static, TaskResult> {
        self.dispatched
            .lock()
            .expect("lock")
            .push((task_id, attempt, findings.len()));
        Box::pin(async move {
            let mut r = TaskResult::empty(attempt, "n", 1, 0);
            r.ok = true;
            r.cost_usd = 0.01;
            r
        })
    }
    fn verify(
        &self,
        _run: RunRecord,
        round: u32,
        _tasks: Vec<String>,
    ) -> BoxFuture<'static, Result<(serde_json::Value, Vec<RunFinding>), String>> {
        let n = {
            let mut v = self.verifies.lock().expect("lock");
            *v += 1;
            *v
        };
        Box::pin(async move {
            let findings = if n == 2 {
                vec![RunFinding {
                    round,
                    caught_by: "dynamic".into(),
                    severity: "error".into(),
                    note: FindingNote {
                        rule: "NAMING/casing-mismatch".into(),
                        message: "created_at vs createdAt".into(),
                        fix_repo: Some("backend".into()),
                        fix: None,
                    },
                }]
            } else {
                vec![]
            };
            Ok((serde_json::json!({"round": round}), findings))
        })
    }
    fn bundle(&self, run: RunRecord) -> BoxFuture<'static, Result<String, String>> {
        Box::pin(async move { Ok(format!("bundles/{}", run.id)) })
    }
}

#[tokio::test]
async fn a_run_is_driven_to_delivery_and_every_step_is_stored() {
    let store = RunStore::in_memory().expect("store");
    let outcome = Outcome {
        title: "t".into(),
        description: String::new(),
        changes: vec![],
    };
    let run = RunRecord::new(
        uuid::Uuid::now_v7().to_string(),
        outcome,
        RunBudget::default(),
        0,
    );
    let fake = Arc::new(Fake::default());
    let (tx, mut rx) = broadcast::channel(256);
    let done = drive(store.clone(), run.clone(), fake.clone(), tx)
        .await
        .expect("drive");
    assert_eq!(done.status, RunStatus::Delivered);
    assert_eq!(store.get(&run.id).expect("get").expect("stored"), done);
    let dispatched = fake.dispatched.lock().expect("lock").clone();
    assert_eq!(
        dispatched,
        vec![("b".into(), 1, 0), ("w".into(), 1, 0), ("b".into(), 2, 1)]
    );
    let mut statuses = vec![];
    while let Ok(r) = rx.try_recv() {
        statuses.push(r.status);
    }
    assert!(
        statuses.contains(&RunStatus::Verifying) && statuses.last() == Some(&RunStatus::Delivered),
        "{statuses:?}"
    );
}
