//! `flotilla dashboard`: opens the region's web dashboard already signed in, through a one-time
//! link the server makes for the saved token (used once, within a minute).

use crate::target::Target;
use anyhow::{Context, Result};
use clap::Args;
use std::process::{Command, Stdio};

#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Print the one-time sign-in link instead of opening a browser.
    #[arg(long)]
    pub show_url: bool,
}

pub async fn run(client: &Target, args: DashboardArgs) -> Result<()> {
    let link = client.create_dashboard_link().await?;
    let url = client.base_url().join(&link.path).with_context(|| format!("cannot make a URL of {}", link.path))?;
    let expires = link.expires_at.format("%H:%M:%S UTC");
    if !args.show_url && open(url.as_str()) {
        eprintln!("Opened the dashboard in your browser (the sign-in link works once, until {expires}).");
        return Ok(());
    }
    if !args.show_url {
        eprintln!("No xdg-open here: open this link in a browser (it works once, until {expires}):");
    }
    println!("{url}");
    Ok(())
}

/// Opens `url` with `xdg-open` when there is one; `false` when it is missing or fails.
fn open(url: &str) -> bool {
    Command::new("xdg-open")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
