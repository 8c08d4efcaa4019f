//! The OpenAPI document states the bounds core enforces: each schema's `minimum`/`maximum` is
//! checked against core's constants, so the two cannot drift apart.

use flotilla_core::bounds::{
    MAX_ACTION_TIMEOUT, MAX_CLUSTER_SIZE, MAX_CPU_CORES, MAX_DISK_MIB, MAX_MEMORY_MIB, MAX_SECONDS, MIN_MEMORY_MIB,
};
use flotilla_core::host::{MAX_JOIN_TOKEN_TTL_SECS, MIN_JOIN_TOKEN_TTL_SECS};
use flotilla_core::listing::MAX_LIMIT;
use serde_json::{Value, json};
use utoipa::{IntoParams, PartialSchema};

fn property<T: PartialSchema>(name: &str) -> Value {
    let schema = serde_json::to_value(T::schema()).unwrap();
    schema["properties"][name].clone()
}

fn range(schema: &Value) -> (Value, Value) {
    (schema["minimum"].clone(), schema["maximum"].clone())
}

fn parameter<T: IntoParams>(name: &str) -> Value {
    let params = T::into_params(|| None);
    let found = params.into_iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no parameter {name}"));
    serde_json::to_value(found).unwrap()["schema"].clone()
}

#[test]
fn schemas_state_cores_bounds() {
    use flotilla_api::*;
    let cases = [
        (range(&property::<ContainerUpdate>("memory")), (json!(MIN_MEMORY_MIB), json!(MAX_MEMORY_MIB))),
        (range(&property::<ContainerUpdate>("cpu")), (json!(flotilla_core::profile::MIN_CPU_CORES), json!(MAX_CPU_CORES))),
        (range(&property::<JoinTokenCreate>("ttl_seconds")), (json!(MIN_JOIN_TOKEN_TTL_SECS), json!(MAX_JOIN_TOKEN_TTL_SECS))),
        (range(&property::<ScaleParams>("count")), (json!(1), json!(MAX_CLUSTER_SIZE))),
        (range(&property::<ClusterCreate>("desired_capacity")), (json!(0), json!(MAX_CLUSTER_SIZE))),
        (range(&property::<ClusterCreate>("max_size")), (json!(-1), json!(MAX_CLUSTER_SIZE))),
        (range(&property::<ClusterCreate>("timeout")), (json!(1), json!(MAX_ACTION_TIMEOUT))),
        (range(&property::<ClusterUpdate>("timeout")), (json!(1), json!(MAX_ACTION_TIMEOUT))),
        (range(&property::<VolumeCreate>("size_mib")), (json!(1), json!(MAX_DISK_MIB))),
        (range(&parameter::<ListQuery>("limit")), (json!(1), json!(MAX_LIMIT))),
        (range(&parameter::<StopQuery>("timeout")), (json!(0), json!(MAX_SECONDS))),
    ];
    for (i, (stated, enforced)) in cases.into_iter().enumerate() {
        // JSON numbers: compare as f64 so 1000 and 1000.0 agree.
        let as_f64 = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("case {i}: {v} is not a number"));
        assert_eq!((as_f64(&stated.0), as_f64(&stated.1)), (as_f64(&enforced.0), as_f64(&enforced.1)), "case {i}");
    }
}
