//! The region calling the central: its credential in `x-region-credential`, proven against the
//! digest the registry keeps (as host credentials are).

use crate::error::ApiError;
use crate::identity::secret;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use flotilla_api::region::REGION_CREDENTIAL_HEADER;
use uuid::Uuid;

/// A registered region, authenticated by its credential. Only a central has regions: anywhere
/// else the extractor answers 404.
#[derive(Debug, Clone)]
pub struct RegionCaller {
    pub id: Uuid,
    pub name: String,
}

impl FromRequestParts<AppState> for RegionCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        state.federation.central()?;
        let credential =
            parts.headers.get(REGION_CREDENTIAL_HEADER).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty()).ok_or_else(
                || ApiError::Unauthorized(format!("region calls need the region's credential in {REGION_CREDENTIAL_HEADER}")),
            )?;
        let region = state
            .store
            .region_by_credential(&secret::digest(credential))
            .await?
            .ok_or_else(|| ApiError::Unauthorized("region credential is invalid: the region registers again".into()))?;
        Ok(RegionCaller { id: region.id.0, name: region.name })
    }
}
