//! `endpoint_sync`: tells the central this region's endpoints on global networks (one job per
//! network, queued with the port change that needs it). Each run reads the networks' endpoints as
//! they are now and sends them whole, one call per batch: a report replaces the region's last, so
//! order and repeats do not matter. The report also lists every address the region's ports hold
//! on each network: the central frees the fixed addresses the region recorded and no longer uses
//! (a container deleted with its ports), and the job runs again while some are too recent to judge.

use super::{Handler, JobError};
use crate::federation::link::CentralLink;
use crate::federation::remote_endpoints::wire_endpoint;
use flotilla_api::global_network::{EndpointReport, EndpointReportAnswer, NetworkEndpointsReport};
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
        let mut in_use = self.store.addresses_in_use(&networks).await?;
        let report = EndpointReport {
            networks: own
                .into_iter()
                .map(|(network, endpoints)| NetworkEndpointsReport {
                    network_id: network.0,
                    endpoints: endpoints.into_iter().map(wire_endpoint).collect(),
                    addresses: in_use.remove(&network).unwrap_or_default().iter().map(ToString::to_string).collect(),
                })
                .collect(),
        };
        let answer: EndpointReportAnswer = self.link.call(Method::POST, "/v1/federation/endpoints", Some(&report)).await?;
        match answer.unsettled_fixed_ips {
            0 => Ok(()),
            n => Err(JobError::Unsettled(format!("{n} fixed addresses at the central are too recent to free yet"))),
        }
    }
}
