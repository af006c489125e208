//! The run service: submit, look up and follow runs; one driver task per live run.
//!
//! A submitted outcome is written to the store before its id is returned. On start the service
//! resumes every run the store holds that is not finished, so a coordinator restart loses none.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actors::learner::LearnerConfig;
use actors::memory::{MemoryStore, seed_from_org};
use actors::net::Endpoint;
use actors::org::Org;
use dashmap::DashMap;
use protocol::outcome::Outcome;
use protocol::run::{Approval, RunBudget, RunRecord, RunStatus};
use ractor::ActorRef;
use tokio::sync::broadcast;

use super::store::{RunStore, StoreError};
use crate::driver::{self, now_unix_ms};
use crate::service::CoordinatorMsg;

/// How runs are executed.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The org the runs change.
    pub org: Org,
    /// Where the run store, artifacts and bundles live.
    pub state_dir: PathBuf,
    /// Agent selector for every task: `sim`, `claude-code`, `codex`, `aider`, `custom:<argv>`.
    pub agent: String,
    /// The prompt template (skill) agents get, unless the learner holds a champion skill for
    /// the task's repo.
    pub skill: String,
    /// The command line of the deterministic agent (`sim`): the learner replays skills with the
    /// same agent the tasks run, on the coordinator.
    pub sim_argv: Vec<String>,
    /// Budgets of each run.
    pub budget: RunBudget,
    /// Deadline of one verification round.
    pub verify_timeout: Duration,
    /// How long a task waits for a live owner of its repo.
    pub placement_timeout: Duration,
    /// How the Learner decides after each run (auto-blocking gates, auto-promoting skills).
    pub learner: LearnerConfig,
}

impl RunConfig {
    /// Defaults for everything but the org, where state lives, the agent, and the command line
    /// of the deterministic agent: the default skill and budget, 10 minutes per verification
    /// round, 30 s to find a repo's owner, the Learner's defaults.
    pub fn new(org: Org, state_dir: PathBuf, agent: String, sim_argv: Vec<String>) -> Self {
        RunConfig {
            org,
            state_dir,
            agent,
            skill: actors::agent::DEFAULT_TEMPLATE.to_string(),
            sim_argv,
            budget: RunBudget::default(),
            verify_timeout: Duration::from_secs(600),
            placement_timeout: Duration::from_secs(30),
            learner: LearnerConfig::default(),
        }
    }
}

/// Errors of the run service.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No such run.
    #[error("no run {0}")]
    NotFound(String),
    /// The request does not fit the run's state.
    #[error("{0}")]
    Conflict(String),
    /// A blocking task failed.
    #[error("internal: {0}")]
    Internal(String),
}

pub(crate) struct Inner {
    pub(crate) store: RunStore,
    /// Organizational memory (facts, learned gates and setup steps), `<state>/memory.redb`.
    pub(crate) memory: Arc<MemoryStore>,
    /// The supervised Planner actor.
    pub(crate) planner: super::planner::PlannerHandle,
    pub(crate) cfg: RunConfig,
    pub(crate) endpoint: Endpoint,
    pub(crate) coordinator: ActorRef<CoordinatorMsg>,
    updates: DashMap<String, broadcast::Sender<RunRecord>>,
    /// Bundle folders of finished runs, so pages can be served without a store read. Filled
    /// at start from the store and by the bundle step as it writes one (before the run is
    /// published as delivered, so a follower that sees `delivered` can open the page at once).
    pub(crate) bundles: DashMap<String, PathBuf>,
    /// Skill replays still running after their run was delivered, and their verdicts.
    pub(crate) late: super::learning::LateLearning,
}

/// Runs: submit, query, follow. Cheap to clone.
#[derive(Clone)]
pub struct RunService {
    inner: Arc<Inner>,
}

impl RunService {
    /// Open the store under `cfg.state_dir` and resume every unfinished run.
    pub async fn start(
        cfg: RunConfig,
        endpoint: Endpoint,
        coordinator: ActorRef<CoordinatorMsg>,
    ) -> Result<Self, RunError> {
        std::fs::create_dir_all(&cfg.state_dir)
            .map_err(|e| RunError::Internal(format!("{}: {e}", cfg.state_dir.display())))?;
        let path = cfg.state_dir.join("runs.redb");
        let store = blocking(move || RunStore::open(&path)).await??;
        let (memory_path, org) = (cfg.state_dir.join("memory.redb"), cfg.org.clone());
        let memory = blocking(move || -> Result<MemoryStore, RunError> {
            let memory =
                MemoryStore::open(&memory_path).map_err(|e| RunError::Internal(e.to_string()))?;
            memory
                .apply(seed_from_org(&org))
                .map_err(|e| RunError::Internal(format!("seeding memory: {e}")))?;
            Ok(memory)
        })
        .await??;
        let memory = Arc::new(memory);
        let planner = super::planner::PlannerHandle::start(cfg.org.clone())
            .await
            .map_err(RunError::Internal)?;
        let service = RunService {
            inner: Arc::new(Inner {
                store,
                memory,
                planner,
                cfg,
                endpoint,
                coordinator,
                updates: DashMap::new(),
                bundles: DashMap::new(),
                late: super::learning::LateLearning::new(),
            }),
        };
        let store = service.inner.store.clone();
        let runs = blocking(move || store.list()).await??;
        for run in runs {
            if let Some(dir) = &run.bundle_dir {
                service
                    .inner
                    .bundles
                    .insert(run.id.clone(), PathBuf::from(dir));
            }
            if !run.status.is_final() || run.bundle_dir.is_none() {
                tracing::info!(run = %run.id, status = ?run.status, "resuming run");
                service.spawn_driver(run);
            }
        }
        super::learning::resume_skill_replays(&service.inner);
        Ok(service)
    }

    /// Store an outcome as a new run and start it; returns the run id.
    pub async fn submit(&self, outcome: Outcome) -> Result<String, RunError> {
        let id = uuid::Uuid::now_v7().to_string();
        let run = RunRecord::new(
            id.clone(),
            outcome,
            self.inner.cfg.budget.clone(),
            now_unix_ms(),
        );
        let (store, stored) = (self.inner.store.clone(), run.clone());
        blocking(move || store.put(&stored)).await??;
        tracing::info!(run = %id, title = %run.outcome.title, "run submitted");
        self.spawn_driver(run);
        Ok(id)
    }

    /// One run.
    pub async fn get(&self, id: &str) -> Result<Option<RunRecord>, RunError> {
        let (store, id) = (self.inner.store.clone(), id.to_string());
        Ok(blocking(move || store.get(&id)).await??)
    }

    /// Every run, oldest first.
    pub async fn list(&self) -> Result<Vec<RunRecord>, RunError> {
        let store = self.inner.store.clone();
        Ok(blocking(move || store.list()).await??)
    }

    /// Record a person's decision on a delivered run's rollout.
    pub async fn decide(&self, id: &str, approval: Approval) -> Result<RunRecord, RunError> {
        let mut run = self
            .get(id)
            .await?
            .ok_or_else(|| RunError::NotFound(id.to_string()))?;
        if run.status != RunStatus::Delivered {
            return Err(RunError::Conflict(format!(
                "run {id} is {:?}; only a delivered run's rollout can be decided",
                run.status
            )));
        }
        if let Some(previous) = &run.approval {
            return Err(RunError::Conflict(format!(
                "run {id} was already decided by {}",
                previous.by
            )));
        }
        run.approval = Some(approval);
        let (store, stored) = (self.inner.store.clone(), run.clone());
        blocking(move || store.put(&stored)).await??;
        if let Some(tx) = self.inner.updates.get(id) {
            let _ = tx.send(run.clone());
        }
        Ok(run)
    }

    /// Wait until the learning that goes on after delivery (skill replays) is done.
    pub async fn learning_settled(&self) {
        self.inner.late.settled().await
    }

    /// What learning after delivery concluded about a run (one line per skill replay).
    pub fn late_lessons(&self, run_id: &str) -> Vec<String> {
        self.inner.late.lessons(run_id)
    }

    /// The shared state, for the service's other faces (the `memory` actor).
    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    /// Updates of one run, from now on.
    pub fn watch(&self, id: &str) -> broadcast::Receiver<RunRecord> {
        self.sender(id).subscribe()
    }

    /// Where a run's bundle is, once written.
    pub fn known_bundle(&self, id: &str) -> Option<PathBuf> {
        self.inner
            .bundles
            .get(id)
            .map(|p| p.clone())
            .filter(|p| p.is_dir())
    }

    fn sender(&self, id: &str) -> broadcast::Sender<RunRecord> {
        self.inner
            .updates
            .entry(id.to_string())
            .or_insert_with(|| broadcast::channel(256).0)
            .clone()
    }

    fn spawn_driver(&self, run: RunRecord) {
        let steps = Arc::new(super::steps::ClusterSteps {
            inner: self.inner.clone(),
        });
        let (store, updates) = (self.inner.store.clone(), self.sender(&run.id));
        let id = run.id.clone();
        tokio::spawn(async move {
            match driver::drive(store, run, steps, updates).await {
                Ok(run) => {
                    tracing::info!(run = %id, status = ?run.status, bundle = ?run.bundle_dir, "run finished")
                }
                Err(e) => tracing::error!(run = %id, error = %e, "run driver stopped"),
            }
        });
    }
}

/// Run a blocking store call off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RunError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| RunError::Internal(e.to_string()))
}
