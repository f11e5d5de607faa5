//! A rolling restart under steady load: each replica in turn is drained at the balancer,
//! stopped with SIGTERM (it finishes what it started), started again and put back; the
//! client sees no failed request at all.

use super::{Cluster, Load, assert_every_kind_ran, checks, seconds};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_under_load_fails_no_request() {
    let Some(mut cluster) = Cluster::three_behind_haproxy().await else {
        return;
    };
    let total = seconds();
    let load = Load::start(&cluster).await;
    tokio::time::sleep(total / 4).await;
    for i in 0..cluster.replicas.len() {
        let name = cluster.replicas[i].name.clone();
        cluster.balancer().drain(&name).await;
        let status = cluster.replicas[i].terminate().await;
        assert!(
            status.success(),
            "{name} stopped with {status}:\n{}",
            cluster.logs()
        );
        cluster.replicas[i].start().await;
        cluster.balancer().restore(&name).await;
        tokio::time::sleep(total / 8).await;
    }
    tokio::time::sleep(total / 4).await;
    let (target, ledger) = load.finish().await;

    assert!(
        ledger.refused.is_empty() && ledger.unknown.is_empty(),
        "{}\n{}",
        ledger.summary(),
        cluster.logs()
    );
    assert_every_kind_ran(&ledger);
    checks::durable(&target, &ledger, &cluster.deployment.database_url).await;
    eprintln!("rolling restart: {}", ledger.summary());
}
