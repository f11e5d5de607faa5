//! Change announcements between replicas: heard by every store on the same PostgreSQL
//! schema (the announcer's included), not by another schema's; nothing on SQLite.

use std::time::Duration;

use gatehouse_store::testing::TestDatabase;
use gatehouse_store::{Heard, SqlStore};

async fn next(rx: &mut tokio::sync::mpsc::Receiver<Heard>) -> Option<Heard> {
    tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .ok()
        .flatten()
}

#[tokio::test]
async fn replicas_on_one_schema_hear_each_others_changes() {
    let sqlite = SqlStore::connect(&TestDatabase::sqlite().url)
        .await
        .expect("sqlite");
    assert!(sqlite.listen().await.expect("listen").is_none());
    sqlite.announce("catalog").await.expect("nothing to tell");

    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let Some(elsewhere) = TestDatabase::postgres().await else {
        return;
    };
    let (a, b) = (
        SqlStore::connect(&db.url).await.expect("a"),
        SqlStore::connect(&db.url).await.expect("b"),
    );
    let other = SqlStore::connect(&elsewhere.url).await.expect("other");
    let mut heard_a = a.listen().await.expect("listen").expect("postgres listens");
    let mut heard_b = b.listen().await.expect("listen").expect("postgres listens");
    let mut heard_other = other.listen().await.expect("listen").expect("listens");
    a.announce("keys").await.expect("announce");
    assert_eq!(
        next(&mut heard_b).await,
        Some(Heard::Changed("keys".into()))
    );
    assert_eq!(
        next(&mut heard_a).await,
        Some(Heard::Changed("keys".into()))
    );
    assert_eq!(
        tokio::time::timeout(Duration::from_millis(300), heard_other.recv())
            .await
            .ok(),
        None,
        "another schema's replicas hear nothing"
    );
}
