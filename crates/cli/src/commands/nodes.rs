//! `flotilla node ...`: nodes, the containers clusters are made of (or orphans): create, adopt a
//! container, list, show, update, delete, check, recover, operations.

use super::clusters::{parse_operation, parse_recovery};
use super::common::{LabelArgs, ListArgs, MetadataArgs};
use super::follow;
use super::wait::WaitArgs;
use crate::output::{self, Format, Part, Row};
use crate::target::{Spread, Target};
use anyhow::Result;
use clap::Subcommand;
use flotilla_api::{
    Empty, Node, NodeActionRequest, NodeAdopt, NodeCreate, NodeFilter, NodeList, NodeUpdate, OperationParams, RecoverParams,
};
use flotilla_client::Updated;
use flotilla_core::action::{NodeOperation, RecoverAction};

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Create a node: a container of a profile, in a cluster or on its own.
    Create {
        /// Name of the new node.
        name: String,
        /// Its profile (name or id).
        #[arg(long)]
        profile: String,
        /// The cluster it joins (name or id); without one, an orphan node.
        #[arg(long)]
        cluster: Option<String>,
        /// Its role in the cluster, e.g. primary.
        #[arg(long, default_value = "")]
        role: String,
        #[command(flatten)]
        metadata: MetadataArgs,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Make an existing container an orphan node (its profile made from the container).
    Adopt {
        /// Name or id of the container.
        container: String,
        /// The node's name (default: the container's).
        #[arg(long)]
        name: Option<String>,
        /// Its role, e.g. primary.
        #[arg(long, default_value = "")]
        role: String,
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// List nodes with their status and host.
    List {
        /// Only the members of this cluster (name or id).
        #[arg(long)]
        cluster: Option<String>,
        /// Only nodes in this status, e.g. ACTIVE or ERROR.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        labels: LabelArgs,
        #[command(flatten)]
        spread: Spread,
    },
    /// Show a node by name or id.
    Show {
        /// Name or id of the node.
        node: String,
    },
    /// Rename a node, change its role or metadata, or replace its container with a new profile's.
    Update {
        /// Name or id of the node.
        node: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New role.
        #[arg(long)]
        role: Option<String>,
        /// A new profile (name or id) of the same type: the container is replaced (an action).
        #[arg(long)]
        profile: Option<String>,
        /// Mark the node tainted (true) or not (false): a tainted node goes first when the cluster shrinks
        /// or rolls out a new profile.
        #[arg(long, value_name = "BOOL")]
        tainted: Option<bool>,
        #[command(flatten)]
        metadata: MetadataArgs,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Delete a node and its container.
    Delete {
        /// Name or id of the node.
        node: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Check a node's health.
    Check {
        /// Name or id of the node.
        node: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Recover a node.
    Recover {
        /// Name or id of the node.
        node: String,
        /// How: RESTART the container, REBUILD it in place, or RECREATE it on another host (default).
        #[arg(long, value_name = "HOW", value_parser = parse_recovery)]
        operation: Option<RecoverAction>,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Start, stop, restart, pause or unpause a node's container.
    Operation {
        /// Name or id of the node.
        node: String,
        /// start, stop, restart, pause or unpause.
        #[arg(value_parser = parse_operation)]
        operation: NodeOperation,
        #[command(flatten)]
        wait: WaitArgs,
    },
}

pub async fn run(client: &Target, format: Format, command: NodeCommand) -> Result<()> {
    let (node, request, wait) = match command {
        NodeCommand::Create { name, profile, cluster, role, metadata, wait } => {
            let body = NodeCreate { name, profile, cluster, role, metadata: metadata.metadata() };
            let accepted = client.create_node(&body).await?;
            follow::created(client, accepted.action.as_deref(), &wait).await?;
            let node = if wait.wait { client.node(&accepted.body.id.to_string()).await? } else { accepted.body };
            return shown(format, &node);
        }
        NodeCommand::Adopt { container, name, role, metadata } => {
            let body = NodeAdopt { container, name, role, metadata: metadata.metadata() };
            return shown(format, &client.adopt_node(&body).await?);
        }
        NodeCommand::List { cluster, status, list, labels, spread } => {
            let filter = NodeFilter { status: status.map(|s| s.to_uppercase()), cluster };
            return client.list(format, &spread, async |c| c.list_nodes(labels.listing(&list.query()), &filter).await).await;
        }
        NodeCommand::Show { node } => return shown(format, &client.found(&node, async |c| c.node(&node).await).await?.0),
        NodeCommand::Update { node, name, role, profile, tainted, metadata, wait } => {
            let body = NodeUpdate { name, role, metadata: metadata.update(), profile, tainted };
            return match client.update_node(&node, &body).await? {
                Updated::Done(node) => shown(format, &node),
                Updated::Started(accepted) => follow::started(client, format, &accepted, &wait).await,
            };
        }
        NodeCommand::Delete { node, wait } => {
            let (accepted, at) = client.found(&node, async |c| c.delete_node(&node).await).await?;
            return follow::deleted(at, format, "node", &node, &accepted, &wait).await;
        }
        NodeCommand::Check { node, wait } => (node, NodeActionRequest::Check(Empty {}), wait),
        NodeCommand::Recover { node, operation, wait } => (node, NodeActionRequest::Recover(RecoverParams { operation }), wait),
        NodeCommand::Operation { node, operation, wait } => {
            (node, NodeActionRequest::Operation(OperationParams { operation, filters: Default::default() }), wait)
        }
    };
    let accepted = client.node_action(&node, &request).await?;
    follow::started(client, format, &accepted, &wait).await
}

/// A node and, for people, its container's addresses as a table.
fn shown(format: Format, node: &Node) -> Result<()> {
    output::detailed(format, node, &[Part::of("addresses", &node.addresses)])
}

impl Row for Node {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "INDEX", "ROLE", "STATUS", "RUNS IN", "HOST", "CONTAINER", "CREATED"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.index.to_string(),
            self.role.clone(),
            self.status.clone(),
            self.region.clone(),
            self.host_name.clone().unwrap_or_default(),
            self.physical_id.map(|id| id.to_string()).unwrap_or_default(),
            output::when(&self.created_at),
        ]
    }
}

output::listing!(NodeList, nodes, Node);
