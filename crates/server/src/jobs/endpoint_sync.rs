//! `endpoint_sync`: tells the central this region's endpoints on global networks (one job per
//! network, queued with the port change that needs it). Each run reads the networks' endpoints as
//! they are now and sends them whole, one call per batch: a report replaces the region's last, so
//! order and repeats do not matter.

use super::{Handler, JobError};
use crate::federation::link::CentralLink;
use crate::federation::remote_endpoints::wire_endpoint;
use flotilla_api::global_network::{EndpointReport, NetworkEndpointsReport};
use flotilla_core::NetworkId;
use flotilla_store::{ENDPOINT_SYNC, Job, Store};
use reqwest::Method;
use std::collections::BTreeSet;
use std::sync::Arc;

pub(crate) struct EndpointSync {
    store: Store,
    link: Arc<CentralLink>,
}

impl EndpointSync {
    pub(crate) fn new(store: Store, link: Arc<CentralLink>) -> Self {
        EndpointSync { store, link }
    }
}

#[async_trait::async_trait]
impl Handler for EndpointSync {
    fn job_type(&self) -> &'static str {
        ENDPOINT_SYNC
    }

    async fn run(&self, jobs: &[Job]) -> Result<(), JobError> {
        let networks: Vec<NetworkId> = jobs.iter().map(|j| NetworkId(j.resource_id)).collect::<BTreeSet<_>>().into_iter().collect();
        let own = self.store.own_global_endpoints(&networks).await?;
        let report = EndpointReport {
            networks: own
                .into_iter()
                .map(|(network, endpoints)| NetworkEndpointsReport {
                    network_id: network.0,
                    endpoints: endpoints.into_iter().map(wire_endpoint).collect(),
                })
                .collect(),
        };
        self.link.call_no_reply(Method::POST, "/v1/federation/endpoints", Some(&report)).await?;
        Ok(())
    }
}
