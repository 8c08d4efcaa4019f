//! Cluster resize arithmetic as Senlin does it: adjustment types, percentage rounding with `min_step`, truncation, size checks.
//!
//! Ported from Senlin's `senlin/common/scaleutils.py` (`calculate_desired`, `truncate_desired`, `check_size_params`,
//! `parse_resize_params`), the request checks of `senlin/conductor/service.py` (`cluster_resize`, `cluster_scale_out`,
//! `cluster_scale_in`) and `senlin/engine/actions/cluster_action.py` (`do_resize`, `do_scale_out`, `do_scale_in`).
//! Every refusal is a [`ResizeError`] whose text is Senlin's, with the numbers in it.

use std::fmt;
use std::str::FromStr;

/// Senlin's default for the region-wide cap on the nodes of one cluster (`max_nodes_per_cluster`).
pub const DEFAULT_MAX_NODES_PER_CLUSTER: i64 = 1000;

/// How a resize request's `number` is read (Senlin's `ADJUSTMENT_TYPES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AdjustmentType {
    /// `number` is the new desired capacity.
    ExactCapacity,
    /// `number` is added to the current capacity (negative shrinks).
    ChangeInCapacity,
    /// `number` is a percentage of the current capacity to add (negative shrinks).
    ChangeInPercentage,
}

impl AdjustmentType {
    pub const ALL: [AdjustmentType; 3] = [Self::ExactCapacity, Self::ChangeInCapacity, Self::ChangeInPercentage];

    /// Senlin's spelling: `EXACT_CAPACITY`, `CHANGE_IN_CAPACITY`, `CHANGE_IN_PERCENTAGE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExactCapacity => "EXACT_CAPACITY",
            Self::ChangeInCapacity => "CHANGE_IN_CAPACITY",
            Self::ChangeInPercentage => "CHANGE_IN_PERCENTAGE",
        }
    }
}

impl fmt::Display for AdjustmentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AdjustmentType {
    type Err = ResizeError;

    /// Parses Senlin's exact (case-sensitive) spelling; anything else is refused with Senlin's enum-field message.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| ResizeError::UnknownAdjustmentType(s.to_owned()))
    }
}

/// The size properties of a cluster as they are now. `max_size` -1 means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterSize {
    pub desired: i64,
    pub min_size: i64,
    pub max_size: i64,
}

/// A `CLUSTER_RESIZE` request, as Senlin's `ClusterResizeRequest`.
///
/// `adjustment_type` and `number` come together or not at all. `min_step` is only read for
/// [`AdjustmentType::ChangeInPercentage`] (Senlin drops it otherwise). `strict` defaults to `true`, as in Senlin's API.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResizeRequest {
    pub adjustment_type: Option<AdjustmentType>,
    pub number: Option<f64>,
    pub min_size: Option<i64>,
    pub max_size: Option<i64>,
    pub min_step: Option<i64>,
    pub strict: bool,
}

impl Default for ResizeRequest {
    /// Nothing requested, `strict` true: Senlin's defaults.
    fn default() -> Self {
        Self { adjustment_type: None, number: None, min_size: None, max_size: None, min_step: None, strict: true }
    }
}

/// The cluster's size properties once a resize is accepted: what the cluster record becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResizePlan {
    pub desired: i64,
    pub min_size: i64,
    pub max_size: i64,
}

/// A refused resize or scale request. Each text is Senlin's, formatted with the numbers involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResizeError {
    #[error("Value '{0}' is not acceptable for field 'adjustment_type'.")]
    UnknownAdjustmentType(String),
    #[error("Not enough parameters to do resize action.")]
    NotEnoughParameters,
    #[error("The value for the {field} field must be greater than or equal to {minimum}.")]
    FieldBelowMinimum { field: &'static str, minimum: i64 },
    #[error("The value for the {field} field must be less than or equal to {maximum}.")]
    FieldAboveMaximum { field: &'static str, maximum: i64 },
    #[error("Value must be >= 0 for field 'min_step'.")]
    NegativeMinStep,
    #[error("Missing number value for size adjustment.")]
    MissingNumber,
    #[error("Missing adjustment_type value for size adjustment.")]
    MissingAdjustmentType,
    #[error("The 'number' must be non-negative integer for adjustment type 'EXACT_CAPACITY'.")]
    ExactCapacityNegative,
    #[error("The target capacity ({desired}) is greater than the maximum number of nodes allowed per cluster ({max_nodes}).")]
    TargetAboveMaxNodes { desired: i64, max_nodes: i64 },
    #[error("The target capacity ({desired}) is less than the specified min_size ({min_size}).")]
    TargetBelowSpecifiedMin { desired: i64, min_size: i64 },
    #[error("The target capacity ({desired}) is less than the cluster's min_size ({min_size}).")]
    TargetBelowClusterMin { desired: i64, min_size: i64 },
    #[error("The target capacity ({desired}) is greater than the specified max_size ({max_size}).")]
    TargetAboveSpecifiedMax { desired: i64, max_size: i64 },
    #[error("The target capacity ({desired}) is greater than the cluster's max_size ({max_size}).")]
    TargetAboveClusterMax { desired: i64, max_size: i64 },
    #[error("The specified min_size ({min_size}) is greater than the specified max_size ({max_size}).")]
    MinAboveSpecifiedMax { min_size: i64, max_size: i64 },
    #[error("The specified min_size ({min_size}) is greater than the current max_size ({max_size}) of the cluster.")]
    MinAboveClusterMax { min_size: i64, max_size: i64 },
    #[error("The specified min_size ({min_size}) is greater than the current desired_capacity ({desired}) of the cluster.")]
    MinAboveClusterDesired { min_size: i64, desired: i64 },
    #[error("The specified max_size ({max_size}) is greater than the maximum number of nodes allowed per cluster ({max_nodes}).")]
    MaxAboveMaxNodes { max_size: i64, max_nodes: i64 },
    #[error("The specified max_size ({max_size}) is less than the current min_size ({min_size}) of the cluster.")]
    MaxBelowClusterMin { max_size: i64, min_size: i64 },
    #[error("The specified max_size ({max_size}) is less than the current desired_capacity ({desired}) of the cluster.")]
    MaxBelowClusterDesired { max_size: i64, desired: i64 },
    #[error("Count for scale-out request cannot be 0.")]
    ScaleOutCountZero,
    #[error("Count for scale-in request cannot be 0.")]
    ScaleInCountZero,
    #[error("Invalid count ({0}) for scaling out.")]
    InvalidScaleOutCount(i64),
    #[error("Invalid count ({0}) for scaling in.")]
    InvalidScaleInCount(i64),
}

/// Owns the arithmetic of one adjustment: the capacity `current` becomes after `number` of `adjustment`.
///
/// Exact and change-in-capacity numbers are truncated to integers first (Senlin's `int(number)`). A percentage
/// change smaller than one node rounds away from zero to ±1; a larger one truncates towards zero. If `min_step`
/// exceeds that change, the change becomes `min_step` (growing when the rounded change is positive, otherwise
/// shrinking, as Senlin: a 0% change with `min_step` 2 shrinks by 2). Nothing is checked here.
pub fn calculate_desired(current: i64, adjustment: AdjustmentType, number: f64, min_step: Option<i64>) -> i64 {
    match adjustment {
        AdjustmentType::ExactCapacity => number.trunc() as i64,
        AdjustmentType::ChangeInCapacity => current.saturating_add(number.trunc() as i64),
        AdjustmentType::ChangeInPercentage => {
            let delta = (number * current as f64) / 100.0;
            let rounded = if delta > 0.0 {
                if delta.abs() < 1.0 { delta.ceil() } else { delta.floor() }
            } else if delta.abs() < 1.0 {
                delta.floor()
            } else {
                delta.ceil()
            } as i64;
            match min_step {
                Some(step) if step > rounded.saturating_abs() => current.saturating_add(if rounded > 0 { step } else { -step }),
                _ => current.saturating_add(rounded),
            }
        }
    }
}

/// Owns the best-effort (`strict=false`) clamp: `desired` pulled up to `min_size` and down to `max_size`.
///
/// The bounds are the ones in force: the request's new `min_size`/`max_size` where given, else the cluster's.
/// A `max_size` of -1 (or, as in Senlin, 0) does not limit growth.
pub fn truncate_desired(min_size: i64, max_size: i64, desired: i64) -> i64 {
    let desired = desired.max(min_size);
    if max_size > 0 && desired > max_size { max_size } else { desired }
}

/// Owns Senlin's size sanity checks (`check_size_params`), returning the first failure in Senlin's order.
///
/// `desired`, `min_size` and `max_size` are the values of the request (`None` when not given); `cluster` holds the
/// current properties. The checks against the region's `max_nodes_per_cluster` and against a `min_size`/`max_size`
/// given in the same request always apply. The checks of a target against the cluster's *existing* bounds, and of a
/// new bound against the cluster's current desired capacity, apply only when `strict`; the new min and max are always
/// checked against each other and the cluster's other existing bound.
pub fn check_size_params(
    cluster: &ClusterSize,
    desired: Option<i64>,
    min_size: Option<i64>,
    max_size: Option<i64>,
    strict: bool,
    max_nodes_per_cluster: i64,
) -> Result<(), ResizeError> {
    if let Some(desired) = desired {
        if desired > max_nodes_per_cluster {
            return Err(ResizeError::TargetAboveMaxNodes { desired, max_nodes: max_nodes_per_cluster });
        }
        match min_size {
            Some(min_size) if desired < min_size => return Err(ResizeError::TargetBelowSpecifiedMin { desired, min_size }),
            None if strict && desired < cluster.min_size => {
                return Err(ResizeError::TargetBelowClusterMin { desired, min_size: cluster.min_size });
            }
            _ => {}
        }
        match max_size {
            Some(max_size) if max_size >= 0 && desired > max_size => {
                return Err(ResizeError::TargetAboveSpecifiedMax { desired, max_size });
            }
            None if strict && cluster.max_size >= 0 && desired > cluster.max_size => {
                return Err(ResizeError::TargetAboveClusterMax { desired, max_size: cluster.max_size });
            }
            _ => {}
        }
    }
    if let Some(min_size) = min_size {
        match max_size {
            Some(max_size) if max_size >= 0 && min_size > max_size => return Err(ResizeError::MinAboveSpecifiedMax { min_size, max_size }),
            None if cluster.max_size >= 0 && min_size > cluster.max_size => {
                return Err(ResizeError::MinAboveClusterMax { min_size, max_size: cluster.max_size });
            }
            _ => {}
        }
        if desired.is_none() && strict && min_size > cluster.desired {
            return Err(ResizeError::MinAboveClusterDesired { min_size, desired: cluster.desired });
        }
    }
    if let Some(max_size) = max_size {
        if max_size > max_nodes_per_cluster {
            return Err(ResizeError::MaxAboveMaxNodes { max_size, max_nodes: max_nodes_per_cluster });
        }
        if min_size.is_none() && max_size >= 0 && max_size < cluster.min_size {
            return Err(ResizeError::MaxBelowClusterMin { max_size, min_size: cluster.min_size });
        }
        if desired.is_none() && strict && max_size >= 0 && max_size < cluster.desired {
            return Err(ResizeError::MaxBelowClusterDesired { max_size, desired: cluster.desired });
        }
    }
    Ok(())
}

/// Owns a whole `CLUSTER_RESIZE` decision, in the order Senlin takes it: the API's checks (`_do_resize`: enough
/// parameters, the fields' bounds, number and type together, `min_size` against `max_size` of the same request, before
/// any target is computed), the conductor's (`cluster_resize`: a non-negative `EXACT_CAPACITY`, the size checks of the
/// untruncated target), then the action's `parse_resize_params` (best-effort truncation, the size checks again).
///
/// `current` is the cluster's node count: Senlin's conductor and engine both start a relative adjustment from
/// `Node.count_by_cluster`, not from `desired_capacity` (they differ while nodes are missing or being made). Senlin's
/// engine falls back to `desired_capacity` when the count is 0 (`current or cluster.desired_capacity`, a Python
/// truthiness slip its conductor does not share); here the count is used throughout, so API and engine agree.
///
/// As in Senlin, `strict=false` only relaxes the cluster's existing bounds: a target outside them is clamped to them.
/// A target outside a `min_size`/`max_size` given in the same request, or over the region's `max_nodes_per_cluster`
/// (default [`DEFAULT_MAX_NODES_PER_CLUSTER`]), is still refused. A request without an adjustment makes the node count
/// the desired capacity (Senlin's `desired = current`), clamped into the new bounds when not strict.
pub fn resize(cluster: &ClusterSize, current: i64, request: &ResizeRequest, max_nodes_per_cluster: i64) -> Result<ResizePlan, ResizeError> {
    let ResizeRequest { adjustment_type, number, min_size, max_size, min_step, strict } = *request;
    if adjustment_type.is_none() && number.is_none() && min_size.is_none() && max_size.is_none() {
        return Err(ResizeError::NotEnoughParameters);
    }
    check_capacity_field("min_size", min_size, 0, max_nodes_per_cluster)?;
    check_capacity_field("max_size", max_size, -1, max_nodes_per_cluster)?;
    let min_step = match adjustment_type {
        Some(AdjustmentType::ChangeInPercentage) => min_step,
        _ => None,
    };
    if min_step.is_some_and(|step| step < 0) {
        return Err(ResizeError::NegativeMinStep);
    }
    match (adjustment_type, number) {
        (Some(_), None) => return Err(ResizeError::MissingNumber),
        (None, Some(_)) => return Err(ResizeError::MissingAdjustmentType),
        _ => {}
    }
    // Senlin's API compares the two bounds of one request before anything else is computed (`max_size` 0 or -1
    // is left to the size checks).
    if let (Some(min_size), Some(max_size)) = (min_size, max_size)
        && max_size > 0
        && min_size > max_size
    {
        return Err(ResizeError::MinAboveSpecifiedMax { min_size, max_size });
    }
    let adjustment = match (adjustment_type, number) {
        (Some(AdjustmentType::ExactCapacity), Some(number)) if number < 0.0 => return Err(ResizeError::ExactCapacityNegative),
        (Some(adjustment), Some(number)) => Some((adjustment, number)),
        _ => None,
    };

    let target = adjustment.map(|(adjustment, number)| calculate_desired(current, adjustment, number, min_step));
    check_size_params(cluster, target, min_size, max_size, strict, max_nodes_per_cluster)?;

    let new_min = min_size.unwrap_or(cluster.min_size);
    let new_max = max_size.unwrap_or(cluster.max_size);
    let mut desired = target.unwrap_or(current);
    if !strict {
        desired = truncate_desired(new_min, new_max, desired);
    }
    check_size_params(cluster, Some(desired), min_size, max_size, strict, max_nodes_per_cluster)?;
    Ok(ResizePlan { desired, min_size: new_min, max_size: new_max })
}

/// Owns `CLUSTER_SCALE_OUT`'s count check: the new desired capacity after adding `count` nodes.
///
/// `count` must be positive (Senlin's default, when the request names none, is 1). As in Senlin's `do_scale_out`, the
/// target is the node count `current` plus `count`, checked strictly against the cluster's bounds and the region's
/// `max_nodes_per_cluster`.
pub fn scale_out_target(cluster: &ClusterSize, current: i64, count: i64, max_nodes_per_cluster: i64) -> Result<i64, ResizeError> {
    match count {
        0 => Err(ResizeError::ScaleOutCountZero),
        c if c < 0 => Err(ResizeError::InvalidScaleOutCount(count)),
        _ => {
            let target = current.saturating_add(count);
            check_size_params(cluster, Some(target), None, None, true, max_nodes_per_cluster)?;
            Ok(target)
        }
    }
}

/// Owns `CLUSTER_SCALE_IN`'s count check: the new desired capacity after removing `count` nodes.
///
/// `count` must be positive (Senlin's default is 1). As in Senlin's `do_scale_in`, it is taken from the node count
/// `current` (a count beyond it is trimmed to it), and the target is then checked strictly, so going below the
/// cluster's `min_size` is refused.
pub fn scale_in_target(cluster: &ClusterSize, current: i64, count: i64, max_nodes_per_cluster: i64) -> Result<i64, ResizeError> {
    match count {
        0 => Err(ResizeError::ScaleInCountZero),
        c if c < 0 => Err(ResizeError::InvalidScaleInCount(count)),
        _ => {
            let target = current - count.min(current.max(0));
            check_size_params(cluster, Some(target), None, None, true, max_nodes_per_cluster)?;
            Ok(target)
        }
    }
}

/// Senlin's `Capacity` field bounds on a request's `min_size` / `max_size`.
fn check_capacity_field(field: &'static str, value: Option<i64>, minimum: i64, maximum: i64) -> Result<(), ResizeError> {
    match value {
        Some(v) if v < minimum => Err(ResizeError::FieldBelowMinimum { field, minimum }),
        Some(v) if v > maximum => Err(ResizeError::FieldAboveMaximum { field, maximum }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AdjustmentType::*;

    /// One call into this module.
    enum Call {
        Calculate(i64, AdjustmentType, f64, Option<i64>),
        /// Effective min, effective max, desired.
        Truncate(i64, i64, i64),
        /// Cluster, desired, min_size, max_size, strict; with Senlin's test override max_nodes_per_cluster = 100.
        Check(ClusterSize, Option<i64>, Option<i64>, Option<i64>, bool),
        /// Cluster (its desired capacity is also the node count), request.
        Resize(ClusterSize, ResizeRequest),
        /// Cluster, node count, request.
        ResizeFrom(ClusterSize, i64, ResizeRequest),
        /// Cluster (its desired capacity is also the node count), count.
        ScaleOut(ClusterSize, i64),
        ScaleIn(ClusterSize, i64),
        /// Cluster, node count, count.
        ScaleInFrom(ClusterSize, i64, i64),
        ScaleOutFrom(ClusterSize, i64, i64),
        Parse(&'static str),
    }

    /// What the call gives back.
    #[derive(Debug, PartialEq)]
    enum Expect {
        Value(i64),
        Plan(i64, i64, i64),
        Type(AdjustmentType),
        Pass,
        Fails(&'static str),
    }
    use Expect::*;

    const fn size(desired: i64, min_size: i64, max_size: i64) -> ClusterSize {
        ClusterSize { desired, min_size, max_size }
    }

    fn run(call: &Call) -> Expect {
        let out = |r: Result<i64, ResizeError>| r.map_or_else(|e| Fails(leak(e)), Value);
        match call {
            Call::Calculate(current, adjustment, number, min_step) => Value(calculate_desired(*current, *adjustment, *number, *min_step)),
            Call::Truncate(min, max, desired) => Value(truncate_desired(*min, *max, *desired)),
            Call::Check(cluster, desired, min, max, strict) => {
                check_size_params(cluster, *desired, *min, *max, *strict, 100).map_or_else(|e| Fails(leak(e)), |()| Pass)
            }
            Call::Resize(cluster, request) => run(&Call::ResizeFrom(*cluster, cluster.desired, *request)),
            Call::ResizeFrom(cluster, current, request) => resize(cluster, *current, request, DEFAULT_MAX_NODES_PER_CLUSTER)
                .map_or_else(|e| Fails(leak(e)), |p| Plan(p.desired, p.min_size, p.max_size)),
            Call::ScaleOut(cluster, count) => run(&Call::ScaleOutFrom(*cluster, cluster.desired, *count)),
            Call::ScaleIn(cluster, count) => run(&Call::ScaleInFrom(*cluster, cluster.desired, *count)),
            Call::ScaleOutFrom(cluster, current, count) => out(scale_out_target(cluster, *current, *count, DEFAULT_MAX_NODES_PER_CLUSTER)),
            Call::ScaleInFrom(cluster, current, count) => out(scale_in_target(cluster, *current, *count, DEFAULT_MAX_NODES_PER_CLUSTER)),
            Call::Parse(s) => s.parse::<AdjustmentType>().map_or_else(|e| Fails(leak(e)), Type),
        }
    }

    fn leak(e: ResizeError) -> &'static str {
        Box::leak(e.to_string().into_boxed_str())
    }

    fn req(adjustment_type: Option<AdjustmentType>, number: Option<f64>, min_size: Option<i64>, max_size: Option<i64>) -> ResizeRequest {
        ResizeRequest { adjustment_type, number, min_size, max_size, ..Default::default() }
    }

    /// The cluster of Senlin's `CheckSizeParamsTest`: min 10, max 20, desired 15.
    const CSP: ClusterSize = size(15, 10, 20);

    #[test]
    fn senlin_table() {
        #[rustfmt::skip]
        let table: Vec<(&str, Call, Expect)> = vec![
            // test_scaleutils.ScaleUtilsTest.test_calculate_desired_exact / _capacity
            ("calculate_desired_exact", Call::Calculate(0, ExactCapacity, 7.0, None), Value(7)),
            ("calculate_desired_exact", Call::Calculate(12, ExactCapacity, 3.0, None), Value(3)),
            ("calculate_desired_capacity", Call::Calculate(4, ChangeInCapacity, 5.0, None), Value(9)),
            ("calculate_desired_capacity", Call::Calculate(9, ChangeInCapacity, -3.0, None), Value(6)),
            // test_calculate_desired_percentage_positive
            ("percentage_positive 10%", Call::Calculate(10, ChangeInPercentage, 10.0, None), Value(11)),
            ("percentage_positive 15%", Call::Calculate(10, ChangeInPercentage, 15.0, None), Value(11)),
            ("percentage_positive 22%", Call::Calculate(10, ChangeInPercentage, 22.0, None), Value(12)),
            ("percentage_positive 1%", Call::Calculate(10, ChangeInPercentage, 1.0, None), Value(11)),
            // test_calculate_desired_percentage_negative
            ("percentage_negative -10%", Call::Calculate(10, ChangeInPercentage, -10.0, None), Value(9)),
            ("percentage_negative -15%", Call::Calculate(10, ChangeInPercentage, -15.0, None), Value(9)),
            ("percentage_negative -22%", Call::Calculate(10, ChangeInPercentage, -22.0, None), Value(8)),
            ("percentage_negative -1%", Call::Calculate(10, ChangeInPercentage, -1.0, None), Value(9)),
            // test_calculate_desired_percentage_with_min_step
            ("min_step 0, 10%", Call::Calculate(10, ChangeInPercentage, 10.0, Some(0)), Value(11)),
            ("min_step 0, -10%", Call::Calculate(10, ChangeInPercentage, -10.0, Some(0)), Value(9)),
            ("min_step 0, 1%", Call::Calculate(10, ChangeInPercentage, 1.0, Some(0)), Value(11)),
            ("min_step 0, -1%", Call::Calculate(10, ChangeInPercentage, -1.0, Some(0)), Value(9)),
            ("min_step 1, 10%", Call::Calculate(10, ChangeInPercentage, 10.0, Some(1)), Value(11)),
            ("min_step 1, -10%", Call::Calculate(10, ChangeInPercentage, -10.0, Some(1)), Value(9)),
            ("min_step 1, 1%", Call::Calculate(10, ChangeInPercentage, 1.0, Some(1)), Value(11)),
            ("min_step 1, -1%", Call::Calculate(10, ChangeInPercentage, -1.0, Some(1)), Value(9)),
            ("min_step 2, 10%", Call::Calculate(10, ChangeInPercentage, 10.0, Some(2)), Value(12)),
            ("min_step 2, -10%", Call::Calculate(10, ChangeInPercentage, -10.0, Some(2)), Value(8)),
            ("min_step 2, 1%", Call::Calculate(10, ChangeInPercentage, 1.0, Some(2)), Value(12)),
            ("min_step 2, -1%", Call::Calculate(10, ChangeInPercentage, -1.0, Some(2)), Value(8)),
            // test_truncate_desired (cluster min 10, max 50; request bounds resolved over it)
            ("truncate: no constraints", Call::Truncate(10, 50, 10), Value(10)),
            ("truncate: no constraints", Call::Truncate(10, 50, 12), Value(12)),
            ("truncate: no constraints", Call::Truncate(10, 50, 50), Value(50)),
            ("truncate: min_size specified", Call::Truncate(20, 50, 10), Value(20)),
            ("truncate: min_size None", Call::Truncate(10, 50, 5), Value(10)),
            ("truncate: max_size -1", Call::Truncate(10, -1, 20), Value(20)),
            ("truncate: max_size 30", Call::Truncate(10, 30, 15), Value(15)),
            ("truncate: max_size 30", Call::Truncate(10, 30, 40), Value(30)),
            ("truncate: max_size not specified", Call::Truncate(10, 50, 40), Value(40)),
            ("truncate: max_size not specified", Call::Truncate(10, 50, 60), Value(50)),
            // test_scaleutils.CheckSizeParamsTest scenarios (cluster min 10, max 20, desired 15; max_nodes 100)
            ("10_15_x_x", Call::Check(CSP, Some(10), Some(15), None, true), Fails("The target capacity (10) is less than the specified min_size (15).")),
            ("5_x10_x_x", Call::Check(CSP, Some(5), None, None, true), Fails("The target capacity (5) is less than the cluster's min_size (10).")),
            ("30_x_25_x", Call::Check(CSP, Some(30), None, Some(25), true), Fails("The target capacity (30) is greater than the specified max_size (25).")),
            ("30_x_x20_x", Call::Check(CSP, Some(30), None, None, true), Fails("The target capacity (30) is greater than the cluster's max_size (20).")),
            ("x_25_x20_x", Call::Check(CSP, None, Some(25), None, true), Fails("The specified min_size (25) is greater than the current max_size (20) of the cluster.")),
            ("x_20_x_x", Call::Check(CSP, None, Some(20), None, true), Fails("The specified min_size (20) is greater than the current desired_capacity (15) of the cluster.")),
            ("x_x_5_x", Call::Check(CSP, None, None, Some(5), true), Fails("The specified max_size (5) is less than the current min_size (10) of the cluster.")),
            ("x_x_14_x", Call::Check(CSP, None, None, Some(14), true), Fails("The specified max_size (14) is less than the current desired_capacity (15) of the cluster.")),
            ("101_x_x_x", Call::Check(CSP, Some(101), None, None, true), Fails("The target capacity (101) is greater than the maximum number of nodes allowed per cluster (100).")),
            ("x_x_101_x", Call::Check(CSP, None, None, Some(101), true), Fails("The specified max_size (101) is greater than the maximum number of nodes allowed per cluster (100).")),
            ("5_x10_x_x non-strict", Call::Check(CSP, Some(5), None, None, false), Pass),
            ("30_x_x20_x non-strict", Call::Check(CSP, Some(30), None, None, false), Pass),
            ("x_20_x_x non-strict", Call::Check(CSP, None, Some(20), None, false), Pass),
            ("x_x_14_x non-strict", Call::Check(CSP, None, None, Some(14), false), Pass),
            ("x_x_x_x", Call::Check(CSP, None, None, None, true), Pass),
            ("18_x_x_x", Call::Check(CSP, Some(18), None, None, true), Pass),
            ("30_x_40_x", Call::Check(CSP, Some(30), None, Some(40), true), Pass),
            ("x_x_40_x", Call::Check(CSP, None, None, Some(40), true), Pass),
            ("x_5_x_x", Call::Check(CSP, None, Some(5), None, true), Pass),
            ("x_15_x_x", Call::Check(CSP, None, Some(15), None, true), Pass),
            ("5_5_x_x", Call::Check(CSP, Some(5), Some(5), None, true), Pass),
            ("20_x_x_x", Call::Check(CSP, Some(20), None, None, true), Pass),
            ("30_x_30_x", Call::Check(CSP, Some(30), None, Some(30), true), Pass),
            ("30_x_-1_x", Call::Check(CSP, Some(30), None, Some(-1), true), Pass),
            ("40_30_-1_x", Call::Check(CSP, Some(40), Some(30), Some(-1), true), Pass),
            ("x_x_-1_x", Call::Check(CSP, None, None, Some(-1), true), Pass),
            ("check_size_params_default_strict", Call::Check(CSP, Some(5), None, None, false), Pass),
            // test_scaleutils.ScaleUtilsTest.test_parse_resize_params_{deletion,creation,invalid} (current 6)
            ("parse_resize_params_deletion", Call::Resize(size(6, 0, -1), req(Some(ExactCapacity), Some(4.0), Some(3), Some(10))), Plan(4, 3, 10)),
            ("parse_resize_params_creation", Call::Resize(size(6, 0, -1), req(Some(ExactCapacity), Some(9.0), Some(3), Some(10))), Plan(9, 3, 10)),
            ("parse_resize_params_invalid", Call::Resize(size(6, 0, -1), req(Some(ExactCapacity), Some(11.0), Some(3), Some(10))),
                Fails("The target capacity (11) is greater than the specified max_size (10).")),
            // conductor/service/test_clusters.py: test_cluster_resize_*
            ("cluster_resize_type_missing_number", Call::Resize(CSP, req(Some(ExactCapacity), None, None, None)), Fails("Missing number value for size adjustment.")),
            ("cluster_resize_number_without_type", Call::Resize(CSP, req(None, Some(10.0), None, None)), Fails("Missing adjustment_type value for size adjustment.")),
            ("cluster_resize_bad_number_for_exact_capacity", Call::Resize(CSP, req(Some(ExactCapacity), Some(-5.0), None, None)),
                Fails("The 'number' must be non-negative integer for adjustment type 'EXACT_CAPACITY'.")),
            ("EXACT_CAPACITY -0.5 is negative before int()", Call::Resize(size(3, 0, -1), req(Some(ExactCapacity), Some(-0.5), None, None)),
                Fails("The 'number' must be non-negative integer for adjustment type 'EXACT_CAPACITY'.")),
            ("EXACT_CAPACITY 0 empties a cluster of min_size 0", Call::Resize(size(3, 0, -1), req(Some(ExactCapacity), Some(0.0), None, None)), Plan(0, 0, -1)),
            ("EXACT_CAPACITY 0 is still held by min_size", Call::Resize(size(3, 1, -1), req(Some(ExactCapacity), Some(0.0), None, None)),
                Fails("The target capacity (0) is less than the cluster's min_size (1).")),
            // conductor test_cluster_resize_{exact_capacity,change_in_capacity}: the target starts from the node count
            ("cluster_resize_change_in_capacity: count 2, +5", Call::ResizeFrom(size(4, 0, -1), 2, req(Some(ChangeInCapacity), Some(5.0), None, None)), Plan(7, 0, -1)),
            ("cluster_resize_exact_capacity: count 3, =5", Call::ResizeFrom(size(4, 0, -1), 3, req(Some(ExactCapacity), Some(5.0), None, None)), Plan(5, 0, -1)),
            // engine test_do_resize_*_with_parsing: count 10 whatever desired_capacity says
            ("do_resize_grow_with_parsing: count 10, +3", Call::ResizeFrom(size(12, 0, -1), 10, req(Some(ChangeInCapacity), Some(3.0), None, None)), Plan(13, 0, -1)),
            ("do_resize_shrink_with_parsing: count 10, -1", Call::ResizeFrom(size(8, 0, -1), 10, req(Some(ChangeInCapacity), Some(-1.0), None, None)), Plan(9, 0, -1)),
            ("percentage of the node count", Call::ResizeFrom(size(20, 0, -1), 10, req(Some(ChangeInPercentage), Some(50.0), None, None)), Plan(15, 0, -1)),
            ("no adjustment: the node count becomes desired (parse_resize_params: desired = current)",
                Call::ResizeFrom(size(6, 0, -1), 4, req(None, None, Some(1), Some(10))), Plan(4, 1, 10)),
            // engine test_scale_{out,in}: from the node count
            ("do_scale_out from the node count", Call::ScaleOutFrom(size(8, 1, -1), 5, 2), Value(7)),
            ("do_scale_in from the node count", Call::ScaleInFrom(size(11, 1, -1), 8, 3), Value(5)),
            ("do_scale_in trims to the node count", Call::ScaleInFrom(size(5, 0, -1), 2, 3), Value(0)),
            ("cluster_resize_change_in_percentage 15.81% of 10", Call::Resize(size(10, 0, -1), req(Some(ChangeInPercentage), Some(15.81), None, None)), Plan(11, 0, -1)),
            // api/openstack/v1/test_clusters.py: test_action_resize_* (and the controller's empty-request check)
            ("action_resize_with_bad_type", Call::Parse("NOT_QUITE_SURE"), Fails("Value 'NOT_QUITE_SURE' is not acceptable for field 'adjustment_type'.")),
            ("action_resize_with_change_percentage", Call::Parse("CHANGE_IN_PERCENTAGE"), Type(ChangeInPercentage)),
            ("action_resize_max_size_too_small", Call::Resize(CSP, req(None, None, Some(2), Some(1))),
                Fails("The specified min_size (2) is greater than the specified max_size (1).")),
            ("min_size > max_size is refused before a target is computed", Call::Resize(CSP, req(Some(ExactCapacity), Some(5.0), Some(7), Some(3))),
                Fails("The specified min_size (7) is greater than the specified max_size (3).")),
            ("min_size > max_size before a negative EXACT_CAPACITY", Call::Resize(CSP, req(Some(ExactCapacity), Some(-1.0), Some(7), Some(3))),
                Fails("The specified min_size (7) is greater than the specified max_size (3).")),
            ("missing number comes before min_size > max_size", Call::Resize(CSP, req(Some(ExactCapacity), None, Some(7), Some(3))),
                Fails("Missing number value for size adjustment.")),
            ("controller: only strict given", Call::Resize(CSP, ResizeRequest { strict: false, ..Default::default() }), Fails("Not enough parameters to do resize action.")),
            // conductor/service/test_clusters.py: test_cluster_scale_{out,in}_count_zero
            ("cluster_scale_out_count_zero", Call::ScaleOut(size(4, 0, -1), 0), Fails("Count for scale-out request cannot be 0.")),
            ("cluster_scale_in_count_zero", Call::ScaleIn(size(4, 0, -1), 0), Fails("Count for scale-in request cannot be 0.")),
            // engine/actions/test_scale_out.py
            ("do_scale_out_no_pd_no_inputs", Call::ScaleOut(size(5, 1, -1), 1), Value(6)),
            ("do_scale_out_no_pd_with_inputs", Call::ScaleOut(size(8, 1, -1), 2), Value(10)),
            ("do_scale_out_count_negative", Call::ScaleOut(size(8, 1, -1), -2), Fails("Invalid count (-2) for scaling out.")),
            ("do_scale_out_failed_checking", Call::ScaleOut(size(3, 1, 4), 2), Fails("The target capacity (5) is greater than the cluster's max_size (4).")),
            // engine/actions/test_scale_in.py
            ("do_scale_in_no_pd_no_count", Call::ScaleIn(size(10, 1, -1), 1), Value(9)),
            ("do_scale_in_no_pd_with_input", Call::ScaleIn(size(11, 1, -1), 3), Value(8)),
            ("do_scale_in_negative_count", Call::ScaleIn(size(11, 1, -1), -3), Fails("Invalid count (-3) for scaling in.")),
            ("do_scale_in_failed_check", Call::ScaleIn(size(3, 1, -1), 3), Fails("The target capacity (0) is less than the cluster's min_size (1).")),
            ("do_scale_in trims count to the cluster size (older test_cluster_action.py)", Call::ScaleIn(size(2, 0, -1), 3), Value(0)),
        ];
        assert!(table.len() >= 30);
        for (name, call, expected) in &table {
            assert_eq!(&run(call), expected, "{name}");
        }
    }

    #[test]
    fn non_strict_relaxes_only_the_cluster_bounds() {
        let cluster = size(15, 10, 20);
        let loose = |adjustment_type, number, min_size, max_size| ResizeRequest {
            strict: false,
            ..req(adjustment_type, number, min_size, max_size)
        };
        // Outside the cluster's existing bounds: clamped to them.
        assert_eq!(
            resize(&cluster, cluster.desired, &loose(Some(ExactCapacity), Some(30.0), None, None), 1000),
            Ok(ResizePlan { desired: 20, min_size: 10, max_size: 20 })
        );
        assert_eq!(
            resize(&cluster, cluster.desired, &loose(Some(ChangeInCapacity), Some(-12.0), None, None), 1000),
            Ok(ResizePlan { desired: 10, min_size: 10, max_size: 20 })
        );
        // New bounds without an adjustment: the current capacity is clamped into them.
        assert_eq!(
            resize(&cluster, cluster.desired, &loose(None, None, None, Some(14)), 1000),
            Ok(ResizePlan { desired: 14, min_size: 10, max_size: 14 })
        );
        assert_eq!(
            resize(&cluster, cluster.desired, &loose(None, None, Some(18), Some(-1)), 1000),
            Ok(ResizePlan { desired: 18, min_size: 18, max_size: -1 })
        );
        // Outside a bound given in the same request: refused.
        let err = resize(&cluster, cluster.desired, &loose(Some(ExactCapacity), Some(30.0), None, Some(25)), 1000).unwrap_err();
        assert_eq!(err.to_string(), "The target capacity (30) is greater than the specified max_size (25).");
        let err = resize(&cluster, cluster.desired, &loose(Some(ChangeInCapacity), Some(-10.0), Some(8), None), 1000).unwrap_err();
        assert_eq!(err.to_string(), "The target capacity (5) is less than the specified min_size (8).");
        // Over the region's cap: refused, whatever the cluster's max_size.
        let unlimited = size(15, 0, -1);
        let err = resize(&unlimited, unlimited.desired, &loose(Some(ExactCapacity), Some(1001.0), None, None), 1000).unwrap_err();
        assert_eq!(err.to_string(), "The target capacity (1001) is greater than the maximum number of nodes allowed per cluster (1000).");
        // The same requests under strict=true are refused against the cluster's bounds.
        let err = resize(&cluster, cluster.desired, &req(Some(ExactCapacity), Some(30.0), None, None), 1000).unwrap_err();
        assert_eq!(err.to_string(), "The target capacity (30) is greater than the cluster's max_size (20).");
    }

    #[test]
    fn request_fields_are_bounded_as_senlin_capacity_fields() {
        let cluster = size(15, 10, 20);
        let err = resize(&cluster, cluster.desired, &req(None, None, Some(-1), None), 1000).unwrap_err();
        assert_eq!(err.to_string(), "The value for the min_size field must be greater than or equal to 0.");
        let err = resize(&cluster, cluster.desired, &req(None, None, None, Some(-2)), 1000).unwrap_err();
        assert_eq!(err.to_string(), "The value for the max_size field must be greater than or equal to -1.");
        let err = resize(&cluster, cluster.desired, &req(None, None, None, Some(1001)), 1000).unwrap_err();
        assert_eq!(err.to_string(), "The value for the max_size field must be less than or equal to 1000.");
        let percent = ResizeRequest { min_step: Some(-1), ..req(Some(ChangeInPercentage), Some(10.0), None, None) };
        assert_eq!(resize(&cluster, cluster.desired, &percent, 1000).unwrap_err().to_string(), "Value must be >= 0 for field 'min_step'.");
        // min_step is ignored (not even checked) for the other adjustment types, as Senlin drops it.
        let exact = ResizeRequest { min_step: Some(-1), ..req(Some(ChangeInCapacity), Some(1.0), None, None) };
        assert_eq!(resize(&cluster, cluster.desired, &exact, 1000), Ok(ResizePlan { desired: 16, min_size: 10, max_size: 20 }));
        let percent = ResizeRequest { min_step: Some(3), ..req(Some(ChangeInPercentage), Some(-1.0), None, None) };
        assert_eq!(resize(&cluster, cluster.desired, &percent, 1000), Ok(ResizePlan { desired: 12, min_size: 10, max_size: 20 }));
    }

    #[test]
    fn integer_adjustments_truncate_their_number() {
        assert_eq!(calculate_desired(3, ChangeInCapacity, 1.9, None), 4);
        assert_eq!(calculate_desired(3, ChangeInCapacity, -1.9, None), 2);
        assert_eq!(calculate_desired(3, ExactCapacity, 5.7, None), 5);
        assert_eq!(calculate_desired(i64::MAX, ChangeInCapacity, 1e30, None), i64::MAX);
    }

    #[test]
    fn a_zero_percent_change_with_min_step_shrinks_as_in_senlin() {
        // Senlin: `adjust = min_step if rounded > 0 else -min_step`, so a rounded change of 0 shrinks.
        assert_eq!(calculate_desired(10, ChangeInPercentage, 0.0, Some(2)), 8);
        assert_eq!(calculate_desired(0, ChangeInPercentage, 50.0, Some(1)), -1);
        assert_eq!(calculate_desired(10, ChangeInPercentage, 0.0, None), 10);
    }

    #[test]
    fn adjustment_types_round_trip() {
        for t in AdjustmentType::ALL {
            assert_eq!(t.as_str().parse::<AdjustmentType>(), Ok(t));
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{t}\""));
        }
        assert!("exact_capacity".parse::<AdjustmentType>().is_err());
    }
}
