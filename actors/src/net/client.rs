//! The calling side of one connection: [`Peer`].

use crate::net::error::NetError;
use crate::net::server::unix_ms;
use crate::net::wire::{ReadFailure, read_envelope, write_envelope};
use crate::telemetry;
use protocol::{Body, Envelope, NodeId};
use std::net::SocketAddr;
use std::time::Duration;

/// An established, hello-checked connection to one node. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Peer {
    pub(crate) conn: quinn::Connection,
    pub(crate) node: NodeId,
    pub(crate) max_frame: usize,
}

impl Peer {
    /// The peer's node name, from its certificate.
    pub fn node(&self) -> &NodeId {
        &self.node
    }

    /// The peer's address.
    pub fn addr(&self) -> SocketAddr {
        self.conn.remote_address()
    }

    /// Whether the connection has closed (the cache then reconnects).
    pub fn is_closed(&self) -> bool {
        self.conn.close_reason().is_some()
    }

    /// The underlying QUIC connection, for tests and tools that need raw streams.
    pub fn connection(&self) -> &quinn::Connection {
        &self.conn
    }

    /// Sends `body` to `target` and waits up to `timeout` for the answer; an error body becomes
    /// [`NetError::Remote`].
    pub async fn call(
        &self,
        target: &str,
        body: Body,
        timeout: Duration,
    ) -> Result<Body, NetError> {
        let req = Envelope::request(target, deadline_after(timeout), body);
        into_body(self.request(req).await?)
    }

    /// Sends a full request envelope and waits for its reply until the envelope's deadline.
    /// Runs in an `rpc.client` span whose trace context goes into the envelope's headers
    /// (unless the caller already set a `traceparent`).
    pub async fn request(&self, mut req: Envelope) -> Result<Envelope, NetError> {
        let span = telemetry::client_span(&self.addr(), &mut req);
        let budget = budget(&req)?;
        let max = self.max_frame;
        traced(
            span,
            with_deadline(budget, async {
                let (send, recv) = self.conn.open_bi().await?;
                exchange(send, recv, &req, max).await
            }),
        )
        .await
    }

    /// Sends a one-way message on its own stream, in an `rpc.client` span like [`Peer::request`].
    pub async fn send(&self, mut msg: Envelope) -> Result<(), NetError> {
        let span = telemetry::client_span(&self.addr(), &mut msg);
        let budget = budget(&msg)?;
        traced(
            span,
            with_deadline(budget, async {
                let mut send = self.conn.open_uni().await?;
                write_envelope(&mut send, &msg, self.max_frame).await
            }),
        )
        .await
    }
}

/// Unix ms `timeout` from now.
pub fn deadline_after(timeout: Duration) -> u64 {
    unix_ms().saturating_add(timeout.as_millis() as u64)
}

/// Turns a reply envelope into its body, an error body into [`NetError::Remote`].
pub fn into_body(reply: Envelope) -> Result<Body, NetError> {
    match reply.body {
        Body::Error { code, detail } => Err(NetError::Remote { code, detail }),
        body => Ok(body),
    }
}

/// Time left until the envelope's deadline; already expired is an error without sending.
pub(crate) fn budget(env: &Envelope) -> Result<Duration, NetError> {
    let now = unix_ms();
    if env.expired_at(now) {
        return Err(NetError::DeadlineExceeded { after_ms: 0 });
    }
    Ok(Duration::from_millis(env.deadline_unix_ms - now))
}

/// Runs `fut` under a client-side timeout.
pub(crate) async fn with_deadline<T>(
    budget: Duration,
    fut: impl Future<Output = Result<T, NetError>>,
) -> Result<T, NetError> {
    match tokio::time::timeout(budget, fut).await {
        Ok(result) => result,
        Err(_) => Err(NetError::DeadlineExceeded {
            after_ms: budget.as_millis() as u64,
        }),
    }
}

/// Runs `fut` inside `span`, recording a failure on the span.
pub(crate) async fn traced<T>(
    span: tracing::Span,
    fut: impl Future<Output = Result<T, NetError>>,
) -> Result<T, NetError> {
    use tracing::Instrument;
    let result = fut.instrument(span.clone()).await;
    if let Err(error) = &result {
        telemetry::record_error(&span, error);
    }
    result
}

/// Writes `req` on an opened stream pair and reads the one reply.
pub(crate) async fn exchange(
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    req: &Envelope,
    max_frame: usize,
) -> Result<Envelope, NetError> {
    write_envelope(&mut send, req, max_frame).await?;
    let reply = read_envelope(&mut recv, max_frame)
        .await
        .map_err(|e| match e {
            ReadFailure::Decode(e) => NetError::Decode(e),
            ReadFailure::Stream(e) => NetError::Stream(e),
        })?;
    // Error replies to unreadable frames carry no correlation; anything else must match.
    let uncorrelated_error =
        reply.correlation.is_none() && matches!(reply.body, Body::Error { .. });
    if reply.correlation != Some(req.id) && !uncorrelated_error {
        return Err(NetError::UnexpectedReply(format!(
            "reply correlates to {:?}, request was {}",
            reply.correlation, req.id
        )));
    }
    Ok(reply)
}
