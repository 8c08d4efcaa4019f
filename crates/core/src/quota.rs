//! Quotas: per-project limits on containers, CPU, memory and image bytes, and the check against usage.

use std::fmt;

/// Limits of one project; `None` means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Quota {
    pub containers: Option<u64>,
    pub cpu_millis: Option<u64>,
    pub memory_mib: Option<u64>,
    pub image_bytes: Option<u64>,
}

/// What a project holds now, or what a request would add.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    pub containers: u64,
    pub cpu_millis: u64,
    pub memory_mib: u64,
    pub image_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Containers,
    Cpu,
    Memory,
    ImageBytes,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Resource::Containers => "containers",
            Resource::Cpu => "cpu_millis",
            Resource::Memory => "memory_mib",
            Resource::ImageBytes => "image_bytes",
        })
    }
}

/// A request that would take a project past one of its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("quota exceeded for {resource}: limit {limit}, in use {used}, requested {requested}")]
pub struct QuotaExceeded {
    pub resource: Resource,
    pub limit: u64,
    pub used: u64,
    pub requested: u64,
}

impl Quota {
    /// `Ok` when `used + add` stays within every limit; else the first limit crossed.
    pub fn check(&self, used: &Usage, add: &Usage) -> Result<(), QuotaExceeded> {
        let checks = [
            (Resource::Containers, self.containers, used.containers, add.containers),
            (Resource::Cpu, self.cpu_millis, used.cpu_millis, add.cpu_millis),
            (Resource::Memory, self.memory_mib, used.memory_mib, add.memory_mib),
            (Resource::ImageBytes, self.image_bytes, used.image_bytes, add.image_bytes),
        ];
        for (resource, limit, used, requested) in checks {
            if let Some(limit) = limit
                && requested > 0
                && used.saturating_add(requested) > limit
            {
                return Err(QuotaExceeded { resource, limit, used, requested });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_the_first_limit_crossed() {
        let quota = Quota { containers: Some(10), memory_mib: Some(1024), ..Default::default() };
        let used = Usage { containers: 9, memory_mib: 1000, ..Default::default() };
        assert!(quota.check(&used, &Usage { containers: 1, ..Default::default() }).is_ok());
        let err = quota.check(&used, &Usage { containers: 2, memory_mib: 10, ..Default::default() }).unwrap_err();
        assert_eq!(err.resource, Resource::Containers);
        assert_eq!(err.to_string(), "quota exceeded for containers: limit 10, in use 9, requested 2");
        let err = quota.check(&used, &Usage { containers: 1, memory_mib: 64, ..Default::default() }).unwrap_err();
        assert_eq!(err.resource, Resource::Memory);
        assert!(Quota::default().check(&used, &Usage { containers: 1000, ..Default::default() }).is_ok());
    }
}
