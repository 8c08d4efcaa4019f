//! `/v1/profiles`: project-owned container specs; readers see, members and admins change.

use super::containers::{check_admin_fields, check_host_rules};
use super::{convert, labelled_list_params};
use crate::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use flotilla_api::{ErrorBody, LabelQuery, ListQuery, Profile, ProfileCreate, ProfileList, ProfileUpdate, ProfileValidate};
use flotilla_core::profile::ProfileSpec;
use flotilla_core::{Name, ProfileId, ValidationError, metadata};
use flotilla_store::ProfileChanges;
use serde::Deserialize;

/// The profile list's own filter, beside the common list query (documented in the route's params).
#[derive(Debug, Deserialize)]
pub struct TypeFilter {
    #[serde(rename = "type")]
    pub type_name: Option<String>,
}

/// Validates a spec sent under the body's `spec` key, naming fields from the body's root.
fn validate_spec(spec: &ProfileSpec) -> Result<(), ValidationError> {
    spec.validate().map_err(|e| ValidationError { field: format!("spec.{}", e.field), ..e })
}

#[utoipa::path(get, path = "/v1/profiles", tag = "profiles", params(ListQuery, LabelQuery, ("type" = Option<String>, Query, description = "profile type")),
    responses((status = 200, body = ProfileList), (status = 403, body = ErrorBody)))]
pub async fn list_profiles(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(labels): ApiQuery<LabelQuery>,
    ApiQuery(filter): ApiQuery<TypeFilter>,
) -> Result<Json<ProfileList>, ApiError> {
    let params = labelled_list_params(&query, &labels)?;
    let scope = caller.scope(query.all_projects)?;
    let page = state.store.list_profiles(scope, query.name.as_deref(), filter.type_name.as_deref(), &params).await?.map(convert::profile);
    Ok(Json(ProfileList { profiles: page.items, next: page.next }))
}

#[utoipa::path(post, path = "/v1/profiles", tag = "profiles", request_body = ProfileCreate,
    responses((status = 201, body = Profile), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_profile(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(body): ApiJson<ProfileCreate>,
) -> Result<(StatusCode, Json<Profile>), ApiError> {
    caller.require_write()?;
    let name = Name::parse("name", &body.name)?;
    validate_spec(&body.spec)?;
    metadata::validate(&body.metadata)?;
    check_admin_fields(&state, &caller, &body.spec.properties, "spec.properties.").await?;
    check_host_rules(&state, &body.spec.properties, "spec.properties.").await?;
    state.store.resolve_image(caller.project_id, &flotilla_core::image::normalize_reference(&body.spec.properties.image)).await?;
    // A global network the nodes will join is copied here now: the engine does not call the central.
    for network in &body.spec.properties.networks {
        crate::federation::global_networks::ensure_local(&state, &caller, &network.network).await?;
    }
    let now = flotilla_core::now();
    let profile = flotilla_core::profile::Profile {
        id: ProfileId::new(),
        name,
        project_id: caller.project_id,
        user_id: caller.user_id,
        spec: body.spec,
        metadata: body.metadata,
        created_at: now,
        updated_at: now,
    };
    state.store.create_profile(&profile).await?;
    tracing::info!(profile = %profile.name, "profile created");
    Ok((StatusCode::CREATED, Json(convert::profile(profile))))
}

/// Checks a spec without saving it; answers it back with defaults filled in.
#[utoipa::path(post, path = "/v1/profiles/validate", tag = "profiles", request_body = ProfileValidate,
    responses((status = 200, body = ProfileValidate), (status = 400, body = ErrorBody)))]
pub async fn validate_profile(ApiJson(body): ApiJson<ProfileValidate>) -> Result<Json<ProfileValidate>, ApiError> {
    validate_spec(&body.spec)?;
    Ok(Json(body))
}

#[utoipa::path(get, path = "/v1/profiles/{profile}", tag = "profiles", params(("profile" = String, Path, description = "id or name")),
    responses((status = 200, body = Profile), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn get_profile(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Profile>, ApiError> {
    let scope = caller.scope(query.all_projects)?;
    Ok(Json(convert::profile(state.store.profile(scope, &key).await?)))
}

#[utoipa::path(patch, path = "/v1/profiles/{profile}", tag = "profiles", params(("profile" = String, Path, description = "id or name")),
    request_body = ProfileUpdate, responses((status = 200, body = Profile), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn update_profile(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<ProfileUpdate>,
) -> Result<Json<Profile>, ApiError> {
    caller.require_write()?;
    let profile = state.store.profile(caller.scope(None)?, &key).await?;
    if let Some(m) = &body.metadata {
        metadata::validate(m)?;
    }
    let changes = ProfileChanges { name: body.name.as_deref().map(|n| Name::parse("name", n)).transpose()?, metadata: body.metadata };
    Ok(Json(convert::profile(state.store.update_profile(profile.id, changes).await?)))
}

#[utoipa::path(delete, path = "/v1/profiles/{profile}", tag = "profiles", params(("profile" = String, Path, description = "id or name")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_profile(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    let profile = state.store.profile(caller.scope(None)?, &key).await?;
    state.store.delete_profile(profile.id).await?;
    tracing::info!(profile = %profile.name, "profile deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// The profile `key` names, for `caller` to run containers from: a profile with admin-only settings
/// (privileged, host binds, host networking, a volume reaching the host) runs only for admins, whoever made it.
pub(super) async fn usable_profile(state: &AppState, caller: &Principal, key: &str) -> Result<flotilla_core::profile::Profile, ApiError> {
    let profile = super::referenced(state.store.profile(caller.scope(None)?, key).await, "profile", key)?;
    check_admin_fields(state, caller, &profile.spec.properties, &format!("profile {}: spec.properties.", profile.name)).await?;
    Ok(profile)
}
