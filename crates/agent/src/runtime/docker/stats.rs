//! Docker's stats sample turned into Flotilla's `ContainerStats`, computed as `docker stats` does. Pure.

use bollard::models::{ContainerCpuStats, ContainerStatsResponse};
use flotilla_api::ContainerStats;

const MIB: f64 = 1024.0 * 1024.0;

/// CPU as a share of one core (200 = two cores busy), memory less the page cache, network totals.
pub fn container_stats(sample: &ContainerStatsResponse) -> ContainerStats {
    let memory = sample.memory_stats.as_ref();
    let usage = memory.and_then(|m| m.usage).unwrap_or(0);
    let cache = memory
        .and_then(|m| m.stats.as_ref())
        .and_then(|s| s.get("inactive_file").or_else(|| s.get("total_inactive_file")).copied())
        .unwrap_or(0);
    let limit = memory.and_then(|m| m.limit).unwrap_or(0);
    let (rx, tx) = sample
        .networks
        .iter()
        .flat_map(|networks| networks.values())
        .fold((0, 0), |(rx, tx), n| (rx + n.rx_bytes.unwrap_or(0), tx + n.tx_bytes.unwrap_or(0)));
    ContainerStats {
        cpu_percent: cpu_percent(sample.cpu_stats.as_ref(), sample.precpu_stats.as_ref()),
        memory_used_mib: usage.saturating_sub(cache) as f64 / MIB,
        memory_limit_mib: limit as f64 / MIB,
        network_rx_bytes: rx,
        network_tx_bytes: tx,
        pids: sample.pids_stats.as_ref().and_then(|p| p.current).unwrap_or(0),
    }
}

/// The CPU counters of one stats sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuSample {
    /// CPU time the container used, nanoseconds.
    pub total: u64,
    /// CPU time the host's CPUs spent, nanoseconds.
    pub system: u64,
    pub cpus: f64,
}

impl CpuSample {
    pub fn of(stats: Option<&ContainerCpuStats>) -> CpuSample {
        CpuSample {
            total: stats.and_then(|s| s.cpu_usage.as_ref()).and_then(|u| u.total_usage).unwrap_or(0),
            system: stats.and_then(|s| s.system_cpu_usage).unwrap_or(0),
            cpus: stats
                .and_then(|s| s.online_cpus.map(f64::from).or_else(|| s.cpu_usage.as_ref()?.percpu_usage.as_ref().map(|p| p.len() as f64)))
                .unwrap_or(1.0),
        }
    }

    /// CPU use between `before` and this sample, as `docker stats` computes it (100 = one core busy).
    pub fn percent_since(&self, before: &CpuSample) -> f64 {
        let cpu_delta = self.total.saturating_sub(before.total) as f64;
        let system_delta = self.system.saturating_sub(before.system) as f64;
        if cpu_delta > 0.0 && system_delta > 0.0 { cpu_delta / system_delta * self.cpus * 100.0 } else { 0.0 }
    }
}

fn cpu_percent(now: Option<&ContainerCpuStats>, before: Option<&ContainerCpuStats>) -> f64 {
    CpuSample::of(now).percent_since(&CpuSample::of(before))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_follow_docker_stats() {
        let sample: ContainerStatsResponse = serde_json::from_value(serde_json::json!({
            "cpu_stats": {"cpu_usage": {"total_usage": 3_000_000_000u64}, "system_cpu_usage": 20_000_000_000u64, "online_cpus": 2},
            "precpu_stats": {"cpu_usage": {"total_usage": 2_000_000_000u64}, "system_cpu_usage": 10_000_000_000u64, "online_cpus": 2},
            "memory_stats": {"usage": 64 * 1024 * 1024, "limit": 128 * 1024 * 1024, "stats": {"inactive_file": 16 * 1024 * 1024}},
            "networks": {"eth0": {"rx_bytes": 100, "tx_bytes": 40}, "eth1": {"rx_bytes": 1, "tx_bytes": 2}},
            "pids_stats": {"current": 3}
        }))
        .unwrap();
        let stats = container_stats(&sample);
        assert!((stats.cpu_percent - 20.0).abs() < 1e-9, "{}", stats.cpu_percent);
        assert_eq!(stats.memory_used_mib, 48.0);
        assert_eq!(stats.memory_limit_mib, 128.0);
        assert_eq!((stats.network_rx_bytes, stats.network_tx_bytes, stats.pids), (101, 42, 3));
    }

    #[test]
    fn successive_one_shot_samples_give_the_use_between_them() {
        let at = |total: u64, system: u64| -> ContainerStatsResponse {
            serde_json::from_value(serde_json::json!({
                "cpu_stats": {"cpu_usage": {"total_usage": total}, "system_cpu_usage": system, "online_cpus": 4},
                "precpu_stats": {}
            }))
            .unwrap()
        };
        let first = CpuSample::of(at(1_000, 10_000).cpu_stats.as_ref());
        let second = CpuSample::of(at(2_000, 14_000).cpu_stats.as_ref());
        assert_eq!(second.percent_since(&first), 100.0, "a quarter of four CPUs: one core");
        assert_eq!(first.percent_since(&second), 0.0, "counters that went back (a restart) say nothing");
        assert_eq!(second.percent_since(&second), 0.0);
    }

    #[test]
    fn without_history_cpu_counts_from_zero_and_nothing_is_zero() {
        let sample: ContainerStatsResponse = serde_json::from_value(serde_json::json!({
            "cpu_stats": {"cpu_usage": {"total_usage": 5}, "system_cpu_usage": 10},
            "precpu_stats": {}
        }))
        .unwrap();
        let stats = container_stats(&sample);
        assert_eq!(stats.cpu_percent, 50.0);
        let empty = container_stats(&ContainerStatsResponse::default());
        assert_eq!((empty.cpu_percent, empty.memory_used_mib, empty.pids), (0.0, 0.0, 0));
    }
}
