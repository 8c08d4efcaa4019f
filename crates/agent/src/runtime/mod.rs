//! The container runtime seam: what the agent needs from a container engine (containers, images,
//! and the networks and volumes of Flotilla), and its types.
//!
//! Two implementations: [`docker::DockerRuntime`] (the local Docker Engine) and [`sim::SimRuntime`]
//! (in memory, for scale tests). The agent only ever holds an `Arc<dyn ContainerRuntime>`.

pub mod docker;
mod objects;
pub mod sim;

pub use objects::{Bridge, Endpoint, MountSpec, NetworkSpec, RuntimeObject, VolumeSpec, network_name, volume_name};

use async_trait::async_trait;
use bytes::Bytes;
use flotilla_api::agent::{Assignment, ImageSource, LABEL_CONTAINER, LABEL_GENERATION, LABEL_HOST, LABEL_PROJECT};
use flotilla_api::{Capacity, ContainerStats, ContainerTop, ExecResult, ExecSession, HostUtilisation, TerminalSize};
use flotilla_core::profile::{ContainerProperties, Healthcheck};
use futures::stream::BoxStream;
use std::collections::BTreeMap;
use std::pin::Pin;
use tokio::io::AsyncWrite;
use uuid::Uuid;

/// A stream of bytes, e.g. a log or an image archive.
pub type ByteStream = BoxStream<'static, Result<Bytes, RuntimeError>>;

/// An image archive (`docker save` tar) as it arrives, chunk by chunk.
pub type ArchiveStream = BoxStream<'static, Result<Bytes, std::io::Error>>;

/// An exec started attached: its output as it comes, and its stdin.
pub struct AttachedExec {
    /// The runtime's id of the exec (for [`ContainerRuntime::resize_exec`] and
    /// [`ContainerRuntime::exec_exit_code`]).
    pub id: String,
    /// Stdout and stderr (one stream with a TTY); it ends when the command does.
    pub output: ByteStream,
    /// The command's stdin (written to only when the session attached it).
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
}

/// What a runtime refused or failed to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    #[error("no such container: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// A network with active endpoints, or a volume a container uses: not removed.
    #[error("in use: {0}")]
    InUse(String),
    #[error("image {0} not found on host")]
    ImageMissing(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("{context}: {message}")]
    Engine { context: String, message: String },
    /// Something this runtime cannot do at all (the simulated one's interactive exec).
    #[error("the {runtime} runtime cannot {what}")]
    Unsupported { runtime: &'static str, what: &'static str },
    /// A failure the simulated runtime made up (its `failure_rate`).
    #[error("simulated failure of {operation}")]
    Injected { operation: &'static str },
}

/// A container's state as the runtime reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuntimeState {
    Created,
    Running,
    Paused,
    Restarting,
    Exited,
}

/// A container the runtime holds that carries Flotilla's labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeContainer {
    /// The runtime's own id (Docker's container id).
    pub runtime_id: String,
    /// Label `flotilla.container`.
    pub container_id: Uuid,
    /// Label `flotilla.generation`.
    pub generation: u64,
    /// The runtime's name for it, without Docker's leading `/`.
    pub name: String,
    pub state: RuntimeState,
    /// Set once it exited.
    pub exit_code: Option<i64>,
    /// The runtime names of the networks it is connected to (Flotilla's and others), sorted.
    pub networks: Vec<String>,
}

impl RuntimeContainer {
    /// Reads the Flotilla labels; `None` when the container is not one of ours (or its labels are damaged).
    pub fn from_labels(
        runtime_id: String,
        name: String,
        labels: &std::collections::HashMap<String, String>,
        state: RuntimeState,
        exit_code: Option<i64>,
        mut networks: Vec<String>,
    ) -> Option<Self> {
        let container_id = labels.get(LABEL_CONTAINER)?.parse().ok()?;
        let generation = labels.get(LABEL_GENERATION)?.parse().ok()?;
        networks.sort();
        Some(Self { runtime_id, container_id, generation, name: name.trim_start_matches('/').to_owned(), state, exit_code, networks })
    }
}

/// What the runtime runs for `image`: a Flotilla image by its Docker id, so a tag of the same name
/// in the host's cache (another project's image, say) is never taken for it; else the reference.
pub fn image_to_run(image: &ImageSource) -> &str {
    image.digest.as_deref().unwrap_or(&image.reference)
}

/// Everything needed to create one container.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSpec {
    pub container_id: Uuid,
    pub host_id: Uuid,
    pub project_id: Uuid,
    pub generation: u64,
    /// The runtime's name for it, see [`runtime_name`].
    pub name: String,
    /// The image reference to run.
    pub image: String,
    pub properties: ContainerProperties,
    /// The networks it joins: created on the first, connected to the others before it starts.
    /// Empty: the runtime's default network (or the host's, with `properties.host_network`).
    pub networks: Vec<Endpoint>,
    /// Volumes it mounts, besides the admin's `properties.binds`.
    pub mounts: Vec<MountSpec>,
}

impl CreateSpec {
    /// The spec of assigned container `a` on host `host_id`.
    pub fn of(a: &Assignment, host_id: Uuid) -> Self {
        Self {
            container_id: a.id,
            host_id,
            project_id: a.project_id,
            generation: a.generation,
            name: runtime_name(&a.name, a.id, a.generation),
            image: image_to_run(&a.image).to_owned(),
            properties: a.spec.clone(),
            networks: a.networks.iter().map(Endpoint::from).collect(),
            mounts: a.mounts.iter().map(MountSpec::from).collect(),
        }
    }

    /// The user's labels plus Flotilla's own (which win over a user label of the same key).
    pub fn labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.properties.labels.clone();
        labels.insert(LABEL_CONTAINER.to_owned(), self.container_id.to_string());
        labels.insert(LABEL_HOST.to_owned(), self.host_id.to_string());
        labels.insert(LABEL_GENERATION.to_owned(), self.generation.to_string());
        labels.insert(LABEL_PROJECT.to_owned(), self.project_id.to_string());
        labels
    }
}

/// The runtime's name of a Flotilla container: `flt-{name}-{last 12 hex digits of its id}-{generation}`.
/// A move to another host or a rebuild is a new generation, so two agents sharing one engine
/// never want the same name while the old host's copy still exists.
pub fn runtime_name(name: &str, container_id: Uuid, generation: u64) -> String {
    format!("flt-{name}-{}-{generation}", short_id(container_id))
}

/// The last 12 hex digits of `id`, which tell apart the runtime names of Flotilla objects.
/// The tail of a UUIDv7 is random; its head is a timestamp shared by ids made in the same minute.
fn short_id(id: Uuid) -> String {
    let id = id.simple().to_string();
    id[id.len() - 12..].to_owned()
}

/// What one health probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    Pass,
    /// Failed, and the answer or error that says why.
    Fail(String),
}

/// Options of a log read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Only the last N lines.
    pub tail: Option<u64>,
    /// Only lines after this Unix time (seconds).
    pub since: Option<i64>,
    /// Keep the stream open for new lines.
    pub follow: bool,
    pub timestamps: bool,
}

/// The operations the agent needs from a container engine. Every method is cheap to call
/// concurrently; ids are the runtime's own ids.
#[async_trait]
pub trait ContainerRuntime: Send + Sync {
    /// `docker` or `sim`.
    fn kind(&self) -> &'static str;
    /// What the host offers.
    async fn capacity(&self) -> Result<Capacity, RuntimeError>;
    /// What the host uses now.
    async fn utilisation(&self) -> Result<HostUtilisation, RuntimeError>;
    /// The containers labelled `flotilla.host=<host_id>`, in any state.
    async fn list(&self, host_id: Uuid) -> Result<Vec<RuntimeContainer>, RuntimeError>;
    /// Creates (does not start) a container; answers its runtime id.
    async fn create(&self, spec: &CreateSpec) -> Result<String, RuntimeError>;
    async fn start(&self, id: &str) -> Result<(), RuntimeError>;
    /// SIGTERM, then SIGKILL after `timeout_secs`.
    async fn stop(&self, id: &str, timeout_secs: u32) -> Result<(), RuntimeError>;
    async fn restart(&self, id: &str, timeout_secs: u32) -> Result<(), RuntimeError>;
    /// `signal` is a name (`SIGTERM`, `TERM`) or a number.
    async fn kill(&self, id: &str, signal: &str) -> Result<(), RuntimeError>;
    async fn pause(&self, id: &str) -> Result<(), RuntimeError>;
    async fn unpause(&self, id: &str) -> Result<(), RuntimeError>;
    /// `force` removes a running container too.
    async fn remove(&self, id: &str, force: bool) -> Result<(), RuntimeError>;
    async fn inspect(&self, id: &str) -> Result<RuntimeContainer, RuntimeError>;
    /// Stdout and stderr as text, interleaved.
    async fn logs(&self, id: &str, options: LogOptions) -> Result<ByteStream, RuntimeError>;
    /// Runs `command` in the running container and waits for it.
    async fn exec(&self, id: &str, command: &[String]) -> Result<ExecResult, RuntimeError>;
    /// Starts `session`'s command in running container `id`, attached, and answers at once.
    async fn exec_attached(&self, id: &str, session: &ExecSession) -> Result<AttachedExec, RuntimeError>;
    /// Resizes the pseudo-terminal of exec `exec` (from [`AttachedExec::id`]).
    async fn resize_exec(&self, exec: &str, size: TerminalSize) -> Result<(), RuntimeError>;
    /// The exit code of exec `exec`, once its output ended.
    async fn exec_exit_code(&self, exec: &str) -> Result<i64, RuntimeError>;
    async fn stats(&self, id: &str) -> Result<ContainerStats, RuntimeError>;
    /// Runs one probe of `check` against running container `id`, from the host as kubelet does:
    /// an HTTP GET to the container's address (2xx or 3xx passes), a TCP connect, or `command`
    /// through exec (exit code 0 passes). A probe that cannot run fails. The caller bounds it by
    /// `check.timeout`.
    async fn probe(&self, id: &str, check: &Healthcheck) -> ProbeOutcome;
    /// Running container `id`'s CPU use since the previous call for it, as `docker stats` counts it
    /// (100 = one core busy). `None` when there is nothing to compare with yet (the first call).
    async fn cpu_percent(&self, id: &str) -> Result<Option<f64>, RuntimeError>;
    async fn top(&self, id: &str) -> Result<ContainerTop, RuntimeError>;
    /// A tar of `path` (a file or directory) in container `id`, at most `limit` bytes;
    /// [`RuntimeError::NotFound`] when the path does not exist.
    async fn download(&self, id: &str, path: &str, limit: usize) -> Result<Bytes, RuntimeError>;
    /// Extracts `tar` into directory `path` of container `id`; [`RuntimeError::NotFound`] when
    /// the directory does not exist.
    async fn upload(&self, id: &str, path: &str, tar: Bytes) -> Result<(), RuntimeError>;
    /// Renames the runtime container (the runtime's name, see [`runtime_name`]).
    async fn rename(&self, id: &str, name: &str) -> Result<(), RuntimeError>;
    /// New CPU (cores) and memory (MiB) limits; `None` leaves a limit as it is.
    async fn update_limits(&self, id: &str, cpu: Option<f64>, memory_mib: Option<u64>) -> Result<(), RuntimeError>;
    async fn has_image(&self, reference: &str) -> Result<bool, RuntimeError>;
    /// The references (repository tags) of the images the runtime holds.
    async fn images(&self) -> Result<Vec<String>, RuntimeError>;
    /// Loads a `docker save` archive, streamed; answers the references it loaded.
    async fn load_image(&self, archive: ArchiveStream) -> Result<Vec<String>, RuntimeError>;
    /// Makes network `spec.name` (a bridge with the spec's subnet and gateway, labelled). One of
    /// that name labelled as the same Flotilla network, by any host's agent, is used as it is;
    /// one labelled otherwise is a conflict.
    async fn ensure_network(&self, spec: &NetworkSpec) -> Result<(), RuntimeError>;
    /// Removes network `name`; [`RuntimeError::InUse`] while containers use it (on Docker, running
    /// ones: a stopped container keeps no endpoint).
    async fn remove_network(&self, name: &str) -> Result<(), RuntimeError>;
    /// The networks labelled as Flotilla networks, by any host's agent.
    async fn networks(&self) -> Result<Vec<RuntimeObject>, RuntimeError>;
    /// Connects container `id` to `endpoint.network` with its address and aliases.
    async fn connect(&self, id: &str, endpoint: &Endpoint) -> Result<(), RuntimeError>;
    async fn disconnect(&self, id: &str, network: &str) -> Result<(), RuntimeError>;
    /// Makes volume `spec.name` with the spec's driver and options, labelled; the same rules as
    /// [`ContainerRuntime::ensure_network`].
    async fn ensure_volume(&self, spec: &VolumeSpec) -> Result<(), RuntimeError>;
    /// Removes volume `name`; [`RuntimeError::InUse`] while a container mounts it.
    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError>;
    /// The volumes labelled as Flotilla volumes, by any host's agent.
    async fn volumes(&self) -> Result<Vec<RuntimeObject>, RuntimeError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_names_carry_the_random_tail_of_the_id() {
        let id: Uuid = "0190f5a2-1b2c-7d3e-8f40-123456789abc".parse().unwrap();
        assert_eq!(runtime_name("web-1", id, 3), "flt-web-1-123456789abc-3");
    }

    #[test]
    fn flotilla_labels_win_over_user_labels() {
        let mut properties = ContainerProperties { image: "x".into(), ..Default::default() };
        properties.labels.insert("tier".into(), "web".into());
        properties.labels.insert(LABEL_HOST.into(), "forged".into());
        let spec = CreateSpec {
            container_id: Uuid::now_v7(),
            host_id: Uuid::now_v7(),
            project_id: Uuid::now_v7(),
            generation: 4,
            name: "n".into(),
            image: "x:latest".into(),
            properties,
            networks: vec![],
            mounts: vec![],
        };
        let labels = spec.labels();
        assert_eq!(labels["tier"], "web");
        assert_eq!(labels[LABEL_HOST], spec.host_id.to_string());
        assert_eq!(labels[LABEL_GENERATION], "4");
        assert_eq!(labels[LABEL_PROJECT], spec.project_id.to_string());
        assert_eq!(labels[LABEL_CONTAINER], spec.container_id.to_string());
    }

    #[test]
    fn foreign_containers_are_not_ours() {
        let mut labels = std::collections::HashMap::new();
        assert!(RuntimeContainer::from_labels("r".into(), "/x".into(), &labels, RuntimeState::Running, None, vec![]).is_none());
        let id = Uuid::now_v7();
        labels.insert(LABEL_CONTAINER.to_owned(), id.to_string());
        labels.insert(LABEL_GENERATION.to_owned(), "bad".to_owned());
        assert!(RuntimeContainer::from_labels("r".into(), "/x".into(), &labels, RuntimeState::Running, None, vec![]).is_none());
        labels.insert(LABEL_GENERATION.to_owned(), "2".to_owned());
        let networks = vec!["flt-net-b".to_owned(), "bridge".to_owned()];
        let c = RuntimeContainer::from_labels("r".into(), "/x".into(), &labels, RuntimeState::Running, None, networks).unwrap();
        assert_eq!((c.container_id, c.generation, c.name.as_str()), (id, 2, "x"));
        assert_eq!(c.networks, ["bridge", "flt-net-b"]);
    }
}
