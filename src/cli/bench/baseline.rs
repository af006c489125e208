//! The bare quinn echo used as the RPC baseline: same TLS and transport settings as the factory
//! endpoint, one bidirectional stream per call, no envelope, no handler, no hello.

use actors::net::{EndpointConfig, Identity, tls};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use std::net::SocketAddr;
use std::sync::Arc;

/// Largest echo accepted, in bytes.
const MAX_ECHO: usize = 64 * 1024;

/// Starts an echo server on `config.bind`; returns its endpoint (serving until dropped).
pub fn serve(config: &EndpointConfig, id: &Identity) -> anyhow::Result<quinn::Endpoint> {
    let crypto = QuicServerConfig::try_from(tls::server_config(id)?)?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    server.transport_config(Arc::new(config.transport()?));
    let endpoint = quinn::Endpoint::server(server, config.bind)?;
    let accepting = endpoint.clone();
    tokio::spawn(async move {
        while let Some(incoming) = accepting.accept().await {
            tokio::spawn(async move {
                let Ok(conn) = incoming.await else { return };
                while let Ok((mut send, mut recv)) = conn.accept_bi().await {
                    tokio::spawn(async move {
                        if let Ok(bytes) = recv.read_to_end(MAX_ECHO).await {
                            let _ = send.write_all(&bytes).await;
                            let _ = send.finish();
                        }
                    });
                }
            });
        }
    });
    Ok(endpoint)
}

/// Connects a bare quinn client to an echo server.
pub async fn connect(
    config: &EndpointConfig,
    id: &Identity,
    addr: SocketAddr,
) -> anyhow::Result<quinn::Connection> {
    let crypto = QuicClientConfig::try_from(tls::client_config(id)?)?;
    let mut client = quinn::ClientConfig::new(Arc::new(crypto));
    client.transport_config(Arc::new(config.transport()?));
    let mut endpoint = quinn::Endpoint::client(config.bind)?;
    endpoint.set_default_client_config(client);
    Ok(endpoint.connect(addr, "factory")?.await?)
}

/// One echo call on its own stream.
pub async fn echo(conn: &quinn::Connection, payload: &[u8]) -> anyhow::Result<()> {
    let (mut send, mut recv) = conn.open_bi().await?;
    send.write_all(payload).await?;
    send.finish()?;
    let back = recv.read_to_end(MAX_ECHO).await?;
    anyhow::ensure!(back.len() == payload.len(), "short echo");
    Ok(())
}
