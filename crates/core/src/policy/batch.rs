//! The `batch` policy: a rolling update in batches, sized as Senlin's `BatchPolicy` (`_get_batch_size`, `_pick_nodes`).

use crate::validation::ValidationError;

/// The properties of a `batch` policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchPolicy {
    /// Nodes that stay in service while others are updated (default 1).
    #[serde(default = "one")]
    pub min_in_service: usize,
    /// The most nodes updated at once (default -1: no limit).
    #[serde(default = "unlimited")]
    pub max_batch_size: i64,
    /// Seconds between batches (default 60).
    #[serde(default = "sixty")]
    pub pause_time: u64,
}

impl Default for BatchPolicy {
    /// Senlin's defaults: one node in service, no batch limit, a minute between batches.
    fn default() -> Self {
        Self { min_in_service: 1, max_batch_size: -1, pause_time: 60 }
    }
}

fn one() -> usize {
    1
}
fn unlimited() -> i64 {
    -1
}
fn sixty() -> u64 {
    60
}

impl BatchPolicy {
    /// Checks `max_batch_size`; paths in errors start with `prefix` (e.g. `spec.properties.`).
    pub fn validate_at(&self, prefix: &str) -> Result<(), ValidationError> {
        if self.max_batch_size == 0 || self.max_batch_size < -1 {
            return Err(ValidationError::new(
                format!("{prefix}max_batch_size"),
                self.max_batch_size,
                "must be -1 (no limit) or at least 1",
            ));
        }
        crate::bounds::range(format!("{prefix}max_batch_size"), self.max_batch_size, -1, crate::bounds::MAX_CLUSTER_SIZE)?;
        crate::bounds::range(format!("{prefix}min_in_service"), self.min_in_service as u64, 0, crate::bounds::MAX_CLUSTER_SIZE as u64)?;
        crate::bounds::seconds(format!("{prefix}pause_time"), self.pause_time, 0)
    }

    /// Senlin's `_get_batch_size`: all but `min_in_service` nodes at once (half, rounded up, when the cluster has no
    /// more nodes than that), capped by `max_batch_size`; at least 1.
    pub fn batch_size(&self, total: usize) -> usize {
        let spare = if total > self.min_in_service { total - self.min_in_service } else { total.div_ceil(2) };
        let size = match usize::try_from(self.max_batch_size) {
            Ok(max) if max < spare => max,
            _ => spare,
        };
        size.max(1)
    }

    /// The size of each batch updating `total` nodes, in order; empty for no nodes.
    pub fn plan(&self, total: usize) -> Vec<usize> {
        let size = self.batch_size(total);
        (0..total).step_by(size).map(|start| size.min(total - start)).collect()
    }

    /// Senlin's `_pick_nodes`: the nodes (indices into `healthy`) of each batch, unhealthy nodes first so the healthy
    /// ones stay in service longest; otherwise in the given order.
    pub fn plan_nodes(&self, healthy: &[bool]) -> Vec<Vec<usize>> {
        let (mut order, rest): (Vec<usize>, Vec<usize>) = (0..healthy.len()).partition(|&i| !healthy[i]);
        order.extend(rest);
        let size = self.batch_size(order.len());
        order.chunks(size).map(<[usize]>::to_vec).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(min_in_service: usize, max_batch_size: i64) -> BatchPolicy {
        BatchPolicy { min_in_service, max_batch_size, pause_time: 60 }
    }

    #[test]
    fn plan_table() {
        let cases = [
            // Senlin's test__get_batch_size*.
            ("get_batch_size", policy(1, 2), 5, vec![2, 2, 1]),
            ("less_than_max", policy(1, 3), 3, vec![2, 1]),
            ("less_than_min", policy(2, 2), 1, vec![1]),
            ("with_default_max", policy(1, -1), 5, vec![4, 1]),
            // And around them.
            ("as many as min_in_service: halves", policy(2, -1), 2, vec![1, 1]),
            ("fewer than min_in_service: halves", policy(5, -1), 3, vec![2, 1]),
            ("nobody in service needed: one batch", policy(0, -1), 4, vec![4]),
            ("one at a time", policy(1, 1), 3, vec![1, 1, 1]),
            ("no nodes", policy(1, 2), 0, vec![]),
            ("single node", policy(1, -1), 1, vec![1]),
        ];
        for (name, p, total, expected) in cases {
            assert_eq!(p.plan(total), expected, "{name}");
            assert_eq!(p.plan(total).iter().sum::<usize>(), total, "{name}");
        }
    }

    #[test]
    fn pick_nodes_puts_unhealthy_first() {
        // Senlin's test__pick_nodes_all_active and test__pick_nodes_with_error_nodes.
        assert_eq!(policy(1, 2).plan_nodes(&[true, true, true]), vec![vec![0, 1], vec![2]]);
        assert_eq!(policy(1, 2).plan_nodes(&[true, true, false]), vec![vec![2, 0], vec![1]]);
        assert_eq!(policy(1, 2).plan_nodes(&[]), Vec::<Vec<usize>>::new());
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(BatchPolicy::default().validate_at("spec.properties."), Ok(()));
        for bad in [0, -2] {
            assert_eq!(policy(1, bad).validate_at("spec.properties.").unwrap_err().field, "spec.properties.max_batch_size");
        }
    }
}
