//! Dry runs: where a container run, a cluster create or a cluster resize would put its new
//! containers (or why nothing fits), answered by the server with nothing made.

use crate::{Call, Client, ClientError};
use flotilla_api::{ClusterActionRequest, ClusterCreate, ContainerCreate, DryRunQuery, Plan};

fn dry_run() -> DryRunQuery {
    DryRunQuery { dry_run: Some(true) }
}

impl Client {
    /// `POST /v1/containers?dry_run=true`.
    pub async fn plan_container(&self, body: &ContainerCreate) -> Result<Plan, ClientError> {
        self.send(Call::post(&["containers"], body).query(dry_run())).await
    }

    /// `POST /v1/clusters?dry_run=true`.
    pub async fn plan_cluster(&self, body: &ClusterCreate) -> Result<Plan, ClientError> {
        self.send(Call::post(&["clusters"], body).query(dry_run())).await
    }

    /// `POST /v1/clusters/{key}/actions?dry_run=true` (a resize).
    pub async fn plan_cluster_action(&self, key: &str, body: &ClusterActionRequest) -> Result<Plan, ClientError> {
        self.send(Call::post(&["clusters", key, "actions"], body).query(dry_run())).await
    }
}
