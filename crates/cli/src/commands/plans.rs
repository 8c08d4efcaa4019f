//! `--dry-run` of `container run|create`, `cluster create` and `cluster resize`: the server's
//! plan (each new container's host and addresses, or why nothing fits) as a table, or as JSON/YAML.

use crate::output::{self, Format};
use anyhow::Result;
use clap::Args;
use flotilla_api::Plan;

/// `--dry-run`: ask the server for its plan and change nothing.
#[derive(Debug, Clone, Copy, Args)]
pub struct DryRunArgs {
    /// Show where the scheduler would put each new container (or why nothing fits); change nothing.
    #[arg(long, conflicts_with = "wait")]
    pub dry_run: bool,
}

/// Prints `plan`: a row per new container, then how many nodes would go.
pub fn shown(format: Format, plan: &Plan) -> Result<()> {
    let rows = plan
        .placements
        .iter()
        .map(|p| {
            let ips: Vec<String> = p.addresses.iter().map(|a| format!("{}={}", a.network, a.ip_address)).collect();
            vec![
                p.name.clone(),
                p.host.clone().unwrap_or_else(|| "-".to_owned()),
                p.host_address.clone().unwrap_or_default(),
                ips.join(", "),
                p.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    output::grid(format, plan, &["NAME", "HOST", "HOST ADDRESS", "ADDRESSES", "REASON"], rows)?;
    if plan.removals > 0 {
        output::done(format, &format!("would remove {} node(s), chosen by the cluster's deletion policy", plan.removals))?;
    }
    output::done(format, "dry run: nothing was changed")
}
