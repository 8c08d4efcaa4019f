//! `GET /identity` (300, every version) and `GET /identity/v3` (200, the one version).

use super::Keystone;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The v3 version document, its links under `base` (this server's URL).
fn version(base: &str) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{base}/identity/v3/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

/// 300 Multiple Choices with the only version and a `Location` to it.
pub(super) async fn versions(State(keystone): State<Keystone>, headers: HeaderMap) -> Response {
    let base = keystone.site.base_url(&headers);
    let location = format!("{base}/identity/v3/");
    (StatusCode::MULTIPLE_CHOICES, [(header::LOCATION, location)], Json(json!({"versions": {"values": [version(&base)]}}))).into_response()
}

pub(super) async fn v3(State(keystone): State<Keystone>, headers: HeaderMap) -> Json<Value> {
    Json(json!({"version": version(&keystone.site.base_url(&headers))}))
}
