//! The one error type of the `net` module family.

use protocol::{DecodeError, EncodeError, ErrorCode};
use std::net::SocketAddr;
use std::path::PathBuf;
use thiserror::Error;

/// Everything that can go wrong in certificates, TLS setup, connections and calls.
#[derive(Debug, Error)]
pub enum NetError {
    /// Reading or writing a certificate or key file failed.
    #[error("{path}: {source}")]
    File {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A certificate or key file already exists and would be overwritten.
    #[error("{0} already exists; refusing to overwrite it")]
    AlreadyExists(PathBuf),
    /// A certificate could not be generated or parsed.
    #[error("certificate: {0}")]
    Cert(String),
    /// A TLS or QUIC configuration could not be built.
    #[error("tls config: {0}")]
    Config(String),
    /// The local UDP socket could not be bound.
    #[error("bind {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The QUIC/TLS handshake with `addr` failed (e.g. the server's certificate was refused).
    #[error("connect to {addr}: {detail}")]
    Connect {
        /// The peer's address.
        addr: SocketAddr,
        /// What failed.
        detail: String,
    },
    /// The peer refused us during the hello (typically it refused our certificate).
    #[error("refused by {addr}: {detail}")]
    Refused {
        /// The peer's address.
        addr: SocketAddr,
        /// Why, as reported by the connection or the peer.
        detail: String,
    },
    /// The connection broke while a call was in flight.
    #[error("connection lost: {0}")]
    Connection(#[from] quinn::ConnectionError),
    /// A stream broke while a call was in flight.
    #[error("stream: {0}")]
    Stream(String),
    /// The call's deadline passed before a reply arrived.
    #[error("deadline exceeded after {after_ms} ms")]
    DeadlineExceeded {
        /// How long the call waited.
        after_ms: u64,
    },
    /// The peer answered with an error body.
    #[error("remote error {code:?}: {detail}")]
    Remote {
        /// The code from the peer.
        code: ErrorCode,
        /// The peer's detail text (for logs only).
        detail: String,
    },
    /// The peer's reply could not be decoded.
    #[error("decode reply: {0}")]
    Decode(#[from] DecodeError),
    /// Our request could not be encoded.
    #[error("encode request: {0}")]
    Encode(#[from] EncodeError),
    /// The reply is not the one expected for the request.
    #[error("unexpected reply: {0}")]
    UnexpectedReply(String),
}

impl NetError {
    /// The wire error code this error corresponds to, when there is one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            NetError::Remote { code, .. } => Some(*code),
            NetError::DeadlineExceeded { .. } => Some(ErrorCode::DeadlineExceeded),
            NetError::Refused { .. } => Some(ErrorCode::Unauthorized),
            _ => None,
        }
    }

    pub(crate) fn file(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> NetError {
        let path = path.into();
        move |source| NetError::File { path, source }
    }
}
