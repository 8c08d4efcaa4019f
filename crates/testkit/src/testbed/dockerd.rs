//! One host's Docker Engine: its own config file (storage driver fuse-overlayfs, bridge and pools
//! out of the test suites' ranges, a cgroup parent named after the host), data root, exec root,
//! pid file and socket, started inside the host's namespace with `nsenter --net=`.

use super::TestbedError;
use bollard::Docker;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a new engine has to answer.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Where one engine keeps its state.
#[derive(Debug, Clone)]
pub struct EnginePaths {
    /// `/run/flotilla-testbed/<run>/<host>`: socket, pid file, exec root, config, log.
    pub runtime: PathBuf,
    /// `/var/lib/flotilla-testbed/<run>/<host>`: images, layers, containers.
    pub data: PathBuf,
}

impl EnginePaths {
    pub fn socket(&self) -> PathBuf {
        self.runtime.join("docker.sock")
    }

    pub fn pidfile(&self) -> PathBuf {
        self.runtime.join("docker.pid")
    }

    pub fn log(&self) -> PathBuf {
        self.runtime.join("dockerd.log")
    }
}

/// The daemon config of host `index` (`cgroup_parent` is the host's name): the bridge in
/// 10.230.0.0/16 and a /21 of default pools per host from 10.231.0.0 on, away from the suites'
/// 10.201–10.204.
fn config(index: usize, cgroup_parent: &str) -> serde_json::Value {
    serde_json::json!({
        "storage-driver": "fuse-overlayfs",
        "bip": format!("10.230.{index}.1/24"),
        "default-address-pools": [{"base": format!("10.{}.{}.0/21", 231 + index / 32, index % 32 * 8), "size": 24}],
        "cgroup-parent": format!("/{cgroup_parent}"),
    })
}

/// Starts the engine of host `index` (called `name`) in namespace `netns`; answers the daemon's
/// process and a client once `docker info` answers.
pub async fn start(index: usize, name: &str, netns: &Path, paths: &EnginePaths) -> Result<(Child, Docker), TestbedError> {
    let exec_root = paths.runtime.join("exec");
    for dir in [&paths.runtime, &paths.data, &exec_root] {
        std::fs::create_dir_all(dir).map_err(TestbedError::io(format!("creating {}", dir.display())))?;
    }
    let config_file = paths.runtime.join("daemon.json");
    std::fs::write(&config_file, config(index, name).to_string()).map_err(TestbedError::io("writing the daemon config"))?;
    let log = std::fs::File::create(paths.log()).map_err(TestbedError::io("creating the daemon log"))?;
    let socket = paths.socket();
    let mut child = Command::new("nsenter")
        .arg(format!("--net={}", netns.display()))
        .arg("dockerd")
        .arg("--config-file")
        .arg(&config_file)
        .arg("--data-root")
        .arg(&paths.data)
        .arg("--exec-root")
        .arg(&exec_root)
        .arg("--pidfile")
        .arg(paths.pidfile())
        .arg("-H")
        .arg(format!("unix://{}", socket.display()))
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(TestbedError::io("sharing the daemon log"))?)
        .stderr(log)
        .spawn()
        .map_err(TestbedError::io("starting nsenter dockerd (are util-linux and docker.io installed?)"))?;
    let deadline = Instant::now() + START_TIMEOUT;
    let failure = |message: String| {
        let log = std::fs::read_to_string(paths.log()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        TestbedError::Docker { host: name.to_owned(), message: format!("{message}; log:\n{}", tail.join("\n")) }
    };
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(failure(format!("dockerd exited with {status}")));
        }
        let answer = match connect(&socket) {
            Ok(docker) => docker.info().await.map(|_| docker).map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match answer {
            Ok(docker) => return Ok((child, docker)),
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(e) => return Err(failure(format!("no answer within {START_TIMEOUT:?} ({e})"))),
        }
    }
}

/// A client of the engine listening on `socket`.
pub fn connect(socket: &Path) -> Result<Docker, String> {
    Docker::connect_with_unix(&socket.display().to_string(), 120, bollard::API_DEFAULT_VERSION).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::config;

    #[test]
    fn every_host_gets_its_own_bridge_and_pools_out_of_the_suites_ranges() {
        let mut seen = std::collections::HashSet::new();
        for index in 0..61 {
            let config = config(index, "h");
            assert_eq!(config["storage-driver"], "fuse-overlayfs");
            assert!(config.get("data-root").is_none(), "the data root is a flag of its own");
            let bip = config["bip"].as_str().unwrap().to_owned();
            let pool = config["default-address-pools"][0]["base"].as_str().unwrap().to_owned();
            let pool_net = flotilla_core::ipam::Cidr::parse("pool", &pool).expect("a valid /21");
            assert!(pool_net.network.octets()[1] >= 231, "{pool}");
            assert!(bip.starts_with("10.230."), "{bip}");
            assert!(seen.insert(bip) && seen.insert(pool), "host {index} has its own ranges");
        }
    }
}
