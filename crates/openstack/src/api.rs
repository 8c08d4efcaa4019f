//! Calls into Flotilla's own `/v1` API, in-process: a dialect's handler sends a request through
//! the same router (token check, idempotency, handlers) a client would reach.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;
use std::net::SocketAddr;
use tower::ServiceExt;

/// The `/v1` API of the server the dialects are mounted on.
#[derive(Clone)]
pub struct Api {
    router: Router,
}

/// What a call may carry besides its token and body.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The address of the client the dialect is serving.
    pub client: Option<SocketAddr>,
    /// A body sent as it is, with its content type, instead of JSON.
    pub raw_body: Option<(HeaderValue, Bytes)>,
}

/// An answer of the `/v1` API.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The JSON body; `Value::Null` when there was none or it was not JSON.
    pub body: Value,
    /// The body as it came (e.g. a container's logs, which are text).
    pub raw: Bytes,
}

impl Answer {
    /// Flotilla's error message (`error.message`) of a failed answer, or the status's reason.
    pub fn message(&self) -> String {
        self.body["error"]["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| self.status.canonical_reason().unwrap_or("error").to_owned())
    }
}

impl Api {
    pub fn new(router: Router) -> Self {
        Self { router }
    }

    /// Sends `method path_and_query` with the caller's token (when it has one) and a JSON body.
    pub async fn call(&self, method: Method, path_and_query: &str, token: Option<&str>, body: Option<&Value>) -> Answer {
        self.call_with(method, path_and_query, token, body, &Extra::default()).await
    }

    /// [`Api::call`] with more headers and the client's address (logins are throttled by it).
    pub async fn call_with(
        &self,
        method: Method,
        path_and_query: &str,
        token: Option<&str>,
        body: Option<&Value>,
        extra: &Extra,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path_and_query);
        if let Some(token) = token.and_then(|t| HeaderValue::from_str(t).ok()) {
            request = request.header("x-auth-token", token);
        }
        for (name, value) in &extra.headers {
            request = request.header(name, value);
        }
        if let Some(client) = extra.client {
            request = request.extension(ConnectInfo(client));
        }
        let request = match (body, &extra.raw_body) {
            (_, Some((content_type, raw))) => request.header(header::CONTENT_TYPE, content_type).body(Body::from(raw.clone())),
            (Some(body), None) => {
                request.header(header::CONTENT_TYPE, "application/json").body(Body::from(serde_json::to_vec(body).unwrap_or_default()))
            }
            (None, None) => request.body(Body::empty()),
        };
        let request = match request {
            Ok(request) => request,
            Err(error) => return Answer::internal(&error.to_string()),
        };
        let response = match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let (parts, body) = response.into_parts();
        let bytes = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => return Answer::internal(&error.to_string()),
        };
        Answer { status: parts.status, headers: parts.headers, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null), raw: bytes }
    }
}

impl Answer {
    fn internal(message: &str) -> Self {
        Answer {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            headers: HeaderMap::new(),
            body: serde_json::json!({"error": {"message": message}}),
            raw: Bytes::new(),
        }
    }
}
