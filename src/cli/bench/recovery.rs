//! `bench failover`, second half: how long a restarted coordinator takes to resume 1,000 runs
//! that were in flight, against a bare read of the same 1,000 records from the store.
//!
//! The store is filled with runs stopped mid-change (a plan, the first task running attempt 1).
//! The clock starts when `RunService::start` is called and stops when every run's driver has
//! resumed far enough to ask the coordinator where its task goes, which a stand-in coordinator
//! actor counts. It answers "no owner", so nothing is sent anywhere. So that the stand-in can
//! tell the runs apart (a driver asks again while it waits), each run's first task changes a repo
//! of its own: the org gets a copy of `backend` per run.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actors::net::{Endpoint, EndpointConfig, Identity, PingHandler, Validity, certs};
use anyhow::{Context, bail};
use coordinator::runs::{RunConfig, RunService, RunStore};
use coordinator::service::CoordinatorMsg;
use coordinator::shards::FenceError;
use protocol::run::{RunBudget, RunRecord, RunStatus, TaskRecord, TaskState};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::sync::Notify;

/// What was measured.
pub struct Recovery {
    /// Runs in the store.
    pub runs: usize,
    /// `RunService::start` until every driver asked for its task's placement.
    pub resume: Duration,
    /// `RunService::start` until it returned (store opened and read, drivers spawned).
    pub started: Duration,
    /// Reading and decoding every record from the store (`RunStore::list`), the floor.
    pub bare_read: Duration,
}

/// Fill a store with `n` runs in flight and time their resumption.
pub fn run(n: usize) -> anyhow::Result<Recovery> {
    let dir = tempfile::tempdir()?;
    let org_toml = actors::example::generate(&dir.path().join("org"), &Default::default())?;
    let mut org = actors::org::load_org(&org_toml)?;
    let backend = org
        .repo("backend")
        .context("the example org has a backend")?
        .clone();
    org.repos.extend((0..n).map(|i| actors::org::Repo {
        name: own_repo(i),
        ..backend.clone()
    }));
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state)?;
    fill(&state.join("runs.redb"), &org, n)?;
    let bare_read = {
        let store = RunStore::open(&state.join("runs.redb"))?;
        let t = Instant::now();
        let runs = store.list()?;
        let took = t.elapsed();
        anyhow::ensure!(runs.len() == n, "the store holds {} runs", runs.len());
        took
    };
    certs::init_ca(dir.path())?;
    certs::issue(dir.path(), "coordinator", Validity::days(1))?;
    let mut cfg = RunConfig::new(org, state, "sim".into(), crate::cli::demo::sim_argv()?);
    cfg.placement_timeout = Duration::from_secs(600);
    let (started, resume) = tokio::runtime::Runtime::new()?
        .block_on(resume(cfg, dir.path(), n))
        .context("resuming")?;
    Ok(Recovery {
        runs: n,
        resume,
        started,
        bare_read,
    })
}

/// (until `start` returned, until every run asked).
async fn resume(
    cfg: RunConfig,
    certs_dir: &Path,
    n: usize,
) -> anyhow::Result<(Duration, Duration)> {
    let endpoint = Endpoint::bind(
        EndpointConfig::default(),
        Identity::load(certs_dir, "coordinator")?,
        PingHandler,
    )?;
    let asked = Arc::new(Asked {
        count: Default::default(),
        want: n,
        all: Notify::new(),
    });
    let (coordinator, _) = Actor::spawn(None, StandIn, asked.clone()).await?;
    let all = asked.all.notified();
    let t = Instant::now();
    let _service = RunService::start(cfg, endpoint, coordinator.clone()).await?;
    let started = t.elapsed();
    if tokio::time::timeout(Duration::from_secs(300), all)
        .await
        .is_err()
    {
        bail!("only {} of {n} runs resumed within 300 s", asked.count());
    }
    let took = t.elapsed();
    coordinator.stop(None);
    Ok((started, took))
}

/// Write `n` runs, each planned with its first task running attempt 1, as a coordinator that
/// died mid-run leaves them.
fn fill(path: &Path, org: &actors::org::Org, n: usize) -> anyhow::Result<()> {
    let outcome = super::super::demo::demo_outcome();
    let plan = actors::plan::plan(org, &outcome, &[])?;
    anyhow::ensure!(!plan.tasks.is_empty(), "the demo plan has tasks");
    let store = RunStore::open(path)?;
    for i in 0..n {
        let mut plan = plan.clone();
        plan.tasks[0].repo = own_repo(i);
        let json = serde_json::to_value(&plan)?;
        let mut run = RunRecord::new(
            uuid::Uuid::now_v7().to_string(),
            outcome.clone(),
            RunBudget::default(),
            0,
        );
        run.plan = Some(json);
        run.status = RunStatus::Changing;
        run.tasks = plan
            .tasks
            .iter()
            .enumerate()
            .map(|(k, t)| TaskRecord {
                id: t.id.clone(),
                repo: t.repo.clone(),
                role: t.role,
                depends_on: t.depends_on.clone(),
                instructions: t.instructions.clone(),
                state: if k == 0 {
                    TaskState::Running { attempt: 1 }
                } else {
                    TaskState::Waiting
                },
                attempts: u32::from(k == 0),
                findings: Vec::new(),
                results: Vec::new(),
            })
            .collect();
        store.put(&run)?;
    }
    Ok(())
}

/// The repo run `i`'s first task changes.
fn own_repo(i: usize) -> String {
    format!("backend-{i:05}")
}

/// How many runs asked where their task goes.
struct Asked {
    count: AtomicUsize,
    want: usize,
    all: Notify,
}

impl Asked {
    fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}

/// Counts the runs asking where their task goes (by their repo, each run's own) and answers
/// "no owner".
struct StandIn;

impl Actor for StandIn {
    type Msg = CoordinatorMsg;
    type State = (Arc<Asked>, HashSet<String>);
    type Arguments = Arc<Asked>;

    async fn pre_start(
        &self,
        _myself: ActorRef<CoordinatorMsg>,
        asked: Arc<Asked>,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok((asked, HashSet::new()))
    }

    async fn handle(
        &self,
        _myself: ActorRef<CoordinatorMsg>,
        message: CoordinatorMsg,
        (asked, repos): &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            CoordinatorMsg::Owner(repo, reply) => {
                if repos.insert(repo.as_str().to_owned()) && repos.len() == asked.want {
                    asked.all.notify_one();
                }
                asked.count.store(repos.len(), Ordering::Relaxed);
                let _ = reply.send(None);
            }
            CoordinatorMsg::Ranked(_, reply) => {
                let _ = reply.send(Vec::new());
            }
            CoordinatorMsg::Fence(repo, _, _, reply) => {
                let _ = reply.send(Err(FenceError::UnknownRepo(repo)));
            }
            CoordinatorMsg::Remote(_) | CoordinatorMsg::Tick => {}
        }
        Ok(())
    }
}
