//! Runs the command the user typed: the CLI commands here, the process roles in `serve`.

pub mod actions;
pub mod apply;
pub mod auth;
pub mod clusters;
pub mod common;
pub mod container_spec;
pub mod containers;
pub mod contexts;
pub mod copy;
pub mod dashboard;
pub mod events;
pub mod follow;
pub mod hosts;
pub mod images;
pub mod interactive_exec;
pub mod jobs;
pub mod networks;
pub mod nodes;
pub mod plans;
pub mod policies;
pub mod ports;
pub mod profiles;
pub mod projects;
pub mod quotas;
pub mod receivers;
pub mod regions;
pub mod roles;
pub mod routers;
pub mod routings;
pub mod subnets;
pub mod users;
pub mod volumes;
pub mod wait;

use crate::cli::{Cli, Command};
use crate::failure::token_rejected;
use crate::serve::{agent, dev, server};
use crate::session::Session;
use crate::workload;
use anyhow::Result;

pub async fn run(cli: Cli) -> Result<()> {
    let Cli { globals, command } = cli;
    let format = globals.format();
    let central = || Session::load(&globals)?.client(&globals);
    let target = async || Session::load(&globals)?.target(&globals).await;
    let done = match command {
        Command::Login(args) => return auth::login(&globals, args).await,
        Command::Logout => return auth::logout(&globals).await,
        Command::Server(args) => return server::run(args).await,
        Command::Agent(args) => return agent::run(args).await,
        Command::Dev(args) => return dev::run(args).await,
        Command::Workload(cmd) => return workload::run(cmd).await,
        Command::Whoami => auth::whoami(&globals).await,
        Command::Context(cmd) => contexts::run(&globals, cmd),
        Command::Completion(args) => return crate::completion::script(&args),
        Command::Man(args) => return crate::completion::man_pages(&args),
        Command::Dashboard(args) => dashboard::run(&target().await?, args).await,
        Command::User(cmd) => users::run(&central()?, format, cmd).await,
        Command::Project(cmd) => projects::run(&central()?, format, cmd).await,
        Command::Role(cmd) => roles::run(&central()?, format, cmd).await,
        Command::Region(cmd) => regions::run(&globals, cmd).await,
        Command::Profile(cmd) => profiles::run(&target().await?, format, cmd).await,
        Command::Container(cmd) => containers::run(&target().await?, format, cmd).await,
        Command::Image(cmd) => images::run(&target().await?, format, cmd).await,
        Command::Network(cmd) => networks::run(&target().await?, format, cmd).await,
        Command::Subnet(cmd) => subnets::run(&target().await?, format, cmd).await,
        Command::Port(cmd) => ports::run(&target().await?, format, cmd).await,
        Command::Volume(cmd) => volumes::run(&target().await?, format, cmd).await,
        Command::Router(cmd) => routers::run(&target().await?, format, cmd).await,
        Command::Host(cmd) => hosts::run(&target().await?, format, cmd).await,
        Command::Event(cmd) => events::run(&target().await?, format, cmd).await,
        Command::Quota(cmd) => quotas::run(&target().await?, format, cmd).await,
        Command::Cluster(cmd) => clusters::run(&target().await?, format, cmd).await,
        Command::Node(cmd) => nodes::run(&target().await?, format, cmd).await,
        Command::Policy(cmd) => policies::run(&target().await?, format, cmd).await,
        Command::Receiver(cmd) => receivers::run(target, |url| Session::load(&globals)?.anonymous(url, &globals), format, cmd).await,
        Command::Action(cmd) => actions::run(&target().await?, format, cmd).await,
        Command::Apply(args) => apply::run(&target().await?, format, args).await,
        Command::Job(cmd) => jobs::run(&central()?, format, cmd).await,
        Command::Routing(cmd) => routings::run(&central()?, format, cmd).await,
    };
    done.map_err(token_rejected)
}
