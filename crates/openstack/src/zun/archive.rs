//! `GET /v1/containers/{id}/get_archive?path=` and `POST …/put_archive?path=`: a container's files
//! as Zun carries them, a tar as base64 in `data` (microversion 1.25 on), with Docker's path stat.

use super::containers::escape;
use super::error::{ZunError, check};
use super::query::Params;
use super::version::Microversion;
use super::{Zun, token};
use crate::api::Extra;
use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use flotilla_api::{MAX_ARCHIVE_BYTES, PATH_STAT_HEADER, PathStat};
use serde_json::{Value, json};

/// The first microversion whose `data` is base64 (before it, the tar went as text).
const BASE64_DATA: Microversion = Microversion(25);

/// Largest `put_archive` body: the largest archive as base64, with room for the JSON around it.
pub(super) const MAX_PUT_BODY: usize = MAX_ARCHIVE_BYTES.div_ceil(3) * 4 + 4096;

/// `?path=` of an archive call, and the microversion checked.
fn path_of(query: Option<&str>, version: Microversion) -> Result<String, ZunError> {
    if version.0 < BASE64_DATA.0 {
        return Err(ZunError::BadRequest(format!(
            "OpenStack-API-Version: get_archive and put_archive need container {BASE64_DATA} or later (base64 data), not {version}"
        )));
    }
    let params = Params::parse(query, &["path"])?;
    match params.get("path") {
        Some(path) if !path.is_empty() => Ok(path.to_owned()),
        _ => Err(ZunError::BadRequest("path: the path in the container is missing".into())),
    }
}

/// The archive's URI in Flotilla's API.
fn flotilla_path(id: &str, path: &str) -> String {
    format!("/v1/containers/{}/archive?path={}", escape(id), escape(path))
}

/// `{"data": base64 tar, "stat": {name, size, mode, mtime, linkTarget}}`.
pub(super) async fn get_archive(
    State(zun): State<Zun>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    Extension(version): Extension<Microversion>,
    headers: HeaderMap,
) -> Result<Json<Value>, ZunError> {
    let path = path_of(query.as_deref(), version)?;
    let answer = check(zun.api.call(Method::GET, &flotilla_path(&id, &path), token(&headers), None).await)?;
    let stat: PathStat = answer
        .headers
        .get(PATH_STAT_HEADER)
        .and_then(|v| STANDARD.decode(v.as_bytes()).ok())
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or_else(|| ZunError::Unreadable(format!("the archive of {path} came without a readable {PATH_STAT_HEADER}")))?;
    Ok(Json(json!({"data": STANDARD.encode(&answer.raw), "stat": stat})))
}

/// `{"data": base64 tar}` extracted into directory `path`; 200 with `null`, as Zun answers.
pub(super) async fn put_archive(
    State(zun): State<Zun>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    Extension(version): Extension<Microversion>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ZunError> {
    let path = path_of(query.as_deref(), version)?;
    let body: Value = serde_json::from_slice(&body).map_err(|e| ZunError::BadRequest(format!("body: not JSON: {e}")))?;
    let Some(data) = body.get("data").and_then(Value::as_str) else {
        return Err(ZunError::BadRequest("data: the archive (base64 of a tar) is missing".into()));
    };
    let tar = STANDARD.decode(data).map_err(|e| ZunError::BadRequest(format!("data: not base64: {e}")))?;
    let extra = Extra { raw_body: Some((HeaderValue::from_static("application/x-tar"), tar.into())), ..Extra::default() };
    check(zun.api.call_with(Method::PUT, &flotilla_path(&id, &path), token(&headers), None, &extra).await)?;
    Ok(Json(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_need_base64_microversions_and_a_path() {
        assert_eq!(path_of(Some("path=%2Fetc%2Fhosts"), Microversion(40)).unwrap(), "/etc/hosts");
        let Err(ZunError::BadRequest(old)) = path_of(Some("path=/x"), Microversion(24)) else { panic!("1.24 refused") };
        assert!(old.contains("1.25"), "{old}");
        let Err(ZunError::BadRequest(missing)) = path_of(None, Microversion(40)) else { panic!("no path refused") };
        assert!(missing.starts_with("path:"), "{missing}");
        assert_eq!(flotilla_path("web", "/a b"), "/v1/containers/web/archive?path=%2Fa%20b");
    }

    #[test]
    fn a_put_body_fits_the_largest_archive() {
        let largest = serde_json::to_vec(&json!({"data": STANDARD.encode(vec![0u8; MAX_ARCHIVE_BYTES])})).unwrap();
        assert!(largest.len() <= MAX_PUT_BODY, "{} > {MAX_PUT_BODY}", largest.len());
    }
}
