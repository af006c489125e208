//! Networking between nodes: the cluster CA, mutual TLS, and request/reply over QUIC.
//!
//! Shape of the protocol on a connection: the client's first bidirectional stream carries a
//! `Hello` and gets a `HelloAck` (so a refused certificate shows at connect time); after that each
//! request opens its own bidirectional stream (the opener writes first), sends one frame and reads
//! one frame back; a one-way message is one frame on a unidirectional stream. Frames are
//! `protocol`'s length-prefixed envelopes. A bad frame fails only its own stream.
//!
//! Owns: certificates on disk, TLS configs, the endpoint and its connection cache.
//! Does not own: the message types (`protocol`) or what requests mean (the handler).

pub mod certs;
pub mod client;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod handler;
mod server;
pub mod stats;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod tls;
mod wire;

pub use certs::{Validity, init_ca, issue};
pub use client::{Peer, deadline_after, into_body};
pub use config::EndpointConfig;
pub use endpoint::Endpoint;
pub use error::NetError;
pub use handler::{FnHandler, Handler, PeerInfo, PingHandler};
pub use server::{CLOSE_HELLO_REFUSED, unix_ms};
pub use stats::{Stats, StatsSnapshot};
pub use tls::{ALPN, Identity};

#[cfg(test)]
mod tests;
