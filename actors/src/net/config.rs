//! Endpoint settings with documented defaults.

use protocol::DEFAULT_MAX_FRAME;
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Settings of an [`Endpoint`](crate::net::Endpoint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EndpointConfig {
    /// UDP address to bind. Default `127.0.0.1:0` (any free port on loopback).
    pub bind: SocketAddr,
    /// Largest frame payload accepted or sent, in bytes. Default 16 MiB.
    pub max_frame: usize,
    /// Streams a peer may have open at once on one connection, each way (bi and uni counted
    /// separately). Further opens wait in the peer's QUIC flow control. Default 256.
    pub max_concurrent_streams: u32,
    /// Keep-alive ping interval. Default 1000 ms: well under the idle timeout, so a live but
    /// quiet connection is never closed, and a dead peer is noticed within the idle timeout.
    pub keep_alive_ms: u64,
    /// Idle timeout. Default 5000 ms: a crashed or partitioned peer is detected in about five
    /// seconds (quinn's default is 30 s with no keep-alive, too slow for failure detection),
    /// while tolerating a few lost keep-alives.
    pub idle_timeout_ms: u64,
    /// How long a new connection may take to send its hello, and a client waits for the
    /// hello's answer. Default 5000 ms.
    pub hello_timeout_ms: u64,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            max_frame: DEFAULT_MAX_FRAME,
            max_concurrent_streams: 256,
            keep_alive_ms: 1000,
            idle_timeout_ms: 5000,
            hello_timeout_ms: 5000,
        }
    }
}

impl EndpointConfig {
    /// The default settings bound to `addr`.
    pub fn bind(addr: SocketAddr) -> Self {
        Self {
            bind: addr,
            ..Self::default()
        }
    }

    /// The hello timeout as a duration.
    pub fn hello_timeout(&self) -> Duration {
        Duration::from_millis(self.hello_timeout_ms)
    }

    /// The QUIC transport settings derived from this config.
    pub fn transport(&self) -> Result<quinn::TransportConfig, crate::net::NetError> {
        let mut t = quinn::TransportConfig::default();
        let idle = quinn::IdleTimeout::try_from(Duration::from_millis(self.idle_timeout_ms))
            .map_err(|e| crate::net::NetError::Config(format!("idle timeout: {e}")))?;
        t.max_idle_timeout(Some(idle));
        t.keep_alive_interval(Some(Duration::from_millis(self.keep_alive_ms)));
        t.max_concurrent_bidi_streams(self.max_concurrent_streams.into());
        t.max_concurrent_uni_streams(self.max_concurrent_streams.into());
        Ok(t)
    }
}
