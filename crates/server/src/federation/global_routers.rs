//! A region's side of global routers: a create forwarded to the central, and copies (same id) of
//! the global routers joining the networks its hosts carry, as the central's endpoint watch
//! answers them (the networks they join copied first), so its hosts route to those networks.

use super::global_networks::{central_error, copy_locally};
use super::link::CentralLink;
use crate::error::ApiError;
use crate::identity::principal::Principal;
use crate::state::AppState;
use flotilla_api::global_network::{GlobalRouter, GlobalRouterCreate};
use flotilla_api::{Router as WireRouter, RouterCreate};
use flotilla_core::router::Router;
use flotilla_core::{HostId, Name, NetworkId, ProjectId, RouterId};
use flotilla_store::{GlobalRouterRow, Scope, StoreError};
use reqwest::Method;

/// At a region, a global router create goes to the central through `link`; the region copies the
/// router once its hosts carry one of its networks.
pub async fn forward_create(link: &CentralLink, caller: &Principal, body: &RouterCreate) -> Result<WireRouter, ApiError> {
    let forwarded = GlobalRouterCreate { project_id: caller.project_id.0, name: body.name.clone() };
    link.call(Method::POST, "/v1/federation/routers", Some(&forwarded))
        .await
        .map_err(|e| central_error(link, e, "a global router is created at the central"))
}

/// Keeps the central's `routers` (those joining a network this region carries): the networks they
/// join that are not here yet are copied, then the routers' copies become exactly these. Answers
/// the hosts to wake.
pub async fn keep(state: &AppState, routers: &[GlobalRouter]) -> Result<Vec<HostId>, ApiError> {
    let mut rows = Vec::with_capacity(routers.len());
    for r in routers {
        for network in &r.networks {
            match state.store.network(Scope::All, &network.id.to_string()).await {
                Err(StoreError::NotFound { .. }) => drop(copy_locally(state, network).await?),
                other => drop(other?),
            }
        }
        let router = Router {
            id: RouterId(r.id),
            name: Name::parse("name", &r.name)?,
            project_id: ProjectId(r.project_id),
            global: true,
            created_at: r.created_at,
            updated_at: r.updated_at,
        };
        rows.push(GlobalRouterRow { router, networks: r.networks.iter().map(|n| NetworkId(n.id)).collect() });
    }
    Ok(state.store.apply_global_routers(&rows).await?)
}
