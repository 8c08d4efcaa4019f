//! Volumes: named storage containers mount, made by a Docker volume driver on each host that needs
//! it (every host of its pool, when it has one), and the checks of a volume as given.

use crate::{Metadata, Name, ProjectId, ValidationError, VolumeId};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The driver used when none is named: Docker's own, on the host's disk (or NFS through its options).
pub const DEFAULT_DRIVER: &str = "local";

/// The `o` options of a `tmpfs` that members may give: none reaches anything but memory.
const TMPFS_OPTIONS: &[&str] = &["size", "mode", "uid", "gid", "nr_inodes"];

#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    pub id: VolumeId,
    pub name: Name,
    pub project_id: ProjectId,
    pub driver: String,
    pub driver_opts: BTreeMap<String, String>,
    pub size_mib: Option<u64>,
    /// A host pool: the volume is on each of its hosts, and containers mounting it run there.
    pub pool: Option<String>,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
}

impl Volume {
    /// Checks the driver's name, its options and the size; field paths are the request's.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-/:".contains(c));
        if !plain(&self.driver) {
            return Err(ValidationError::new("driver", &self.driver, "must be a volume driver's name, e.g. local"));
        }
        if let Some(key) = self.driver_opts.keys().find(|k| !plain(k)) {
            return Err(ValidationError::new(format!("driver_opts.{key}"), key, "must be an option name of letters, digits and ._-/:"));
        }
        if let Some(size) = self.size_mib {
            crate::bounds::range("size_mib", size, 1, crate::bounds::MAX_DISK_MIB)?;
        }
        if let Some(pool) = &self.pool
            && pool.trim().is_empty()
        {
            return Err(ValidationError::new("pool", pool, "must name a host pool"));
        }
        Ok(())
    }

    /// The first setting that could reach the host's files, devices or network mounts, as
    /// `(field, value)`: only admins may ask for these, as for `binds`. Open to everyone: the
    /// `local` driver with no options (a directory Docker makes and owns) or a `tmpfs` (memory,
    /// with `size`, `mode`, `uid`, `gid`, `nr_inodes`). Any other driver is a plugin that may do
    /// anything on the host; any other `local` type mounts a device or a remote share through the
    /// host (`type: none, o: bind` is a host bind mount by another name).
    pub fn admin_only_setting(&self) -> Option<(String, String)> {
        if self.driver != DEFAULT_DRIVER {
            return Some(("driver".to_owned(), self.driver.clone()));
        }
        let open = |key: &str, value: &str| match key {
            "type" | "device" => value == "tmpfs",
            "o" => value.split(',').all(|part| TMPFS_OPTIONS.contains(&part.split('=').next().unwrap_or(part))),
            _ => false,
        };
        let typed = self.driver_opts.get("type").map(String::as_str);
        match self.driver_opts.iter().find(|(key, value)| !open(key, value)) {
            Some((key, value)) => Some((format!("driver_opts.{key}"), value.clone())),
            None if typed.is_none() && !self.driver_opts.is_empty() => Some(("driver_opts.type".to_owned(), String::new())),
            None => None,
        }
    }

    /// The options the driver gets: the given ones, and for a tmpfs on the `local` driver the size.
    pub fn runtime_options(&self) -> BTreeMap<String, String> {
        let mut options = self.driver_opts.clone();
        if let Some(size) = self.size_mib
            && self.driver == DEFAULT_DRIVER
            && options.get("type").map(String::as_str) == Some("tmpfs")
        {
            let o = options.entry("o".to_owned()).or_default();
            if !o.split(',').any(|part| part.starts_with("size=")) {
                *o = if o.is_empty() { format!("size={size}m") } else { format!("{o},size={size}m") };
            }
        }
        options
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume() -> Volume {
        Volume {
            id: VolumeId::new(),
            name: Name::parse("name", "data").unwrap(),
            project_id: ProjectId::new(),
            driver: DEFAULT_DRIVER.into(),
            driver_opts: BTreeMap::new(),
            size_mib: None,
            pool: None,
            metadata: Metadata::default(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn bad_volumes_name_the_field() {
        type Change = Box<dyn Fn(&mut Volume)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|v| v.driver = "no spaces".into()), "driver"),
            (Box::new(|v| v.driver = String::new()), "driver"),
            (Box::new(|v| _ = v.driver_opts.insert("a b".into(), "x".into())), "driver_opts.a b"),
            (Box::new(|v| v.size_mib = Some(0)), "size_mib"),
            (Box::new(|v| v.pool = Some(" ".into())), "pool"),
        ];
        for (change, field) in cases {
            let mut v = volume();
            change(&mut v);
            assert_eq!(v.validate().unwrap_err().field, field);
        }
        let mut nfs = volume();
        nfs.driver_opts = [("type", "nfs"), ("o", "addr=10.0.0.1,rw"), ("device", ":/export")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(nfs.validate(), Ok(()));
    }

    fn with(driver: &str, options: &[(&str, &str)]) -> Volume {
        let mut v = volume();
        v.driver = driver.to_owned();
        v.driver_opts = options.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        v
    }

    #[test]
    fn only_settings_that_cannot_reach_the_host_are_open() {
        let open = [
            with("local", &[]),
            with("local", &[("type", "tmpfs"), ("device", "tmpfs")]),
            with("local", &[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=64m,mode=1777,uid=1000")]),
        ];
        for v in open {
            assert_eq!(v.admin_only_setting(), None, "{:?}", v.driver_opts);
        }
        let admin = [
            (with("local", &[("type", "none"), ("o", "bind"), ("device", "/etc")]), ("driver_opts.device", "/etc")),
            (with("local", &[("type", "tmpfs"), ("o", "bind")]), ("driver_opts.o", "bind")),
            (with("local", &[("type", "tmpfs"), ("device", "/dev/sda1")]), ("driver_opts.device", "/dev/sda1")),
            (with("local", &[("type", "nfs"), ("o", "addr=10.0.0.1"), ("device", ":/export")]), ("driver_opts.device", ":/export")),
            (with("local", &[("type", "ext4")]), ("driver_opts.type", "ext4")),
            (with("local", &[("o", "size=1m")]), ("driver_opts.type", "")),
            (with("local", &[("type", "tmpfs"), ("size", "1")]), ("driver_opts.size", "1")),
            (with("rexray", &[]), ("driver", "rexray")),
        ];
        for (v, (field, value)) in admin {
            assert_eq!(v.admin_only_setting(), Some((field.to_owned(), value.to_owned())), "{:?}", v.driver_opts);
        }
    }

    #[test]
    fn a_tmpfs_gets_its_size() {
        let mut v = volume();
        v.size_mib = Some(64);
        assert_eq!(v.runtime_options().get("o"), None, "a plain local volume has no size option");
        v.driver_opts.insert("type".into(), "tmpfs".into());
        v.driver_opts.insert("device".into(), "tmpfs".into());
        assert_eq!(v.runtime_options()["o"], "size=64m");
        v.driver_opts.insert("o".into(), "uid=1000".into());
        assert_eq!(v.runtime_options()["o"], "uid=1000,size=64m");
        v.driver_opts.insert("o".into(), "size=1m".into());
        assert_eq!(v.runtime_options()["o"], "size=1m", "a size given in the options wins");
    }
}
