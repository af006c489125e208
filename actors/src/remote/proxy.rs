//! Handles for actors on other nodes.

use super::{Registry, RemoteError, now_unix_ms};
use crate::net::{Endpoint, NetError};
use protocol::{Body, Envelope, Epoch, NodeId};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// The future a [`Transport`] returns: the reply envelope.
pub type TransportFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Envelope, RemoteError>> + Send + 'a>>;

/// A way to deliver one request to one peer node and read its reply. The QUIC transport opens
/// a stream per request; [`Loopback`] calls a registry directly.
pub trait Transport: Send + Sync {
    /// Deliver `request` and return the reply. Implementations must give up at the envelope's
    /// deadline.
    fn request(&self, request: Envelope) -> TransportFuture<'_>;
}

/// A transport into a registry in this process; requests appear to come from the given node.
#[derive(Clone)]
pub struct Loopback(pub Registry, pub NodeId);

impl Transport for Loopback {
    fn request(&self, request: Envelope) -> TransportFuture<'_> {
        Box::pin(async move { Ok(self.0.dispatch(self.1.clone(), request).await) })
    }
}

/// A transport to the node at `addr` over a QUIC endpoint, one stream per request.
#[derive(Clone)]
pub struct Quic {
    /// The local endpoint; its connection cache is shared by every handle.
    pub endpoint: Endpoint,
    /// The peer's address.
    pub addr: SocketAddr,
}

impl Transport for Quic {
    fn request(&self, request: Envelope) -> TransportFuture<'_> {
        Box::pin(async move {
            self.endpoint
                .request(self.addr, request)
                .await
                .map_err(|e| match e {
                    NetError::DeadlineExceeded { .. } => RemoteError::DeadlineExceeded,
                    NetError::Remote { code, detail } => RemoteError::Refused { code, detail },
                    other => RemoteError::Transport(other.to_string()),
                })
        })
    }
}

/// A local handle for an actor on another node.
#[derive(Clone)]
pub struct RemoteActor {
    transport: Arc<dyn Transport>,
    target: String,
    epoch: Option<Epoch>,
}

impl RemoteActor {
    /// The actor named `target` on the node behind `transport`.
    pub fn new(transport: Arc<dyn Transport>, target: impl Into<String>) -> Self {
        RemoteActor {
            transport,
            target: target.into(),
            epoch: None,
        }
    }

    /// The same actor, with every request fenced by `epoch`.
    pub fn with_epoch(mut self, epoch: Epoch) -> Self {
        self.epoch = Some(epoch);
        self
    }

    /// The target's name.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Send `body` and wait up to `timeout` for the reply body. An error reply becomes
    /// [`RemoteError::Refused`].
    pub async fn call(&self, body: Body, timeout: Duration) -> Result<Body, RemoteError> {
        let deadline = now_unix_ms().saturating_add(timeout.as_millis() as u64);
        let mut request = Envelope::request(self.target.clone(), deadline, body);
        request.epoch = self.epoch;
        let reply = tokio::time::timeout(timeout, self.transport.request(request))
            .await
            .map_err(|_| RemoteError::DeadlineExceeded)??;
        match reply.body {
            Body::Error { code, detail } => Err(RemoteError::Refused { code, detail }),
            body => Ok(body),
        }
    }

    /// Send `body` and wait only for delivery: the reply body is dropped, an error reply is not.
    pub async fn send(&self, body: Body, timeout: Duration) -> Result<(), RemoteError> {
        self.call(body, timeout).await.map(|_| ())
    }
}
