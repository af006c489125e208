//! The cluster certificate authority: create it, issue node certificates, load them back.
//!
//! Layout of a certificate directory: `ca.pem` + `ca.key` for the CA, `<name>.pem` + `<name>.key`
//! for each node. The node's name is both the certificate's common name and its only DNS SAN, and
//! it is the node's identity on the wire ([`protocol::NodeId`]).

use crate::net::error::NetError;
use protocol::NodeId;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// File name of the CA certificate.
pub const CA_CERT: &str = "ca.pem";
/// File name of the CA private key.
pub const CA_KEY: &str = "ca.key";
/// Common name of the cluster CA.
const CA_NAME: &str = "factory cluster ca";
/// CA lifetime: long, since rotating it means reissuing every node certificate.
const CA_VALIDITY_DAYS: i64 = 3650;

/// The time window a certificate is valid in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// Valid from one hour ago (tolerates clock skew) for `days` days.
    pub fn days(days: u32) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            not_before: now - Duration::hours(1),
            not_after: now + Duration::days(i64::from(days)),
        }
    }

    /// A window that ended a day ago: for testing that expired certificates are refused.
    pub fn expired() -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            not_before: now - Duration::days(30),
            not_after: now - Duration::days(1),
        }
    }
}

/// Path of `<name>.pem` in `dir`.
pub fn cert_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.pem"))
}

/// Path of `<name>.key` in `dir`.
pub fn key_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.key"))
}

/// Creates a new cluster CA in `dir` (`ca.pem`, `ca.key`). Refuses to overwrite an existing one.
pub fn init_ca(dir: &Path) -> Result<(), NetError> {
    std::fs::create_dir_all(dir).map_err(NetError::file(dir))?;
    for file in [CA_CERT, CA_KEY] {
        refuse_existing(&dir.join(file))?;
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(CA_VALIDITY_DAYS);
    let key = KeyPair::generate().map_err(cert_err)?;
    let cert = params.self_signed(&key).map_err(cert_err)?;
    write_new(&dir.join(CA_KEY), &key.serialize_pem(), true)?;
    write_new(&dir.join(CA_CERT), &cert.pem(), false)
}

/// Issues `<name>.pem` + `<name>.key` in `dir`, signed by the CA found there.
///
/// `name` must be a DNS name (letters, digits, `-`, `.`), since it also serves as the TLS server
/// name. Refuses to overwrite existing files.
pub fn issue(dir: &Path, name: &str, validity: Validity) -> Result<NodeId, NetError> {
    check_name(name)?;
    for path in [cert_path(dir, name), key_path(dir, name)] {
        refuse_existing(&path)?;
    }
    let ca_pem = read(&dir.join(CA_CERT))?;
    let ca_key = KeyPair::from_pem(&read(&dir.join(CA_KEY))?).map_err(cert_err)?;
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).map_err(cert_err)?;

    let mut params = CertificateParams::new(vec![name.to_string()]).map_err(cert_err)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    // Every node is both a server and a client of its peers.
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    let key = KeyPair::generate().map_err(cert_err)?;
    let cert = params.signed_by(&key, &issuer).map_err(cert_err)?;
    write_new(&key_path(dir, name), &key.serialize_pem(), true)?;
    write_new(&cert_path(dir, name), &cert.pem(), false)?;
    Ok(NodeId::new(name))
}

/// Loads the CA certificate from `dir`.
pub fn load_ca(dir: &Path) -> Result<CertificateDer<'static>, NetError> {
    load_cert(&dir.join(CA_CERT))
}

/// Loads the first certificate of a PEM file.
pub fn load_cert(path: &Path) -> Result<CertificateDer<'static>, NetError> {
    CertificateDer::from_pem_slice(read(path)?.as_bytes())
        .map_err(|e| NetError::Cert(format!("{}: {e}", path.display())))
}

/// Loads a private key (any PEM key format) from a file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, NetError> {
    PrivateKeyDer::from_pem_slice(read(path)?.as_bytes())
        .map_err(|e| NetError::Cert(format!("{}: {e}", path.display())))
}

fn check_name(name: &str) -> Result<(), NetError> {
    let dns_ok = matches!(ServerName::try_from(name), Ok(ServerName::DnsName(_)));
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    // "ca" would collide with the CA's own files.
    if !dns_ok || !chars_ok || name == "ca" {
        return Err(NetError::Cert(format!(
            "node name {name:?} must be a DNS name other than \"ca\""
        )));
    }
    Ok(())
}

fn cert_err(e: rcgen::Error) -> NetError {
    NetError::Cert(e.to_string())
}

fn read(path: &Path) -> Result<String, NetError> {
    std::fs::read_to_string(path).map_err(NetError::file(path))
}

fn refuse_existing(path: &Path) -> Result<(), NetError> {
    if path.exists() {
        return Err(NetError::AlreadyExists(path.to_path_buf()));
    }
    Ok(())
}

/// Writes a file that must not exist yet; private keys are readable by the owner only.
fn write_new(path: &Path, contents: &str, private: bool) -> Result<(), NetError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            NetError::AlreadyExists(path.to_path_buf())
        } else {
            NetError::File {
                path: path.to_path_buf(),
                source: e,
            }
        }
    })?;
    file.write_all(contents.as_bytes())
        .map_err(NetError::file(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_refuses_to_overwrite_and_issue_writes_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        init_ca(dir.path()).expect("first init");
        assert!(matches!(
            init_ca(dir.path()),
            Err(NetError::AlreadyExists(_))
        ));
        let node = issue(dir.path(), "node-1", Validity::days(1)).expect("issue");
        assert_eq!(node, NodeId::new("node-1"));
        load_cert(&cert_path(dir.path(), "node-1")).expect("cert loads");
        load_key(&key_path(dir.path(), "node-1")).expect("key loads");
        load_ca(dir.path()).expect("ca loads");
        assert!(matches!(
            issue(dir.path(), "node-1", Validity::days(1)),
            Err(NetError::AlreadyExists(_))
        ));
    }

    #[test]
    fn names_must_be_dns_names() {
        let check = |name: &str, ok: bool| assert_eq!(check_name(name).is_ok(), ok, "{name:?}");
        check("node-1", true);
        check("coordinator.local", true);
        check("", false);
        check("ca", false);
        check("../etc", false);
        check("a b", false);
        check("127.0.0.1", false);
    }
}
