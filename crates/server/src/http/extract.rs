//! Body and query extractors whose rejections are API errors naming the field at fault.

use crate::error::ApiError;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// Largest JSON body accepted.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// A JSON body: malformed JSON, unknown or missing fields → 400 naming the path; too big → 413;
/// a non-JSON content type → 415.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(kind) = request.headers().get(header::CONTENT_TYPE) {
            let kind = kind.to_str().unwrap_or("");
            if !kind.starts_with("application/json") && !kind.contains("+json") {
                return Err(ApiError::UnsupportedMediaType(format!("content type {kind:?} is not supported: send application/json")));
            }
        }
        let bytes = Bytes::from_request(request, state).await.map_err(body_error)?;
        parse_json(&bytes).map(ApiJson)
    }
}

fn body_error(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(format!("request body is larger than the limit of {MAX_JSON_BODY} bytes"))
    } else {
        ApiError::BadRequest(format!("cannot read request body: {rejection}"))
    }
}

/// Parses a JSON object, naming the path of the offending field in the error. Anything but one
/// object (an array, trailing text after it) and NUL characters in strings are refused: no
/// request body is anything else, and no store keeps NULs.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::BadRequest("request body is empty: a JSON object is required".into()));
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::BadRequest("request body must be a JSON object".into()));
    }
    if has_escaped_nul(bytes) {
        return Err(ApiError::BadRequest("request body holds a NUL character (\\u0000): strings may not contain it".into()));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(json_error)?;
    deserializer.end().map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// Whether a JSON text holds an escaped NUL (`\u0000`); a raw NUL is a syntax error already.
/// Backslashes appear only inside strings, where each starts a two-character escape or `\uXXXX`.
fn has_escaped_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes[i + 1..].starts_with(b"u0000") {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

fn json_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        ApiError::BadRequest(format!("malformed JSON: {inner}"))
    } else if path == "." {
        ApiError::BadRequest(format!("invalid request body: {inner}"))
    } else {
        ApiError::BadRequest(format!("invalid field {path}: {inner}"))
    }
}

/// Query parameters; a value of the wrong type → 400 naming the parameter.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let deserializer = serde_urlencoded_deserializer(query);
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|error| ApiError::BadRequest(format!("invalid query parameter {}: {}", error.path(), error.inner())))
    }
}

fn serde_urlencoded_deserializer(query: &str) -> serde_urlencoded::Deserializer<'_> {
    serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        size: u32,
    }

    #[test]
    fn json_errors_name_the_field() {
        let cases = [
            (r#"{"name": "a", "inner": {"size": "big"}}"#, "invalid field inner.size"),
            (r#"{"name": "a", "inner": {"size": 1}, "colour": 1}"#, "unknown field `colour`"),
            (r#"{"inner": {"size": 1}}"#, "missing field `name`"),
            (r#"{"name": "a", "#, "malformed JSON"),
            ("", "empty"),
            (r#"{"name": "a", "inner": {"size": 1}} trailing"#, "malformed JSON"),
            (r#"{"name": "a", "inner": {"size": 1}}{}"#, "malformed JSON"),
            (r#"["a", {"size": 1}]"#, "must be a JSON object"),
            (r#"{"name": "a\u0000b", "inner": {"size": 1}}"#, "NUL"),
        ];
        for (body, expected) in cases {
            let error = parse_json::<Body>(body.as_bytes()).unwrap_err();
            assert!(matches!(error, ApiError::BadRequest(_)));
            assert!(error.to_string().contains(expected), "{body}: {error}");
        }
        // An escaped backslash followed by `u0000` is text, not a NUL.
        assert!(parse_json::<Body>(br#"{"name": "a\\u0000", "inner": {"size": 1}}"#).is_ok());
        assert!(parse_json::<Body>(b" {\"name\": \"a\", \"inner\": {\"size\": 1}}\n").is_ok());
    }
}
