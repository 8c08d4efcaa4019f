//! A TLS identity: a certificate and its private key, as PEM. Made self-signed (rcgen) for the
//! agents' callbacks and the server's calls to them, or read from files.

use crate::{TlsError, certificates, private, private_key};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;

/// File names of an identity kept in a directory.
const CERT_FILE: &str = "cert.pem";
const KEY_FILE: &str = "key.pem";

/// A certificate (PEM) and the private key (PEM) it was made for.
#[derive(Clone)]
pub struct Identity {
    pub cert_pem: String,
    key_pem: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").field("cert_pem", &self.cert_pem).finish_non_exhaustive()
    }
}

impl Identity {
    /// A fresh key pair and a self-signed certificate naming `names` (DNS names or IP addresses).
    pub fn self_signed(names: &[String]) -> Result<Self, TlsError> {
        let made = rcgen::generate_simple_self_signed(names.to_vec())?;
        Ok(Self { cert_pem: made.cert.pem(), key_pem: made.signing_key.serialize_pem() })
    }

    /// An identity from PEM texts, checked to parse.
    pub fn from_pem(cert_pem: String, key_pem: String) -> Result<Self, TlsError> {
        let identity = Self { cert_pem, key_pem };
        identity.chain()?;
        identity.key()?;
        Ok(identity)
    }

    /// The identity of a certificate file and a key file (PEM).
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let read = |path: &Path| std::fs::read_to_string(path).map_err(|source| TlsError::Read { path: path.to_owned(), source });
        Self::from_pem(read(cert)?, read(key)?)
    }

    /// The identity kept in `dir` (`cert.pem`, `key.pem`), made self-signed for `names` on first use;
    /// the key file is written with mode 0600 in a 0700 directory.
    pub fn load_or_create(dir: &Path, names: &[String]) -> Result<Self, TlsError> {
        let (cert_path, key_path) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
        if key_path.exists() {
            return Self::from_files(&cert_path, &key_path);
        }
        let made = Self::self_signed(names)?;
        let write = |path: &Path, text: &str| {
            private::write_file(path, text.as_bytes()).map_err(|source| TlsError::Write { path: path.to_owned(), source })
        };
        write(&cert_path, &made.cert_pem)?;
        write(&key_path, &made.key_pem)?;
        Ok(made)
    }

    /// The certificate chain, leaf first.
    pub fn chain(&self) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        certificates("certificate", self.cert_pem.as_bytes())
    }

    /// The leaf certificate: what a peer pins.
    pub fn certificate(&self) -> Result<CertificateDer<'static>, TlsError> {
        Ok(self.chain()?.swap_remove(0))
    }

    pub(crate) fn key(&self) -> Result<PrivateKeyDer<'static>, TlsError> {
        private_key("private key", self.key_pem.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn kept_identities_come_back_and_stay_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("callback");
        let made = Identity::load_or_create(&dir, &["server".into()]).unwrap();
        let again = Identity::load_or_create(&dir, &["other".into()]).unwrap();
        assert_eq!(made.cert_pem, again.cert_pem, "the second start reads what the first made");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join(KEY_FILE)), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert!(Identity::from_pem(made.cert_pem.clone(), "not a key".into()).is_err());
    }
}
