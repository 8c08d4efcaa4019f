//! Simulated hosts for scenario tests (real agents over HTTP, in-memory runtime), and polling helpers.

use crate::TestRegion;
use flotilla_agent::Agent;
use flotilla_agent::runtime::sim::{SimConfig, SimRuntime};
use flotilla_agent::{AgentConfig, CapacityOverride, Timings};
use flotilla_api::Container;
use flotilla_client::Client;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long a test waits for the region to converge before failing.
pub const CONVERGE_TIMEOUT: Duration = Duration::from_secs(30);

/// A simulated host to add to a test region.
#[derive(Debug, Clone)]
pub struct SimHost {
    name: String,
    zone: String,
    pool: String,
    labels: BTreeMap<String, String>,
    cpus: f64,
    memory_mib: u64,
    latency: Duration,
    tunnel_address: Option<std::net::Ipv4Addr>,
    long_poll_wait_secs: u64,
}

impl SimHost {
    /// A host of 4 CPUs and 8 GiB in no zone or pool.
    pub fn new(name: &str) -> Self {
        SimHost {
            name: name.into(),
            zone: String::new(),
            pool: String::new(),
            labels: BTreeMap::new(),
            cpus: 4.0,
            memory_mib: 8192,
            latency: Duration::ZERO,
            tunnel_address: None,
            long_poll_wait_secs: fast_timings().long_poll_wait_secs,
        }
    }

    pub fn zone(mut self, zone: &str) -> Self {
        self.zone = zone.into();
        self
    }

    pub fn pool(mut self, pool: &str) -> Self {
        self.pool = pool.into();
        self
    }

    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    pub fn cpus(mut self, cpus: f64) -> Self {
        self.cpus = cpus;
        self
    }

    pub fn memory_mib(mut self, memory_mib: u64) -> Self {
        self.memory_mib = memory_mib;
        self
    }

    /// The tunnel address the agent reports at join (the simulated runtime makes no overlay,
    /// but the region hands the host its networks' remote endpoints).
    pub fn tunnel_address(mut self, address: std::net::Ipv4Addr) -> Self {
        self.tunnel_address = Some(address);
        self
    }

    /// How long the agent's long-poll for assignments waits when nothing changes: a long one shows
    /// whether the server wakes it.
    pub fn long_poll_wait_secs(mut self, secs: u64) -> Self {
        self.long_poll_wait_secs = secs;
        self
    }

    /// Added to each runtime operation (a create, a start): work on this host takes a while.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
}

/// Agent clocks short enough for tests.
pub fn fast_timings() -> Timings {
    Timings {
        join_retry_for: Duration::from_secs(10),
        long_poll_wait_secs: 5,
        resync: Duration::from_millis(200),
        full_report: Duration::from_secs(1),
        failure_retry: Duration::from_millis(500),
        probe_tick: Duration::from_millis(100),
        cpu_sample: Duration::from_millis(500),
    }
}

impl TestRegion {
    /// Starts an agent with a simulated runtime that joins this region as `host`.
    pub async fn sim_agent(&self, host: SimHost) -> Agent {
        self.sim_agent_with_runtime(host).await.0
    }

    /// [`TestRegion::sim_agent`], and the handle on its runtime, through which a test makes a
    /// container's probes fail (`set_probe_failure`) or its CPU busy (`set_cpu_percent`).
    /// (A container's environment does the same from the start: `FLOTILLA_SIM_HEALTH=fail`,
    /// `FLOTILLA_SIM_CPU=80`.)
    pub async fn sim_agent_with_runtime(&self, host: SimHost) -> (Agent, Arc<SimRuntime>) {
        let mut config = AgentConfig::new(&self.url, self.join_token().await, &host.name);
        config.zone = host.zone;
        config.pool = host.pool;
        config.labels = host.labels;
        config.capacity = CapacityOverride { cpus: Some(host.cpus), memory_mib: Some(host.memory_mib), disk_mib: None };
        config.timings = Timings { long_poll_wait_secs: host.long_poll_wait_secs, ..fast_timings() };
        config.tunnel_address = host.tunnel_address;
        // As a real agent does: a host started again under its name joins with its saved credential.
        config.state_dir = Some(self.data_dir().join("agents"));
        let runtime = Arc::new(SimRuntime::new(SimConfig { latency: host.latency, ..SimConfig::default() }));
        let agent = Agent::start(config, runtime.clone()).await.expect("simulated agent joins");
        (agent, runtime)
    }
}

/// Polls `check` until it holds; panics naming `what` after [`CONVERGE_TIMEOUT`].
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + CONVERGE_TIMEOUT;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until container `key` is in `status`; panics with its last state otherwise.
pub async fn wait_for_container(client: &Client, key: &str, status: &str) -> Container {
    let deadline = tokio::time::Instant::now() + CONVERGE_TIMEOUT;
    loop {
        let container = client.container(key).await.expect("show container");
        if container.status == status {
            return container;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "container {key} never became {status}: it is {} ({})",
            container.status,
            container.status_reason
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
