//! Group commit of port creates (`group_commit.rs`): concurrent `create_port` calls of one store
//! are written together, in one write transaction (one placement lock, one read of each network's
//! subnets, one commit). Every writer of ports is serialised by the placement lock anyway.

use crate::group_commit::Batched;
use crate::ports::{Allocator, PortRow, port_event, write_ports};
use crate::quotas::{PortRoom, port_room};
use crate::{Store, StoreError};
use flotilla_core::event::EventAction;
use flotilla_core::network::{Port, PortStatus, mac_for};
use flotilla_core::{NetworkId, PortId, ProjectId};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::Ipv4Addr;

/// One `create_port` call: what it asks, and through which handle (whose actor its audit event
/// names).
pub(crate) struct PortCreate {
    store: Store,
    project: ProjectId,
    network: NetworkId,
    name: String,
    ip: Option<Ipv4Addr>,
}

impl Store {
    /// Reserves an address on `network`: `ip` when given (and free), else the next free one;
    /// written together with the other creates waiting at the time (see the module's text).
    pub async fn create_port(
        &self,
        project: ProjectId,
        network: NetworkId,
        name: &str,
        ip: Option<Ipv4Addr>,
    ) -> Result<PortRow, StoreError> {
        let request = PortCreate { store: self.clone(), project, network, name: name.to_owned(), ip };
        self.port_creates.submit(request).await
    }
}

impl Batched for PortCreate {
    type Answer = PortRow;
    const WHAT: &'static str = "port create";

    async fn run_together(requests: &[Self]) -> Result<Vec<Result<PortRow, StoreError>>, StoreError> {
        let store = &requests[0].store;
        let mut w = store.begin_write().await?;
        crate::placement::lock_placement(store.backend, &mut w.tx).await?;
        let mut alloc = Allocator::default();
        let mut rooms: HashMap<ProjectId, PortRoom> = HashMap::new();
        let (mut answers, mut ports, mut events) = (Vec::with_capacity(requests.len()), Vec::new(), Vec::new());
        for r in requests {
            answers.push(match reserve(&mut w.tx, &mut alloc, &mut rooms, r).await {
                Ok(port) => {
                    ports.push(port.port.clone());
                    events.push(r.store.stamped(port_event(&port.port, &port.network_name, EventAction::PortCreate)));
                    Ok(port)
                }
                Err(e) => Err(crate::containers::refusal(e)?),
            });
        }
        // Written once every check passed (a failed write spoils the transaction), each kind in one
        // statement; a later request's checks did not need them (its quota and addresses are counted
        // in `rooms` and `alloc`).
        write_ports(&mut w.tx, &ports).await?;
        crate::events::insert_all(&mut w.tx, &events).await?;
        alloc.save(&mut w.tx).await?;
        w.tx.commit().await?;
        Ok(answers)
    }
}

/// Request `r`'s port as it will be written, its quota checked (each project's room read once per
/// batch, in `rooms`) and its address allocated; an error here has written nothing.
async fn reserve(
    tx: &mut crate::Tx,
    alloc: &mut Allocator,
    rooms: &mut HashMap<ProjectId, PortRoom>,
    r: &PortCreate,
) -> Result<PortRow, StoreError> {
    let network_name = alloc.network_name(r.store.backend, tx, r.network).await?;
    let room = match rooms.entry(r.project) {
        Entry::Occupied(room) => room.into_mut(),
        Entry::Vacant(slot) => slot.insert(port_room(tx, r.project).await?),
    };
    room.take_one()?;
    let allocated = alloc.allocate(&r.store, tx, (r.network, &network_name), r.ip.map(|ip| (ip, "ip_address"))).await;
    // A request refused its address leaves its room to the batch's next ones.
    let (subnet_id, ip) = allocated.inspect_err(|_| room.give_back())?;
    let port = Port {
        id: PortId::new(),
        name: r.name.clone(),
        project_id: r.project,
        network_id: r.network,
        subnet_id,
        ip,
        mac: mac_for(ip),
        container_id: None,
        created_at: flotilla_core::now(),
    };
    // As `port` reads it back: a reservation has no container, so no host and no status.
    Ok(PortRow { port, network_name, container_name: None, host_name: None, status: PortStatus::of(None) })
}
