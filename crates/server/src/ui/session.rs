//! Signing in and out: the browser's session cookie (HttpOnly, SameSite=Strict, Path=/ui, Secure
//! over HTTPS), the sign-in form, the one-time links `flotilla dashboard` opens, and the check in
//! front of every page (no session, or its token revoked or expired: back to the sign-in form).

use super::{Ui, UiError, seal, view};
use crate::identity::secret;
use axum::Form;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use flotilla_api::{DashboardLink, Token};
use flotilla_core::Timestamp;
use flotilla_openstack::Extra;
use flotilla_store::{Store, StoreError, UiSecret, UiSecretKind};
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;
use tower::ServiceExt;

/// The session cookie's name.
const COOKIE: &str = "flotilla_ui";
/// How long a one-time link may wait for its first use.
pub const LINK_LIFETIME: Duration = Duration::from_secs(60);
/// Lifetime of the token a password sign-in gets (the API's default).
const SIGN_IN_LIFETIME_S: u64 = 12 * 3600;

/// A signed-in browser: its token (opened from the session row with the cookie's secret), the
/// CSRF token its forms carry, and whose token it is.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    digest: String,
    pub token: String,
    pub csrf: String,
    owns_token: bool,
    pub who: Token,
}

impl Session {
    /// A form's `csrf` field must be this session's.
    pub fn check_csrf(&self, sent: &str) -> Result<(), UiError> {
        if seal::same(&self.csrf, sent) { Ok(()) } else { Err(UiError::Csrf) }
    }

    pub fn is_admin(&self) -> bool {
        self.who.role.is_admin()
    }

    pub fn can_write(&self) -> bool {
        self.who.role.can_write()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Session>().cloned().ok_or(UiError::SignedOut)
    }
}

/// The session cookie's secret, when the request carries one.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The answer that sends a browser to the sign-in form and forgets its cookie.
pub(crate) fn signed_out() -> Response {
    let clear = format!("{COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0");
    let mut response = Redirect::to("/ui/signin").into_response();
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Middleware in front of every signed-in page: opens the session and checks its token with the
/// API (so a revoked or expired token ends the session at once).
pub(crate) async fn require(State(ui): State<Ui>, mut request: Request, next: Next) -> Response {
    match open_session(&ui, request.headers()).await {
        Ok(session) => {
            request.extensions_mut().insert(session);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

async fn open_session(ui: &Ui, headers: &HeaderMap) -> Result<Session, UiError> {
    let secret = cookie(headers).ok_or(UiError::SignedOut)?;
    let digest = secret::digest(&secret);
    let row = ui.store.ui_session(&digest).await?.ok_or(UiError::SignedOut)?;
    let token = seal::open(&secret, &row.sealed_token).map_err(|_| UiError::SignedOut)?;
    let who = match ui.call(Method::GET, "/v1/auth/tokens", &token, None).await {
        Ok(body) => {
            serde_json::from_value::<Token>(body).map_err(|e| UiError::Decode { path: "/v1/auth/tokens".into(), reason: e.to_string() })?
        }
        Err(UiError::SignedOut) => {
            ui.store.delete_ui_session(&digest).await?;
            return Err(UiError::SignedOut);
        }
        Err(other) => return Err(other),
    };
    Ok(Session { digest, token, csrf: seal::csrf(&secret), owns_token: row.owns_token, who })
}

/// Starts a session holding `token` until `expires_at`: the row, and the cookie that opens it.
async fn start_session(ui: &Ui, token: &str, owns_token: bool, expires_at: Timestamp) -> Result<Response, UiError> {
    let secret = secret::generate();
    let row = UiSecret {
        digest: secret::digest(&secret),
        kind: UiSecretKind::Session,
        sealed_token: seal::seal(&secret, token),
        owns_token,
        expires_at,
    };
    ui.store.put_ui_secret(&row).await?;
    let max_age = (expires_at - flotilla_core::now()).num_seconds().max(0);
    let secure = if ui.https { "; Secure" } else { "" };
    let value = format!("{COOKIE}={secret}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    let mut response = Redirect::to("/ui").into_response();
    let value = HeaderValue::from_str(&value).map_err(|e| UiError::Decode { path: "cookie".into(), reason: e.to_string() })?;
    response.headers_mut().insert(header::SET_COOKIE, value);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SignIn {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    project: String,
}

/// `GET /ui/signin`: the sign-in form.
pub(crate) async fn sign_in_form() -> Response {
    view::bare("Flotilla — sign in", view::sign_in(None, "")).into_response()
}

/// `POST /ui/signin`: trades user, password and project for a token (`POST /v1/auth/tokens`,
/// throttled as any login) that this session owns.
pub(crate) async fn sign_in(
    State(ui): State<Ui>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Form(form): Form<SignIn>,
) -> Result<Response, UiError> {
    let mut body = serde_json::json!({"user": form.user, "password": form.password, "expires_in": SIGN_IN_LIFETIME_S});
    if !form.project.trim().is_empty() {
        body["project"] = serde_json::Value::String(form.project.trim().to_owned());
    }
    let extra = Extra { client: Some(client), ..Extra::default() };
    let answer = ui.api.call_with(Method::POST, "/v1/auth/tokens", None, Some(&body), &extra).await;
    if !answer.status.is_success() {
        let page = view::bare("Flotilla — sign in", view::sign_in(Some(&answer.message()), &form.user));
        let status = if answer.status.is_client_error() { answer.status } else { StatusCode::BAD_GATEWAY };
        return Ok((status, page).into_response());
    }
    let issued: Token =
        serde_json::from_value(answer.body).map_err(|e| UiError::Decode { path: "/v1/auth/tokens".into(), reason: e.to_string() })?;
    let token = issued.token.ok_or_else(|| UiError::Decode { path: "/v1/auth/tokens".into(), reason: "no token in the answer".into() })?;
    start_session(&ui, &token, true, issued.expires_at).await
}

/// `GET /ui/link/{code}`: a one-time link signs the browser in with the token it was made for,
/// once; a second use, or one after a minute, is refused.
pub(crate) async fn follow_link(State(ui): State<Ui>, Path(code): Path<String>) -> Result<Response, UiError> {
    let refused = || {
        let message = "This sign-in link was used already or has expired. Run `flotilla dashboard` again, or sign in here.";
        (StatusCode::GONE, view::bare("Flotilla — sign in", view::sign_in(Some(message), ""))).into_response()
    };
    let Some(link) = ui.store.take_ui_link(&secret::digest(&code)).await? else {
        return Ok(refused());
    };
    let Ok(token) = seal::open(&code, &link.sealed_token) else {
        return Ok(refused());
    };
    let who: Token = match ui.call(Method::GET, "/v1/auth/tokens", &token, None).await {
        Ok(body) => serde_json::from_value(body).map_err(|e| UiError::Decode { path: "/v1/auth/tokens".into(), reason: e.to_string() })?,
        Err(UiError::SignedOut) => return Ok(refused()),
        Err(other) => return Err(other),
    };
    start_session(&ui, &token, false, who.expires_at).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfOnly {
    csrf: String,
}

/// `POST /ui/signout`: ends the session (and revokes its token when the session owns it: a
/// password sign-in; a link's token is the CLI's and stays).
pub(crate) async fn sign_out(State(ui): State<Ui>, session: Session, Form(form): Form<CsrfOnly>) -> Result<Response, UiError> {
    session.check_csrf(&form.csrf)?;
    if session.owns_token {
        match ui.call(Method::DELETE, "/v1/auth/tokens", &session.token, None).await {
            Ok(_) | Err(UiError::SignedOut) => {}
            Err(other) => return Err(other),
        }
    }
    ui.store.delete_ui_session(&session.digest).await?;
    Ok(signed_out())
}

/// `GET /ui/stream`: the session's event stream (`/v1/events/stream`, all projects for an admin),
/// passed through as it comes, for the pages' script.
pub(crate) async fn stream(State(ui): State<Ui>, session: Session) -> Result<Response, UiError> {
    let path = if session.is_admin() { "/v1/events/stream?all_projects=true" } else { "/v1/events/stream" };
    let request = axum::http::Request::get(path)
        .header(flotilla_api::AUTH_TOKEN_HEADER, HeaderValue::from_str(&session.token).map_err(|_| UiError::SignedOut)?)
        .body(Body::empty())
        .map_err(|e| UiError::Decode { path: path.into(), reason: e.to_string() })?;
    let response = match ui.router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if response.status() == StatusCode::UNAUTHORIZED {
        return Err(UiError::SignedOut);
    }
    Ok(response)
}

/// Makes a one-time link that signs a browser in with `token` (the caller's own), valid for
/// [`LINK_LIFETIME`] and never past the token's expiry. Only the link's digest is kept.
pub async fn issue_link(store: &Store, token: &str, token_expires_at: Timestamp) -> Result<DashboardLink, StoreError> {
    let code = secret::generate();
    let lifetime = chrono::Duration::from_std(LINK_LIFETIME).unwrap_or_default();
    let expires_at = (flotilla_core::now() + lifetime).min(token_expires_at);
    let row = UiSecret {
        digest: secret::digest(&code),
        kind: UiSecretKind::Link,
        sealed_token: seal::seal(&code, token),
        owns_token: false,
        expires_at,
    };
    store.put_ui_secret(&row).await?;
    Ok(DashboardLink { path: format!("/ui/link/{code}"), expires_at })
}
