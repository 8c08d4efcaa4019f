//! OpenStack dialects over Flotilla's own API: Keystone v3 at `/identity`, Senlin clustering v1 at
//! `/clustering`, Zun container v1 at `/container`. Each request is translated into calls of the
//! `/v1` API in-process (same tokens, rights, validation and behaviour), and each answer back into
//! the dialect's shapes and errors.

mod api;
mod keystone;
mod senlin;
mod zun;

pub use api::{Answer, Api, Extra};

use axum::Router;
use std::sync::Arc;

/// What the dialects need to know about the server they are mounted on.
#[derive(Debug, Clone)]
pub struct Site {
    /// This server's region name (the catalog's `region` and `region_id` for its endpoints).
    pub region: String,
    /// The URL clients reach this server at, when it was given (`--advertise-url`); otherwise the
    /// request's `Host` decides.
    pub public_url: Option<String>,
    /// Whether this server serves HTTPS (the scheme of URLs made from the `Host`).
    pub https: bool,
}

impl Site {
    /// This server's URL, without a trailing slash: `public_url`, else the scheme and the request's `Host`.
    pub fn base_url(&self, headers: &axum::http::HeaderMap) -> String {
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_owned();
        }
        let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{host}")
    }
}

/// `api` with the three dialects nested under their prefixes.
pub fn mount(api: Router, site: Site) -> Router {
    let inner = Api::new(api.clone());
    let site = Arc::new(site);
    api.nest("/identity", keystone::router(inner.clone(), site.clone()))
        .merge(keystone::slash_root(inner.clone(), site.clone()))
        .nest("/clustering", senlin::router(inner.clone(), site.clone()))
        .route("/clustering/", senlin::slash_root(site.clone()))
        .nest("/container", zun::router(inner.clone(), site.clone()))
        .merge(zun::slash_root(inner, site))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    async fn status(path: &str) -> StatusCode {
        let app = mount(Router::new(), Site { region: "r".into(), public_url: None, https: false });
        app.oneshot(Request::get(path).header("host", "h").body(Body::empty()).unwrap()).await.unwrap().status()
    }

    /// The roots answer with and without a trailing slash (tempest sends one, the clients do not).
    #[tokio::test]
    async fn roots_answer_with_and_without_a_trailing_slash() {
        for path in ["/identity", "/identity/", "/clustering", "/clustering/"] {
            assert_eq!(status(path).await, StatusCode::MULTIPLE_CHOICES, "{path}");
        }
        for path in ["/identity/v3", "/identity/v3/", "/container", "/container/", "/container/v1", "/container/v1/"] {
            assert_eq!(status(path).await, StatusCode::OK, "{path}");
        }
    }
}
