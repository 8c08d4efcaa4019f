//! The everyday actions, as forms posting to `/ui`: scale a cluster, stop or start a container,
//! drain a host, cancel an action. Each checks the session's CSRF token, then makes the same
//! `/v1` call a client would, as the session's token (so the API's rights apply), and goes back.

use super::session::Session;
use super::{Ui, UiError};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Redirect;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
pub(crate) struct Csrf {
    pub(super) csrf: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Scale {
    csrf: String,
    capacity: String,
}

/// Where to go after a form: the page it was sent from (same origin), else `fallback`.
fn back(headers: &HeaderMap, fallback: &str) -> Redirect {
    let from = headers.get(header::REFERER).and_then(|v| v.to_str().ok()).and_then(|r| r.find("/ui").map(|at| r[at..].to_owned()));
    Redirect::to(from.as_deref().filter(|path| path.starts_with("/ui")).unwrap_or(fallback))
}

/// A path segment from a form's URL, escaped for the API's path.
pub(super) fn segment(key: &str) -> String {
    form_urlencoded::byte_serialize(key.as_bytes()).collect()
}

/// `POST /ui/clusters/{cluster}/scale`: a resize to an exact capacity.
pub(crate) async fn scale(
    State(ui): State<Ui>,
    session: Session,
    headers: HeaderMap,
    Path(cluster): Path<String>,
    Form(form): Form<Scale>,
) -> Result<Redirect, UiError> {
    session.check_csrf(&form.csrf)?;
    let capacity: i64 = form.capacity.trim().parse().map_err(|_| UiError::Api {
        status: StatusCode::BAD_REQUEST,
        message: format!("capacity: {:?} is not a whole number", form.capacity),
    })?;
    let body = json!({"resize": {"adjustment_type": "EXACT_CAPACITY", "number": capacity}});
    ui.call(Method::POST, &format!("/v1/clusters/{}/actions", segment(&cluster)), &session.token, Some(&body)).await?;
    Ok(back(&headers, &format!("/ui/clusters/{}", segment(&cluster))))
}

/// `POST /ui/containers/{container}/{start|stop}`.
pub(crate) async fn container(
    State(ui): State<Ui>,
    session: Session,
    headers: HeaderMap,
    Path((container, operation)): Path<(String, String)>,
    Form(form): Form<Csrf>,
) -> Result<Redirect, UiError> {
    session.check_csrf(&form.csrf)?;
    if !matches!(operation.as_str(), "start" | "stop") {
        return Err(UiError::Api { status: StatusCode::NOT_FOUND, message: format!("operation: {operation:?} must be start or stop") });
    }
    ui.call(Method::POST, &format!("/v1/containers/{}/{operation}", segment(&container)), &session.token, None).await?;
    Ok(back(&headers, "/ui/containers"))
}

/// `POST /ui/hosts/{host}/drain`: no new placements there (admins).
pub(crate) async fn drain(
    State(ui): State<Ui>,
    session: Session,
    headers: HeaderMap,
    Path(host): Path<String>,
    Form(form): Form<Csrf>,
) -> Result<Redirect, UiError> {
    session.check_csrf(&form.csrf)?;
    ui.call(Method::POST, &format!("/v1/hosts/{}/drain", segment(&host)), &session.token, Some(&json!({}))).await?;
    Ok(back(&headers, "/ui/hosts"))
}

/// `POST /ui/actions/{action}/cancel`.
pub(crate) async fn cancel(
    State(ui): State<Ui>,
    session: Session,
    headers: HeaderMap,
    Path(action): Path<String>,
    Form(form): Form<Csrf>,
) -> Result<Redirect, UiError> {
    session.check_csrf(&form.csrf)?;
    ui.call(Method::POST, &format!("/v1/actions/{}/cancel", segment(&action)), &session.token, None).await?;
    Ok(back(&headers, "/ui"))
}
