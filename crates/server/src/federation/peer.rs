//! Another region calling this one (a cluster's home region, about the members it runs here):
//! its credential in `x-region-credential`, which only the central can vouch for. The central's
//! answers are kept a minute, so that a member's status can be read every second.

use super::Federation;
use super::link::LinkError;
use crate::error::ApiError;
use crate::identity::secret;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use flotilla_api::region::{REGION_CREDENTIAL_HEADER, RegionCredentialCheck, RegionCredentialOwner};
use reqwest::Method;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long the central's word on another region's credential is trusted.
const TRUST: Duration = Duration::from_secs(60);

/// The regions whose credentials the central vouched for lately: digest → (name, when).
#[derive(Debug, Default)]
pub struct PeerCredentials(Mutex<HashMap<String, (String, Instant)>>);

impl PeerCredentials {
    fn get(&self, digest: &str) -> Option<String> {
        let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        known.get(digest).filter(|(_, at)| at.elapsed() < TRUST).map(|(name, _)| name.clone())
    }

    fn put(&self, digest: String, name: String) {
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        known.retain(|_, (_, at)| at.elapsed() < TRUST);
        known.insert(digest, (name, Instant::now()));
    }
}

/// Another region of the federation, as the central vouches for it.
#[derive(Debug, Clone)]
pub struct PeerCaller {
    pub name: String,
}

impl FromRequestParts<AppState> for PeerCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Federation::Region(link) = &state.federation else {
            return Err(ApiError::NotFound("not a federated region: no other region calls it".into()));
        };
        let credential =
            parts.headers.get(REGION_CREDENTIAL_HEADER).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty()).ok_or_else(
                || ApiError::Unauthorized(format!("region calls need the calling region's credential in {REGION_CREDENTIAL_HEADER}")),
            )?;
        let digest = secret::digest(credential);
        if let Some(name) = link.peers.get(&digest) {
            return Ok(PeerCaller { name });
        }
        let check = RegionCredentialCheck { credential: credential.to_owned() };
        let owner: RegionCredentialOwner =
            link.call(Method::POST, "/v1/federation/regions/verify", Some(&check)).await.map_err(|e| match e {
                LinkError::Refused { status: 401, .. } => ApiError::Unauthorized("the calling region's credential is no region's".into()),
                other => ApiError::Unavailable(format!("cannot have the central vouch for the calling region: {other}")),
            })?;
        link.peers.put(digest, owner.name.clone());
        Ok(PeerCaller { name: owner.name })
    }
}
