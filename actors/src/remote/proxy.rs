//! Handles for actors on other nodes.

use super::{Registry, RemoteError, now_unix_ms};
use protocol::{Body, Envelope, Epoch};
use std::future::Future;
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

/// A transport into a registry in this process.
#[derive(Clone)]
pub struct Loopback(pub Registry);

impl Transport for Loopback {
    fn request(&self, request: Envelope) -> TransportFuture<'_> {
        Box::pin(async move { Ok(self.0.dispatch(request).await) })
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
