//! The dashboard at `/ui`: server-rendered pages (maud) over the same `/v1` API a client calls,
//! sent in-process with the signed-in browser's token, so a page shows exactly what that token
//! may see and a form does exactly what it may do. A little embedded JavaScript follows the event
//! stream and fetches the changed page's fragment again.

mod forms;
mod pages;
mod regions;
mod seal;
mod session;
mod view;

pub use session::issue_link;

use axum::Router;
use axum::http::{Method, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use flotilla_openstack::Api;
use flotilla_store::{Store, StoreError};
use serde::de::DeserializeOwned;
use serde_json::Value;
use session::Session;

/// What the dashboard's handlers share.
#[derive(Clone)]
pub(crate) struct Ui {
    /// The `/v1` API, called in-process (token check, rights and handlers as for any client).
    api: Api,
    /// The same router, for the one call whose answer streams (the event stream).
    router: Router,
    store: Store,
    /// Calls to the regions' APIs (the central's pages show every region).
    http: reqwest::Client,
    /// Cookies are `Secure` when the server speaks HTTPS.
    https: bool,
}

/// Why a dashboard request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UiError {
    /// No session, or its token is no longer valid: sign in again.
    #[error("signed out")]
    SignedOut,
    /// The API refused or failed; its message is shown as it is.
    #[error("{message}")]
    Api { status: StatusCode, message: String },
    /// A form's CSRF token is not this session's.
    #[error("the form's CSRF token does not match this session: reload the page and try again")]
    Csrf,
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// An API answer that is not the expected shape.
    #[error("unexpected answer from {path}: {reason}")]
    Decode { path: String, reason: String },
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let status = match &self {
            UiError::SignedOut => return session::signed_out(),
            UiError::Api { status, .. } => *status,
            UiError::Csrf => StatusCode::FORBIDDEN,
            UiError::Store(_) | UiError::Decode { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::warn!(error = %self, "dashboard request failed");
        }
        let page = view::bare("Flotilla — error", view::problem(status, &self.to_string()));
        (status, [(header::CACHE_CONTROL, "no-store")], page).into_response()
    }
}

impl Ui {
    /// Sends `method path` with `token` and `body`; a 401 means the session is over.
    async fn call(&self, method: Method, path: &str, token: &str, body: Option<&Value>) -> Result<Value, UiError> {
        let answer = self.api.call(method, path, Some(token), body).await;
        match answer.status {
            status if status.is_success() => Ok(answer.body),
            StatusCode::UNAUTHORIZED => Err(UiError::SignedOut),
            status => Err(UiError::Api { status, message: answer.message() }),
        }
    }

    /// `GET path` as the session, decoded.
    async fn get<T: DeserializeOwned>(&self, session: &Session, path: &str) -> Result<T, UiError> {
        let body = self.call(Method::GET, path, &session.token, None).await?;
        serde_json::from_value(body).map_err(|e| UiError::Decode { path: path.to_owned(), reason: e.to_string() })
    }
}

/// The `/ui` routes over `api` (the `/v1` router); `https` says whether cookies are `Secure`.
pub(crate) fn router(api: Router, store: Store, https: bool) -> Router {
    let http = reqwest::Client::builder().connect_timeout(regions::REGION_TIMEOUT).build().unwrap_or_default();
    let ui = Ui { api: Api::new(api.clone()), router: api, store, http, https };
    Router::new()
        .route("/ui", get(pages::overview))
        .route("/ui/clusters", get(pages::clusters))
        .route("/ui/clusters/{cluster}", get(pages::cluster))
        .route("/ui/containers", get(pages::containers))
        .route("/ui/hosts", get(pages::hosts))
        .route("/ui/networks", get(pages::networks))
        .route("/ui/quotas", get(pages::quotas))
        .route("/ui/events", get(pages::events))
        .route("/ui/stream", get(session::stream))
        .route("/ui/clusters/{cluster}/scale", post(forms::scale))
        .route("/ui/containers/{container}/{operation}", post(forms::container))
        .route("/ui/hosts/{host}/drain", post(forms::drain))
        .route("/ui/actions/{action}/cancel", post(forms::cancel))
        .route("/ui/regions/{region}/open", post(regions::open))
        .route("/ui/signout", post(session::sign_out))
        .route_layer(from_fn_with_state(ui.clone(), session::require))
        .route("/ui/signin", get(session::sign_in_form).post(session::sign_in))
        .route("/ui/link/{code}", get(session::follow_link))
        .route("/ui/assets/ui.css", get(view::css))
        .route("/ui/assets/ui.js", get(view::js))
        .route("/ui/", get(|| async { Redirect::to("/ui") }))
        .with_state(ui)
}
