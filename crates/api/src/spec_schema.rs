//! OpenAPI schemas of core's container spec (`ContainerProperties`) and profile spec (`ProfileSpec`),
//! built by hand so core stays free of utoipa; every number is one of core's bounds.
//!
//! A schema here is never stricter than core's validation (a body the schema refuses is refused by
//! the server too), so a fuzzer's invalid bodies are all answered 4xx; what cannot be stated (one
//! probe per health check, a reference's full grammar) is left to the server's 400.

use flotilla_core::bounds::{
    MAX_CPU_CORES, MAX_ENTRIES, MAX_KEY_LEN, MAX_MEMORY_MIB, MAX_SECONDS, MAX_TEXT_LEN, MAX_VALUE_LEN, MIN_MEMORY_MIB,
};
use flotilla_core::profile::{CONTAINER_DOCKER, CONTAINER_DOCKER_VERSION, MAX_HEALTHCHECK_RETRIES, MIN_CPU_CORES};
use serde_json::Value;
use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};

/// The characters an image reference is made of (`[registry[:port]/]name[:tag][@algorithm:hex]`).
pub const IMAGE_PATTERN: &str = "^[A-Za-z0-9._/:@+-]+$";
/// A host bind mount, `/host/path:/target[:ro|rw]`.
pub const BIND_PATTERN: &str = "^/[^:]*:/[^:]*(:(ro|rw))?$";
/// A placement constraint, `key == value` or `key != value`.
pub const CONSTRAINT_PATTERN: &str = "(==|!=)";

/// `{type, version, properties}` of a `container.docker` 1.0 profile.
pub fn profile_spec() -> Schema {
    closed_object()
        .description(Some("`{type, version, properties}`; immutable."))
        .property("type", enum_of(Type::String, [CONTAINER_DOCKER]))
        .property("version", enum_of(Type::String, [CONTAINER_DOCKER_VERSION]))
        .property("properties", container_properties())
        .required("type")
        .required("version")
        .required("properties")
        .into()
}

/// The properties of a `container.docker` 1.0 profile, as a container's `spec` too.
pub fn container_properties() -> Schema {
    let port = || integer(1, u64::from(u16::MAX));
    closed_object()
        .description(Some("Same properties as a `container.docker` profile."))
        .property("image", ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).pattern(Some(IMAGE_PATTERN)))
        .required("image")
        .property("command", strings(MAX_VALUE_LEN))
        .property("environment", string_map())
        .property("labels", string_map())
        .property("cpu", nullable(ObjectBuilder::new().minimum(Some(MIN_CPU_CORES)).maximum(Some(MAX_CPU_CORES)), Type::Number))
        .property("memory", nullable(integer(MIN_MEMORY_MIB, MAX_MEMORY_MIB), Type::Integer).description(Some("MiB.")))
        .property(
            "ports",
            list(
                closed_object()
                    .property("container", port())
                    .required("container")
                    .property("protocol", enum_of(Type::String, ["tcp", "udp"]))
                    .property("host", nullable(port(), Type::Integer)),
            ),
        )
        .property("networks", list(closed_object().property("network", string()).required("network")))
        .property(
            "volumes",
            list(
                closed_object()
                    .property("volume", string())
                    .required("volume")
                    .property("target", string().max_length(Some(MAX_TEXT_LEN)).pattern(Some("^/")))
                    .required("target")
                    .property("read_only", boolean()),
            ),
        )
        .property(
            "restart_policy",
            ObjectBuilder::new().schema_type(nullable_type(Type::String)).enum_values(Some([
                Value::from("no"),
                Value::from("always"),
                Value::from("on-failure"),
                Value::from("unless-stopped"),
                Value::Null,
            ])),
        )
        .property("healthcheck", healthcheck())
        .property("host_cluster", nullable(string().max_length(Some(MAX_KEY_LEN)), Type::String))
        .property("host_node", nullable(string().max_length(Some(MAX_KEY_LEN)), Type::String))
        .property("constraints", list(string().max_length(Some(MAX_TEXT_LEN)).pattern(Some(CONSTRAINT_PATTERN))))
        .property("privileged", boolean().description(Some("Admin only: run privileged.")))
        .property("binds", list(string().max_length(Some(MAX_TEXT_LEN)).pattern(Some(BIND_PATTERN))))
        .property("host_network", boolean().description(Some("Admin only: share the host's network namespace.")))
        .property(
            "stop_timeout",
            nullable(integer(0, MAX_SECONDS), Type::Integer).description(Some("Seconds between SIGTERM and SIGKILL on stop.")),
        )
        .into()
}

/// A health check: exactly one of `http`, `tcp` or `command` (the server checks the one).
fn healthcheck() -> ObjectBuilder {
    let port = || integer(0, u64::from(u16::MAX));
    let http = closed_object().property("port", port()).required("port").property("path", string().max_length(Some(MAX_TEXT_LEN)));
    let tcp = closed_object().property("port", port()).required("port");
    closed_object()
        .schema_type(nullable_type(Type::Object))
        .description(Some("Exactly one of `http`, `tcp` or `command`."))
        .property("http", http.schema_type(nullable_type(Type::Object)))
        .property("tcp", tcp.schema_type(nullable_type(Type::Object)))
        .property("command", strings(MAX_VALUE_LEN))
        .property("interval", integer(1, MAX_SECONDS))
        .property("timeout", integer(0, MAX_SECONDS))
        .property("retries", integer(0, u64::from(MAX_HEALTHCHECK_RETRIES)))
}

/// An object that refuses unknown fields, as serde's `deny_unknown_fields` does.
fn closed_object() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Object).additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn boolean() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Boolean)
}

fn integer(min: u64, max: u64) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(min)).maximum(Some(max))
}

/// `schema` with JSON's `null` allowed too, as serde takes `null` for an `Option`.
fn nullable(schema: ObjectBuilder, ty: Type) -> ObjectBuilder {
    schema.schema_type(nullable_type(ty))
}

fn nullable_type(ty: Type) -> SchemaType {
    SchemaType::from_iter([ty, Type::Null])
}

fn enum_of<const N: usize>(ty: Type, values: [&str; N]) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(ty).enum_values(Some(values))
}

/// A list of at most `MAX_ENTRIES` items.
fn list(items: ObjectBuilder) -> ArrayBuilder {
    ArrayBuilder::new().items(items).max_items(Some(MAX_ENTRIES))
}

/// A list of strings of at most `max` characters each.
fn strings(max: usize) -> ArrayBuilder {
    list(string().max_length(Some(max)))
}

/// A string map: at most `MAX_ENTRIES`, keys 1-`MAX_KEY_LEN`, values at most `MAX_VALUE_LEN`.
fn string_map() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .max_properties(Some(MAX_ENTRIES))
        .property_names(Some(string().min_length(Some(1)).max_length(Some(MAX_KEY_LEN))))
        .additional_properties(Some(string().max_length(Some(MAX_VALUE_LEN))))
}
