//! `/v1/federation/routers` at the central: a user's global router create, forwarded by the
//! region they called; and the global routers a region's endpoint watch is answered with.

use super::convert;
use crate::error::ApiError;
use crate::federation::caller::RegionCaller;
use crate::http::extract::ApiJson;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use flotilla_api::global_network::{GlobalRouter, GlobalRouterCreate};
use flotilla_api::{ErrorBody, Router};
use flotilla_core::{Name, NetworkId, ProjectId};
use flotilla_store::Scope;

/// A user's global router create, forwarded by the region they called.
#[utoipa::path(post, path = "/v1/federation/routers", tag = "federation", security(("region_credential" = [])),
    request_body = GlobalRouterCreate,
    responses((status = 201, body = Router), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "not a central"), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: RegionCaller,
    ApiJson(body): ApiJson<GlobalRouterCreate>,
) -> Result<(StatusCode, Json<Router>), ApiError> {
    let row = super::routers::create(&state, ProjectId(body.project_id), Name::parse("name", &body.name)?, true).await?;
    tracing::info!(region = %caller.name, router = %row.router.name, "global router created for a region");
    Ok((StatusCode::CREATED, Json(convert::router(row))))
}

/// The global routers joining any of `networks`, each with the networks it joins, whole.
pub(crate) async fn joining(state: &AppState, networks: &[NetworkId]) -> Result<Vec<GlobalRouter>, ApiError> {
    let mut answer = Vec::new();
    for row in state.store.global_routers_for(networks).await? {
        let mut joined = Vec::with_capacity(row.networks.len());
        for network in &row.networks {
            joined.push(convert::network(state.store.network(Scope::All, &network.to_string()).await?));
        }
        let r = row.router;
        answer.push(GlobalRouter {
            id: r.id.0,
            name: r.name.to_string(),
            project_id: r.project_id.0,
            networks: joined,
            created_at: r.created_at,
            updated_at: r.updated_at,
        });
    }
    Ok(answer)
}
