//! `flotilla router ...`: routers joining a project's networks (create, add-interface,
//! remove-interface, list, show with its interfaces, delete); `create --global` makes a router
//! of the central joining global networks across regions.

use super::common::{ListArgs, delete_each};
use crate::output::{self, Format, Part, Row};
use crate::target::{Spread, Target};
use anyhow::Result;
use clap::Subcommand;
use flotilla_api::{Router, RouterCreate, RouterInterface, RouterList};

#[derive(Debug, Subcommand)]
pub enum RouterCommand {
    /// Create a router.
    Create {
        /// Name of the new router.
        name: String,
        /// A router of the central joining global networks across regions (made at the central,
        /// or forwarded there by a region).
        #[arg(long)]
        global: bool,
    },
    /// Join a network to a router: its containers reach those of the router's other networks.
    AddInterface {
        /// Name or id of the router.
        router: String,
        /// Name or id of the network (it needs a subnet and no router yet).
        network: String,
    },
    /// Remove a network's interface from a router: it is isolated again.
    RemoveInterface {
        /// Name or id of the router.
        router: String,
        /// Name or id of the network.
        network: String,
    },
    /// List routers.
    List {
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        spread: Spread,
    },
    /// Show a router by name or id, with its interfaces.
    Show {
        /// Name or id of the router.
        router: String,
    },
    /// Delete routers; a router that still joins networks is refused.
    Delete {
        /// Names or ids of the routers.
        #[arg(required = true, value_name = "ROUTER")]
        routers: Vec<String>,
    },
}

pub async fn run(client: &Target, format: Format, command: RouterCommand) -> Result<()> {
    match command {
        RouterCommand::Create { name, global } => shown(format, &client.create_router(&RouterCreate { name, global }).await?),
        RouterCommand::AddInterface { router, network } => shown(format, &client.add_router_interface(&router, &network).await?),
        RouterCommand::RemoveInterface { router, network } => shown(format, &client.remove_router_interface(&router, &network).await?),
        RouterCommand::List { list, spread } => client.list(format, &spread, async |c| c.list_routers(&list.query()).await).await,
        RouterCommand::Show { router } => shown(format, &client.router(&router).await?),
        RouterCommand::Delete { routers } => delete_each(format, "router", &routers, async |key| client.delete_router(key).await).await,
    }
}

/// A router and, for people, its interfaces as a table.
fn shown(format: Format, router: &Router) -> Result<()> {
    output::detailed(format, router, &[Part::of("interfaces", &router.interfaces)])
}

impl Row for Router {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "GLOBAL", "NETWORKS", "CREATED"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.global.to_string(),
            self.interfaces.iter().map(|i| i.network.as_str()).collect::<Vec<_>>().join(", "),
            output::when(&self.created_at),
        ]
    }
}

impl Row for RouterInterface {
    const HEADERS: &'static [&'static str] = &["NETWORK", "CIDR", "GATEWAY"];
    fn cells(&self) -> Vec<String> {
        vec![self.network.clone(), self.cidr.clone(), self.gateway.clone()]
    }
}

output::listing!(RouterList, routers, Router);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<RouterCommand, clap::Error> {
        let cli = Cli::try_parse_from(["flotilla", "router"].iter().chain(args))?;
        match cli.command {
            Command::Router(command) => Ok(command),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn interfaces_take_a_router_and_a_network() {
        let RouterCommand::AddInterface { router, network } = parse(&["add-interface", "edge", "front"]).unwrap() else { panic!() };
        assert_eq!((router.as_str(), network.as_str()), ("edge", "front"));
        let RouterCommand::RemoveInterface { router, network } = parse(&["remove-interface", "edge", "front"]).unwrap() else { panic!() };
        assert_eq!((router.as_str(), network.as_str()), ("edge", "front"));
        assert_eq!(parse(&["add-interface", "edge"]).unwrap_err().exit_code(), 2, "a network is required");
        assert_eq!(parse(&["delete"]).unwrap_err().exit_code(), 2, "a router is required");
    }

    #[test]
    fn create_takes_global() {
        let RouterCommand::Create { name, global } = parse(&["create", "edge", "--global"]).unwrap() else { panic!() };
        assert_eq!((name.as_str(), global), ("edge", true));
        let RouterCommand::Create { global, .. } = parse(&["create", "edge"]).unwrap() else { panic!() };
        assert!(!global, "a region's router by default");
    }
}
