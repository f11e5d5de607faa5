//! Roles, role permissions, role members and users' direct permissions.

use std::collections::BTreeMap;

use async_trait::async_trait;
use gatehouse_core::id::UserId;
use gatehouse_core::role::{Permission, PermissionSource, Role, UserPermission};
use gatehouse_core::store::{Page, RoleStore, StoreResult};
use time::OffsetDateTime;

use crate::SqlStore;
use crate::error::{db, one_row};
use crate::pool::{in_transaction, on_pool};

#[derive(sqlx::FromRow)]
struct RoleRow {
    id: String,
    name: String,
    description: String,
    created_at: OffsetDateTime,
}

impl From<RoleRow> for Role {
    fn from(r: RoleRow) -> Self {
        Role {
            id: r.id,
            name: r.name,
            description: r.description,
            created_at: r.created_at,
        }
    }
}

/// `$1 IS NULL` or a case-insensitive substring match on the name.
const NAME_FILTER: &str = "($1 IS NULL OR LOWER(name) LIKE '%' || LOWER($1) || '%')";

impl SqlStore {
    /// Inserts or deletes (role or user, identifier, name) rows of a permission table.
    async fn change_permissions(
        &self,
        sql: &'static str,
        owner: &str,
        permissions: &[Permission],
    ) -> StoreResult<()> {
        in_transaction!(self, tx => {
            for p in permissions {
                sqlx::query(sql)
                    .bind(owner)
                    .bind(&p.resource_server_identifier)
                    .bind(&p.permission_name)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        });
        Ok(())
    }

    /// Inserts (user, role) pairs in one transaction.
    async fn link_user_roles(&self, pairs: &[(&str, &str)]) -> StoreResult<()> {
        in_transaction!(self, tx => {
            for (user, role) in pairs {
                sqlx::query("INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(*user)
                    .bind(*role)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        });
        Ok(())
    }
}

#[async_trait]
impl RoleStore for SqlStore {
    #[tracing::instrument(name = "RoleStore::insert_role", skip_all, fields(otel.kind = "client"))]
    async fn insert_role(&self, role: &Role) -> StoreResult<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO roles (id, name, description, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&role.id)
        .bind(role.name.as_str())
        .bind(&role.description)
        .bind(role.created_at)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))?;
        Ok(())
    }

    #[tracing::instrument(name = "RoleStore::role", skip_all, fields(otel.kind = "client"))]
    async fn role(&self, id: &str) -> StoreResult<Option<Role>> {
        let row: Option<RoleRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, name, description, created_at FROM roles WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map(Role::from))
    }

    #[tracing::instrument(name = "RoleStore::list_roles", skip_all, fields(otel.kind = "client"))]
    async fn list_roles(&self, name_filter: Option<&str>, page: Page) -> StoreResult<Vec<Role>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT id, name, description, created_at FROM roles WHERE {NAME_FILTER} \
             ORDER BY created_at, id LIMIT $2 OFFSET $3"
        ));
        let rows: Vec<RoleRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(name_filter)
            .bind(i64::from(page.limit))
            .bind(page.offset)
            .fetch_all(p)
            .await
            .map_err(db))?;
        Ok(rows.into_iter().map(Role::from).collect())
    }

    #[tracing::instrument(name = "RoleStore::count_roles", skip_all, fields(otel.kind = "client"))]
    async fn count_roles(&self, name_filter: Option<&str>) -> StoreResult<i64> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM roles WHERE {NAME_FILTER}"));
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(sql)
            .bind(name_filter)
            .fetch_one(p)
            .await
            .map_err(db))?;
        Ok(n)
    }

    #[tracing::instrument(name = "RoleStore::update_role", skip_all, fields(otel.kind = "client"))]
    async fn update_role(&self, role: &Role) -> StoreResult<()> {
        let n = on_pool!(self, p => sqlx::query("UPDATE roles SET name = $2, description = $3 WHERE id = $1")
            .bind(&role.id)
            .bind(role.name.as_str())
            .bind(&role.description)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(db))?;
        one_row(n, format!("role {}", role.id))
    }

    #[tracing::instrument(name = "RoleStore::delete_role", skip_all, fields(otel.kind = "client"))]
    async fn delete_role(&self, id: &str) -> StoreResult<()> {
        let n = on_pool!(self, p => sqlx::query("DELETE FROM roles WHERE id = $1")
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(db))?;
        one_row(n, format!("role {id}"))
    }

    #[tracing::instrument(name = "RoleStore::add_role_permissions", skip_all, fields(otel.kind = "client"))]
    async fn add_role_permissions(
        &self,
        role_id: &str,
        permissions: &[Permission],
    ) -> StoreResult<()> {
        self.change_permissions(
            "INSERT INTO role_permissions (role_id, resource_server_identifier, permission_name) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            role_id,
            permissions,
        )
        .await
    }

    #[tracing::instrument(name = "RoleStore::remove_role_permissions", skip_all, fields(otel.kind = "client"))]
    async fn remove_role_permissions(
        &self,
        role_id: &str,
        permissions: &[Permission],
    ) -> StoreResult<()> {
        self.change_permissions(
            "DELETE FROM role_permissions WHERE role_id = $1 AND resource_server_identifier = $2 \
             AND permission_name = $3",
            role_id,
            permissions,
        )
        .await
    }

    #[tracing::instrument(name = "RoleStore::role_permissions", skip_all, fields(otel.kind = "client"))]
    async fn role_permissions(&self, role_id: &str, page: Page) -> StoreResult<Vec<Permission>> {
        let rows: Vec<(String, String)> = on_pool!(self, p => sqlx::query_as(
            "SELECT resource_server_identifier, permission_name FROM role_permissions WHERE role_id = $1 \
             ORDER BY resource_server_identifier, permission_name LIMIT $2 OFFSET $3",
        )
        .bind(role_id)
        .bind(i64::from(page.limit))
        .bind(page.offset)
        .fetch_all(p)
        .await
        .map_err(db))?;
        Ok(rows
            .into_iter()
            .map(|(resource_server_identifier, permission_name)| Permission {
                resource_server_identifier,
                permission_name,
            })
            .collect())
    }

    #[tracing::instrument(name = "RoleStore::count_role_permissions", skip_all, fields(otel.kind = "client"))]
    async fn count_role_permissions(&self, role_id: &str) -> StoreResult<i64> {
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*) FROM role_permissions WHERE role_id = $1",
        )
        .bind(role_id)
        .fetch_one(p)
        .await
        .map_err(db))?;
        Ok(n)
    }

    #[tracing::instrument(name = "RoleStore::add_role_users", skip_all, fields(otel.kind = "client"))]
    async fn add_role_users(&self, role_id: &str, user_ids: &[String]) -> StoreResult<()> {
        let pairs: Vec<(&str, &str)> = user_ids.iter().map(|u| (u.as_str(), role_id)).collect();
        self.link_user_roles(&pairs).await
    }

    #[tracing::instrument(name = "RoleStore::role_users", skip_all, fields(otel.kind = "client"))]
    async fn role_users(&self, role_id: &str, page: Page) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT user_id FROM user_roles WHERE role_id = $1 ORDER BY user_id LIMIT $2 OFFSET $3",
        )
        .bind(role_id)
        .bind(i64::from(page.limit))
        .bind(page.offset)
        .fetch_all(p)
        .await
        .map_err(db))?;
        Ok(rows.into_iter().map(|(u,)| u).collect())
    }

    #[tracing::instrument(name = "RoleStore::add_user_roles", skip_all, fields(otel.kind = "client"))]
    async fn add_user_roles(&self, user_id: &UserId, role_ids: &[String]) -> StoreResult<()> {
        let pairs: Vec<(&str, &str)> = role_ids
            .iter()
            .map(|r| (user_id.as_str(), r.as_str()))
            .collect();
        self.link_user_roles(&pairs).await
    }

    #[tracing::instrument(name = "RoleStore::remove_user_roles", skip_all, fields(otel.kind = "client"))]
    async fn remove_user_roles(&self, user_id: &UserId, role_ids: &[String]) -> StoreResult<()> {
        in_transaction!(self, tx => {
            for role in role_ids {
                sqlx::query("DELETE FROM user_roles WHERE user_id = $1 AND role_id = $2")
                    .bind(user_id.as_str())
                    .bind(role)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        });
        Ok(())
    }

    #[tracing::instrument(name = "RoleStore::user_roles", skip_all, fields(otel.kind = "client"))]
    async fn user_roles(&self, user_id: &UserId, page: Page) -> StoreResult<Vec<Role>> {
        let rows: Vec<RoleRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT r.id, r.name, r.description, r.created_at FROM roles r \
             JOIN user_roles ur ON ur.role_id = r.id WHERE ur.user_id = $1 \
             ORDER BY r.name, r.id LIMIT $2 OFFSET $3",
        )
        .bind(user_id.as_str())
        .bind(i64::from(page.limit))
        .bind(page.offset)
        .fetch_all(p)
        .await
        .map_err(db))?;
        Ok(rows.into_iter().map(Role::from).collect())
    }

    #[tracing::instrument(name = "RoleStore::count_user_roles", skip_all, fields(otel.kind = "client"))]
    async fn count_user_roles(&self, user_id: &UserId) -> StoreResult<i64> {
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*) FROM user_roles WHERE user_id = $1",
        )
        .bind(user_id.as_str())
        .fetch_one(p)
        .await
        .map_err(db))?;
        Ok(n)
    }

    #[tracing::instrument(name = "RoleStore::add_user_permissions", skip_all, fields(otel.kind = "client"))]
    async fn add_user_permissions(
        &self,
        user_id: &UserId,
        permissions: &[Permission],
    ) -> StoreResult<()> {
        self.change_permissions(
            "INSERT INTO user_permissions (user_id, resource_server_identifier, permission_name) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            user_id,
            permissions,
        )
        .await
    }

    #[tracing::instrument(name = "RoleStore::remove_user_permissions", skip_all, fields(otel.kind = "client"))]
    async fn remove_user_permissions(
        &self,
        user_id: &UserId,
        permissions: &[Permission],
    ) -> StoreResult<()> {
        self.change_permissions(
            "DELETE FROM user_permissions WHERE user_id = $1 AND resource_server_identifier = $2 \
             AND permission_name = $3",
            user_id,
            permissions,
        )
        .await
    }

    #[tracing::instrument(name = "RoleStore::user_permissions", skip_all, fields(otel.kind = "client"))]
    async fn user_permissions(&self, user_id: &UserId) -> StoreResult<Vec<UserPermission>> {
        // Direct grants have no role (NULL id and name); role grants name their role.
        let rows: Vec<(String, String, Option<String>, Option<String>)> = on_pool!(self, p => sqlx::query_as(
            "SELECT resource_server_identifier, permission_name, NULL, NULL FROM user_permissions \
             WHERE user_id = $1 \
             UNION ALL \
             SELECT rp.resource_server_identifier, rp.permission_name, r.id, r.name FROM user_roles ur \
             JOIN roles r ON r.id = ur.role_id JOIN role_permissions rp ON rp.role_id = r.id \
             WHERE ur.user_id = $1",
        )
        .bind(user_id.as_str())
        .fetch_all(p)
        .await
        .map_err(db))?;
        let mut merged: BTreeMap<Permission, Vec<PermissionSource>> = BTreeMap::new();
        for (resource_server_identifier, permission_name, role_id, role_name) in rows {
            let source = match (role_id, role_name) {
                (Some(id), Some(name)) => PermissionSource::Role { id, name },
                _ => PermissionSource::Direct,
            };
            merged
                .entry(Permission {
                    resource_server_identifier,
                    permission_name,
                })
                .or_default()
                .push(source);
        }
        Ok(merged
            .into_iter()
            .map(|(permission, sources)| UserPermission {
                permission,
                sources,
            })
            .collect())
    }
}
