//! The envelope: addressing, correlation, deadline and trace context around a [`Body`].

use crate::body::Body;
use crate::ids::{Epoch, MessageId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The protocol version this build speaks and writes into every envelope.
pub const PROTOCOL_VERSION: u16 = 1;

/// Versions this build accepts on decode.
pub const SUPPORTED_VERSIONS: &[u16] = &[PROTOCOL_VERSION];

/// Header carrying the W3C trace context `traceparent`.
pub const TRACEPARENT: &str = "traceparent";

/// Header carrying the W3C trace context `tracestate`.
pub const TRACESTATE: &str = "tracestate";

/// One message on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Protocol version of this envelope; see [`PROTOCOL_VERSION`].
    pub version: u16,
    /// This message's id.
    pub id: MessageId,
    /// For a reply, the id of the request it answers.
    pub correlation: Option<MessageId>,
    /// Actor address of the receiver, e.g. `coordinator/membership`.
    pub target: String,
    /// Unix time in milliseconds after which the sender no longer wants an answer.
    pub deadline_unix_ms: u64,
    /// The sender's fencing epoch, when the message depends on one.
    pub epoch: Option<Epoch>,
    /// Free-form headers; carries `traceparent` and `tracestate`.
    pub headers: BTreeMap<String, String>,
    /// The typed payload.
    pub body: Body,
}

impl Envelope {
    /// A new request to `target` with a fresh id and the current protocol version.
    pub fn request(target: impl Into<String>, deadline_unix_ms: u64, body: Body) -> Self {
        Self {
            version: PROTOCOL_VERSION,
            id: MessageId::new(),
            correlation: None,
            target: target.into(),
            deadline_unix_ms,
            epoch: None,
            headers: BTreeMap::new(),
            body,
        }
    }

    /// A reply to this envelope: correlated to its id, same target and deadline, same trace headers.
    pub fn reply(&self, body: Body) -> Self {
        let headers = self
            .headers
            .iter()
            .filter(|(k, _)| k.as_str() == TRACEPARENT || k.as_str() == TRACESTATE)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Self {
            version: PROTOCOL_VERSION,
            id: MessageId::new(),
            correlation: Some(self.id),
            target: self.target.clone(),
            deadline_unix_ms: self.deadline_unix_ms,
            epoch: self.epoch,
            headers,
            body,
        }
    }

    /// Sets the epoch (builder style).
    pub fn with_epoch(mut self, epoch: Epoch) -> Self {
        self.epoch = Some(epoch);
        self
    }

    /// Sets one header (builder style).
    pub fn with_header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(key.into(), value.into());
        self
    }

    /// Whether the deadline has passed at `now_unix_ms`.
    pub fn expired_at(&self, now_unix_ms: u64) -> bool {
        now_unix_ms >= self.deadline_unix_ms
    }
}
