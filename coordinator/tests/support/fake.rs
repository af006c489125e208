//! An in-memory run service: runs live in a map, and the test moves them along with `advance`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use factory_coordinator::http::{ApiError, BoxFuture, RunApi};
use protocol::outcome::Outcome;
use protocol::run::{Approval, RunBudget, RunRecord, RunStatus};
use tokio::sync::broadcast;

#[derive(Default)]
struct Inner {
    runs: HashMap<String, RunRecord>,
    order: Vec<String>,
    watchers: HashMap<String, broadcast::Sender<RunRecord>>,
    bundles: HashMap<String, PathBuf>,
    next: u64,
}

/// The fake service.
#[derive(Default)]
pub struct FakeRuns {
    inner: Mutex<Inner>,
}

impl FakeRuns {
    /// Move a run to `status` and tell its watchers.
    pub fn advance(&self, id: &str, status: RunStatus) {
        let mut inner = self.inner.lock().unwrap();
        let run = inner.runs.get_mut(id).expect("advance: no such run");
        run.status = status;
        if status.is_final() {
            run.finished_unix_ms = Some(run.submitted_unix_ms + 1);
        }
        let run = run.clone();
        if let Some(tx) = inner.watchers.get(id) {
            let _ = tx.send(run);
        }
    }

    /// Give a run a bundle folder.
    pub fn set_bundle(&self, id: &str, dir: PathBuf) {
        self.inner.lock().unwrap().bundles.insert(id.into(), dir);
    }

    /// Ids of every run, oldest first.
    pub fn runs_now(&self) -> Vec<String> {
        self.inner.lock().unwrap().order.clone()
    }

    /// How many receivers watch a run (so a test can wait until a follower has subscribed).
    pub fn watchers(&self, id: &str) -> usize {
        let inner = self.inner.lock().unwrap();
        inner.watchers.get(id).map_or(0, |tx| tx.receiver_count())
    }
}

impl RunApi for FakeRuns {
    fn submit(&self, outcome: Outcome) -> BoxFuture<'static, Result<String, ApiError>> {
        let mut inner = self.inner.lock().unwrap();
        inner.next += 1;
        let id = format!("run-{}", inner.next);
        let record = RunRecord::new(id.clone(), outcome, RunBudget::default(), 1_000);
        inner.runs.insert(id.clone(), record);
        inner.order.push(id.clone());
        inner.watchers.insert(id.clone(), broadcast::channel(16).0);
        Box::pin(async move { Ok(id) })
    }

    fn run(&self, id: String) -> BoxFuture<'static, Result<Option<RunRecord>, ApiError>> {
        let found = self.inner.lock().unwrap().runs.get(&id).cloned();
        Box::pin(async move { Ok(found) })
    }

    fn runs(&self) -> BoxFuture<'static, Result<Vec<RunRecord>, ApiError>> {
        let inner = self.inner.lock().unwrap();
        let runs = inner
            .order
            .iter()
            .rev()
            .map(|id| inner.runs[id].clone())
            .collect();
        Box::pin(async move { Ok(runs) })
    }

    fn decide(
        &self,
        id: String,
        approval: Approval,
    ) -> BoxFuture<'static, Result<RunRecord, ApiError>> {
        let mut inner = self.inner.lock().unwrap();
        let result = match inner.runs.get_mut(&id) {
            None => Err(ApiError::NotFound),
            Some(run) if run.status != RunStatus::Delivered => Err(ApiError::Conflict(format!(
                "run `{id}` is {:?}, not delivered",
                run.status
            ))),
            Some(run) if run.approval.is_some() => {
                Err(ApiError::Conflict(format!("run `{id}` is decided already")))
            }
            Some(run) => {
                run.approval = Some(approval);
                Ok(run.clone())
            }
        };
        Box::pin(async move { result })
    }

    fn watch(&self, id: String) -> Option<broadcast::Receiver<RunRecord>> {
        self.inner
            .lock()
            .unwrap()
            .watchers
            .get(&id)
            .map(|tx| tx.subscribe())
    }

    fn bundle_dir(&self, id: String) -> Option<PathBuf> {
        self.inner.lock().unwrap().bundles.get(&id).cloned()
    }
}
