//! `/v3/auth/tokens`: issue (password method), validate, check and revoke, over Flotilla's
//! `/v1/auth/tokens`. The token is Flotilla's own: it works on `/v1` and on every dialect.

use super::error::KeystoneError;
use super::{Keystone, auth_request, catalog};
use crate::{Answer, Extra};
use axum::Json;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use flotilla_api::{SUBJECT_TOKEN_HEADER, Token};
use serde_json::{Value, json};
use std::net::SocketAddr;

/// Keystone's date form: microseconds and `Z` (tempest parses nothing else).
fn date(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// `?nocatalog` (with or without a value) leaves the catalog out.
fn wants_catalog(query: Option<&str>) -> bool {
    !query.unwrap_or_default().split('&').any(|pair| pair.split('=').next() == Some("nocatalog"))
}

/// Flotilla's token read from a successful answer.
fn token_of(answer: &Answer) -> Result<Token, KeystoneError> {
    if !answer.status.is_success() {
        return Err(KeystoneError::from_answer(answer));
    }
    serde_json::from_value(answer.body.clone()).map_err(|error| KeystoneError::Unreadable(format!("the token could not be read: {error}")))
}

/// The Keystone token body of `token`; scoped tokens carry the project, roles and, when asked, the catalog.
async fn body(
    keystone: &Keystone,
    token: &Token,
    secret: &str,
    scoped: bool,
    with_catalog: bool,
    headers: &HeaderMap,
) -> Result<Value, KeystoneError> {
    let domain = json!({"id": "default", "name": "Default"});
    let mut body = json!({
        "methods": ["password"],
        "expires_at": date(token.expires_at),
        "issued_at": date(token.created_at),
        "audit_ids": [token.id.simple().to_string()],
        "user": {"id": token.user.id, "name": token.user.name, "domain": domain, "password_expires_at": null},
    });
    if scoped {
        let role = serde_json::to_value(token.role).unwrap_or(Value::Null);
        body["project"] = json!({"id": token.project.id, "name": token.project.name, "domain": domain});
        body["is_domain"] = json!(false);
        body["roles"] = json!([{"id": role, "name": role}]);
        if with_catalog {
            body["catalog"] = catalog::catalog(keystone, secret, headers).await?;
        }
    }
    Ok(json!({ "token": body }))
}

fn subject_header(secret: &str) -> Result<(HeaderName, HeaderValue), KeystoneError> {
    let value = HeaderValue::from_str(secret).map_err(|_| KeystoneError::Unreadable("the token is not a header value".into()))?;
    Ok((HeaderName::from_static(SUBJECT_TOKEN_HEADER), value))
}

/// `POST /v3/auth/tokens`: 201, the token in `X-Subject-Token`.
pub(super) async fn issue(
    State(keystone): State<Keystone>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, KeystoneError> {
    let request: Value =
        serde_json::from_slice(&request).map_err(|error| KeystoneError::BadRequest(format!("the request body is not JSON: {error}")))?;
    let login = auth_request::parse(&request)?;
    let scoped = login.project.is_some();
    let mut create = json!({"user": login.user, "password": login.password});
    if let Some(project) = login.project {
        create["project"] = json!(project);
    }
    let extra = Extra { client: Some(client), ..Extra::default() };
    let answer = keystone.api.call_with(Method::POST, "/v1/auth/tokens", None, Some(&create), &extra).await;
    let token = token_of(&answer)?;
    let secret = token.token.clone().ok_or_else(|| KeystoneError::Unreadable("the new token has no secret".into()))?;
    let body = body(&keystone, &token, &secret, scoped, wants_catalog(query.as_deref()), &headers).await?;
    Ok((StatusCode::CREATED, [subject_header(&secret)?], Json(body)).into_response())
}

/// Flotilla's view of the token in `X-Subject-Token`, asked with the caller's `X-Auth-Token`.
async fn subject(keystone: &Keystone, headers: &HeaderMap, method: Method) -> Result<(Answer, String), KeystoneError> {
    let caller = header(headers, "x-auth-token");
    let Some(subject) = header(headers, SUBJECT_TOKEN_HEADER) else {
        return Err(KeystoneError::BadRequest("X-Subject-Token: the header naming the token is missing".into()));
    };
    let extra = Extra { headers: vec![subject_header(&subject)?], ..Extra::default() };
    let answer = keystone.api.call_with(method, "/v1/auth/tokens", caller.as_deref(), None, &extra).await;
    Ok((answer, subject))
}

/// `GET /v3/auth/tokens`: 200 with the subject token's body, `X-Subject-Token` echoed.
pub(super) async fn validate(
    State(keystone): State<Keystone>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, KeystoneError> {
    let (answer, secret) = subject(&keystone, &headers, Method::GET).await?;
    let token = token_of(&answer)?;
    let body = body(&keystone, &token, &secret, true, wants_catalog(query.as_deref()), &headers).await?;
    Ok((StatusCode::OK, [subject_header(&secret)?], Json(body)).into_response())
}

/// `HEAD /v3/auth/tokens`: 200 when the subject token is valid.
pub(super) async fn check(State(keystone): State<Keystone>, headers: HeaderMap) -> Result<Response, KeystoneError> {
    let (answer, secret) = subject(&keystone, &headers, Method::GET).await?;
    token_of(&answer)?;
    Ok((StatusCode::OK, [subject_header(&secret)?]).into_response())
}

/// `DELETE /v3/auth/tokens`: 204, the subject token revoked.
pub(super) async fn revoke(State(keystone): State<Keystone>, headers: HeaderMap) -> Result<StatusCode, KeystoneError> {
    let (answer, _) = subject(&keystone, &headers, Method::DELETE).await?;
    if answer.status.is_success() { Ok(StatusCode::NO_CONTENT) } else { Err(KeystoneError::from_answer(&answer)) }
}
