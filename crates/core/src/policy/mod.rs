//! Policies: specs `{type, version, properties}` attached to clusters, the actions each hooks, and their pure decisions.
//!
//! Field paths in every [`ValidationError`] start with the prefix the caller passes (`spec.` by default), so a
//! refused spec names e.g. `spec.properties.adjustment.number`.

pub mod affinity;
pub mod autoscaling;
pub mod batch;
pub mod deletion;
pub mod health;
pub mod placement;
mod raw;
pub mod scaling;

use crate::validation::ValidationError;
use raw::{Raw, RawDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use std::fmt;

/// The one spec version every policy type has.
pub const POLICY_VERSION: &str = "1.0";

/// Action name: remove nodes from a cluster by count.
pub const CLUSTER_SCALE_IN: &str = "CLUSTER_SCALE_IN";
/// Action name: add nodes to a cluster by count.
pub const CLUSTER_SCALE_OUT: &str = "CLUSTER_SCALE_OUT";
/// Action name: change a cluster's size properties.
pub const CLUSTER_RESIZE: &str = "CLUSTER_RESIZE";
/// Action name: remove named nodes from a cluster.
pub const CLUSTER_DEL_NODES: &str = "CLUSTER_DEL_NODES";
/// Action name: update a cluster (e.g. a new profile: a rolling update).
pub const CLUSTER_UPDATE: &str = "CLUSTER_UPDATE";
/// Action name: recover a cluster's unhealthy nodes.
pub const CLUSTER_RECOVER: &str = "CLUSTER_RECOVER";
/// Action name: replace nodes of a cluster with others.
pub const CLUSTER_REPLACE_NODES: &str = "CLUSTER_REPLACE_NODES";
/// Action name: create one node.
pub const NODE_CREATE: &str = "NODE_CREATE";
/// Action name: delete one node.
pub const NODE_DELETE: &str = "NODE_DELETE";

/// The kinds of policy, in Senlin's spelling where Senlin has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyType {
    /// `scaling`: how many nodes a scale in/out changes.
    Scaling,
    /// `deletion`: which nodes go when a cluster shrinks.
    Deletion,
    /// `placement.zone`: spread over zones by weight.
    PlacementZone,
    /// `placement.region`: spread over regions by weight, with caps.
    PlacementRegion,
    /// `affinity`: members together or apart, per host or zone.
    Affinity,
    /// `health`: detect unhealthy nodes and recover them.
    Health,
    /// `batch`: rolling updates in batches.
    Batch,
    /// `autoscaling`: follow a target average CPU.
    Autoscaling,
}

impl PolicyType {
    /// Every type, in priority order.
    pub const ALL: [PolicyType; 8] = [
        Self::Scaling,
        Self::PlacementRegion,
        Self::Batch,
        Self::PlacementZone,
        Self::Affinity,
        Self::Deletion,
        Self::Health,
        Self::Autoscaling,
    ];

    /// The spec's spelling: `scaling`, `placement.zone`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scaling => "scaling",
            Self::Deletion => "deletion",
            Self::PlacementZone => "placement.zone",
            Self::PlacementRegion => "placement.region",
            Self::Affinity => "affinity",
            Self::Health => "health",
            Self::Batch => "batch",
            Self::Autoscaling => "autoscaling",
        }
    }

    /// The type spelled `s` exactly, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The known spellings, comma-separated, for error messages.
    pub fn known() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }

    /// Where the policy runs among a cluster's policies: lower first (Senlin's order).
    pub fn priority(self) -> u32 {
        match self {
            Self::Scaling => 100,
            Self::PlacementRegion | Self::Batch => 200,
            Self::PlacementZone | Self::Affinity => 300,
            Self::Deletion => 400,
            Self::Health => 600,
            Self::Autoscaling => 700,
        }
    }

    /// The actions the policy acts on and when, as Senlin's `TARGET`s; autoscaling has none (it runs on a timer).
    pub fn hooks(self) -> &'static [Hook] {
        match self {
            Self::Scaling => &SCALING_HOOKS,
            Self::Deletion => &DELETION_HOOKS,
            Self::PlacementZone | Self::PlacementRegion => &PLACEMENT_HOOKS,
            Self::Affinity => &AFFINITY_HOOKS,
            Self::Health => &HEALTH_HOOKS,
            Self::Batch => &BATCH_HOOKS,
            Self::Autoscaling => &[],
        }
    }

    /// Whether the type hooks `action` at `when`.
    pub fn hooks_into(self, when: When, action: &str) -> bool {
        self.hooks().iter().any(|h| h.when == when && h.action == action)
    }
}

impl fmt::Display for PolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for PolicyType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for PolicyType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).ok_or_else(|| de::Error::custom(format!("unknown policy type {s:?}; known: {}", Self::known())))
    }
}

/// When a policy runs relative to the action it hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum When {
    /// Before the action's work (may shape or refuse it).
    Before,
    /// After the action's work.
    After,
}

impl When {
    /// Senlin's spelling: `BEFORE`, `AFTER`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Before => "BEFORE",
            Self::After => "AFTER",
        }
    }
}

/// One action a policy acts on, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hook {
    /// Before or after the action's work.
    pub when: When,
    /// The action's name, e.g. `CLUSTER_SCALE_IN`.
    pub action: &'static str,
}

const fn before(action: &'static str) -> Hook {
    Hook { when: When::Before, action }
}

const fn after(action: &'static str) -> Hook {
    Hook { when: When::After, action }
}

static SCALING_HOOKS: [Hook; 2] = [before(CLUSTER_SCALE_IN), before(CLUSTER_SCALE_OUT)];
static DELETION_HOOKS: [Hook; 4] = [before(CLUSTER_SCALE_IN), before(CLUSTER_DEL_NODES), before(CLUSTER_RESIZE), before(NODE_DELETE)];
static PLACEMENT_HOOKS: [Hook; 4] = [before(CLUSTER_SCALE_OUT), before(CLUSTER_SCALE_IN), before(CLUSTER_RESIZE), before(NODE_CREATE)];
static AFFINITY_HOOKS: [Hook; 3] = [before(CLUSTER_SCALE_OUT), before(CLUSTER_RESIZE), before(NODE_CREATE)];
static BATCH_HOOKS: [Hook; 1] = [before(CLUSTER_UPDATE)];
/// Health checks are suspended before membership changes and resumed after them.
static HEALTH_HOOKS: [Hook; 14] = [
    before(CLUSTER_SCALE_IN),
    before(CLUSTER_DEL_NODES),
    before(CLUSTER_RESIZE),
    before(CLUSTER_UPDATE),
    before(CLUSTER_RECOVER),
    before(CLUSTER_REPLACE_NODES),
    before(NODE_DELETE),
    after(CLUSTER_SCALE_IN),
    after(CLUSTER_DEL_NODES),
    after(CLUSTER_RESIZE),
    after(CLUSTER_UPDATE),
    after(CLUSTER_RECOVER),
    after(CLUSTER_REPLACE_NODES),
    after(NODE_DELETE),
];

/// The typed properties of one policy; serialized as the bare properties object.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum PolicyProperties {
    /// `scaling` properties.
    Scaling(scaling::ScalingPolicy),
    /// `deletion` properties.
    Deletion(deletion::DeletionPolicy),
    /// `placement.zone` properties.
    PlacementZone(placement::ZonePlacement),
    /// `placement.region` properties.
    PlacementRegion(placement::RegionPlacement),
    /// `affinity` properties.
    Affinity(affinity::AffinityPolicy),
    /// `health` properties.
    Health(health::HealthPolicy),
    /// `batch` properties.
    Batch(batch::BatchPolicy),
    /// `autoscaling` properties.
    Autoscaling(autoscaling::AutoscalingPolicy),
}

impl PolicyProperties {
    /// The type these properties belong to.
    pub fn policy_type(&self) -> PolicyType {
        match self {
            Self::Scaling(_) => PolicyType::Scaling,
            Self::Deletion(_) => PolicyType::Deletion,
            Self::PlacementZone(_) => PolicyType::PlacementZone,
            Self::PlacementRegion(_) => PolicyType::PlacementRegion,
            Self::Affinity(_) => PolicyType::Affinity,
            Self::Health(_) => PolicyType::Health,
            Self::Batch(_) => PolicyType::Batch,
            Self::Autoscaling(_) => PolicyType::Autoscaling,
        }
    }

    /// Reads the properties of a `kind` policy from any deserializer (unknown fields refused).
    pub fn deserialize_as<'de, D: Deserializer<'de>>(kind: PolicyType, deserializer: D) -> Result<Self, D::Error> {
        use serde::Deserialize;
        Ok(match kind {
            PolicyType::Scaling => Self::Scaling(Deserialize::deserialize(deserializer)?),
            PolicyType::Deletion => Self::Deletion(Deserialize::deserialize(deserializer)?),
            PolicyType::PlacementZone => Self::PlacementZone(Deserialize::deserialize(deserializer)?),
            PolicyType::PlacementRegion => Self::PlacementRegion(Deserialize::deserialize(deserializer)?),
            PolicyType::Affinity => Self::Affinity(Deserialize::deserialize(deserializer)?),
            PolicyType::Health => Self::Health(Deserialize::deserialize(deserializer)?),
            PolicyType::Batch => Self::Batch(Deserialize::deserialize(deserializer)?),
            PolicyType::Autoscaling => Self::Autoscaling(Deserialize::deserialize(deserializer)?),
        })
    }

    /// Checks the cross-field rules; paths in errors start with `prefix` (e.g. `spec.properties.`).
    pub fn validate_at(&self, prefix: &str) -> Result<(), ValidationError> {
        match self {
            Self::Scaling(p) => p.validate_at(prefix),
            Self::Deletion(p) => p.validate_at(prefix),
            Self::PlacementZone(p) => p.validate_at(prefix),
            Self::PlacementRegion(p) => p.validate_at(prefix),
            Self::Affinity(p) => p.validate_at(prefix),
            Self::Health(p) => p.validate_at(prefix),
            Self::Batch(p) => p.validate_at(prefix),
            Self::Autoscaling(p) => p.validate_at(prefix),
        }
    }
}

/// A policy spec as users write it: `{type, version, properties}`, the properties typed by `type`.
///
/// Deserializing refuses unknown types and unknown fields and names the path of a bad field (`properties` may come
/// before `type`); [`PolicySpec::validate`] then checks the version and the cross-field rules.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PolicySpec {
    /// The policy type; always the type of `properties`.
    #[serde(rename = "type")]
    pub type_name: PolicyType,
    /// The spec version; only `1.0` is valid.
    pub version: String,
    /// The typed properties.
    pub properties: PolicyProperties,
}

impl PolicySpec {
    /// A version-1.0 spec of the type of `properties`.
    pub fn new(properties: PolicyProperties) -> Self {
        Self { type_name: properties.policy_type(), version: POLICY_VERSION.to_owned(), properties }
    }

    /// Builds a spec from its parts (e.g. stored columns) and validates it; paths in errors start with `spec.`.
    pub fn from_parts<'de, D: Deserializer<'de>>(type_name: &str, version: &str, properties: D) -> Result<Self, ValidationError> {
        let kind = PolicyType::parse(type_name)
            .ok_or_else(|| ValidationError::new("spec.type", type_name, format!("unknown policy type; known: {}", PolicyType::known())))?;
        let raw = <Raw as serde::Deserialize>::deserialize(properties)
            .map_err(|e| ValidationError::new("spec.properties", "", format!("cannot read properties: {e}")))?;
        let properties = PolicyProperties::deserialize_as(kind, RawDeserializer(raw))
            .map_err(|e| ValidationError::new(format!("spec.properties{}", e.path()), &e.value, &e.reason))?;
        let spec = Self { type_name: kind, version: version.to_owned(), properties };
        spec.validate()?;
        Ok(spec)
    }

    /// Checks the version and the properties' cross-field rules, naming fields from `spec.`.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.validate_at("spec.")
    }

    /// Checks the version and the properties' cross-field rules; paths in errors start with `prefix`.
    pub fn validate_at(&self, prefix: &str) -> Result<(), ValidationError> {
        if self.version != POLICY_VERSION {
            return Err(ValidationError::new(
                format!("{prefix}version"),
                &self.version,
                format!("policies support version {POLICY_VERSION}"),
            ));
        }
        if self.type_name != self.properties.policy_type() {
            return Err(ValidationError::new(
                format!("{prefix}type"),
                self.type_name,
                format!("the properties are those of a {} policy", self.properties.policy_type()),
            ));
        }
        self.properties.validate_at(&format!("{prefix}properties."))
    }

    /// Where the policy runs among a cluster's policies: lower first.
    pub fn priority(&self) -> u32 {
        self.type_name.priority()
    }

    /// Whether the policy acts on `action` at `when`: its type's hooks, narrowed to its event for a scaling policy.
    pub fn acts_on(&self, when: When, action: &str) -> bool {
        let narrowed = match &self.properties {
            PolicyProperties::Scaling(p) => p.event.action() == action,
            _ => true,
        };
        narrowed && self.type_name.hooks_into(when, action)
    }
}

impl<'de> serde::Deserialize<'de> for PolicySpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("PolicySpec", &["type", "version", "properties"], SpecVisitor)
    }
}

#[derive(serde::Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum SpecField {
    Type,
    Version,
    Properties,
}

/// A version as written: `"1.0"`, or the number `1.0` an unquoted YAML value becomes.
struct VersionText(String);

impl<'de> serde::Deserialize<'de> for VersionText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = VersionText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a version such as \"1.0\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<VersionText, E> {
                Ok(VersionText(v.to_owned()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<VersionText, E> {
                Ok(VersionText(format!("{v:?}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<VersionText, E> {
                Ok(VersionText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<VersionText, E> {
                Ok(VersionText(v.to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

struct PropertiesSeed(PolicyType);

impl<'de> DeserializeSeed<'de> for PropertiesSeed {
    type Value = PolicyProperties;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<PolicyProperties, D::Error> {
        PolicyProperties::deserialize_as(self.0, deserializer)
    }
}

struct SpecVisitor;

impl<'de> Visitor<'de> for SpecVisitor {
    type Value = PolicySpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a policy spec {type, version, properties}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PolicySpec, A::Error> {
        let (mut kind, mut version, mut properties, mut early) = (None, None, None, None);
        while let Some(field) = map.next_key::<SpecField>()? {
            match field {
                SpecField::Type if kind.is_some() => return Err(de::Error::duplicate_field("type")),
                SpecField::Type => kind = Some(map.next_value::<PolicyType>()?),
                SpecField::Version if version.is_some() => return Err(de::Error::duplicate_field("version")),
                SpecField::Version => version = Some(map.next_value::<VersionText>()?.0),
                SpecField::Properties if properties.is_some() || early.is_some() => return Err(de::Error::duplicate_field("properties")),
                // Read in place when the type is known, so a bad field's path is tracked by the caller's deserializer.
                SpecField::Properties => match kind {
                    Some(kind) => properties = Some(map.next_value_seed(PropertiesSeed(kind))?),
                    None => early = Some(map.next_value::<Raw>()?),
                },
            }
        }
        let kind = kind.ok_or_else(|| de::Error::missing_field("type"))?;
        let version = version.ok_or_else(|| de::Error::missing_field("version"))?;
        let properties = match (properties, early) {
            (Some(properties), _) => properties,
            (None, Some(raw)) => PolicyProperties::deserialize_as(kind, RawDeserializer(raw))
                .map_err(|e| de::Error::custom(format_args!("properties{}: {}", e.path(), e.reason)))?,
            (None, None) => return Err(de::Error::missing_field("properties")),
        };
        Ok(PolicySpec { type_name: kind, version, properties })
    }
}

#[cfg(test)]
mod tests;
