//! Identity objects as the system holds them: projects, users, role assignments, tokens.

use crate::{Metadata, Name, ProjectId, Role, RoleAssignmentId, Timestamp, TokenId, UserId};

#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub id: ProjectId,
    pub name: Name,
    pub description: String,
    pub enabled: bool,
    pub metadata: Metadata,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A user; `password_hash` is a PHC string (argon2id), never the password.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub name: Name,
    pub email: Option<String>,
    pub password_hash: String,
    pub enabled: bool,
    pub default_project_id: Option<ProjectId>,
    pub metadata: Metadata,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoleAssignment {
    pub id: RoleAssignmentId,
    pub user_id: UserId,
    pub user_name: String,
    pub project_id: ProjectId,
    pub project_name: String,
    pub role: Role,
    pub created_at: Timestamp,
}

/// A token as stored: only the SHA-256 of its secret is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub id: TokenId,
    pub secret_hash: String,
    pub user_id: UserId,
    pub project_id: ProjectId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked: bool,
}

impl TokenRecord {
    /// Whether the token may still be used at `now`.
    pub fn is_valid_at(&self, now: Timestamp) -> bool {
        !self.revoked && now < self.expires_at
    }
}
