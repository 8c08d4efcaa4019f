//! Action endpoints: list, show, cancel, and following an action until it ends (with the progress of
//! the nodes it works on).

use crate::{Call, Client, ClientError};
use flotilla_api::{Action, ActionFilter, ActionList, Cluster, ListQuery, Node, NodeFilter};
use flotilla_core::action::ActionStatus;
use std::time::{Duration, Instant};

/// What [`Client::wait_action`] saw after each look: the action, and the cluster and nodes it works on.
#[derive(Debug, Clone)]
pub struct ActionProgress {
    pub action: Action,
    /// The action's cluster as it is now; `None` for an orphan node's action, or once the cluster is gone.
    pub cluster: Option<Cluster>,
    /// The cluster's members (or, for an orphan node's action, that node), as they are now.
    pub nodes: Vec<Node>,
}

impl ActionProgress {
    /// Whether the action ended: SUCCEEDED, FAILED or CANCELLED.
    pub fn ended(&self) -> bool {
        ended(&self.action)
    }

    /// How many of the nodes are in `status`.
    pub fn count(&self, status: &str) -> usize {
        self.nodes.iter().filter(|n| n.status == status).count()
    }

    /// How many nodes the action aims at: the cluster's desired capacity, else the nodes there are.
    pub fn wanted(&self) -> usize {
        match &self.cluster {
            Some(cluster) => usize::try_from(cluster.desired_capacity).unwrap_or(0),
            None => self.nodes.len(),
        }
    }
}

/// How [`Client::wait_action`] stopped.
#[derive(Debug, Clone)]
pub enum Waited {
    /// The action ended (look at its status: SUCCEEDED, FAILED or CANCELLED).
    Ended(Action),
    /// Time ran out first; the action as last seen goes on.
    TimedOut(Action),
}

/// Whether `action` is over.
fn ended(action: &Action) -> bool {
    ActionStatus::parse(&action.status).is_some_and(ActionStatus::is_final)
}

impl Client {
    /// Actions, newest last; `filter.cluster` gives a cluster's actions and its nodes'.
    pub async fn list_actions(&self, query: &ListQuery, filter: &ActionFilter) -> Result<ActionList, ClientError> {
        self.send(Call::list(&["actions"], query, filter)).await
    }

    /// An action by id, with what it depends on and what depends on it.
    pub async fn action(&self, id: &str) -> Result<Action, ClientError> {
        self.send(Call::get(&["actions", id])).await
    }

    /// Asks a running action to stop: it ends CANCELLED at its next check.
    pub async fn cancel_action(&self, id: &str) -> Result<Action, ClientError> {
        self.send(Call::action(&["actions", id, "cancel"])).await
    }

    /// Polls action `id` every `poll` until it ends or `timeout` passes, calling `on_progress` after
    /// each look with the action and the nodes it works on (so a caller can show them becoming ACTIVE).
    pub async fn wait_action(
        &self,
        id: &str,
        poll: Duration,
        timeout: Duration,
        mut on_progress: impl FnMut(&ActionProgress),
    ) -> Result<Waited, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            let progress = self.action_progress(id).await?;
            on_progress(&progress);
            if progress.ended() {
                return Ok(Waited::Ended(progress.action));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Waited::TimedOut(progress.action));
            }
            tokio::time::sleep(poll.min(left)).await;
        }
    }

    /// One look at an action, its cluster and its nodes.
    pub async fn action_progress(&self, id: &str) -> Result<ActionProgress, ClientError> {
        let action = self.action(id).await?;
        let (cluster, nodes) = match action.cluster_id.map(|c| c.to_string()) {
            Some(cluster_id) => {
                let cluster = gone_is_none(self.cluster(&cluster_id).await)?;
                let filter = NodeFilter { cluster: Some(cluster_id.clone()), status: None };
                let nodes = match cluster {
                    Some(_) => match self.all_nodes(&filter).await {
                        Ok(nodes) => nodes,
                        // Deleted between the two looks: its filter names no cluster any more.
                        Err(err) if err.status() == Some(400) && gone_is_none(self.cluster(&cluster_id).await)?.is_none() => Vec::new(),
                        Err(err) => return Err(err),
                    },
                    None => Vec::new(),
                };
                (cluster, nodes)
            }
            None if action.action.starts_with("NODE_") => {
                (None, gone_is_none(self.node(&action.target.to_string()).await)?.into_iter().collect())
            }
            None => (None, Vec::new()),
        };
        Ok(ActionProgress { action, cluster, nodes })
    }
}

/// A 404 as `None`: the object went away (a delete action removes what it works on).
fn gone_is_none<T>(answer: Result<T, ClientError>) -> Result<Option<T>, ClientError> {
    match answer {
        Ok(found) => Ok(Some(found)),
        Err(err) if err.status() == Some(404) => Ok(None),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_server::{json_reply, serve};
    use serde_json::json;
    use std::sync::{Arc, Mutex};

    const ACTION: &str = "01927c4e-0000-7000-8000-00000000000a";
    const CLUSTER: &str = "01927c4e-0000-7000-8000-00000000000c";

    fn action(status: &str) -> String {
        json!({
            "id": ACTION, "name": "cluster_create_web", "action": "CLUSTER_CREATE", "target": CLUSTER, "cluster_id": CLUSTER,
            "project_id": CLUSTER, "user_id": CLUSTER, "cause": "RPC Request", "status": status, "status_reason": "",
            "inputs": {}, "outputs": {}, "owner": null, "depends_on": [], "depended_by": [], "timeout": 3600,
            "cancel_requested": false, "started_at": null, "ended_at": null,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
        })
        .to_string()
    }

    fn cluster(desired: i64) -> String {
        json!({
            "id": CLUSTER, "name": "web", "project_id": CLUSTER, "user_id": CLUSTER, "profile_id": CLUSTER,
            "desired_capacity": desired, "min_size": 0, "max_size": -1, "timeout": 3600, "config": {}, "status": "CREATING",
            "status_reason": "", "nodes": [], "policies": [], "metadata": {},
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
        })
        .to_string()
    }

    fn nodes(statuses: &[&str]) -> String {
        let nodes: Vec<_> = statuses
            .iter()
            .enumerate()
            .map(|(i, status)| {
                json!({
                    "id": format!("01927c4e-0000-7000-8000-00000000010{i}"), "name": format!("web-{i}"), "project_id": CLUSTER,
                    "user_id": CLUSTER, "cluster_id": CLUSTER, "index": i, "role": "", "profile_id": CLUSTER, "status": status,
                    "status_reason": "", "tainted": false, "physical_id": null, "host_id": null, "host_name": null, "region": "r1",
                    "metadata": {}, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
                })
            })
            .collect();
        json!({"nodes": nodes, "next": null}).to_string()
    }

    #[tokio::test]
    async fn waiting_reports_the_nodes_until_the_action_ends() {
        // Two looks: the action running with one of two nodes ACTIVE, then done with both.
        let looks = Arc::new(Mutex::new(0));
        let counter = looks.clone();
        let (url, server) = serve(6, move |line| {
            let path = line.split_whitespace().nth(1).unwrap().to_owned();
            let mut looks = counter.lock().unwrap();
            if path.starts_with("/v1/actions/") {
                *looks += 1;
            }
            let done = *looks > 1;
            let body = match path.as_str() {
                p if p.starts_with("/v1/actions/") => action(if done { "SUCCEEDED" } else { "RUNNING" }),
                p if p.starts_with("/v1/clusters/") => cluster(2),
                _ if done => nodes(&["ACTIVE", "ACTIVE"]),
                _ => nodes(&["ACTIVE", "CREATING"]),
            };
            json_reply("200 OK", &body)
        });
        let client = Client::new(&url).unwrap();
        let mut seen = Vec::new();
        let waited = client
            .wait_action(ACTION, Duration::from_millis(10), Duration::from_secs(10), |p| {
                seen.push((p.action.status.clone(), p.count("ACTIVE"), p.wanted()));
            })
            .await
            .unwrap();
        let Waited::Ended(action) = waited else { panic!("the action ended") };
        assert_eq!(action.status, "SUCCEEDED");
        assert_eq!(seen, [("RUNNING".to_owned(), 1, 2), ("SUCCEEDED".to_owned(), 2, 2)]);
        let requests = server.join().unwrap();
        let lines: Vec<&str> = requests.iter().map(|r| r.head.lines().next().unwrap()).collect();
        assert_eq!(lines[1], format!("GET /v1/clusters/{CLUSTER} HTTP/1.1"));
        assert_eq!(lines[2], format!("GET /v1/nodes?limit=1000&cluster={CLUSTER} HTTP/1.1"));
    }

    #[tokio::test]
    async fn waiting_gives_up_at_the_timeout_and_a_deleted_cluster_has_no_nodes() {
        let (url, _server) = serve(2, |line| {
            if line.contains("/v1/actions/") {
                json_reply("200 OK", &action("RUNNING"))
            } else {
                json_reply("404 Not Found", r#"{"error":{"code":404,"title":"Not Found","message":"gone","request_id":"r"}}"#)
            }
        });
        let mut seen = Vec::new();
        let waited = Client::new(&url)
            .unwrap()
            .wait_action(ACTION, Duration::from_millis(10), Duration::ZERO, |p| seen.push((p.cluster.is_none(), p.nodes.len())))
            .await
            .unwrap();
        assert!(matches!(waited, Waited::TimedOut(ref a) if a.status == "RUNNING"), "{waited:?}");
        assert_eq!(seen, [(true, 0)]);
    }

    #[tokio::test]
    async fn a_cluster_deleted_between_two_looks_has_no_nodes() {
        // The cluster is there, then its node list says it is not (400), then it is gone (404).
        let cluster_looks = Arc::new(Mutex::new(0));
        let counter = cluster_looks.clone();
        let (url, server) = serve(4, move |line| {
            let path = line.split_whitespace().nth(1).unwrap().to_owned();
            match path.as_str() {
                p if p.starts_with("/v1/actions/") => json_reply("200 OK", &action("SUCCEEDED")),
                p if p.starts_with("/v1/clusters/") => {
                    let mut looks = counter.lock().unwrap();
                    *looks += 1;
                    if *looks == 1 {
                        json_reply("200 OK", &cluster(0))
                    } else {
                        json_reply(
                            "404 Not Found",
                            r#"{"error": {"code": 404, "title": "Not Found", "message": "gone", "request_id": "r"}}"#,
                        )
                    }
                }
                _ => json_reply(
                    "400 Bad Request",
                    r#"{"error": {"code": 400, "title": "Bad Request", "message": "no cluster", "request_id": "r"}}"#,
                ),
            }
        });
        let progress = Client::new(&url).unwrap().action_progress(ACTION).await.unwrap();
        assert!(progress.nodes.is_empty() && progress.cluster.is_some());
        server.join().unwrap();
    }
}
