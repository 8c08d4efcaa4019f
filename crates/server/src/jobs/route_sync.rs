//! `route_sync`: tells the central where this region's objects are. For each id it reads whether
//! the object is still here and sends the central an upsert or a delete, one call per batch. When
//! the central answers again after an outage, the jobs backing off (these and endpoint_sync) are
//! made due at once.

use super::{Handler, JobError};
use crate::federation::link::CentralLink;
use flotilla_api::region::{RouteEntry, RoutingChanges};
use flotilla_store::{ENDPOINT_SYNC, Job, ROUTE_SYNC, Store};
use reqwest::Method;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// How often the link's reachability is looked at.
const WATCH: Duration = Duration::from_secs(1);

pub(crate) struct RouteSync {
    store: Store,
    link: Arc<CentralLink>,
}

impl RouteSync {
    pub(crate) fn new(store: Store, link: Arc<CentralLink>) -> Self {
        RouteSync { store, link }
    }
}

#[async_trait::async_trait]
impl Handler for RouteSync {
    fn job_type(&self) -> &'static str {
        ROUTE_SYNC
    }

    async fn run(&self, jobs: &[Job]) -> Result<(), JobError> {
        let ids: Vec<uuid::Uuid> = jobs.iter().map(|j| j.resource_id).collect::<BTreeSet<_>>().into_iter().collect();
        let present = self.store.locate(&ids).await?;
        let here: BTreeSet<uuid::Uuid> = present.iter().map(|l| l.id).collect();
        let changes = RoutingChanges {
            upsert: present
                .into_iter()
                .map(|l| RouteEntry { id: l.id, resource_type: l.resource_type.to_owned(), project_id: l.project_id.0 })
                .collect(),
            delete: ids.into_iter().filter(|id| !here.contains(id)).collect(),
        };
        self.link.call_no_reply(Method::POST, "/v1/federation/routings", Some(&changes)).await?;
        Ok(())
    }
}

/// Until aborted: whenever the central turns reachable again (as the link's calls, heartbeats
/// included, observe it), the route_sync and endpoint_sync jobs waiting out a backoff run at once
/// rather than at the end of it (up to 5 min after a long outage).
pub(crate) async fn hurry_when_back(store: Store, link: Arc<CentralLink>) {
    let mut was = link.reachability().reachable;
    loop {
        tokio::time::sleep(WATCH).await;
        let now = link.reachability().reachable;
        if now && !was {
            for job_type in [ROUTE_SYNC, ENDPOINT_SYNC] {
                match store.hurry_jobs(job_type).await {
                    Ok(n) => tracing::info!(jobs = n, "central reachable again: waiting {job_type} jobs run now"),
                    Err(e) => tracing::warn!(error = %e, "hurrying {job_type} jobs failed"),
                }
            }
        }
        was = now;
    }
}
