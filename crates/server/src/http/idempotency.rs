//! `Idempotency-Key` on POST: the first request runs, a retry with the same body replays its
//! answer (status, body, `Location`), the same key on a different request is refused (422), a
//! retry racing the first is 409. An answer that carried a secret (a join token, a webhook URL)
//! is never kept: its retry is a 409 saying the secret was shown once (as Stripe and Kubernetes
//! show a created secret once), with the `Location` of what it made when there is one.

use crate::error::ApiError;
use crate::http::extract::MAX_JSON_BODY;
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use flotilla_api::{IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, IMAGE_SHA256_HEADER};
use flotilla_store::{IdempotencyClaim, IdempotentAnswer};
use sha2::{Digest, Sha256};

const MAX_KEY_LEN: usize = 255;

/// Marks an answer that carries a secret (as a response extension: `(StatusCode,
/// Extension(SecretAnswer), Json(..))`): the idempotency store keeps its status and `Location`,
/// never its body.
#[derive(Debug, Clone, Copy)]
pub struct SecretAnswer;

/// Whether the body is a streamed archive (never buffered here).
fn streamed(parts: &axum::http::request::Parts) -> bool {
    parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("application/x-tar"))
}

/// What makes two requests the same: the URI and the JSON body; for a streamed archive (an image
/// upload) the URI and the archive's declared sha256, so the stream is never buffered.
async fn fingerprint(parts: &axum::http::request::Parts, body: Body) -> Result<(String, Body), ApiError> {
    let mut hasher = Sha256::new();
    hasher.update(parts.uri.to_string().as_bytes());
    hasher.update([0]);
    let streamed =
        parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("application/x-tar"));
    let body = if streamed {
        let digest = parts.headers.get(IMAGE_SHA256_HEADER).and_then(|v| v.to_str().ok()).ok_or_else(|| {
            ApiError::BadRequest(format!("an Idempotency-Key on an archive upload needs the {IMAGE_SHA256_HEADER} header"))
        })?;
        hasher.update(digest.as_bytes());
        body
    } else {
        let bytes = to_bytes(body, MAX_JSON_BODY)
            .await
            .map_err(|_| ApiError::PayloadTooLarge(format!("request body is larger than the limit of {MAX_JSON_BODY} bytes")))?;
        hasher.update(&bytes);
        Body::from(bytes)
    };
    Ok((hex::encode(hasher.finalize()), body))
}

/// Runs after authentication (keys belong to the calling user).
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    if request.method() != Method::POST {
        return Ok(next.run(request).await);
    }
    let Some(key) = request.headers().get(IDEMPOTENCY_KEY_HEADER) else {
        return Ok(next.run(request).await);
    };
    let key = key
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::BadRequest(format!("header Idempotency-Key must be 1-{MAX_KEY_LEN} printable ASCII characters")))?;
    let principal =
        request.extensions().get::<Principal>().cloned().ok_or_else(|| ApiError::Internal("idempotency before authentication".into()))?;
    let (parts, body) = request.into_parts();
    let (request_hash, body) = fingerprint(&parts, body).await?;
    let store = &state.store;
    let early = match store.claim_idempotency_key(principal.user_id, &key, &request_hash).await? {
        IdempotencyClaim::Run => None,
        IdempotencyClaim::Replay(answer) => Some(replay(&key, answer)),
        IdempotencyClaim::InFlight => {
            Some(ApiError::Conflict(format!("a request with Idempotency-Key {key:?} is still in progress; retry later")).into_response())
        }
        IdempotencyClaim::Mismatch => {
            Some(ApiError::Unprocessable(format!("Idempotency-Key {key:?} was already used for a different request")).into_response())
        }
    };
    if let Some(mut response) = early {
        // A streamed body is answered without being read: the connection cannot carry another request.
        if streamed(&parts) {
            crate::images::drain(body.into_data_stream()).await;
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        return Ok(response);
    }
    let response = next.run(Request::from_parts(parts, body)).await;
    if response.status().is_server_error() {
        store.release_idempotency_key(principal.user_id, &key).await?;
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let body = to_bytes(body, usize::MAX).await.map_err(|e| ApiError::Internal(format!("cannot buffer response: {e}")))?;
    let answer = IdempotentAnswer {
        status: parts.status.as_u16(),
        body: parts.extensions.get::<SecretAnswer>().is_none().then(|| String::from_utf8_lossy(&body).into_owned()),
        location: parts.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned),
    };
    store.finish_idempotency_key(principal.user_id, &key, &answer).await?;
    Ok(Response::from_parts(parts, Body::from(body)))
}

/// The answer to a retry: the kept one, or a 409 when it carried a secret.
fn replay(key: &str, answer: IdempotentAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let Some(body) = answer.body else {
        let made = answer.location.as_deref().map(|l| format!(" it made {l};")).unwrap_or_default();
        let message = format!(
            "the request with Idempotency-Key {key:?} already succeeded ({status});{made} its answer carried a secret, which is shown only once and not kept: make a new one"
        );
        return ApiError::Conflict(message).into_response();
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(IDEMPOTENT_REPLAYED_HEADER, HeaderValue::from_static("true"));
    if let Some(location) = answer.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, location);
    }
    response
}
