//! The command line: global options and the top-level commands, parsed by clap.

use crate::commands::{
    actions, apply, auth, clusters, containers, contexts, dashboard, events, hosts, images, jobs, networks, nodes, policies, ports,
    profiles, projects, quotas, receivers, regions, roles, routers, routings, subnets, users, volumes,
};
use crate::completion;
use crate::output::Format;
use crate::serve::{agent, dev, server};
use crate::workload::WorkloadCommand;
use clap::{Args, Parser, Subcommand};
use clap_complete::ArgValueCandidates;

/// Flotilla: containers and clusters of containers on many hosts in many regions.
///
/// Without a role (`server`, `dev`) flotilla is the CLI of a Flotilla region: log in once with
/// `flotilla login`, then manage users, projects, roles, profiles, clusters and their nodes,
/// policies, receivers and actions, hosts, containers, images, networks, subnets, ports, volumes and
/// quotas, and read the event log.
#[derive(Debug, Parser)]
#[command(name = "flotilla", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub globals: Globals,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Globals {
    /// Output format: table, wide (every column, ids included), name, json, yaml, or
    /// jsonpath=EXPR (kubectl's `{.items[*].name}` or `$.items[*].name`; one match per line).
    #[arg(short, long, global = true, help_heading = "Global options", value_parser = Format::parse, default_value = "table", value_name = "FORMAT")]
    pub output: Format,
    /// Print only ids, one per line (lists; the made object of a create).
    #[arg(short, long, global = true, help_heading = "Global options", conflicts_with = "output")]
    pub quiet: bool,
    /// Server URL, e.g. http://127.0.0.1:7700 (default: the one saved by `flotilla login`).
    #[arg(long, global = true, help_heading = "Global options", env = "FLOTILLA_URL", value_name = "URL")]
    pub url: Option<String>,
    /// Token to use instead of the one saved by `flotilla login`.
    #[arg(long, global = true, help_heading = "Global options", env = "FLOTILLA_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Also trust the certificates of this PEM file for the server's HTTPS (saved by `flotilla login`).
    #[arg(long, global = true, help_heading = "Global options", env = "FLOTILLA_CACERT", value_name = "FILE")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// The region that region commands (containers, clusters, hosts, networks, volumes, profiles...)
    /// go to, by name [default: the one `flotilla region use` saved, else the server logged in to].
    /// User, project, role, token and region commands always go to the central.
    #[arg(long, global = true, help_heading = "Global options", env = "FLOTILLA_REGION", value_name = "NAME", add = ArgValueCandidates::new(completion::regions))]
    pub region: Option<String>,
    /// The saved context (server, token, default region) to use [default: the one `flotilla context
    /// use` chose]; `flotilla --context NAME login` saves a new one.
    #[arg(long, global = true, help_heading = "Global options", env = "FLOTILLA_CONTEXT", value_name = "NAME", add = ArgValueCandidates::new(completion::contexts))]
    pub context: Option<String>,
}

impl Globals {
    /// The output format `-o` or `-q` chose.
    pub fn format(&self) -> Format {
        if self.quiet { Format::Ids } else { self.output }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in to a server and save the token in the user config file.
    Login(auth::LoginArgs),
    /// Revoke the saved token and remove it from the user config file.
    Logout,
    /// Show who the saved token belongs to: user, project, role and expiry.
    Whoami,
    /// Saved contexts (a server, its token, the default region): list, use, current, rename, delete.
    #[command(subcommand)]
    Context(contexts::ContextCommand),
    /// Print the shell script that completes flotilla's commands, flags and live object names.
    Completion(crate::completion::CompletionArgs),
    /// Write the man pages of flotilla and every command into a directory.
    Man(crate::completion::ManArgs),
    /// Open the region's web dashboard in a browser, already signed in (a one-time link).
    Dashboard(dashboard::DashboardArgs),
    /// Manage users (admin).
    #[command(subcommand)]
    User(users::UserCommand),
    /// Manage projects (admin).
    #[command(subcommand)]
    Project(projects::ProjectCommand),
    /// Grant, list and remove roles of users on projects (admin).
    #[command(subcommand)]
    Role(roles::RoleCommand),
    /// Manage profiles: what a container is (image, command, resources...).
    #[command(subcommand)]
    Profile(profiles::ProfileCommand),
    /// Clusters of containers of one profile: create, scale, resize, policies, members.
    #[command(subcommand)]
    Cluster(clusters::ClusterCommand),
    /// Nodes, the containers clusters are made of (or orphans): create, adopt, check, recover.
    #[command(subcommand)]
    Node(nodes::NodeCommand),
    /// Policies clusters follow: scaling, deletion, placement, affinity, health, batch, autoscaling.
    #[command(subcommand)]
    Policy(policies::PolicyCommand),
    /// Webhook receivers that run a cluster action, and triggering them.
    #[command(subcommand)]
    Receiver(receivers::ReceiverCommand),
    /// Actions: the asynchronous work on clusters and nodes; list, show, cancel, wait.
    #[command(subcommand)]
    Action(actions::ActionCommand),
    /// Make or update, by name, the networks, volumes, profiles, policies and clusters a file describes.
    Apply(apply::ApplyArgs),
    /// Run containers and look into them: logs, exec, stats, top.
    #[command(subcommand)]
    Container(containers::ContainerCommand),
    /// Networks containers connect to: create with a subnet, list, show, delete; connect, disconnect.
    #[command(subcommand)]
    Network(networks::NetworkCommand),
    /// A network's IPv4 subnets: their gateway, allocation pools and reserved addresses.
    #[command(subcommand)]
    Subnet(subnets::SubnetCommand),
    /// Ports: addresses held on a network, reserved or a container's.
    #[command(subcommand)]
    Port(ports::PortCommand),
    /// Routers joining networks: create, add-interface, remove-interface, list, show, delete.
    #[command(subcommand)]
    Router(routers::RouterCommand),
    /// Named volumes containers mount (`container run -v VOLUME:/TARGET`).
    #[command(subcommand)]
    Volume(volumes::VolumeCommand),
    /// Upload, list and delete images (`docker save` archives).
    #[command(subcommand)]
    Image(images::ImageCommand),
    /// The region's hosts: list, drain, disable; join tokens for new agents.
    #[command(subcommand)]
    Host(hosts::HostCommand),
    /// A project's quota: its limits and usage.
    #[command(subcommand)]
    Quota(quotas::QuotaCommand),
    /// The event log: who did what to which object; follow it as it happens.
    #[command(subcommand)]
    Event(events::EventCommand),
    /// The demo workload: serve it, fetch from it, generate traffic, or build its image offline.
    #[command(subcommand)]
    Workload(WorkloadCommand),
    /// The federation's regions (at the central): list, show, delete; join tokens for new regions.
    #[command(subcommand)]
    Region(regions::RegionCommand),
    /// Background jobs (cross-region work; admins): list, show, redo.
    #[command(subcommand)]
    Job(jobs::JobCommand),
    /// The routing table (at the central): where each id lives; list (admins), show.
    #[command(subcommand)]
    Routing(routings::RoutingCommand),
    /// Run a region server: REST API, store and identity; or migrate, back up or restore its state.
    #[command(args_conflicts_with_subcommands = true)]
    Server(server::ServerArgs),
    /// Run a host agent: join a region and run its containers on the local Docker Engine (or simulate hosts).
    Agent(agent::AgentArgs),
    /// Run an all-in-one region on this machine and log the CLI in as its admin.
    Dev(dev::DevArgs),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_anywhere() {
        let cli = Cli::try_parse_from(["flotilla", "user", "list", "-o", "json", "--url", "http://h:1"]).unwrap();
        assert_eq!(cli.globals.output, Format::Json);
        assert_eq!(cli.globals.url.as_deref(), Some("http://h:1"));
        let err = Cli::try_parse_from(["flotilla", "user", "list", "-o", "xml"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("\"xml\" is not an output format"), "{err}");
        let cli = Cli::try_parse_from(["flotilla", "container", "list", "-q"]).unwrap();
        assert_eq!(cli.globals.format(), Format::Ids);
        let cli = Cli::try_parse_from(["flotilla", "container", "list", "-o", "wide"]).unwrap();
        assert_eq!(cli.globals.format(), Format::Wide);
    }

    #[test]
    fn the_region_is_global_but_the_server_keeps_its_own() {
        let cli = Cli::try_parse_from(["flotilla", "container", "list", "--region", "east"]).unwrap();
        assert_eq!(cli.globals.region.as_deref(), Some("east"));
        let cli = Cli::try_parse_from(["flotilla", "--region", "west", "cluster", "list", "--all-regions"]).unwrap();
        assert_eq!(cli.globals.region.as_deref(), Some("west"));
        let cli = Cli::try_parse_from(["flotilla", "server", "--region", "north"]).unwrap();
        let Command::Server(args) = cli.command else { panic!() };
        assert_eq!(args.region.as_deref(), Some("north"), "the server's own --region names it");
    }
}
