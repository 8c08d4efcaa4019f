//! `flotilla server`: a region's control plane, run in the foreground until SIGINT or SIGTERM.

use super::settings::Settings;
use super::{backup, logging, migrate, shutdown};
use crate::{paths, private};
use anyhow::{Context, Result};
use clap::Subcommand;
use flotilla_server::{Server, ServerConfig};
use flotilla_tls::Identity;
use std::io::Write;

pub use super::settings::ServerArgs;

/// What `flotilla server` does instead of serving: the operator's maintenance of its state.
#[derive(Debug, Clone, Subcommand)]
pub enum ServerCommand {
    /// Apply the database's pending schema migrations and exit (`--check`: only list them).
    Migrate(migrate::MigrateArgs),
    /// Write the region's database (an online copy) and its files (image archives...) into one tar file.
    Backup(backup::BackupArgs),
    /// Put a backup's database and files back into a data dir (an empty one unless --force).
    Restore(backup::RestoreArgs),
}

pub async fn run(mut args: ServerArgs) -> Result<()> {
    match args.command.take().map(|command| *command) {
        Some(ServerCommand::Migrate(args)) => return migrate::run(args).await,
        Some(ServerCommand::Backup(args)) => return backup::backup(args).await,
        Some(ServerCommand::Restore(args)) => return backup::restore(args),
        None => {}
    }
    let file = args.location.file()?;
    logging::init(args.log.format_or(file.log_format))?;
    let settings = Settings::merge(&args, file, paths::data_dir)?;
    let stop = shutdown::on_signal()?;
    let server = start(&settings).await?;
    let mut lines = Vec::new();
    if let Some(bootstrap) = server.bootstrap() {
        lines.push(format!("bootstrap: created user {:?} with role admin on project {:?}", bootstrap.user, bootstrap.project));
        if bootstrap.password_generated {
            lines.push(format!("bootstrap: {} password: {} (shown once)", bootstrap.user, bootstrap.password));
        }
    }
    lines.push(format!("listening on {}", server.url()));
    announce(&lines)?;
    server.run_until(stop).await.context("the server failed")
}

/// Creates the data directory (0700) and starts a server on `settings`.
pub async fn start(settings: &Settings) -> Result<Server> {
    private::create_dir(&settings.data_dir)?;
    let config = ServerConfig {
        region: settings.region.clone(),
        bootstrap_password: settings.bootstrap_password.clone(),
        grace_period: settings.host_grace_period,
        network_pool: settings.network_pool,
        header_read_timeout: settings.header_read_timeout,
        body_read_timeout: settings.body_read_timeout,
        retention: settings.retention,
        engine: flotilla_engine::EngineConfig { max_nodes_per_cluster: settings.max_nodes_per_cluster, ..Default::default() },
        tls: settings.tls.clone(),
        callback_identity: settings.callback.as_ref().map(|files| Identity::from_files(&files.cert, &files.key)).transpose()?,
        role: settings.role.clone(),
        ..ServerConfig::new(settings.listen, settings.database.clone(), settings.data_dir.clone())
    };
    Server::start(config).await.context("cannot start the server")
}

/// Prints `lines` on stdout (not through the logs: people and scripts read them) and flushes.
pub fn announce(lines: &[String]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}").context("cannot write to stdout")?;
    }
    out.flush().context("cannot write to stdout")
}
