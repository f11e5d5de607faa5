//! Online backups of an SQLite database (`VACUUM INTO`: a consistent copy taken while
//! servers keep serving) and the checks a copy passes before it is restored. PostgreSQL has
//! its own tools (`pg_dump`, `pg_restore`), which know more about it than we would.

use std::path::Path;

use gatehouse_core::store::{StoreError, StoreResult};

use crate::SqlStore;
use crate::error::db;
use crate::pool::Pool;

fn refused(why: &str) -> StoreError {
    StoreError::Backend(why.to_owned().into())
}

impl SqlStore {
    /// Writes a consistent copy of the whole database to `path` (which must not exist)
    /// without stopping anyone; on PostgreSQL an error saying to use `pg_dump`.
    pub async fn backup_into(&self, path: &Path) -> StoreResult<()> {
        let Pool::Sqlite(pool) = &self.pool else {
            return Err(refused(
                "PostgreSQL is backed up with its own tools: pg_dump --format=custom",
            ));
        };
        if path.exists() {
            return Err(refused("the backup file exists already"));
        }
        let path = path
            .to_str()
            .ok_or_else(|| refused("the backup path is not UTF-8"))?;
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// Whether this database (a backup about to be restored) is whole and is gatehouse's:
    /// SQLite's integrity check passes and its migrations are there.
    pub async fn check_backup(&self) -> StoreResult<()> {
        let Pool::Sqlite(pool) = &self.pool else {
            return Err(refused("only SQLite backups are checked here"));
        };
        let (integrity,): (String,) = sqlx::query_as("PRAGMA integrity_check")
            .fetch_one(pool)
            .await
            .map_err(db)?;
        if integrity != "ok" {
            return Err(refused(&format!("the copy is damaged: {integrity}")));
        }
        let (migrations,): (i64,) = sqlx::query_as("SELECT count(*) FROM _sqlx_migrations")
            .fetch_one(pool)
            .await
            .map_err(|_| refused("this is not a gatehouse database"))?;
        if migrations == 0 {
            return Err(refused("this is not a gatehouse database"));
        }
        Ok(())
    }
}
