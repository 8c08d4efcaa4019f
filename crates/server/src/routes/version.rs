//! What the server is and whether it is healthy.

use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use flotilla_api::VersionInfo;

/// The API version and this server's region.
#[utoipa::path(get, path = "/v1", tag = "meta", security(()), responses((status = 200, body = VersionInfo)))]
pub async fn version(State(state): State<AppState>) -> Json<VersionInfo> {
    Json(VersionInfo {
        name: "flotilla".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        api_version: "v1".into(),
        region: state.region.clone(),
    })
}

/// 200 when the server and its database answer, 503 when the database does not. A federated
/// region adds whether its central answers (it keeps serving either way).
pub async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    state.store.ping().await.map_err(|e| ApiError::Unavailable(format!("database unreachable: {e}")))?;
    let mut health = serde_json::json!({"status": "ok", "region": state.region});
    if let crate::federation::Federation::Region(link) = &state.federation {
        let seen = link.reachability();
        health["central"] = serde_json::json!({
            "url": link.url(),
            "reachable": seen.reachable,
            "since": seen.since,
            "registered": link.is_registered(),
        });
    }
    Ok(Json(health))
}

/// 200 while the process serves at all (a liveness probe: restart it when this fails).
pub async fn livez() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// 200 when the server takes new work: its database answers and no graceful stop began. While a
/// stop drains the requests in flight it answers 503 `draining` (the listener is still open).
pub async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    if state.drain.is_draining() {
        return Err(ApiError::Unavailable("draining: the server is stopping".into()));
    }
    state.store.ping().await.map_err(|e| ApiError::Unavailable(format!("database unreachable: {e}")))?;
    Ok(Json(serde_json::json!({"status": "ready", "region": state.region})))
}

pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no such endpoint: {}", uri.path()))
}
