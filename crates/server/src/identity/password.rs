//! Passwords: argon2id hashes in PHC form, computed off the async runtime, at most
//! `HASHING_SLOTS` at once, each in a block buffer that is reused (argon2 would otherwise
//! allocate 19 MiB per hash, which glibc's per-thread arenas keep: the server grew by that much
//! with every login).

use crate::error::ApiError;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use flotilla_core::ValidationError;
use std::sync::{Arc, LazyLock, Mutex};
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

/// The process's hashing slots and their reusable block buffers (one per slot at most).
struct Slots {
    permits: Arc<Semaphore>,
    buffers: Arc<Mutex<Vec<Vec<Block>>>>,
}

static SLOTS: LazyLock<Slots> =
    LazyLock::new(|| Slots { permits: Arc::new(Semaphore::new(HASHING_SLOTS)), buffers: Arc::new(Mutex::new(Vec::new())) });

/// Why a hash could not be computed or read.
#[derive(Debug, thiserror::Error)]
enum HashError {
    #[error("{0}")]
    Argon2(#[from] argon2::Error),
    #[error("{0}")]
    Phc(#[from] argon2::password_hash::Error),
}

/// Runs `work` on a blocking thread with a buffer of at least `blocks` blocks, once a slot is
/// free; the slot and its buffer are given back when `work` ends, even if its caller went away.
async fn in_slot<T: Send + 'static>(blocks: usize, work: impl FnOnce(&mut [Block]) -> T + Send + 'static) -> Result<T, ApiError> {
    let permit = SLOTS.permits.clone().acquire_owned().await.map_err(|e| ApiError::Internal(format!("password hashing closed: {e}")))?;
    let buffers = SLOTS.buffers.clone();
    tokio::task::spawn_blocking(move || {
        let mut buffer = buffers.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_default();
        if buffer.len() < blocks {
            buffer.resize(blocks, Block::default());
        }
        let answer = work(&mut buffer[..blocks]);
        buffers.lock().unwrap_or_else(|e| e.into_inner()).push(buffer);
        drop(permit);
        answer
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password hashing task failed: {e}")))
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
    let salt = SaltString::generate(&mut OsRng);
    argon2::PasswordHasher::hash_password(&Argon2::default(), super::secret::generate().as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
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

    /// Never more than `HASHING_SLOTS` buffers exist, however many hash at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn buffers_are_bounded_by_the_slots() {
        let stored = hash("pw-for-slots".into()).await.unwrap();
        let checks = (0..8).map(|_| tokio::spawn(verify("pw-for-slots".into(), Some(stored.clone()))));
        for check in checks {
            assert!(check.await.unwrap());
        }
        assert!(SLOTS.buffers.lock().unwrap().len() <= HASHING_SLOTS);
    }
}
