//! Senlin's lookup of an object named in a path or a body: an id, then a name, then a short-id
//! prefix (a name or prefix several objects share is refused, as Senlin does).

use super::context::{Caller, Senlin, segment};
use super::error::SenlinError;
use axum::http::StatusCode;
use serde_json::Value;

/// A kind of object: Senlin's name for it, its `/v1` collection and that list's key.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub name: &'static str,
    pub path: &'static str,
    pub list_key: &'static str,
}

pub const CLUSTER: Kind = Kind { name: "cluster", path: "/v1/clusters", list_key: "clusters" };
pub const NODE: Kind = Kind { name: "node", path: "/v1/nodes", list_key: "nodes" };
pub const PROFILE: Kind = Kind { name: "profile", path: "/v1/profiles", list_key: "profiles" };
pub const POLICY: Kind = Kind { name: "policy", path: "/v1/policies", list_key: "policies" };
pub const RECEIVER: Kind = Kind { name: "receiver", path: "/v1/receivers", list_key: "receivers" };
pub const ACTION: Kind = Kind { name: "action", path: "/v1/actions", list_key: "actions" };

/// Could `key` be the start of an id?
fn short_id(key: &str) -> bool {
    !key.is_empty() && key.len() < 36 && key.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

impl Senlin {
    /// The `/v1` object `key` names.
    pub async fn find(&self, caller: &Caller, kind: Kind, key: &str) -> Result<Value, SenlinError> {
        match self.get(caller, &format!("{}/{}", kind.path, segment(key))).await {
            Ok(found) => Ok(found),
            Err(e) if e.status == StatusCode::NOT_FOUND && short_id(key) => {
                let all = self.list_all(caller, kind.path, kind.list_key, Vec::new()).await?;
                let key_lower = key.to_ascii_lowercase();
                let mut matches = all.into_iter().filter(|o| o["id"].as_str().is_some_and(|id| id.starts_with(&key_lower)));
                match (matches.next(), matches.next()) {
                    (Some(one), None) => Ok(one),
                    (Some(_), Some(_)) => Err(SenlinError::multiple(key)),
                    (None, _) => Err(SenlinError::not_found(kind.name, key)),
                }
            }
            Err(e) if e.status == StatusCode::NOT_FOUND => Err(SenlinError::not_found(kind.name, key)),
            Err(e) if e.status == StatusCode::CONFLICT && e.message.contains("in different projects") => Err(SenlinError::multiple(key)),
            Err(e) => Err(e),
        }
    }

    /// The id of the `/v1` object `key` names.
    pub async fn find_id(&self, caller: &Caller, kind: Kind, key: &str) -> Result<String, SenlinError> {
        let found = self.find(caller, kind, key).await?;
        Ok(found["id"].as_str().unwrap_or_default().to_owned())
    }
}
