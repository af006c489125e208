//! Calls a client makes to a coordinator.

use crate::service::TARGET;
use actors::net::Endpoint;
use actors::remote::{Quic, RemoteActor, RemoteError};
use protocol::{Body, ErrorCode, NodeStatus, ShardStatus};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The coordinator at `addr` as a remote actor.
pub fn coordinator(endpoint: &Endpoint, addr: SocketAddr) -> RemoteActor {
    RemoteActor::new(
        Arc::new(Quic {
            endpoint: endpoint.clone(),
            addr,
        }),
        TARGET,
    )
}

/// The cluster's nodes and shards.
pub async fn status(
    endpoint: &Endpoint,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<(Vec<NodeStatus>, Vec<ShardStatus>), RemoteError> {
    match coordinator(endpoint, addr)
        .call(Body::StatusRequest {}, timeout)
        .await?
    {
        Body::StatusReply { nodes, shards } => Ok((nodes, shards)),
        other => Err(RemoteError::Refused {
            code: ErrorCode::Malformed,
            detail: format!("expected a status reply, got {}", other.kind()),
        }),
    }
}
