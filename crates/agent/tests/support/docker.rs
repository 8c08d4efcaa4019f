//! Docker test fixtures built offline: a busybox image imported from a tar of the host's static
//! `/bin/busybox`, `docker save` archives of it, and a guard that removes a test host's containers.

use bollard::Docker;
use bollard::query_parameters::{CreateImageOptions, RemoveImageOptions, TagImageOptions};
use flotilla_agent::runtime::ContainerRuntime;
use flotilla_agent::runtime::docker::DockerRuntime;
use futures::TryStreamExt;
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

/// Removes every container of test host `host` when dropped, even when the test panicked.
pub struct HostCleanup(pub Uuid);

impl Drop for HostCleanup {
    fn drop(&mut self) {
        let host = self.0;
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let docker = DockerRuntime::connect().await.unwrap();
                for c in docker.list(host).await.unwrap() {
                    // Best effort: the test's own assertions say whether anything was left.
                    let _ = docker.remove(&c.runtime_id, true).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}
