//! `--wait`: following a container after an operation was accepted, until it reaches the status the
//! operation aims at, goes to ERROR, or time runs out. (Cluster and node actions are followed in `follow`.)

use crate::failure::CliError;
use anyhow::Result;
use clap::Args;
use flotilla_api::Container;
use flotilla_client::Client;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often the container is looked at.
const POLL: Duration = Duration::from_millis(500);

/// `--wait` on containers, and on cluster and node commands (see `follow`).
#[derive(Debug, Clone, Args)]
pub struct WaitArgs {
    /// Wait until it is done: the container got where the command sends it, or the action ended.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub wait_timeout: u64,
}

/// Where an operation sends a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Any of these statuses.
    Status(&'static [&'static str]),
    /// Deleted: no longer found, or DELETED.
    Gone,
}

pub const RUNNING: Goal = Goal::Status(&["RUNNING"]);
pub const CREATED: Goal = Goal::Status(&["CREATED"]);
pub const STOPPED: Goal = Goal::Status(&["STOPPED"]);
pub const PAUSED: Goal = Goal::Status(&["PAUSED"]);

impl Goal {
    /// Where a rebuild ends: as the container is meant to be.
    pub fn rebuilt(container: &Container) -> Goal {
        match container.desired_state.as_str() {
            "running" => RUNNING,
            "paused" => PAUSED,
            _ => Goal::Status(&["CREATED", "STOPPED"]),
        }
    }

    fn describe(self) -> String {
        match self {
            Goal::Status(statuses) => statuses.join(" or "),
            Goal::Gone => "deleted".to_owned(),
        }
    }
}

/// What one look at the container says.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Arrived,
    Failed,
    Underway,
}

/// Judges the container as seen now against the goal; `accepted` is the container as the operation's
/// answer showed it, so that an ERROR left from before the operation does not count as its failure.
fn judge(goal: Goal, accepted: &Container, now: Option<&Container>) -> Seen {
    let Some(now) = now else {
        return if goal == Goal::Gone { Seen::Arrived } else { Seen::Failed };
    };
    match goal {
        Goal::Gone if now.status == "DELETED" => Seen::Arrived,
        Goal::Status(statuses) if statuses.contains(&now.status.as_str()) => Seen::Arrived,
        _ if now.status == "ERROR" && !(accepted.status == "ERROR" && accepted.updated_at == now.updated_at) => Seen::Failed,
        _ => Seen::Underway,
    }
}

/// Polls the container until it reaches `goal`; answers it as last seen (`None` once gone). When
/// stderr is a terminal, each status change is shown there.
pub async fn until(client: &Client, accepted: &Container, goal: Goal, args: &WaitArgs) -> Result<Option<Container>> {
    let deadline = Instant::now() + Duration::from_secs(args.wait_timeout);
    let key = accepted.id.to_string();
    let show = std::io::stderr().is_terminal();
    let mut last_status = String::new();
    loop {
        let now = match client.container(&key).await {
            Ok(container) => Some(container),
            Err(err) if err.status() == Some(404) => None,
            Err(err) => return Err(err.into()),
        };
        let status = now.as_ref().map_or("gone", |c| c.status.as_str()).to_owned();
        if show && status != last_status {
            eprintln!("{}: {status}", accepted.name);
        }
        match judge(goal, accepted, now.as_ref()) {
            Seen::Arrived => return Ok(now),
            Seen::Failed => return Err(failure(&accepted.name, now.as_ref()).into()),
            Seen::Underway if Instant::now() >= deadline => {
                let container = accepted.name.clone();
                return Err(CliError::WaitTimedOut { container, status, wanted: goal.describe(), seconds: args.wait_timeout }.into());
            }
            Seen::Underway => tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await,
        }
        last_status = status;
    }
}

/// The failure of container `name`, now in ERROR (or gone, when `None`).
pub fn failure(name: &str, now: Option<&Container>) -> CliError {
    let reason = match now {
        None => "it was deleted".to_owned(),
        Some(c) if c.status_reason.is_empty() => format!("status {}", c.status),
        Some(c) => format!("{} (status {})", c.status_reason, c.status),
    };
    CliError::ContainerFailed { container: name.to_owned(), reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(status: &str, updated_second: u32) -> Container {
        let at = format!("2026-01-01T00:00:{updated_second:02}Z");
        serde_json::from_value(serde_json::json!({
            "id": "01927c4e-0000-7000-8000-000000000001", "name": "web", "project_id": "01927c4e-0000-7000-8000-000000000002",
            "user_id": "01927c4e-0000-7000-8000-000000000003", "spec": {"image": "busybox"}, "host": null, "host_id": null,
            "status": status, "status_reason": "boom", "desired_state": "running", "generation": 1, "runtime_id": null,
            "exit_code": null, "ports": [], "metadata": {}, "created_at": at, "updated_at": at
        }))
        .unwrap()
    }

    #[test]
    fn statuses_are_judged_against_the_goal() {
        let accepted = container("CREATING", 0);
        assert_eq!(judge(RUNNING, &accepted, Some(&container("CREATING", 1))), Seen::Underway);
        assert_eq!(judge(RUNNING, &accepted, Some(&container("RUNNING", 2))), Seen::Arrived);
        assert_eq!(judge(RUNNING, &accepted, Some(&container("ERROR", 2))), Seen::Failed);
        assert_eq!(judge(RUNNING, &accepted, None), Seen::Failed, "deleted under our feet");
        assert_eq!(judge(STOPPED, &accepted, Some(&container("RUNNING", 2))), Seen::Underway);
        assert_eq!(judge(Goal::Gone, &accepted, Some(&container("DELETING", 2))), Seen::Underway);
        assert_eq!(judge(Goal::Gone, &accepted, Some(&container("DELETED", 2))), Seen::Arrived);
        assert_eq!(judge(Goal::Gone, &accepted, None), Seen::Arrived);
    }

    #[test]
    fn an_error_from_before_the_operation_is_not_its_failure() {
        let accepted = container("ERROR", 5);
        assert_eq!(judge(RUNNING, &accepted, Some(&container("ERROR", 5))), Seen::Underway, "not looked at yet");
        assert_eq!(judge(RUNNING, &accepted, Some(&container("ERROR", 9))), Seen::Failed, "failed again");
        assert_eq!(judge(RUNNING, &accepted, Some(&container("RUNNING", 9))), Seen::Arrived);
    }

    #[test]
    fn failures_give_the_reason() {
        let failed = container("ERROR", 1);
        assert_eq!(failure("web", Some(&failed)).to_string(), "container web failed: boom (status ERROR)");
        assert_eq!(failure("web", None).to_string(), "container web failed: it was deleted");
    }

    #[test]
    fn rebuilds_end_as_the_container_is_meant_to_be() {
        let mut running = container("RUNNING", 0);
        assert_eq!(Goal::rebuilt(&running), RUNNING);
        running.desired_state = "stopped".into();
        assert_eq!(Goal::rebuilt(&running).describe(), "CREATED or STOPPED");
        assert_eq!(Goal::Gone.describe(), "deleted");
    }
}
