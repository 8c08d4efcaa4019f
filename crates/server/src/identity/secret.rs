//! Token secrets: 256 random bits, handed out once, stored only as their SHA-256.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix that makes a Flotilla token recognisable in a leaked-secret scan.
const PREFIX: &str = "flt_";

/// A fresh secret: `flt_` + 64 hex digits of OS randomness.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{PREFIX}{}", hex::encode(bytes))
}

/// What the store keeps of a secret.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_unique_and_digests_stable() {
        let a = super::generate();
        let b = super::generate();
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(super::digest(&a), super::digest(&a));
        assert_ne!(super::digest(&a), super::digest(&b));
    }
}
