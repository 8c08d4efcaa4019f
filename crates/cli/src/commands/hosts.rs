//! `flotilla host ...`: the region's hosts (list, show, enable, disable, drain, delete) and join
//! tokens for new agents.

use super::common::{LabelArgs, ListArgs};
use super::follow;
use super::wait::WaitArgs;
use crate::completion;
use crate::output::{self, Format, Part, Row};
use crate::target::{Spread, Target};
use anyhow::Result;
use clap::Subcommand;
use clap_complete::ArgValueCandidates;
use flotilla_api::{Capacity, Host, HostDrain, HostList, JoinTokenCreate};

#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// List hosts with their state, capacity and use.
    List {
        /// Only hosts in this state: UP, DOWN, DRAINING or DISABLED.
        #[arg(long, value_parser = ["UP", "DOWN", "DRAINING", "DISABLED"], ignore_case = true)]
        state: Option<String>,
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        labels: LabelArgs,
        #[command(flatten)]
        spread: Spread,
    },
    /// Show a host by name or id.
    Show {
        /// Name or id of the host.
        #[arg(add = ArgValueCandidates::new(completion::hosts))]
        host: String,
    },
    /// Let the scheduler place containers on a host again.
    Enable {
        /// Name or id of the host.
        #[arg(add = ArgValueCandidates::new(completion::hosts))]
        host: String,
    },
    /// Keep the scheduler from placing new containers on a host; its containers stay.
    Disable {
        /// Name or id of the host.
        #[arg(add = ArgValueCandidates::new(completion::hosts))]
        host: String,
    },
    /// Drain a host: nothing new lands there; with --migrate its containers move to other hosts.
    Drain {
        /// Name or id of the host.
        #[arg(add = ArgValueCandidates::new(completion::hosts))]
        host: String,
        /// Also recreate the host's containers on other hosts (a HOST_DRAIN action).
        #[arg(long)]
        migrate: bool,
        /// With --migrate: wait until every container runs on another host.
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Forget a host (refused while containers remain on it).
    Delete {
        /// Name or id of the host.
        #[arg(add = ArgValueCandidates::new(completion::hosts))]
        host: String,
    },
    /// Create a join token an agent uses to join the region (admin); shown once.
    JoinToken {
        /// Lifetime in seconds (default: the server's, one day).
        #[arg(long, value_name = "SECONDS")]
        ttl: Option<u64>,
        /// Issue the token to put another machine in place of this host (id or name): it joins
        /// under that name, keeping the host's id and containers, and the old agent is shut out.
        #[arg(long, value_name = "HOST")]
        replace: Option<String>,
    },
}

pub async fn run(client: &Target, format: Format, command: HostCommand) -> Result<()> {
    match command {
        HostCommand::List { state, list, labels, spread } => {
            let state = state.map(|s| s.to_uppercase());
            client.list(format, &spread, async |c| c.list_hosts(state.as_deref(), labels.listing(&list.query())).await).await
        }
        HostCommand::Show { host } => {
            let host = client.host(&host).await?;
            let events = super::events::recent(client, format, &host.id.to_string()).await;
            output::detailed(format, &host, &[Part::of("events", &events)])
        }
        HostCommand::Enable { host } => output::one(format, &client.enable_host(&host).await?),
        HostCommand::Disable { host } => output::one(format, &client.disable_host(&host).await?),
        HostCommand::Drain { host, migrate, wait } => {
            let accepted = client.drain_host(&host, &HostDrain { migrate }).await?;
            if migrate {
                follow::created(client, accepted.action.as_deref(), &wait).await?;
            }
            let shown = if migrate && wait.wait { client.host(&host).await? } else { accepted.body };
            output::one(format, &shown)
        }
        HostCommand::Delete { host } => {
            client.delete_host(&host).await?;
            output::deleted(format, "host", &host)
        }
        HostCommand::JoinToken { ttl, replace } => {
            output::one(format, &client.create_join_token(&JoinTokenCreate { ttl_seconds: ttl, replace }).await?)
        }
    }
}

/// `used/total` of a resource.
fn share(used: impl std::fmt::Display, total: impl std::fmt::Display) -> String {
    format!("{used}/{total}")
}

impl Row for Host {
    const HEADERS: &'static [&'static str] =
        &["ID", "NAME", "STATE", "ZONE", "POOL", "RUNTIME", "VERSION", "CPUS", "MEMORY MIB", "CPU %", "CONTAINERS", "HEARTBEAT"];
    fn cells(&self) -> Vec<String> {
        let (Capacity { cpus, memory_mib, .. }, allocated) = (self.capacity, self.allocated);
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.state.clone(),
            self.zone.clone(),
            self.pool.clone(),
            self.runtime.clone(),
            if self.agent_version.is_empty() { "-".into() } else { self.agent_version.clone() },
            share(allocated.cpus, cpus),
            share(allocated.memory_mib, memory_mib),
            format!("{:.0}", self.utilisation.cpu_percent),
            self.container_count.to_string(),
            self.last_heartbeat.as_ref().map(output::when).unwrap_or_else(|| "never".into()),
        ]
    }
}

output::listing!(HostList, hosts, Host);
