//! After the load: everything the client saw acknowledged is there, once; nothing whose
//! answer was lost is there twice; no refresh-token family has two live tokens.

use serde_json::Value;

use super::load::{Ledger, Target};

fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{query}")
}

/// Every acknowledged sign-up exists exactly once, every unanswered one at most once.
pub async fn signups(target: &Target, ledger: &Ledger) {
    for (emails, at_least) in [(&ledger.signups, 1), (&ledger.signups_unknown, 0)] {
        for email in emails {
            let users: Value = target
                .mgmt(
                    reqwest::Method::GET,
                    &with_query("/users-by-email", &[("email", email)]),
                )
                .send()
                .await
                .expect("users-by-email")
                .json()
                .await
                .expect("json");
            let found = users.as_array().map_or(0, Vec::len);
            assert!(
                (at_least..=1).contains(&found),
                "{email}: {found} users (acknowledged: {})",
                at_least == 1
            );
        }
    }
}

/// Every acknowledged role exists exactly once, every unanswered one at most once.
pub async fn roles(target: &Target, ledger: &Ledger) {
    let mut names: Vec<String> = Vec::new();
    for page in 0.. {
        let roles: Value = target
            .mgmt(
                reqwest::Method::GET,
                &with_query(
                    "/roles",
                    &[
                        ("per_page", "100"),
                        ("page", &page.to_string()),
                        ("name_filter", &target.tag),
                    ],
                ),
            )
            .send()
            .await
            .expect("roles")
            .json()
            .await
            .expect("json");
        let roles = roles.as_array().expect("a list of roles");
        names.extend(
            roles
                .iter()
                .filter_map(|r| r["name"].as_str().map(str::to_owned)),
        );
        if roles.len() < 100 {
            break;
        }
    }
    let count = |name: &String| names.iter().filter(|n| *n == name).count();
    for name in &ledger.roles {
        assert_eq!(count(name), 1, "acknowledged role {name}");
    }
    for name in &ledger.roles_unknown {
        assert!(count(name) <= 1, "unanswered role {name} exists twice");
    }
}

/// The token the client holds for every family whose rotation was acknowledged is live.
pub async fn rotations(target: &Target, ledger: &Ledger) {
    for token in &ledger.live {
        if let Err(e) = target.is_live(token).await {
            panic!("an acknowledged rotation's token is not live: {e}");
        }
    }
}

/// No family has two live tokens, read from the database itself; and it holds families.
pub async fn one_live_token_per_family(database_url: &str) {
    const DOUBLES: &str = "SELECT COUNT(*) FROM (SELECT family_id FROM refresh_tokens \
        WHERE rotated_at IS NULL AND revoked_at IS NULL GROUP BY family_id HAVING COUNT(*) > 1) d";
    const FAMILIES: &str = "SELECT COUNT(DISTINCT family_id) FROM refresh_tokens";
    let (doubles, families): (i64, i64) = if database_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(database_url).await.expect("connect");
        let d = sqlx::query_scalar(DOUBLES).fetch_one(&pool).await;
        let f = sqlx::query_scalar(FAMILIES).fetch_one(&pool).await;
        pool.close().await;
        (d.expect("doubles"), f.expect("families"))
    } else {
        let pool = sqlx::SqlitePool::connect(database_url)
            .await
            .expect("connect");
        let d = sqlx::query_scalar(DOUBLES).fetch_one(&pool).await;
        let f = sqlx::query_scalar(FAMILIES).fetch_one(&pool).await;
        let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&pool)
            .await
            .expect("integrity_check");
        assert_eq!(integrity, "ok", "SQLite's integrity check");
        pool.close().await;
        (d.expect("doubles"), f.expect("families"))
    };
    assert!(families > 0, "the load made no refresh-token family");
    assert_eq!(doubles, 0, "families with two live tokens");
}

/// All of the above.
pub async fn durable(target: &Target, ledger: &Ledger, database_url: &str) {
    signups(target, ledger).await;
    roles(target, ledger).await;
    rotations(target, ledger).await;
    one_live_token_per_family(database_url).await;
}
