//! TLS for the relay: rustls with the ring provider (the one quinn already uses, so the build
//! carries one provider) and the Mozilla roots from `webpki-roots`.

use std::sync::{Arc, OnceLock};

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

fn config() -> Result<Arc<rustls::ClientConfig>, std::io::Error> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots =
                rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
            .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(std::io::Error::other)
}

/// Wrap a connected TCP stream in TLS, checking the certificate against `host`.
pub(crate) async fn connect(host: &str, tcp: TcpStream) -> std::io::Result<TlsStream<TcpStream>> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    TlsConnector::from(config()?).connect(name, tcp).await
}

#[cfg(test)]
mod tests {
    /// The provider and the roots load without a process-level provider installed (the trap of
    /// two rustls providers in one build).
    #[test]
    fn the_client_config_builds_with_roots() {
        let config = super::config().unwrap();
        assert!(config.alpn_protocols.is_empty());
        assert!(!webpki_roots::TLS_SERVER_ROOTS.is_empty());
    }
}
