//! `flotilla region ...` (at the central): the federation's regions (list, show, delete) and join
//! tokens for new region servers.

use super::common::ListArgs;
use crate::output::{self, Format, Row};
use anyhow::Result;
use clap::Subcommand;
use flotilla_api::region::{Region, RegionJoinTokenCreate, RegionList};
use flotilla_client::Client;

#[derive(Debug, Subcommand)]
pub enum RegionCommand {
    /// List regions with their status (UP/DOWN by heartbeat), API URL and counts.
    List(ListArgs),
    /// Show a region by name or id.
    Show {
        /// Name or id of the region.
        region: String,
    },
    /// Forget a region (admin): its credential stops working; it registers again with a new token.
    Delete {
        /// Name or id of the region.
        region: String,
    },
    /// Create a one-use token a region server registers with (admin); shown once.
    JoinToken {
        /// Lifetime in seconds, 60 to 2592000 (default: one day).
        #[arg(long, value_name = "SECONDS")]
        ttl: Option<u64>,
    },
}

pub async fn run(client: &Client, format: Format, command: RegionCommand) -> Result<()> {
    match command {
        RegionCommand::List(args) => output::list(format, &client.list_regions(&args.query()).await?),
        RegionCommand::Show { region } => output::one(format, &client.region(&region).await?),
        RegionCommand::Delete { region } => {
            client.delete_region(&region).await?;
            output::deleted(format, "region", &region)
        }
        RegionCommand::JoinToken { ttl } => {
            output::one(format, &client.create_region_join_token(&RegionJoinTokenCreate { ttl_seconds: ttl }).await?)
        }
    }
}

impl Row for Region {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "STATUS", "API URL", "HOSTS", "CONTAINERS", "HEARTBEAT"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.status.clone(),
            self.api_url.clone(),
            self.host_count.to_string(),
            self.container_count.to_string(),
            self.last_heartbeat.as_ref().map(output::when).unwrap_or_else(|| "never".into()),
        ]
    }
}

output::listing!(RegionList, regions, Region);
