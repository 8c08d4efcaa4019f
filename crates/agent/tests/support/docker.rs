//! Docker test fixtures built offline: a busybox image imported from a tar of the host's static
//! `/bin/busybox`, `docker save` archives of it, the workload image (`flotilla workload image`),
//! subnets free on the engine, and a guard that removes a test host's containers, networks and
//! volumes.

use bollard::Docker;
use bollard::query_parameters::{CreateImageOptions, ListNetworksOptions, RemoveImageOptions, TagImageOptions};
use flotilla_agent::runtime::ContainerRuntime;
use flotilla_agent::runtime::docker::DockerRuntime;
use futures::{StreamExt, TryStreamExt};
use uuid::Uuid;

pub const BUSYBOX: &str = "flotilla-test/busybox:latest";

const APPLETS: &[&str] = &["sh", "echo", "sleep", "cat", "ls", "ps", "wget", "nc", "true", "false", "env", "id", "kill"];

/// A root filesystem tar: `bin/busybox` and its applets as symlinks.
fn rootfs_tar() -> Vec<u8> {
    let busybox = std::fs::read("/bin/busybox").expect("/bin/busybox (busybox-static) must be installed");
    let mut tar = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    dir.set_cksum();
    tar.append_data(&mut dir, "bin/", std::io::empty()).unwrap();
    let mut file = tar::Header::new_gnu();
    file.set_mode(0o755);
    file.set_size(busybox.len() as u64);
    file.set_cksum();
    tar.append_data(&mut file, "bin/busybox", busybox.as_slice()).unwrap();
    for applet in APPLETS {
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_mode(0o777);
        link.set_size(0);
        tar.append_link(&mut link, format!("bin/{applet}"), "busybox").unwrap();
    }
    tar.into_inner().unwrap()
}

/// Imports the busybox image unless the engine has it; answers its reference.
pub async fn busybox_image(runtime: &DockerRuntime) -> &'static str {
    if runtime.has_image(BUSYBOX).await.unwrap() {
        return BUSYBOX;
    }
    let (repo, tag) = BUSYBOX.split_once(':').unwrap();
    let options = CreateImageOptions { from_src: Some("-".into()), repo: Some(repo.into()), tag: Some(tag.into()), ..Default::default() };
    let body = bollard::body_full(rootfs_tar().into());
    runtime.client().create_image(Some(options), Some(body), None).try_collect::<Vec<_>>().await.unwrap();
    assert!(runtime.has_image(BUSYBOX).await.unwrap());
    BUSYBOX
}

/// The workload image: `flotilla workload serve` on port 8080 (`/healthz`, `POST /fail`,
/// `/recover`, `/burn`), built offline by `flotilla workload image` from the `flotilla` binary, which
/// `cargo build -p flotilla` makes first (nothing to do when the workspace is built, as under
/// `scripts/test.sh`). Tagged after the binary, so a rebuilt binary makes a new image. Answers its reference.
pub async fn workload_image(runtime: &DockerRuntime) -> String {
    let flotilla = tokio::task::spawn_blocking(flotilla_binary).await.unwrap();
    let meta = std::fs::metadata(&flotilla).unwrap();
    let modified = meta.modified().unwrap().duration_since(std::time::UNIX_EPOCH).unwrap();
    let reference = format!("flotilla-test/workload:{:x}-{:x}", meta.len(), modified.as_millis());
    if runtime.has_image(&reference).await.unwrap() {
        return reference;
    }
    let archive = std::env::temp_dir().join(format!("flotilla-test-workload-{}.tar", Uuid::now_v7().simple()));
    let out = tokio::process::Command::new(&flotilla)
        .args(["workload", "image", archive.to_str().unwrap(), "--tag", &reference])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "flotilla workload image: {}", String::from_utf8_lossy(&out.stderr));
    let bytes = bytes::Bytes::from(tokio::fs::read(&archive).await.unwrap());
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> =
        (0..bytes.len()).step_by(1 << 20).map(|at| Ok(bytes.slice(at..bytes.len().min(at + (1 << 20))))).collect();
    let loaded = runtime.load_image(futures::stream::iter(chunks).boxed()).await;
    let _ = std::fs::remove_file(&archive);
    assert_eq!(loaded.unwrap(), vec![reference.clone()]);
    reference
}

/// Builds the `flotilla` binary (cargo answers at once when it is up to date); answers its path.
fn flotilla_binary() -> std::path::PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::process::Command::new(cargo)
        .current_dir(workspace)
        .args(["build", "-p", "flotilla", "--bin", "flotilla", "--message-format=json-render-diagnostics"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "cargo build -p flotilla failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "flotilla")
        .find_map(|m| m["executable"].as_str().map(std::path::PathBuf::from))
        .expect("cargo names the flotilla executable")
}

/// A `docker save` archive of the busybox image under a fresh tag that the engine then forgets
/// (the tag, not the image): loading the archive brings the tag back.
pub async fn saved_archive_of_fresh_tag(runtime: &DockerRuntime) -> (String, Vec<u8>) {
    busybox_image(runtime).await;
    let repo = format!("flotilla-test/load-{}", Uuid::now_v7().simple());
    let reference = format!("{repo}:latest");
    let docker: &Docker = runtime.client();
    docker.tag_image(BUSYBOX, Some(TagImageOptions { repo: Some(repo.clone()), tag: Some("latest".into()) })).await.unwrap();
    let archive: Vec<u8> = docker.export_image(&reference).map_ok(|b| b.to_vec()).try_concat().await.unwrap();
    untag(runtime, &reference).await;
    assert!(!runtime.has_image(&reference).await.unwrap());
    (reference, archive)
}

pub async fn untag(runtime: &DockerRuntime, reference: &str) {
    runtime.client().remove_image(reference, Some(RemoveImageOptions { noprune: true, ..Default::default() }), None).await.unwrap();
}

/// `count` subnets `10.213.X.0/24` that no network of the engine uses (others may run tests on the
/// same engine at the same time: X is drawn at random among the free ones); answers the X.
pub async fn free_subnets(runtime: &DockerRuntime, count: usize) -> Vec<u8> {
    let networks = runtime.client().list_networks(None::<ListNetworksOptions>).await.unwrap();
    let used: Vec<String> =
        networks.into_iter().flat_map(|n| n.ipam.and_then(|i| i.config).unwrap_or_default()).filter_map(|c| c.subnet).collect();
    let mut free: Vec<u8> = (16..=250).filter(|x| !used.iter().any(|s| s.starts_with(&format!("10.213.{x}.")))).collect();
    let start = usize::from(Uuid::now_v7().as_bytes()[15]) % free.len();
    free.rotate_left(start);
    free.truncate(count);
    assert_eq!(free.len(), count, "free subnets in 10.213.0.0/16");
    free
}

/// Removes every container, network and volume of test host `host` when dropped, even when the
/// test panicked.
pub struct HostCleanup(pub Uuid);

impl Drop for HostCleanup {
    fn drop(&mut self) {
        let host = self.0;
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let docker = DockerRuntime::connect().await.unwrap();
                // Best effort: the test's own assertions say whether anything was left.
                for c in docker.list(host).await.unwrap() {
                    let _ = docker.remove(&c.runtime_id, true).await;
                }
                for n in docker.networks().await.unwrap().into_iter().filter(|n| n.host_id == host) {
                    let _ = docker.remove_network(&n.name).await;
                }
                for v in docker.volumes().await.unwrap().into_iter().filter(|v| v.host_id == host) {
                    let _ = docker.remove_volume(&v.name).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}
