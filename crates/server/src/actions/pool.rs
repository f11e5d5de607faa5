//! The threads that run Actions: a few OS threads of their own, each keeping one
//! [`Engine`] (so a runtime is reused, each execution still in a fresh context), fed from one
//! bounded queue. Hostile code can hold at most these threads for its deadline each, never
//! the server's; started on the first execution, so a tenant without Actions has none.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot};

use super::engine::{ActionError, Engine};

/// Threads running Actions at once (each holds up to its memory limit, 16 MiB by default).
const WORKERS: usize = 4;
/// Executions waiting for a thread before callers wait to enqueue.
const QUEUED: usize = 256;

type Job = Box<dyn FnOnce(&mut Engine) + Send>;

static QUEUE: LazyLock<mpsc::Sender<Job>> = LazyLock::new(|| {
    let (tx, rx) = mpsc::channel::<Job>(QUEUED);
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..WORKERS {
        let rx = rx.clone();
        if let Err(e) = std::thread::Builder::new()
            .name(format!("action-{i}"))
            .spawn(move || work(&rx))
        {
            tracing::error!(error = %e, "could not start a thread for Actions");
        }
    }
    tx
});

/// One thread: takes jobs until the queue closes; a job that panics costs its engine only.
fn work(rx: &Mutex<mpsc::Receiver<Job>>) {
    let mut engine = Engine::default();
    loop {
        let job = rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .blocking_recv();
        let Some(job) = job else { return };
        if catch_unwind(AssertUnwindSafe(|| job(&mut engine))).is_err() {
            engine = Engine::default();
        }
    }
}

/// Runs `f` with one of the threads' engines, waiting for a free thread.
pub async fn with_engine<T: Send + 'static>(
    f: impl FnOnce(&mut Engine) -> Result<T, ActionError> + Send + 'static,
) -> Result<T, ActionError> {
    let (reply, answer) = oneshot::channel();
    let job: Job = Box::new(move |engine| {
        let _ = reply.send(f(engine));
    });
    let stopped = || ActionError::Engine("the Actions threads are not running".to_owned());
    QUEUE.send(job).await.map_err(|_| stopped())?;
    answer.await.unwrap_or_else(|_| Err(stopped()))
}
