//! The run service's QUIC face: the `runs` actor answering Submit, GetRun and ListRuns (what
//! `factory ship` and `factory runs` call).

use actors::remote::Inbound;
use protocol::{Body, ErrorCode};
use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::service::{RunError, RunService};

/// The `runs` actor.
pub struct RunsActor;

/// Its one message: a remote request.
pub struct RunsMsg(Box<Inbound>);

impl From<Inbound> for RunsMsg {
    fn from(inbound: Inbound) -> Self {
        RunsMsg(Box::new(inbound))
    }
}

impl Actor for RunsActor {
    type Msg = RunsMsg;
    type State = RunService;
    type Arguments = RunService;

    async fn pre_start(
        &self,
        _myself: ActorRef<RunsMsg>,
        service: RunService,
    ) -> Result<RunService, ActorProcessingErr> {
        Ok(service)
    }

    async fn handle(
        &self,
        _myself: ActorRef<RunsMsg>,
        RunsMsg(inbound): RunsMsg,
        service: &mut RunService,
    ) -> Result<(), ActorProcessingErr> {
        let service = service.clone();
        // Store calls block a little; answer from a task so the mailbox keeps moving.
        tokio::spawn(async move {
            let Inbound {
                envelope,
                reply,
                from,
            } = *inbound;
            let body = match envelope.body {
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
            };
            let _ = reply.send(body);
        });
        Ok(())
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
