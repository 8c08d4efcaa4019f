//! Host-wide measurements beside Docker's own: CPU and memory use from `/proc`, disk size from `statvfs`.
//! The Docker runtime talks to the local engine, so the agent's host is the engine's host.

use crate::runtime::RuntimeError;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// Cumulative CPU jiffies: busy and total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSample {
    busy: u64,
    total: u64,
}

/// Parses the `cpu` line of `/proc/stat`.
pub fn parse_proc_stat(text: &str) -> Option<CpuSample> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line.split_whitespace().skip(1).map(|f| f.parse().ok()).collect::<Option<_>>()?;
    let total: u64 = fields.iter().take(8).sum();
    // idle and iowait are not busy.
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    Some(CpuSample { busy: total.saturating_sub(idle), total })
}

/// Busy share (0-100) between two samples.
pub fn busy_percent(before: CpuSample, after: CpuSample) -> f64 {
    let total = after.total.saturating_sub(before.total);
    if total == 0 { 0.0 } else { after.busy.saturating_sub(before.busy) as f64 / total as f64 * 100.0 }
}

/// `MemTotal - MemAvailable` of `/proc/meminfo`, in MiB.
pub fn parse_meminfo_used_mib(text: &str) -> Option<u64> {
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some(field("MemTotal:")?.saturating_sub(field("MemAvailable:")?) / 1024)
}

fn host_error(what: &str, error: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Engine { context: format!("reading {what}"), message: error.to_string() }
}

async fn read_cpu() -> Result<CpuSample, RuntimeError> {
    let text = tokio::fs::read_to_string("/proc/stat").await.map_err(|e| host_error("/proc/stat", e))?;
    parse_proc_stat(&text).ok_or_else(|| host_error("/proc/stat", "no cpu line"))
}

/// CPU use since the previous call (the first call measures over a short interval).
#[derive(Debug, Default)]
pub struct CpuMeter {
    last: Mutex<Option<CpuSample>>,
}

impl CpuMeter {
    pub async fn percent(&self) -> Result<f64, RuntimeError> {
        let previous = *self.last.lock().map_err(|e| host_error("the CPU sample", e))?;
        let before = match previous {
            Some(sample) => sample,
            None => {
                let sample = read_cpu().await?;
                tokio::time::sleep(Duration::from_millis(200)).await;
                sample
            }
        };
        let now = read_cpu().await?;
        *self.last.lock().map_err(|e| host_error("the CPU sample", e))? = Some(now);
        Ok(busy_percent(before, now))
    }
}

pub async fn memory_used_mib() -> Result<u64, RuntimeError> {
    let text = tokio::fs::read_to_string("/proc/meminfo").await.map_err(|e| host_error("/proc/meminfo", e))?;
    parse_meminfo_used_mib(&text).ok_or_else(|| host_error("/proc/meminfo", "no MemTotal or MemAvailable"))
}

/// Size of the file system holding `path`, in MiB.
pub fn disk_mib(path: &Path) -> Result<u64, RuntimeError> {
    let stat = rustix::fs::statvfs(path).map_err(|e| host_error(&path.display().to_string(), e))?;
    Ok(stat.f_blocks.saturating_mul(stat.f_frsize) / (1024 * 1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_busy_share_between_samples() {
        let a = parse_proc_stat("cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3\n").unwrap();
        let b = parse_proc_stat("cpu  200 0 200 800 100 0 0 0 0 0\n").unwrap();
        assert_eq!(a, CpuSample { busy: 200, total: 1000 });
        assert!((busy_percent(a, b) - 200.0 / 300.0 * 100.0).abs() < 1e-9);
        assert_eq!(busy_percent(a, a), 0.0);
        assert!(parse_proc_stat("intr 1 2").is_none());
    }

    #[test]
    fn memory_used_is_total_less_available() {
        let text = "MemTotal:       2048000 kB\nMemFree:  1 kB\nMemAvailable:   1024000 kB\n";
        assert_eq!(parse_meminfo_used_mib(text), Some(1000));
        assert_eq!(parse_meminfo_used_mib("MemTotal: 5 kB\n"), None);
    }

    #[tokio::test]
    async fn this_host_can_be_measured() {
        let meter = CpuMeter::default();
        let percent = meter.percent().await.unwrap();
        assert!((0.0..=100.0).contains(&percent));
        assert!(memory_used_mib().await.unwrap() > 0);
        assert!(disk_mib(Path::new("/")).unwrap() > 0);
    }
}
