//! Roles a user holds on a project, and what each role may do.

use std::fmt;
use std::str::FromStr;

/// A role on a project. `Admin` on any project is the operator role: it crosses projects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Reader,
    Member,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Member, Role::Reader];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Reader => "reader",
        }
    }

    /// May create, change and delete the objects of its project.
    pub fn can_write(self) -> bool {
        self >= Role::Member
    }

    /// May manage identity (users, projects, roles) and see every project.
    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of `admin`, `member`, `reader`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected admin, member or reader")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_rights() {
        let table = [(Role::Admin, true, true), (Role::Member, true, false), (Role::Reader, false, false)];
        for (role, write, admin) in table {
            assert_eq!(role.can_write(), write, "{role}");
            assert_eq!(role.is_admin(), admin, "{role}");
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("owner".parse::<Role>().is_err());
    }
}
