//! What `flotilla dev` shows a person: the region's events as they happen while it runs, and on
//! Ctrl-C what it leaves running and how to remove it.

use crate::commands::events;
use anyhow::Result;
use flotilla_api::{ContainerFilter, ListQuery};
use flotilla_client::Client;
use std::path::Path;

/// Prints the region's events from now on, in the background; dropped (and so stopped) on Ctrl-C.
pub struct EventLines(tokio::task::JoinHandle<()>);

impl EventLines {
    pub fn start(client: &Client) -> Self {
        let client = client.clone();
        EventLines(tokio::spawn(async move {
            if let Err(e) = events::follow_from_now(&client).await {
                tracing::warn!(error = %format!("{e:#}"), "the terminal stopped following the region's events");
            }
        }))
    }
}

impl Drop for EventLines {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The lines printed on Ctrl-C: the containers that keep running in Docker (every container the
/// region holds on a Docker host), where the log is, and `removal`: how to remove what is left.
pub async fn left_running(client: &Client, runtime: &str, log_file: &Path, removal: &str) -> Vec<String> {
    let mut lines = vec![format!("Flotilla dev stopped. The full log is in {}.", log_file.display())];
    if runtime != "docker" {
        lines.push("Nothing keeps running: the hosts were simulated.".into());
        return lines;
    }
    let query = ListQuery { limit: Some(1000), all_projects: Some(true), ..Default::default() };
    let left: Result<Vec<(String, bool)>> = async {
        let page = client.list_containers(&query, &ContainerFilter::default()).await?;
        Ok(page.containers.into_iter().filter(|c| c.runtime_id.is_some()).map(|c| (c.name, c.status == "RUNNING")).collect())
    }
    .await;
    match left {
        Ok(left) if left.is_empty() => lines.push("No container was left in Docker.".into()),
        Ok(left) => {
            let (running, stopped): (Vec<_>, Vec<_>) = left.into_iter().partition(|(_, running)| *running);
            let names = |list: Vec<(String, bool)>| list.into_iter().map(|(name, _)| name).collect::<Vec<_>>().join(", ");
            if !running.is_empty() {
                lines.push(format!("{} container(s) keep running in Docker: {}.", running.len(), names(running)));
            }
            if !stopped.is_empty() {
                lines.push(format!("{} stopped container(s) stay in Docker: {}.", stopped.len(), names(stopped)));
            }
            lines.push("The next `flotilla dev` manages them again.".into());
        }
        Err(e) => lines.push(format!("Could not list the containers left in Docker: {e:#}.")),
    }
    lines.push(removal.to_owned());
    lines
}
