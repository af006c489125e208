//! The run driver: runs the effects the run machine asks for and feeds their results back.
//!
//! One driver task per run. Each effect becomes a future on a [`Steps`] backend (the real one
//! sends tasks to nodes over QUIC; tests use an in-process one); their results come back in
//! whatever order they finish, and every step is persisted before its effects start, so a
//! coordinator that dies mid-run resumes from the store with `Input::Start`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use actors::outcome::FindingNote;
use actors::telemetry;
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tracing::{Instrument, Span};

use crate::runs::{Effect, Input, RunMachine, RunRecord, RunStore, StoreError, TaskRecord};

/// A boxed future, so backends stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the driver needs from the rest of the factory. Each call is one effect of the machine.
pub trait Steps: Send + Sync + 'static {
    /// Plan the run: the plan as JSON and its tasks.
    fn plan(
        &self,
        run: RunRecord,
    ) -> BoxFuture<'static, Result<(serde_json::Value, Vec<TaskRecord>), String>>;
    /// Run one attempt of a task on the node that owns its repo.
    fn dispatch(
        &self,
        run: RunRecord,
        task_id: String,
        attempt: u32,
        findings: Vec<FindingNote>,
    ) -> BoxFuture<'static, crate::runs::TaskResult>;
    /// Verify the listed tasks' branches together.
    fn verify(
        &self,
        run: RunRecord,
        round: u32,
        tasks: Vec<String>,
    ) -> BoxFuture<'static, Result<(serde_json::Value, Vec<crate::runs::RunFinding>), String>>;
    /// Write the bundle; returns its folder.
    fn bundle(&self, run: RunRecord) -> BoxFuture<'static, Result<String, String>>;
}

/// Milliseconds since the Unix epoch.
pub fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Errors that stop a driver (the run itself stays in the store as it was).
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blocking store call panicked or was cancelled.
    #[error("run store task: {0}")]
    Join(String),
}

/// Drive a run from its stored state to a final, bundled state. Publishes every record it
/// persists on `updates` (for status displays and event streams).
///
/// The whole drive runs in the run's `run` span, and each effect in a child span of it, so the
/// calls an effect makes to nodes (and everything the nodes do for it) land in the run's trace.
pub async fn drive(
    store: RunStore,
    mut run: RunRecord,
    steps: Arc<dyn Steps>,
    updates: broadcast::Sender<RunRecord>,
) -> Result<RunRecord, DriveError> {
    let span = run_span(&run);
    // Only the first span's context is kept: every resumed span is then a child of the first,
    // however many restarts the run goes through.
    if run.traceparent.is_none() {
        run.traceparent = telemetry::traceparent_of(&span);
    }
    drive_in_span(store, run, steps, updates, span.clone())
        .instrument(span)
        .await
}

async fn drive_in_span(
    store: RunStore,
    run: RunRecord,
    steps: Arc<dyn Steps>,
    updates: broadcast::Sender<RunRecord>,
    span: Span,
) -> Result<RunRecord, DriveError> {
    // The record as the store holds it: `run` was read from it (a resume) or just written to it
    // (a submit). A step that changed nothing is not written again, so resuming many runs costs
    // reads, not one durable write each.
    let mut stored = run.clone();
    let mut machine = RunMachine::new(run);
    let mut inflight: JoinSet<Input> = JoinSet::new();
    let mut effects = machine.step(Input::Start, now_unix_ms());
    loop {
        if machine.run != stored {
            persist(&store, &machine.run).await?;
            stored = machine.run.clone();
        }
        let _ = updates.send(machine.run.clone());
        for effect in effects.drain(..) {
            let child = effect_span(&span, &machine.run.id, &effect);
            inflight
                .spawn(run_effect(steps.clone(), machine.run.clone(), effect).instrument(child));
        }
        let Some(joined) = inflight.join_next().await else {
            return Ok(machine.run);
        };
        let input = match joined {
            Ok(input) => input,
            // An effect's future panicked: the machine hears of it as a failed verification so
            // the run ends with a recorded error instead of hanging.
            Err(e) => Input::VerifyFailed {
                error: format!("internal step panicked: {e}"),
            },
        };
        effects = machine.step(input, now_unix_ms());
    }
}

/// The run's root span: a new trace, or the stored one continued after a restart.
fn run_span(run: &RunRecord) -> Span {
    match uuid::Uuid::parse_str(&run.id) {
        Ok(id) => telemetry::run_span(&protocol::RunId(id), run.traceparent.as_deref()),
        // Run ids are UUIDs; one that is not (a hand-edited store) still gets a span, in a new
        // trace, rather than failing the run over telemetry.
        Err(_) => tracing::info_span!(parent: None, "run", run_id = %run.id),
    }
}

/// The span one effect runs in, a child of the run's span.
fn effect_span(parent: &Span, run_id: &str, effect: &Effect) -> Span {
    match effect {
        Effect::Plan => tracing::info_span!(parent: parent, "run.plan", run_id),
        Effect::Dispatch {
            task_id, attempt, ..
        } => tracing::info_span!(parent: parent, "run.task", run_id, task = %task_id, attempt),
        Effect::Verify { round, tasks } => {
            tracing::info_span!(parent: parent, "run.verify", run_id, round, tasks = tasks.len())
        }
        Effect::Bundle => tracing::info_span!(parent: parent, "run.bundle", run_id),
    }
}

async fn run_effect(steps: Arc<dyn Steps>, run: RunRecord, effect: Effect) -> Input {
    match effect {
        Effect::Plan => match steps.plan(run).await {
            Ok((plan, tasks)) => Input::Planned { plan, tasks },
            Err(error) => Input::PlanFailed { error },
        },
        Effect::Dispatch {
            task_id,
            attempt,
            findings,
        } => {
            let result = steps
                .dispatch(run, task_id.clone(), attempt, findings)
                .await;
            Input::TaskFinished { task_id, result }
        }
        Effect::Verify { round, tasks } => match steps.verify(run, round, tasks).await {
            Ok((report, findings)) => Input::Verified { report, findings },
            Err(error) => Input::VerifyFailed { error },
        },
        Effect::Bundle => match steps.bundle(run).await {
            Ok(dir) => Input::Bundled { dir },
            // A bundle that cannot be written is recorded as the run's error; the run still ends.
            Err(error) => Input::Bundled {
                dir: format!("(bundle not written: {error})"),
            },
        },
    }
}

async fn persist(store: &RunStore, run: &RunRecord) -> Result<(), DriveError> {
    let (store, run) = (store.clone(), run.clone());
    tokio::task::spawn_blocking(move || store.put(&run))
        .await
        .map_err(|e| DriveError::Join(e.to_string()))??;
    Ok(())
}

#[cfg(test)]
mod tests;
