//! A one-for-one supervisor with restart backoff.
//!
//! ractor's default `handle_supervisor_evt` stops a supervisor when a child fails. This
//! supervisor starts its children from [`ChildSpec`] factories, restarts a child that panicked
//! or returned an error after a backoff from its [`RestartPolicy`], and reports each restart on
//! an optional event channel. When a child exhausts its restart budget the supervisor fails
//! itself, escalating to its own supervisor. A child that stops cleanly is left stopped.
//!
//! Children are spawned without ractor names, because ractor's name registry is global to the
//! process and several nodes may share one process in tests; callers find children through
//! [`SupervisorMsg::Child`] or through the `on_start` hook of [`ChildSpec::actor`].

mod policy;
#[cfg(test)]
mod tests;

pub use policy::{Decision, RestartBudget, RestartPolicy};

use ractor::{
    Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SpawnErr, SupervisionEvent,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The future a child factory returns: the new child's cell.
pub type StartFuture = Pin<Box<dyn Future<Output = Result<ActorCell, SpawnErr>> + Send>>;

/// How to start (and restart) one child.
#[derive(Clone)]
pub struct ChildSpec {
    name: String,
    start: Arc<dyn Fn(ActorCell) -> StartFuture + Send + Sync>,
}

impl ChildSpec {
    /// A child started by `start`, which gets the supervisor's cell and must spawn the child
    /// linked to it (`Actor::spawn_linked(.., supervisor)`).
    pub fn new<F, Fut>(name: impl Into<String>, start: F) -> Self
    where
        F: Fn(ActorCell) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ActorCell, SpawnErr>> + Send + 'static,
    {
        ChildSpec {
            name: name.into(),
            start: Arc::new(move |cell| Box::pin(start(cell))),
        }
    }

    /// A child that is the actor `actor` started with clones of `args`. `on_start` sees every
    /// new incarnation, so a registry can point at the current one.
    pub fn actor<A, F>(name: impl Into<String>, actor: A, args: A::Arguments, on_start: F) -> Self
    where
        A: Actor + Clone + Sync,
        A::Arguments: Clone + Sync,
        F: Fn(ActorRef<A::Msg>) + Send + Sync + 'static,
    {
        let on_start = Arc::new(on_start);
        ChildSpec::new(name, move |supervisor| {
            let (actor, args, on_start) = (actor.clone(), args.clone(), on_start.clone());
            async move {
                let (child, _) = A::spawn_linked(None, actor, args, supervisor).await?;
                on_start(child.clone());
                Ok(child.get_cell())
            }
        })
    }

    /// The child's name within its supervisor.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// What the supervisor reports on its event channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SupervisorEvent {
    /// A child failed and will be restarted after `after`.
    Restarting {
        /// The child's name.
        child: String,
        /// Restart number within the policy window.
        attempt: u32,
        /// The backoff before the restart.
        after: Duration,
    },
    /// A child is running again.
    Restarted {
        /// The child's name.
        child: String,
    },
    /// A child spent its restart budget; the supervisor fails.
    GaveUp {
        /// The child's name.
        child: String,
    },
}

/// One child's line in [`SupervisorMsg::Report`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildReport {
    /// The child's name.
    pub name: String,
    /// Whether it is running now.
    pub running: bool,
    /// Restarts since the supervisor started.
    pub restarts: u64,
}

/// Messages to the supervisor.
pub enum SupervisorMsg {
    /// Internal: restart child number `.0` now.
    Restart(usize),
    /// The current incarnation of a child, if it is running.
    Child(String, RpcReplyPort<Option<ActorCell>>),
    /// A report on every child.
    Report(RpcReplyPort<Vec<ChildReport>>),
}

/// Start-up arguments.
pub struct SupervisorArgs {
    /// The children, started in order.
    pub children: Vec<ChildSpec>,
    /// How failures are treated.
    pub policy: RestartPolicy,
    /// Where to report restarts; events are dropped when it is full, never awaited.
    pub events: Option<mpsc::Sender<SupervisorEvent>>,
}

/// The supervisor actor.
pub struct Supervisor;

/// The supervisor's state.
pub struct SupervisorState {
    children: Vec<Child>,
    policy: RestartPolicy,
    events: Option<mpsc::Sender<SupervisorEvent>>,
}

struct Child {
    spec: ChildSpec,
    cell: Option<ActorCell>,
    budget: RestartBudget,
    restarts: u64,
}

impl SupervisorState {
    fn emit(&self, event: SupervisorEvent) {
        if let Some(events) = &self.events {
            let _ = events.try_send(event);
        }
    }

    fn index_of(&self, cell: &ActorCell) -> Option<usize> {
        let id = cell.get_id();
        self.children
            .iter()
            .position(|c| c.cell.as_ref().is_some_and(|x| x.get_id() == id))
    }

    /// Record a failure of child `i` and schedule its restart or give up.
    fn failed(
        &mut self,
        myself: &ActorRef<SupervisorMsg>,
        i: usize,
        why: &str,
    ) -> Result<(), ActorProcessingErr> {
        let policy = self.policy;
        let child = &mut self.children[i];
        child.cell = None;
        let name = child.spec.name.clone();
        match child.budget.on_failure(&policy, Instant::now()) {
            Decision::Restart { after, attempt } => {
                tracing::warn!(child = %name, attempt, after_ms = after.as_millis() as u64, error = %why, "child failed, restarting");
                self.emit(SupervisorEvent::Restarting {
                    child: name,
                    attempt,
                    after,
                });
                myself.send_after(after, move || SupervisorMsg::Restart(i));
                Ok(())
            }
            Decision::GiveUp => {
                tracing::error!(child = %name, error = %why, "child spent its restart budget");
                self.emit(SupervisorEvent::GaveUp {
                    child: name.clone(),
                });
                Err(format!("child {name} failed too often: {why}").into())
            }
        }
    }
}

impl Actor for Supervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = SupervisorArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: SupervisorArgs,
    ) -> Result<SupervisorState, ActorProcessingErr> {
        let children = args
            .children
            .into_iter()
            .map(|spec| Child {
                spec,
                cell: None,
                budget: RestartBudget::default(),
                restarts: 0,
            })
            .collect();
        Ok(SupervisorState {
            children,
            policy: args.policy,
            events: args.events,
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        // Children start after the supervisor is fully up, so their failures find it ready.
        for child in &mut state.children {
            child.cell = Some((child.spec.start)(myself.get_cell()).await?);
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: SupervisorMsg,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SupervisorMsg::Restart(i) => {
                let Some(child) = state.children.get(i) else {
                    return Ok(());
                };
                let spec = child.spec.clone();
                match (spec.start)(myself.get_cell()).await {
                    Ok(cell) => {
                        state.children[i].cell = Some(cell);
                        state.children[i].restarts += 1;
                        tracing::info!(child = %spec.name, "child restarted");
                        state.emit(SupervisorEvent::Restarted { child: spec.name });
                    }
                    Err(e) => state.failed(&myself, i, &e.to_string())?,
                }
            }
            SupervisorMsg::Child(name, reply) => {
                let cell = state
                    .children
                    .iter()
                    .find(|c| c.spec.name == name)
                    .and_then(|c| c.cell.clone());
                let _ = reply.send(cell);
            }
            SupervisorMsg::Report(reply) => {
                let report = state
                    .children
                    .iter()
                    .map(|c| ChildReport {
                        name: c.spec.name.clone(),
                        running: c.cell.is_some(),
                        restarts: c.restarts,
                    })
                    .collect();
                let _ = reply.send(report);
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(cell, err) => {
                if let Some(i) = state.index_of(&cell) {
                    state.failed(&myself, i, &err.to_string())?;
                }
            }
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                // A clean stop is a decision, not a fault: leave the child stopped.
                if let Some(i) = state.index_of(&cell) {
                    tracing::info!(child = %state.children[i].spec.name, reason = ?reason, "child stopped");
                    state.children[i].cell = None;
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        for child in &state.children {
            if let Some(cell) = &child.cell {
                cell.stop(Some("supervisor stopped".to_owned()));
            }
        }
        Ok(())
    }
}
