//! The node's RepoAgent and Verifier actors.
//!
//! Each is a supervised ractor actor registered under its name (`repo-agent`, `verifier`). A
//! request's work runs in its own task, so one long agent run never holds up the mailbox: tasks for
//! different repos run in parallel, and the agent layer's per-repo lock keeps two attempts on one
//! repo from interleaving. A panic inside the work is caught and answered as an error reply, so
//! the coordinator records the crash and retries within the task's budget.
//!
//! A `RunTask` repeated with the same (run, task, attempt, epoch) is not run again: it waits for,
//! or gets, the reply of the first (see [`crate::attempts`]); so is a repeated `Verify` round.

use std::sync::Arc;

use actors::remote::Inbound;
use protocol::run::{TaskAssignment, VerifyRequest};
use protocol::{Body, ErrorCode};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::sync::watch;
use tracing::{Instrument, Span};

use crate::attempts::{AttemptKey, Attempts, Claim, Grants, Tenure, repeat};
use crate::task::{WorkConfig, run_task_with};
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

/// What a worker works with; shared by its restarts, so the attempts table outlives a crash.
#[derive(Clone)]
pub struct WorkerArgs {
    /// Where and how tasks run.
    pub cfg: Arc<WorkConfig>,
    /// The node's shard grants, updated by its heartbeat.
    pub shards: watch::Receiver<Grants>,
    /// Attempts running or finished on this node.
    pub attempts: Arc<Attempts>,
}

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
    type State = WorkerArgs;
    type Arguments = WorkerArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<WorkerMsg>,
        args: WorkerArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(args)
    }

    async fn handle(
        &self,
        _myself: ActorRef<WorkerMsg>,
        WorkerMsg(inbound, span): WorkerMsg,
        args: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let Inbound {
            envelope, reply, ..
        } = *inbound;
        let args = args.clone();
        let role = self.0;
        tokio::spawn(
            async move {
                let body = match (role, envelope.body) {
                    (Role::RepoAgent, Body::RunTask { assignment }) => {
                        task(args, *assignment).await
                    }
                    (Role::Verifier, Body::Verify { request }) => verify(args, *request).await,
                    (_, other) => Body::error(
                        ErrorCode::NotFound,
                        format!("{role:?} does not handle {}", other.kind()),
                    ),
                };
                let _ = reply.send(body);
            }
            .instrument(span),
        );
        Ok(())
    }
}

/// One `RunTask`: run it, or answer a repeat with the first run's reply.
async fn task(args: WorkerArgs, assignment: TaskAssignment) -> Body {
    let key = AttemptKey::of(&assignment);
    let tx = match args.attempts.claim(&key) {
        Claim::Repeat(reply) => {
            tracing::info!(run = %key.run, task = %key.task, attempt = key.attempt, epoch = key.epoch, "repeated task request; answering with the first run's reply");
            return repeat(reply).await;
        }
        Claim::Run(tx) => tx,
    };
    let tenure = Tenure::start(&args.shards);
    let turn = args.attempts.turn(&key).await;
    let cfg = args.cfg.clone();
    let body = guarded(Role::RepoAgent, "run_task", async move {
        Body::TaskDone {
            done: Box::new(run_task_with(&cfg, &assignment, Some(&tenure)).await),
        }
    })
    .await;
    drop(turn);
    args.attempts.finish(&key, tx, body.clone());
    body
}

/// One `Verify`: run the round, or answer a repeat (the coordinator re-sends a round whose reply
/// it lost) with the first run's reply; two runs of one round would share its folder.
async fn verify(args: WorkerArgs, request: VerifyRequest) -> Body {
    let key = AttemptKey::round(&request);
    let tx = match args.attempts.claim(&key) {
        Claim::Repeat(reply) => {
            tracing::info!(run = %key.run, round = key.attempt, "repeated verification request; answering with the first run's reply");
            return repeat(reply).await;
        }
        Claim::Run(tx) => tx,
    };
    let cfg = args.cfg.clone();
    let body = guarded(Role::Verifier, "verify", async move {
        Body::VerifyDone {
            done: Box::new(verify_round(&cfg, &request).await),
        }
    })
    .await;
    args.attempts.finish(&key, tx, body.clone());
    body
}

/// Run work in its own task so a panic in it is caught and answered as an error reply.
async fn guarded(
    role: Role,
    kind: &'static str,
    work: impl std::future::Future<Output = Body> + Send + 'static,
) -> Body {
    // The spawned task would otherwise start with no span.
    match tokio::spawn(work.instrument(Span::current())).await {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(?role, request = kind, error = %e, "worker crashed");
            Body::error(
                ErrorCode::Internal,
                format!("{role:?} crashed while handling {kind}: {e}"),
            )
        }
    }
}
