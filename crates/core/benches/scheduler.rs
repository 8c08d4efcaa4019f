//! Benchmark: placements per second over 10,000 and 1,000 hosts, each placement claiming its
//! resources (and a member of the cluster) on the chosen host, through the indexed `Fleet` the
//! store uses; beside it the cost of indexing a new request shape, of a no-fit (the explanation
//! over every host), and the plain `place` scan. Run with `cargo bench -p flotilla-core --bench scheduler`.

use flotilla_core::ClusterId;
use flotilla_core::scheduler::{Fleet, HostState, HostView, Request, Resources, Settings, place};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// `n` hosts: every 50th DOWN, half of them `disk=ssd`, three zones, assorted CPU use.
fn hosts(n: usize) -> Vec<HostView> {
    (0..n)
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
        .collect()
}

fn request(memory_mib: u64) -> Request {
    Request {
        resources: Resources { cpu_millis: 250, memory_mib, disk_mib: 0 },
        image: "workload".into(),
        constraints: vec!["label.disk == ssd".into()],
        ..Default::default()
    }
}

/// Places `placements` members of one cluster over `n` hosts, each claim applied to its host;
/// answers the times of the first placement (a scan), the second (ordering the shape's hosts) and all.
fn placements(n: usize, placements: usize) -> (Duration, Duration, Duration) {
    let mut fleet = Fleet::new(hosts(n));
    let (request, settings, cluster) = (request(128), Settings::default(), ClusterId::new());
    let started = Instant::now();
    let mut firsts = Vec::with_capacity(2);
    for _ in 0..placements {
        let placing = Instant::now();
        let index = fleet.place(&request, &settings, Some(cluster)).expect("the fleet has room");
        if firsts.len() < 2 {
            firsts.push(placing.elapsed());
        }
        fleet.update(index, |host| {
            host.allocated.cpu_millis += request.resources.cpu_millis;
            host.allocated.memory_mib += request.resources.memory_mib;
            host.containers += 1;
            host.cpu_utilisation = (host.cpu_utilisation + 0.01).min(1.0);
        });
        fleet.add_member(cluster, index);
    }
    (firsts[0], firsts[1], started.elapsed())
}

fn per_second(count: usize, elapsed: Duration) -> String {
    format!("{:.0}/s ({:.2} µs each)", count as f64 / elapsed.as_secs_f64(), elapsed.as_secs_f64() * 1e6 / count as f64)
}

fn main() {
    for (n, count) in [(10_000, 200_000), (1_000, 50_000)] {
        let (first, second, elapsed) = placements(n, count);
        println!("scheduler: {count} placements over {n} hosts in {elapsed:.2?}: {}", per_second(count, elapsed));
        println!("scheduler: a new request shape over {n} hosts: first placement (a scan) {first:.2?}, second (ordering) {second:.2?}");
    }

    let mut fleet = Fleet::new(hosts(10_000));
    let (too_big, settings) = (request(1 << 20), Settings::default());
    let explanation = fleet.place(&too_big, &settings, None).expect_err("nothing has a TiB of memory").to_string();
    const NO_FITS: usize = 200;
    let started = Instant::now();
    for _ in 0..NO_FITS {
        assert!(fleet.place(&too_big, &settings, None).is_err());
    }
    println!("scheduler: no-fit over 10000 hosts: {} ({explanation})", per_second(NO_FITS, started.elapsed()));

    let mut views = hosts(10_000);
    let request = request(128);
    const SCANS: usize = 1_000;
    let started = Instant::now();
    for _ in 0..SCANS {
        let chosen = place(&views, &request, &settings).expect("the fleet has room");
        let index = views.iter().position(|v| std::ptr::eq(v, chosen)).expect("one of the views");
        let host = &mut views[index];
        host.allocated.cpu_millis += request.resources.cpu_millis;
        host.allocated.memory_mib += request.resources.memory_mib;
        host.cluster_members += 1;
        host.containers += 1;
        host.cpu_utilisation = (host.cpu_utilisation + 0.01).min(1.0);
    }
    println!("scheduler: plain scan (`place`) over 10000 hosts: {}", per_second(SCANS, started.elapsed()));
}
