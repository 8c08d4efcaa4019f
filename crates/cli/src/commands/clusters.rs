//! `flotilla cluster ...`: clusters of containers of one profile: create, list, show, update, delete,
//! the cluster actions (scale, resize, add/delete/replace nodes, check, recover, policies, operations),
//! members' attributes and the member list. Every action takes `--wait` (see `follow`).

use super::common::{LabelArgs, ListArgs, MetadataArgs, parse_entry, parse_pair};
use super::follow;
use super::plans::DryRunArgs;
use super::wait::WaitArgs;
use crate::completion;
use crate::output::{self, Format, Part, Row};
use crate::target::{Spread, Target};
use anyhow::{Result, bail};
use clap::{ArgAction, Args, Subcommand};
use clap_complete::ArgValueCandidates;
use flotilla_api::{
    Cluster, ClusterActionRequest, ClusterCreate, ClusterFilter, ClusterList, ClusterUpdate, Empty, ListQuery, NodeFilter, NodesParams,
    OperationParams, PolicyParams, RecoverParams, ReplaceParams, ResizeParams, ScaleParams,
};
use flotilla_client::{Client, Updated};
use flotilla_core::action::{NodeOperation, RecoverAction};
use flotilla_core::cluster::ClusterConfig;
use flotilla_core::resize::AdjustmentType;
use std::collections::BTreeMap;

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Create a cluster of containers of one profile.
    Create(CreateArgs),
    /// List clusters with their status and sizes.
    List {
        /// Only clusters in this status, e.g. ACTIVE, WARNING or ERROR.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        labels: LabelArgs,
        #[command(flatten)]
        spread: Spread,
    },
    /// Show a cluster by name or id.
    Show {
        /// Name or id of the cluster.
        #[arg(add = ArgValueCandidates::new(completion::clusters))]
        cluster: String,
    },
    /// Rename a cluster, change its timeout or metadata, or roll its nodes over to a new profile.
    Update {
        /// Name or id of the cluster.
        #[arg(add = ArgValueCandidates::new(completion::clusters))]
        cluster: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// A new profile (name or id) of the same type: the nodes are replaced (an action).
        #[arg(long)]
        profile: Option<String>,
        /// Seconds each action of the cluster may take.
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<u32>,
        #[command(flatten)]
        metadata: MetadataArgs,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Delete a cluster with its nodes and their containers.
    Delete {
        /// Name or id of the cluster.
        #[arg(add = ArgValueCandidates::new(completion::clusters))]
        cluster: String,
        /// Delete it whatever it is doing.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Add nodes to a cluster (default: as many as its scaling policy says, else 1).
    ScaleOut(ScaleArgs),
    /// Remove nodes from a cluster (default: as many as its scaling policy says, else 1).
    ScaleIn(ScaleArgs),
    /// Change a cluster's size: a new capacity, an adjustment or a percentage, and/or new bounds.
    Resize(ResizeArgs),
    /// Make orphan nodes members of a cluster.
    AddNodes {
        /// Name or id of the cluster.
        #[arg(add = ArgValueCandidates::new(completion::clusters))]
        cluster: String,
        /// Names or ids of the nodes.
        #[arg(required = true, value_name = "NODE")]
        nodes: Vec<String>,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Remove nodes from a cluster, deleting them (or, with --keep, leaving them as orphans).
    DelNodes {
        /// Name or id of the cluster.
        #[arg(add = ArgValueCandidates::new(completion::clusters))]
        cluster: String,
        /// Names or ids of the nodes.
        #[arg(required = true, value_name = "NODE")]
        nodes: Vec<String>,
        /// Keep the nodes and their containers, as orphan nodes.
        #[arg(long)]
        keep: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Replace members with orphan nodes: OLD=NEW, names or ids.
    ReplaceNodes {
        /// Name or id of the cluster.
        #[arg(add = ArgValueCandidates::new(completion::clusters))]
        cluster: String,
        /// A member and the orphan node taking its place.
        #[arg(required = true, value_name = "OLD=NEW", value_parser = parse_pair)]
        pairs: Vec<(String, String)>,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Check the health of a cluster's nodes.
    Check(ActionArgs),
    /// Recover a cluster's unhealthy nodes.
    Recover {
        /// Name or id of the cluster.
        #[arg(add = ArgValueCandidates::new(completion::clusters))]
        cluster: String,
        /// How: RESTART the container, REBUILD it in place, or RECREATE it on another host (default).
        #[arg(long, value_name = "HOW", value_parser = parse_recovery)]
        operation: Option<RecoverAction>,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Attach a policy to a cluster.
    PolicyAttach {
        /// Name or id of the cluster.
        #[arg(add = ArgValueCandidates::new(completion::clusters))]
        cluster: String,
        /// Name or id of the policy.
        policy: String,
        /// Attach it disabled.
        #[arg(long)]
        disabled: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Detach a policy from a cluster.
    PolicyDetach {
        /// Name or id of the cluster.
        #[arg(add = ArgValueCandidates::new(completion::clusters))]
        cluster: String,
        /// Name or id of the policy.
        policy: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Enable or disable a policy attached to a cluster.
    PolicyUpdate {
        /// Name or id of the cluster.
        #[arg(add = ArgValueCandidates::new(completion::clusters))]
        cluster: String,
        /// Name or id of the policy.
        policy: String,
        /// Whether the policy acts.
        #[arg(long, required = true, action = ArgAction::Set, value_name = "true|false")]
        enabled: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Start, stop, restart, pause or unpause the containers of a cluster's members.
    Operation {
        /// Name or id of the cluster.
        #[arg(add = ArgValueCandidates::new(completion::clusters))]
        cluster: String,
        /// start, stop, restart, pause or unpause.
        #[arg(value_parser = parse_operation)]
        operation: NodeOperation,
        /// Only members matching KEY=VALUE (status, role, name, or a metadata key); repeat for more.
        #[arg(long = "filter", value_name = "KEY=VALUE", value_parser = parse_entry)]
        filters: Vec<(String, String)>,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Show one attribute of every member: status, host_name, physical_id, or container.FIELD.
    Collect {
        /// Name or id of the cluster.
        #[arg(add = ArgValueCandidates::new(completion::clusters))]
        cluster: String,
        /// The attribute.
        attr: String,
    },
    /// List a cluster's nodes.
    Members {
        /// Name or id of the cluster.
        #[arg(add = ArgValueCandidates::new(completion::clusters))]
        cluster: String,
        /// Only nodes in this status, e.g. ACTIVE or ERROR.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        spread: Spread,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Name of the new cluster.
    pub name: String,
    /// The profile of its nodes (name or id).
    #[arg(long)]
    pub profile: String,
    /// How many nodes it should have (default: --min-size, else 0).
    #[arg(long, value_name = "N")]
    pub desired_capacity: Option<i64>,
    /// The fewest nodes it may have (default 0).
    #[arg(long, value_name = "N")]
    pub min_size: Option<i64>,
    /// The most nodes it may have; -1 (the default) is unlimited.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_size: Option<i64>,
    /// Seconds each action of the cluster may take (default 3600).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u32>,
    /// How nodes are named: $nI is the node's index padded to n digits, $nR n random characters
    /// (default: CLUSTER-INDEX).
    #[arg(long, value_name = "FORMAT")]
    pub node_name_format: Option<String>,
    #[command(flatten)]
    pub metadata: MetadataArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub dry_run: DryRunArgs,
}

impl CreateArgs {
    fn body(&self) -> ClusterCreate {
        ClusterCreate {
            name: self.name.clone(),
            profile: self.profile.clone(),
            desired_capacity: self.desired_capacity.or(self.min_size).unwrap_or(0),
            min_size: self.min_size.unwrap_or(0),
            max_size: self.max_size.unwrap_or(-1),
            timeout: self.timeout,
            config: ClusterConfig { node_name_format: self.node_name_format.clone() },
            metadata: self.metadata.metadata(),
        }
    }
}

/// An action on a cluster that takes nothing else.
#[derive(Debug, Args)]
pub struct ActionArgs {
    /// Name or id of the cluster.
    #[arg(add = ArgValueCandidates::new(completion::clusters))]
    pub cluster: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `scale-out` and `scale-in`.
#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// Name or id of the cluster.
    #[arg(add = ArgValueCandidates::new(completion::clusters))]
    pub cluster: String,
    /// How many nodes.
    #[arg(long, value_name = "N")]
    pub count: Option<i64>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `resize`, with Senlin's parameters.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("adjust").args(["capacity", "adjustment", "percentage"])))]
#[command(group(clap::ArgGroup::new("change").args(["capacity", "adjustment", "percentage", "min_size", "max_size"]).multiple(true).required(true)))]
pub struct ResizeArgs {
    /// Name or id of the cluster.
    #[arg(add = ArgValueCandidates::new(completion::clusters))]
    pub cluster: String,
    /// The new desired capacity.
    #[arg(long, value_name = "N")]
    pub capacity: Option<i64>,
    /// Nodes to add, or (negative) to remove.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub adjustment: Option<i64>,
    /// A percentage of the current capacity to add, or (negative) to remove.
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub percentage: Option<f64>,
    /// With --percentage: change by at least this many nodes.
    #[arg(long, value_name = "S", requires = "percentage", conflicts_with_all = ["capacity", "adjustment"])]
    pub min_step: Option<i64>,
    /// A new smallest size.
    #[arg(long, value_name = "N")]
    pub min_size: Option<i64>,
    /// A new largest size; -1 is unlimited.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_size: Option<i64>,
    /// Refuse a target outside the cluster's size bounds (the default).
    #[arg(long, overrides_with = "no_strict")]
    pub strict: bool,
    /// Clamp the target to the cluster's size bounds instead of refusing it.
    #[arg(long, overrides_with = "strict")]
    pub no_strict: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub dry_run: DryRunArgs,
}

impl ResizeArgs {
    fn params(&self) -> ResizeParams {
        let (adjustment_type, number) = match (self.capacity, self.adjustment, self.percentage) {
            (Some(capacity), _, _) => (Some(AdjustmentType::ExactCapacity.to_string()), Some(capacity as f64)),
            (_, Some(adjustment), _) => (Some(AdjustmentType::ChangeInCapacity.to_string()), Some(adjustment as f64)),
            (_, _, Some(percentage)) => (Some(AdjustmentType::ChangeInPercentage.to_string()), Some(percentage)),
            _ => (None, None),
        };
        ResizeParams {
            adjustment_type,
            number,
            min_size: self.min_size,
            max_size: self.max_size,
            min_step: self.min_step,
            strict: !self.no_strict,
        }
    }
}

/// `RESTART`, `REBUILD` or `RECREATE`, in any case.
pub fn parse_recovery(text: &str) -> Result<RecoverAction> {
    match RecoverAction::parse(text) {
        Some(recovery) => Ok(recovery),
        None => bail!("expected RESTART, REBUILD or RECREATE"),
    }
}

/// `start`, `stop`, `restart`, `pause` or `unpause`, in any case.
pub fn parse_operation(text: &str) -> Result<NodeOperation> {
    match NodeOperation::parse(text) {
        Some(operation) => Ok(operation),
        None => bail!("expected start, stop, restart, pause or unpause"),
    }
}

/// `OLD=NEW` pairs as a replacement map; a member replaced twice is refused.
fn replacements(pairs: Vec<(String, String)>) -> Result<ReplaceParams> {
    let mut nodes = BTreeMap::new();
    for (old, new) in pairs {
        if nodes.insert(old.clone(), new).is_some() {
            bail!("node {old} is replaced twice");
        }
    }
    Ok(ReplaceParams { nodes })
}

pub async fn run(client: &Target, format: Format, command: ClusterCommand) -> Result<()> {
    let (cluster, request, wait) = match command {
        ClusterCommand::Create(args) => return create(client, format, args).await,
        ClusterCommand::List { status, list, labels, spread } => {
            let filter = ClusterFilter { status: status.map(|s| s.to_uppercase()) };
            return client.list(format, &spread, async |c| c.list_clusters(labels.listing(&list.query()), &filter).await).await;
        }
        ClusterCommand::Show { cluster } => {
            let (cluster, at) = client.found(&cluster, async |c| c.cluster(&cluster).await).await?;
            return shown(at, format, &cluster).await;
        }
        ClusterCommand::Update { cluster, name, profile, timeout, metadata, wait } => {
            let body = ClusterUpdate { name, metadata: metadata.update(), timeout, profile };
            return match client.update_cluster(&cluster, &body).await? {
                Updated::Done(cluster) => output::one(format, &cluster),
                Updated::Started(accepted) => follow::started(client, format, &accepted, &wait).await,
            };
        }
        ClusterCommand::Delete { cluster, force, wait } => {
            let (accepted, at) = client.found(&cluster, async |c| c.delete_cluster(&cluster, force).await).await?;
            return follow::deleted(at, format, "cluster", &cluster, &accepted, &wait).await;
        }
        ClusterCommand::Collect { cluster, attr } => {
            let attrs = client.cluster_attrs(&cluster, &attr).await?;
            let rows = attrs.cluster_attributes.iter().map(|a| vec![a.id.to_string(), output::cell(&a.value)]).collect();
            return output::grid(format, &attrs, &["NODE", "VALUE"], rows);
        }
        ClusterCommand::Members { cluster, status, list, spread } => {
            let filter = NodeFilter { status: status.map(|s| s.to_uppercase()), cluster: Some(cluster) };
            return client.list(format, &spread, async |c| c.list_nodes(&list.query(), &filter).await).await;
        }
        ClusterCommand::ScaleOut(args) => (args.cluster, ClusterActionRequest::ScaleOut(ScaleParams { count: args.count }), args.wait),
        ClusterCommand::ScaleIn(args) => (args.cluster, ClusterActionRequest::ScaleIn(ScaleParams { count: args.count }), args.wait),
        ClusterCommand::Resize(args) => {
            let request = ClusterActionRequest::Resize(args.params());
            if args.dry_run.dry_run {
                return super::plans::shown(format, &client.plan_cluster_action(&args.cluster, &request).await?);
            }
            (args.cluster, request, args.wait)
        }
        ClusterCommand::AddNodes { cluster, nodes, wait } => {
            (cluster, ClusterActionRequest::AddNodes(NodesParams { nodes, destroy: true }), wait)
        }
        ClusterCommand::DelNodes { cluster, nodes, keep, wait } => {
            (cluster, ClusterActionRequest::DelNodes(NodesParams { nodes, destroy: !keep }), wait)
        }
        ClusterCommand::ReplaceNodes { cluster, pairs, wait } => (cluster, ClusterActionRequest::ReplaceNodes(replacements(pairs)?), wait),
        ClusterCommand::Check(args) => (args.cluster, ClusterActionRequest::Check(Empty {}), args.wait),
        ClusterCommand::Recover { cluster, operation, wait } => (cluster, ClusterActionRequest::Recover(RecoverParams { operation }), wait),
        ClusterCommand::PolicyAttach { cluster, policy, disabled, wait } => {
            (cluster, ClusterActionRequest::PolicyAttach(PolicyParams { policy, enabled: Some(!disabled) }), wait)
        }
        ClusterCommand::PolicyDetach { cluster, policy, wait } => {
            (cluster, ClusterActionRequest::PolicyDetach(PolicyParams { policy, enabled: None }), wait)
        }
        ClusterCommand::PolicyUpdate { cluster, policy, enabled, wait } => {
            (cluster, ClusterActionRequest::PolicyUpdate(PolicyParams { policy, enabled: Some(enabled) }), wait)
        }
        ClusterCommand::Operation { cluster, operation, filters, wait } => {
            (cluster, ClusterActionRequest::Operation(OperationParams { operation, filters: filters.into_iter().collect() }), wait)
        }
    };
    let accepted = client.cluster_action(&cluster, &request).await?;
    follow::started(client, format, &accepted, &wait).await
}

async fn create(client: &Client, format: Format, args: CreateArgs) -> Result<()> {
    if args.dry_run.dry_run {
        return super::plans::shown(format, &client.plan_cluster(&args.body()).await?);
    }
    let accepted = client.create_cluster(&args.body()).await?;
    follow::created(client, accepted.action.as_deref(), &args.wait).await?;
    let cluster = if args.wait.wait { client.cluster(&accepted.body.id.to_string()).await? } else { accepted.body };
    output::one(format, &cluster)
}

/// A cluster; for people its members by name (with status, host and region) rather than their
/// ids, and its latest events, as tables under it.
async fn shown(client: &Client, format: Format, cluster: &Cluster) -> Result<()> {
    if !format.is_table() {
        return output::one(format, cluster);
    }
    let id = cluster.id.to_string();
    let filter = NodeFilter { status: None, cluster: Some(id.clone()) };
    let query = ListQuery { limit: Some(1000), ..Default::default() };
    let members = client.list_nodes(&query, &filter).await?.nodes;
    let members: Vec<Member> = members.iter().map(Member).collect();
    let events = super::events::recent(client, format, &id).await;
    output::detailed(format, cluster, &[Part::of("nodes", &members), Part::of("events", &events)])
}

/// A member as a row of `cluster show`.
struct Member<'n>(&'n flotilla_api::Node);

impl Row for Member<'_> {
    const HEADERS: &'static [&'static str] = &["NAME", "STATUS", "HOST", "REGION", "ROLE"];
    fn cells(&self) -> Vec<String> {
        let node = self.0;
        vec![node.name.clone(), node.status.clone(), node.host_name.clone().unwrap_or_default(), node.region.clone(), node.role.clone()]
    }
}

impl Row for Cluster {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "STATUS", "DESIRED", "MIN", "MAX", "NODES", "CREATED"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.status.clone(),
            self.desired_capacity.to_string(),
            self.min_size.to_string(),
            if self.max_size < 0 { "unlimited".to_owned() } else { self.max_size.to_string() },
            self.nodes.len().to_string(),
            output::when(&self.created_at),
        ]
    }
}

output::listing!(ClusterList, clusters, Cluster);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use serde_json::json;

    fn parse(args: &[&str]) -> Result<ClusterCommand, clap::Error> {
        let cli = Cli::try_parse_from(["flotilla", "cluster"].iter().chain(args))?;
        match cli.command {
            Command::Cluster(command) => Ok(command),
            other => panic!("parsed as {other:?}"),
        }
    }

    fn resize(args: &[&str]) -> Result<serde_json::Value, clap::Error> {
        let ClusterCommand::Resize(args) = parse(&[&["resize", "web"], args].concat())? else { panic!("not a resize") };
        Ok(serde_json::to_value(args.params()).unwrap())
    }

    #[test]
    fn resize_flags_make_senlins_parameters() {
        assert_eq!(resize(&["--capacity", "2"]).unwrap(), json!({"adjustment_type": "EXACT_CAPACITY", "number": 2.0, "strict": true}));
        assert_eq!(
            resize(&["--adjustment", "-2", "--no-strict"]).unwrap(),
            json!({"adjustment_type": "CHANGE_IN_CAPACITY", "number": -2.0, "strict": false})
        );
        assert_eq!(
            resize(&["--percentage", "-12.5", "--min-step", "2", "--max-size", "-1"]).unwrap(),
            json!({"adjustment_type": "CHANGE_IN_PERCENTAGE", "number": -12.5, "min_step": 2, "max_size": -1, "strict": true})
        );
        assert_eq!(resize(&["--min-size", "1", "--max-size", "4"]).unwrap(), json!({"min_size": 1, "max_size": 4, "strict": true}));
        assert_eq!(resize(&["--capacity", "2", "--no-strict", "--strict"]).unwrap()["strict"], true, "the last one wins");
    }

    #[test]
    fn resize_refuses_mixed_or_missing_adjustments() {
        for args in [&["--capacity", "2", "--adjustment", "1"][..], &[], &["--min-step", "2", "--capacity", "3"], &["--strict"]] {
            assert_eq!(resize(args).unwrap_err().exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn creates_default_the_capacity_to_the_minimum() {
        let ClusterCommand::Create(args) =
            parse(&["create", "web", "--profile", "p", "--min-size", "2", "--metadata", "tier=web"]).unwrap()
        else {
            panic!()
        };
        let body = serde_json::to_value(args.body()).unwrap();
        assert_eq!((body["desired_capacity"].as_i64(), body["min_size"].as_i64(), body["max_size"].as_i64()), (Some(2), Some(2), Some(-1)));
        assert_eq!(body["metadata"], json!({"tier": "web"}));
        let ClusterCommand::Create(args) =
            parse(&["create", "web", "--profile", "p", "--desired-capacity", "3", "--node-name-format", "web-$3I", "--wait"]).unwrap()
        else {
            panic!()
        };
        let body = serde_json::to_value(args.body()).unwrap();
        assert_eq!((body["desired_capacity"].as_i64(), body["min_size"].as_i64()), (Some(3), Some(0)));
        assert_eq!(body["config"], json!({"node_name_format": "web-$3I"}));
        assert!(args.wait.wait);
    }

    #[test]
    fn replacements_are_old_new_pairs() {
        let ClusterCommand::ReplaceNodes { pairs, .. } = parse(&["replace-nodes", "web", "web-1=spare-1", "web-2=spare-2"]).unwrap() else {
            panic!()
        };
        let body = serde_json::to_value(ClusterActionRequest::ReplaceNodes(replacements(pairs).unwrap())).unwrap();
        assert_eq!(body, json!({"replace_nodes": {"nodes": {"web-1": "spare-1", "web-2": "spare-2"}}}));
        let twice = replacements(vec![("a".into(), "b".into()), ("a".into(), "c".into())]).unwrap_err();
        assert_eq!(twice.to_string(), "node a is replaced twice");
        assert_eq!(parse(&["replace-nodes", "web", "web-1"]).unwrap_err().exit_code(), 2);
        assert_eq!(parse(&["replace-nodes", "web"]).unwrap_err().exit_code(), 2, "at least one pair");
    }

    #[test]
    fn operations_policies_and_recoveries_parse() {
        let ClusterCommand::Operation { operation, filters, .. } =
            parse(&["operation", "web", "STOP", "--filter", "role=db", "--filter", "status=ACTIVE"]).unwrap()
        else {
            panic!()
        };
        let params = OperationParams { operation, filters: filters.into_iter().collect() };
        assert_eq!(serde_json::to_value(params).unwrap(), json!({"operation": "stop", "filters": {"role": "db", "status": "ACTIVE"}}));
        assert_eq!(parse(&["operation", "web", "explode"]).unwrap_err().exit_code(), 2);
        assert_eq!(parse(&["operation", "web", "stop", "--filter", "role"]).unwrap_err().exit_code(), 2);

        let ClusterCommand::Recover { operation, .. } = parse(&["recover", "web", "--operation", "rebuild"]).unwrap() else { panic!() };
        assert_eq!(operation, Some(RecoverAction::Rebuild));
        assert_eq!(parse(&["recover", "web", "--operation", "reboot"]).unwrap_err().exit_code(), 2);

        let ClusterCommand::PolicyUpdate { enabled, .. } = parse(&["policy-update", "web", "scale", "--enabled", "false"]).unwrap() else {
            panic!()
        };
        assert!(!enabled);
        assert_eq!(parse(&["policy-update", "web", "scale"]).unwrap_err().exit_code(), 2, "--enabled is required");
        let ClusterCommand::DelNodes { nodes, keep, .. } = parse(&["del-nodes", "web", "web-1", "web-2", "--keep"]).unwrap() else {
            panic!()
        };
        assert_eq!((nodes.len(), keep), (2, true));
        let ClusterCommand::ScaleOut(scale) = parse(&["scale-out", "web", "--count", "2", "--wait", "--wait-timeout", "9"]).unwrap() else {
            panic!()
        };
        assert_eq!((scale.count, scale.wait.wait, scale.wait.wait_timeout), (Some(2), true, 9));
    }
}
