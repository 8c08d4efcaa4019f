//! Profile wire types.

use chrono::{DateTime, Utc};
use flotilla_core::Metadata;
use flotilla_core::profile::ProfileSpec;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Profile {
    pub id: Uuid,
    pub name: String,
    pub project_id: Uuid,
    pub user_id: Uuid,
    /// `{type, version, properties}`; immutable.
    #[schema(schema_with = crate::spec_schema::profile_spec)]
    pub spec: ProfileSpec,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileCreate {
    pub name: String,
    #[schema(schema_with = crate::spec_schema::profile_spec)]
    pub spec: ProfileSpec,
    #[serde(default)]
    pub metadata: Metadata,
}

/// Only the name and metadata of a profile change; its spec is immutable.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// `POST /v1/profiles/validate`: check a spec without saving it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileValidate {
    #[schema(schema_with = crate::spec_schema::profile_spec)]
    pub spec: ProfileSpec,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProfileList {
    pub profiles: Vec<Profile>,
    pub next: Option<String>,
}
