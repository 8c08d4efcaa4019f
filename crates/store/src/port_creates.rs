//! Group commit of port creates: concurrent `create_port` calls of one store queue their requests,
//! and whichever caller holds the turn writes all that are waiting in one write transaction (one
//! placement lock, one read of each network's subnets, one commit), answering each. Every writer
//! of ports is serialised by the placement lock anyway, so callers that would have waited for
//! each other's commits share one. A request refused (quota, bad or taken address, unknown or
//! full network) is answered with its error and the others go on; when the transaction itself
//! fails, each request is written again in a transaction of its own, so no caller gets another's
//! error.

use crate::ports::{Allocator, PortRow, port_event, write_ports};
use crate::quotas::{PortRoom, port_room};
use crate::{Store, StoreError};
use flotilla_core::event::EventAction;
use flotilla_core::network::{Port, PortStatus, mac_for};
use flotilla_core::{NetworkId, PortId, ProjectId};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::Ipv4Addr;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// The most requests written in one transaction.
const BATCH: usize = 256;

/// One `create_port` call: what it asks, through which handle (whose actor its audit event
/// names), and where its answer goes.
struct Request {
    store: Store,
    project: ProjectId,
    network: NetworkId,
    name: String,
    ip: Option<Ipv4Addr>,
    answer: oneshot::Sender<Result<PortRow, StoreError>>,
}

/// The requests waiting, and the turn to write them; shared by every handle of one store.
#[derive(Default)]
pub(crate) struct PortCreates {
    waiting: Mutex<Vec<Request>>,
    turn: tokio::sync::Mutex<()>,
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
        let (answer, mut answered) = oneshot::channel();
        let request = Request { store: self.clone(), project, network, name: name.to_owned(), ip, answer };
        self.port_creates.waiting.lock().expect("never poisoned").push(request);
        loop {
            let turn = self.port_creates.turn.lock().await;
            match answered.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Closed) => return Err(abandoned()),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let batch: Vec<Request> = {
                let mut waiting = self.port_creates.waiting.lock().expect("never poisoned");
                waiting.retain(|r| !r.answer.is_closed());
                let n = waiting.len().min(BATCH);
                waiting.drain(..n).collect()
            };
            if batch.is_empty() {
                // Ours is in a batch whose caller went away; its task answers it.
                drop(turn);
                return answered.await.unwrap_or_else(|_| Err(abandoned()));
            }
            // A task of its own, so a caller that goes away mid-batch leaves the others answered.
            let _ = tokio::spawn(write_batch(batch)).await;
        }
    }
}

/// The error of a request whose batch's task ended without answering it (it panicked).
fn abandoned() -> StoreError {
    StoreError::Conflict("the port create was abandoned: try again".to_owned())
}

/// Writes `batch` in one transaction and answers each request; when that transaction fails,
/// writes each in one of its own.
async fn write_batch(batch: Vec<Request>) {
    let answers = match batch.as_slice() {
        [] => return,
        [_] => None,
        several => write_together(several).await.ok(),
    };
    match answers {
        Some(answers) => {
            for (request, answer) in batch.into_iter().zip(answers) {
                let _ = request.answer.send(answer);
            }
        }
        None => {
            for request in batch {
                let answer = write_together(std::slice::from_ref(&request)).await.and_then(|mut answers| answers.remove(0));
                let _ = request.answer.send(answer);
            }
        }
    }
}

/// Writes `requests` in one write transaction: each one's answer, or the transaction's error
/// (nothing written).
async fn write_together(requests: &[Request]) -> Result<Vec<Result<PortRow, StoreError>>, StoreError> {
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

/// Request `r`'s port as it will be written, its quota checked (each project's room read once per
/// batch, in `rooms`) and its address allocated; an error here has written nothing.
async fn reserve(
    tx: &mut crate::Tx,
    alloc: &mut Allocator,
    rooms: &mut HashMap<ProjectId, PortRoom>,
    r: &Request,
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
