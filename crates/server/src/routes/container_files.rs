//! `/v1/containers/{container}/archive`: a container's files as a tar, read or extracted through its agent.

use super::container_ops::for_read;
use crate::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::DateTime;
use flotilla_api::{ArchiveQuery, ErrorBody, MAX_ARCHIVE_BYTES, PATH_STAT_HEADER, PathStat};
use flotilla_core::ValidationError;
use flotilla_core::container::Operation;

/// Longest path accepted (Linux's `PATH_MAX`).
const MAX_PATH: usize = 4096;

/// Go's `os.ModeDir` and `os.ModeSymlink`, as Docker's stat carries them.
const MODE_DIR: u32 = 1 << 31;
const MODE_SYMLINK: u32 = 1 << 27;

/// `path` when it is absolute, without NUL and not too long; else a 400 naming `path`.
fn checked(path: &str) -> Result<&str, ApiError> {
    let bad = |reason: &str| ApiError::from(ValidationError::new("path", path, reason));
    if !path.starts_with('/') {
        return Err(bad("must be an absolute path in the container"));
    }
    if path.contains('\0') {
        return Err(bad("must not contain NUL"));
    }
    if path.len() > MAX_PATH {
        return Err(bad("is longer than 4096 bytes"));
    }
    Ok(path)
}

/// What the archive's first entry (the path itself) says.
fn stat_of(tar: &[u8]) -> Result<PathStat, ApiError> {
    let bad = |why: String| ApiError::Unavailable(format!("the agent answered a damaged archive: {why}"));
    let mut archive = tar::Archive::new(tar);
    let mut entries = archive.entries().map_err(|e| bad(e.to_string()))?;
    let entry = entries.next().ok_or_else(|| bad("it is empty".into()))?.map_err(|e| bad(e.to_string()))?;
    let header = entry.header();
    let path = entry.path().map_err(|e| bad(e.to_string()))?;
    let kind = header.entry_type();
    let mut mode = header.mode().map_err(|e| bad(e.to_string()))? & 0o7777;
    if kind.is_dir() {
        mode |= MODE_DIR;
    } else if kind.is_symlink() {
        mode |= MODE_SYMLINK;
    }
    let mtime = header.mtime().map_err(|e| bad(e.to_string()))?;
    Ok(PathStat {
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "/".into()),
        size: header.size().map_err(|e| bad(e.to_string()))?,
        mode,
        mtime: DateTime::from_timestamp(i64::try_from(mtime).unwrap_or(0), 0).unwrap_or_default().to_rfc3339(),
        link_target: entry.link_name().ok().flatten().map(|l| l.to_string_lossy().into_owned()).unwrap_or_default(),
    })
}

#[utoipa::path(get, path = "/v1/containers/{container}/archive", tag = "containers",
    params(("container" = String, Path, description = "id or name"), ArchiveQuery),
    responses(
        (status = 200, content_type = "application/x-tar", body = Vec<u8>,
            description = "a tar of the path; header `X-Flotilla-Path-Stat` is its PathStat as base64 of JSON"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn download_archive(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<ArchiveQuery>,
) -> Result<Response, ApiError> {
    caller.require_write()?;
    let path = checked(&query.path)?;
    let (_, call) = for_read(&state, &caller, &key, Operation::Copy).await?;
    let tar = call.download(path).await?;
    let stat = STANDARD.encode(serde_json::to_vec(&stat_of(&tar)?).map_err(|e| ApiError::Internal(e.to_string()))?);
    Ok(([(header::CONTENT_TYPE, "application/x-tar".to_owned()), (header::HeaderName::from_static(PATH_STAT_HEADER), stat)], tar)
        .into_response())
}

#[utoipa::path(put, path = "/v1/containers/{container}/archive", tag = "containers",
    params(("container" = String, Path, description = "id or name"), ArchiveQuery),
    request_body(content = Vec<u8>, content_type = "application/x-tar", description = "a tar extracted into the directory `path`"),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody)))]
pub async fn upload_archive(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<ArchiveQuery>,
    body: Body,
) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    let path = checked(&query.path)?;
    let (_, call) = for_read(&state, &caller, &key, Operation::Copy).await?;
    let tar = axum::body::to_bytes(body, MAX_ARCHIVE_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge(format!("the archive is larger than the limit of {MAX_ARCHIVE_BYTES} bytes")))?;
    call.upload(path, tar).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_be_absolute() {
        assert!(checked("/etc/hosts").is_ok());
        let ApiError::BadRequest(message) = checked("etc").unwrap_err() else { panic!("a 400") };
        assert!(message.contains("path") && message.contains("etc"), "{message}");
        assert!(checked("/a\0b").is_err());
        assert!(checked(&format!("/{}", "a".repeat(MAX_PATH))).is_err());
    }

    #[test]
    fn the_stat_is_the_first_entry() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_mtime(1_700_000_000);
        header.set_size(0);
        builder.append_data(&mut header, "conf/", std::io::empty()).unwrap();
        let mut file = tar::Header::new_gnu();
        file.set_mode(0o644);
        file.set_size(2);
        builder.append_data(&mut file, "conf/a", &b"hi"[..]).unwrap();
        let stat = stat_of(&builder.into_inner().unwrap()).unwrap();
        assert_eq!((stat.name.as_str(), stat.mode, stat.size), ("conf", MODE_DIR | 0o755, 0));
        assert_eq!(stat.mtime, "2023-11-14T22:13:20+00:00");
        assert!(stat_of(b"").is_err(), "an empty archive has no stat");
    }
}
