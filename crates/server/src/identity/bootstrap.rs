//! First start of a region: create the admin project and user, with a given or generated password.

use crate::error::ApiError;
use crate::identity::{password, secret};
use flotilla_core::identity::{Project, User};
use flotilla_core::{Metadata, Name, ProjectId, Role, UserId};
use flotilla_store::Store;

pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PROJECT: &str = "admin";

/// What the first start created; the password is shown to the operator once and never stored.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub user: String,
    pub project: String,
    pub password: String,
    pub password_generated: bool,
}

/// Creates the admin user and project when the store has no user yet; `None` when it has.
pub async fn bootstrap(store: &Store, given_password: Option<String>) -> Result<Option<Bootstrap>, ApiError> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let password_generated = given_password.is_none();
    let password = given_password.unwrap_or_else(|| secret::generate()[4..28].to_owned());
    password::check_strength("bootstrap_password", &password)?;
    let now = flotilla_core::now();
    let name = |n: &str| Name::parse("name", n).expect("constant names are valid");
    let project = Project {
        id: ProjectId::new(),
        name: name(ADMIN_PROJECT),
        description: "Operators of this region".into(),
        enabled: true,
        metadata: Metadata::new(),
        created_at: now,
        updated_at: now,
    };
    store.create_project(&project).await?;
    let user = User {
        id: UserId::new(),
        name: name(ADMIN_USER),
        email: None,
        password_hash: password::hash(password.clone()).await?,
        enabled: true,
        default_project_id: Some(project.id),
        metadata: Metadata::new(),
        created_at: now,
        updated_at: now,
    };
    store.create_user(&user).await?;
    store.assign_role(user.id, project.id, Role::Admin).await?;
    Ok(Some(Bootstrap { user: ADMIN_USER.into(), project: ADMIN_PROJECT.into(), password, password_generated }))
}
