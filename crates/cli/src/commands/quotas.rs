//! `flotilla quota ...`: show a project's limits and usage, and set its limits (admin).

use crate::output::{self, Format};
use crate::target::Target;
use anyhow::{Result, bail};
use clap::Subcommand;
use flotilla_api::{Quota, QuotaLimits};

#[derive(Debug, Subcommand)]
pub enum QuotaCommand {
    /// Show a project's limits and what it uses.
    Show {
        /// Name or id of the project (default: the one logged in to).
        project: Option<String>,
    },
    /// Set a project's limits (admin); limits not given keep their value.
    Set {
        /// Name or id of the project.
        project: String,
        /// Containers, or "unlimited".
        #[arg(long, value_name = "N", value_parser = parse_limit)]
        containers: Option<i64>,
        /// CPU in thousandths of a core, or "unlimited".
        #[arg(long, value_name = "N", value_parser = parse_limit)]
        cpu_millis: Option<i64>,
        /// Memory in MiB, or "unlimited".
        #[arg(long, value_name = "N", value_parser = parse_limit)]
        memory_mib: Option<i64>,
        /// Bytes of uploaded images, or "unlimited".
        #[arg(long, value_name = "N", value_parser = parse_limit)]
        image_bytes: Option<i64>,
        /// Networks, or "unlimited".
        #[arg(long, value_name = "N", value_parser = parse_limit)]
        networks: Option<i64>,
        /// Ports (addresses, containers' included), or "unlimited".
        #[arg(long, value_name = "N", value_parser = parse_limit)]
        ports: Option<i64>,
    },
}

pub async fn run(client: &Target, format: Format, command: QuotaCommand) -> Result<()> {
    let quota = match command {
        QuotaCommand::Show { project } => {
            let project = match project {
                Some(project) => project,
                None => client.current_token().await?.project.name,
            };
            client.quota(&project).await?
        }
        QuotaCommand::Set { project, containers, cpu_millis, memory_mib, image_bytes, networks, ports } => {
            let old = client.quota(&project).await?.limits;
            let limits = QuotaLimits {
                containers: containers.unwrap_or(old.containers),
                cpu_millis: cpu_millis.unwrap_or(old.cpu_millis),
                memory_mib: memory_mib.unwrap_or(old.memory_mib),
                image_bytes: image_bytes.unwrap_or(old.image_bytes),
                networks: networks.unwrap_or(old.networks),
                ports: ports.unwrap_or(old.ports),
            };
            client.set_quota(&project, &limits).await?
        }
    };
    output::grid(format, &quota, &["RESOURCE", "USED", "LIMIT"], rows(&quota))
}

fn rows(quota: &Quota) -> Vec<Vec<String>> {
    let (limits, usage) = (quota.limits, quota.usage);
    let limit = |n: i64| if n < 0 { "unlimited".to_owned() } else { n.to_string() };
    [
        ("containers", usage.containers, limits.containers),
        ("cpu_millis", usage.cpu_millis, limits.cpu_millis),
        ("memory_mib", usage.memory_mib, limits.memory_mib),
        ("image_bytes", usage.image_bytes, limits.image_bytes),
        ("networks", usage.networks, limits.networks),
        ("ports", usage.ports, limits.ports),
    ]
    .into_iter()
    .map(|(resource, used, max)| vec![resource.to_owned(), used.to_string(), limit(max)])
    .collect()
}

/// A limit: a count of 0 or more, or `unlimited` (also `-1`).
fn parse_limit(text: &str) -> Result<i64> {
    match text {
        "unlimited" | "-1" => Ok(-1),
        _ => match text.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(n),
            _ => bail!("expected a number of 0 or more, or \"unlimited\""),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_api::QuotaUsage;

    #[test]
    fn limits_are_counts_or_unlimited() {
        assert_eq!(parse_limit("10").unwrap(), 10);
        assert_eq!(parse_limit("0").unwrap(), 0);
        assert_eq!(parse_limit("unlimited").unwrap(), -1);
        assert_eq!(parse_limit("-1").unwrap(), -1);
        for bad in ["-2", "ten", "", "1.5"] {
            assert!(parse_limit(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn quotas_show_usage_against_limits() {
        let quota = Quota {
            project_id: Default::default(),
            limits: QuotaLimits { containers: 10, cpu_millis: -1, memory_mib: 4096, image_bytes: -1, networks: 100, ports: 10_000 },
            usage: QuotaUsage { containers: 2, cpu_millis: 1500, memory_mib: 256, image_bytes: 0, networks: 1, ports: 2 },
        };
        let rows = rows(&quota);
        assert_eq!(rows[0], ["containers", "2", "10"]);
        assert_eq!(rows[1], ["cpu_millis", "1500", "unlimited"]);
        assert_eq!(rows[2], ["memory_mib", "256", "4096"]);
        assert_eq!(rows[4], ["networks", "1", "100"]);
        assert_eq!(rows[5], ["ports", "2", "10000"]);
    }
}
