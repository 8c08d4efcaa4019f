//! `flotilla dev --reset`: removes what earlier `flotilla dev` runs left: every cluster and
//! container of the dev region (through its own agents, so Docker's containers, networks and
//! volumes go the way they came), its data directory, and the CLI's `dev` context.

use super::dev::{self, ADMIN, CONTEXT, DevArgs, PASSWORD_FILE};
use super::server;
use super::settings::DEFAULT_REGION;
use crate::session::Session;
use anyhow::{Context, Result};
use flotilla_agent::Agent;
use flotilla_api::{ClusterFilter, ContainerFilter, DeleteQuery, ListQuery, TokenCreate};
use flotilla_client::Client;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long the reset waits for the agents to remove the containers.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(120);

/// Resets the dev region in `data_dir`, which exists.
pub async fn run(args: &DevArgs, data_dir: &Path) -> Result<()> {
    let mut lines = Vec::new();
    if let Some(password) = dev::read_password(&data_dir.join(PASSWORD_FILE))? {
        let role = flotilla_server::federation::Role::Standalone;
        let settings = dev::settings(args.listen, data_dir.to_owned(), DEFAULT_REGION, Some(password.clone()), role);
        let region = server::start(&settings).await?;
        let request = TokenCreate { user: ADMIN.into(), password, project: Some(ADMIN.into()), expires_in: None };
        let token = Client::new(&region.url())?.create_token(&request).await.context("cannot log in to the dev region as admin")?;
        let admin = Client::new(&region.url())?.with_token(token.token.unwrap_or_default());
        let (runtime, _) = dev::pick_runtime(args.runtime).await?;
        let agents = dev::start_agents(&region, &settings.data_dir, "dev", args.hosts, &runtime).await?;
        let removed = remove_everything(&admin).await;
        futures::future::join_all(agents.into_iter().map(Agent::shutdown)).await;
        region.shutdown().await.context("the dev region failed")?;
        lines.push(removed?);
    }
    std::fs::remove_dir_all(data_dir).with_context(|| format!("cannot remove {}", data_dir.display()))?;
    lines.push(format!("Removed {}.", data_dir.display()));
    let mut session = Session::open(None)?;
    if session.contexts().0.contains_key(CONTEXT) {
        session.delete_context(CONTEXT)?;
        lines.push(format!("Removed the CLI context {CONTEXT}."));
    }
    server::announce(&lines)
}

/// Deletes every cluster and container of every project and waits until the agents removed them.
async fn remove_everything(admin: &Client) -> Result<String> {
    let query = ListQuery { limit: Some(1000), all_projects: Some(true), ..Default::default() };
    let clusters = admin.list_clusters(&query, &ClusterFilter::default()).await?.clusters;
    for cluster in &clusters {
        admin.delete_cluster(&cluster.id.to_string(), true).await.with_context(|| format!("cannot delete cluster {}", cluster.name))?;
    }
    let started = Instant::now();
    let mut containers = 0;
    loop {
        let left = admin.list_containers(&query, &ContainerFilter::default()).await?.containers;
        containers = containers.max(left.len());
        if left.is_empty() {
            return Ok(format!("Removed {} cluster(s) and {containers} container(s).", clusters.len()));
        }
        if started.elapsed() > REMOVE_TIMEOUT {
            let names: Vec<String> = left.into_iter().map(|c| c.name).collect();
            anyhow::bail!(
                "the agents did not remove {} within {} s; run `flotilla dev --reset` again",
                names.join(", "),
                REMOVE_TIMEOUT.as_secs()
            );
        }
        for container in &left {
            let options = DeleteQuery { stop: Some(true), force: Some(true) };
            if let Err(e) = admin.delete_container(&container.id.to_string(), &options).await {
                tracing::debug!(container = %container.name, error = %e, "delete refused for now; asking again");
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
