//! Benchmark: Flotilla beside Docker Swarm on the local Docker Engine, 20 → 40 → 0 replicas of the
//! same image (the workload image, built offline: nothing is pulled).
//!
//! Flotilla: a real `flotilla server` and one `flotilla agent`; a cluster of 20 nodes until every
//! node is ACTIVE and Docker runs 20 of its containers, a resize to 40 until 40 are, its delete
//! until the action ended and Docker holds none. Swarm: a one-node swarm (initialised for the run
//! when the engine is not in one, and left at the end), a service of 20 replicas until Docker
//! runs 20 of its tasks' containers, a scale to 40, its removal until Docker holds none. Each
//! round runs Flotilla then Swarm; prints each phase's median over the rounds and the ratio
//! Flotilla/Swarm, and fails when a phase does not complete. Removes everything it made.
//!
//! Run it with `cargo build --release -p flotilla && cargo bench -p flotilla --bench swarm`;
//! `FLOTILLA_BENCH_ROUNDS` (3) sets the rounds.

mod roles;

use anyhow::{Context, Result, bail};
use flotilla_api::{ClusterActionRequest, ClusterFilter, ListQuery, NodeFilter, ResizeParams};
use flotilla_client::Client;
use flotilla_core::profile::ContainerProperties;
use roles::docker::{LocalRegion, PASSWORD, docker_cli, docker_filtered, docker_ids};
use roles::{timed, warn_on};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The replicas of the first phase; the second doubles them.
const REPLICAS: usize = 20;
/// The longest a phase may take.
const TIMEOUT: Duration = Duration::from_secs(180);
/// How often a phase's end is looked for (the same on both sides).
const POLL: Duration = Duration::from_millis(50);
/// Default networks come from here: Docker tests and benches share one engine, each keeps to its own addresses.
const NETWORK_POOL: &str = "10.230.0.0/16";
/// Swarm's label of a task's container, naming its service.
const SWARM_SERVICE_LABEL: &str = "com.docker.swarm.service.name";
const PHASES: [&str; 3] = ["up 0 → 20", "scale 20 → 40", "delete 40 → 0"];

fn main() -> ExitCode {
    let rounds = std::env::var("FLOTILLA_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3usize).max(1);
    match run(rounds) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(rounds: usize) -> Result<()> {
    let bench = Bench::start()?;
    let swarm = Swarm::join();
    let measured = swarm.and_then(|swarm| {
        let measured = bench.measure(&swarm, rounds);
        swarm.leave();
        measured
    });
    bench.clean_up();
    measured
}

/// The seconds of each phase, one entry per round.
#[derive(Default)]
struct Times([Vec<f64>; 3]);

impl Times {
    fn push(&mut self, phases: [Duration; 3]) {
        for (times, took) in self.0.iter_mut().zip(phases) {
            times.push(took.as_secs_f64());
        }
    }

    fn median(&self, phase: usize) -> f64 {
        let mut times = self.0[phase].clone();
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    }
}

/// The Flotilla region and the API client of its admin.
struct Bench {
    region: LocalRegion,
    client: Client,
    runtime: tokio::runtime::Runtime,
}

impl Bench {
    /// Starts the region, loads the workload image into Docker for Swarm (the agent then finds it
    /// there too) and makes the profile of the clusters; stops the region again when that fails.
    fn start() -> Result<Self> {
        let mut region = LocalRegion::start(&["--network-pool", NETWORK_POOL])?;
        let prepared = (|| -> Result<_> {
            docker_cli(&["load", "-i", &region.archive]).context("loading the workload image into Docker")?;
            let runtime = tokio::runtime::Runtime::new().context("cannot start a Tokio runtime")?;
            let client = runtime.block_on(roles::admin(&region.url, PASSWORD))?;
            let properties = ContainerProperties { image: region.tag.clone(), ..Default::default() };
            runtime.block_on(roles::create_profile(&client, "swarm-bench", properties))?;
            Ok((client, runtime))
        })();
        match prepared {
            Ok((client, runtime)) => Ok(Self { region, client, runtime }),
            Err(e) => {
                region.stop();
                Err(e)
            }
        }
    }

    /// `rounds` rounds of Flotilla then Swarm; prints the table of medians.
    fn measure(&self, swarm: &Swarm, rounds: usize) -> Result<()> {
        let (mut flotilla, mut docker) = (Times::default(), Times::default());
        for round in 1..=rounds {
            let f = self.flotilla_round(round).with_context(|| format!("Flotilla, round {round}"))?;
            let s = swarm.round(&self.region, round).with_context(|| format!("Swarm, round {round}"))?;
            eprintln!("round {round}: Flotilla {} | Swarm {}", seconds(&f), seconds(&s));
            flotilla.push(f);
            docker.push(s);
        }
        println!(
            "{REPLICAS} → {} → 0 replicas of {} on Docker Engine {}, median of {rounds} round(s)",
            REPLICAS * 2,
            self.region.tag,
            docker_cli(&["version", "--format", "{{.Server.Version}}"])?
        );
        println!("{:<16}{:>12}{:>12}{:>8}", "phase", "Flotilla s", "Swarm s", "ratio");
        for (i, phase) in PHASES.iter().enumerate() {
            let (f, s) = (flotilla.median(i), docker.median(i));
            println!("{phase:<16}{f:>12.2}{s:>12.2}{:>8.2}", f / s);
        }
        Ok(())
    }

    /// Cluster `swarm-bench-ROUND`: created with 20 nodes, resized to 40, deleted.
    fn flotilla_round(&self, round: usize) -> Result<[Duration; 3]> {
        let name = format!("swarm-bench-{round}");
        let host = self.region.host_label();
        let up = timed(|| {
            let action = self.runtime.block_on(roles::create_cluster(&self.client, &name, "swarm-bench", REPLICAS as i64, 600))?;
            self.converge(&action, &name, &[&host], REPLICAS)
        })?;
        let scale = timed(|| {
            let resize =
                ResizeParams { adjustment_type: Some("EXACT_CAPACITY".into()), number: Some((REPLICAS * 2) as f64), ..Default::default() };
            let action = self.runtime.block_on(self.client.cluster_action(&name, &ClusterActionRequest::Resize(resize)))?;
            self.converge(&action.action.to_string(), &name, &[&host], REPLICAS * 2)
        })?;
        let delete = timed(|| {
            let action = self.runtime.block_on(self.client.delete_cluster(&name, false))?;
            self.wait_action(&action.action.to_string())?;
            until_gone(&[&host])
        })?;
        Ok([up, scale, delete])
    }

    /// Waits for `action`, then until `count` nodes of `cluster` are ACTIVE and Docker runs `count`
    /// containers carrying `labels`.
    fn converge(&self, action: &str, cluster: &str, labels: &[&str], count: usize) -> Result<()> {
        self.wait_action(action)?;
        let filter = NodeFilter { cluster: Some(cluster.into()), status: Some("ACTIVE".into()) };
        let active = self.runtime.block_on(self.client.all_nodes(&filter))?.len();
        if active != count {
            bail!("{active} of {count} nodes ACTIVE after the action");
        }
        until_running(labels, count)
    }

    /// Polls `action` until it ends; an error unless it succeeded.
    fn wait_action(&self, action: &str) -> Result<()> {
        poll(&format!("action {action}"), || {
            let a = self.runtime.block_on(self.client.action(action))?;
            match a.status.as_str() {
                "SUCCEEDED" => Ok(true),
                "FAILED" | "CANCELLED" => bail!("{} ended {}: {}", a.name, a.status, a.status_reason),
                _ => Ok(false),
            }
        })
    }

    /// Deletes what is left of the clusters and stops the region; what fails is printed as a warning.
    fn clean_up(mut self) {
        let clusters = self.runtime.block_on(self.client.list_clusters(&ListQuery::default(), &ClusterFilter::default()));
        for cluster in clusters.map(|page| page.clusters).unwrap_or_default() {
            let deleted = self.runtime.block_on(self.client.delete_cluster(&cluster.name, true));
            warn_on("deleting a cluster", deleted.map_err(Into::into).and_then(|a| self.wait_action(&a.action.to_string())));
        }
        self.region.stop();
    }
}

/// Swarm's bridge to the outside, made by `docker swarm init` and kept by `docker swarm leave`.
const SWARM_BRIDGE: &str = "docker_gwbridge";

/// The local engine in a swarm for the bench: `owned` when the bench initialised it, and
/// `owned_bridge` when that made [`SWARM_BRIDGE`] too.
struct Swarm {
    owned: bool,
    owned_bridge: bool,
}

impl Swarm {
    /// Initialises a one-node swarm unless the engine is in one already.
    fn join() -> Result<Self> {
        let state = docker_cli(&["info", "--format", "{{.Swarm.LocalNodeState}}"])?;
        match state.as_str() {
            "active" => Ok(Self { owned: false, owned_bridge: false }),
            "inactive" => {
                let bridge_existed = !docker_cli(&["network", "ls", "-q", "--filter", &format!("name=^{SWARM_BRIDGE}$")])?.is_empty();
                docker_cli(&["swarm", "init", "--advertise-addr", "127.0.0.1"]).context("initialising a swarm")?;
                Ok(Self { owned: true, owned_bridge: !bridge_existed })
            }
            other => bail!("the engine's swarm is {other:?}: neither active nor inactive"),
        }
    }

    /// Service `flotilla-bench-SUFFIX-ROUND`: created with 20 replicas, scaled to 40, removed.
    fn round(&self, region: &LocalRegion, round: usize) -> Result<[Duration; 3]> {
        let name = format!("flotilla-bench-{}-{round}", region.suffix);
        let label = format!("{SWARM_SERVICE_LABEL}={name}");
        let measured = self.phases(&name, &label, &region.tag);
        if measured.is_err() {
            warn_on("removing the service", docker_cli(&["service", "rm", &name]).map(drop));
            warn_on("waiting for its containers to go", until_gone(&[&label]));
        }
        measured
    }

    fn phases(&self, name: &str, label: &str, image: &str) -> Result<[Duration; 3]> {
        let replicas = REPLICAS.to_string();
        let create = ["service", "create", "--detach", "--no-resolve-image", "--replicas", &replicas, "--name", name, image];
        let up = timed(|| {
            docker_cli(&create)?;
            until_running(&[label], REPLICAS)
        })?;
        let scale = timed(|| {
            docker_cli(&["service", "scale", "--detach", &format!("{name}={}", REPLICAS * 2)])?;
            until_running(&[label], REPLICAS * 2)
        })?;
        let delete = timed(|| {
            docker_cli(&["service", "rm", name])?;
            until_gone(&[label])
        })?;
        Ok([up, scale, delete])
    }

    /// Leaves the swarm when the bench made it, and removes the bridge that made.
    fn leave(self) {
        if self.owned {
            warn_on("leaving the swarm", docker_cli(&["swarm", "leave", "--force"]).map(drop));
        }
        if self.owned_bridge {
            warn_on("removing the swarm's bridge", docker_cli(&["network", "rm", SWARM_BRIDGE]).map(drop));
        }
    }
}

/// Waits until Docker runs `count` containers carrying `labels`.
fn until_running(labels: &[&str], count: usize) -> Result<()> {
    poll(
        &format!("{count} containers running"),
        || Ok(docker_filtered(&["ps", "-q", "--filter", "status=running"], labels)?.len() >= count),
    )
}

/// Waits until Docker holds no container carrying `labels`, running or not.
fn until_gone(labels: &[&str]) -> Result<()> {
    poll("no container left", || Ok(docker_ids(labels)?.is_empty()))
}

/// Calls `done` every [`POLL`] until it answers true; an error after [`TIMEOUT`].
fn poll(what: &str, mut done: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + TIMEOUT;
    while !done()? {
        if Instant::now() > deadline {
            bail!("{what}: not within {TIMEOUT:?}");
        }
        std::thread::sleep(POLL);
    }
    Ok(())
}

fn seconds(phases: &[Duration; 3]) -> String {
    phases.iter().map(|d| format!("{:.2}", d.as_secs_f64())).collect::<Vec<_>>().join(" / ")
}
