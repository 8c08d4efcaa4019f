//! Request ids: every request gets one (or keeps the caller's), every log line and error body carries it.

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use flotilla_api::REQUEST_ID_HEADER;
use tracing::Instrument;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served by this task, or `-` outside a request.
pub fn current() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| "-".to_owned())
}

/// Takes a sane `x-request-id` from the caller or makes one, and runs the request inside a span
/// and a task-local holding it; echoes it on the response. The span names the route template
/// (`/v1/webhooks/{secret}`), never the raw path, which may carry a secret.
pub async fn layer(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let value = HeaderValue::from_str(&id).expect("request ids are ASCII");
    request.headers_mut().insert(REQUEST_ID_HEADER, value.clone());
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), route, user = tracing::field::Empty);
    let mut response = REQUEST_ID
        .scope(
            id,
            async move {
                let started = std::time::Instant::now();
                let response = next.run(request).await;
                tracing::info!(status = response.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "served");
                response
            }
            .instrument(span),
        )
        .await;
    response.headers_mut().insert(REQUEST_ID_HEADER, value);
    response
}
