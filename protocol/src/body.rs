//! Message bodies: one typed enum for everything that crosses the wire.
//!
//! Variants use named fields so the MessagePack encoding is a map and new optional fields can be
//! added without breaking older readers. Add new messages as new variants at the end.

use crate::ids::NodeId;
use serde::{Deserialize, Serialize};

/// The body of an [`Envelope`](crate::Envelope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// The first request on every connection: who is calling and which protocol versions it speaks.
    Hello {
        /// The caller's node name; must match the name in its certificate.
        node: NodeId,
        /// Protocol versions the caller can speak.
        protocol_versions: Vec<u16>,
    },
    /// The reply to [`Body::Hello`].
    HelloAck {
        /// The answering node's name.
        node: NodeId,
    },
    /// A failure reply.
    Error {
        /// What went wrong, as a code the caller can act on.
        code: ErrorCode,
        /// Human-readable detail for logs; callers must not parse it.
        detail: String,
    },
    /// Liveness probe; the answer echoes the payload.
    Ping {
        /// Opaque bytes to echo.
        payload: Vec<u8>,
    },
    /// The reply to [`Body::Ping`].
    Pong {
        /// The bytes from the ping.
        payload: Vec<u8>,
    },
}

/// Error codes that cross the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The frame could not be decoded.
    Malformed,
    /// The frame was larger than the receiver accepts.
    TooLarge,
    /// The envelope's protocol version is not spoken here.
    UnsupportedVersion,
    /// The request's deadline had passed before it could be answered.
    DeadlineExceeded,
    /// The caller is not allowed to do this.
    Unauthorized,
    /// The request carried an epoch older than the receiver's.
    StaleEpoch,
    /// No actor at the target address, or no such object.
    NotFound,
    /// The receiver failed while handling the request.
    Internal,
    /// The receiver is overloaded; retry later.
    Busy,
}

impl Body {
    /// A short, low-cardinality name of the variant, for logs and span fields.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Hello { .. } => "hello",
            Body::HelloAck { .. } => "hello_ack",
            Body::Error { .. } => "error",
            Body::Ping { .. } => "ping",
            Body::Pong { .. } => "pong",
        }
    }

    /// Shorthand for an error body.
    pub fn error(code: ErrorCode, detail: impl Into<String>) -> Self {
        Body::Error {
            code,
            detail: detail.into(),
        }
    }
}
