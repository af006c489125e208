//! The real backend of the run driver: the planner in-process, tasks and verification rounds on
//! nodes over QUIC, artifacts kept on the coordinator, the bundle written at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actors::plan::Plan;
use protocol::outcome::{FindingNote, TaskSpec};
use protocol::run::{
    RepoRef, RunFinding, RunRecord, TaskAssignment, TaskRecord, TaskResult, TaskState,
    VerifyRequest,
};
use protocol::{Epoch, NodeId, RepoName};
use ractor::call_t;

use super::service::Inner;
use crate::artifacts;
use crate::driver::{BoxFuture, Steps, now_unix_ms};
use crate::service::{CoordinatorMsg, Placement};

/// Extra time a task's call gets beyond the agent's own limit, for git, checks and transfer.
const TASK_SLACK: Duration = Duration::from_secs(900);

pub(crate) struct ClusterSteps {
    pub(crate) inner: Arc<Inner>,
}

impl Steps for ClusterSteps {
    fn plan(
        &self,
        run: RunRecord,
    ) -> BoxFuture<'static, Result<(serde_json::Value, Vec<TaskRecord>), String>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let span = tracing::info_span!("plan.build", run = %run.id);
            let _g = span.enter();
            let contracts: Vec<String> = run
                .outcome
                .changes
                .iter()
                .map(|c| c.contract().to_string())
                .collect();
            let repos: Vec<String> = inner.cfg.org.repos.iter().map(|r| r.name.clone()).collect();
            let facts = super::learning::facts_for(&inner.memory, repos, contracts).await;
            let plan = inner.planner.plan(run.outcome.clone(), facts).await?;
            let tasks = plan
                .tasks
                .iter()
                .map(|t| TaskRecord {
                    id: t.id.clone(),
                    repo: t.repo.clone(),
                    role: t.role,
                    depends_on: t.depends_on.clone(),
                    instructions: t.instructions.clone(),
                    state: TaskState::Waiting,
                    attempts: 0,
                    findings: Vec::new(),
                    results: Vec::new(),
                })
                .collect();
            let json = serde_json::to_value(&plan).map_err(|e| e.to_string())?;
            Ok((json, tasks))
        })
    }

    fn dispatch(
        &self,
        run: RunRecord,
        task_id: String,
        attempt: u32,
        findings: Vec<FindingNote>,
    ) -> BoxFuture<'static, TaskResult> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let started = Instant::now();
            let mut result = match dispatch(&inner, &run, &task_id, attempt, findings).await {
                Ok(r) => r,
                Err(e) => failed(attempt, e),
            };
            result.wall_ms = started.elapsed().as_millis() as u64;
            result
        })
    }

    fn verify(
        &self,
        run: RunRecord,
        round: u32,
        _tasks: Vec<String>,
    ) -> BoxFuture<'static, Result<(serde_json::Value, Vec<RunFinding>), String>> {
        let inner = self.inner.clone();
        Box::pin(async move { verify(&inner, &run, round).await })
    }

    fn bundle(&self, run: RunRecord) -> BoxFuture<'static, Result<String, String>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let dir = inner.cfg.state_dir.join("bundles").join(&run.id);
            let artifacts = inner.cfg.state_dir.join("artifacts").join(&run.id);
            let learned = super::learning::learn_from(&inner, &run).await;
            let mut bundle = super::bundle::assemble(&run, &artifacts);
            bundle.learned = learned;
            let out =
                tokio::task::spawn_blocking(move || actors::bundle::write_bundle(&dir, &bundle))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?;
            inner.bundles.insert(run.id.clone(), out.dir.clone());
            Ok(out.dir.display().to_string())
        })
    }
}

async fn dispatch(
    inner: &Inner,
    run: &RunRecord,
    task_id: &str,
    attempt: u32,
    findings: Vec<FindingNote>,
) -> Result<TaskResult, String> {
    let plan = plan_of(run)?;
    let task = plan
        .tasks
        .iter()
        .find(|t| t.id == task_id)
        .ok_or_else(|| format!("task {task_id} is not in the plan"))?;
    let repo = inner
        .cfg
        .org
        .repo(&task.repo)
        .ok_or_else(|| format!("repo {} is not in the org", task.repo))?;
    let placement = place(inner, &task.repo).await?;
    let budget = &run.budget;
    let skill = super::learning::skill_for(inner, &task.repo).await;
    let assignment = TaskAssignment {
        task: TaskSpec {
            run_id: run.id.clone(),
            task_id: task.id.clone(),
            repo: task.repo.clone(),
            role: task.role,
            title: run.outcome.title.clone(),
            instructions: task.instructions.clone(),
            changes: task.changes.clone(),
            attempt,
            findings,
            context: task.context.clone(),
        },
        origin: repo.origin.clone(),
        epoch: placement.epoch.0,
        agent: inner.cfg.agent.clone(),
        skill,
        agent_timeout_secs: budget.agent_timeout_secs,
        agent_max_cost_usd: budget.agent_max_cost_usd,
    };
    tracing::info!(run = %run.id, task = task_id, attempt, node = %placement.node, epoch = placement.epoch.0, "task dispatched");
    let timeout = Duration::from_secs(budget.agent_timeout_secs) + TASK_SLACK;
    // A lost node or a moved repo re-sends the same attempt to the new owner (see `failover`).
    let (done, moves) = super::failover::send(inner, assignment, placement, timeout).await?;
    keep_artifacts(inner, &run.id, &done.artifacts);
    let mut result = done.result;
    result.moves = moves;
    // Fencing: a result stamped with an epoch older than the shard's is refused, so a node that
    // lost the repo while it worked cannot overwrite its successor's work.
    let fence = call_t!(
        inner.coordinator,
        CoordinatorMsg::Fence,
        5_000,
        RepoName::new(task.repo.clone()),
        Epoch(result.epoch),
        NodeId::new(result.node.clone())
    );
    match fence {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(run = %run.id, task = task_id, error = %e, "task result refused");
            result.ok = false;
            result.error = Some(format!("result refused: {e}"));
        }
        Err(e) => return Err(format!("coordinator: {e}")),
    }
    Ok(result)
}

async fn verify(
    inner: &Inner,
    run: &RunRecord,
    round: u32,
) -> Result<(serde_json::Value, Vec<RunFinding>), String> {
    let plan = plan_of(run)?;
    let org = &inner.cfg.org;
    // The system under test: every repo on a flow of an affected contract.
    let mut names: Vec<String> = plan.affected_repos.clone();
    for f in org
        .flows()
        .into_iter()
        .filter(|f| plan.affected_contracts.contains(&f.contract))
    {
        for n in [f.writer, f.reader] {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    let branch = format!("factory/{}", run.id);
    let repos: Vec<RepoRef> = names
        .iter()
        .filter_map(|n| org.repo(n))
        .map(|r| {
            let changed = run
                .tasks
                .iter()
                .any(|t| t.repo == r.name && t.results.iter().any(|x| x.branch.is_some()));
            RepoRef {
                name: r.name.clone(),
                origin: r.origin.clone(),
                branch: changed.then(|| branch.clone()),
            }
        })
        .collect();
    let first = names.first().cloned().ok_or("the plan has no repos")?;
    let placement = place(inner, &first).await?;
    let (gates, setup_steps) = super::learning::champions_for(&inner.memory, &names).await;
    let request = VerifyRequest {
        run_id: run.id.clone(),
        round,
        repos,
        changes: run.outcome.changes.clone(),
        gates,
        setup_steps,
    };
    let (done, placement, moves) = super::failover::verify(
        inner,
        request,
        placement,
        RepoName::new(first),
        inner.cfg.verify_timeout,
    )
    .await
    .map_err(|e| format!("verifier: {e}"))?;
    keep_artifacts(inner, &run.id, &done.artifacts);
    let mut report = done.report;
    report["node"] = serde_json::json!(placement.node.to_string());
    if !moves.is_empty() {
        report["moves"] = serde_json::json!(moves);
    }
    Ok((report, done.findings))
}

/// The live owner of a repo, waiting up to the placement timeout for one to appear.
async fn place(inner: &Inner, repo: &str) -> Result<Placement, String> {
    let deadline = Instant::now() + inner.cfg.placement_timeout;
    loop {
        match call_t!(
            inner.coordinator,
            CoordinatorMsg::Owner,
            5_000,
            RepoName::new(repo.to_string())
        ) {
            Ok(Some(p)) => return Ok(p),
            Ok(None) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Ok(None) => return Err(format!("no live node owns {repo}")),
            Err(e) => return Err(format!("coordinator: {e}")),
        }
    }
}

fn plan_of(run: &RunRecord) -> Result<Plan, String> {
    let json = run.plan.clone().ok_or("the run has no plan yet")?;
    serde_json::from_value(json).map_err(|e| format!("stored plan unreadable: {e}"))
}

fn keep_artifacts(inner: &Inner, run_id: &str, blobs: &[protocol::run::Blob]) {
    let root = inner.cfg.state_dir.join("artifacts");
    let _ = artifacts::store(&root, run_id, blobs);
}

fn failed(attempt: u32, error: String) -> TaskResult {
    let mut result = TaskResult::empty(attempt, String::new(), 0, now_unix_ms());
    result.error = Some(error);
    result
}
