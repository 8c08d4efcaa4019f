//! Volumes: named storage containers mount, made by a Docker volume driver on each host that needs
//! it (every host of its pool, when it has one), and the checks of a volume as given.

use crate::{Metadata, Name, ProjectId, ValidationError, VolumeId};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The driver used when none is named: Docker's own, on the host's disk (or NFS through its options).
pub const DEFAULT_DRIVER: &str = "local";

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
