//! The region's gauges, set from the store at scrape time: hosts by state, containers by status,
//! the engines' queue (READY, RUNNING and WAITING actions) and each subnet's addresses.

use flotilla_core::container::ContainerStatus;
use flotilla_core::scheduler::HostState;
use flotilla_store::RegionCounts;
use prometheus::{IntGaugeVec, Opts, Registry};

/// The statuses of the engines' queue.
const QUEUED: [&str; 3] = ["READY", "RUNNING", "WAITING"];

pub struct RegionGauges {
    hosts: IntGaugeVec,
    containers: IntGaugeVec,
    queue: IntGaugeVec,
    subnet_allocated: IntGaugeVec,
    subnet_size: IntGaugeVec,
}

impl RegionGauges {
    pub fn new() -> Self {
        let gauge = |name: &str, help: &str, labels: &[&str]| IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
        let subnet = ["subnet", "network", "cidr"];
        Self {
            hosts: gauge("region_hosts", "Hosts, by state", &["state"]),
            containers: gauge("region_containers", "Containers, by status", &["status"]),
            queue: gauge("engine_queue_depth", "Actions waiting for or held by the region's engines, by status", &["status"]),
            subnet_allocated: gauge("region_subnet_addresses_allocated", "Addresses of a subnet held by ports", &subnet),
            subnet_size: gauge("region_subnet_addresses_size", "Addresses a subnet can hand out", &subnet),
        }
    }

    pub fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        for gauge in [&self.hosts, &self.containers, &self.queue, &self.subnet_allocated, &self.subnet_size] {
            registry.register(Box::new(gauge.clone()))?;
        }
        Ok(())
    }

    /// Sets every gauge to `counts` (every known state and status present, 0 when none; subnets
    /// deleted since the last scrape gone).
    pub fn set(&self, counts: &RegionCounts) {
        for state in HostState::ALL {
            self.hosts.with_label_values(&[state.as_str()]).set(at(&counts.hosts, state.as_str()));
        }
        for status in ContainerStatus::ALL {
            self.containers.with_label_values(&[status.as_str()]).set(at(&counts.containers, status.as_str()));
        }
        for status in QUEUED {
            self.queue.with_label_values(&[status]).set(at(&counts.actions, status));
        }
        self.subnet_allocated.reset();
        self.subnet_size.reset();
        for s in &counts.subnets {
            let labels = [s.id.to_string(), s.network.clone(), s.cidr.to_string()];
            let labels = labels.each_ref().map(String::as_str);
            self.subnet_allocated.with_label_values(&labels).set(s.allocated as i64);
            self.subnet_size.with_label_values(&labels).set(s.size as i64);
        }
    }
}

fn at<K: Ord + std::borrow::Borrow<str>>(counts: &std::collections::BTreeMap<K, u64>, key: &str) -> i64 {
    counts.get(key).copied().unwrap_or(0) as i64
}
