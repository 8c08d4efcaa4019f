//! `/v1/jobs` (admins): the background jobs of this server, list, show, and redo.

use super::list_params;
use crate::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use flotilla_api::region::{Job, JobFilter, JobList};
use flotilla_api::{ErrorBody, ListQuery};
use flotilla_core::ValidationError;
use flotilla_store::{JobFilters, JobStatus};

fn shown(j: flotilla_store::Job) -> Job {
    Job {
        id: j.id,
        job_type: j.job_type,
        resource_id: j.resource_id,
        project_id: j.project_id.map(|p| p.0),
        status: j.status.as_str().to_owned(),
        attempts: j.attempts,
        last_error: j.last_error,
        run_after: j.run_after,
        created_at: j.created_at,
        updated_at: j.updated_at,
    }
}

/// A job id from the path: anything else is a 404 (no job has it).
fn job_id(key: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(key).map_err(|_| ApiError::NotFound(format!("job {key:?} not found")))
}

#[utoipa::path(get, path = "/v1/jobs", tag = "jobs", params(ListQuery, JobFilter),
    responses((status = 200, body = JobList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_jobs(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(filter): ApiQuery<JobFilter>,
) -> Result<Json<JobList>, ApiError> {
    caller.require_admin()?;
    let params = list_params(&query)?;
    let status = match &filter.status {
        Some(status) => Some(
            JobStatus::parse(&status.to_ascii_uppercase())
                .ok_or_else(|| ValidationError::new("status", status, "is not a job status (NEW, RUNNING, SUCCESS, FAIL)"))?,
        ),
        None => None,
    };
    let filters = JobFilters { status, job_type: filter.job_type.as_deref(), resource_id: filter.resource_id };
    let page = state.store.list_jobs(filters, &params).await?;
    Ok(Json(JobList { jobs: page.items.into_iter().map(shown).collect(), next: page.next }))
}

#[utoipa::path(get, path = "/v1/jobs/{job}", tag = "jobs", params(("job" = String, Path, description = "id")),
    responses((status = 200, body = Job), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_job(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Job>, ApiError> {
    caller.require_admin()?;
    Ok(Json(shown(state.store.job(job_id(&key)?).await?)))
}

/// Puts a FAIL job (or a NEW one waiting out its backoff) back to NEW, due now, with a fresh count of attempts.
#[utoipa::path(post, path = "/v1/jobs/{job}/redo", tag = "jobs", params(("job" = String, Path, description = "id")),
    responses((status = 200, body = Job), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn redo_job(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Job>, ApiError> {
    caller.require_admin()?;
    Ok(Json(shown(state.store.redo_job(job_id(&key)?).await?)))
}
