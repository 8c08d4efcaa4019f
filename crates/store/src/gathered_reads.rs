//! Point reads many callers make at once (a node or a container by id), gathered: whoever holds
//! the turn reads every id waiting in a few statements (the queue of `group_commit.rs`), so ten
//! thousand node actions starting together read their nodes and containers hundreds at a time.

use crate::group_commit::Batched;
use crate::{Store, StoreError};
use flotilla_core::container::Container;
use flotilla_core::node::Node;
use flotilla_core::{ContainerId, NodeId};
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;

/// A row read by its id, many at a time.
pub(crate) trait ById: Clone + Send + Sync + 'static {
    type Id: Copy + Eq + Hash + Send + Sync + 'static;
    /// What a read is, for the error of one whose batch was abandoned.
    const WHAT: &'static str;
    fn id(&self) -> Self::Id;
    /// The rows of `ids` that exist, in any order.
    fn read_all(store: &Store, ids: &[Self::Id]) -> impl Future<Output = Result<Vec<Self>, StoreError>> + Send;
}

impl ById for Container {
    type Id = ContainerId;
    const WHAT: &'static str = "container read";
    fn id(&self) -> ContainerId {
        self.id
    }
    async fn read_all(store: &Store, ids: &[ContainerId]) -> Result<Vec<Self>, StoreError> {
        store.containers_by_id(ids).await
    }
}

impl ById for Node {
    type Id = NodeId;
    const WHAT: &'static str = "node read";
    fn id(&self) -> NodeId {
        self.id
    }
    async fn read_all(store: &Store, ids: &[NodeId]) -> Result<Vec<Self>, StoreError> {
        store.nodes_found(ids).await
    }
}

/// One read of a `T` by id, made with the others of the moment.
pub(crate) struct PointRead<T: ById> {
    store: Store,
    id: T::Id,
}

impl<T: ById> Batched for PointRead<T> {
    type Answer = Option<T>;
    const WHAT: &'static str = T::WHAT;

    async fn run_together(requests: &[Self]) -> Result<Vec<Result<Option<T>, StoreError>>, StoreError> {
        let ids: Vec<T::Id> = requests.iter().map(|r| r.id).collect();
        let found: HashMap<T::Id, T> = T::read_all(&requests[0].store, &ids).await?.into_iter().map(|row| (row.id(), row)).collect();
        Ok(requests.iter().map(|r| Ok(found.get(&r.id).cloned())).collect())
    }
}

impl Store {
    /// Container `id` as it is now, if it exists; read together with the other such reads of the moment.
    pub async fn container_now(&self, id: ContainerId) -> Result<Option<Container>, StoreError> {
        self.container_reads.submit(PointRead { store: self.clone(), id }).await
    }

    /// Node `id` as it is now (`NotFound` when there is none); read together with the other
    /// such reads of the moment.
    pub async fn node_now(&self, id: NodeId) -> Result<Node, StoreError> {
        let found = self.node_reads.submit(PointRead { store: self.clone(), id }).await?;
        found.ok_or_else(|| StoreError::NotFound { kind: "node", key: id.to_string() })
    }
}
