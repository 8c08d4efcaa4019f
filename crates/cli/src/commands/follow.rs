//! `--wait` on cluster and node commands: following the action a command started until it ends, with
//! its progress (the nodes becoming ACTIVE) on stderr: an indicatif bar on a terminal, a line per
//! change otherwise. Ends with the action's final status; FAILED or CANCELLED fail the command (exit 1),
//! running out of time too (exit 5).

use super::actions::show_action;
use super::wait::WaitArgs;
use crate::failure::CliError;
use crate::output::{self, Format};
use anyhow::{Result, anyhow};
use flotilla_api::{Action, ActionAccepted};
use flotilla_client::{ActionProgress, Client, Waited};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How often the action is looked at.
const POLL: Duration = Duration::from_millis(500);
/// The bar of nodes becoming ACTIVE, then the summary cut to the terminal's width.
const BAR_TEMPLATE: &str = "[{bar:20}] {wide_msg}";
/// An action without nodes: the summary alone.
const LINE_TEMPLATE: &str = "{wide_msg}";

/// Follows action `id` until it ends: answers it when it SUCCEEDED, else fails.
pub async fn action(client: &Client, id: &str, args: &WaitArgs) -> Result<Action> {
    let started = Instant::now();
    let mut view = View::new();
    let waited = client.wait_action(id, POLL, Duration::from_secs(args.wait_timeout), |p| view.show(p)).await;
    view.finish();
    match waited? {
        Waited::Ended(action) if action.status == "SUCCEEDED" => {
            eprintln!("action {} ({}) SUCCEEDED in {:.1} s", action.id, action.action, started.elapsed().as_secs_f64());
            Ok(action)
        }
        Waited::Ended(action) => Err(CliError::ActionFailed {
            id: action.id.to_string(),
            kind: action.action,
            status: action.status,
            reason: action.status_reason,
        }
        .into()),
        Waited::TimedOut(action) => Err(CliError::ActionTimedOut {
            id: action.id.to_string(),
            kind: action.action,
            status: action.status,
            seconds: args.wait_timeout,
        }
        .into()),
    }
}

/// Shows an accepted action: with `--wait` the action once it ended, else its id (and how to follow it).
pub async fn started(client: &Client, format: Format, accepted: &ActionAccepted, args: &WaitArgs) -> Result<()> {
    let id = accepted.action.to_string();
    if args.wait {
        return show_action(format, &action(client, &id, args).await?);
    }
    if format.is_table() {
        return output::done(format, &format!("accepted: action {id} (follow it with `flotilla action wait {id}`)"));
    }
    output::one(format, accepted)
}

/// Shows an accepted delete: with `--wait`, once its action succeeded, that `kind` `key` is gone.
pub async fn deleted(client: &Client, format: Format, kind: &str, key: &str, accepted: &ActionAccepted, args: &WaitArgs) -> Result<()> {
    if !args.wait {
        return started(client, format, accepted, args).await;
    }
    action(client, &accepted.action.to_string(), args).await?;
    output::deleted(format, kind, key)
}

/// With `--wait`, follows the action a create or update answered (from its `Location`).
pub async fn created(client: &Client, action: Option<&str>, args: &WaitArgs) -> Result<()> {
    if args.wait {
        let id = action.ok_or_else(|| anyhow!("the server named no action to wait for"))?;
        self::action(client, id, args).await?;
    }
    Ok(())
}

/// The progress shown on stderr: an indicatif bar on a terminal (indicatif draws nothing when
/// stderr is not one), else a line per change.
struct View {
    bar: ProgressBar,
    /// The last summary shown.
    last: String,
}

impl View {
    fn new() -> Self {
        Self { bar: ProgressBar::new(1), last: String::new() }
    }

    fn show(&mut self, progress: &ActionProgress) {
        let line = summary(progress);
        if self.bar.is_hidden() {
            if line != self.last {
                eprintln!("{line}");
            }
        } else {
            let nodes = !(progress.nodes.is_empty() && progress.cluster.is_none());
            let template = if nodes { BAR_TEMPLATE } else { LINE_TEMPLATE };
            if let Ok(style) = ProgressStyle::with_template(template) {
                self.bar.set_style(style.progress_chars("#-"));
            }
            let (position, length) = fill(progress.count("ACTIVE"), progress.wanted());
            self.bar.set_length(length);
            self.bar.set_position(position);
            self.bar.set_message(line.clone());
        }
        self.last = line;
    }

    /// Leaves the last state drawn on a terminal, on its own line.
    fn finish(&self) {
        if !self.last.is_empty() {
            self.bar.finish();
        }
    }
}

/// One line about the action and its nodes: `CLUSTER_CREATE RUNNING: 2/3 nodes ACTIVE (1 CREATING)`.
fn summary(progress: &ActionProgress) -> String {
    let head = format!("{} {}", progress.action.action, progress.action.status);
    if progress.nodes.is_empty() && progress.cluster.is_none() {
        return head;
    }
    let mut others = BTreeMap::<&str, usize>::new();
    for node in progress.nodes.iter().filter(|n| n.status != "ACTIVE") {
        *others.entry(node.status.as_str()).or_default() += 1;
    }
    let others: Vec<String> = others.iter().map(|(status, n)| format!("{n} {status}")).collect();
    let others = if others.is_empty() { String::new() } else { format!(" ({})", others.join(", ")) };
    let (active, wanted) = (progress.count("ACTIVE"), progress.wanted());
    if active > wanted {
        return format!("{head}: {active} nodes ACTIVE, {wanted} wanted{others}");
    }
    format!("{head}: {active}/{wanted} nodes ACTIVE{others}")
}

/// The bar's position and length for `active` nodes of `wanted`: more than wanted (a scale-in
/// under way) is full, and so is nothing wanted.
fn fill(active: usize, wanted: usize) -> (u64, u64) {
    if wanted == 0 { (1, 1) } else { (active.min(wanted) as u64, wanted as u64) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn progress(desired: Option<i64>, statuses: &[&str]) -> ActionProgress {
        let id = "01927c4e-0000-7000-8000-00000000000a";
        let at = "2026-01-01T00:00:00Z";
        let action = json!({
            "id": id, "name": "a", "action": "CLUSTER_SCALE_OUT", "target": id, "cluster_id": id, "project_id": id, "user_id": id,
            "cause": "RPC Request", "status": "RUNNING", "status_reason": "", "inputs": {}, "outputs": {}, "owner": null,
            "depends_on": [], "depended_by": [], "timeout": 60, "cancel_requested": false, "started_at": null, "ended_at": null,
            "created_at": at, "updated_at": at
        });
        let cluster = desired.map(|desired| {
            serde_json::from_value(json!({
                "id": id, "name": "web", "project_id": id, "user_id": id, "profile_id": id, "desired_capacity": desired, "min_size": 0,
                "max_size": -1, "timeout": 60, "config": {}, "status": "RESIZING", "status_reason": "", "nodes": [], "policies": [],
                "metadata": {}, "created_at": at, "updated_at": at
            }))
            .unwrap()
        });
        let nodes = statuses
            .iter()
            .map(|status| {
                serde_json::from_value(json!({
                    "id": id, "name": "web-1", "project_id": id, "user_id": id, "cluster_id": id, "index": 1, "role": "",
                    "profile_id": id, "status": status, "status_reason": "", "tainted": false, "physical_id": null, "host_id": null,
                    "host_name": null, "region": "r", "metadata": {}, "created_at": at, "updated_at": at
                }))
                .unwrap()
            })
            .collect();
        ActionProgress { action: serde_json::from_value(action).unwrap(), cluster, nodes }
    }

    #[test]
    fn progress_lines_count_the_nodes() {
        let line = summary(&progress(Some(5), &["ACTIVE", "ACTIVE", "ACTIVE", "CREATING", "ERROR"]));
        assert_eq!(line, "CLUSTER_SCALE_OUT RUNNING: 3/5 nodes ACTIVE (1 CREATING, 1 ERROR)");
        assert_eq!(summary(&progress(Some(2), &["ACTIVE", "ACTIVE"])), "CLUSTER_SCALE_OUT RUNNING: 2/2 nodes ACTIVE");
        assert_eq!(summary(&progress(None, &[])), "CLUSTER_SCALE_OUT RUNNING", "no cluster, no nodes: the action alone");
        assert_eq!(summary(&progress(None, &["CREATING"])), "CLUSTER_SCALE_OUT RUNNING: 0/1 nodes ACTIVE (1 CREATING)");
        assert_eq!(
            summary(&progress(Some(1), &["ACTIVE", "ACTIVE", "DELETING"])),
            "CLUSTER_SCALE_OUT RUNNING: 2 nodes ACTIVE, 1 wanted (1 DELETING)"
        );
    }

    #[test]
    fn bars_fill_with_active_nodes() {
        assert_eq!(fill(0, 4), (0, 4));
        assert_eq!(fill(1, 4), (1, 4));
        assert_eq!(fill(9, 4), (4, 4), "more than wanted (a scale in under way) is full");
        assert_eq!(fill(0, 0), (1, 1), "nothing wanted: done");
    }
}
