//! Named network namespaces under `/var/run/netns`: made by `ip netns add` (the one command the
//! testbed runs for setup), entered by a short-lived thread to open netlink or TCP sockets inside,
//! and removed by unmounting and unlinking; which processes live in them.

use super::TestbedError;
use super::names::NETNS_DIR;
use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub fn path(name: &str) -> PathBuf {
    PathBuf::from(NETNS_DIR).join(name)
}

/// Creates namespace `name` and answers its path.
pub async fn create(name: &str) -> Result<PathBuf, TestbedError> {
    let out = tokio::process::Command::new("ip")
        .args(["netns", "add", name])
        .output()
        .await
        .map_err(TestbedError::io("running `ip netns add` (is iproute2 installed?)"))?;
    if !out.status.success() {
        return Err(TestbedError::Command {
            command: format!("ip netns add {name}"),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(path(name))
}

/// Removes a namespace's name: the namespace itself goes once no process or mount holds it.
pub fn remove(path: &Path) -> std::io::Result<()> {
    match rustix::mount::unmount(path, rustix::mount::UnmountFlags::DETACH) {
        Ok(()) | Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(e.into()),
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Runs `work` on a thread that entered namespace `path`; sockets it opens stay in that namespace.
pub fn inside<T: Send>(path: &Path, work: impl FnOnce() -> std::io::Result<T> + Send) -> std::io::Result<T> {
    let namespace = std::fs::File::open(path)?;
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                move_into_link_name_space(namespace.as_fd(), Some(LinkNameSpaceType::Network))?;
                work()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// A netlink handle on namespace `path`, or on the caller's (root) namespace for `None`; its
/// connection runs on the current runtime.
pub async fn netlink(path: Option<&Path>) -> Result<rtnetlink::Handle, TestbedError> {
    let runtime = tokio::runtime::Handle::current();
    let open = move || {
        let _entered = runtime.enter();
        rtnetlink::new_connection()
    };
    let (connection, handle, _) = match path {
        Some(path) => inside(path, open),
        None => open(),
    }
    .map_err(TestbedError::io("opening a netlink socket"))?;
    tokio::spawn(connection);
    Ok(handle)
}

/// The namespace's inode, which `/proc/PID/ns/net` of its processes names.
pub fn inode(path: &Path) -> std::io::Result<u64> {
    Ok(std::fs::metadata(path)?.ino())
}

/// Live processes (not zombies) whose network namespace is one of `inodes`.
pub fn processes_in(inodes: &[u64]) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(link) = std::fs::read_link(format!("/proc/{pid}/ns/net")) else { return false };
            let inode = link.to_str().and_then(|l| l.strip_prefix("net:[")?.strip_suffix(']')?.parse::<u64>().ok());
            inode.is_some_and(|i| inodes.contains(&i)) && alive(*pid)
        })
        .collect()
}

/// Whether `pid` exists and is not a zombie waiting to be reaped.
pub fn alive(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    // The state follows the command's closing parenthesis: `PID (comm) S ...`.
    stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()).is_some_and(|state| state != "Z" && state != "X")
}
