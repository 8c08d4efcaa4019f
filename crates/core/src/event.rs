//! Events: who did what to which object, when, at what level and with what outcome (Senlin's event log).

use crate::container::{ContainerHealth, ContainerStatus, HealthChange, StatusChange};
use crate::{EventId, Metadata, ProjectId, Timestamp, UserId};

/// How much an event matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EventLevel {
    Info,
    Warning,
    Error,
}

impl EventLevel {
    pub const ALL: [EventLevel; 3] = [Self::Info, Self::Warning, Self::Error];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "INFO",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
        }
    }

    /// Parses `INFO`, `WARNING` or `ERROR`, in any case.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|level| level.as_str().eq_ignore_ascii_case(s))
    }
}

/// The kind of object an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectType {
    Container,
    Host,
    Image,
    Cluster,
    Node,
    Router,
    User,
    Project,
    RoleAssignment,
    Token,
    Network,
    Subnet,
    Port,
    Volume,
    Quota,
}

impl ObjectType {
    pub const ALL: [ObjectType; 15] = [
        Self::Container,
        Self::Host,
        Self::Image,
        Self::Cluster,
        Self::Node,
        Self::Router,
        Self::User,
        Self::Project,
        Self::RoleAssignment,
        Self::Token,
        Self::Network,
        Self::Subnet,
        Self::Port,
        Self::Volume,
        Self::Quota,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Container => "container",
            Self::Host => "host",
            Self::Image => "image",
            Self::Cluster => "cluster",
            Self::Node => "node",
            Self::Router => "router",
            Self::User => "user",
            Self::Project => "project",
            Self::RoleAssignment => "role_assignment",
            Self::Token => "token",
            Self::Network => "network",
            Self::Subnet => "subnet",
            Self::Port => "port",
            Self::Volume => "volume",
            Self::Quota => "quota",
        }
    }

    /// Parses a name of [`ObjectType::as_str`] (`container`, `network`, ...), in any case.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident => $name:literal),* $(,)?) => {
        /// What was done: `OBJECT_VERB`, as Senlin names its actions.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventAction { $($(#[$doc])* $variant),* }

        impl EventAction {
            pub const ALL: &[EventAction] = &[$(Self::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),* }
            }
        }
    };
}

actions! {
    ContainerCreate => "CONTAINER_CREATE",
    ContainerStart => "CONTAINER_START",
    ContainerStop => "CONTAINER_STOP",
    ContainerRestart => "CONTAINER_RESTART",
    ContainerPause => "CONTAINER_PAUSE",
    ContainerUnpause => "CONTAINER_UNPAUSE",
    ContainerKill => "CONTAINER_KILL",
    ContainerRebuild => "CONTAINER_REBUILD",
    ContainerRename => "CONTAINER_RENAME",
    ContainerUpdate => "CONTAINER_UPDATE",
    ContainerDelete => "CONTAINER_DELETE",
    ContainerMigrate => "CONTAINER_MIGRATE",
    /// The container's observed status changed for the worse (ERROR, UNKNOWN).
    ContainerStatus => "CONTAINER_STATUS",
    /// The container's health check started failing (UNHEALTHY) or passes again (HEALTHY).
    ContainerHealth => "CONTAINER_HEALTH",
    HostJoin => "HOST_JOIN",
    HostDown => "HOST_DOWN",
    HostUp => "HOST_UP",
    HostDrain => "HOST_DRAIN",
    HostDisable => "HOST_DISABLE",
    HostEnable => "HOST_ENABLE",
    HostDelete => "HOST_DELETE",
    ImageUpload => "IMAGE_UPLOAD",
    ImageDelete => "IMAGE_DELETE",
    ClusterCreate => "CLUSTER_CREATE",
    ClusterDelete => "CLUSTER_DELETE",
    ClusterUpdate => "CLUSTER_UPDATE",
    ClusterResize => "CLUSTER_RESIZE",
    ClusterScaleOut => "CLUSTER_SCALE_OUT",
    ClusterScaleIn => "CLUSTER_SCALE_IN",
    ClusterAddNodes => "CLUSTER_ADD_NODES",
    ClusterDelNodes => "CLUSTER_DEL_NODES",
    ClusterReplaceNodes => "CLUSTER_REPLACE_NODES",
    ClusterCheck => "CLUSTER_CHECK",
    ClusterRecover => "CLUSTER_RECOVER",
    ClusterAttachPolicy => "CLUSTER_ATTACH_POLICY",
    ClusterDetachPolicy => "CLUSTER_DETACH_POLICY",
    ClusterUpdatePolicy => "CLUSTER_UPDATE_POLICY",
    ClusterOperation => "CLUSTER_OPERATION",
    NodeCreate => "NODE_CREATE",
    NodeDelete => "NODE_DELETE",
    NodeUpdate => "NODE_UPDATE",
    NodeCheck => "NODE_CHECK",
    NodeRecover => "NODE_RECOVER",
    NodeOperation => "NODE_OPERATION",
    RouterCreate => "ROUTER_CREATE",
    RouterDelete => "ROUTER_DELETE",
    /// A network joined the router (the event's metadata names it).
    RouterAddInterface => "ROUTER_ADD_INTERFACE",
    RouterRemoveInterface => "ROUTER_REMOVE_INTERFACE",
    UserCreate => "USER_CREATE",
    /// The metadata names the fields changed (never their values when secret).
    UserUpdate => "USER_UPDATE",
    UserDelete => "USER_DELETE",
    ProjectCreate => "PROJECT_CREATE",
    ProjectUpdate => "PROJECT_UPDATE",
    ProjectDelete => "PROJECT_DELETE",
    RoleAssign => "ROLE_ASSIGN",
    RoleUnassign => "ROLE_UNASSIGN",
    TokenRevoke => "TOKEN_REVOKE",
    NetworkCreate => "NETWORK_CREATE",
    NetworkDelete => "NETWORK_DELETE",
    SubnetCreate => "SUBNET_CREATE",
    SubnetDelete => "SUBNET_DELETE",
    /// A port made by itself, or by connecting a container to a network (the metadata names it).
    PortCreate => "PORT_CREATE",
    PortDelete => "PORT_DELETE",
    VolumeCreate => "VOLUME_CREATE",
    VolumeDelete => "VOLUME_DELETE",
    QuotaUpdate => "QUOTA_UPDATE",
}

impl From<crate::action::ActionKind> for EventAction {
    /// The event of an action has the action's own name.
    fn from(kind: crate::action::ActionKind) -> Self {
        Self::parse(kind.as_str()).expect("every action kind is an event action")
    }
}

impl EventAction {
    /// Parses an action name such as `CONTAINER_STOP`, in any case.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.as_str().eq_ignore_ascii_case(s))
    }
}

/// The status of an operation accepted and under way (the agent converges).
pub const START: &str = "START";
/// The status of an operation done.
pub const END: &str = "END";
/// The status of an operation that failed.
pub const FAILED: &str = "FAILED";

/// One entry of the event log. `project_id` is `None` for region-level objects (hosts), which
/// only admins listing all projects see.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// UUIDv7: events sort by id in time order.
    pub id: EventId,
    /// The millisecond of `id`, so that time order and id order never disagree.
    pub timestamp: Timestamp,
    pub level: EventLevel,
    pub project_id: Option<ProjectId>,
    /// Who asked for it; `None` when Flotilla itself noticed (heartbeats, agents' reports).
    pub user_id: Option<UserId>,
    pub object_type: ObjectType,
    pub object_id: uuid::Uuid,
    pub object_name: String,
    pub action: EventAction,
    /// `START`, `END`, `FAILED`, or the object's new status.
    pub status: String,
    pub reason: String,
    pub metadata: Metadata,
}

impl Event {
    /// A region-level INFO event with no user, reason or metadata yet; now.
    pub fn new(object_type: ObjectType, object_id: uuid::Uuid, object_name: &str, action: EventAction, status: &str) -> Self {
        let id = EventId::new();
        Event {
            id,
            timestamp: id_time(id),
            level: EventLevel::Info,
            project_id: None,
            user_id: None,
            object_type,
            object_id,
            object_name: object_name.to_owned(),
            action,
            status: status.to_owned(),
            reason: String::new(),
            metadata: Metadata::new(),
        }
    }

    pub fn level(self, level: EventLevel) -> Self {
        Self { level, ..self }
    }

    /// The project the object belongs to, and who acted (if someone did).
    pub fn by(self, project_id: Option<ProjectId>, user_id: Option<UserId>) -> Self {
        Self { project_id, user_id, ..self }
    }

    pub fn reason(self, reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), ..self }
    }

    pub fn meta(mut self, key: &str, value: impl ToString) -> Self {
        self.metadata.insert(key.to_owned(), value.to_string());
        self
    }

    /// The event a change of a container's observed status makes, when it is worth one: gone
    /// after its delete (INFO), in ERROR (ERROR) or UNKNOWN (WARNING).
    pub fn observed(change: &StatusChange) -> Option<Self> {
        let (level, action) = match change.to {
            ContainerStatus::Deleted => (EventLevel::Info, EventAction::ContainerDelete),
            ContainerStatus::Error => (EventLevel::Error, EventAction::ContainerStatus),
            ContainerStatus::Unknown => (EventLevel::Warning, EventAction::ContainerStatus),
            _ => return None,
        };
        let status = if change.to == ContainerStatus::Deleted { END } else { change.to.as_str() };
        let event = Event::new(ObjectType::Container, change.id.0, change.name.as_str(), action, status);
        Some(event.by(Some(change.project_id), None).level(level).reason(change.reason.clone()).meta("from", change.from))
    }

    /// The event a change of a container's health makes, when it is worth one: turned unhealthy
    /// (WARNING, with the probe's answer) or healthy again after being unhealthy (INFO).
    pub fn health(change: &HealthChange) -> Option<Self> {
        let (level, status) = match (&change.from, &change.to) {
            (_, ContainerHealth::Unhealthy { .. }) => (EventLevel::Warning, "UNHEALTHY"),
            (ContainerHealth::Unhealthy { .. }, ContainerHealth::Healthy) => (EventLevel::Info, "HEALTHY"),
            _ => return None,
        };
        let event = Event::new(ObjectType::Container, change.id.0, change.name.as_str(), EventAction::ContainerHealth, status);
        Some(event.by(Some(change.project_id), None).level(level).reason(change.to.reason()).meta("from", &change.from))
    }
}

/// The time a UUIDv7 id was made, to the millisecond.
pub fn id_time(id: EventId) -> Timestamp {
    let millis = (id.0.as_u128() >> 80) as i64;
    chrono::DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

/// The smallest UUIDv7 of the millisecond `at`: every event made at or after `at` has a greater id.
pub fn id_floor(at: Timestamp) -> EventId {
    let millis = at.timestamp_millis().max(0) as u128 & ((1 << 48) - 1);
    EventId(uuid::Uuid::from_u128((millis << 80) | (0x7 << 76) | (0b10 << 62)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for level in EventLevel::ALL {
            assert_eq!(EventLevel::parse(&level.as_str().to_lowercase()), Some(level));
        }
        for t in ObjectType::ALL {
            assert_eq!(ObjectType::parse(t.as_str()), Some(t));
        }
        for &action in EventAction::ALL {
            assert_eq!(EventAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(EventAction::parse("container_stop"), Some(EventAction::ContainerStop));
        assert_eq!(EventAction::parse("CONTAINER_FLY"), None);
        for &kind in crate::action::ActionKind::ALL {
            assert_eq!(EventAction::from(kind).as_str(), kind.as_str());
        }
        assert_eq!(serde_json::to_string(&EventLevel::Warning).unwrap(), "\"WARNING\"");
    }

    #[test]
    fn observed_changes_worth_an_event() {
        use ContainerStatus::*;
        let table = [
            (Error, Some((EventLevel::Error, EventAction::ContainerStatus, "ERROR"))),
            (Unknown, Some((EventLevel::Warning, EventAction::ContainerStatus, "UNKNOWN"))),
            (Deleted, Some((EventLevel::Info, EventAction::ContainerDelete, END))),
            (Running, None),
            (Stopped, None),
            (Deleting, None),
        ];
        for (to, want) in table {
            let change = StatusChange {
                id: crate::ContainerId::new(),
                name: crate::Name::parse("name", "web").unwrap(),
                project_id: ProjectId::new(),
                from: Running,
                to,
                reason: "exit 137".into(),
            };
            let event = Event::observed(&change);
            assert_eq!(event.as_ref().map(|e| (e.level, e.action, e.status.as_str())), want, "{to}");
            if let Some(e) = event {
                assert_eq!((e.project_id, e.user_id, e.reason.as_str()), (Some(change.project_id), None, "exit 137"));
                assert_eq!((e.object_id, e.metadata["from"].as_str()), (change.id.0, "RUNNING"));
            }
        }
    }

    #[test]
    fn health_changes_worth_an_event() {
        use ContainerHealth::*;
        let sick = || Unhealthy { reason: "HTTP 500".into() };
        let table = [
            (Healthy, sick(), Some((EventLevel::Warning, "UNHEALTHY", "HTTP 500", "healthy"))),
            (Starting, sick(), Some((EventLevel::Warning, "UNHEALTHY", "HTTP 500", "starting"))),
            (sick(), Healthy, Some((EventLevel::Info, "HEALTHY", "", "unhealthy"))),
            (Starting, Healthy, None),
            (Unknown, Starting, None),
            (sick(), Unknown, None),
        ];
        for (from, to, want) in table {
            let change = HealthChange {
                id: crate::ContainerId::new(),
                name: crate::Name::parse("name", "web").unwrap(),
                project_id: ProjectId::new(),
                from: from.clone(),
                to: to.clone(),
            };
            let event = Event::health(&change);
            let got = event.as_ref().map(|e| (e.level, e.status.as_str(), e.reason.as_str(), e.metadata["from"].as_str()));
            assert_eq!(got, want, "{from} -> {to}");
            if let Some(e) = event {
                assert_eq!(
                    (e.action, e.project_id, e.user_id, e.object_id),
                    (EventAction::ContainerHealth, Some(change.project_id), None, change.id.0)
                );
            }
        }
    }

    #[test]
    fn ids_order_as_time() {
        let event = Event::new(ObjectType::Host, uuid::Uuid::nil(), "h", EventAction::HostJoin, END);
        assert_eq!(event.timestamp, id_time(event.id));
        let floor = id_floor(event.timestamp);
        assert!(floor <= event.id && floor.to_string() <= event.id.to_string(), "{floor} {}", event.id);
        assert_eq!(id_time(floor), event.timestamp);
        let later = id_floor(event.timestamp + chrono::Duration::milliseconds(1));
        assert!(later > event.id && later.to_string() > event.id.to_string());
        assert_eq!(floor.0.get_version_num(), 7);
    }
}
