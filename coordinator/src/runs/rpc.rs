//! The run service's QUIC faces: one actor shell ([`Face`]) per target, each answering with an
//! [`Answer`]: `runs` (Submit, GetRun, ListRuns: what `factory ship` and `factory runs` call)
//! here, and `memory` in [`super::memory_rpc`].

use std::marker::PhantomData;

use actors::remote::Inbound;
use protocol::{Body, Envelope, ErrorCode, NodeId};
use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::service::{RunError, RunService};

/// What one face of the run service answers: a remote request in, a reply body out.
pub trait Answer: Send + Sync + 'static {
    /// The reply to `envelope` from the peer `from` (named by its certificate).
    fn answer(
        service: RunService,
        from: NodeId,
        envelope: Envelope,
    ) -> impl std::future::Future<Output = Body> + Send;
}

/// An actor answering one target with `A`. Each request is answered from its own task (store
/// and memory calls block a little), so the mailbox keeps moving.
pub struct Face<A>(PhantomData<fn() -> A>);

impl<A> Face<A> {
    /// The actor.
    pub fn new() -> Self {
        Face(PhantomData)
    }
}

impl<A> Default for Face<A> {
    fn default() -> Self {
        Face::new()
    }
}

/// Its one message: a remote request.
pub struct FaceMsg(Box<Inbound>);

impl From<Inbound> for FaceMsg {
    fn from(inbound: Inbound) -> Self {
        FaceMsg(Box::new(inbound))
    }
}

impl<A: Answer> Actor for Face<A> {
    type Msg = FaceMsg;
    type State = RunService;
    type Arguments = RunService;

    async fn pre_start(
        &self,
        _myself: ActorRef<FaceMsg>,
        service: RunService,
    ) -> Result<RunService, ActorProcessingErr> {
        Ok(service)
    }

    async fn handle(
        &self,
        _myself: ActorRef<FaceMsg>,
        FaceMsg(inbound): FaceMsg,
        service: &mut RunService,
    ) -> Result<(), ActorProcessingErr> {
        let service = service.clone();
        tokio::spawn(async move {
            let Inbound {
                envelope,
                reply,
                from,
            } = *inbound;
            let _ = reply.send(A::answer(service, from, envelope).await);
        });
        Ok(())
    }
}

/// The `runs` target: Submit, GetRun, ListRuns.
pub struct Runs;

impl Answer for Runs {
    async fn answer(service: RunService, from: NodeId, envelope: Envelope) -> Body {
        match envelope.body {
            Body::Submit { outcome } => match service.submit(outcome).await {
                Ok(run_id) => {
                    tracing::info!(client = %from, run = %run_id, "outcome submitted over rpc");
                    Body::Submitted { run_id }
                }
                Err(e) => error(e),
            },
            Body::GetRun { run_id } => match service.get(&run_id).await {
                Ok(Some(run)) => Body::Run { run: Box::new(run) },
                Ok(None) => Body::error(ErrorCode::NotFound, format!("no run {run_id}")),
                Err(e) => error(e),
            },
            Body::ListRuns => match service.list().await {
                Ok(runs) => Body::Runs { runs },
                Err(e) => error(e),
            },
            other => Body::error(
                ErrorCode::NotFound,
                format!("the run service does not handle {}", other.kind()),
            ),
        }
    }
}

fn error(e: RunError) -> Body {
    let code = match e {
        RunError::NotFound(_) => ErrorCode::NotFound,
        RunError::Conflict(_) => ErrorCode::Malformed,
        RunError::Store(_) | RunError::Internal(_) => ErrorCode::Internal,
    };
    Body::error(code, e.to_string())
}
