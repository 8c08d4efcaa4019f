//! `flotilla network ...`: networks (create with a first subnet, list, show with their subnets,
//! delete), and connecting a container to one or disconnecting it.

use super::common::{LabelArgs, ListArgs, MetadataArgs, delete_each};
use super::containers;
use super::subnets::SubnetOptions;
use crate::completion;
use crate::output::{self, Format, Part, Row};
use crate::target::{Spread, Target};
use anyhow::{Result, bail};
use clap::Subcommand;
use clap_complete::ArgValueCandidates;
use flotilla_api::{Address, Network, NetworkConnect, NetworkCreate, NetworkList};
use std::net::Ipv4Addr;

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Create a network, optionally with a first subnet.
    Create {
        /// Name of the new network.
        name: String,
        /// Usable by every project (admins only).
        #[arg(long)]
        shared: bool,
        /// One network in every region under the same id, its addresses from the central's
        /// global pool (needs --subnet inside it; made at the central, also when asked of a region).
        #[arg(long, requires = "subnet")]
        global: bool,
        /// Make a subnet with the network: its IPv4 range, e.g. 10.1.0.0/24.
        #[arg(long, value_name = "CIDR")]
        subnet: Option<String>,
        #[command(flatten)]
        options: SubnetOptions,
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// List networks.
    List {
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        labels: LabelArgs,
        #[command(flatten)]
        spread: Spread,
    },
    /// Show a network by name or id, with its subnets.
    Show {
        /// Name or id of the network.
        #[arg(add = ArgValueCandidates::new(completion::networks))]
        network: String,
    },
    /// Delete networks and their subnets; a network with ports left is refused.
    Delete {
        /// Names or ids of the networks.
        #[arg(required = true, value_name = "NETWORK")]
        networks: Vec<String>,
    },
    /// Connect a container to a network: it gets an address there.
    Connect {
        /// Name or id of the network.
        #[arg(add = ArgValueCandidates::new(completion::networks))]
        network: String,
        /// Name or id of the container.
        container: String,
        /// This address (default: the next free one).
        #[arg(long, value_name = "IP")]
        ip: Option<Ipv4Addr>,
    },
    /// Disconnect a container from a network: its address there is freed.
    Disconnect {
        /// Name or id of the network.
        #[arg(add = ArgValueCandidates::new(completion::networks))]
        network: String,
        /// Name or id of the container.
        container: String,
    },
}

pub async fn run(client: &Target, format: Format, command: NetworkCommand) -> Result<()> {
    match command {
        NetworkCommand::Create { name, shared, global, subnet, options, metadata } => {
            let subnet = match subnet {
                Some(cidr) => Some(options.subnet(None, cidr)),
                None if options.is_set() => bail!("--gateway, --pool and --reserve describe the network's subnet: add --subnet CIDR"),
                None => None,
            };
            let body = NetworkCreate { name, shared, global, subnet, metadata: metadata.metadata() };
            shown(format, &client.create_network(&body).await?)
        }
        NetworkCommand::List { list, labels, spread } => {
            client.list(format, &spread, async |c| c.list_networks(labels.listing(&list.query())).await).await
        }
        NetworkCommand::Show { network } => shown(format, &client.found(&network, async |c| c.network(&network).await).await?.0),
        NetworkCommand::Delete { networks } => {
            delete_each(format, "network", &networks, async |key| client.found(key, async |c| c.delete_network(key).await).await.map(drop))
                .await
        }
        NetworkCommand::Connect { network, container, ip } => {
            let body = NetworkConnect { network, ip_address: ip.map(|ip| ip.to_string()) };
            containers::shown(format, &client.connect_network(&container, &body).await?)
        }
        NetworkCommand::Disconnect { network, container } => {
            containers::shown(format, &client.disconnect_network(&container, &network).await?)
        }
    }
}

/// A network and, for people, its subnets as a table.
fn shown(format: Format, network: &Network) -> Result<()> {
    output::detailed(format, network, &[Part::of("subnets", &network.subnets)])
}

impl Row for Network {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "SHARED", "DEFAULT", "GLOBAL", "SUBNETS", "CREATED"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.shared.to_string(),
            self.is_default.to_string(),
            self.global.to_string(),
            self.subnets.iter().map(|subnet| subnet.cidr.as_str()).collect::<Vec<_>>().join(", "),
            output::when(&self.created_at),
        ]
    }
}

output::listing!(NetworkList, networks, Network);

/// A container's (or node's) address, a row of the `addresses` its show prints.
impl Row for Address {
    const HEADERS: &'static [&'static str] = &["NETWORK", "IP", "MAC"];
    fn cells(&self) -> Vec<String> {
        vec![self.network.clone(), self.ip_address.clone(), self.mac_address.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<NetworkCommand, clap::Error> {
        let cli = Cli::try_parse_from(["flotilla", "network"].iter().chain(args))?;
        match cli.command {
            Command::Network(command) => Ok(command),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn a_network_is_made_with_its_subnet() {
        let NetworkCommand::Create { name, shared, subnet, options, .. } =
            parse(&["create", "front", "--shared", "--subnet", "10.1.0.0/24", "--pool", "10.1.0.10-10.1.0.99", "--reserve", "10.1.0.20"])
                .unwrap()
        else {
            panic!()
        };
        assert_eq!((name.as_str(), shared, subnet.as_deref()), ("front", true, Some("10.1.0.0/24")));
        assert_eq!(options.pools.len(), 1);
        assert_eq!(options.reserved, [Ipv4Addr::new(10, 1, 0, 20)]);
        let NetworkCommand::Create { subnet, options, global, .. } = parse(&["create", "back"]).unwrap() else { panic!() };
        assert!(subnet.is_none() && !options.is_set() && !global);
        let NetworkCommand::Create { global, subnet, .. } =
            parse(&["create", "everywhere", "--global", "--subnet", "10.200.0.0/16"]).unwrap()
        else {
            panic!()
        };
        assert!(global && subnet.as_deref() == Some("10.200.0.0/16"));
        let bad = parse(&["create", "everywhere", "--global"]).unwrap_err();
        assert!(bad.to_string().contains("--subnet"), "a global network needs its subnet: {bad}");
    }

    #[test]
    fn connections_and_deletes_take_their_arguments() {
        let NetworkCommand::Connect { network, container, ip } = parse(&["connect", "front", "web", "--ip", "10.1.0.7"]).unwrap() else {
            panic!()
        };
        assert_eq!((network.as_str(), container.as_str(), ip), ("front", "web", Some(Ipv4Addr::new(10, 1, 0, 7))));
        let bad = parse(&["connect", "front", "web", "--ip", "10.1.0"]).unwrap_err();
        assert!(bad.to_string().contains("'10.1.0'") && bad.to_string().contains("--ip"), "{bad}");
        let NetworkCommand::Delete { networks } = parse(&["delete", "a", "b"]).unwrap() else { panic!() };
        assert_eq!(networks, ["a", "b"]);
        assert_eq!(parse(&["delete"]).unwrap_err().exit_code(), 2, "a network is required");
    }

    #[test]
    fn rows_list_subnets_and_addresses() {
        let network: Network = serde_json::from_value(serde_json::json!({
            "id": "01927c4e-0000-7000-8000-000000000001", "name": "front", "project_id": "01927c4e-0000-7000-8000-000000000002",
            "shared": true, "is_default": false, "metadata": {}, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "subnets": [
                {"id": "01927c4e-0000-7000-8000-000000000003", "name": "a", "network_id": "01927c4e-0000-7000-8000-000000000001",
                 "project_id": "01927c4e-0000-7000-8000-000000000002", "cidr": "10.1.0.0/24", "gateway": "10.1.0.1",
                 "allocation_pools": [], "reserved": [], "capacity": 253, "used": 0, "created_at": "2026-01-01T00:00:00Z"},
                {"id": "01927c4e-0000-7000-8000-000000000004", "name": "b", "network_id": "01927c4e-0000-7000-8000-000000000001",
                 "project_id": "01927c4e-0000-7000-8000-000000000002", "cidr": "10.2.0.0/24", "gateway": "10.2.0.1",
                 "allocation_pools": [], "reserved": [], "capacity": 253, "used": 0, "created_at": "2026-01-01T00:00:00Z"}
            ]
        }))
        .unwrap();
        assert_eq!(network.cells()[1..6], ["front", "true", "false", "false", "10.1.0.0/24, 10.2.0.0/24"]);
        let address = Address {
            network_id: network.id,
            network: "front".into(),
            ip_address: "10.1.0.5".into(),
            mac_address: "02:42:0a:01:00:05".into(),
        };
        assert_eq!(address.cells(), ["front", "10.1.0.5", "02:42:0a:01:00:05"]);
    }
}
