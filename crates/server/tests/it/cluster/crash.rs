//! `kill -9` under load: a replica behind the balancer, and SQLite's single process.

use std::time::Duration;

use super::{Cluster, Load, assert_every_kind_ran, checks, seconds};
use crate::helpers::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_under_load_loses_nothing_acknowledged_and_rejoins() {
    let Some(mut cluster) = Cluster::three_behind_haproxy().await else {
        return;
    };
    let total = seconds();
    let load = Load::start(&cluster).await;
    tokio::time::sleep(total * 35 / 100).await;
    cluster.replicas[1].kill().await;
    cluster.balancer().wait_status("r1", "DOWN").await;
    tokio::time::sleep(total * 25 / 100).await;
    cluster.replicas[1].start().await;
    cluster.balancer().wait_status("r1", "UP").await;
    tokio::time::sleep(total * 40 / 100).await;
    let (target, ledger) = load.finish().await;

    // Requests cut by the kill may have happened or not; none may be refused.
    assert!(ledger.refused.is_empty(), "{}", ledger.summary());
    assert_every_kind_ran(&ledger);
    checks::durable(&target, &ledger, &cluster.deployment.database_url).await;

    // The restarted replica serves, and follows a change made on a peer at once (it listens
    // again): a secret rotated on r0 stops working on r1.
    let r1 = cluster.replicas[1].url();
    let (id, old) = target.m2m.clone();
    assert_eq!(target.client_credentials_at(&r1, &old).await, 200);
    let rotated: serde_json::Value = target
        .http
        .post(format!(
            "{}/api/v2/clients/{id}/rotate-secret",
            cluster.replicas[0].url()
        ))
        .bearer_auth(&target.mgmt_token)
        .send()
        .await
        .expect("rotate")
        .json()
        .await
        .expect("json");
    let new = rotated["client_secret"].as_str().expect("secret");
    let started = std::time::Instant::now();
    while target.client_credentials_at(&r1, &old).await != 401 {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "r1 still takes the old secret:\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(target.client_credentials_at(&r1, new).await, 200);
    eprintln!("kill -9 of a replica: {}", ledger.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_killed_under_load_loses_nothing_acknowledged() {
    let mut cluster = Cluster::start(TestDb::sqlite(), 1, None).await;
    let total = seconds();
    let load = Load::start(&cluster).await;
    tokio::time::sleep(total * 40 / 100).await;
    cluster.replicas[0].kill().await;
    // Clients meet a closed port meanwhile: unanswered, not refused.
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.replicas[0].start().await;
    tokio::time::sleep(total * 50 / 100).await;
    let (target, ledger) = load.finish().await;

    assert!(ledger.refused.is_empty(), "{}", ledger.summary());
    assert_every_kind_ran(&ledger);
    checks::durable(&target, &ledger, &cluster.deployment.database_url).await;
    eprintln!("kill -9 of SQLite's process: {}", ledger.summary());
}
