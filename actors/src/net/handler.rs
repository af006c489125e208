//! The server-side request handler trait.
//!
//! [`Handler`] uses `impl Future` in the trait so implementors write plain `async` code without
//! boxing; the endpoint stores it behind the object-safe [`DynHandler`], which boxes the future
//! once per request, so `Endpoint` itself is not generic.

use protocol::{Body, Envelope, NodeId};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

/// Who sent a request: the name from their certificate and their address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerInfo {
    /// The node name proven by the peer's certificate.
    pub node: NodeId,
    /// The peer's UDP address.
    pub addr: SocketAddr,
}

/// Answers requests arriving at an endpoint.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request. The returned body goes back on the request's stream; return
    /// [`Body::Error`] to fail. The endpoint enforces the request's deadline around this call.
    fn handle(&self, peer: PeerInfo, req: Envelope) -> impl Future<Output = Body> + Send;

    /// Receives a one-way message. By default it is handled as a request whose answer is dropped.
    fn notify(&self, peer: PeerInfo, msg: Envelope) -> impl Future<Output = ()> + Send {
        async move {
            let _ = self.handle(peer, msg).await;
        }
    }
}

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Object-safe form of [`Handler`]; implemented for every `Handler`.
pub trait DynHandler: Send + Sync + 'static {
    /// Boxed [`Handler::handle`].
    fn handle_dyn(&self, peer: PeerInfo, req: Envelope) -> BoxFuture<'_, Body>;
    /// Boxed [`Handler::notify`].
    fn notify_dyn(&self, peer: PeerInfo, msg: Envelope) -> BoxFuture<'_, ()>;
}

impl<H: Handler> DynHandler for H {
    fn handle_dyn(&self, peer: PeerInfo, req: Envelope) -> BoxFuture<'_, Body> {
        Box::pin(self.handle(peer, req))
    }

    fn notify_dyn(&self, peer: PeerInfo, msg: Envelope) -> BoxFuture<'_, ()> {
        Box::pin(self.notify(peer, msg))
    }
}

/// A handler made from an async closure-like function.
pub struct FnHandler<F>(pub F);

impl<F, Fut> Handler for FnHandler<F>
where
    F: Fn(PeerInfo, Envelope) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Body> + Send,
{
    fn handle(&self, peer: PeerInfo, req: Envelope) -> impl Future<Output = Body> + Send {
        (self.0)(peer, req)
    }
}

/// Answers `Ping` with `Pong` (same payload) and everything else with `NotFound`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PingHandler;

impl Handler for PingHandler {
    async fn handle(&self, _peer: PeerInfo, req: Envelope) -> Body {
        match req.body {
            Body::Ping { payload } => Body::Pong { payload },
            other => Body::error(
                protocol::ErrorCode::NotFound,
                format!("no handler for {}", other.kind()),
            ),
        }
    }
}
