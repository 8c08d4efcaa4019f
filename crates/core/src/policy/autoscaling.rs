//! The `autoscaling` policy: follow a target average CPU like Kubernetes' HPA, with per-direction cooldowns and a
//! scale-down stabilisation window.

use super::scaling::ScaleEvent;
use crate::Timestamp;
use crate::validation::ValidationError;
use chrono::Duration;

/// The most a target may be: 1,024 cores' worth (a profile's CPU limit), in percent of one core.
const MAX_TARGET_CPU_PERCENT: f64 = 102_400.0;

/// The properties of an `autoscaling` policy.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscalingPolicy {
    /// The average CPU use per node to aim for, in percent of the node's CPU request (may exceed 100).
    pub target_cpu_percent: f64,
    /// The fewest nodes (default 1, at least 1).
    #[serde(default = "one")]
    pub min_size: usize,
    /// The most nodes (default -1: no limit but the cluster's).
    #[serde(default = "unlimited")]
    pub max_size: i64,
    /// Seconds after a scale-out before the next scale-out (default 60).
    #[serde(default = "sixty")]
    pub scale_out_cooldown: u64,
    /// Seconds after any scaling before a scale-in (default 120).
    #[serde(default = "one_twenty")]
    pub scale_in_cooldown: u64,
    /// Seconds of recommendations a scale-in looks back over, taking the highest (default 60).
    #[serde(default = "sixty")]
    pub stabilization_window: u64,
    /// The relative distance from the target within which nothing changes (default 0.1).
    #[serde(default = "tenth")]
    pub tolerance: f64,
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
fn one_twenty() -> u64 {
    120
}
fn tenth() -> f64 {
    0.1
}

impl AutoscalingPolicy {
    /// Checks the ranges and that `max_size` is not below `min_size`; paths in errors start with `prefix`.
    pub fn validate_at(&self, prefix: &str) -> Result<(), ValidationError> {
        let target = self.target_cpu_percent;
        if !(target > 0.0 && target <= MAX_TARGET_CPU_PERCENT) {
            return Err(ValidationError::new(format!("{prefix}target_cpu_percent"), target, "must be more than 0 and at most 102400"));
        }
        if self.min_size == 0 {
            return Err(ValidationError::new(format!("{prefix}min_size"), 0, "must be at least 1"));
        }
        if self.max_size < -1 || (self.max_size >= 0 && (self.max_size as u64) < self.min_size as u64) {
            return Err(ValidationError::new(format!("{prefix}max_size"), self.max_size, "must be -1 (no limit) or at least min_size"));
        }
        if !(0.0..1.0).contains(&self.tolerance) {
            return Err(ValidationError::new(format!("{prefix}tolerance"), self.tolerance, "must be at least 0 and less than 1"));
        }
        let most = crate::bounds::MAX_CLUSTER_SIZE;
        crate::bounds::range(format!("{prefix}min_size"), self.min_size as u64, 1, most as u64)?;
        crate::bounds::range(format!("{prefix}max_size"), self.max_size, -1, most)?;
        crate::bounds::seconds(format!("{prefix}scale_out_cooldown"), self.scale_out_cooldown, 0)?;
        crate::bounds::seconds(format!("{prefix}scale_in_cooldown"), self.scale_in_cooldown, 0)?;
        crate::bounds::seconds(format!("{prefix}stabilization_window"), self.stabilization_window, 0)
    }

    /// The decision maker for this policy.
    pub fn autoscaler(&self) -> Autoscaler {
        Autoscaler {
            target_cpu_percent: self.target_cpu_percent,
            min_size: self.min_size,
            max_size: usize::try_from(self.max_size).ok(),
            tolerance: self.tolerance,
            scale_out_cooldown: seconds(self.scale_out_cooldown),
            scale_in_cooldown: seconds(self.scale_in_cooldown),
            stabilization_window: seconds(self.stabilization_window),
        }
    }
}

fn seconds(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000))
}

/// Pure autoscaling decisions for one validated policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Autoscaler {
    target_cpu_percent: f64,
    min_size: usize,
    max_size: Option<usize>,
    tolerance: f64,
    scale_out_cooldown: Duration,
    scale_in_cooldown: Duration,
    stabilization_window: Duration,
}

impl Autoscaler {
    /// The HPA's recommendation: `ceil(current × average / target)`, unchanged while the average is within
    /// `tolerance × target` of the target (or unknown: not finite, negative), always clamped to min/max; an empty
    /// cluster (no measurement) gets `min_size`.
    pub fn recommend(&self, current: usize, avg_cpu_percent: f64) -> usize {
        let target = self.target_cpu_percent;
        let desired = if current == 0 {
            self.min_size
        } else if !(avg_cpu_percent.is_finite() && avg_cpu_percent >= 0.0) || (avg_cpu_percent - target).abs() <= self.tolerance * target {
            current
        } else {
            // Multiply first: 10 × 55 / 50 is exactly 11.
            (current as f64 * avg_cpu_percent / target).ceil() as usize
        };
        self.clamp(desired)
    }

    fn clamp(&self, n: usize) -> usize {
        let n = n.max(self.min_size);
        self.max_size.map_or(n, |max| n.min(max))
    }

    /// The size to scale to now, if any, from the recommendations made so far (`(when, recommendation)`, any order).
    ///
    /// Scale-out follows the latest recommendation, unless the last scaling was a scale-out less than
    /// `scale_out_cooldown` ago. Scale-in goes to the highest recommendation within the last `stabilization_window`
    /// (the HPA's stabilisation, so a dip does not shrink the cluster), unless any scaling happened less than
    /// `scale_in_cooldown` ago. Recommendations later than `now` are ignored; `None` when there is nothing to do.
    pub fn decide(
        &self,
        history: &[(Timestamp, usize)],
        now: Timestamp,
        last_scale: Option<(Timestamp, ScaleEvent)>,
        current: usize,
    ) -> Option<usize> {
        let known = history.iter().filter(|(at, _)| *at <= now);
        let (_, latest) = known.clone().max_by_key(|(at, _)| *at)?;
        let since_last = |d: Duration| last_scale.is_some_and(|(at, _)| now - at < d);
        if *latest > current {
            let cooling = last_scale.is_some_and(|(_, event)| event == ScaleEvent::ScaleOut) && since_last(self.scale_out_cooldown);
            return (!cooling).then_some(*latest);
        }
        let window_start = now - self.stabilization_window;
        let stabilized = known.filter(|(at, _)| *at >= window_start).map(|(_, n)| *n).max()?;
        (stabilized < current && !since_last(self.scale_in_cooldown)).then_some(stabilized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(target: f64, min_size: usize, max_size: i64) -> AutoscalingPolicy {
        AutoscalingPolicy {
            target_cpu_percent: target,
            min_size,
            max_size,
            scale_out_cooldown: 60,
            scale_in_cooldown: 120,
            stabilization_window: 60,
            tolerance: 0.1,
        }
    }

    /// `s` seconds after a fixed instant.
    fn t(s: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn recommend_table() {
        let a = policy(50.0, 1, 20).autoscaler();
        let cases = [
            ("double the load, double the nodes", 4, 100.0, 8),
            ("ceil", 3, 70.0, 5),
            ("within tolerance above", 10, 55.0, 10),
            ("within tolerance below", 10, 45.0, 10),
            ("just outside tolerance", 10, 56.0, 12),
            ("half the load", 8, 25.0, 4),
            ("idle: down to min", 4, 0.0, 1),
            ("clamped to max", 6, 200.0, 20),
            ("empty cluster: min", 0, 0.0, 1),
            ("unknown average keeps current", 3, f64::NAN, 3),
            ("negative average keeps current", 3, -5.0, 3),
            ("current above max comes down even within tolerance", 25, 50.0, 20),
        ];
        for (name, current, avg, expected) in cases {
            assert_eq!(a.recommend(current, avg), expected, "{name}");
        }
        assert_eq!(policy(50.0, 2, -1).autoscaler().recommend(100, 500.0), 1000, "no max");
    }

    #[test]
    fn decide_table() {
        use ScaleEvent::*;
        let a = policy(50.0, 1, -1).autoscaler();
        let now = t(1000);
        type Case<'a> = (&'a str, Vec<(Timestamp, usize)>, Option<(Timestamp, ScaleEvent)>, usize, Option<usize>);
        let cases: Vec<Case<'_>> = vec![
            ("no history", vec![], None, 4, None),
            ("steady", vec![(t(990), 4)], None, 4, None),
            ("scale out at once", vec![(t(940), 4), (t(990), 6)], None, 4, Some(6)),
            ("scale out follows the latest, not the highest", vec![(t(980), 9), (t(990), 6)], None, 4, Some(6)),
            ("scale out blocked by a recent scale out", vec![(t(990), 6)], Some((t(950), ScaleOut)), 4, None),
            ("scale out after its cooldown", vec![(t(990), 6)], Some((t(940), ScaleOut)), 4, Some(6)),
            ("scale out not blocked by a recent scale in", vec![(t(990), 6)], Some((t(995), ScaleIn)), 4, Some(6)),
            ("scale in to the window's highest", vec![(t(950), 3), (t(970), 5), (t(990), 2)], None, 6, Some(5)),
            ("scale in ignores what left the window", vec![(t(900), 8), (t(950), 3), (t(990), 2)], None, 6, Some(3)),
            ("a peak in the window holds the size", vec![(t(950), 6), (t(990), 2)], None, 6, None),
            ("scale in blocked by a recent scale out", vec![(t(990), 2)], Some((t(900), ScaleOut)), 6, None),
            ("scale in blocked by a recent scale in", vec![(t(990), 2)], Some((t(900), ScaleIn)), 6, None),
            ("scale in after its cooldown", vec![(t(990), 2)], Some((t(880), ScaleIn)), 6, Some(2)),
            ("window edge is inside", vec![(t(940), 4), (t(990), 2)], None, 6, Some(4)),
            ("future recommendations ignored", vec![(t(990), 4), (t(1010), 9)], None, 4, None),
            ("order does not matter", vec![(t(990), 6), (t(940), 4)], None, 4, Some(6)),
        ];
        for (name, history, last, current, expected) in cases {
            assert_eq!(a.decide(&history, now, last, current), expected, "{name}");
        }
    }

    #[test]
    fn validation_names_the_field() {
        let p = "spec.properties.";
        assert_eq!(policy(50.0, 1, -1).validate_at(p), Ok(()));
        assert_eq!(policy(50.0, 3, 3).validate_at(p), Ok(()));
        let cases = [
            (policy(0.0, 1, -1), "spec.properties.target_cpu_percent"),
            (policy(f64::NAN, 1, -1), "spec.properties.target_cpu_percent"),
            (policy(200_000.0, 1, -1), "spec.properties.target_cpu_percent"),
            (policy(50.0, 0, -1), "spec.properties.min_size"),
            (policy(50.0, 3, 2), "spec.properties.max_size"),
            (policy(50.0, 1, -2), "spec.properties.max_size"),
            (AutoscalingPolicy { tolerance: 1.0, ..policy(50.0, 1, -1) }, "spec.properties.tolerance"),
            (AutoscalingPolicy { tolerance: -0.1, ..policy(50.0, 1, -1) }, "spec.properties.tolerance"),
        ];
        for (policy, field) in cases {
            assert_eq!(policy.validate_at(p).unwrap_err().field, field, "{policy:?}");
        }
    }
}
