//! `route_sync`: tells the central where this region's objects are. For each id it reads whether
//! the object is still here and sends the central an upsert or a delete, one call per batch.

use super::{Handler, JobError};
use crate::federation::link::CentralLink;
use flotilla_api::region::{RouteEntry, RoutingChanges};
use flotilla_store::{Job, ROUTE_SYNC, Store};
use reqwest::Method;
use std::collections::BTreeSet;
use std::sync::Arc;

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
