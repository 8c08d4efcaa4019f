//! Passwords: argon2id hashes in PHC form, computed off the async runtime, at most
//! `HASHING_SLOTS` at once, each in a block buffer of its own (19 MiB with the default
//! parameters) given back to the system when the hash is done, so neither a login nor a thousand
//! leave the server larger. The buffer is reserved larger than glibc's largest adaptive mmap
//! threshold (32 MiB), so its malloc maps it apart and unmaps it on free, every time; a 19 MiB
//! one raised the threshold, and the next ones stayed in the per-thread arenas when freed (the
//! server grew by that much with every login). Only the blocks used are touched.

use crate::error::ApiError;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use flotilla_core::ValidationError;
use std::sync::{Arc, LazyLock};
use tokio::sync::Semaphore;

pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 1024;

/// How many passwords are hashed at once (each holds its buffer: 19 MiB with the default
/// parameters); more wait their turn.
pub const HASHING_SLOTS: usize = 2;

/// Refuses passwords that are too short or too long (never echoing them).
pub fn check_strength(field: &str, password: &str) -> Result<(), ValidationError> {
    let len = password.chars().count();
    if !(MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&len) {
        return Err(ValidationError::new(field, "(hidden)", format!("must be {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters")));
    }
    Ok(())
}

/// The process's hashing slots.
static SLOTS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(HASHING_SLOTS)));

/// Why a hash could not be computed or read.
#[derive(Debug, thiserror::Error)]
enum HashError {
    #[error("{0}")]
    Argon2(#[from] argon2::Error),
    #[error("{0}")]
    Phc(#[from] argon2::password_hash::Error),
}

/// Runs `work` on a blocking thread with a buffer of `blocks` blocks, once a slot is free; the
/// slot is given back and the buffer freed when `work` ends, even if its caller went away.
async fn in_slot<T: Send + 'static>(blocks: usize, work: impl FnOnce(&mut [Block]) -> T + Send + 'static) -> Result<T, ApiError> {
    let permit = SLOTS.clone().acquire_owned().await.map_err(|e| ApiError::Internal(format!("password hashing closed: {e}")))?;
    tokio::task::spawn_blocking(move || {
        let answer = work(&mut buffer(blocks));
        drop(permit);
        answer
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password hashing task failed: {e}")))
}

/// Past glibc's `DEFAULT_MMAP_THRESHOLD_MAX` on 64-bit targets.
const APART: usize = 32 << 20;

/// `blocks` zeroed blocks in an allocation of more than [`APART`] bytes (the rest reserved, never
/// touched).
fn buffer(blocks: usize) -> Vec<Block> {
    let mut buffer = Vec::with_capacity(blocks.max(APART / size_of::<Block>() + 1));
    buffer.resize(blocks, Block::default());
    buffer
}

/// Hashes `password` with argon2id (default parameters) and a fresh salt, in PHC form.
pub async fn hash(password: String) -> Result<String, ApiError> {
    let params = Params::default();
    in_slot(params.block_count(), move |blocks| phc_hash(&password, params, blocks))
        .await?
        .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))
}

fn phc_hash(password: &str, params: Params, blocks: &mut [Block]) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()).hash_password_into_with_memory(
        password.as_bytes(),
        salt_bytes,
        &mut out,
        blocks,
    )?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out)?),
    };
    Ok(hash.to_string())
}

/// A hash of a random password, verified against when the user does not exist, so that a wrong
/// user name costs the same time as a wrong password.
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| {
    phc_hash(&super::secret::generate(), Params::default(), &mut buffer(Params::default().block_count())).unwrap_or_default()
});

/// Whether `password` matches `stored` (a PHC string); `None` runs against a decoy and fails.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    let exists = stored.is_some();
    let stored = stored.unwrap_or_else(|| DECOY_HASH.clone());
    let Some(blocks) = PasswordHash::new(&stored).ok().and_then(|h| Params::try_from(&h).ok()).map(|p| p.block_count()) else {
        return false;
    };
    let matched = in_slot(blocks, move |blocks| phc_verify(&password, &stored, blocks).unwrap_or(false)).await.unwrap_or(false);
    matched && exists
}

fn phc_verify(password: &str, stored: &str, blocks: &mut [Block]) -> Result<bool, HashError> {
    let parsed = PasswordHash::new(stored)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Ok(false);
    };
    let algorithm = Algorithm::try_from(parsed.algorithm)?;
    let version = parsed.version.map(Version::try_from).transpose()?.unwrap_or_default();
    let params = Params::try_from(&parsed)?;
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params).hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, blocks)?;
    // `Output`'s equality is constant-time.
    Ok(Output::new(&out)? == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_decoy_fails() {
        let stored = hash("correct horse".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(verify("correct horse".into(), Some(stored.clone())).await);
        assert!(!verify("wrong horse".into(), Some(stored)).await);
        assert!(!verify("anything".into(), None).await);
        assert!(check_strength("password", "short").is_err());
        assert!(check_strength("password", "long enough").is_ok());
    }

    /// Hashes made by the argon2 crate's own API (those already stored) still verify, and ours
    /// verify with it.
    #[tokio::test]
    async fn hashes_are_those_of_the_argon2_crate() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default().hash_password(b"old password", &salt).unwrap().to_string();
        assert!(verify("old password".into(), Some(theirs.clone())).await);
        assert!(!verify("old passw0rd".into(), Some(theirs)).await);
        let ours = hash("new password".into()).await.unwrap();
        assert!(Argon2::default().verify_password(b"new password", &PasswordHash::new(&ours).unwrap()).is_ok());
    }

    /// However many hash at once, every slot is given back; each buffer is reserved past glibc's
    /// adaptive mmap threshold, so it is unmapped when freed, and holds exactly the blocks used.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn slots_come_back_and_buffers_are_mapped_apart() {
        let stored = hash("pw-for-slots".into()).await.unwrap();
        let checks = (0..8).map(|_| tokio::spawn(verify("pw-for-slots".into(), Some(stored.clone()))));
        for check in checks {
            assert!(check.await.unwrap());
        }
        assert_eq!(SLOTS.available_permits(), HASHING_SLOTS);
        let blocks = Params::default().block_count();
        let reserved = buffer(blocks);
        assert_eq!(reserved.len(), blocks);
        assert!(reserved.capacity() * size_of::<Block>() > APART, "{} blocks reserved", reserved.capacity());
    }
}
