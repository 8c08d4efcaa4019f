//! A federation for the benchmarks: servers on loopback addresses known before they start (a
//! region must know its own URL), and the wait until regions honour the central's token.

use super::Sandbox;
use anyhow::{Context, Result, bail};
use flotilla_api::ListQuery;
use flotilla_client::Client;
use std::time::{Duration, Instant};

/// The URL a server printed on its ready line.
pub fn url_of(ready: &str) -> Result<String> {
    ready.split("listening on ").nth(1).map(|u| u.trim().to_owned()).context("no URL on the server's ready line")
}

/// `flotilla server` on a loopback address free now (a region must know its own URL before it starts).
pub fn server(sandbox: &Sandbox, name: &'static str, extra: &[&str]) -> Result<(super::Role, String)> {
    let data = sandbox.path(&format!("{name}-data"));
    let listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.to_string();
    let mut args = vec!["server", "--listen", &listen, "--data-dir", data.to_str().context("a UTF-8 path")?];
    args.extend(extra);
    let (role, ready) = sandbox.spawn(name, &args, "listening on ")?;
    Ok((role, url_of(&ready)?))
}

/// Waits until every region is registered: each honours the central's token.
pub async fn wait_registered(regions: &[Client]) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    for region in regions {
        while let Err(e) = region.list_networks(&ListQuery::default()).await {
            if Instant::now() > deadline {
                bail!("a region did not register within 60 s: {e}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}
