//! `flotilla port ...`: ports, addresses held on a network (reserved, or a container's): create,
//! list, show, delete.

use super::common::ListArgs;
use crate::output::{self, Format, Row};
use crate::target::{Spread, Target};
use anyhow::Result;
use clap::Subcommand;
use flotilla_api::{Port, PortCreate, PortFilters, PortList};
use std::net::Ipv4Addr;

#[derive(Debug, Subcommand)]
pub enum PortCommand {
    /// Reserve an address on a network: the one given, or the next free one.
    Create {
        /// Name or id of the network.
        network: String,
        /// This address (default: the next free one).
        #[arg(long, value_name = "IP")]
        ip: Option<Ipv4Addr>,
        /// Name of the port.
        #[arg(long)]
        name: Option<String>,
    },
    /// List ports with their addresses and containers.
    List {
        /// Only the ports of this network (name or id).
        #[arg(long)]
        network: Option<String>,
        /// Only the ports of this container (name or id).
        #[arg(long)]
        container: Option<String>,
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        spread: Spread,
    },
    /// Show a port by id.
    Show {
        /// Id of the port.
        port: String,
    },
    /// Delete a port: its address is free again.
    Delete {
        /// Id of the port.
        port: String,
    },
}

pub async fn run(client: &Target, format: Format, command: PortCommand) -> Result<()> {
    match command {
        PortCommand::Create { network, ip, name } => {
            let body = PortCreate { network, name, ip_address: ip.map(|ip| ip.to_string()) };
            output::one(format, &client.create_port(&body).await?)
        }
        PortCommand::List { network, container, list, spread } => {
            let filters = PortFilters { network, container };
            client.list(format, &spread, async |c| c.list_ports(&list.query(), &filters).await).await
        }
        PortCommand::Show { port } => output::one(format, &client.port(&port).await?),
        PortCommand::Delete { port } => {
            client.delete_port(&port).await?;
            output::deleted(format, "port", &port)
        }
    }
}

impl Row for Port {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "NETWORK", "IP", "MAC", "CONTAINER", "STATUS", "CREATED"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.network.clone(),
            self.ip_address.clone(),
            self.mac_address.clone(),
            self.container.clone().unwrap_or_default(),
            self.status.clone(),
            output::when(&self.created_at),
        ]
    }
}

output::listing!(PortList, ports, Port);
