//! Wake-ups for agents long-polling their assignments: one `Notify` per host, poked by every
//! change this server makes to that host's set. Changes made by another server are seen by the
//! waiters' periodic re-check of the revision.

use flotilla_core::HostId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

#[derive(Debug, Default)]
pub struct Wakers {
    hosts: Mutex<HashMap<HostId, Arc<Notify>>>,
}

impl Wakers {
    /// What a waiter on `host` awaits.
    pub fn notifier(&self, host: HostId) -> Arc<Notify> {
        self.hosts.lock().expect("wakers lock").entry(host).or_default().clone()
    }

    /// Wakes every agent waiting on `host`.
    pub fn wake(&self, host: HostId) {
        if let Some(notify) = self.hosts.lock().expect("wakers lock").get(&host) {
            notify.notify_waiters();
        }
    }
}
