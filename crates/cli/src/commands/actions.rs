//! `flotilla action ...`: the asynchronous operations on clusters and nodes: list, show (with what
//! each depends on), cancel, and wait for one to end.

use super::common::ListArgs;
use super::follow;
use super::wait::WaitArgs;
use crate::output::{self, Format, Row};
use crate::target::{Spread, Target};
use anyhow::{Context, Result};
use clap::Subcommand;
use flotilla_api::{Action, ActionFilter, ActionList};
use serde_json::Value;

#[derive(Debug, Subcommand)]
pub enum ActionCommand {
    /// List actions, oldest first.
    List {
        /// Only the actions of this cluster (name or id) and of its nodes.
        #[arg(long)]
        cluster: Option<String>,
        /// Only actions in this status: INIT, WAITING, READY, RUNNING, SUCCEEDED, FAILED or CANCELLED.
        #[arg(long)]
        status: Option<String>,
        /// Only actions of this kind, e.g. CLUSTER_SCALE_OUT or NODE_CREATE.
        #[arg(long, value_name = "KIND")]
        action: Option<String>,
        /// Only actions on this cluster or node (an id).
        #[arg(long, value_name = "ID")]
        target: Option<String>,
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        spread: Spread,
    },
    /// Show an action: its inputs, outputs, what it depends on and what depends on it.
    Show {
        /// Id of the action.
        action: String,
    },
    /// Ask a running action to stop; it ends CANCELLED.
    Cancel {
        /// Id of the action.
        action: String,
    },
    /// Wait for an action to end, showing the progress of its nodes; fails unless it SUCCEEDED.
    Wait {
        /// Id of the action.
        action: String,
        /// How long to wait, in seconds (exit code 5 when it runs out).
        #[arg(long, value_name = "SECONDS", default_value_t = 300)]
        wait_timeout: u64,
    },
}

pub async fn run(client: &Target, format: Format, command: ActionCommand) -> Result<()> {
    match command {
        ActionCommand::List { cluster, status, action, target, list, spread } => {
            let target = target.map(|t| serde_json::from_value(Value::String(t))).transpose().context("--target: expected an action id")?;
            let filter =
                ActionFilter { status: status.map(|s| s.to_uppercase()), action: action.map(|a| a.to_uppercase()), cluster, target };
            client.list(format, &spread, async |c| c.list_actions(&list.query(), &filter).await).await
        }
        ActionCommand::Show { action } => show_action(format, &client.action(&action).await?),
        ActionCommand::Cancel { action } => show_action(format, &client.cancel_action(&action).await?),
        ActionCommand::Wait { action, wait_timeout } => {
            let action = follow::action(client, &action, &WaitArgs { wait: true, wait_timeout }).await?;
            show_action(format, &action)
        }
    }
}

/// Prints an action; in a table, what it depends on and what depends on it one id per line.
pub fn show_action(format: Format, action: &Action) -> Result<()> {
    if !format.is_table() {
        return output::one(format, action);
    }
    let mut value = serde_json::to_value(action).context("cannot render the action")?;
    for field in ["depends_on", "depended_by"] {
        if let Some(Value::Array(ids)) = value.get(field) {
            let lines: Vec<String> = ids.iter().map(output::cell).collect();
            value[field] = Value::String(lines.join("\n"));
        }
    }
    output::one(format, &value)
}

impl Row for Action {
    const HEADERS: &'static [&'static str] = &["ID", "ACTION", "NAME", "STATUS", "REASON", "CAUSE", "CREATED"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.action.clone(),
            self.name.clone(),
            self.status.clone(),
            self.status_reason.clone(),
            self.cause.clone(),
            output::when(&self.created_at),
        ]
    }
}

output::listing!(ActionList, actions, Action);
