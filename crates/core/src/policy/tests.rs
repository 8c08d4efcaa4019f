//! Spec parsing, validation paths, hooks and priorities.

use super::*;
use serde_json::json;

/// JSON text of `value` with `type` and `version` first, as a client writing the struct's fields in order sends it
/// (`serde_json::Value` itself sorts keys, putting `properties` first).
fn in_order(value: &serde_json::Value) -> String {
    let map = value.as_object().unwrap();
    let first = ["type", "version"].into_iter().filter_map(|k| map.get(k).map(|v| (k, v)));
    let rest = map.iter().filter(|(k, _)| *k != "type" && *k != "version").map(|(k, v)| (k.as_str(), v));
    let fields: Vec<String> = first.chain(rest).map(|(k, v)| format!("{}:{v}", json!(k))).collect();
    format!("{{{}}}", fields.join(","))
}

/// Parses as the server does: JSON through `serde_path_to_error`, giving the failing path and the message.
fn parse(value: serde_json::Value) -> Result<PolicySpec, (String, String)> {
    let text = in_order(&value);
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| (e.path().to_string(), e.inner().to_string()))
}

#[test]
fn every_type_round_trips_with_its_defaults() {
    let cases = [
        (
            json!({"event": "CLUSTER_SCALE_IN"}),
            json!({"event": "CLUSTER_SCALE_IN", "adjustment":
            {"type": "CHANGE_IN_CAPACITY", "number": 1.0, "min_step": 1, "best_effort": false, "cooldown": 0}}),
        ),
        (json!({}), json!({"criteria": "RANDOM", "destroy_after_deletion": true, "grace_period": 0, "reduce_desired_capacity": true})),
        (json!({"zones": [{"name": "az1"}]}), json!({"zones": [{"name": "az1", "weight": 100}]})),
        (json!({"regions": [{"name": "r1"}]}), json!({"regions": [{"name": "r1", "weight": 100, "cap": -1}]})),
        (json!({}), json!({"mode": "anti-affinity", "soft": false, "scope": "host"})),
        (
            json!({"detection": {"type": "probe"}}),
            json!({"detection": {"type": "probe", "interval": 10, "node_update_timeout": 300},
            "recovery": {"action": "RECREATE"}}),
        ),
        (json!({}), json!({"min_in_service": 1, "max_batch_size": -1, "pause_time": 60})),
        (
            json!({"target_cpu_percent": 60.0}),
            json!({"target_cpu_percent": 60.0, "min_size": 1, "max_size": -1, "scale_out_cooldown": 60,
            "scale_in_cooldown": 120, "stabilization_window": 60, "tolerance": 0.1}),
        ),
    ];
    let order = [
        PolicyType::Scaling,
        PolicyType::Deletion,
        PolicyType::PlacementZone,
        PolicyType::PlacementRegion,
        PolicyType::Affinity,
        PolicyType::Health,
        PolicyType::Batch,
        PolicyType::Autoscaling,
    ];
    for (kind, (given, full)) in order.into_iter().zip(cases) {
        let spec = parse(json!({"type": kind.as_str(), "version": "1.0", "properties": given})).unwrap();
        assert_eq!(spec.type_name, kind);
        assert_eq!(spec.properties.policy_type(), kind);
        assert_eq!(spec.validate(), Ok(()), "{kind}");
        let written = serde_json::to_value(&spec).unwrap();
        assert_eq!(written, json!({"type": kind.as_str(), "version": "1.0", "properties": full}), "{kind}");
        assert_eq!(parse(written).unwrap(), spec, "{kind}");
    }
}

#[test]
fn parse_errors_name_the_path() {
    let cases = [
        (
            json!({"type": "scaling", "version": "1.0", "properties": {"event": "CLUSTER_SCALE_IN", "adjustment": {"number": "two"}}}),
            "properties.adjustment.number",
            "invalid type: string \"two\"",
        ),
        (
            json!({"type": "scaling", "version": "1.0", "properties": {"event": "CLUSTER_SCALE_IN", "colour": 1}}),
            "properties.colour",
            "unknown field `colour`",
        ),
        (json!({"type": "scaling", "version": "1.0", "properties": {"event": "GROW"}}), "properties.event", "unknown variant `GROW`"),
        (json!({"type": "scaling", "version": "1.0", "properties": {}}), "properties", "missing field `event`"),
        (
            json!({"type": "placement.zone", "version": "1.0", "properties": {"zones": [{"name": "a"}, {"name": "b", "weight": -1}]}}),
            "properties.zones[1].weight",
            "invalid value: integer `-1`",
        ),
        (
            json!({"type": "health", "version": "1.0", "properties": {"detection": {"type": "ping"}}}),
            "properties.detection.type",
            "unknown variant `ping`",
        ),
        (
            json!({"type": "vm.nova", "version": "1.0", "properties": {}}),
            "type",
            "unknown policy type \"vm.nova\"; known: scaling, placement.region, batch, placement.zone, affinity, deletion, health, autoscaling",
        ),
        (json!({"type": "batch", "version": "1.0", "properties": {}, "extra": 1}), "extra", "unknown field `extra`"),
        (json!({"type": "batch", "version": "1.0"}), ".", "missing field `properties`"),
    ];
    for (body, path, message) in cases {
        let (got_path, got_message) = parse(body.clone()).unwrap_err();
        assert_eq!(got_path, path, "{body}");
        assert!(got_message.starts_with(message), "{body}: {got_message}");
    }
}

#[test]
fn properties_may_come_before_the_type() {
    // serde_json::Value and Go's encoding/json sort keys: `properties` < `type` < `version`.
    let text = r#"{"properties": {"event": "SCALE_OUT", "adjustment": {"number": 2}}, "type": "scaling", "version": 1.0}"#;
    let spec: PolicySpec = serde_json::from_str(text).unwrap();
    let PolicyProperties::Scaling(scaling) = &spec.properties else { panic!("{spec:?}") };
    assert_eq!((scaling.event, scaling.adjustment.number), (scaling::ScaleEvent::ScaleOut, 2.0));
    assert_eq!(spec.version, "1.0");
    // The server's path stops at the spec; the message names the rest.
    let sorted =
        json!({"type": "scaling", "version": "1.0", "properties": {"event": "SCALE_IN", "adjustment": {"number": "x"}}}).to_string();
    let mut deserializer = serde_json::Deserializer::from_str(&sorted);
    let err = serde_path_to_error::deserialize::<_, PolicySpec>(&mut deserializer).unwrap_err();
    assert_eq!(err.path().to_string(), ".");
    assert!(err.inner().to_string().starts_with("properties.adjustment.number: invalid type"), "{err}");
    let bad = r#"{"properties": {"zones": [{"name": "a", "weight": "heavy"}]}, "type": "placement.zone", "version": "1.0"}"#;
    let err = serde_json::from_str::<PolicySpec>(bad).unwrap_err().to_string();
    assert!(err.starts_with("properties.zones[0].weight: invalid type: string \"heavy\""), "{err}");
    let unknown = r#"{"properties": {"zone": []}, "type": "placement.zone", "version": "1.0"}"#;
    let err = serde_json::from_str::<PolicySpec>(unknown).unwrap_err().to_string();
    assert!(err.starts_with("properties.zone: unknown field `zone`"), "{err}");
}

#[test]
fn validation_names_the_field_from_spec() {
    let spec = |properties: serde_json::Value| parse(json!({"type": "scaling", "version": "1.0", "properties": properties})).unwrap();
    let mut s = spec(json!({"event": "CLUSTER_SCALE_IN", "adjustment": {"number": 0}}));
    assert_eq!(s.validate().unwrap_err().field, "spec.properties.adjustment.number");
    assert_eq!(s.validate_at("").unwrap_err().field, "properties.adjustment.number");
    s = spec(json!({"event": "CLUSTER_SCALE_IN"}));
    s.version = "2.0".into();
    let err = s.validate().unwrap_err();
    assert_eq!((err.field.as_str(), err.reason.as_str()), ("spec.version", "policies support version 1.0"));
    s.version = "1.0".into();
    s.type_name = PolicyType::Batch;
    assert_eq!(s.validate().unwrap_err().field, "spec.type");
}

#[test]
fn from_parts_reads_and_validates() {
    let spec = PolicySpec::from_parts("placement.zone", "1.0", json!({"zones": [{"name": "az1", "weight": 2}]})).unwrap();
    assert_eq!(
        spec.properties,
        PolicyProperties::PlacementZone(placement::ZonePlacement { zones: vec![placement::Zone { name: "az1".into(), weight: 2 }] })
    );
    assert_eq!(spec, PolicySpec::new(spec.properties.clone()));
    let err = PolicySpec::from_parts("placement.zone", "1.0", json!({"zones": [{"name": "az1", "weight": "x"}]})).unwrap_err();
    assert_eq!((err.field.as_str(), err.value.as_str()), ("spec.properties.zones[0].weight", "x"));
    assert!(err.reason.starts_with("invalid type: string \"x\""), "{err}");
    let err = PolicySpec::from_parts("placement.zone", "1.0", json!({"zones": []})).unwrap_err();
    assert_eq!(err.field, "spec.properties.zones");
    let err = PolicySpec::from_parts("loadbalance", "1.0", json!({})).unwrap_err();
    assert_eq!(err.field, "spec.type");
    assert!(err.reason.contains("known: scaling, placement.region"), "{err}");
    let err = PolicySpec::from_parts("batch", "1.1", json!({})).unwrap_err();
    assert_eq!(err.field, "spec.version");
    let err = PolicySpec::from_parts("batch", "1.0", json!({"max_batch_size": 1, "min_in_service": {}})).unwrap_err();
    assert_eq!(err.field, "spec.properties.min_in_service");
}

#[test]
fn types_priorities_and_hooks() {
    let cases = [
        (PolicyType::Scaling, "scaling", 100, 2),
        (PolicyType::PlacementRegion, "placement.region", 200, 4),
        (PolicyType::Batch, "batch", 200, 1),
        (PolicyType::PlacementZone, "placement.zone", 300, 4),
        (PolicyType::Affinity, "affinity", 300, 3),
        (PolicyType::Deletion, "deletion", 400, 4),
        (PolicyType::Health, "health", 600, 14),
        (PolicyType::Autoscaling, "autoscaling", 700, 0),
    ];
    assert_eq!(PolicyType::ALL.len(), cases.len());
    for (kind, name, priority, hooks) in cases {
        assert_eq!((kind.as_str(), kind.priority(), kind.hooks().len()), (name, priority, hooks));
        assert_eq!(PolicyType::parse(name), Some(kind));
    }
    assert!(PolicyType::ALL.windows(2).all(|w| w[0].priority() <= w[1].priority()));
    assert_eq!(PolicyType::parse("Scaling"), None);
    assert!(PolicyType::Deletion.hooks_into(When::Before, NODE_DELETE));
    assert!(!PolicyType::Deletion.hooks_into(When::After, NODE_DELETE));
    assert!(PolicyType::Health.hooks_into(When::Before, CLUSTER_RECOVER) && PolicyType::Health.hooks_into(When::After, CLUSTER_RECOVER));
    assert!(PolicyType::Affinity.hooks_into(When::Before, NODE_CREATE) && !PolicyType::Affinity.hooks_into(When::Before, CLUSTER_SCALE_IN));
    assert!(PolicyType::Batch.hooks_into(When::Before, CLUSTER_UPDATE));
    assert!(PolicyType::PlacementZone.hooks_into(When::Before, CLUSTER_SCALE_IN));
    assert_eq!(When::After.as_str(), "AFTER");
}

#[test]
fn a_scaling_policy_acts_only_on_its_event() {
    let spec = parse(json!({"type": "scaling", "version": "1.0", "properties": {"event": "CLUSTER_SCALE_OUT"}})).unwrap();
    assert!(spec.acts_on(When::Before, CLUSTER_SCALE_OUT));
    assert!(!spec.acts_on(When::Before, CLUSTER_SCALE_IN));
    assert!(!spec.acts_on(When::After, CLUSTER_SCALE_OUT));
    assert_eq!(spec.priority(), 100);
    let deletion = PolicySpec::new(PolicyProperties::Deletion(deletion::DeletionPolicy::default()));
    assert!(deletion.acts_on(When::Before, CLUSTER_SCALE_IN));
}
