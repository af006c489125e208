//! The factory wire format. Pure: no tokio, no quinn, no redb.
//!
//! Owns: newtype ids, the versioned [`Envelope`], the [`Body`] enum of every message, and the
//! framing (length prefix + MessagePack) with a hard size limit and a typed [`DecodeError`].
//! Does not own: sockets, streams, TLS or retries; those live in `factory-actors`' `net` module.

pub mod body;
pub mod cluster;
pub mod envelope;
pub mod frame;
pub mod ids;
pub mod memory;
pub mod outcome;
pub mod run;
pub mod targets;

pub use body::{Body, ErrorCode};
pub use cluster::{NodeStatus, ShardGrant, ShardStatus};
pub use envelope::{Envelope, PROTOCOL_VERSION, SUPPORTED_VERSIONS, TRACEPARENT, TRACESTATE};
pub use frame::{
    DEFAULT_MAX_FRAME, DecodeError, EncodeError, FrameReader, PREFIX_LEN, decode_frame,
    decode_payload, encode_frame,
};
pub use ids::{Epoch, MessageId, NodeId, RepoName, RunId};

#[cfg(test)]
mod tests;
