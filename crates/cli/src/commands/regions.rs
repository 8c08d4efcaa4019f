//! `flotilla region ...` (at the central): the federation's regions (list, show, delete), join
//! tokens for new region servers, and the default region of this CLI.

use super::common::ListArgs;
use crate::cli::Globals;
use crate::output::{self, Row};
use crate::session::Session;
use anyhow::Result;
use clap::Subcommand;
use flotilla_api::region::{Region, RegionJoinTokenCreate, RegionList};

#[derive(Debug, Subcommand)]
pub enum RegionCommand {
    /// List regions with their status (UP/DOWN by heartbeat), API URL and counts; the CLI saves
    /// their URLs for `--region` and `--all-regions`.
    List(ListArgs),
    /// Show a region by name or id.
    Show {
        /// Name or id of the region.
        #[arg(value_name = "REGION")]
        key: String,
    },
    /// Forget a region (admin): its credential stops working; it registers again with a new token.
    Delete {
        /// Name or id of the region.
        #[arg(value_name = "REGION")]
        key: String,
    },
    /// Create a one-use token a region server registers with (admin); shown once.
    JoinToken {
        /// Lifetime in seconds, 60 to 2592000 (default: one day).
        #[arg(long, value_name = "SECONDS")]
        ttl: Option<u64>,
    },
    /// Send region commands to this region from now on when no `--region` is given.
    Use {
        /// The region's name.
        #[arg(value_name = "REGION", required_unless_present = "unset")]
        name: Option<String>,
        /// Forget the default region: region commands go to the server logged in to again.
        #[arg(long, conflicts_with = "name")]
        unset: bool,
    },
}

pub async fn run(globals: &Globals, command: RegionCommand) -> Result<()> {
    let mut session = Session::load(globals)?;
    let client = session.client(globals)?;
    let format = globals.format();
    match command {
        RegionCommand::List(args) => {
            let page = client.list_regions(&args.query()).await?;
            let complete = args.marker.is_none() && args.name.is_none() && page.next.is_none();
            session.remember_regions(&page, complete)?;
            output::list(format, &page)
        }
        RegionCommand::Show { key } => output::one(format, &client.region(&key).await?),
        RegionCommand::Delete { key } => {
            client.delete_region(&key).await?;
            session.refresh_regions(&client).await?;
            output::deleted(format, "region", &key)
        }
        RegionCommand::JoinToken { ttl } => {
            output::one(format, &client.create_region_join_token(&RegionJoinTokenCreate { ttl_seconds: ttl }).await?)
        }
        RegionCommand::Use { name, .. } => {
            session.choose_region(&client, name.as_deref()).await?;
            match name {
                Some(name) => output::done(format, &format!("region commands go to region {name} unless --region says otherwise")),
                None => output::done(format, "region commands go to the server logged in to unless --region says otherwise"),
            }
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
