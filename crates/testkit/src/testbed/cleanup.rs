//! Removes everything of one run, this process's or a crashed one's: its engines (asked to stop,
//! then killed with every process left in its namespaces and cgroups), the mounts under its
//! directories, its cgroups, directories and namespaces. Also finds the runs of dead owners.

use super::names::{DATA_ROOT, NETNS_DIR, RUN_ROOT, RunName};
use super::netns;
use rustix::process::{Pid, Signal, kill_process};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long engines get to stop their containers and exit after SIGTERM.
const ENGINE_STOP: Duration = Duration::from_secs(20);
/// How long killed processes get to disappear.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// Entries of `dir` whose names start with `start`.
fn entries(dir: &Path, start: &str) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<PathBuf> =
        read.filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().starts_with(start)).map(|e| e.path()).collect();
    found.sort();
    found
}

/// The roots of the cgroup hierarchies: each v1 controller's, or the unified one.
fn cgroup_roots() -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    let mut roots = vec![base.to_path_buf()];
    if let Ok(read) = std::fs::read_dir(base) {
        roots.extend(read.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.join("cgroup.procs").exists()));
    }
    roots
}

/// The run's cgroups (its engines' cgroup parents), each with its descendants, deepest first.
fn cgroups(run: &RunName) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        if let Ok(read) = std::fs::read_dir(dir) {
            for entry in read.filter_map(Result::ok).filter(|e| e.file_type().is_ok_and(|t| t.is_dir())) {
                walk(&entry.path(), out);
            }
        }
        out.push(dir.to_path_buf());
    }
    let mut out = Vec::new();
    for root in cgroup_roots() {
        for top in entries(&root, &format!("{run}-")) {
            walk(&top, &mut out);
        }
    }
    out
}

/// Processes in the run's cgroups: its engines' containers.
fn contained(run: &RunName) -> Vec<i32> {
    let mut pids = Vec::new();
    for cgroup in cgroups(run) {
        let procs = std::fs::read_to_string(cgroup.join("cgroup.procs")).unwrap_or_default();
        pids.extend(procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()).filter(|pid| netns::alive(*pid)));
    }
    pids
}

/// Processes in the run's namespaces or cgroups.
fn processes(run: &RunName) -> Vec<i32> {
    let inodes: Vec<u64> = entries(Path::new(NETNS_DIR), &format!("{run}-")).iter().filter_map(|p| netns::inode(p).ok()).collect();
    let mut pids = netns::processes_in(&inodes);
    pids.extend(contained(run));
    pids.sort_unstable();
    pids.dedup();
    pids
}

fn signal(pid: i32, signal: Signal) {
    if let Some(pid) = Pid::from_raw(pid) {
        let _ = kill_process(pid, signal);
    }
}

/// Waits until none of `pids` is alive or `limit` passed; answers those still alive.
fn wait_gone(mut pids: Vec<i32>, limit: Duration) -> Vec<i32> {
    let deadline = Instant::now() + limit;
    loop {
        pids.retain(|pid| netns::alive(*pid));
        if pids.is_empty() || Instant::now() >= deadline {
            return pids;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills the containers (an engine gives each 10 s to stop by itself), then SIGTERM to each engine
/// of the run that is still in the run's namespaces, waiting for them.
fn stop_engines(run: &RunName) {
    let containers = contained(run);
    for pid in &containers {
        signal(*pid, Signal::KILL);
    }
    wait_gone(containers, KILL_WAIT);
    let inside = processes(run);
    let engines: Vec<i32> = entries(&run.runtime_dir(), "")
        .iter()
        .filter_map(|host| std::fs::read_to_string(host.join("docker.pid")).ok()?.trim().parse().ok())
        .filter(|pid| inside.contains(pid))
        .collect();
    for pid in &engines {
        signal(*pid, Signal::TERM);
    }
    wait_gone(engines, ENGINE_STOP);
}

/// Mount points under `dirs` (from this mount namespace's table), deepest first.
fn mounts_under(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<PathBuf> = table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|point| PathBuf::from(unescape(point)))
        .filter(|point| dirs.iter().any(|dir| point.starts_with(dir)))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    points.dedup();
    points
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        match rest.get(at + 1..at + 4).and_then(|code| u8::from_str_radix(code, 8).ok()) {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[at + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Removes everything of `run`; answers what could not be removed (empty when all went).
pub fn remove_run(run: &RunName) -> Vec<String> {
    stop_engines(run);
    let mut left = Vec::new();
    let mut survivors = Vec::new();
    for _ in 0..5 {
        let pids = processes(run);
        if pids.is_empty() {
            break;
        }
        for pid in &pids {
            signal(*pid, Signal::KILL);
        }
        survivors = wait_gone(pids, KILL_WAIT);
    }
    left.extend(survivors.iter().map(|pid| format!("process {pid}")));
    let dirs = [run.runtime_dir(), run.data_dir()];
    for point in mounts_under(&dirs) {
        if let Err(e) = rustix::mount::unmount(&point, rustix::mount::UnmountFlags::DETACH) {
            left.push(format!("mount {} ({e})", point.display()));
        }
    }
    for cgroup in cgroups(run) {
        if let Err(e) = std::fs::remove_dir(&cgroup) {
            left.push(format!("cgroup {} ({e})", cgroup.display()));
        }
    }
    for dir in dirs {
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => left.push(format!("directory {} ({e})", dir.display())),
            _ => {}
        }
    }
    for namespace in entries(Path::new(NETNS_DIR), &format!("{run}-")) {
        if let Err(e) = netns::remove(&namespace) {
            left.push(format!("namespace {} ({e})", namespace.display()));
        }
    }
    // The kernel tears a namespace down (and the root link with its peer) shortly after its
    // last holder went.
    let root_link = Path::new("/sys/class/net").join(run.root_link());
    let deadline = Instant::now() + KILL_WAIT;
    while root_link.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if root_link.exists() {
        left.push(format!("link {}", run.root_link()));
    }
    left
}

/// Runs of `prefix` whose owning process is gone (a crashed or killed test binary).
pub fn orphaned_runs(prefix: &str) -> Vec<RunName> {
    let mut names: Vec<String> = Vec::new();
    for dir in [NETNS_DIR, RUN_ROOT, DATA_ROOT] {
        names.extend(entries(Path::new(dir), prefix).iter().filter_map(|p| Some(p.file_name()?.to_str()?.to_owned())));
    }
    for root in cgroup_roots() {
        names.extend(entries(&root, prefix).iter().filter_map(|p| Some(p.file_name()?.to_str()?.to_owned())));
    }
    let mut runs: Vec<RunName> = names
        .iter()
        .filter_map(|name| RunName::parse(prefix, name))
        .filter(|(_, owner)| !Path::new(&format!("/proc/{owner}")).exists())
        .map(|(run, _)| run)
        .collect();
    runs.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    runs.dedup();
    runs
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape(r"/run/a\040b/c"), "/run/a b/c");
        assert_eq!(unescape(r"/plain"), "/plain");
        assert_eq!(unescape(r"/odd\x"), r"/odd\x");
    }
}
