//! [`Endpoint`]: one UDP socket that serves requests and makes calls, with a connection cache.

use crate::net::client::{
    Peer, budget, deadline_after, exchange, into_body, traced, with_deadline,
};
use crate::net::config::EndpointConfig;
use crate::net::error::NetError;
use crate::net::handler::{DynHandler, Handler};
use crate::net::server::{Shared, accept_loop};
use crate::net::stats::Stats;
use crate::net::tls::{Identity, client_config, connection_peer, server_config};
use crate::telemetry;
use dashmap::DashMap;
use protocol::{Body, Envelope, NodeId, PROTOCOL_VERSION};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// Server name sent in the TLS handshake. Servers are checked against the name in their own
/// certificate (see [`crate::net::tls::ClusterServerVerifier`]), so this value is not used to
/// decide anything.
const SNI: &str = "factory";

/// A QUIC endpoint that is both server (answering with a [`Handler`]) and client.
/// Cheap to clone; closes when the last clone is dropped.
#[derive(Clone)]
pub struct Endpoint {
    inner: Arc<Inner>,
}

struct Inner {
    quinn: quinn::Endpoint,
    node: NodeId,
    config: EndpointConfig,
    stats: Arc<Stats>,
    /// One slot per address.
    peers: DashMap<SocketAddr, Arc<Slot>>,
}

/// The cached connection to one address.
#[derive(Default)]
struct Slot {
    /// The live connection; read on every call, so a plain lock held only to clone it.
    current: std::sync::RwLock<Option<Peer>>,
    /// Serialises (re)connecting so concurrent callers share one new connection.
    connecting: Mutex<()>,
}

impl Slot {
    fn live(&self) -> Option<Peer> {
        // A poisoned lock only means another caller panicked while cloning; the data is intact.
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current.as_ref().filter(|p| !p.is_closed()).cloned()
    }

    fn set(&self, peer: Option<Peer>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = peer;
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.quinn.close(0u32.into(), b"endpoint dropped");
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("node", &self.inner.node)
            .field("addr", &self.local_addr().ok())
            .finish()
    }
}

impl Endpoint {
    /// Binds `config.bind` and starts serving with `handler`. Must run inside a tokio runtime.
    pub fn bind(
        config: EndpointConfig,
        identity: Identity,
        handler: impl Handler,
    ) -> Result<Self, NetError> {
        let handler: Arc<dyn DynHandler> = Arc::new(handler);
        let transport = Arc::new(config.transport()?);
        let server_tls = QuicServerConfig::try_from(server_config(&identity)?)
            .map_err(|e| NetError::Config(e.to_string()))?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(server_tls));
        server.transport_config(transport.clone());
        let client_tls = QuicClientConfig::try_from(client_config(&identity)?)
            .map_err(|e| NetError::Config(e.to_string()))?;
        let mut client = quinn::ClientConfig::new(Arc::new(client_tls));
        client.transport_config(transport);

        let mut quinn =
            quinn::Endpoint::server(server, config.bind).map_err(|source| NetError::Bind {
                addr: config.bind,
                source,
            })?;
        quinn.set_default_client_config(client);
        let stats = Arc::new(Stats::default());
        let shared = Arc::new(Shared {
            node: identity.node.clone(),
            config: config.clone(),
            handler,
            stats: stats.clone(),
        });
        tokio::spawn(accept_loop(quinn.clone(), shared));
        Ok(Self {
            inner: Arc::new(Inner {
                quinn,
                node: identity.node,
                config,
                stats,
                peers: DashMap::new(),
            }),
        })
    }

    /// This endpoint's node name.
    pub fn node(&self) -> &NodeId {
        &self.inner.node
    }

    /// The bound address (with the real port when bound to port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, NetError> {
        self.inner
            .quinn
            .local_addr()
            .map_err(|source| NetError::Bind {
                addr: self.inner.config.bind,
                source,
            })
    }

    /// Counters of refused handshakes, rejected frames and so on.
    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// Opens a new connection to `addr` (not cached) and performs the hello, so a refused
    /// certificate or version shows here as [`NetError::Refused`] rather than on first use.
    pub async fn connect(&self, addr: SocketAddr) -> Result<Peer, NetError> {
        let hello_timeout = self.inner.config.hello_timeout();
        let connecting = self
            .inner
            .quinn
            .connect(addr, SNI)
            .map_err(|e| NetError::Connect {
                addr,
                detail: e.to_string(),
            })?;
        let conn = match tokio::time::timeout(hello_timeout, connecting).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(connect_failure(addr, e)),
            Err(_) => {
                return Err(NetError::Connect {
                    addr,
                    detail: "handshake timed out".into(),
                });
            }
        };
        let node = connection_peer(&conn)?;
        let hello = Envelope::request(
            "net/hello",
            deadline_after(hello_timeout),
            Body::Hello {
                node: self.inner.node.clone(),
                protocol_versions: vec![PROTOCOL_VERSION],
            },
        );
        let max = self.inner.config.max_frame;
        let reply = with_deadline(hello_timeout, async {
            let (send, recv) = conn.open_bi().await?;
            exchange(send, recv, &hello, max).await
        })
        .await;
        match reply.map(|r| r.body) {
            Ok(Body::HelloAck { .. }) => Ok(Peer {
                conn,
                node,
                max_frame: max,
            }),
            Ok(Body::Error { code, detail }) => Err(NetError::Refused {
                addr,
                detail: format!("{code:?}: {detail}"),
            }),
            Ok(other) => Err(NetError::UnexpectedReply(format!(
                "hello answered with {}",
                other.kind()
            ))),
            Err(e) => Err(match conn.close_reason() {
                // The connection died during the hello: the peer refused us, most likely our
                // certificate. Report the peer's reason.
                Some(reason) => connect_failure(addr, reason),
                None => e,
            }),
        }
    }

    /// A cached connection to `addr`, connecting (with hello) if there is none or it closed.
    pub async fn peer(&self, addr: SocketAddr) -> Result<Peer, NetError> {
        let slot = match self.inner.peers.get(&addr) {
            Some(slot) => slot.clone(),
            None => self.inner.peers.entry(addr).or_default().clone(),
        };
        if let Some(peer) = slot.live() {
            return Ok(peer);
        }
        let _connecting = slot.connecting.lock().await;
        // Someone else may have reconnected while we waited for the lock.
        if let Some(peer) = slot.live() {
            return Ok(peer);
        }
        slot.set(None);
        let peer = self.connect(addr).await?;
        slot.set(Some(peer.clone()));
        Ok(peer)
    }

    /// Drops the cached connection to `addr`, if any.
    pub fn forget(&self, addr: SocketAddr) {
        self.inner.peers.remove(&addr);
    }

    /// Calls `target` at `addr` with `body`, waiting up to `timeout`; an error body becomes
    /// [`NetError::Remote`].
    pub async fn call(
        &self,
        addr: SocketAddr,
        target: &str,
        body: Body,
        timeout: Duration,
    ) -> Result<Body, NetError> {
        let req = Envelope::request(target, deadline_after(timeout), body);
        into_body(self.request(addr, req).await?)
    }

    /// Sends a request envelope to `addr` over the cached connection and returns the reply;
    /// the envelope's deadline bounds the whole call, connecting included.
    /// Runs in an `rpc.client` span whose trace context goes into the envelope's headers (unless
    /// the caller already set a `traceparent`).
    pub async fn request(&self, addr: SocketAddr, mut req: Envelope) -> Result<Envelope, NetError> {
        let span = telemetry::client_span(&addr, &mut req);
        let budget = budget(&req)?;
        let max = self.inner.config.max_frame;
        traced(
            span,
            with_deadline(budget, async {
                let (send, recv) = self.open_bi(addr).await?;
                exchange(send, recv, &req, max).await
            }),
        )
        .await
    }

    /// Sends a one-way message to `addr` over the cached connection.
    pub async fn send(&self, addr: SocketAddr, msg: Envelope) -> Result<(), NetError> {
        let peer = self.peer(addr).await?;
        peer.send(msg).await
    }

    /// Opens a stream pair on the cached connection; if the connection broke since it was
    /// cached, reconnects once. Nothing has been sent yet, so the retry is always safe.
    async fn open_bi(
        &self,
        addr: SocketAddr,
    ) -> Result<(quinn::SendStream, quinn::RecvStream), NetError> {
        let peer = self.peer(addr).await?;
        match peer.conn.open_bi().await {
            Ok(streams) => Ok(streams),
            Err(_) => {
                let peer = self.peer(addr).await?;
                Ok(peer.conn.open_bi().await?)
            }
        }
    }

    /// Closes every connection and stops serving.
    pub fn close(&self) {
        self.inner.quinn.close(0u32.into(), b"closing");
    }
}

/// Classifies a connection failure: closed by the peer means refused, anything else is ours.
fn connect_failure(addr: SocketAddr, e: quinn::ConnectionError) -> NetError {
    match e {
        quinn::ConnectionError::ConnectionClosed(_)
        | quinn::ConnectionError::ApplicationClosed(_) => NetError::Refused {
            addr,
            detail: e.to_string(),
        },
        other => NetError::Connect {
            addr,
            detail: other.to_string(),
        },
    }
}
