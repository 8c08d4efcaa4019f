//! `flotilla server migrate [--check]`: applies the database's pending schema migrations and exits,
//! or (`--check`) lists them and fails while there are any.

use super::server::announce;
use super::settings::{Location, sqlite_file};
use crate::private;
use anyhow::Result;
use clap::Args;
use flotilla_store::{Migration, Store};

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// Apply nothing: list the pending migrations and exit 1 while there are any (0 when current).
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub location: Location,
}

/// Why `migrate --check` fails.
#[derive(Debug, thiserror::Error)]
pub enum CheckFailed {
    #[error("{0} migration(s) pending: `flotilla server migrate` applies them")]
    Pending(usize),
    #[error("no database at {0}: nothing is applied yet; `flotilla server migrate` makes it")]
    NoDatabase(std::path::PathBuf),
}

fn line(verb: &str, migration: &Migration) -> String {
    format!("{verb} {:04} {}", migration.version, migration.description)
}

pub async fn run(args: MigrateArgs) -> Result<()> {
    let (data_dir, database) = args.location.locate()?;
    match sqlite_file(&database) {
        Some(file) if args.check && !file.exists() => return Err(CheckFailed::NoDatabase(file).into()),
        Some(_) if !args.check => private::create_dir(&data_dir)?,
        _ => {}
    }
    // A check opens an existing database only: it makes no file.
    let store = Store::open(&database, !args.check).await?;
    let result = if args.check { store.pending_migrations().await } else { store.migrate().await };
    store.close().await;
    let migrations = result?;
    let verb = if args.check { "pending" } else { "applied" };
    let mut lines: Vec<String> = migrations.iter().map(|m| line(verb, m)).collect();
    if args.check && !migrations.is_empty() {
        announce(&lines)?;
        return Err(CheckFailed::Pending(migrations.len()).into());
    }
    lines.push("the schema is current".to_owned());
    announce(&lines)
}
