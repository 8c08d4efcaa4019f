//! Domain objects to wire types.

use flotilla_api as api;
use flotilla_core::identity::{Project, RoleAssignment, User};
use flotilla_core::profile::Profile;

pub fn user(u: User) -> api::User {
    api::User {
        id: u.id.0,
        name: u.name.to_string(),
        email: u.email,
        enabled: u.enabled,
        default_project_id: u.default_project_id.map(|p| p.0),
        metadata: u.metadata,
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

pub fn project(p: Project) -> api::Project {
    api::Project {
        id: p.id.0,
        name: p.name.to_string(),
        description: p.description,
        enabled: p.enabled,
        metadata: p.metadata,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

pub fn role_assignment(r: RoleAssignment) -> api::RoleAssignment {
    api::RoleAssignment {
        id: r.id.0,
        user: api::ObjectRef { id: r.user_id.0, name: r.user_name },
        project: api::ObjectRef { id: r.project_id.0, name: r.project_name },
        role: r.role,
        created_at: r.created_at,
    }
}

pub fn profile(p: Profile) -> api::Profile {
    api::Profile {
        id: p.id.0,
        name: p.name.to_string(),
        project_id: p.project_id.0,
        user_id: p.user_id.0,
        spec: p.spec,
        metadata: p.metadata,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}
