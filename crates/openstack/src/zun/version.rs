//! Versions and microversions: `GET /container` (the version list), `GET /container/v1`, and the
//! `OpenStack-API-Version: container 1.x` negotiation every `/v1` request goes through.

use super::error::ZunError;
use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The microversions this API speaks: 1.1 to 1.40.
pub(crate) const MIN: Microversion = Microversion(1);
pub(crate) const MAX: Microversion = Microversion(40);

const HEADER: &str = "openstack-api-version";

/// A `1.x` microversion (only the minor part varies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Microversion(pub u32);

impl std::fmt::Display for Microversion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "1.{}", self.0)
    }
}

/// The version asked for in `headers` (1.1 without one; `latest` is the newest).
fn requested(headers: &HeaderMap) -> Result<Microversion, ZunError> {
    let mut asked = None;
    for value in headers.get_all(HEADER) {
        let text = value.to_str().map_err(|_| ZunError::BadRequest("OpenStack-API-Version: not text".into()))?;
        for part in text.split(',') {
            let mut words = part.split_whitespace();
            if words.next().is_some_and(|service| service.eq_ignore_ascii_case("container")) {
                asked = words.next().map(str::to_owned);
            }
        }
    }
    let Some(asked) = asked else { return Ok(MIN) };
    if asked.eq_ignore_ascii_case("latest") {
        return Ok(MAX);
    }
    let invalid = || ZunError::NotAcceptable(format!("OpenStack-API-Version: `container {asked}` is not a version of the form 1.N"));
    let (major, minor) = asked.split_once('.').ok_or_else(invalid)?;
    let minor: u32 = minor.parse().map_err(|_| invalid())?;
    let version = Microversion(minor);
    if major != "1" || !(MIN..=MAX).contains(&version) {
        return Err(ZunError::NotAcceptable(format!(
            "OpenStack-API-Version: version {asked} is not supported by the API: minimum {MIN}, maximum {MAX}"
        )));
    }
    Ok(version)
}

fn container_header(version: Microversion) -> HeaderValue {
    HeaderValue::from_str(&format!("container {version}")).expect("ASCII")
}

/// Negotiates the request's microversion (406 out of range), hands it to the handler as an
/// extension, and names it, the minimum and the maximum on the answer.
pub(crate) async fn negotiate(mut request: Request, next: Next) -> Response {
    let version = match requested(request.headers()) {
        Ok(version) => version,
        Err(error) => {
            let mut response = error.into_response();
            stamp(response.headers_mut(), MIN);
            return response;
        }
    };
    request.extensions_mut().insert(version);
    let mut response = next.run(request).await;
    stamp(response.headers_mut(), version);
    response
}

fn stamp(headers: &mut HeaderMap, version: Microversion) {
    headers.insert(HeaderName::from_static(HEADER), container_header(version));
    headers.insert(HeaderName::from_static("openstack-api-minimum-version"), container_header(MIN));
    headers.insert(HeaderName::from_static("openstack-api-maximum-version"), container_header(MAX));
    headers.insert(axum::http::header::VARY, HeaderValue::from_static("OpenStack-API-Version"));
}

/// The v1 entry of the version documents.
fn v1(base: &str) -> Value {
    json!({
        "id": "v1",
        "links": [{"href": format!("{base}/container/v1/"), "rel": "self"}],
        "status": "CURRENT",
        "min_version": MIN.to_string(),
        "max_version": MAX.to_string(),
    })
}

/// `GET /container`: every version (there is one), no token needed.
pub(crate) fn root(base: &str) -> Json<Value> {
    Json(json!({
        "name": "OpenStack Zun API",
        "description": "Zun is an OpenStack project which aims to provide container management (served by Flotilla).",
        "versions": [v1(base)],
        "default_version": v1(base),
    }))
}

/// `GET /container/v1`: the version and its resources.
pub(crate) fn version_one(base: &str) -> Json<Value> {
    let mut body = v1(base);
    body["media_types"] = json!([{"base": "application/json", "type": "application/vnd.openstack.zun.v1+json"}]);
    for resource in ["containers", "hosts", "images", "services"] {
        body[resource] = json!([{"href": format!("{base}/container/v1/{resource}/"), "rel": "self"}]);
    }
    Json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(value: &str) -> Result<Microversion, ZunError> {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_str(value).unwrap());
        requested(&headers)
    }

    #[test]
    fn reads_versions_latest_and_refuses_the_rest() {
        assert_eq!(requested(&HeaderMap::new()).unwrap(), MIN);
        assert_eq!(asked("container 1.12").unwrap(), Microversion(12));
        assert_eq!(asked("clustering 1.14, container latest").unwrap(), MAX);
        assert!(matches!(asked("container 1.41"), Err(ZunError::NotAcceptable(_))));
        assert!(matches!(asked("container 2.1"), Err(ZunError::NotAcceptable(_))));
        assert!(asked("container x").unwrap_err().to_string().contains("container x"));
    }
}
