//! Version discovery (`GET /` 300, `GET /v1` 200, no token), the microversion header
//! (`OpenStack-API-Version: clustering X.Y`, 1.0 to 1.14, echoed with `Vary`), and build-info.

use super::context::{Caller, Shared};
use super::error::SenlinError;
use super::reply::{Reply, keyed};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const MIN_VERSION: (u32, u32) = (1, 0);
pub const MAX_VERSION: (u32, u32) = (1, 14);
const HEADER: &str = "openstack-api-version";

fn version_doc(base: &str) -> Value {
    json!({
        "id": "1.0",
        "status": "CURRENT",
        "updated": "2016-01-18T00:00:00Z",
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.clustering-v1+json"}],
        "links": [
            {"rel": "self", "href": format!("{base}/v1/")},
            {"rel": "help", "href": "https://docs.openstack.org/api-ref/clustering"},
        ],
        "min_version": format!("{}.{}", MIN_VERSION.0, MIN_VERSION.1),
        "max_version": format!("{}.{}", MAX_VERSION.0, MAX_VERSION.1),
    })
}

/// The discovery document of the dialect at `base`: 300 with the one version.
pub fn discovery(base: &str) -> Response {
    (StatusCode::MULTIPLE_CHOICES, Json(json!({"versions": [version_doc(base)]}))).into_response()
}

/// `GET /`.
pub async fn root(caller: Caller) -> Response {
    discovery(&caller.base)
}

/// `GET /v1`: the version.
pub async fn v1(caller: Caller) -> Response {
    Json(json!({"version": version_doc(&caller.base)})).into_response()
}

/// `GET /v1/build-info` (a token is needed, as in Senlin).
pub async fn build_info(State(senlin): State<Shared>, caller: Caller) -> Reply {
    senlin.get(&caller, "/v1/auth/tokens").await?;
    let revision = env!("CARGO_PKG_VERSION");
    keyed(StatusCode::OK, "build_info", json!({"api": {"revision": revision}, "engine": {"revision": revision}}))
}

/// The microversion a request asks for: none is 1.0, `latest` the highest.
fn requested(header: Option<&HeaderValue>) -> Result<(u32, u32), SenlinError> {
    let Some(value) = header.and_then(|h| h.to_str().ok()) else { return Ok(MIN_VERSION) };
    let mut words = value.split_whitespace();
    let (Some(service), Some(version), None) = (words.next(), words.next(), words.next()) else {
        return Err(unsupported(value));
    };
    if !service.eq_ignore_ascii_case("clustering") {
        return Ok(MIN_VERSION);
    }
    if version.eq_ignore_ascii_case("latest") {
        return Ok(MAX_VERSION);
    }
    let parsed = version.split_once('.').and_then(|(major, minor)| Some((major.parse().ok()?, minor.parse().ok()?)));
    match parsed {
        Some(v) if (MIN_VERSION..=MAX_VERSION).contains(&v) => Ok(v),
        _ => Err(unsupported(version)),
    }
}

fn unsupported(version: &str) -> SenlinError {
    SenlinError {
        status: StatusCode::NOT_ACCEPTABLE,
        kind: "InvalidGlobalAPIVersion",
        message: format!(
            "Version {version} is not supported by the API. Minimum is {}.{} and maximum is {}.{}.",
            MIN_VERSION.0, MIN_VERSION.1, MAX_VERSION.0, MAX_VERSION.1
        ),
    }
}

/// Checks the microversion header and echoes the version used on the answer.
pub async fn microversion(request: Request, next: Next) -> Response {
    let (major, minor) = match requested(request.headers().get(HEADER)) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("clustering {major}.{minor}")) {
        headers.insert(HEADER, value);
    }
    headers.insert("vary", HeaderValue::from_static("OpenStack-API-Version"));
    response
}
