//! Who may talk to whom: the API's server configuration (a certificate from files, no client
//! certificate), and the mutual TLS of agent callbacks, where each side accepts exactly one
//! certificate it pinned — the agent's, learned at join, and the server's, learned in the join's
//! answer — and proves the peer holds its key (the handshake signature is still verified).

use crate::{Identity, TlsError, load_certificates, load_private_key, provider};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use std::path::Path;
use std::sync::{Arc, RwLock};

/// The one certificate a peer must present; replaceable (an agent that joins again learns the
/// server's certificate again).
#[derive(Debug, Clone)]
pub struct Pin(Arc<RwLock<CertificateDer<'static>>>);

impl Pin {
    pub fn new(certificate: CertificateDer<'static>) -> Self {
        Self(Arc::new(RwLock::new(certificate)))
    }

    /// A pin no certificate matches, until [`Pin::set`].
    pub fn empty() -> Self {
        Self::new(CertificateDer::from(Vec::new()))
    }

    pub fn set(&self, certificate: CertificateDer<'static>) {
        *self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = certificate;
    }

    fn matches(&self, presented: &CertificateDer<'_>) -> bool {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref() == presented.as_ref()
    }
}

/// Accepts the pinned certificate only, as a server's or as a client's.
#[derive(Debug)]
struct Pinned {
    pin: Pin,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Pinned {
    fn new(pin: Pin) -> Arc<Self> {
        Arc::new(Self { pin, algorithms: provider().signature_verification_algorithms })
    }

    fn check(&self, presented: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        if self.pin.matches(presented) {
            Ok(())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }
    }
}

/// The handshake signatures, checked the same way for both roles: the peer holds the pinned key.
macro_rules! signatures_checked_by_the_provider {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.algorithms.supported_schemes()
        }
    };
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity).map(|()| ServerCertVerified::assertion())
    }

    signatures_checked_by_the_provider!();
}

impl ClientCertVerifier for Pinned {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(end_entity).map(|()| ClientCertVerified::assertion())
    }

    signatures_checked_by_the_provider!();
}

/// HTTP/2 and HTTP/1.1, as axum serves both.
fn alpn() -> Vec<Vec<u8>> {
    vec![b"h2".to_vec(), b"http/1.1".to_vec()]
}

/// The API's TLS: the certificate chain and key of `--tls-cert`/`--tls-key`, no client certificate.
pub fn api_server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(load_certificates(cert)?, load_private_key(key)?)?;
    config.alpn_protocols = alpn();
    Ok(Arc::new(config))
}

/// An agent's callback listener: serves as `identity`, and only to the client holding `client`'s key.
pub fn pinned_server_config(identity: &Identity, client: Pin) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Pinned::new(client))
        .with_single_cert(identity.chain()?, identity.key()?)?;
    config.alpn_protocols = alpn();
    Ok(Arc::new(config))
}

/// The server's calls to one agent: trusts only `server` (the agent's pinned certificate) and
/// presents `identity` (the server's).
pub fn pinned_client_config(server: CertificateDer<'static>, identity: &Identity) -> Result<rustls::ClientConfig, TlsError> {
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Pinned::new(Pin::new(server)))
        .with_client_auth_cert(identity.chain()?, identity.key()?)?)
}
