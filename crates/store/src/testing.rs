//! Test support: a fresh, isolated database per test on either dialect.

use sqlx::Connection;

/// The environment variable naming the PostgreSQL database tests may use.
pub const TEST_DATABASE_ENV: &str = "GATEHOUSE_TEST_DATABASE_URL";

/// Set (to anything but empty, `0` or `false`) by CI, where skipping PostgreSQL is an error.
pub const CI_ENV: &str = "CI";

/// The PostgreSQL URL to test on, given `GATEHOUSE_TEST_DATABASE_URL` and `CI`: `Ok(None)`
/// means skip PostgreSQL; `Err` means this run must fail rather than skip.
fn postgres_url(url: Option<String>, ci: Option<String>) -> Result<Option<String>, String> {
    let ci = ci.is_some_and(|v| !matches!(v.trim(), "" | "0" | "false"));
    match url.filter(|u| !u.trim().is_empty()) {
        Some(url) => Ok(Some(url)),
        None if ci => Err(format!(
            "{CI_ENV} is set but {TEST_DATABASE_ENV} is not: PostgreSQL tests would be skipped"
        )),
        None => Ok(None),
    }
}

/// Tells the person running the tests, once per test process, that PostgreSQL was skipped.
/// Written to stderr directly: the test harness hides `eprintln!` of passing tests.
fn announce_skip() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "note: {TEST_DATABASE_ENV} is unset: PostgreSQL tests are skipped (they pass \
             without running); set it to run them, as .ci/run does"
        );
    });
}

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
    /// `None` when it is unset (the test skips PostgreSQL, and says so once on stderr).
    /// Each call gets its own schema, so tests and runs never collide.
    ///
    /// # Panics
    /// When `CI` is set and the URL is not: a CI run must not pass on tests it skipped.
    pub async fn postgres() -> Option<Self> {
        let base = match postgres_url(
            std::env::var(TEST_DATABASE_ENV).ok(),
            std::env::var(CI_ENV).ok(),
        ) {
            Ok(Some(url)) => url,
            Ok(None) => {
                announce_skip();
                return None;
            }
            Err(message) => panic!("{message}"),
        };
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

#[cfg(test)]
mod tests {
    use super::postgres_url;

    #[test]
    fn ci_without_a_database_fails_instead_of_skipping() {
        // (GATEHOUSE_TEST_DATABASE_URL, CI, outcome)
        let url = Some("postgres://h/db");
        let cases = [
            (url, None, "run"),
            (url, Some("1"), "run"),
            (None, None, "skip"),
            (None, Some(""), "skip"),
            (None, Some("0"), "skip"),
            (None, Some("false"), "skip"),
            (Some(" "), None, "skip"),
            (None, Some("1"), "fail"),
            (None, Some("true"), "fail"),
            (Some(""), Some("1"), "fail"),
        ];
        for (u, ci, want) in cases {
            let got = match postgres_url(u.map(str::to_owned), ci.map(str::to_owned)) {
                Ok(Some(run)) => {
                    assert_eq!(Some(run.as_str()), u);
                    "run"
                }
                Ok(None) => "skip",
                Err(_) => "fail",
            };
            assert_eq!(got, want, "url {u:?}, CI {ci:?}");
        }
    }
}
