//! In-process helpers for tests: a cluster CA in a temp dir, identities, servers, raw streams.
//!
//! Available to this crate's tests and, with the `testkit` feature, to other crates' tests.
//! Helpers panic with a clear message on setup failure, as test code does.

use crate::net::certs::{Validity, cert_path, init_ca, issue};
use crate::net::error::NetError;
use crate::net::wire::{ReadFailure, read_envelope};
use crate::net::{Endpoint, EndpointConfig, Handler, Identity};
use protocol::{DEFAULT_MAX_FRAME, Envelope};
use std::path::Path;
use std::time::Duration;

/// A throwaway cluster CA in a temporary directory (removed on drop).
pub struct TestCa {
    dir: tempfile::TempDir,
}

impl TestCa {
    /// Creates a new CA.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("testkit: create temp dir for the CA");
        init_ca(dir.path()).expect("testkit: init CA");
        Self { dir }
    }

    /// The certificate directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The identity of `name`, issuing a one-day certificate on first use.
    pub fn identity(&self, name: &str) -> Identity {
        self.identity_with(name, Validity::days(1))
    }

    /// The identity of `name` with a certificate that has already expired.
    pub fn expired_identity(&self, name: &str) -> Identity {
        self.identity_with(name, Validity::expired())
    }

    fn identity_with(&self, name: &str, validity: Validity) -> Identity {
        if !cert_path(self.path(), name).exists() {
            issue(self.path(), name, validity).expect("testkit: issue certificate");
        }
        Identity::load(self.path(), name).expect("testkit: load identity")
    }

    /// Starts an endpoint named `name` on `127.0.0.1:0` serving `handler`.
    pub fn start(&self, name: &str, handler: impl Handler) -> Endpoint {
        start_with(self.identity(name), handler)
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

/// Starts an endpoint on `127.0.0.1:0` with `identity` serving `handler`.
pub fn start_with(identity: Identity, handler: impl Handler) -> Endpoint {
    Endpoint::bind(EndpointConfig::default(), identity, handler).expect("testkit: bind endpoint")
}

/// Writes arbitrary `bytes` on a new stream of `conn` and reads one reply frame, bypassing the
/// client's encoder: for feeding bad frames to a server. Write errors are ignored because a
/// server that refuses a frame stops the stream while we may still be writing.
pub async fn raw_exchange(
    conn: &quinn::Connection,
    bytes: &[u8],
    timeout: Duration,
) -> Result<Envelope, NetError> {
    let fut = async {
        let (mut send, mut recv) = conn.open_bi().await?;
        let _ = send.write_all(bytes).await;
        let _ = send.finish();
        read_envelope(&mut recv, DEFAULT_MAX_FRAME)
            .await
            .map_err(|e| match e {
                ReadFailure::Decode(e) => NetError::Decode(e),
                ReadFailure::Stream(e) => NetError::Stream(e),
            })
    };
    crate::net::client::with_deadline(timeout, fut).await
}

/// Opens a QUIC connection to `addr` with `identity` but sends no hello: for testing how a
/// server treats connections that break the protocol.
pub async fn raw_connect(
    identity: &Identity,
    addr: std::net::SocketAddr,
) -> Result<quinn::Connection, NetError> {
    use quinn::crypto::rustls::QuicClientConfig;
    use std::sync::Arc;
    let crypto = QuicClientConfig::try_from(crate::net::tls::client_config(identity)?)
        .map_err(|e| NetError::Config(e.to_string()))?;
    let mut client = quinn::ClientConfig::new(Arc::new(crypto));
    client.transport_config(Arc::new(EndpointConfig::default().transport()?));
    let bind = EndpointConfig::default().bind;
    let mut endpoint =
        quinn::Endpoint::client(bind).map_err(|source| NetError::Bind { addr: bind, source })?;
    endpoint.set_default_client_config(client);
    let connecting = endpoint
        .connect(addr, "factory")
        .map_err(|e| NetError::Connect {
            addr,
            detail: e.to_string(),
        })?;
    Ok(connecting.await?)
}
