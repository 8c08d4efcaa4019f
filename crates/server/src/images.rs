//! Image archives on disk: an upload streamed to a file while hashed and counted (never held
//! whole in memory), then read for its `manifest.json` (tags and Docker's image id).

use crate::error::ApiError;
use axum::body::Body;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// An archive received in full: where it is, its digest and size.
#[derive(Debug)]
pub struct Received {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
}

/// What `manifest.json` of a `docker save` archive says.
#[derive(Debug)]
pub struct Manifest {
    pub tags: Vec<String>,
    pub docker_id: String,
}

/// Streams `body` into a temporary file of `dir`; past `limit` bytes it stops with 413 and leaves nothing.
pub async fn receive(dir: &Path, body: Body, limit: u64) -> Result<Received, ApiError> {
    tokio::fs::create_dir_all(dir).await.map_err(|e| ApiError::Internal(format!("image directory {}: {e}", dir.display())))?;
    let path = dir.join(format!(".upload-{}", uuid::Uuid::now_v7()));
    let result = write(&path, body, limit).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&path).await;
    }
    result.map(|(sha256, size)| Received { path, sha256, size })
}

async fn write(path: &Path, body: Body, limit: u64) -> Result<(String, u64), ApiError> {
    let io = |e: std::io::Error| ApiError::Internal(format!("writing image archive: {e}"));
    let mut file = tokio::fs::File::create(path).await.map_err(io)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("upload interrupted: {e}")))?;
        size += chunk.len() as u64;
        if size > limit {
            drain(stream).await;
            return Err(ApiError::PayloadTooLarge(format!("image archive is larger than the limit of {limit} bytes")));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    Ok((hex::encode(hasher.finalize()), size))
}

/// Most of a refused upload read and thrown away, so that the client, still sending, gets to read
/// the answer instead of a broken connection (the answer also says `Connection: close`).
const DRAIN_LIMIT: u64 = 256 << 20;

/// Reads and discards what is left of a body, up to [`DRAIN_LIMIT`] bytes.
pub async fn drain(mut stream: axum::body::BodyDataStream) {
    let mut drained = 0u64;
    while let Some(Ok(chunk)) = stream.next().await {
        drained += chunk.len() as u64;
        if drained > DRAIN_LIMIT {
            break;
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
}

/// Reads `manifest.json` from the archive at `path` (blocking: run it off the async threads).
pub fn read_manifest(path: &Path) -> Result<Manifest, ApiError> {
    let bad = |why: String| ApiError::BadRequest(format!("body is not a docker save archive: {why}"));
    let file = std::fs::File::open(path).map_err(|e| ApiError::Internal(format!("reading image archive: {e}")))?;
    let mut archive = tar::Archive::new(file);
    for entry in archive.entries().map_err(|e| bad(e.to_string()))? {
        let entry = entry.map_err(|e| bad(e.to_string()))?;
        let name = entry.path().map_err(|e| bad(e.to_string()))?.to_string_lossy().trim_start_matches("./").to_owned();
        if name != "manifest.json" {
            continue;
        }
        let entries: Vec<ManifestEntry> = serde_json::from_reader(entry).map_err(|e| bad(format!("manifest.json: {e}")))?;
        let first = entries.into_iter().next().ok_or_else(|| bad("manifest.json lists no image".into()))?;
        let digest = first.config.rsplit('/').next().unwrap_or(&first.config).trim_end_matches(".json").to_owned();
        return Ok(Manifest { tags: first.repo_tags.unwrap_or_default(), docker_id: format!("sha256:{digest}") });
    }
    Err(bad("no manifest.json".into()))
}
