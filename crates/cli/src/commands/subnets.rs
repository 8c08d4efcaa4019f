//! `flotilla subnet ...`: a network's IPv4 subnets: create, list, show, delete; and the subnet flags
//! `network create --subnet` shares (gateway, allocation pools, reserved addresses).

use crate::output::{self, Format, Row};
use crate::target::Target;
use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use flotilla_api::{AllocationPool, Subnet, SubnetCreate};
use std::net::Ipv4Addr;

#[derive(Debug, Subcommand)]
pub enum SubnetCommand {
    /// Add a subnet to a network; refused when it overlaps one of the network's others.
    Create {
        /// Name or id of the network.
        network: String,
        /// Its IPv4 range ADDRESS/PREFIX, prefix 8 to 30, e.g. 10.1.0.0/24.
        cidr: String,
        /// Name of the subnet (default: the network's name with -subnet).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        options: SubnetOptions,
    },
    /// List a network's subnets with how many of their addresses are taken.
    List {
        /// Name or id of the network.
        network: String,
    },
    /// Show a subnet by id.
    Show {
        /// Id of the subnet.
        subnet: String,
    },
    /// Delete a subnet.
    Delete {
        /// Id of the subnet.
        subnet: String,
    },
}

/// How a new subnet hands out addresses: `subnet create`'s flags, and `network create`'s with `--subnet`.
#[derive(Debug, Clone, Args)]
pub struct SubnetOptions {
    /// The gateway's address (default: the first host address).
    #[arg(long, value_name = "IP")]
    pub gateway: Option<Ipv4Addr>,
    /// Hand out addresses only from START-END, e.g. 10.1.0.10-10.1.0.99 (default: every host address
    /// but the gateway); repeat for more.
    #[arg(long = "pool", value_name = "START-END", value_parser = parse_pool)]
    pub pools: Vec<AllocationPool>,
    /// Never hand out this address; repeat for more.
    #[arg(long = "reserve", value_name = "IP")]
    pub reserved: Vec<Ipv4Addr>,
}

impl SubnetOptions {
    /// Whether any flag was given.
    pub fn is_set(&self) -> bool {
        self.gateway.is_some() || !self.pools.is_empty() || !self.reserved.is_empty()
    }

    /// The subnet `cidr` with these options.
    pub fn subnet(self, name: Option<String>, cidr: String) -> SubnetCreate {
        SubnetCreate {
            name,
            cidr,
            gateway: self.gateway.map(|ip| ip.to_string()),
            allocation_pools: self.pools,
            reserved: self.reserved.iter().map(Ipv4Addr::to_string).collect(),
        }
    }
}

pub async fn run(client: &Target, format: Format, command: SubnetCommand) -> Result<()> {
    match command {
        SubnetCommand::Create { network, cidr, name, options } => {
            output::one(format, &client.create_subnet(&network, &options.subnet(name, cidr)).await?)
        }
        SubnetCommand::List { network } => {
            let list = client.list_subnets(&network).await?;
            output::grid(format, &list, Subnet::HEADERS, list.subnets.iter().map(Row::cells).collect())
        }
        SubnetCommand::Show { subnet } => output::one(format, &client.subnet(&subnet).await?),
        SubnetCommand::Delete { subnet } => {
            client.delete_subnet(&subnet).await?;
            output::deleted(format, "subnet", &subnet)
        }
    }
}

/// `--pool START-END`: an inclusive range of IPv4 addresses.
pub fn parse_pool(text: &str) -> Result<AllocationPool> {
    const EXPECTED: &str = "expected START-END, e.g. 10.1.0.10-10.1.0.99";
    let (start, end) = text.split_once('-').ok_or_else(|| anyhow!("{EXPECTED}"))?;
    let address = |ip: &str| ip.parse::<Ipv4Addr>().map_err(|_| anyhow!("{ip:?} is not an IPv4 address; {EXPECTED}"));
    let (start, end) = (address(start)?, address(end)?);
    if start > end {
        bail!("the pool starts at {start}, after its end {end}");
    }
    Ok(AllocationPool { start: start.to_string(), end: end.to_string() })
}

impl Row for Subnet {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "CIDR", "GATEWAY", "POOLS", "RESERVED", "USED"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.cidr.clone(),
            self.gateway.clone(),
            self.allocation_pools.iter().map(|pool| format!("{}-{}", pool.start, pool.end)).collect::<Vec<_>>().join(", "),
            self.reserved.join(", "),
            format!("{}/{}", self.used, self.capacity),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn pool(start: &str, end: &str) -> AllocationPool {
        AllocationPool { start: start.into(), end: end.into() }
    }

    #[test]
    fn pools_are_ranges_of_addresses() {
        assert_eq!(parse_pool("10.1.0.10-10.1.0.99").unwrap(), pool("10.1.0.10", "10.1.0.99"));
        assert_eq!(parse_pool("10.1.0.7-10.1.0.7").unwrap(), pool("10.1.0.7", "10.1.0.7"));
        for (bad, says) in [
            ("10.1.0.10", "expected START-END"),
            ("10.1.0.10-", "\"\" is not an IPv4 address"),
            ("10.1.0.10-10.1.0.300", "\"10.1.0.300\" is not an IPv4 address"),
            ("10.1.0.10 - 10.1.0.20", "\"10.1.0.10 \" is not"),
            ("10.1.0.9-10.1.0.1", "starts at 10.1.0.9, after its end 10.1.0.1"),
        ] {
            let err = parse_pool(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
    }

    #[test]
    fn flags_make_the_subnet() {
        let cli = Cli::try_parse_from([
            "flotilla",
            "subnet",
            "create",
            "front",
            "10.1.0.0/24",
            "--name",
            "a",
            "--gateway",
            "10.1.0.254",
            "--pool",
            "10.1.0.10-10.1.0.19",
            "--pool",
            "10.1.0.30-10.1.0.39",
            "--reserve",
            "10.1.0.11",
        ])
        .unwrap();
        let Command::Subnet(SubnetCommand::Create { network, cidr, name, options }) = cli.command else { panic!() };
        assert!(options.is_set());
        let body = options.subnet(name, cidr);
        assert_eq!(network, "front");
        assert_eq!((body.name.as_deref(), body.cidr.as_str(), body.gateway.as_deref()), (Some("a"), "10.1.0.0/24", Some("10.1.0.254")));
        assert_eq!(body.allocation_pools, [pool("10.1.0.10", "10.1.0.19"), pool("10.1.0.30", "10.1.0.39")]);
        assert_eq!(body.reserved, ["10.1.0.11"]);

        let bad = Cli::try_parse_from(["flotilla", "subnet", "create", "front", "10.1.0.0/24", "--pool", "10.1.0.10"]).unwrap_err();
        assert_eq!(bad.exit_code(), 2);
        let said = bad.to_string();
        assert!(said.contains("'10.1.0.10'") && said.contains("--pool") && said.contains("START-END"), "{said}");
        let bad = Cli::try_parse_from(["flotilla", "subnet", "create", "front", "10.1.0.0/24", "--reserve", "ten"]).unwrap_err();
        assert!(bad.to_string().contains("'ten'") && bad.to_string().contains("--reserve"), "{bad}");
    }

    #[test]
    fn rows_say_how_full_a_subnet_is() {
        let subnet: Subnet = serde_json::from_value(serde_json::json!({
            "id": "01927c4e-0000-7000-8000-000000000001", "name": "front-subnet", "network_id": "01927c4e-0000-7000-8000-000000000002",
            "project_id": "01927c4e-0000-7000-8000-000000000003", "cidr": "10.1.0.0/24", "gateway": "10.1.0.1",
            "allocation_pools": [{"start": "10.1.0.10", "end": "10.1.0.19"}, {"start": "10.1.0.30", "end": "10.1.0.39"}],
            "reserved": ["10.1.0.11"], "capacity": 20, "used": 3, "created_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        let cells = subnet.cells();
        assert_eq!(cells[2..], ["10.1.0.0/24", "10.1.0.1", "10.1.0.10-10.1.0.19, 10.1.0.30-10.1.0.39", "10.1.0.11", "3/20"]);
    }
}
