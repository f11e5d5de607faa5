//! Replicas as operators run them: `gatehouse serve` processes on one database behind a
//! real load balancer (HAProxy, from Debian's package, on loopback), under a bounded mixed
//! load, through `kill -9` and a rolling restart. The short form runs in every test run;
//! `GATEHOUSE_CLUSTER_SECONDS` (default 20) makes it longer (`scripts/cluster-soak.sh`).

mod balancer;
mod checks;
mod crash;
mod load;
mod process;
mod rolling;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

use self::balancer::Balancer;
use self::load::{Ledger, Target};
use self::process::{Deployment, Replica, free_port};
use crate::helpers::TestDb;

/// How long the load runs in all (the scenario's phases are fractions of it).
fn seconds() -> Duration {
    let secs = std::env::var("GATEHOUSE_CLUSTER_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20u64);
    Duration::from_secs(secs)
}

/// Replicas on one database, behind HAProxy when there are several.
pub struct Cluster {
    pub replicas: Vec<Replica>,
    pub balancer: Option<Balancer>,
    pub deployment: Deployment,
    _dir: tempfile::TempDir,
    _db: TestDb,
}

impl Cluster {
    /// Starts `n` replicas (the first alone, so one process runs the migrations and seeds),
    /// and the balancer in front of them when `haproxy` is given.
    pub async fn start(db: TestDb, n: usize, haproxy: Option<&Path>) -> Cluster {
        let dir = tempfile::tempdir().expect("temporary directory");
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let front = if haproxy.is_some() {
            free_port()
        } else {
            ports[0]
        };
        let deployment = Deployment {
            database_url: db.db.url.clone(),
            master_key: db.master_key.clone(),
            issuer: format!("http://127.0.0.1:{front}/"),
            dir: dir.path().to_owned(),
        };
        let mut replicas: Vec<Replica> = ports
            .iter()
            .enumerate()
            .map(|(i, port)| Replica::new(&format!("r{i}"), *port, &deployment))
            .collect();
        for replica in &mut replicas {
            replica.start().await;
        }
        let balancer = match haproxy {
            Some(binary) => {
                let servers: Vec<(String, u16)> =
                    replicas.iter().map(|r| (r.name.clone(), r.port)).collect();
                Some(Balancer::start(binary, dir.path(), front, &servers).await)
            }
            None => None,
        };
        Cluster {
            replicas,
            balancer,
            deployment,
            _dir: dir,
            _db: db,
        }
    }

    /// Three replicas on a PostgreSQL schema of their own behind HAProxy; `None` (the test
    /// skips) when PostgreSQL or HAProxy is not there outside CI.
    pub async fn three_behind_haproxy() -> Option<Cluster> {
        let db = TestDb::all().await.into_iter().find(TestDb::is_postgres)?;
        let haproxy = balancer::haproxy()?;
        Some(Cluster::start(db, 3, Some(&haproxy)).await)
    }

    /// Where clients go: the balancer, or the only replica.
    pub fn base(&self) -> String {
        self.deployment.issuer.trim_end_matches('/').to_owned()
    }

    pub fn balancer(&self) -> &Balancer {
        self.balancer.as_ref().expect("a balancer")
    }

    /// Every replica's log, for a failure message.
    pub fn logs(&self) -> String {
        self.replicas
            .iter()
            .map(|r| format!("--- {} ---\n{}", r.name, r.log()))
            .collect()
    }
}

/// A load running in the background until `finish` is called.
pub struct Load {
    pub target: Arc<Target>,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Load {
    pub async fn start(cluster: &Cluster) -> Load {
        let target = Arc::new(Target::provision(&cluster.base(), &cluster.deployment.issuer).await);
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(load::drive(target.clone(), ledger.clone(), stop.clone()));
        Load {
            target,
            ledger,
            stop,
            task,
        }
    }

    /// Stops the workers (each finishes its request) and hands over the ledger.
    pub async fn finish(self) -> (Arc<Target>, Ledger) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("load");
        let ledger = std::mem::take(
            &mut *self
                .ledger
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        (self.target, ledger)
    }
}

/// Every kind of request was acknowledged at least once, so the checks check something.
fn assert_every_kind_ran(ledger: &Ledger) {
    use self::load::Kind::*;
    for kind in [Credentials, Login, Refresh, Signup, MgmtWrite] {
        assert!(
            ledger.count(kind) > 0,
            "no {kind:?} acknowledged: {}",
            ledger.summary()
        );
    }
}
