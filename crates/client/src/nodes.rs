//! Node endpoints: create (in a cluster or orphan), adopt a container, list, show, update, delete,
//! and the node actions (check, recover, operation).

use crate::{Accepted, Call, Client, ClientError, Listing, Updated};
use flotilla_api::{ActionAccepted, Node, NodeActionRequest, NodeAdopt, NodeCreate, NodeFilter, NodeList, NodeUpdate};

impl Client {
    /// `POST /v1/nodes`: the node is written and its NODE_CREATE action queued.
    pub async fn create_node(&self, body: &NodeCreate) -> Result<Accepted<Node>, ClientError> {
        self.send_accepted(Call::post(&["nodes"], body)).await
    }

    /// Makes an existing container an orphan node (its profile made from the container).
    pub async fn adopt_node(&self, body: &NodeAdopt) -> Result<Node, ClientError> {
        self.send(Call::post(&["nodes", "adopt"], body)).await
    }

    /// Nodes, e.g. the members of one cluster (`filter.cluster`).
    pub async fn list_nodes(&self, query: impl Into<Listing<'_>>, filter: &NodeFilter) -> Result<NodeList, ClientError> {
        self.send(Call::listing(&["nodes"], query.into(), filter)).await
    }

    /// Every node matching `filter`, page after page.
    pub async fn all_nodes(&self, filter: &NodeFilter) -> Result<Vec<Node>, ClientError> {
        crate::every_page(|query| async move {
            let page = self.list_nodes(&query, filter).await?;
            Ok((page.nodes, page.next))
        })
        .await
    }

    /// A node by id or name.
    pub async fn node(&self, key: &str) -> Result<Node, ClientError> {
        self.send(Call::get(&["nodes", key])).await
    }

    /// A new name, role or metadata apply at once; a new profile replaces the node's container (an action).
    pub async fn update_node(&self, key: &str, body: &NodeUpdate) -> Result<Updated<Node>, ClientError> {
        self.send_update(Call::patch(&["nodes", key], body)).await
    }

    /// Deletes a node and its container (NODE_DELETE).
    pub async fn delete_node(&self, key: &str) -> Result<ActionAccepted, ClientError> {
        self.send(Call::delete(&["nodes", key])).await
    }

    /// `POST /v1/nodes/{id}/actions`: check, recover, or an operation on the node's container.
    pub async fn node_action(&self, key: &str, body: &NodeActionRequest) -> Result<ActionAccepted, ClientError> {
        self.send(Call::post(&["nodes", key, "actions"], body)).await
    }
}
