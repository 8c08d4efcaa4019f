//! `/v1/volumes`: named volumes containers mount (`spec.volumes`), on each host that needs them or
//! on every host of a pool; deletion refused while mounted.

use super::{convert, labelled_list_params};
use crate::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use flotilla_api::{ErrorBody, LabelQuery, ListQuery, Volume, VolumeCreate, VolumeList};
use flotilla_core::volume::DEFAULT_DRIVER;
use flotilla_core::{Name, VolumeId, metadata};

#[utoipa::path(post, path = "/v1/volumes", tag = "volumes", request_body = VolumeCreate,
    responses((status = 201, body = Volume), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_volume(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(body): ApiJson<VolumeCreate>,
) -> Result<(StatusCode, Json<Volume>), ApiError> {
    caller.require_write()?;
    let name = Name::parse("name", &body.name)?;
    metadata::validate(&body.metadata)?;
    let volume = flotilla_core::volume::Volume {
        id: VolumeId::new(),
        name,
        project_id: caller.project_id,
        driver: body.driver.unwrap_or_else(|| DEFAULT_DRIVER.to_owned()),
        driver_opts: body.driver_opts,
        size_mib: body.size_mib,
        pool: body.pool,
        metadata: body.metadata,
        created_at: flotilla_core::now(),
    };
    volume.validate()?;
    if let Some((field, value)) = volume.admin_only_setting()
        && !caller.role.is_admin()
    {
        return Err(ApiError::Forbidden(format!(
            "{field}={value:?}: volume drivers and options that reach the host's files are for admins only, as binds are; \
             members may use the local driver plainly or as a tmpfs"
        )));
    }
    let row = state.store.acting(caller.actor()).create_volume(&volume).await?;
    tracing::info!(volume = %volume.name, driver = %volume.driver, "volume created");
    Ok((StatusCode::CREATED, Json(convert::volume(row))))
}

#[utoipa::path(get, path = "/v1/volumes", tag = "volumes", params(ListQuery, LabelQuery), responses((status = 200, body = VolumeList)))]
pub async fn list_volumes(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(labels): ApiQuery<LabelQuery>,
) -> Result<Json<VolumeList>, ApiError> {
    let params = labelled_list_params(&query, &labels)?;
    let page = state.store.list_volumes(caller.scope(query.all_projects)?, query.name.as_deref(), &params).await?;
    Ok(Json(VolumeList { volumes: page.items.into_iter().map(convert::volume).collect(), next: page.next }))
}

#[utoipa::path(get, path = "/v1/volumes/{volume}", tag = "volumes", params(("volume" = String, Path, description = "id or name")),
    responses((status = 200, body = Volume), (status = 404, body = ErrorBody)))]
pub async fn get_volume(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Volume>, ApiError> {
    Ok(Json(convert::volume(state.store.volume(caller.scope(None)?, &key).await?)))
}

#[utoipa::path(delete, path = "/v1/volumes/{volume}", tag = "volumes", params(("volume" = String, Path, description = "id or name")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_volume(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    let row = state.store.volume(caller.scope(None)?, &key).await?;
    state.store.acting(caller.actor()).delete_volume(row.volume.id).await?;
    tracing::info!(volume = %row.volume.name, "volume deleted");
    Ok(StatusCode::NO_CONTENT)
}
