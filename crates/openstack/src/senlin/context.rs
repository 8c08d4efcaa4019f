//! What every Senlin handler works with: the `/v1` API, the caller's token and the URL clients
//! reach this dialect at.

use super::error::SenlinError;
use crate::{Answer, Api, Site};
use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

/// The dialect's shared state.
pub struct Senlin {
    pub api: Api,
    pub site: Arc<Site>,
    /// Receiver id → (creator's user id, webhook secret) of the receivers made through this
    /// server: Flotilla keeps only the secret's digest, Senlin shows `channel.alarm_url` on every
    /// read, so the creator sees it for as long as this server runs.
    pub alarm_secrets: Mutex<HashMap<String, (String, String)>>,
}

pub type Shared = Arc<Senlin>;

/// The caller of one request: its token (if any) and the dialect's base URL as it reached us.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: Option<String>,
    /// e.g. `http://H/clustering`, no trailing slash.
    pub base: String,
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Self::Rejection> {
        let token = parts.headers.get("x-auth-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let root = state.site.base_url(&parts.headers);
        Ok(Caller { token, base: format!("{root}/clustering") })
    }
}

impl Caller {
    /// The absolute URL of a Senlin action, the `Location` of everything that starts one.
    pub fn action_url(&self, action: &str) -> String {
        format!("{}/v1/actions/{action}", self.base)
    }
}

/// A path segment, percent-encoded.
pub fn segment(key: &str) -> String {
    form_urlencoded::byte_serialize(key.as_bytes()).collect::<String>().replace('+', "%20")
}

/// `pairs` as a query string (with its `?`), or nothing.
pub fn query(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let mut out = form_urlencoded::Serializer::new(String::from("?"));
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

impl Senlin {
    /// Sends a `/v1` request as `caller`; a failed answer becomes Senlin's error.
    pub async fn call(&self, caller: &Caller, method: Method, path: &str, body: Option<&Value>) -> Result<Answer, SenlinError> {
        let answer = self.api.call(method, path, caller.token.as_deref(), body).await;
        if answer.status.is_success() { Ok(answer) } else { Err(SenlinError::from_answer(&answer)) }
    }

    pub async fn get(&self, caller: &Caller, path: &str) -> Result<Value, SenlinError> {
        Ok(self.call(caller, Method::GET, path, None).await?.body)
    }

    /// Every object of a `/v1` list (`key` in each page), following `next` to the end.
    pub async fn list_all(
        &self,
        caller: &Caller,
        path: &str,
        key: &str,
        mut pairs: Vec<(String, String)>,
    ) -> Result<Vec<Value>, SenlinError> {
        pairs.retain(|(k, _)| k != "limit" && k != "marker");
        pairs.push(("limit".into(), "1000".into()));
        let mut out = Vec::new();
        loop {
            let page = self.get(caller, &format!("{path}{}", query(&pairs))).await?;
            if let Some(items) = page[key].as_array() {
                out.extend(items.iter().cloned());
            }
            match page["next"].as_str() {
                Some(next) => {
                    pairs.retain(|(k, _)| k != "marker");
                    pairs.push(("marker".into(), next.to_owned()));
                }
                None => return Ok(out),
            }
        }
    }

    /// One page of a `/v1` list when the client asked for a `limit`, else all of it.
    pub async fn list(&self, caller: &Caller, path: &str, key: &str, pairs: Vec<(String, String)>) -> Result<Vec<Value>, SenlinError> {
        if pairs.iter().any(|(k, _)| k == "limit") {
            let page = self.get(caller, &format!("{path}{}", query(&pairs))).await?;
            Ok(page[key].as_array().cloned().unwrap_or_default())
        } else {
            self.list_all(caller, path, key, pairs).await
        }
    }
}
