//! Benchmark: placements per second over 10,000 hosts, each placement claiming its resources.
//! Run with `cargo bench -p flotilla-core --bench scheduler`; prints its figures.

use flotilla_core::scheduler::{HostState, HostView, Request, Resources, Settings, place};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

const HOSTS: usize = 10_000;
const PLACEMENTS: usize = 20_000;

fn main() {
    let mut hosts: Vec<HostView> = (0..HOSTS)
        .map(|i| HostView {
            name: format!("host-{i:05}"),
            zone: format!("az{}", i % 3),
            pool: "default".into(),
            labels: BTreeMap::from([("disk".into(), if i % 2 == 0 { "ssd" } else { "hdd" }.into())]),
            state: if i % 50 == 0 { HostState::Down } else { HostState::Up },
            capacity: Resources { cpu_millis: 16_000, memory_mib: 65_536, disk_mib: 1_000_000 },
            allocated: Resources::default(),
            cpu_utilisation: (i % 97) as f64 / 100.0,
            host_ports: BTreeSet::new(),
            cluster_members: 0,
            containers: 0,
            images: BTreeSet::new(),
        })
        .collect();
    let request = Request {
        resources: Resources { cpu_millis: 250, memory_mib: 128, disk_mib: 0 },
        image: "workload".into(),
        constraints: vec!["label.disk == ssd".into()],
        ..Default::default()
    };
    let settings = Settings::default();
    let started = Instant::now();
    for _ in 0..PLACEMENTS {
        let name = place(&hosts, &request, &settings).expect("the fleet has room").name.clone();
        let host = hosts.iter_mut().find(|h| h.name == name).expect("placed on a known host");
        host.allocated.cpu_millis += request.resources.cpu_millis;
        host.allocated.memory_mib += request.resources.memory_mib;
        host.cluster_members += 1;
        host.cpu_utilisation = (host.cpu_utilisation + 0.01).min(1.0);
    }
    let elapsed = started.elapsed();
    println!("scheduler: {PLACEMENTS} placements over {HOSTS} hosts in {:.2?}", elapsed);
    println!(
        "scheduler: {:.0} placements/s ({:.1} µs each)",
        PLACEMENTS as f64 / elapsed.as_secs_f64(),
        elapsed.as_micros() as f64 / PLACEMENTS as f64
    );
}
