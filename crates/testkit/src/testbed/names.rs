//! Names and paths of one run, `<prefix><pid>-<n>`: concurrent runs never collide, and a crashed
//! run's leftovers name their dead owner.

use super::TestbedError;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// Sockets, pid files, exec roots and logs of every run live under here (tmpfs).
pub const RUN_ROOT: &str = "/run/flotilla-testbed";
/// Docker data roots of every run live under here (disk: images and layers).
pub const DATA_ROOT: &str = "/var/lib/flotilla-testbed";
/// Where `ip netns` keeps named namespaces.
pub const NETNS_DIR: &str = "/var/run/netns";
/// The alias of every testbed's root-namespace link: its routes are other testbeds', not the machine's.
pub const LINK_ALIAS: &str = "flotilla-testbed";

/// Runs started by this process so far (several testbeds may live in one test binary).
static RUNS: AtomicU32 = AtomicU32::new(0);

/// One run's name, `<prefix><pid>-<n>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunName(String);

impl RunName {
    /// A new run of this process; `prefix` is 1 to 3 lowercase letters (link names stay ≤ 15 bytes).
    pub fn next(prefix: &str) -> Result<Self, TestbedError> {
        if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(TestbedError::Spec {
                field: "prefix",
                value: prefix.to_owned(),
                reason: "must be 1 to 3 lowercase letters".into(),
            });
        }
        let n = RUNS.fetch_add(1, Ordering::Relaxed) % 100;
        Ok(Self(format!("{prefix}{}-{n}", std::process::id())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Host `index`'s name: its namespace, agent and cgroup parent.
    pub fn host(&self, index: usize) -> String {
        format!("{}-h{index}", self.0)
    }

    /// The namespace holding the underlay bridge.
    pub fn underlay_ns(&self) -> String {
        format!("{}-ul", self.0)
    }

    /// The root namespace's end of its veth to the underlay bridge.
    pub fn root_link(&self) -> String {
        format!("{}-r", self.0)
    }

    pub fn runtime_dir(&self) -> PathBuf {
        PathBuf::from(RUN_ROOT).join(&self.0)
    }

    pub fn data_dir(&self) -> PathBuf {
        PathBuf::from(DATA_ROOT).join(&self.0)
    }

    /// The run named at the start of `entry` (a namespace, directory, link or cgroup name) when
    /// it begins with `prefix`, with the pid that owns it.
    pub fn parse(prefix: &str, entry: &str) -> Option<(Self, u32)> {
        let rest = entry.strip_prefix(prefix)?;
        let (pid, rest) = rest.split_once('-')?;
        let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let after = &rest[n.len()..];
        if n.is_empty() || !(after.is_empty() || after.starts_with('-')) {
            return None;
        }
        let owner = pid.parse().ok()?;
        Some((Self(format!("{prefix}{pid}-{n}")), owner))
    }
}

impl std::fmt::Display for RunName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_finds_the_run_and_its_owner() {
        let run = RunName::next("tst").unwrap();
        let pid = std::process::id();
        assert!(run.as_str().starts_with(&format!("tst{pid}-")));
        for entry in [run.as_str().to_owned(), run.host(2), run.underlay_ns(), run.root_link()] {
            assert_eq!(RunName::parse("tst", &entry), Some((run.clone(), pid)), "{entry}");
        }
        assert_eq!(RunName::parse("tst", "tstx-1"), None);
        assert_eq!(RunName::parse("tst", "tst12-"), None);
        assert_eq!(RunName::parse("tst", "tst12-3x"), None);
        assert_eq!(RunName::parse("abc", &run.host(0)), None);
    }

    #[test]
    fn prefix_is_short_and_lowercase() {
        for bad in ["", "abcd", "Ab", "a1"] {
            assert!(matches!(RunName::next(bad), Err(TestbedError::Spec { field: "prefix", .. })), "{bad:?}");
        }
        let longest = RunName::next("abc").unwrap().root_link();
        assert!(longest.len() <= 15, "{longest} fits a link name");
    }
}
