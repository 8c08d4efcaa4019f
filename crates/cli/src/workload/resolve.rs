//! `flotilla workload resolve NAME`: the IPv4 addresses the system's resolver gives for a name,
//! one a line, sorted (inside a container: through the DNS servers its engine set); exit 1 when
//! it gives none in time. A client inside containers, to check what their names answer.

use anyhow::{Context, Result, bail};
use clap::Args;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The name to look up.
    pub name: String,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout: u64,
}

/// The IPv4 addresses `name` resolves to, each once, sorted.
async fn addresses(name: &str) -> Result<BTreeSet<Ipv4Addr>> {
    let found = tokio::net::lookup_host((name, 0)).await.with_context(|| format!("cannot resolve {name}"))?;
    Ok(found
        .filter_map(|a| match a.ip() {
            IpAddr::V4(ip) => Some(ip),
            IpAddr::V6(_) => None,
        })
        .collect())
}

pub async fn run(args: ResolveArgs) -> Result<()> {
    let found = tokio::time::timeout(Duration::from_secs(args.timeout), addresses(&args.name))
        .await
        .with_context(|| format!("{}: no answer in {} s", args.name, args.timeout))??;
    if found.is_empty() {
        bail!("{} has no IPv4 address", args.name);
    }
    for ip in found {
        println!("{ip}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_name_gives_its_ipv4_addresses_once_each() {
        assert_eq!(addresses("127.0.0.1").await.unwrap().into_iter().collect::<Vec<_>>(), [Ipv4Addr::LOCALHOST]);
        assert!(addresses("::1").await.unwrap().is_empty(), "IPv6 addresses are left out");
    }
}
