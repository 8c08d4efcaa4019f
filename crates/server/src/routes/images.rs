//! `/v1/images`: upload a `docker save` archive (streamed, checksummed, size-limited), list, show, delete.

use super::{convert, list_params};
use crate::error::ApiError;
use crate::events;
use crate::http::extract::ApiQuery;
use crate::identity::principal::Principal;
use crate::images;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flotilla_api::{ErrorBody, IMAGE_SHA256_HEADER, Image, ImageList, ImageUploadQuery, ListQuery};
use flotilla_core::event::{END, EventAction};
use flotilla_core::{ImageId, ValidationError};

#[utoipa::path(post, path = "/v1/images", tag = "images", params(ImageUploadQuery),
    request_body(content = Vec<u8>, content_type = "application/x-tar", description = "a docker save archive"),
    responses((status = 201, body = Image), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn upload_image(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ImageUploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let public = match admit(&state, &caller, &query, &headers) {
        Ok(public) => public,
        Err(e) => {
            images::drain(body.into_data_stream()).await;
            return unread(e);
        }
    };
    let received = match images::receive(&state.settings.image_dir, body, state.settings.image_size_limit).await {
        Ok(received) => received,
        Err(e) => return unread(e),
    };
    match register(&state, &caller, query.name, public, &headers, &received).await {
        Ok(image) => (StatusCode::CREATED, Json(convert::image(image))).into_response(),
        Err(e) => {
            let _ = tokio::fs::remove_file(&received.path).await;
            e.into_response()
        }
    }
}

/// The checks made before the archive is read; answers whether it is to be public.
fn admit(state: &AppState, caller: &Principal, query: &ImageUploadQuery, headers: &HeaderMap) -> Result<bool, ApiError> {
    caller.require_write()?;
    let public = query.public == Some(true);
    if public {
        caller.require_admin()?;
    }
    let kind = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/x-tar");
    if !(kind.starts_with("application/x-tar") || kind.starts_with("application/octet-stream")) {
        return Err(ApiError::UnsupportedMediaType(format!("content type {kind:?} is not supported: send application/x-tar")));
    }
    let limit = state.settings.image_size_limit;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge(format!("image archive is larger than the limit of {limit} bytes")));
    }
    Ok(public)
}

/// An error answered before the body was read to its end: the connection cannot carry another request.
fn unread(error: ApiError) -> Response {
    let mut response = error.into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Checks the received archive and records it; the file moves to its content address.
async fn register(
    state: &AppState,
    caller: &Principal,
    name: Option<String>,
    public: bool,
    headers: &HeaderMap,
    received: &images::Received,
) -> Result<flotilla_core::image::Image, ApiError> {
    if let Some(expected) = headers.get(IMAGE_SHA256_HEADER).and_then(|v| v.to_str().ok())
        && !expected.eq_ignore_ascii_case(&received.sha256)
    {
        return Err(
            ValidationError::new(IMAGE_SHA256_HEADER, expected, format!("does not match the body's sha256 {}", received.sha256)).into()
        );
    }
    let path = received.path.clone();
    let manifest =
        tokio::task::spawn_blocking(move || images::read_manifest(&path)).await.map_err(|e| ApiError::Internal(e.to_string()))??;
    let name = match name.or_else(|| manifest.tags.first().cloned()) {
        Some(name) if !name.trim().is_empty() => flotilla_core::image::normalize_reference(name.trim()),
        _ => return Err(ValidationError::new("name", "", "the archive carries no tag: give ?name=REPO:TAG").into()),
    };
    let image = flotilla_core::image::Image {
        id: ImageId::new(),
        name,
        tags: manifest.tags,
        project_id: caller.project_id,
        user_id: caller.user_id,
        public,
        size_bytes: received.size,
        sha256: received.sha256.clone(),
        docker_id: manifest.docker_id,
        created_at: flotilla_core::now(),
    };
    state.store.create_image(&image).await?;
    tokio::fs::rename(&received.path, state.settings.image_path(&image.sha256))
        .await
        .map_err(|e| ApiError::Internal(format!("storing image archive: {e}")))?;
    tracing::info!(image = %image.name, bytes = image.size_bytes, "image uploaded");
    let event = events::image(&image, caller, EventAction::ImageUpload, END).meta("size_bytes", image.size_bytes).meta("public", public);
    events::record(state, event).await;
    Ok(image)
}

#[utoipa::path(get, path = "/v1/images", tag = "images", params(ListQuery), responses((status = 200, body = ImageList)))]
pub async fn list_images(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ImageList>, ApiError> {
    let params = list_params(&query)?;
    let scope = caller.scope(query.all_projects)?;
    let page = state.store.list_images(scope, query.name.as_deref(), &params).await?.map(convert::image);
    Ok(Json(ImageList { images: page.items, next: page.next }))
}

#[utoipa::path(get, path = "/v1/images/{image}", tag = "images", params(("image" = String, Path, description = "id or name")),
    responses((status = 200, body = Image), (status = 404, body = ErrorBody)))]
pub async fn get_image(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Image>, ApiError> {
    Ok(Json(convert::image(state.store.image(caller.scope(None)?, &key).await?)))
}

#[utoipa::path(delete, path = "/v1/images/{image}", tag = "images", params(("image" = String, Path, description = "id or name")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_image(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    let image = state.store.image(caller.scope(None)?, &key).await?;
    if image.project_id != caller.project_id && !caller.role.is_admin() {
        return Err(ApiError::Forbidden(format!("image {} is public and owned by another project", image.name)));
    }
    if state.store.image_in_use(image.id).await? {
        return Err(ApiError::Conflict(format!("image {} is used by containers: delete them first", image.name)));
    }
    state.store.delete_image(image.id).await?;
    if state.store.image_with_sha256(&image.sha256).await?.is_none() {
        let _ = tokio::fs::remove_file(state.settings.image_path(&image.sha256)).await;
    }
    tracing::info!(image = %image.name, "image deleted");
    events::record(&state, events::image(&image, &caller, EventAction::ImageDelete, END)).await;
    Ok(StatusCode::NO_CONTENT)
}
