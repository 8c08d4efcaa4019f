//! `flotilla routing ...` (at the central): the routing table, where each global id lives.

use super::common::ListArgs;
use crate::output::{self, Format, Row};
use anyhow::{Context, Result};
use clap::Subcommand;
use flotilla_api::region::{Routing, RoutingFilter, RoutingList};
use flotilla_client::Client;

#[derive(Debug, Subcommand)]
pub enum RoutingCommand {
    /// List the routing table (admins).
    List {
        /// Only ids held by this region (its name).
        #[arg(long)]
        region: Option<String>,
        /// Only objects of this type: container, cluster, node, network, volume.
        #[arg(long = "type", value_name = "TYPE")]
        resource_type: Option<String>,
        /// Only objects of this project (an id).
        #[arg(long, value_name = "ID")]
        project: Option<String>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Which region holds an id (one of your project's, or any for admins).
    Show {
        /// The object's id.
        id: String,
    },
}

pub async fn run(client: &Client, format: Format, command: RoutingCommand) -> Result<()> {
    match command {
        RoutingCommand::List { region, resource_type, project, list } => {
            let project_id = project.map(|p| p.parse()).transpose().context("--project: expected a project id")?;
            let filter = RoutingFilter { region, resource_type, project_id };
            output::list(format, &client.list_routings(&list.query(), &filter).await?)
        }
        RoutingCommand::Show { id } => output::one(format, &client.routing(&id).await?),
    }
}

impl Row for Routing {
    const HEADERS: &'static [&'static str] = &["ID", "REGION", "TYPE", "PROJECT", "UPDATED"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.region.clone(),
            self.resource_type.clone(),
            self.project_id.to_string(),
            output::when(&self.updated_at),
        ]
    }
}

output::listing!(RoutingList, routings, Routing);
