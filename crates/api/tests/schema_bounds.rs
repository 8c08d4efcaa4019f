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

/// The container spec, inside a container's create body and a profile's spec, states core's bounds:
/// ranges, list and map sizes, string lengths, enums, closed objects and the required image.
#[test]
fn the_container_spec_states_cores_bounds() {
    use flotilla_core::bounds::{MAX_ENTRIES, MAX_KEY_LEN, MAX_TEXT_LEN, MAX_VALUE_LEN};
    use flotilla_core::profile::{MAX_HEALTHCHECK_RETRIES, MIN_CPU_CORES};
    let in_container = property::<flotilla_api::ContainerCreate>("spec");
    let profile = property::<flotilla_api::ProfileCreate>("spec");
    assert_eq!(profile["additionalProperties"], json!(false));
    assert_eq!(profile["properties"]["type"]["enum"], json!(["container.docker"]));
    assert_eq!(profile["properties"]["properties"], in_container, "one schema for both");
    let spec = &in_container;
    assert_eq!(spec["required"], json!(["image"]));
    let p = &spec["properties"];
    let cases = [
        (range(&p["cpu"]), json!([MIN_CPU_CORES, MAX_CPU_CORES])),
        (range(&p["memory"]), json!([MIN_MEMORY_MIB, MAX_MEMORY_MIB])),
        (range(&p["stop_timeout"]), json!([0, MAX_SECONDS])),
        (range(&p["ports"]["items"]["properties"]["container"]), json!([1, 65535])),
        (range(&p["ports"]["items"]["properties"]["host"]), json!([1, 65535])),
        (range(&p["healthcheck"]["properties"]["interval"]), json!([1, MAX_SECONDS])),
        (range(&p["healthcheck"]["properties"]["timeout"]), json!([0, MAX_SECONDS])),
        (range(&p["healthcheck"]["properties"]["retries"]), json!([0, MAX_HEALTHCHECK_RETRIES])),
    ];
    for (i, ((min, max), enforced)) in cases.into_iter().enumerate() {
        assert_eq!((min.as_f64(), max.as_f64()), (enforced[0].as_f64(), enforced[1].as_f64()), "range case {i}");
    }
    for list in ["command", "ports", "networks", "volumes", "constraints", "binds"] {
        assert_eq!(p[list]["maxItems"], json!(MAX_ENTRIES), "{list}");
    }
    for map in ["environment", "labels"] {
        assert_eq!(p[map]["maxProperties"], json!(MAX_ENTRIES), "{map}");
        assert_eq!(p[map]["propertyNames"]["maxLength"], json!(MAX_KEY_LEN), "{map}");
        assert_eq!(p[map]["additionalProperties"]["maxLength"], json!(MAX_VALUE_LEN), "{map}");
    }
    assert_eq!(p["command"]["items"]["maxLength"], json!(MAX_VALUE_LEN));
    assert_eq!(p["binds"]["items"]["maxLength"], json!(MAX_TEXT_LEN));
    assert_eq!(p["host_node"]["maxLength"], json!(MAX_KEY_LEN));
    assert_eq!(p["restart_policy"]["enum"], json!(["no", "always", "on-failure", "unless-stopped", null]));
    assert_eq!(p["ports"]["items"]["properties"]["protocol"]["enum"], json!(["tcp", "udp"]));
    for closed in [&p["ports"]["items"], &p["volumes"]["items"], &p["networks"]["items"], &p["healthcheck"], spec] {
        assert_eq!(closed["additionalProperties"], json!(false), "{closed}");
    }
}

/// Every body the spec's schema refuses, core refuses too (a fuzzer's invalid bodies must be 4xx),
/// and a spec within every bound passes both.
#[test]
fn the_container_spec_schema_is_no_stricter_than_core() {
    use flotilla_core::bounds::MAX_ENTRIES;
    use flotilla_core::profile::ContainerProperties;
    let pattern = |p: &str| regex::Regex::new(p).unwrap();
    let image = pattern(flotilla_api::spec_schema::IMAGE_PATTERN);
    for valid in
        ["busybox", "localhost:5000/a/b:v1.2", "a@sha256:0123456789abcdef0123456789abcdef", "r.io/x_y@a+b:0123456789abcdef0123456789abcdef"]
    {
        flotilla_core::image::validate_reference("image", valid).unwrap();
        assert!(image.is_match(valid), "{valid}");
    }
    for refused in ["a b", "a\u{0}", "app\n"] {
        assert!(!image.is_match(refused), "{refused}");
    }
    let bind = pattern(flotilla_api::spec_schema::BIND_PATTERN);
    let constraint = pattern(flotilla_api::spec_schema::CONSTRAINT_PATTERN);
    let spec = |f: &dyn Fn(&mut ContainerProperties)| {
        let mut p = ContainerProperties { image: "busybox".into(), ..Default::default() };
        f(&mut p);
        p.validate_at("").is_ok()
    };
    for b in ["/a:/b", "/a:/b:ro", "/a:/b:rw", "a:/b", "/a:b", "/a:/b:x", "/a", "/a:/b:ro:x"] {
        assert_eq!(bind.is_match(b), spec(&|p| p.binds = vec![b.into()]), "bind {b}");
    }
    for c in ["zone==a", "zone != b", "zone a", "x=y"] {
        if !constraint.is_match(c) {
            assert!(!spec(&|p| p.constraints = vec![c.into()]), "constraint {c}");
        }
    }
    assert!(!spec(&|p| p.command = vec![String::new(); MAX_ENTRIES + 1]));
    assert!(spec(&|p| p.command = vec![String::new(); MAX_ENTRIES]));
}
