//! `/v1/quotas/{project}`: a project's limits and usage; members read their own, admins set any.

use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use flotilla_api::{ErrorBody, Quota, QuotaLimits, QuotaUsage};
use flotilla_core::ValidationError;

fn wire(limit: Option<u64>) -> i64 {
    limit.map_or(-1, |v| v as i64)
}

fn limit(field: &str, value: i64) -> Result<Option<u64>, ValidationError> {
    match value {
        -1 => Ok(None),
        v if v >= 0 => Ok(Some(v as u64)),
        v => Err(ValidationError::new(field, v, "must be -1 (unlimited) or at least 0")),
    }
}

async fn answer(state: &AppState, project: flotilla_core::ProjectId) -> Result<Json<Quota>, ApiError> {
    let (quota, usage) = state.store.quota(project).await?;
    Ok(Json(Quota {
        project_id: project.0,
        limits: QuotaLimits {
            containers: wire(quota.containers),
            cpu_millis: wire(quota.cpu_millis),
            memory_mib: wire(quota.memory_mib),
            image_bytes: wire(quota.image_bytes),
            networks: wire(quota.networks),
            ports: wire(quota.ports),
        },
        usage: QuotaUsage {
            containers: usage.containers,
            cpu_millis: usage.cpu_millis,
            memory_mib: usage.memory_mib,
            image_bytes: usage.image_bytes,
            networks: usage.networks,
            ports: usage.ports,
        },
    }))
}

#[utoipa::path(get, path = "/v1/quotas/{project}", tag = "quotas", params(("project" = String, Path, description = "id or name")),
    responses((status = 200, body = Quota), (status = 404, body = ErrorBody)))]
pub async fn get_quota(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Quota>, ApiError> {
    let project = state.store.project(&key).await?;
    if project.id != caller.project_id && !caller.role.is_admin() {
        // As for a project that does not exist: another project's name is not confirmed.
        return Err(ApiError::NotFound(format!("project {key:?} not found")));
    }
    answer(&state, project.id).await
}

#[utoipa::path(put, path = "/v1/quotas/{project}", tag = "quotas", params(("project" = String, Path, description = "id or name")),
    request_body = QuotaLimits, responses((status = 200, body = Quota), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_quota(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<QuotaLimits>,
) -> Result<Json<Quota>, ApiError> {
    caller.require_admin()?;
    let project = state.store.project(&key).await?;
    let quota = flotilla_core::quota::Quota {
        containers: limit("containers", body.containers)?,
        cpu_millis: limit("cpu_millis", body.cpu_millis)?,
        memory_mib: limit("memory_mib", body.memory_mib)?,
        image_bytes: limit("image_bytes", body.image_bytes)?,
        networks: limit("networks", body.networks)?,
        ports: limit("ports", body.ports)?,
    };
    state.store.acting(caller.actor()).set_quota(project.id, quota).await?;
    tracing::info!(project = %project.name, "quota set");
    answer(&state, project.id).await
}
