//! Routers: a project's object joining some of its networks (each network on at most one router),
//! so that their containers reach each other; networks not joined stay isolated. A global router
//! joins global networks across regions.

use crate::{Name, ProjectId, RouterId};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct Router {
    pub id: RouterId,
    pub name: Name,
    pub project_id: ProjectId,
    /// Made at the central, joining global networks only; each region keeps a copy of it while
    /// its hosts carry one of its networks.
    pub global: bool,
    pub created_at: DateTime<Utc>,
    /// Moves when an interface is added or removed.
    pub updated_at: DateTime<Utc>,
}
