//! The node's own addressable actor, `node`: answers pings and reports the repos the node owns.
//! It runs under the node's supervisor and re-registers itself in the registry on every
//! restart, so remote callers never hold a stale handle.

use crate::attempts::Grants;
use actors::remote::Inbound;
use protocol::{Body, ErrorCode};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::sync::watch;

/// The registry name of the node actor.
pub const NODE_TARGET: &str = "node";

/// The node actor.
#[derive(Clone)]
pub struct NodeActor;

/// Its one message: a remote request.
pub struct NodeMsg(Box<Inbound>);

impl From<Inbound> for NodeMsg {
    fn from(inbound: Inbound) -> Self {
        NodeMsg(Box::new(inbound))
    }
}

impl Actor for NodeActor {
    type Msg = NodeMsg;
    type State = watch::Receiver<Grants>;
    type Arguments = watch::Receiver<Grants>;

    async fn pre_start(
        &self,
        _myself: ActorRef<NodeMsg>,
        shards: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(shards)
    }

    async fn handle(
        &self,
        _myself: ActorRef<NodeMsg>,
        NodeMsg(inbound): NodeMsg,
        shards: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let reply = match &inbound.envelope.body {
            Body::Ping { payload } => Body::Pong {
                payload: payload.clone(),
            },
            Body::Heartbeat { .. } => Body::HeartbeatAck {
                shards: shards.borrow().shards.clone(),
            },
            other => Body::error(
                ErrorCode::NotFound,
                format!("the node does not handle {}", other.kind()),
            ),
        };
        let _ = inbound.reply.send(reply);
        Ok(())
    }
}
