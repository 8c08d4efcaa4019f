//! Listing, adding and deleting Flotilla's rules with the `iptables` command (`-w`: it waits for
//! the xtables lock other programs, Docker included, hold).

use super::plan::Rule;
use tokio::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error("cannot run {command}: {source}")]
    Spawn { command: String, source: std::io::Error },
    #[error("{command} failed ({status}): {stderr}")]
    Failed { command: String, status: std::process::ExitStatus, stderr: String },
    #[error("cannot turn IP forwarding on: {0}")]
    Forwarding(std::io::Error),
}

async fn run(args: &[&str]) -> Result<String, RoutingError> {
    let command = format!("iptables {}", args.join(" "));
    let output =
        Command::new("iptables").args(args).output().await.map_err(|source| RoutingError::Spawn { command: command.clone(), source })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        return Err(RoutingError::Failed { command, status: output.status, stderr });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `iptables -t TABLE -S CHAIN`.
pub async fn list(table: &str, chain: &str) -> Result<String, RoutingError> {
    run(&["-w", "-t", table, "-S", chain]).await
}

/// Inserts `rule` first in its chain: before Docker's `RETURN` (DOCKER-USER) and `MASQUERADE`
/// (POSTROUTING).
pub async fn insert(rule: &Rule) -> Result<(), RoutingError> {
    let mut args = vec!["-w", "-t", rule.table, "-I", rule.chain, "1"];
    args.extend(rule.spec.iter().map(String::as_str));
    run(&args).await.map(drop)
}

pub async fn delete(rule: &Rule) -> Result<(), RoutingError> {
    let mut args = vec!["-w", "-t", rule.table, "-D", rule.chain];
    args.extend(rule.spec.iter().map(String::as_str));
    run(&args).await.map(drop)
}
