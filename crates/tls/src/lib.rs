//! Flotilla's TLS, on rustls with the `ring` provider only: PEM files, self-signed identities,
//! pinned-certificate verifiers (the mutual TLS of agent callbacks), the TLS listener axum serves
//! on, and private (0600) files for keys and credentials.

mod identity;
mod listener;
mod pem;
mod pinned;
pub mod private;

pub use identity::Identity;
pub use listener::TlsListener;
pub use pem::{certificates, load_certificates, load_private_key, private_key};
pub use pinned::{Pin, api_server_config, pinned_client_config, pinned_server_config};

use std::path::PathBuf;
use std::sync::Arc;

/// Why TLS material could not be read, made or used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{what}: {reason}")]
    Pem { what: String, reason: String },
    #[error("cannot make a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The one crypto provider Flotilla uses (aws-lc would need cmake).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
