//! Cluster endpoints: create, list, show, update, delete, the cluster actions (scale, resize, nodes,
//! policies, check, recover, operations) and the members' attributes.

use crate::{Accepted, Call, Client, ClientError, Listing, Updated};
use flotilla_api::{ActionAccepted, Cluster, ClusterActionRequest, ClusterAttrs, ClusterCreate, ClusterFilter, ClusterList, ClusterUpdate};
use serde::Serialize;

/// `DELETE /v1/clusters/{id}?force=true`.
#[derive(Debug, Serialize)]
struct ForceQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    force: Option<bool>,
}

impl Client {
    /// `POST /v1/clusters`: the cluster is written (INIT) and its CLUSTER_CREATE action queued.
    pub async fn create_cluster(&self, body: &ClusterCreate) -> Result<Accepted<Cluster>, ClientError> {
        self.send_accepted(Call::post(&["clusters"], body)).await
    }

    pub async fn list_clusters(&self, query: impl Into<Listing<'_>>, filter: &ClusterFilter) -> Result<ClusterList, ClientError> {
        self.send(Call::listing(&["clusters"], query.into(), filter)).await
    }

    /// A cluster by id or name.
    pub async fn cluster(&self, key: &str) -> Result<Cluster, ClientError> {
        self.send(Call::get(&["clusters", key])).await
    }

    /// A new name, timeout or metadata apply at once; a new profile starts a rolling update.
    pub async fn update_cluster(&self, key: &str, body: &ClusterUpdate) -> Result<Updated<Cluster>, ClientError> {
        self.send_update(Call::patch(&["clusters", key], body)).await
    }

    /// Deletes a cluster and its nodes' containers; `force` deletes it whatever it is doing.
    pub async fn delete_cluster(&self, key: &str, force: bool) -> Result<ActionAccepted, ClientError> {
        self.send(Call::delete(&["clusters", key]).query(ForceQuery { force: force.then_some(true) })).await
    }

    /// `POST /v1/clusters/{id}/actions`: scale out or in, resize, add/delete/replace nodes, check,
    /// recover, attach/detach/update a policy, or an operation on the members. 409 while another
    /// action holds the cluster, or a cooldown runs.
    pub async fn cluster_action(&self, key: &str, body: &ClusterActionRequest) -> Result<ActionAccepted, ClientError> {
        self.send(Call::post(&["clusters", key, "actions"], body)).await
    }

    /// One attribute of every member: a node field (`status`, `host_name`, `physical_id`) or a field of its
    /// container (`container.status`).
    pub async fn cluster_attrs(&self, key: &str, path: &str) -> Result<ClusterAttrs, ClientError> {
        self.send(Call::get(&["clusters", key, "attrs", path])).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_server::serve_once;
    use flotilla_api::{NodesParams, ResizeParams, ScaleParams};
    use flotilla_core::resize::AdjustmentType;

    const ACCEPTED: &str = r#"{"action":"01927c4e-0000-7000-8000-00000000000a"}"#;

    #[tokio::test]
    async fn actions_are_one_key_naming_the_action() {
        let (url, server) = serve_once("202 Accepted", "application/json", ACCEPTED);
        let client = Client::new(&url).unwrap();
        let accepted = client.cluster_action("web", &ClusterActionRequest::ScaleOut(ScaleParams { count: Some(2) })).await.unwrap();
        assert_eq!(accepted.action.to_string(), "01927c4e-0000-7000-8000-00000000000a");
        let request = server.join().unwrap();
        assert!(request.head.starts_with("POST /v1/clusters/web/actions HTTP/1.1"), "{}", request.head);
        assert_eq!(String::from_utf8(request.body).unwrap(), r#"{"scale_out":{"count":2}}"#);

        let resize = ResizeParams {
            adjustment_type: Some(AdjustmentType::ChangeInPercentage.to_string()),
            number: Some(-50.0),
            min_step: Some(2),
            strict: false,
            ..ResizeParams::default()
        };
        let body = serde_json::to_value(ClusterActionRequest::Resize(resize)).unwrap();
        let expected =
            serde_json::json!({"resize": {"adjustment_type": "CHANGE_IN_PERCENTAGE", "number": -50.0, "min_step": 2, "strict": false}});
        assert_eq!(body, expected);
        let body =
            serde_json::to_value(ClusterActionRequest::DelNodes(NodesParams { nodes: vec!["web-1".into()], destroy: false })).unwrap();
        assert_eq!(body, serde_json::json!({"del_nodes": {"nodes": ["web-1"], "destroy": false}}));
    }

    #[tokio::test]
    async fn deletes_say_force_only_when_asked() {
        let (url, server) = serve_once("202 Accepted", "application/json", ACCEPTED);
        Client::new(&url).unwrap().delete_cluster("web", true).await.unwrap();
        assert!(server.join().unwrap().head.starts_with("DELETE /v1/clusters/web?force=true HTTP/1.1"));
        let (url, server) = serve_once("202 Accepted", "application/json", ACCEPTED);
        Client::new(&url).unwrap().delete_cluster("web", false).await.unwrap();
        assert!(server.join().unwrap().head.starts_with("DELETE /v1/clusters/web HTTP/1.1"));
    }

    #[tokio::test]
    async fn a_profile_change_answers_an_action() {
        let (url, _server) = serve_once("202 Accepted", "application/json", ACCEPTED);
        let body = ClusterUpdate { profile: Some("web-v2".into()), ..ClusterUpdate::default() };
        let Updated::Started(accepted) = Client::new(&url).unwrap().update_cluster("web", &body).await.unwrap() else {
            panic!("a 202 is an action")
        };
        assert_eq!(accepted.action.to_string(), "01927c4e-0000-7000-8000-00000000000a");
    }

    #[tokio::test]
    async fn a_locked_cluster_is_a_clear_conflict() {
        let body = r#"{"error":{"code":409,"title":"Conflict","message":"cluster web is locked by action 0192 (CLUSTER_RESIZE)","request_id":"r9"}}"#;
        let (url, _server) = serve_once("409 Conflict", "application/json", body);
        let request = ClusterActionRequest::ScaleIn(ScaleParams::default());
        let err = Client::new(&url).unwrap().cluster_action("web", &request).await.unwrap_err();
        assert_eq!(err.status(), Some(409));
        assert_eq!(err.to_string(), "cluster web is locked by action 0192 (CLUSTER_RESIZE) (409, request r9)");
    }
}
