//! An in-memory [`RunApi`]: runs live in a map and move only when `advance` says so. For tests,
//! benchmarks and demos of the HTTP layer; nothing is durable and no work is done.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use super::api::{ApiError, BoxFuture, RunApi};
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

/// The in-memory service.
#[derive(Default)]
pub struct MemoryRuns {
    inner: Mutex<Inner>,
}

impl MemoryRuns {
    /// Lock the state; a poisoned lock only means a panic elsewhere, and the maps stay usable.
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Move a run to `status` and tell its watchers; false when there is no such run.
    pub fn advance(&self, id: &str, status: RunStatus) -> bool {
        let mut inner = self.lock();
        let Some(run) = inner.runs.get_mut(id) else {
            return false;
        };
        run.status = status;
        if status.is_final() {
            run.finished_unix_ms = Some(run.submitted_unix_ms + 1);
        }
        let run = run.clone();
        if let Some(tx) = inner.watchers.get(id) {
            // No receiver is not an error: nobody is watching.
            let _ = tx.send(run);
        }
        true
    }

    /// Give a run a bundle folder.
    pub fn set_bundle(&self, id: &str, dir: PathBuf) {
        self.lock().bundles.insert(id.into(), dir);
    }

    /// Ids of every run, oldest first.
    pub fn runs_now(&self) -> Vec<String> {
        self.lock().order.clone()
    }

    /// How many receivers watch a run (so a test can wait until a follower has subscribed).
    pub fn watchers(&self, id: &str) -> usize {
        let inner = self.lock();
        inner.watchers.get(id).map_or(0, |tx| tx.receiver_count())
    }
}

impl RunApi for MemoryRuns {
    fn submit(&self, outcome: Outcome) -> BoxFuture<'static, Result<String, ApiError>> {
        let mut inner = self.lock();
        inner.next += 1;
        let id = format!("run-{}", inner.next);
        let record = RunRecord::new(id.clone(), outcome, RunBudget::default(), 1_000);
        inner.runs.insert(id.clone(), record);
        inner.order.push(id.clone());
        inner.watchers.insert(id.clone(), broadcast::channel(16).0);
        Box::pin(async move { Ok(id) })
    }

    fn run(&self, id: String) -> BoxFuture<'static, Result<Option<RunRecord>, ApiError>> {
        let found = self.lock().runs.get(&id).cloned();
        Box::pin(async move { Ok(found) })
    }

    fn runs(&self) -> BoxFuture<'static, Result<Vec<RunRecord>, ApiError>> {
        let inner = self.lock();
        let runs = inner
            .order
            .iter()
            .rev()
            .filter_map(|id| inner.runs.get(id).cloned())
            .collect();
        Box::pin(async move { Ok(runs) })
    }

    fn decide(
        &self,
        id: String,
        approval: Approval,
    ) -> BoxFuture<'static, Result<RunRecord, ApiError>> {
        let mut inner = self.lock();
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
        self.lock().watchers.get(&id).map(|tx| tx.subscribe())
    }

    fn bundle_dir(&self, id: String) -> Option<PathBuf> {
        self.lock().bundles.get(&id).cloned()
    }
}
