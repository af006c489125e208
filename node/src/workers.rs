//! The node's RepoAgent and Verifier actors.
//!
//! Each is a supervised ractor actor registered under its name (`repo-agent`, `verifier`). A
//! request's work runs in its own task, so one long agent run never holds up the mailbox: tasks for
//! different repos run in parallel, and the agent layer's per-repo lock keeps two attempts on one
//! repo from interleaving. A panic inside the work is caught and answered as an error reply, so
//! the coordinator records the crash and retries within the task's budget.

use std::sync::Arc;

use actors::remote::Inbound;
use protocol::{Body, ErrorCode};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tracing::{Instrument, Span};

use crate::task::{WorkConfig, run_task};
use crate::verify_round::verify_round;

/// Registry name of the RepoAgent actor.
pub const REPO_AGENT_TARGET: &str = protocol::targets::REPO_AGENT;
/// Registry name of the Verifier actor.
pub const VERIFIER_TARGET: &str = protocol::targets::VERIFIER;

/// Which kind of work an actor accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `RunTask` requests.
    RepoAgent,
    /// `Verify` requests.
    Verifier,
}

/// A worker actor (RepoAgent or Verifier).
#[derive(Clone)]
pub struct WorkerActor(pub Role);

/// Its one message: a remote request, with the span it arrived in.
pub struct WorkerMsg(Box<Inbound>, Span);

impl From<Inbound> for WorkerMsg {
    /// The registry builds the message while it serves the request, inside the `rpc.server`
    /// span whose parent is the caller: capturing the current span here carries it across the
    /// mailbox, so the work is traced as part of the caller's trace.
    fn from(inbound: Inbound) -> Self {
        WorkerMsg(Box::new(inbound), Span::current())
    }
}

impl Actor for WorkerActor {
    type Msg = WorkerMsg;
    type State = Arc<WorkConfig>;
    type Arguments = Arc<WorkConfig>;

    async fn pre_start(
        &self,
        _myself: ActorRef<WorkerMsg>,
        cfg: Arc<WorkConfig>,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(cfg)
    }

    async fn handle(
        &self,
        _myself: ActorRef<WorkerMsg>,
        WorkerMsg(inbound, span): WorkerMsg,
        cfg: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let Inbound {
            envelope, reply, ..
        } = *inbound;
        let cfg = cfg.clone();
        let role = self.0;
        tokio::spawn(
            async move {
                let kind = envelope.body.kind();
                let work = tokio::spawn(
                    async move {
                        match (role, envelope.body) {
                            (Role::RepoAgent, Body::RunTask { assignment }) => Body::TaskDone {
                                done: Box::new(run_task(&cfg, &assignment).await),
                            },
                            (Role::Verifier, Body::Verify { request }) => Body::VerifyDone {
                                done: Box::new(verify_round(&cfg, &request).await),
                            },
                            (_, other) => Body::error(
                                ErrorCode::NotFound,
                                format!("{role:?} does not handle {}", other.kind()),
                            ),
                        }
                    }
                    // The spawned task would otherwise start with no span.
                    .instrument(Span::current()),
                );
                let body = match work.await {
                    Ok(body) => body,
                    Err(e) => {
                        tracing::error!(?role, request = kind, error = %e, "worker crashed");
                        Body::error(
                            ErrorCode::Internal,
                            format!("{role:?} crashed while handling {kind}: {e}"),
                        )
                    }
                };
                let _ = reply.send(body);
            }
            .instrument(span),
        );
        Ok(())
    }
}
