//! The `scaling` policy: how many nodes a scale-in or scale-out changes, as Senlin's `ScalingPolicy.pre_op` decides.
//!
//! The percentage arithmetic is the scaling policy's own (Senlin truncates `number × current / 100` and raises it to
//! `min_step`), not the resize rounding of [`crate::resize::calculate_desired`]; the size checks are
//! [`crate::resize::check_size_params`], so refusals carry Senlin's messages.

use crate::resize::{AdjustmentType, ClusterSize, ResizeError, check_size_params};
use crate::validation::ValidationError;

/// The action a scaling policy shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ScaleEvent {
    /// `CLUSTER_SCALE_IN` (also read as `SCALE_IN`).
    #[serde(rename = "CLUSTER_SCALE_IN", alias = "SCALE_IN")]
    ScaleIn,
    /// `CLUSTER_SCALE_OUT` (also read as `SCALE_OUT`).
    #[serde(rename = "CLUSTER_SCALE_OUT", alias = "SCALE_OUT")]
    ScaleOut,
}

impl ScaleEvent {
    /// The action's name: `CLUSTER_SCALE_IN` or `CLUSTER_SCALE_OUT`.
    pub fn action(self) -> &'static str {
        match self {
            Self::ScaleIn => super::CLUSTER_SCALE_IN,
            Self::ScaleOut => super::CLUSTER_SCALE_OUT,
        }
    }
}

/// The properties of a `scaling` policy.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingPolicy {
    /// The action this policy shapes; it ignores the other.
    pub event: ScaleEvent,
    /// How much to scale by; every field has Senlin's default.
    #[serde(default)]
    pub adjustment: Adjustment,
}

/// How much one scaling action changes the cluster.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adjustment {
    /// How `number` is read (default `CHANGE_IN_CAPACITY`).
    #[serde(rename = "type", default = "change_in_capacity")]
    pub adjustment_type: AdjustmentType,
    /// Nodes, a percentage, or the exact capacity (default 1; must be > 0).
    #[serde(default = "one")]
    pub number: f64,
    /// For percentages: change by at least this many nodes (default 1).
    #[serde(default = "one_step")]
    pub min_step: u32,
    /// Clamp to the cluster's min/max instead of refusing (default false).
    #[serde(default)]
    pub best_effort: bool,
    /// Seconds the cluster is held after scaling before it may scale again (default 0).
    #[serde(default)]
    pub cooldown: u64,
}

impl Default for Adjustment {
    /// Senlin's defaults: change in capacity by 1, min_step 1, strict, no cooldown.
    fn default() -> Self {
        Self { adjustment_type: AdjustmentType::ChangeInCapacity, number: 1.0, min_step: 1, best_effort: false, cooldown: 0 }
    }
}

fn change_in_capacity() -> AdjustmentType {
    AdjustmentType::ChangeInCapacity
}
fn one() -> f64 {
    1.0
}
fn one_step() -> u32 {
    1
}

/// Why a scaling policy refuses its action (Senlin's `CHECK_ERROR` reasons).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScalingError {
    /// The count (given or computed) is not a positive whole number.
    #[error("Invalid count ({count}) for action '{action}'.")]
    InvalidCount {
        /// The count refused.
        count: f64,
        /// The action's name.
        action: &'static str,
    },
    /// The resulting size breaks the cluster's bounds or the region's cap.
    #[error(transparent)]
    Size(#[from] ResizeError),
}

impl ScalingPolicy {
    /// Checks what the types do not; paths in errors start with `prefix` (e.g. `spec.properties.`).
    pub fn validate_at(&self, prefix: &str) -> Result<(), ValidationError> {
        let a = &self.adjustment;
        if !(a.number.is_finite() && a.number > 0.0) {
            return Err(ValidationError::new(format!("{prefix}adjustment.number"), a.number, "must be > 0"));
        }
        if a.adjustment_type != AdjustmentType::ChangeInPercentage && a.number.fract() != 0.0 {
            return Err(ValidationError::new(
                format!("{prefix}adjustment.number"),
                a.number,
                format!("must be a whole number for {}", a.adjustment_type),
            ));
        }
        let most = if a.adjustment_type == AdjustmentType::ChangeInPercentage { 1e6 } else { crate::bounds::MAX_CLUSTER_SIZE as f64 };
        crate::bounds::range(format!("{prefix}adjustment.number"), a.number, 0.0, most)?;
        crate::bounds::range(format!("{prefix}adjustment.min_step"), i64::from(a.min_step), 0, crate::bounds::MAX_CLUSTER_SIZE)?;
        crate::bounds::seconds(format!("{prefix}adjustment.cooldown"), a.cooldown, 0)?;
        Ok(())
    }

    /// Whether the policy shapes `action` (Senlin's `need_check`: only its own event).
    pub fn applies_to(&self, action: &str) -> bool {
        self.event.action() == action
    }

    /// Senlin's `_calculate_adjustment_count`: the nodes to add or remove from `current`, before any check.
    ///
    /// Exact capacity counts the distance to `number` in the event's direction (negative when it points the other
    /// way); a change in capacity is `number`; a percentage is `number × current / 100` truncated, raised to `min_step`.
    pub fn adjustment_count(&self, current: i64) -> f64 {
        let a = &self.adjustment;
        match a.adjustment_type {
            AdjustmentType::ExactCapacity => match self.event {
                ScaleEvent::ScaleIn => current as f64 - a.number,
                ScaleEvent::ScaleOut => a.number - current as f64,
            },
            AdjustmentType::ChangeInCapacity => a.number,
            AdjustmentType::ChangeInPercentage => (a.number * current as f64 / 100.0).trunc().max(f64::from(a.min_step)),
        }
    }

    /// Senlin's `pre_op`: how many nodes the action adds (scale-out) or removes (scale-in).
    ///
    /// `current` is the cluster's node count; `requested` is the action's own `count`, which wins over the policy's
    /// adjustment. The count must be a positive whole number. Strict (not `best_effort`): the new size is checked
    /// against the cluster's min/max and `max_nodes_per_cluster`. With `best_effort`, the count is first clamped to
    /// the room left (an unlimited `max_size` means `max_nodes_per_cluster`), and may then be 0: nothing to do.
    pub fn count(
        &self,
        cluster: &ClusterSize,
        current: i64,
        requested: Option<i64>,
        max_nodes_per_cluster: i64,
    ) -> Result<i64, ScalingError> {
        let wanted = requested.map_or_else(|| self.adjustment_count(current), |c| c as f64);
        if !(wanted.is_finite() && wanted.fract() == 0.0 && wanted > 0.0) {
            return Err(ScalingError::InvalidCount { count: wanted, action: self.event.action() });
        }
        let mut count = wanted as i64;
        let best_effort = self.adjustment.best_effort;
        let max_size = if cluster.max_size == -1 { max_nodes_per_cluster } else { cluster.max_size };
        let target = match self.event {
            ScaleEvent::ScaleIn => {
                if best_effort {
                    count = count.min(current - cluster.min_size).max(0);
                }
                current - count
            }
            ScaleEvent::ScaleOut => {
                if best_effort {
                    count = count.min(max_size - current).max(0);
                }
                current + count
            }
        };
        check_size_params(cluster, Some(target), None, None, !best_effort, max_nodes_per_cluster)?;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AdjustmentType::*;

    fn policy(event: ScaleEvent, adjustment_type: AdjustmentType, number: f64, min_step: u32, best_effort: bool) -> ScalingPolicy {
        ScalingPolicy { event, adjustment: Adjustment { adjustment_type, number, min_step, best_effort, cooldown: 0 } }
    }

    fn size(desired: i64, min_size: i64, max_size: i64) -> ClusterSize {
        ClusterSize { desired, min_size, max_size }
    }

    #[test]
    fn adjustment_count_table() {
        use ScaleEvent::*;
        // Senlin's test_calculate_adjustment_count.
        let cases = [
            (policy(ScaleIn, ExactCapacity, 1.0, 1, false), 3, 2.0),
            (policy(ScaleOut, ExactCapacity, 1.0, 1, false), 3, -2.0),
            (policy(ScaleIn, ChangeInCapacity, 1.0, 1, false), 3, 1.0),
            (policy(ScaleIn, ChangeInPercentage, 50.0, 1, false), 10, 5.0),
            (policy(ScaleIn, ChangeInPercentage, 1.0, 2, false), 10, 2.0),
            // Truncation, then min_step; min_step 0 leaves a zero count (refused later).
            (policy(ScaleOut, ChangeInPercentage, 15.0, 1, false), 10, 1.0),
            (policy(ScaleOut, ChangeInPercentage, 19.0, 0, false), 10, 1.0),
            (policy(ScaleOut, ChangeInPercentage, 5.0, 0, false), 10, 0.0),
        ];
        for (i, (p, current, expected)) in cases.iter().enumerate() {
            assert_eq!(p.adjustment_count(*current), *expected, "case {i}");
        }
    }

    #[test]
    fn pre_op_table() {
        use ScaleEvent::*;
        let c = size(3, 1, 10);
        let unlimited = size(2, 1, -1);
        let ok = |n: i64| -> Result<i64, String> { Ok(n) };
        let err = |s: &str| -> Result<i64, String> { Err(s.to_owned()) };
        // (name, policy, cluster, current, requested count, expected)
        let cases = [
            ("pass_without_input", policy(ScaleIn, ExactCapacity, 1.0, 1, false), c, 3, None, ok(2)),
            ("pass_with_input", policy(ScaleIn, ChangeInCapacity, 2.0, 1, false), c, 3, Some(1), ok(1)),
            ("pass_check_effort", policy(ScaleOut, ChangeInCapacity, 1.0, 1, true), unlimited, 2, None, ok(1)),
            (
                "fail_negative_count",
                policy(ScaleIn, ExactCapacity, 5.0, 1, false),
                c,
                3,
                None,
                err("Invalid count (-2) for action 'CLUSTER_SCALE_IN'."),
            ),
            (
                "fail_below_min_size",
                policy(ScaleIn, ChangeInCapacity, 3.0, 1, false),
                c,
                3,
                None,
                err("The target capacity (0) is less than the cluster's min_size (1)."),
            ),
            ("pass_best_effort", policy(ScaleIn, ChangeInCapacity, 3.0, 1, true), c, 3, None, ok(2)),
            (
                "scale out above max",
                policy(ScaleOut, ChangeInCapacity, 8.0, 1, false),
                c,
                3,
                None,
                err("The target capacity (11) is greater than the cluster's max_size (10)."),
            ),
            ("scale out best effort clamps to max", policy(ScaleOut, ChangeInCapacity, 8.0, 1, true), c, 3, None, ok(7)),
            ("best effort at the bound: nothing to do", policy(ScaleIn, ChangeInCapacity, 1.0, 1, true), size(1, 1, 10), 1, None, ok(0)),
            (
                "unlimited max is the region cap",
                policy(ScaleOut, ChangeInCapacity, 5.0, 1, false),
                unlimited,
                998,
                None,
                err("The target capacity (1003) is greater than the maximum number of nodes allowed per cluster (1000)."),
            ),
            (
                "unlimited max, best effort: clamped to the region cap",
                policy(ScaleOut, ChangeInCapacity, 5.0, 1, true),
                unlimited,
                998,
                None,
                ok(2),
            ),
            (
                "zero percent without min_step",
                policy(ScaleOut, ChangeInPercentage, 5.0, 0, false),
                c,
                3,
                None,
                err("Invalid count (0) for action 'CLUSTER_SCALE_OUT'."),
            ),
            ("percentage of the node count", policy(ScaleOut, ChangeInPercentage, 50.0, 1, false), c, 4, None, ok(2)),
            (
                "requested zero",
                policy(ScaleOut, ChangeInCapacity, 1.0, 1, false),
                c,
                3,
                Some(0),
                err("Invalid count (0) for action 'CLUSTER_SCALE_OUT'."),
            ),
            ("exact capacity above current on scale out", policy(ScaleOut, ExactCapacity, 6.0, 1, false), c, 3, None, ok(3)),
        ];
        for (name, p, cluster, current, requested, expected) in cases {
            let got = p.count(&cluster, current, requested, 1000).map_err(|e| e.to_string());
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn need_check_only_for_its_event() {
        let p = policy(ScaleEvent::ScaleIn, ChangeInCapacity, 1.0, 1, false);
        assert!(p.applies_to("CLUSTER_SCALE_IN"));
        assert!(!p.applies_to("CLUSTER_SCALE_OUT"));
    }

    #[test]
    fn validation_names_the_field() {
        let mut p = policy(ScaleEvent::ScaleIn, ChangeInCapacity, 1.0, 1, false);
        assert_eq!(p.validate_at("spec.properties."), Ok(()));
        p.adjustment.number = 0.0;
        assert_eq!(p.validate_at("spec.properties.").unwrap_err().field, "spec.properties.adjustment.number");
        p.adjustment.number = 1.5;
        assert_eq!(p.validate_at("spec.properties.").unwrap_err().reason, "must be a whole number for CHANGE_IN_CAPACITY");
        p.adjustment.adjustment_type = ChangeInPercentage;
        assert_eq!(p.validate_at("spec.properties."), Ok(()));
    }
}
