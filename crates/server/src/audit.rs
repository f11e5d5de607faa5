//! The tenant log writer. Requests hand events to a channel and go on; a background task
//! writes them in batches, so recording a token issuance costs a channel send, not a
//! database write on the token path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gatehouse_core::log::LogEvent;
use gatehouse_core::log_type::LogType;
use gatehouse_core::store::LogStore;
use tokio::sync::{mpsc, oneshot};

/// Events waiting beyond this are dropped (and counted) rather than slowing requests.
const QUEUE: usize = 16_384;
/// Most events written in one transaction.
const BATCH: usize = 512;
/// How long an event may wait for companions before it is written.
const LINGER: Duration = Duration::from_millis(50);

/// An Actions execution record: id, the record, when it may be swept.
type Execution = (String, serde_json::Value, time::OffsetDateTime);

enum Command {
    Event(Box<LogEvent>),
    Execution(Box<Execution>),
    Flush(oneshot::Sender<()>),
}

/// Where handlers send log events.
#[derive(Clone)]
pub struct LogSink {
    tx: mpsc::Sender<Command>,
    dropped: Arc<AtomicU64>,
    /// Where each event is counted as it is queued.
    metrics: crate::metrics::Metrics,
}

impl LogSink {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Arc<dyn LogStore>, metrics: crate::metrics::Metrics) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_loop(store, rx));
        LogSink {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            metrics,
        }
    }

    /// Queues an event; never waits.
    pub fn record(&self, event: LogEvent) {
        self.metrics.log_event(event.kind);
        self.send(Command::Event(Box::new(event)));
    }

    /// Events dropped so far because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Queues an Actions execution record, written with the events; never waits.
    pub fn record_execution(
        &self,
        id: String,
        record: serde_json::Value,
        expires_at: time::OffsetDateTime,
    ) {
        self.send(Command::Execution(Box::new((id, record, expires_at))));
    }

    fn send(&self, command: Command) {
        if self.tx.try_send(command).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "log queue full: events dropped");
            }
        }
    }

    /// Waits until everything queued before this call is written.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Command::Flush(done)).await.is_ok() {
            wait.await.ok();
        }
    }
}

/// What one write takes.
#[derive(Default)]
struct Batch {
    events: Vec<LogEvent>,
    executions: Vec<Execution>,
}

impl Batch {
    fn len(&self) -> usize {
        self.events.len() + self.executions.len()
    }
}

async fn write_loop(store: Arc<dyn LogStore>, mut rx: mpsc::Receiver<Command>) {
    let mut batch = Batch::default();
    let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let take = |cmd: Command, batch: &mut Batch, waiters: &mut Vec<_>| match cmd {
            Command::Event(e) => batch.events.push(*e),
            Command::Execution(x) => batch.executions.push(*x),
            Command::Flush(w) => waiters.push(w),
        };
        take(first, &mut batch, &mut waiters);
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < BATCH && waiters.is_empty() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(cmd)) => take(cmd, &mut batch, &mut waiters),
                Ok(None) | Err(_) => break,
            }
        }
        while let Ok(cmd) = rx.try_recv() {
            take(cmd, &mut batch, &mut waiters);
            if batch.len() >= BATCH {
                break;
            }
        }
        if let Err(e) = store.append_logs(&batch.events).await {
            tracing::error!(error = %e, events = batch.events.len(), "could not write log events");
        }
        if let Err(e) = store.append_executions(&batch.executions).await {
            tracing::error!(error = %e, executions = batch.executions.len(), "could not write Actions executions");
        }
        batch.events.clear();
        batch.executions.clear();
        for w in waiters.drain(..) {
            w.send(()).ok();
        }
    }
}

/// A log event of `kind` happening now by `clock`, with a fresh time-ordered id (a UUIDv7:
/// sorting by id sorts by time).
pub fn event(clock: &crate::clock::Clock, kind: LogType) -> LogEvent {
    LogEvent::new(kind, uuid::Uuid::now_v7().simple().to_string(), clock.now())
}
