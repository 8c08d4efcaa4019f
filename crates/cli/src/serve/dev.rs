//! `flotilla dev`: an all-in-one region on a laptop. SQLite in a data directory, the admin password
//! kept there, and the CLI logged in as admin, so the next command just works.

use super::logging::{self, LogArgs};
use super::settings::{DEFAULT_LISTEN, DEFAULT_REGION, Settings, sqlite_url};
use super::{server, shutdown};
use crate::{paths, private, session::Session};
use anyhow::{Context, Result};
use clap::Args;
use flotilla_api::TokenCreate;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The admin the server bootstraps.
const ADMIN: &str = "admin";
/// The file in the data directory holding the admin password.
const PASSWORD_FILE: &str = "admin-password";

#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    /// Directory for the region's files [default: $XDG_DATA_HOME/flotilla/dev or ~/.local/share/flotilla/dev].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to serve the API on.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub log: LogArgs,
}

pub async fn run(args: DevArgs) -> Result<()> {
    let data_dir = match args.data_dir {
        Some(dir) => std::path::absolute(&dir).with_context(|| format!("cannot resolve {}", dir.display()))?,
        None => paths::data_dir()?.join("dev"),
    };
    logging::init(&args.log)?;
    let stop = shutdown::on_signal()?;
    let password_file = data_dir.join(PASSWORD_FILE);
    let saved = read_password(&password_file)?;
    let settings = Settings {
        listen: args.listen,
        database: sqlite_url(&data_dir),
        data_dir,
        region: DEFAULT_REGION.to_owned(),
        bootstrap_password: saved.clone(),
        host_grace_period: Duration::from_secs(flotilla_core::host::DEFAULT_GRACE_PERIOD_SECS),
    };
    let server = server::start(&settings).await?;
    let url = server.url();

    let mut lines = Vec::new();
    let password = match (server.bootstrap(), saved) {
        (Some(bootstrap), saved) => {
            if saved.is_none() {
                private::write_file(&password_file, bootstrap.password.as_bytes())?;
            }
            lines.push(format!("bootstrap: created user {ADMIN:?} with role admin on project {ADMIN:?}"));
            lines.push(format!("bootstrap: admin password: {} (saved in {})", bootstrap.password, password_file.display()));
            bootstrap.password.clone()
        }
        (None, Some(saved)) => saved,
        (None, None) => anyhow::bail!(
            "{} is missing, so the CLI cannot log in as admin; remove {} to start over",
            password_file.display(),
            settings.data_dir.display()
        ),
    };
    lines.push(format!("listening on {url}"));
    let mut session = Session::load()?;
    let request = TokenCreate { user: ADMIN.into(), password, project: Some(ADMIN.into()), expires_in: None };
    session.log_in(&url, request).await.context("cannot log the CLI in as admin")?;

    lines.extend([
        String::new(),
        "Flotilla dev region is up. No agent yet: hosts and containers come in a later step.".to_owned(),
        format!("  url:       {url}"),
        format!("  user:      {ADMIN} (role admin on project {ADMIN})"),
        format!("  password:  in {}", password_file.display()),
        format!("  data:      {}", settings.data_dir.display()),
        format!("  CLI:       logged in as {ADMIN} (config {})", session.path.display()),
        String::new(),
        "Try:".to_owned(),
        "  flotilla whoami".to_owned(),
        "  flotilla project create demo".to_owned(),
        "  flotilla user create alice --project demo".to_owned(),
        "  flotilla role assign --user alice --project demo member".to_owned(),
        "  flotilla login --user alice --project demo".to_owned(),
        "  flotilla project list".to_owned(),
        String::new(),
        "Press Ctrl-C to stop.".to_owned(),
    ]);
    server::announce(&lines)?;
    server.run_until(stop).await.context("the server failed")
}

/// The saved admin password, `None` when there is no file yet.
fn read_password(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim().to_owned()).filter(|p| !p.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}
