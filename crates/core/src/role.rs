//! Roles and permissions (Auth0's RBAC): a permission is a scope of an API; users get them
//! directly or through roles.

use time::OffsetDateTime;

/// A named set of permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// `rol_` id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// One scope of one API.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Permission {
    /// The API's identifier (audience).
    pub resource_server_identifier: String,
    /// The scope.
    pub permission_name: String,
}

/// Where a user's permission comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermissionSource {
    /// Assigned to the user.
    Direct,
    /// Through the role with this id and name.
    Role {
        /// Role id.
        id: String,
        /// Role name.
        name: String,
    },
}

/// A user's permission with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPermission {
    /// The permission.
    pub permission: Permission,
    /// Every way the user has it.
    pub sources: Vec<PermissionSource>,
}
