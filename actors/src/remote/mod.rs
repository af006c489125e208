//! Messaging between actors on different nodes.
//!
//! Each node has a [`Registry`] of its local actors by name; an inbound request is an
//! [`Envelope`](protocol::Envelope) whose `target` names one of them, and the registry hands it
//! to that actor and returns the actor's reply. A [`RemoteActor`] is the other end: a local
//! handle that turns `call`/`send` into a request over a [`Transport`] to the node that hosts
//! the actor. The QUIC transport opens one stream per request; [`Loopback`] delivers straight
//! into a registry, for tests and for a process that talks to itself.

mod proxy;
mod registry;
#[cfg(test)]
mod tests;

pub use proxy::{Loopback, Quic, RemoteActor, Transport, TransportFuture};
pub use registry::{Inbound, Registry, RegistryHandler};

use protocol::ErrorCode;

/// Why a remote call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// The request could not be delivered or the reply could not be read.
    #[error("transport: {0}")]
    Transport(String),
    /// No reply before the deadline.
    #[error("no reply before the deadline")]
    DeadlineExceeded,
    /// The receiver answered with an error.
    #[error("refused with {code:?}: {detail}")]
    Refused {
        /// The error code from the reply.
        code: ErrorCode,
        /// Its detail, for logs.
        detail: String,
    },
}

/// Milliseconds since the Unix epoch, the unit envelope deadlines use.
pub fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
