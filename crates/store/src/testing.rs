//! Test support: a fresh, isolated database per test on either dialect.

use sqlx::Connection;

/// The environment variable naming the PostgreSQL database tests may use.
pub const TEST_DATABASE_ENV: &str = "GATEHOUSE_TEST_DATABASE_URL";

/// A database URL for one test.
#[derive(Debug)]
pub struct TestDatabase {
    /// Connect here.
    pub url: String,
    /// Keeps the SQLite file alive for the test's duration.
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A new SQLite file in a temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
        TestDatabase {
            url,
            _dir: Some(dir),
        }
    }

    /// A new schema in the PostgreSQL database named by `GATEHOUSE_TEST_DATABASE_URL`, or
    /// `None` when it is unset. Each call gets its own schema, so tests and runs never collide.
    pub async fn postgres() -> Option<Self> {
        let base = std::env::var(TEST_DATABASE_ENV).ok()?;
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&base)
            .await
            .expect("GATEHOUSE_TEST_DATABASE_URL must be reachable");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut conn)
            .await
            .expect("create test schema");
        conn.close().await.ok();
        let sep = if base.contains('?') { '&' } else { '?' };
        Some(TestDatabase {
            url: format!("{base}{sep}options%5Bsearch_path%5D={schema}"),
            _dir: None,
        })
    }

    /// SQLite always, and PostgreSQL when configured.
    pub async fn all() -> Vec<Self> {
        let mut dbs = vec![Self::sqlite()];
        dbs.extend(Self::postgres().await);
        dbs
    }
}

/// The SQL condition and the number of bound values a user search compiles to, for fuzzing
/// and property tests of the compiler from outside the crate.
pub fn compile_user_search(
    dialect: crate::Dialect,
    query: &gatehouse_core::user_search::UserQuery,
) -> Result<(String, usize), String> {
    crate::user_query::condition(dialect, Some(query), 1)
        .map(|c| (c.sql, c.binds.len()))
        .map_err(|e| e.0)
}
