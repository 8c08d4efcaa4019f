//! A testbed of real hosts on one machine, for the tests and the benchmark: each host a network
//! namespace with its own Docker Engine and, when asked, a real `flotilla agent`; the hosts and
//! the root namespace (where servers listen) joined by an underlay bridge in a namespace of its
//! own. Everything is removed by [`Testbed::stop`] or on drop, after a panic too; a start also
//! removes the leftovers of runs of the same prefix whose process died.

mod agent;
mod cleanup;
mod dockerd;
mod error;
mod names;
mod netns;
mod underlay;

pub use agent::{AGENT_PORT, AgentArgs, AgentProcess};
pub use error::TestbedError;
pub use names::{DATA_ROOT, LINK_ALIAS, NETNS_DIR, RUN_ROOT};
pub use underlay::HOST_LINK;

use bollard::Docker;
use dockerd::EnginePaths;
use flotilla_core::ipam::Cidr;
use futures::{StreamExt, future::try_join_all};
use names::RunName;
use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

/// How long a start waits for another testbed to finish choosing its underlay block.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// What to build.
#[derive(Debug, Clone, Copy)]
pub struct TestbedSpec<'a> {
    /// How many hosts (1 to 61).
    pub hosts: usize,
    /// 1 to 3 lowercase letters starting every name of the run (`<prefix><pid>-<n>`).
    pub prefix: &'a str,
    /// The range underlay blocks come from, e.g. `198.51.100.0/24`: a documentation range no
    /// route of the machine covers. Each testbed takes a free block of it (a /28 for up to 13 hosts).
    pub underlay: &'a str,
}

/// One host: a namespace, its underlay address and its Docker Engine.
#[derive(Debug)]
pub struct Host {
    name: String,
    netns: PathBuf,
    address: Ipv4Addr,
    paths: EnginePaths,
    docker: Docker,
}

impl Host {
    /// `<run>-h<index>`: the namespace's, the agent's and the engine's cgroup parent's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `/var/run/netns/<name>`.
    pub fn netns_path(&self) -> &Path {
        &self.netns
    }

    /// The address of the host's [`HOST_LINK`] on the underlay.
    pub fn underlay_ip(&self) -> Ipv4Addr {
        self.address
    }

    /// `unix:///run/flotilla-testbed/<run>/<host>/docker.sock`.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.paths.socket().display())
    }

    /// A client of the host's engine.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The engine's data root.
    pub fn data_root(&self) -> &Path {
        &self.paths.data
    }

    /// `program args...` inside the host's namespace (`nsenter --net=`), with `DOCKER_HOST`
    /// naming the host's engine.
    pub fn command(&self, program_and_args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new("nsenter");
        command.arg(format!("--net={}", self.netns.display())).args(program_and_args).env("DOCKER_HOST", self.docker_host());
        command.stdin(std::process::Stdio::null()).kill_on_drop(true);
        command
    }

    /// Runs `program args...` inside the host's namespace to the end.
    pub async fn exec(&self, program_and_args: &[&str]) -> Result<Output, TestbedError> {
        self.command(program_and_args).output().await.map_err(TestbedError::io(format!("running {program_and_args:?} in {}", self.name)))
    }

    /// Runs `work` on a thread inside the host's namespace: sockets it opens (a `TcpListener`, a
    /// `TcpStream`) belong to the host.
    pub fn inside<T: Send>(&self, work: impl FnOnce() -> std::io::Result<T> + Send) -> std::io::Result<T> {
        netns::inside(&self.netns, work)
    }
}

/// Removes the run when dropped: owned by the testbed from the first thing made, so a failed
/// start leaves nothing either.
#[derive(Debug)]
struct RunGuard {
    run: RunName,
    engines: Vec<std::process::Child>,
    removed: bool,
}

impl RunGuard {
    fn remove(&mut self) -> Vec<String> {
        let left = cleanup::remove_run(&self.run);
        for engine in &mut self.engines {
            let _ = engine.kill();
            let _ = engine.wait();
        }
        self.engines.clear();
        self.removed = true;
        left
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let left = self.remove();
        if !left.is_empty() {
            eprintln!("testbed {}: cleanup left {left:?}", self.run);
        }
    }
}

/// A running testbed.
#[derive(Debug)]
pub struct Testbed {
    guard: RunGuard,
    block: Cidr,
    server: Ipv4Addr,
    hosts: Vec<Host>,
}

fn spec_error(field: &'static str, value: impl ToString, reason: impl Into<String>) -> TestbedError {
    TestbedError::Spec { field, value: value.to_string(), reason: reason.into() }
}

/// Holds the underlay lock (an exclusive `flock`) while a start chooses and claims its block.
async fn lock_underlay() -> Result<std::fs::File, TestbedError> {
    std::fs::create_dir_all(RUN_ROOT).map_err(TestbedError::io(format!("creating {RUN_ROOT}")))?;
    let path = Path::new(RUN_ROOT).join("underlay.lock");
    let file = std::fs::File::create(&path).map_err(TestbedError::io(format!("opening {}", path.display())))?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match rustix::fs::flock(file.as_fd(), rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(file),
            Err(rustix::io::Errno::WOULDBLOCK) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(rustix::io::Errno::WOULDBLOCK) => {
                return Err(TestbedError::Timeout { what: format!("the lock {}", path.display()), secs: LOCK_WAIT.as_secs() });
            }
            Err(e) => return Err(TestbedError::io(format!("locking {}", path.display()))(e.into())),
        }
    }
}

impl Testbed {
    /// Builds the testbed: namespaces, underlay, one engine per host (started concurrently).
    pub async fn start(spec: TestbedSpec<'_>) -> Result<Self, TestbedError> {
        if !(1..=61).contains(&spec.hosts) {
            return Err(spec_error("hosts", spec.hosts, "must be between 1 and 61"));
        }
        let run = RunName::next(spec.prefix)?;
        let range = Cidr::parse("underlay", spec.underlay).map_err(|e| spec_error("underlay", e.value, e.reason))?;
        let prefix = spec.prefix.to_owned();
        let orphans =
            tokio::task::spawn_blocking(move || cleanup::orphaned_runs(&prefix).iter().flat_map(cleanup::remove_run).collect::<Vec<_>>())
                .await
                .map_err(|e| TestbedError::io("removing crashed runs")(std::io::Error::other(e)))?;
        if !orphans.is_empty() {
            return Err(TestbedError::Leftovers(orphans));
        }
        let mut guard = RunGuard { run: run.clone(), engines: Vec::new(), removed: false };
        let root = netns::netlink(None).await?;

        let bridge_ns = netns::create(&run.underlay_ns()).await?;
        let mut host_ns = Vec::with_capacity(spec.hosts);
        for i in 0..spec.hosts {
            host_ns.push(netns::create(&run.host(i)).await?);
        }
        let plan = {
            let _lock = lock_underlay().await?;
            let plan = underlay::plan(&root, range, spec.hosts).await?;
            underlay::build(&root, &run, &plan, &bridge_ns, &host_ns).await?;
            plan
        };

        let engines = host_ns.iter().enumerate().map(|(i, ns)| {
            let name = run.host(i);
            let paths = EnginePaths { runtime: run.runtime_dir().join(&name), data: run.data_dir().join(&name) };
            let address = plan.hosts[i];
            async move {
                let (child, docker) = dockerd::start(i, &name, ns, &paths).await?;
                Ok::<_, TestbedError>((child, Host { name, netns: ns.clone(), address, paths, docker }))
            }
        });
        // An engine that failed leaves the others running: the guard stops them all.
        let started = futures::future::join_all(engines).await;
        let mut hosts = Vec::with_capacity(spec.hosts);
        let mut failure = None;
        for outcome in started {
            match outcome {
                Ok((child, host)) => {
                    guard.engines.push(child);
                    hosts.push(host);
                }
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(Self { guard, block: plan.block, server: plan.server, hosts })
    }

    /// `<prefix><pid>-<n>`: every name and path of the run starts with it.
    pub fn run_name(&self) -> &str {
        self.guard.run.as_str()
    }

    pub fn host(&self, index: usize) -> &Host {
        &self.hosts[index]
    }

    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The root namespace's address on the underlay: servers listen here, agents call it.
    pub fn server_ip(&self) -> Ipv4Addr {
        self.server
    }

    /// This testbed's block of the underlay range.
    pub fn underlay(&self) -> Cidr {
        self.block
    }

    /// The root namespace's link to the underlay bridge.
    pub fn root_link(&self) -> String {
        self.guard.run.root_link()
    }

    /// Starts `flotilla agent` in host `index`'s namespace: named after the host, on its engine
    /// (`--docker-host`), serving calls on its underlay address, port [`AGENT_PORT`].
    pub fn spawn_agent(&self, index: usize, args: AgentArgs) -> Result<AgentProcess, TestbedError> {
        let host = &self.hosts[index];
        let side = agent::HostSide {
            name: host.name.clone(),
            netns: host.netns.clone(),
            docker_host: host.docker_host(),
            listen: format!("{}:{AGENT_PORT}", host.address),
            state_dir: host.paths.runtime.join("agent-state"),
            log: host.paths.runtime.join("agent.log"),
        };
        agent::spawn(side, args)
    }

    /// Loads a `docker save` archive into every host's engine; answers what the first loaded.
    pub async fn load_image(&self, archive: &Path) -> Result<Vec<String>, TestbedError> {
        let bytes = bytes::Bytes::from(tokio::fs::read(archive).await.map_err(TestbedError::io(format!("reading {}", archive.display())))?);
        let loads = self.hosts.iter().map(|host| {
            let bytes = bytes.clone();
            async move {
                let options = bollard::query_parameters::ImportImageOptions { quiet: true, ..Default::default() };
                let mut progress = host.docker.import_image(options, bollard::body_full(bytes), None);
                let mut loaded = Vec::new();
                while let Some(info) = progress.next().await {
                    let info =
                        info.map_err(|e| TestbedError::Docker { host: host.name.clone(), message: format!("loading an image: {e}") })?;
                    if let Some(error) = info.error_detail.and_then(|d| d.message) {
                        return Err(TestbedError::Docker { host: host.name.clone(), message: format!("loading an image: {error}") });
                    }
                    let text = info.stream.unwrap_or_default();
                    loaded.extend(text.lines().filter_map(|l| l.strip_prefix("Loaded image: ")).map(|r| r.trim().to_owned()));
                }
                Ok(loaded)
            }
        });
        Ok(try_join_all(loads).await?.into_iter().next().unwrap_or_default())
    }

    /// Removes everything; answers what could not be removed.
    pub async fn stop(self) -> Result<(), TestbedError> {
        let Self { mut guard, .. } = self;
        let left = tokio::task::spawn_blocking(move || guard.remove())
            .await
            .map_err(|e| TestbedError::io("removing the testbed")(std::io::Error::other(e)))?;
        if left.is_empty() { Ok(()) } else { Err(TestbedError::Leftovers(left)) }
    }
}
