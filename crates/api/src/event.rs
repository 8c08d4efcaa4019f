//! Event wire types: the event log as listed (`GET /v1/events`) and streamed (`GET /v1/events/stream`).

use chrono::{DateTime, Utc};
use flotilla_core::Metadata;
use flotilla_core::event::ObjectType;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// The server-sent-event name of every message of the event stream.
pub const EVENT_STREAM_NAME: &str = "flotilla";

/// The OpenAPI schema of an event's object type: one of the names the server knows.
fn object_type_schema() -> utoipa::openapi::Object {
    let names = ObjectType::ALL.map(ObjectType::as_str);
    utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::String).enum_values(Some(names)).build()
}

/// Who did what to which object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// UUIDv7: ids sort in time order.
    pub id: Uuid,
    pub timestamp: DateTime<Utc>,
    /// `INFO`, `WARNING` or `ERROR`.
    pub level: String,
    /// `null` for region-level objects (hosts), which only admins listing all projects see.
    pub project_id: Option<Uuid>,
    /// Who asked; `null` when Flotilla noticed it itself.
    pub user_id: Option<Uuid>,
    /// `container`, `host`, `image`, `cluster`, `node`, `router`, `user`, `project`, `role_assignment`,
    /// `token`, `network`, `subnet`, `port`, `volume` or `quota`.
    #[schema(schema_with = object_type_schema)]
    pub object_type: String,
    pub object_id: Uuid,
    pub object_name: String,
    /// What was done, e.g. `CONTAINER_CREATE`, `CONTAINER_STOP`, `HOST_DOWN`, `IMAGE_UPLOAD`.
    pub action: String,
    /// `START` (accepted, under way), `END` (done), `FAILED`, or the object's new status.
    pub status: String,
    pub reason: String,
    pub metadata: Metadata,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventList {
    pub events: Vec<Event>,
    pub next: Option<String>,
}

/// Filters of `GET /v1/events` and `GET /v1/events/stream`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventFilter {
    /// `container`, `host`, `image`, `cluster`, `node`, `router`, `user`, `project`, `role_assignment`,
    /// `token`, `network`, `subnet`, `port`, `volume` or `quota`.
    #[param(schema_with = object_type_schema)]
    pub object_type: Option<String>,
    /// The object's id or name.
    pub object: Option<String>,
    /// e.g. `CONTAINER_STOP`.
    pub action: Option<String>,
    /// `INFO`, `WARNING` or `ERROR`.
    pub level: Option<String>,
}

/// Where `GET /v1/events/stream` starts, and whose events it carries.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventStreamQuery {
    /// Only events after this event id (default: from now; a `Last-Event-ID` header also works).
    pub after: Option<String>,
    /// Admins only: every project's events and region-level ones.
    pub all_projects: Option<bool>,
}
