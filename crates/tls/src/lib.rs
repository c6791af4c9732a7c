//! TLS for OVSDB connections the way Open vSwitch does it.
//!
//! Both ends hold a private key, a certificate for it, and the certificate
//! of the authority (CA) that must have signed the peer's certificate, all
//! PEM files as `ovs-pki` makes them. Authentication is mutual: a server
//! requires a client certificate signed by its CA, a client requires the
//! same of the server. Host names play no part (OVS does not check them):
//! the peer's identity is the common name (CN) of its certificate, which is
//! what role-based access control matches against.
//!
//! - [`Pki`]: the three files, loaded and checked.
//! - [`Pki::server_config`] / [`Pki::client_config`]: rustls configurations
//!   (ring provider) for the two sides.
//! - [`peer_id`] / [`common_name`]: the identity of the other end.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::server::{ParsedCertificate, WebPkiClientVerifier};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

pub use rustls;
pub use tokio_rustls::{client::TlsStream as ClientTlsStream, server::TlsStream as ServerTlsStream};
pub use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Errors loading or using TLS material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("{0}: {1}")]
    Read(PathBuf, String),
    /// A file holds no usable PEM object of the expected kind.
    #[error("{0}: {1}")]
    Pem(PathBuf, String),
    /// The key, certificate and CA do not make a usable configuration.
    #[error("{0}")]
    Config(String),
}

/// TLS protocol versions, as `--ssl-protocols` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `TLSv1.2`
    Tls12,
    /// `TLSv1.3`
    Tls13,
}

/// Parses an `--ssl-protocols` list (`TLSv1,TLSv1.1,TLSv1.2`, comma or space
/// separated). Versions rustls does not implement (TLSv1, TLSv1.1) are
/// skipped and returned as the second element, for a warning; it is an
/// error if nothing usable remains or a name is unknown.
pub fn parse_protocols(s: &str) -> Result<(Vec<Protocol>, Vec<String>), String> {
    let (mut ok, mut skipped) = (Vec::new(), Vec::new());
    for name in s.split([',', ' ']).filter(|x| !x.is_empty()) {
        match name {
            "TLSv1.2" => ok.push(Protocol::Tls12),
            "TLSv1.3" => ok.push(Protocol::Tls13),
            "TLSv1" | "TLSv1.1" => skipped.push(name.to_string()),
            _ => return Err(format!("{name}: unknown SSL protocol (expected TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)")),
        }
    }
    if ok.is_empty() {
        return Err(format!("{s}: no supported SSL protocol (rovn supports TLSv1.2 and TLSv1.3)"));
    }
    ok.dedup();
    Ok((ok, skipped))
}

/// A private key, its certificate (chain), and the CA certificate(s) that
/// must sign the peer's certificate.
#[derive(Debug)]
pub struct Pki {
    key: PrivateKeyDer<'static>,
    certs: Vec<CertificateDer<'static>>,
    ca: Vec<CertificateDer<'static>>,
    protocols: Vec<Protocol>,
}

impl Clone for Pki {
    fn clone(&self) -> Self {
        Pki {
            key: self.key.clone_key(),
            certs: self.certs.clone(),
            ca: self.ca.clone(),
            protocols: self.protocols.clone(),
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::Read(path.to_path_buf(), e.to_string()))
}

fn certs_from(pem: &[u8], path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| Error::Pem(path.to_path_buf(), format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Error::Pem(path.to_path_buf(), "no certificate in file".into()));
    }
    Ok(certs)
}

impl Pki {
    /// Loads the private key, certificate and CA certificate files.
    pub fn load(key: &Path, cert: &Path, ca: &Path) -> Result<Pki, Error> {
        let key_pem = read(key)?;
        let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| Error::Pem(key.to_path_buf(), format!("no usable private key: {e}")))?;
        let certs = certs_from(&read(cert)?, cert)?;
        let ca_certs = certs_from(&read(ca)?, ca)?;
        let pki = Pki { key: key_der, certs, ca: ca_certs, protocols: vec![Protocol::Tls12, Protocol::Tls13] };
        // Catch a mismatched key and certificate, or a CA that cannot be
        // used, now rather than at the first handshake.
        pki.server_config()?;
        pki.client_config()?;
        Ok(pki)
    }

    /// Restricts the protocol versions offered and accepted.
    pub fn with_protocols(mut self, protocols: Vec<Protocol>) -> Pki {
        if !protocols.is_empty() {
            self.protocols = protocols;
        }
        self
    }

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    fn versions(&self) -> Vec<&'static rustls::SupportedProtocolVersion> {
        self.protocols
            .iter()
            .map(|p| match p {
                Protocol::Tls12 => &rustls::version::TLS12,
                Protocol::Tls13 => &rustls::version::TLS13,
            })
            .collect()
    }

    fn roots(&self) -> Result<RootCertStore, Error> {
        let mut roots = RootCertStore::empty();
        for c in &self.ca {
            roots.add(c.clone()).map_err(|e| Error::Config(format!("unusable CA certificate: {e}")))?;
        }
        Ok(roots)
    }

    /// A server configuration: presents the certificate, and requires a
    /// client certificate signed by the CA.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, Error> {
        let provider = Self::provider();
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(self.roots()?), provider.clone())
            .build()
            .map_err(|e| Error::Config(format!("client verifier: {e}")))?;
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&self.versions())
            .map_err(|e| Error::Config(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.certs.clone(), self.key.clone_key())
            .map_err(|e| Error::Config(format!("private key and certificate: {e}")))?;
        Ok(Arc::new(config))
    }

    /// A client configuration: presents the certificate, and requires a
    /// server certificate signed by the CA (whatever name it bears).
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, Error> {
        let provider = Self::provider();
        let verifier = Arc::new(CaOnlyVerifier { roots: self.roots()?, provider: provider.clone() });
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&self.versions())
            .map_err(|e| Error::Config(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_auth_cert(self.certs.clone(), self.key.clone_key())
            .map_err(|e| Error::Config(format!("private key and certificate: {e}")))?;
        Ok(Arc::new(config))
    }

    /// An acceptor for the server side.
    pub fn acceptor(&self) -> Result<TlsAcceptor, Error> {
        Ok(TlsAcceptor::from(self.server_config()?))
    }

    /// A connector for the client side.
    pub fn connector(&self) -> Result<TlsConnector, Error> {
        Ok(TlsConnector::from(self.client_config()?))
    }
}

/// The name a client hands to rustls for `host` (no name is checked; an
/// IP address also keeps SNI out of the handshake, as OVS sends none).
pub fn server_name(host: &str) -> ServerName<'static> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ServerName::IpAddress(ip.into()),
        Err(_) => ServerName::try_from(host.to_string())
            .unwrap_or(ServerName::IpAddress(std::net::IpAddr::from([127, 0, 0, 1]).into())),
    }
}

/// Checks the server's chain up to the CA, with the full webpki checks
/// (signatures, validity period, CA basic constraints, key usage), but not
/// its name: OVS identifies peers by their CA, not by host names.
#[derive(Debug)]
struct CaOnlyVerifier {
    roots: RootCertStore,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for CaOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The identity of the peer of an established server-side connection: the
/// CN of its certificate.
pub fn peer_id(conn: &rustls::ServerConnection) -> Option<String> {
    conn.peer_certificates().and_then(|c| c.first()).and_then(|c| common_name(c))
}

/// The (last) common name in a DER certificate's subject; None if the
/// certificate cannot be parsed or has none.
pub fn common_name(cert: &[u8]) -> Option<String> {
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version
    // OPTIONAL, serial, signature, issuer, validity, subject, ... } ... }
    let (tag, cert_body, _) = der(cert)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, mut tbs, _) = der(cert_body)?;
    if tag != 0x30 {
        return None;
    }
    let mut fields = Vec::with_capacity(6);
    while fields.len() < 6 && !tbs.is_empty() {
        let (tag, body, rest) = der(tbs)?;
        // The version is explicitly tagged [0] and optional.
        if !(fields.is_empty() && tag == 0xa0) {
            fields.push((tag, body));
        }
        tbs = rest;
    }
    // serial, signature, issuer, validity, subject
    let &(tag, mut rdns) = fields.get(4)?;
    if tag != 0x30 {
        return None;
    }
    const CN: &[u8] = &[0x55, 0x04, 0x03];
    let mut found = None;
    while !rdns.is_empty() {
        let (tag, mut set, rest) = der(rdns)?;
        rdns = rest;
        if tag != 0x31 {
            return None;
        }
        while !set.is_empty() {
            let (_, atv, rest) = der(set)?;
            set = rest;
            let (tag, oid, after) = der(atv)?;
            if tag != 0x06 || oid != CN {
                continue;
            }
            let (_, value, _) = der(after)?;
            found = Some(String::from_utf8_lossy(value).into_owned());
        }
    }
    found
}

/// One DER element: (tag, contents, what follows). None if malformed.
fn der(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &x| (a << 8) | x as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_walker_rejects_truncated_input() {
        assert_eq!(common_name(&[]), None);
        assert_eq!(common_name(&[0x30]), None);
        assert_eq!(common_name(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(common_name(&[0x30, 0x10, 0x30]), None);
        // Every prefix of a well-formed certificate fails cleanly.
        let cert = include_bytes!("../tests/data/hv1-cert.der");
        assert_eq!(common_name(cert).as_deref(), Some("hv1"));
        for n in 0..cert.len() {
            let _ = common_name(&cert[..n]);
        }
    }

    #[test]
    fn protocols_parse_as_ovs_names_them() {
        assert_eq!(
            parse_protocols("TLSv1,TLSv1.1,TLSv1.2").unwrap(),
            (vec![Protocol::Tls12], vec!["TLSv1".into(), "TLSv1.1".into()])
        );
        assert_eq!(parse_protocols("TLSv1.2 TLSv1.3").unwrap().0, vec![Protocol::Tls12, Protocol::Tls13]);
        assert!(parse_protocols("TLSv1").unwrap_err().contains("no supported"));
        assert!(parse_protocols("SSLv3").unwrap_err().contains("unknown"));
    }
}
