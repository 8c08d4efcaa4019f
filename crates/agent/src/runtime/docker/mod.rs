//! The Docker Engine runtime: [`ContainerRuntime`] over the local unix socket, via bollard.

mod host;
mod objects;
mod probe;
pub mod spec;
mod stats;

use crate::runtime::{
    ArchiveStream, AttachedExec, ByteStream, ContainerRuntime, CreateSpec, Endpoint, LogOptions, NetworkSpec, ProbeOutcome,
    RuntimeContainer, RuntimeError, RuntimeObject, RuntimeState, VolumeSpec,
};
use async_trait::async_trait;
use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::exec::{ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{ContainerStateStatusEnum, ContainerSummaryStateEnum, ContainerUpdateBody, EndpointSettings, ExecConfig};
use bollard::query_parameters::{
    CreateContainerOptions, DownloadFromContainerOptions, ImportImageOptions, KillContainerOptions, ListContainersOptions,
    ListImagesOptions, LogsOptions, RemoveContainerOptions, RenameContainerOptions, RestartContainerOptions, StatsOptions,
    StopContainerOptions, TopOptions, UploadToContainerOptions,
};
use bytes::Bytes;
use flotilla_api::agent::LABEL_HOST;
use flotilla_api::{Capacity, ContainerStats, ContainerTop, ExecResult, ExecSession, HostUtilisation, TerminalSize};
use flotilla_core::profile::Healthcheck;
use futures::{StreamExt, TryStreamExt};
use stats::CpuSample;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// At most this much of an exec's output is kept.
const EXEC_OUTPUT_LIMIT: usize = 1024 * 1024;
/// How often (50 ms apart) an ended exec is asked for its exit code while the engine says it still runs.
const EXEC_EXIT_POLLS: u32 = 40;
/// How often a new exec's first terminal size is tried (10 ms more apart each time).
const EXEC_RESIZE_TRIES: u32 = 10;
/// A container's last CPU sample is forgotten when no newer one came for this long.
const CPU_SAMPLE_TTL: Duration = Duration::from_secs(600);

/// The local Docker Engine.
#[derive(Debug)]
pub struct DockerRuntime {
    docker: Docker,
    cpu: host::CpuMeter,
    /// For HTTP probes: no proxy, no redirects followed.
    probes: reqwest::Client,
    /// Each container's last CPU sample (by runtime id) and when it was taken: one-shot stats
    /// carry no previous sample, so use is computed between successive calls.
    cpu_samples: Mutex<HashMap<String, (CpuSample, Instant)>>,
}

/// Maps a bollard error: the engine's 404/409/400 keep their meaning, anything else is an engine
/// failure of `context`.
fn engine_error(context: &str, error: DockerError) -> RuntimeError {
    match error {
        DockerError::DockerResponseServerError { status_code: 404, message } => RuntimeError::NotFound(message),
        DockerError::DockerResponseServerError { status_code: 409, message } => RuntimeError::Conflict(message),
        DockerError::DockerResponseServerError { status_code: 400, message } => RuntimeError::InvalidArgument(message),
        other => RuntimeError::Engine { context: context.to_owned(), message: other.to_string() },
    }
}

fn summary_state(state: Option<&ContainerSummaryStateEnum>) -> RuntimeState {
    match state {
        Some(ContainerSummaryStateEnum::CREATED) => RuntimeState::Created,
        Some(ContainerSummaryStateEnum::PAUSED) => RuntimeState::Paused,
        Some(ContainerSummaryStateEnum::RESTARTING) => RuntimeState::Restarting,
        Some(ContainerSummaryStateEnum::EXITED | ContainerSummaryStateEnum::DEAD | ContainerSummaryStateEnum::REMOVING) => {
            RuntimeState::Exited
        }
        _ => RuntimeState::Running,
    }
}

fn inspect_state(state: Option<&ContainerStateStatusEnum>) -> RuntimeState {
    match state {
        Some(ContainerStateStatusEnum::CREATED) => RuntimeState::Created,
        Some(ContainerStateStatusEnum::PAUSED) => RuntimeState::Paused,
        Some(ContainerStateStatusEnum::RESTARTING) => RuntimeState::Restarting,
        Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD | ContainerStateStatusEnum::REMOVING) => {
            RuntimeState::Exited
        }
        _ => RuntimeState::Running,
    }
}

/// The names of the networks in a container's network settings.
fn network_names(networks: Option<HashMap<String, EndpointSettings>>) -> Vec<String> {
    networks.map(|n| n.into_keys().collect()).unwrap_or_default()
}

/// The exit code in a list entry's status, `Exited (137) 2 seconds ago`.
fn exit_code_of_status(status: &str) -> Option<i64> {
    let rest = status.strip_prefix("Exited (")?;
    rest[..rest.find(')')?].parse().ok()
}

impl DockerRuntime {
    /// Creates exec `config` in container `id` and starts it attached.
    async fn start_exec(&self, id: &str, config: ExecConfig, options: Option<StartExecOptions>) -> Result<AttachedExec, RuntimeError> {
        let exec = self.docker.create_exec(id, config).await.map_err(|e| engine_error("creating exec", e))?;
        match self.docker.start_exec(&exec.id, options).await.map_err(|e| engine_error("starting exec", e))? {
            StartExecResults::Attached { output, input } => {
                let output = output.map_ok(|chunk| chunk.into_bytes()).map_err(|e| engine_error("reading exec output", e)).boxed();
                Ok(AttachedExec { id: exec.id, output, input })
            }
            StartExecResults::Detached => {
                Err(RuntimeError::Engine { context: "starting exec".into(), message: "the engine detached it".into() })
            }
        }
    }

    /// Gives a just started exec's terminal its first size. Engines before API 1.42 ignore the
    /// create's `console_size`, and the exec may not run yet: retried a little, as `docker exec` does.
    async fn size_new_exec(&self, exec: &str, size: TerminalSize) {
        for attempt in 1..=EXEC_RESIZE_TRIES {
            match self.resize_exec(exec, size).await {
                Ok(()) => return,
                Err(error) if attempt == EXEC_RESIZE_TRIES => tracing::warn!(exec, %error, "cannot size the exec's terminal"),
                Err(_) => tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await,
            }
        }
    }

    /// Connects to the local engine (`DOCKER_HOST` if it names a unix socket, else `/var/run/docker.sock`)
    /// and negotiates the API version.
    pub async fn connect() -> Result<Self, RuntimeError> {
        Self::negotiate(Docker::connect_with_unix_defaults()).await
    }

    /// Connects to the engine at `endpoint`, `unix:///PATH` or a bare socket path (the agent's
    /// `--docker-host`), and negotiates the API version.
    pub async fn connect_to(endpoint: &str) -> Result<Self, RuntimeError> {
        let path = endpoint.strip_prefix("unix://").unwrap_or(endpoint);
        if !path.starts_with('/') {
            return Err(RuntimeError::InvalidArgument(format!(
                "Docker host {endpoint:?} must be unix:///PATH: only a local socket is supported"
            )));
        }
        Self::negotiate(Docker::connect_with_unix(path, 120, bollard::API_DEFAULT_VERSION)).await
    }

    async fn negotiate(docker: Result<Docker, DockerError>) -> Result<Self, RuntimeError> {
        let docker = docker.map_err(|e| engine_error("connecting to the Docker Engine", e))?;
        let docker = docker.negotiate_version().await.map_err(|e| engine_error("connecting to the Docker Engine", e))?;
        let probes = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| RuntimeError::Engine { context: "building the probes' HTTP client".into(), message: e.to_string() })?;
        Ok(Self { docker, cpu: host::CpuMeter::default(), probes, cpu_samples: Mutex::default() })
    }

    fn cpu_samples(&self) -> std::sync::MutexGuard<'_, HashMap<String, (CpuSample, Instant)>> {
        // The map holds plain numbers: a panic elsewhere cannot leave it inconsistent.
        self.cpu_samples.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The underlying client, for what the trait does not cover (tests build images with it).
    pub fn client(&self) -> &Docker {
        &self.docker
    }
}

#[async_trait]
impl ContainerRuntime for DockerRuntime {
    fn kind(&self) -> &'static str {
        "docker"
    }

    async fn capacity(&self) -> Result<Capacity, RuntimeError> {
        let info = self.docker.info().await.map_err(|e| engine_error("reading the engine's info", e))?;
        let root = info.docker_root_dir.unwrap_or_else(|| "/var/lib/docker".to_owned());
        let disk_mib = host::disk_mib(Path::new(&root)).or_else(|_| host::disk_mib(Path::new("/")))?;
        Ok(Capacity {
            cpus: info.ncpu.unwrap_or(0) as f64,
            memory_mib: u64::try_from(info.mem_total.unwrap_or(0)).unwrap_or(0) / (1024 * 1024),
            disk_mib,
        })
    }

    async fn utilisation(&self) -> Result<HostUtilisation, RuntimeError> {
        Ok(HostUtilisation { cpu_percent: self.cpu.percent().await?, memory_used_mib: host::memory_used_mib().await? })
    }

    async fn list(&self, host_id: Uuid) -> Result<Vec<RuntimeContainer>, RuntimeError> {
        let filters = HashMap::from([("label".to_owned(), vec![format!("{LABEL_HOST}={host_id}")])]);
        let options = ListContainersOptions { all: true, filters: Some(filters), ..Default::default() };
        let summaries = self.docker.list_containers(Some(options)).await.map_err(|e| engine_error("listing containers", e))?;
        Ok(summaries
            .into_iter()
            .filter_map(|s| {
                let state = summary_state(s.state.as_ref());
                let exit_code = (state == RuntimeState::Exited).then(|| s.status.as_deref().and_then(exit_code_of_status)).flatten();
                let name = s.names.as_ref().and_then(|n| n.first()).cloned().unwrap_or_default();
                let networks = network_names(s.network_settings.and_then(|n| n.networks));
                RuntimeContainer::from_labels(s.id?, name, &s.labels.unwrap_or_default(), state, exit_code, networks)
            })
            .collect())
    }

    async fn create(&self, spec: &CreateSpec) -> Result<String, RuntimeError> {
        let options = CreateContainerOptions { name: Some(spec.name.clone()), ..Default::default() };
        let id = match self.docker.create_container(Some(options), spec::create_body(spec)).await {
            Ok(created) => created.id,
            Err(DockerError::DockerResponseServerError { status_code: 404, message }) if message.contains("image") => {
                return Err(RuntimeError::ImageMissing(spec.image.clone()));
            }
            Err(e) => return Err(engine_error(&format!("creating container {}", spec.name), e)),
        };
        for endpoint in spec.networks.iter().skip(1) {
            if let Err(e) = objects::connect(&self.docker, &id, endpoint).await {
                // Not made at all rather than made without a network: the next try starts afresh.
                if let Err(removal) = self.remove(&id, true).await {
                    tracing::warn!(container = %id, error = %removal, "removing a container that could not be connected");
                }
                return Err(e);
            }
        }
        Ok(id)
    }

    async fn start(&self, id: &str) -> Result<(), RuntimeError> {
        self.docker.start_container(id, None).await.map_err(|e| engine_error("starting container", e))
    }

    async fn stop(&self, id: &str, timeout_secs: u32) -> Result<(), RuntimeError> {
        let options = StopContainerOptions { t: Some(timeout_secs.try_into().unwrap_or(i32::MAX)), ..Default::default() };
        self.docker.stop_container(id, Some(options)).await.map_err(|e| engine_error("stopping container", e))
    }

    async fn restart(&self, id: &str, timeout_secs: u32) -> Result<(), RuntimeError> {
        let options = RestartContainerOptions { t: Some(timeout_secs.try_into().unwrap_or(i32::MAX)), ..Default::default() };
        self.docker.restart_container(id, Some(options)).await.map_err(|e| engine_error("restarting container", e))
    }

    async fn kill(&self, id: &str, signal: &str) -> Result<(), RuntimeError> {
        let options = KillContainerOptions { signal: signal.to_owned() };
        self.docker.kill_container(id, Some(options)).await.map_err(|e| engine_error("killing container", e))
    }

    async fn pause(&self, id: &str) -> Result<(), RuntimeError> {
        self.docker.pause_container(id).await.map_err(|e| engine_error("pausing container", e))
    }

    async fn unpause(&self, id: &str) -> Result<(), RuntimeError> {
        self.docker.unpause_container(id).await.map_err(|e| engine_error("unpausing container", e))
    }

    async fn remove(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
        let options = RemoveContainerOptions { force, v: true, ..Default::default() };
        self.docker.remove_container(id, Some(options)).await.map_err(|e| engine_error("removing container", e))?;
        self.cpu_samples().remove(id);
        Ok(())
    }

    async fn inspect(&self, id: &str) -> Result<RuntimeContainer, RuntimeError> {
        let c = self.docker.inspect_container(id, None).await.map_err(|e| engine_error("inspecting container", e))?;
        let labels = c.config.as_ref().and_then(|config| config.labels.clone()).unwrap_or_default();
        let state = inspect_state(c.state.as_ref().and_then(|s| s.status.as_ref()));
        let exit_code = (state == RuntimeState::Exited).then(|| c.state.as_ref().and_then(|s| s.exit_code)).flatten();
        let runtime_id = c.id.unwrap_or_else(|| id.to_owned());
        let networks = network_names(c.network_settings.and_then(|n| n.networks));
        RuntimeContainer::from_labels(runtime_id, c.name.unwrap_or_default(), &labels, state, exit_code, networks)
            .ok_or_else(|| RuntimeError::NotFound(format!("{id} is not a Flotilla container")))
    }

    async fn logs(&self, id: &str, options: LogOptions) -> Result<ByteStream, RuntimeError> {
        // Fail fast (404) before answering with a stream.
        self.docker.inspect_container(id, None).await.map_err(|e| engine_error("reading logs", e))?;
        let options = LogsOptions {
            follow: options.follow,
            stdout: true,
            stderr: true,
            since: options.since.map_or(0, |s| i32::try_from(s).unwrap_or(i32::MAX)),
            timestamps: options.timestamps,
            tail: options.tail.map_or_else(|| "all".to_owned(), |t| t.to_string()),
            ..Default::default()
        };
        Ok(self.docker.logs(id, Some(options)).map_ok(|out| out.into_bytes()).map_err(|e| engine_error("reading logs", e)).boxed())
    }

    async fn exec(&self, id: &str, command: &[String]) -> Result<ExecResult, RuntimeError> {
        let config = ExecConfig { cmd: Some(command.to_vec()), attach_stdout: Some(true), attach_stderr: Some(true), ..Default::default() };
        let mut exec = self.start_exec(id, config, None).await?;
        let mut output = Vec::new();
        while let Some(bytes) = exec.output.try_next().await? {
            let room = EXEC_OUTPUT_LIMIT.saturating_sub(output.len());
            output.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        Ok(ExecResult { exit_code: self.exec_exit_code(&exec.id).await?, output: String::from_utf8_lossy(&output).into_owned() })
    }

    async fn exec_attached(&self, id: &str, session: &ExecSession) -> Result<AttachedExec, RuntimeError> {
        let config = ExecConfig {
            cmd: Some(session.command.clone()),
            attach_stdin: Some(session.stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(session.tty),
            console_size: session.size.map(|size| vec![usize::from(size.rows), usize::from(size.cols)]),
            ..Default::default()
        };
        let exec = self.start_exec(id, config, Some(StartExecOptions { detach: false, tty: session.tty, output_capacity: None })).await?;
        if let Some(size) = session.size.filter(|_| session.tty) {
            self.size_new_exec(&exec.id, size).await;
        }
        Ok(exec)
    }

    async fn resize_exec(&self, exec: &str, size: TerminalSize) -> Result<(), RuntimeError> {
        let options = ResizeExecOptions { height: size.rows, width: size.cols };
        self.docker.resize_exec(exec, options).await.map_err(|e| engine_error("resizing exec", e))
    }

    async fn exec_exit_code(&self, exec: &str) -> Result<i64, RuntimeError> {
        // Right after the output ended the engine may still say, for a moment, that the exec runs.
        let mut polls = 0;
        loop {
            let inspected = self.docker.inspect_exec(exec).await.map_err(|e| engine_error("inspecting exec", e))?;
            polls += 1;
            if inspected.running != Some(true) || polls == EXEC_EXIT_POLLS {
                return Ok(inspected.exit_code.unwrap_or(-1));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stats(&self, id: &str) -> Result<ContainerStats, RuntimeError> {
        let options = StatsOptions { stream: false, one_shot: false };
        let sample = self.docker.stats(id, Some(options)).try_next().await.map_err(|e| engine_error("reading stats", e))?;
        let sample = sample.ok_or_else(|| RuntimeError::Engine { context: "reading stats".into(), message: "no sample".into() })?;
        Ok(stats::container_stats(&sample))
    }

    async fn probe(&self, id: &str, check: &Healthcheck) -> ProbeOutcome {
        if !check.command.is_empty() {
            return match self.exec(id, &check.command).await {
                Ok(done) => probe::command(done.exit_code, &done.output),
                Err(e) => ProbeOutcome::Fail(format!("cannot run the command: {e}")),
            };
        }
        let address = match self.docker.inspect_container(id, None).await {
            Ok(inspected) => probe::address(&inspected),
            Err(e) => Err(engine_error("inspecting container", e).to_string()),
        };
        let ip = match address {
            Ok(ip) => ip,
            Err(reason) => return ProbeOutcome::Fail(reason),
        };
        match (&check.http, &check.tcp) {
            (Some(http), _) => probe::http(&self.probes, &probe::http_url(ip, http)).await,
            (None, Some(tcp)) => probe::tcp(ip, tcp.port).await,
            (None, None) => ProbeOutcome::Fail("the health check names no probe".into()),
        }
    }

    async fn cpu_percent(&self, id: &str) -> Result<Option<f64>, RuntimeError> {
        let options = StatsOptions { stream: false, one_shot: true };
        let sample = self.docker.stats(id, Some(options)).try_next().await.map_err(|e| engine_error("reading stats", e))?;
        let sample = sample.ok_or_else(|| RuntimeError::Engine { context: "reading stats".into(), message: "no sample".into() })?;
        let now = CpuSample::of(sample.cpu_stats.as_ref());
        let at = Instant::now();
        let mut samples = self.cpu_samples();
        samples.retain(|_, (_, taken)| at.saturating_duration_since(*taken) < CPU_SAMPLE_TTL);
        Ok(samples.insert(id.to_owned(), (now, at)).map(|(before, _)| now.percent_since(&before)))
    }

    async fn top(&self, id: &str) -> Result<ContainerTop, RuntimeError> {
        let top = self
            .docker
            .top_processes(id, Some(TopOptions { ps_args: "-ef".to_owned() }))
            .await
            .map_err(|e| engine_error("listing processes", e))?;
        Ok(ContainerTop { titles: top.titles.unwrap_or_default(), processes: top.processes.unwrap_or_default() })
    }

    async fn download(&self, id: &str, path: &str, limit: usize) -> Result<Bytes, RuntimeError> {
        let options = DownloadFromContainerOptions { path: path.to_owned() };
        let mut chunks = self.docker.download_from_container(id, Some(options));
        let mut tar = Vec::new();
        while let Some(chunk) = chunks.try_next().await.map_err(|e| engine_error("reading the archive", e))? {
            if tar.len() + chunk.len() > limit {
                return Err(RuntimeError::InvalidArgument(format!("path: the archive of {path} is larger than {limit} bytes")));
            }
            tar.extend_from_slice(&chunk);
        }
        Ok(tar.into())
    }

    async fn upload(&self, id: &str, path: &str, tar: Bytes) -> Result<(), RuntimeError> {
        let options = UploadToContainerOptions { path: path.to_owned(), ..Default::default() };
        self.docker
            .upload_to_container(id, Some(options), bollard::body_full(tar))
            .await
            .map_err(|e| engine_error("extracting the archive", e))
    }

    async fn rename(&self, id: &str, name: &str) -> Result<(), RuntimeError> {
        let options = RenameContainerOptions { name: name.to_owned() };
        self.docker.rename_container(id, options).await.map_err(|e| engine_error("renaming container", e))
    }

    async fn update_limits(&self, id: &str, cpu: Option<f64>, memory_mib: Option<u64>) -> Result<(), RuntimeError> {
        let body = ContainerUpdateBody {
            nano_cpus: cpu.map(spec::nano_cpus),
            memory: memory_mib.map(spec::memory_bytes),
            // Memory plus swap follows memory as Docker sets it at create (twice the memory);
            // left alone, it would refuse a memory limit above the old swap limit.
            memory_swap: memory_mib.map(|m| spec::memory_bytes(m).saturating_mul(2)),
            ..Default::default()
        };
        self.docker.update_container(id, body).await.map_err(|e| engine_error("updating limits", e))
    }

    async fn has_image(&self, reference: &str) -> Result<bool, RuntimeError> {
        match self.docker.inspect_image(reference).await {
            Ok(_) => Ok(true),
            Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => Ok(false),
            Err(e) => Err(engine_error("inspecting image", e)),
        }
    }

    async fn images(&self) -> Result<Vec<String>, RuntimeError> {
        let images = self.docker.list_images(Some(ListImagesOptions::default())).await.map_err(|e| engine_error("listing images", e))?;
        let mut references: Vec<String> =
            images.into_iter().flat_map(|image| image.repo_tags).filter(|tag| tag != "<none>:<none>").collect();
        references.sort();
        references.dedup();
        Ok(references)
    }

    async fn load_image(&self, archive: ArchiveStream) -> Result<Vec<String>, RuntimeError> {
        let mut progress = self.docker.import_image_stream(ImportImageOptions { quiet: true, ..Default::default() }, archive, None);
        let mut loaded = Vec::new();
        while let Some(info) = progress.try_next().await.map_err(|e| engine_error("loading image", e))? {
            let text = info.stream.unwrap_or_default();
            for line in text.lines() {
                if let Some(reference) = line.strip_prefix("Loaded image: ").or_else(|| line.strip_prefix("Loaded image ID: ")) {
                    loaded.push(reference.trim().to_owned());
                }
            }
        }
        Ok(loaded)
    }

    async fn ensure_network(&self, spec: &NetworkSpec) -> Result<(), RuntimeError> {
        objects::ensure_network(&self.docker, spec).await
    }

    async fn remove_network(&self, name: &str) -> Result<(), RuntimeError> {
        objects::remove_network(&self.docker, name).await
    }

    async fn networks(&self) -> Result<Vec<RuntimeObject>, RuntimeError> {
        objects::networks(&self.docker).await
    }

    async fn connect(&self, id: &str, endpoint: &Endpoint) -> Result<(), RuntimeError> {
        objects::connect(&self.docker, id, endpoint).await
    }

    async fn disconnect(&self, id: &str, network: &str) -> Result<(), RuntimeError> {
        objects::disconnect(&self.docker, id, network).await
    }

    async fn ensure_volume(&self, spec: &VolumeSpec) -> Result<(), RuntimeError> {
        objects::ensure_volume(&self.docker, spec).await
    }

    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
        objects::remove_volume(&self.docker, name).await
    }

    async fn volumes(&self) -> Result<Vec<RuntimeObject>, RuntimeError> {
        objects::volumes(&self.docker).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_come_from_the_status_line() {
        assert_eq!(exit_code_of_status("Exited (137) 2 seconds ago"), Some(137));
        assert_eq!(exit_code_of_status("Exited (0) About a minute ago"), Some(0));
        assert_eq!(exit_code_of_status("Up 3 minutes"), None);
    }

    #[test]
    fn states_map() {
        assert_eq!(summary_state(Some(&ContainerSummaryStateEnum::DEAD)), RuntimeState::Exited);
        assert_eq!(summary_state(Some(&ContainerSummaryStateEnum::CREATED)), RuntimeState::Created);
        assert_eq!(inspect_state(Some(&ContainerStateStatusEnum::PAUSED)), RuntimeState::Paused);
        assert_eq!(inspect_state(Some(&ContainerStateStatusEnum::RUNNING)), RuntimeState::Running);
    }

    #[test]
    fn engine_statuses_keep_their_meaning() {
        let e = |status_code| DockerError::DockerResponseServerError { status_code, message: "m".into() };
        assert_eq!(engine_error("x", e(404)), RuntimeError::NotFound("m".into()));
        assert_eq!(engine_error("x", e(409)), RuntimeError::Conflict("m".into()));
        assert_eq!(engine_error("x", e(400)), RuntimeError::InvalidArgument("m".into()));
        assert!(matches!(engine_error("x", e(500)), RuntimeError::Engine { .. }));
    }
}
