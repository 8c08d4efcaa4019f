//! Sealing an API token with a link's or a session's secret (ChaCha20-Poly1305 under a key derived
//! from the secret), so the stored row alone cannot act as anyone: only the holder of the secret
//! (the link, the browser's cookie) opens it.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use sha2::{Digest, Sha256};

/// A sealed token that does not open with the given secret.
#[derive(Debug, thiserror::Error)]
#[error("the sealed token does not open with this secret")]
pub struct Unsealable;

fn key(secret: &str) -> LessSafeKey {
    let bytes = Sha256::new().chain_update(b"flotilla-ui-seal\0").chain_update(secret.as_bytes()).finalize();
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &bytes).expect("a SHA-256 digest is a ChaCha20 key"))
}

/// Seals `token` with `secret`. Each secret seals exactly one token, so the nonce may be fixed.
pub fn seal(secret: &str, token: &str) -> String {
    let mut data = token.as_bytes().to_vec();
    key(secret)
        .seal_in_place_append_tag(Nonce::assume_unique_for_key([0; 12]), Aad::empty(), &mut data)
        .expect("a token is far below ChaCha20's message limit");
    hex::encode(data)
}

/// Opens what [`seal`] made with the same secret.
pub fn open(secret: &str, sealed: &str) -> Result<String, Unsealable> {
    let mut data = hex::decode(sealed).map_err(|_| Unsealable)?;
    let plain = key(secret).open_in_place(Nonce::assume_unique_for_key([0; 12]), Aad::empty(), &mut data).map_err(|_| Unsealable)?;
    String::from_utf8(plain.to_vec()).map_err(|_| Unsealable)
}

/// The per-session CSRF token every form carries: derived from the session's secret, which
/// only the browser holding the cookie has.
pub fn csrf(secret: &str) -> String {
    hex::encode(Sha256::new().chain_update(b"flotilla-ui-csrf\0").chain_update(secret.as_bytes()).finalize())
}

/// Compares two strings in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_with_its_secret_only() {
        let sealed = seal("secret-a", "flt_token");
        assert!(!sealed.contains("flt_token"));
        assert_eq!(open("secret-a", &sealed).unwrap(), "flt_token");
        assert!(open("secret-b", &sealed).is_err());
        assert!(open("secret-a", "zz").is_err());
    }

    #[test]
    fn csrf_differs_per_session_and_compares() {
        assert_ne!(csrf("a"), csrf("b"));
        assert!(same(&csrf("a"), &csrf("a")));
        assert!(!same(&csrf("a"), &csrf("b")));
        assert!(!same("abc", "ab"));
    }
}
