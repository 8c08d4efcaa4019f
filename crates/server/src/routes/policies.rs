//! `/v1/policies`: policy specs (`{type, version, properties}`), validate, types; attached to
//! clusters through cluster actions.

use super::{convert, list_params};
use crate::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use flotilla_api::{ErrorBody, ListQuery, Policy, PolicyCreate, PolicyList, PolicyUpdate, PolicyValidate};
use flotilla_core::policy::{POLICY_VERSION, PolicySpec, PolicyType};
use flotilla_core::{Name, PolicyId, ValidationError, metadata};
use serde::Serialize;
use utoipa::ToSchema;

fn validate_spec(spec: &PolicySpec) -> Result<(), ValidationError> {
    spec.validate_at("spec.")
}

#[utoipa::path(post, path = "/v1/policies", tag = "policies", request_body = PolicyCreate,
    responses((status = 201, body = Policy), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_policy(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(body): ApiJson<PolicyCreate>,
) -> Result<(StatusCode, Json<Policy>), ApiError> {
    caller.require_write()?;
    let name = Name::parse("name", &body.name)?;
    validate_spec(&body.spec)?;
    metadata::validate(&body.metadata)?;
    let now = flotilla_core::now();
    let policy = flotilla_store::Policy {
        id: PolicyId::new(),
        name,
        project_id: caller.project_id,
        user_id: caller.user_id,
        spec: body.spec,
        metadata: body.metadata,
        created_at: now,
        updated_at: now,
    };
    state.store.create_policy(&policy).await?;
    Ok((StatusCode::CREATED, Json(convert::policy(policy))))
}

#[utoipa::path(post, path = "/v1/policies/validate", tag = "policies", request_body = PolicyValidate,
    responses((status = 200, body = PolicyValidate), (status = 400, body = ErrorBody)))]
pub async fn validate_policy(ApiJson(body): ApiJson<PolicyValidate>) -> Result<Json<PolicyValidate>, ApiError> {
    validate_spec(&body.spec)?;
    Ok(Json(body))
}

#[utoipa::path(get, path = "/v1/policies", tag = "policies", params(ListQuery), responses((status = 200, body = PolicyList)))]
pub async fn list_policies(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<PolicyList>, ApiError> {
    let params = list_params(&query)?;
    let scope = caller.scope(query.all_projects)?;
    let page = state.store.list_policies(scope, query.name.as_deref(), &params).await?.map(convert::policy);
    Ok(Json(PolicyList { policies: page.items, next: page.next }))
}

#[utoipa::path(get, path = "/v1/policies/{policy}", tag = "policies", params(("policy" = String, Path, description = "id or name")),
    responses((status = 200, body = Policy), (status = 404, body = ErrorBody)))]
pub async fn get_policy(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Policy>, ApiError> {
    Ok(Json(convert::policy(state.store.policy(caller.scope(query.all_projects)?, &key).await?)))
}

#[utoipa::path(patch, path = "/v1/policies/{policy}", tag = "policies", params(("policy" = String, Path, description = "id or name")),
    request_body = PolicyUpdate, responses((status = 200, body = Policy), (status = 400, body = ErrorBody)))]
pub async fn update_policy(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<PolicyUpdate>,
) -> Result<Json<Policy>, ApiError> {
    caller.require_write()?;
    let policy = state.store.policy(caller.scope(None)?, &key).await?;
    if let Some(m) = &body.metadata {
        metadata::validate(m)?;
    }
    let name = body.name.as_deref().map(|n| Name::parse("name", n)).transpose()?;
    Ok(Json(convert::policy(state.store.update_policy(policy.id, name, body.metadata).await?)))
}

#[utoipa::path(delete, path = "/v1/policies/{policy}", tag = "policies", params(("policy" = String, Path, description = "id or name")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_policy(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    let policy = state.store.policy(caller.scope(None)?, &key).await?;
    state.store.delete_policy(policy.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One policy type.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyTypeInfo {
    pub name: String,
    pub version: String,
    pub priority: u32,
}

/// The policy types this region knows.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyTypes {
    pub policy_types: Vec<PolicyTypeInfo>,
}

#[utoipa::path(get, path = "/v1/policy-types", tag = "policies", responses((status = 200, body = PolicyTypes)))]
pub async fn policy_types(_caller: Principal) -> Json<PolicyTypes> {
    let policy_types = PolicyType::ALL
        .iter()
        .map(|t| PolicyTypeInfo { name: t.as_str().to_owned(), version: POLICY_VERSION.to_owned(), priority: t.priority() })
        .collect();
    Json(PolicyTypes { policy_types })
}
