//! rustls configurations for mutual TLS inside the cluster, and peer identity.
//!
//! Trust is the cluster CA and nothing else: servers require a client certificate chained to it,
//! clients accept only servers chained to it. Every config is built with an explicit `ring`
//! provider because a second provider in the build (aws-lc-rs) would make rustls' process-wide
//! default ambiguous and panic.

use crate::net::error::NetError;
use protocol::NodeId;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme,
    client::WebPkiServerVerifier,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use std::path::Path;
use std::sync::Arc;

/// The ALPN protocol id of the factory protocol.
pub const ALPN: &[u8] = b"factory/1";

/// A node's credentials: the cluster CA, its own certificate chain and private key.
#[derive(Debug)]
pub struct Identity {
    /// The node name from the certificate.
    pub node: NodeId,
    /// The cluster CA certificate: the only trust anchor.
    pub ca: CertificateDer<'static>,
    /// The node's certificate (chain, leaf first).
    pub chain: Vec<CertificateDer<'static>>,
    /// The node's private key.
    pub key: PrivateKeyDer<'static>,
}

impl Identity {
    /// Loads `ca.pem`, `<name>.pem` and `<name>.key` from a certificate directory.
    pub fn load(dir: &Path, name: &str) -> Result<Self, NetError> {
        let ca = crate::net::certs::load_ca(dir)?;
        let cert = crate::net::certs::load_cert(&crate::net::certs::cert_path(dir, name))?;
        let key = crate::net::certs::load_key(&crate::net::certs::key_path(dir, name))?;
        let node = peer_name(&cert)?;
        Ok(Self {
            node,
            ca,
            chain: vec![cert],
            key,
        })
    }

    fn roots(&self) -> Result<Arc<RootCertStore>, NetError> {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.ca.clone())
            .map_err(|e| NetError::Config(format!("cluster ca: {e}")))?;
        Ok(Arc::new(roots))
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_err(e: impl std::fmt::Display) -> NetError {
    NetError::Config(e.to_string())
}

/// A server config that requires a client certificate chained to the cluster CA. TLS 1.3 only,
/// as QUIC requires.
pub fn server_config(id: &Identity) -> Result<ServerConfig, NetError> {
    let verifier = WebPkiClientVerifier::builder_with_provider(id.roots()?, provider())
        .build()
        .map_err(config_err)?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(config_err)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(id.chain.clone(), id.key.clone_key())
        .map_err(config_err)?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// A client config that trusts only servers chained to the cluster CA and presents our cert.
///
/// Callers dial addresses, not names, so the server's name is taken from its own certificate
/// (see [`ClusterServerVerifier`]); the identity comes out as the connection's peer name.
pub fn client_config(id: &Identity) -> Result<ClientConfig, NetError> {
    let inner = WebPkiServerVerifier::builder_with_provider(id.roots()?, provider())
        .build()
        .map_err(config_err)?;
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(config_err)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ClusterServerVerifier { inner }))
        .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
        .map_err(config_err)?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// Verifies a server certificate against the cluster CA with the name the certificate claims.
///
/// Full webpki validation (chain, validity period, key usage, name-matches-SAN) still runs; only
/// the expected name comes from the certificate, because every certificate the cluster CA signs
/// is a legitimate node. The caller learns which node answered from the peer identity.
#[derive(Debug)]
pub struct ClusterServerVerifier {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ClusterServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let name = peer_name(end_entity)
            .map_err(|e| rustls::Error::General(format!("server certificate: {e}")))?;
        let claimed = ServerName::try_from(name.as_str())
            .map_err(|e| rustls::Error::General(format!("server certificate name: {e}")))?;
        self.inner
            .verify_server_cert(end_entity, intermediates, &claimed, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The node name in a certificate: its common name, else its first DNS SAN.
pub fn peer_name(cert: &CertificateDer<'_>) -> Result<NodeId, NetError> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| NetError::Cert(format!("parse peer certificate: {e}")))?;
    if let Some(cn) = parsed
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
    {
        return Ok(NodeId::new(cn));
    }
    let san = parsed
        .subject_alternative_name()
        .ok()
        .flatten()
        .and_then(|san| {
            san.value.general_names.iter().find_map(|n| match n {
                x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                _ => None,
            })
        });
    san.map(NodeId::new)
        .ok_or_else(|| NetError::Cert("peer certificate carries no name".into()))
}

/// The node name of the peer on an established QUIC connection.
pub fn connection_peer(conn: &quinn::Connection) -> Result<NodeId, NetError> {
    let identity = conn
        .peer_identity()
        .ok_or_else(|| NetError::Cert("peer presented no certificate".into()))?;
    let chain = identity
        .downcast::<Vec<CertificateDer<'static>>>()
        .map_err(|_| NetError::Cert("peer identity is not a certificate chain".into()))?;
    let leaf = chain
        .first()
        .ok_or_else(|| NetError::Cert("peer certificate chain is empty".into()))?;
    peer_name(leaf)
}
