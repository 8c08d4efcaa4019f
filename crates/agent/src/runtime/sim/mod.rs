//! The simulated runtime: containers, networks and volumes in memory, with optional latency and
//! injected failures. Cheap enough that one process runs thousands of them (one per simulated host).
//! Networks and volumes follow Docker's rules, a little stricter: a container is created only on
//! networks and with volumes that exist, and neither is removed while a container, even a
//! stopped one, uses it.
//!
//! Health and CPU use are made up, and tests set them, in two ways:
//! - in the container's environment: `FLOTILLA_SIM_HEALTH=fail` makes every probe of it fail
//!   (it turns unhealthy after its check's `retries`); `FLOTILLA_SIM_CPU=80` makes it use 80 %
//!   (of one core, as `docker stats` counts);
//! - on the runtime's handle, by Flotilla container id, which wins over the environment and holds
//!   for later generations of that container on this runtime: [`SimRuntime::set_probe_failure`]
//!   and [`SimRuntime::set_cpu_percent`].
//!
//! Without either, probes pass and the reported CPU use is 0; `stats` and the host's utilisation
//! then keep their own figure (half the container's CPU limit busy).

mod archive;
mod objects;

use crate::runtime::{
    ArchiveStream, AttachedExec, ByteStream, ContainerRuntime, CreateSpec, Endpoint, LogOptions, NetworkSpec, ProbeOutcome,
    RuntimeContainer, RuntimeError, RuntimeObject, RuntimeState, VolumeSpec,
};
use archive::{ArchiveError, ArchiveSkimmer};
use async_trait::async_trait;
use bytes::Bytes;
use flotilla_api::agent::{LABEL_HOST, LABEL_NETWORK, LABEL_VOLUME};
use flotilla_api::{Capacity, ContainerStats, ContainerTop, ExecResult, ExecSession, HostUtilisation, TerminalSize};
use flotilla_core::profile::Healthcheck;
use futures::{StreamExt, TryStreamExt, stream};
use objects::SimObjects;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// A simulated container keeps this share of its CPU limit busy.
const CPU_SHARE: f64 = 0.5;
/// CPU (cores) a simulated container without a limit keeps busy.
const UNLIMITED_CPU: f64 = 0.05;
/// Memory (MiB) a simulated container without a limit uses.
const UNLIMITED_MEMORY_MIB: u64 = 16;
/// `fail` in a container's environment makes its probes fail.
pub const SIM_HEALTH_ENV: &str = "FLOTILLA_SIM_HEALTH";
/// A percent in a container's environment (`80`, `12.5`) is the CPU use it shows.
pub const SIM_CPU_ENV: &str = "FLOTILLA_SIM_CPU";

/// How a simulated host behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub capacity: Capacity,
    /// Added to every operation that changes a container, runs in it or loads an image.
    pub latency: Duration,
    /// Share (0..1) of creates and starts that fail with an injected error.
    pub failure_rate: f64,
    /// Seeds the failure dice and the container ids.
    pub seed: u64,
    /// Every image reference counts as present (as if pulled); when false, only loaded images are.
    pub all_images_present: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            capacity: Capacity { cpus: 4.0, memory_mib: 8192, disk_mib: 100 * 1024 },
            latency: Duration::ZERO,
            failure_rate: 0.0,
            seed: 0,
            all_images_present: true,
        }
    }
}

#[derive(Debug)]
struct SimContainer {
    /// Its Flotilla container id (label `flotilla.container`).
    container_id: Uuid,
    name: String,
    labels: BTreeMap<String, String>,
    command: Vec<String>,
    state: RuntimeState,
    exit_code: Option<i64>,
    cpu: Option<f64>,
    memory_mib: Option<u64>,
    /// (Unix seconds, line).
    log: Vec<(i64, String)>,
    /// Why its probes fail, from `FLOTILLA_SIM_HEALTH=fail`.
    probe_failure: Option<String>,
    /// The CPU use it shows, from `FLOTILLA_SIM_CPU`.
    cpu_percent: Option<f64>,
    /// The networks it is connected to, by name (`bridge` or `host` without Flotilla networks).
    networks: Vec<String>,
    /// The volumes it mounts, by name.
    volumes: Vec<String>,
}

/// What a test set on the runtime's handle for one Flotilla container.
#[derive(Debug, Clone, Default)]
struct Injected {
    /// `Some(None)`: probes pass; `Some(Some(reason))`: they fail.
    probe_failure: Option<Option<String>>,
    cpu_percent: Option<f64>,
}

impl SimContainer {
    fn note(&mut self, line: String) {
        self.log.push((unix_now(), line));
    }

    fn busy_cpu(&self) -> f64 {
        self.cpu.map_or(UNLIMITED_CPU, |c| c * CPU_SHARE)
    }

    /// The CPU use (cores) `stats` and the host's utilisation count: what a test set, else half its limit.
    fn used_cores(&self, injected: Option<&Injected>) -> f64 {
        self.simulated_cpu(injected).map_or_else(|| self.busy_cpu(), |percent| percent / 100.0)
    }

    /// The CPU use (percent) a test set on the handle or in the environment.
    fn simulated_cpu(&self, injected: Option<&Injected>) -> Option<f64> {
        injected.and_then(|i| i.cpu_percent).or(self.cpu_percent)
    }

    fn probe_failure(&self, injected: Option<&Injected>) -> Option<String> {
        injected.and_then(|i| i.probe_failure.clone()).unwrap_or_else(|| self.probe_failure.clone())
    }

    fn used_memory_mib(&self) -> u64 {
        self.memory_mib.map_or(UNLIMITED_MEMORY_MIB, |m| m / 2)
    }

    fn is_up(&self) -> bool {
        matches!(self.state, RuntimeState::Running | RuntimeState::Paused | RuntimeState::Restarting)
    }
}

#[derive(Debug)]
struct SimState {
    containers: HashMap<String, SimContainer>,
    /// Loaded images by tag, and by Docker id (`sha256:…`).
    images: BTreeSet<String>,
    image_ids: BTreeSet<String>,
    rng: StdRng,
    /// By Flotilla container id.
    injected: HashMap<Uuid, Injected>,
    networks: SimObjects,
    volumes: SimObjects,
}

/// The in-memory runtime.
#[derive(Debug)]
pub struct SimRuntime {
    config: SimConfig,
    state: Mutex<SimState>,
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A signal's number from its name (`SIGTERM`, `TERM`) or number.
fn signal_number(signal: &str) -> Option<i64> {
    if let Ok(n) = signal.parse::<i64>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let name = signal.trim_start_matches("SIG");
    let known = [("HUP", 1), ("INT", 2), ("QUIT", 3), ("KILL", 9), ("USR1", 10), ("USR2", 12), ("TERM", 15), ("STOP", 19)];
    known.iter().find(|(n, _)| *n == name).map(|(_, number)| *number)
}

/// The simulated runtime keeps no file systems: copying files is refused (409).
fn no_files() -> RuntimeError {
    RuntimeError::Conflict("the simulated runtime holds no files: copying files needs the docker runtime".into())
}

fn not_found(id: &str) -> RuntimeError {
    RuntimeError::NotFound(format!("No such container: {id}"))
}

fn not_running(id: &str) -> RuntimeError {
    RuntimeError::Conflict(format!("Container {id} is not running"))
}

impl SimState {
    /// Remembers an image the runtime now holds, by tag or by id.
    fn note_image(&mut self, image: &str) {
        let set = if flotilla_core::image::names_an_id(image) { &mut self.image_ids } else { &mut self.images };
        set.insert(image.to_owned());
    }

    fn holds_image(&self, image: &str) -> bool {
        self.images.contains(image) || self.image_ids.contains(image)
    }
}

impl SimRuntime {
    pub fn new(config: SimConfig) -> Self {
        let rng = StdRng::seed_from_u64(config.seed);
        let state = SimState {
            containers: HashMap::new(),
            images: BTreeSet::new(),
            image_ids: BTreeSet::new(),
            rng,
            injected: HashMap::new(),
            networks: SimObjects::new("network", LABEL_NETWORK),
            volumes: SimObjects::new("volume", LABEL_VOLUME),
        };
        Self { config, state: Mutex::new(state) }
    }

    /// Makes every later probe of Flotilla container `container_id` fail with `reason`, or pass
    /// with `None`, whatever its environment says; holds for its later generations on this runtime.
    pub fn set_probe_failure(&self, container_id: Uuid, reason: Option<&str>) {
        self.lock().injected.entry(container_id).or_default().probe_failure = Some(reason.map(str::to_owned));
    }

    /// Sets the CPU use (percent, 100 = one core busy) Flotilla container `container_id` shows in
    /// reports, `stats` and the host's utilisation, whatever its environment says.
    pub fn set_cpu_percent(&self, container_id: Uuid, percent: f64) {
        self.lock().injected.entry(container_id).or_default().cpu_percent = Some(percent);
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        // A panic while holding the lock cannot leave the maps half-updated in a harmful way.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn delay(&self) {
        if !self.config.latency.is_zero() {
            tokio::time::sleep(self.config.latency).await;
        }
    }

    fn roll(&self, state: &mut SimState, operation: &'static str) -> Result<(), RuntimeError> {
        if self.config.failure_rate > 0.0 && state.rng.random::<f64>() < self.config.failure_rate {
            Err(RuntimeError::Injected { operation })
        } else {
            Ok(())
        }
    }

    /// Runs `f` on container `id` after the configured latency.
    async fn with<T>(&self, id: &str, f: impl FnOnce(&mut SimContainer) -> Result<T, RuntimeError>) -> Result<T, RuntimeError> {
        self.delay().await;
        let mut state = self.lock();
        let container = state.containers.get_mut(id).ok_or_else(|| not_found(id))?;
        f(container)
    }

    fn view(id: &str, c: &SimContainer) -> Option<RuntimeContainer> {
        let labels: HashMap<String, String> = c.labels.clone().into_iter().collect();
        RuntimeContainer::from_labels(id.to_owned(), c.name.clone(), &labels, c.state, c.exit_code, c.networks.clone())
    }
}

/// The simulated runtime runs commands one-shot only.
const NO_INTERACTIVE_EXEC: RuntimeError =
    RuntimeError::Unsupported { runtime: "sim", what: "run an interactive exec: use `container exec` without -i and -t" };

#[async_trait]
impl ContainerRuntime for SimRuntime {
    fn kind(&self) -> &'static str {
        "sim"
    }

    async fn capacity(&self) -> Result<Capacity, RuntimeError> {
        Ok(self.config.capacity)
    }

    async fn utilisation(&self) -> Result<HostUtilisation, RuntimeError> {
        let state = self.lock();
        let running = state.containers.values().filter(|c| c.state == RuntimeState::Running);
        let (cpu, memory) =
            running.fold((0.0, 0), |(cpu, mem), c| (cpu + c.used_cores(state.injected.get(&c.container_id)), mem + c.used_memory_mib()));
        let cpus = self.config.capacity.cpus.max(f64::MIN_POSITIVE);
        Ok(HostUtilisation { cpu_percent: (cpu / cpus * 100.0).min(100.0), memory_used_mib: memory })
    }

    async fn list(&self, host_id: Uuid) -> Result<Vec<RuntimeContainer>, RuntimeError> {
        let host = host_id.to_string();
        let state = self.lock();
        Ok(state
            .containers
            .iter()
            .filter(|(_, c)| c.labels.get(LABEL_HOST) == Some(&host))
            .filter_map(|(id, c)| Self::view(id, c))
            .collect())
    }

    async fn create(&self, spec: &CreateSpec) -> Result<String, RuntimeError> {
        self.delay().await;
        let mut state = self.lock();
        self.roll(&mut state, "create")?;
        if state.containers.values().any(|c| c.name == spec.name) {
            return Err(RuntimeError::Conflict(format!("the container name \"/{}\" is already in use", spec.name)));
        }
        if self.config.all_images_present {
            state.note_image(&spec.image);
        } else if !state.holds_image(&spec.image) {
            return Err(RuntimeError::ImageMissing(spec.image.clone()));
        }
        for endpoint in &spec.networks {
            state.networks.require(&endpoint.network)?;
        }
        for mount in &spec.mounts {
            state.volumes.require(&mount.volume)?;
        }
        let default_network = if spec.properties.host_network { "host" } else { "bridge" };
        let networks = match spec.networks.as_slice() {
            [] => vec![default_network.to_owned()],
            endpoints => endpoints.iter().map(|e| e.network.clone()).collect(),
        };
        let id: String = (0..4).map(|_| format!("{:016x}", state.rng.random::<u64>())).collect();
        let environment = &spec.properties.environment;
        let mut container = SimContainer {
            container_id: spec.container_id,
            name: spec.name.clone(),
            labels: spec.labels(),
            command: spec.properties.command.clone(),
            state: RuntimeState::Created,
            exit_code: None,
            cpu: spec.properties.cpu,
            memory_mib: spec.properties.memory,
            log: Vec::new(),
            probe_failure: (environment.get(SIM_HEALTH_ENV).map(String::as_str) == Some("fail"))
                .then(|| format!("simulated failure ({SIM_HEALTH_ENV}=fail)")),
            cpu_percent: environment.get(SIM_CPU_ENV).and_then(|p| p.parse::<f64>().ok()).filter(|p| p.is_finite() && *p >= 0.0),
            networks,
            volumes: spec.mounts.iter().map(|m| m.volume.clone()).collect(),
        };
        container.note(format!("sim: created {} from {}", spec.name, spec.image));
        state.containers.insert(id.clone(), container);
        Ok(id)
    }

    async fn start(&self, id: &str) -> Result<(), RuntimeError> {
        self.delay().await;
        let mut state = self.lock();
        self.roll(&mut state, "start")?;
        let c = state.containers.get_mut(id).ok_or_else(|| not_found(id))?;
        match c.state {
            RuntimeState::Running | RuntimeState::Restarting => Ok(()),
            RuntimeState::Paused => Err(RuntimeError::Conflict(format!("cannot start a paused container {id}, try unpause instead"))),
            RuntimeState::Created | RuntimeState::Exited => {
                c.state = RuntimeState::Running;
                c.exit_code = None;
                c.note(format!("sim: started {}", c.command.join(" ")));
                Ok(())
            }
        }
    }

    async fn stop(&self, id: &str, _timeout_secs: u32) -> Result<(), RuntimeError> {
        self.with(id, |c| {
            if c.is_up() {
                c.state = RuntimeState::Exited;
                c.exit_code = Some(0);
                c.note("sim: stopped".to_owned());
            }
            Ok(())
        })
        .await
    }

    async fn restart(&self, id: &str, _timeout_secs: u32) -> Result<(), RuntimeError> {
        self.with(id, |c| {
            c.state = RuntimeState::Running;
            c.exit_code = None;
            c.note("sim: restarted".to_owned());
            Ok(())
        })
        .await
    }

    async fn kill(&self, id: &str, signal: &str) -> Result<(), RuntimeError> {
        let number = signal_number(signal).ok_or_else(|| RuntimeError::InvalidArgument(format!("invalid signal: {signal}")))?;
        self.with(id, |c| {
            if c.state != RuntimeState::Running {
                return Err(not_running(id));
            }
            c.state = RuntimeState::Exited;
            c.exit_code = Some(128 + number);
            c.note(format!("sim: killed by signal {number}"));
            Ok(())
        })
        .await
    }

    async fn pause(&self, id: &str) -> Result<(), RuntimeError> {
        self.with(id, |c| match c.state {
            RuntimeState::Running => {
                c.state = RuntimeState::Paused;
                Ok(())
            }
            RuntimeState::Paused => Err(RuntimeError::Conflict(format!("Container {id} is already paused"))),
            _ => Err(not_running(id)),
        })
        .await
    }

    async fn unpause(&self, id: &str) -> Result<(), RuntimeError> {
        self.with(id, |c| {
            if c.state != RuntimeState::Paused {
                return Err(RuntimeError::Conflict(format!("Container {id} is not paused")));
            }
            c.state = RuntimeState::Running;
            Ok(())
        })
        .await
    }

    async fn remove(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
        self.delay().await;
        let mut state = self.lock();
        let c = state.containers.get(id).ok_or_else(|| not_found(id))?;
        if c.is_up() && !force {
            return Err(RuntimeError::Conflict(format!("You cannot remove a running container {id}. Stop the container before removing")));
        }
        state.containers.remove(id);
        Ok(())
    }

    async fn inspect(&self, id: &str) -> Result<RuntimeContainer, RuntimeError> {
        let state = self.lock();
        let c = state.containers.get(id).ok_or_else(|| not_found(id))?;
        Self::view(id, c).ok_or_else(|| not_found(id))
    }

    async fn logs(&self, id: &str, options: LogOptions) -> Result<ByteStream, RuntimeError> {
        let lines: Vec<Result<Bytes, RuntimeError>> = {
            let state = self.lock();
            let c = state.containers.get(id).ok_or_else(|| not_found(id))?;
            let since = options.since.unwrap_or(i64::MIN);
            let kept: Vec<&(i64, String)> = c.log.iter().filter(|(at, _)| *at >= since).collect();
            let skip = options.tail.map_or(0, |t| kept.len().saturating_sub(usize::try_from(t).unwrap_or(usize::MAX)));
            kept.into_iter()
                .skip(skip)
                .map(|(at, line)| {
                    let stamp = if options.timestamps { format!("{at} ") } else { String::new() };
                    Ok(Bytes::from(format!("{stamp}{line}\n")))
                })
                .collect()
        };
        let lines = stream::iter(lines);
        Ok(if options.follow { lines.chain(stream::pending()).boxed() } else { lines.boxed() })
    }

    async fn exec(&self, id: &str, command: &[String]) -> Result<ExecResult, RuntimeError> {
        self.with(id, |c| {
            if c.state != RuntimeState::Running {
                return Err(not_running(id));
            }
            Ok(match command.split_first() {
                Some((program, args)) if program == "echo" => ExecResult { exit_code: 0, output: format!("{}\n", args.join(" ")) },
                Some((program, _)) if program == "false" => ExecResult { exit_code: 1, output: String::new() },
                _ => ExecResult { exit_code: 0, output: format!("sim: ran {}\n", command.join(" ")) },
            })
        })
        .await
    }

    async fn exec_attached(&self, _id: &str, _session: &ExecSession) -> Result<AttachedExec, RuntimeError> {
        Err(NO_INTERACTIVE_EXEC)
    }

    async fn resize_exec(&self, _exec: &str, _size: TerminalSize) -> Result<(), RuntimeError> {
        Err(NO_INTERACTIVE_EXEC)
    }

    async fn exec_exit_code(&self, _exec: &str) -> Result<i64, RuntimeError> {
        Err(NO_INTERACTIVE_EXEC)
    }

    async fn stats(&self, id: &str) -> Result<ContainerStats, RuntimeError> {
        let state = self.lock();
        let c = state.containers.get(id).ok_or_else(|| not_found(id))?;
        let limit = c.memory_mib.unwrap_or(self.config.capacity.memory_mib) as f64;
        if c.state != RuntimeState::Running {
            return Ok(ContainerStats { memory_limit_mib: limit, ..Default::default() });
        }
        Ok(ContainerStats {
            cpu_percent: c.used_cores(state.injected.get(&c.container_id)) * 100.0,
            memory_used_mib: c.used_memory_mib() as f64,
            memory_limit_mib: limit,
            network_rx_bytes: 0,
            network_tx_bytes: 0,
            pids: 1,
        })
    }

    async fn probe(&self, id: &str, _check: &Healthcheck) -> ProbeOutcome {
        let state = self.lock();
        match state.containers.get(id) {
            None => ProbeOutcome::Fail(not_found(id).to_string()),
            Some(c) if c.state != RuntimeState::Running => ProbeOutcome::Fail(not_running(id).to_string()),
            Some(c) => c.probe_failure(state.injected.get(&c.container_id)).map_or(ProbeOutcome::Pass, ProbeOutcome::Fail),
        }
    }

    async fn cpu_percent(&self, id: &str) -> Result<Option<f64>, RuntimeError> {
        let state = self.lock();
        let c = state.containers.get(id).ok_or_else(|| not_found(id))?;
        if c.state != RuntimeState::Running {
            return Err(not_running(id));
        }
        Ok(Some(c.simulated_cpu(state.injected.get(&c.container_id)).unwrap_or(0.0)))
    }

    async fn top(&self, id: &str) -> Result<ContainerTop, RuntimeError> {
        let state = self.lock();
        let c = state.containers.get(id).ok_or_else(|| not_found(id))?;
        if !matches!(c.state, RuntimeState::Running | RuntimeState::Paused) {
            return Err(not_running(id));
        }
        let titles = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"].map(str::to_owned).to_vec();
        let process =
            ["root", "1", "0", "0", "00:00", "?", "00:00:00"].map(str::to_owned).into_iter().chain([c.command.join(" ")]).collect();
        Ok(ContainerTop { titles, processes: vec![process] })
    }

    async fn download(&self, id: &str, _path: &str, _limit: usize) -> Result<Bytes, RuntimeError> {
        self.lock().containers.get(id).ok_or_else(|| not_found(id))?;
        Err(no_files())
    }

    async fn upload(&self, id: &str, _path: &str, _tar: Bytes) -> Result<(), RuntimeError> {
        self.lock().containers.get(id).ok_or_else(|| not_found(id))?;
        Err(no_files())
    }

    async fn rename(&self, id: &str, name: &str) -> Result<(), RuntimeError> {
        let mut state = self.lock();
        if state.containers.iter().any(|(other, c)| other != id && c.name == name) {
            return Err(RuntimeError::Conflict(format!("the container name \"/{name}\" is already in use")));
        }
        let c = state.containers.get_mut(id).ok_or_else(|| not_found(id))?;
        c.name = name.to_owned();
        Ok(())
    }

    async fn update_limits(&self, id: &str, cpu: Option<f64>, memory_mib: Option<u64>) -> Result<(), RuntimeError> {
        self.with(id, |c| {
            c.cpu = cpu.or(c.cpu);
            c.memory_mib = memory_mib.or(c.memory_mib);
            Ok(())
        })
        .await
    }

    async fn has_image(&self, reference: &str) -> Result<bool, RuntimeError> {
        Ok(self.config.all_images_present || self.lock().holds_image(reference))
    }

    async fn images(&self) -> Result<Vec<String>, RuntimeError> {
        Ok(self.lock().images.iter().cloned().collect())
    }

    async fn load_image(&self, mut archive: ArchiveStream) -> Result<Vec<String>, RuntimeError> {
        let invalid = |e: ArchiveError| RuntimeError::InvalidArgument(format!("image archive: {e}"));
        let mut skimmer = ArchiveSkimmer::default();
        while let Some(chunk) = archive
            .try_next()
            .await
            .map_err(|e| RuntimeError::Engine { context: "reading the image archive".into(), message: e.to_string() })?
        {
            skimmer.feed(&chunk).map_err(invalid)?;
        }
        let references = skimmer.references().map_err(invalid)?;
        let ids = skimmer.image_ids().map_err(invalid)?;
        self.delay().await;
        let mut state = self.lock();
        for image in references.iter().chain(&ids) {
            state.note_image(image);
        }
        Ok(references)
    }

    async fn ensure_network(&self, spec: &NetworkSpec) -> Result<(), RuntimeError> {
        self.delay().await;
        self.lock().networks.ensure(&spec.name, spec.network_id, spec.labels())
    }

    async fn remove_network(&self, name: &str) -> Result<(), RuntimeError> {
        self.delay().await;
        let mut state = self.lock();
        let in_use = state.containers.values().any(|c| c.networks.iter().any(|n| n == name));
        state.networks.remove(name, in_use)
    }

    async fn networks(&self) -> Result<Vec<RuntimeObject>, RuntimeError> {
        Ok(self.lock().networks.list())
    }

    async fn connect(&self, id: &str, endpoint: &Endpoint) -> Result<(), RuntimeError> {
        self.delay().await;
        let mut state = self.lock();
        state.networks.require(&endpoint.network)?;
        let c = state.containers.get_mut(id).ok_or_else(|| not_found(id))?;
        if c.networks.contains(&endpoint.network) {
            return Err(RuntimeError::Conflict(format!("container {id} is already connected to network {}", endpoint.network)));
        }
        c.networks.push(endpoint.network.clone());
        Ok(())
    }

    async fn disconnect(&self, id: &str, network: &str) -> Result<(), RuntimeError> {
        self.with(id, |c| {
            let before = c.networks.len();
            c.networks.retain(|n| n != network);
            if c.networks.len() == before {
                return Err(RuntimeError::Conflict(format!("container {id} is not connected to network {network}")));
            }
            Ok(())
        })
        .await
    }

    async fn ensure_volume(&self, spec: &VolumeSpec) -> Result<(), RuntimeError> {
        self.delay().await;
        self.lock().volumes.ensure(&spec.name, spec.volume_id, spec.labels())
    }

    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
        self.delay().await;
        let mut state = self.lock();
        let in_use = state.containers.values().any(|c| c.volumes.iter().any(|v| v == name));
        state.volumes.remove(name, in_use)
    }

    async fn volumes(&self) -> Result<Vec<RuntimeObject>, RuntimeError> {
        Ok(self.lock().volumes.list())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_or_number() {
        assert_eq!(signal_number("SIGKILL"), Some(9));
        assert_eq!(signal_number("TERM"), Some(15));
        assert_eq!(signal_number("2"), Some(2));
        assert_eq!(signal_number("SIGNOPE"), None);
        assert_eq!(signal_number("0"), None);
    }
}
