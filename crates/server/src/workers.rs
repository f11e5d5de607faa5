//! A fixed set of OS threads of its own for blocking work (Actions' JavaScript, Argon2id),
//! each keeping a state of its own between jobs (an engine, a buffer), fed from one bounded
//! queue. Unlike Tokio's blocking pool, which grows to hundreds of threads, the number of
//! threads, and so the memory their allocations keep, stays what was asked; and the work can
//! hold only these threads, never the server's.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot};

type Job<S> = Box<dyn FnOnce(&mut S) + Send>;

/// The threads and their queue; dropping it lets the threads finish their last jobs and end.
pub struct Workers<S> {
    queue: mpsc::Sender<Job<S>>,
}

impl<S: 'static> Workers<S> {
    /// `count` threads named `name-<n>`, each with the state `make` gives it (made on the
    /// thread itself, so it need not be `Send`), and room for `queued` waiting jobs.
    pub fn start(
        name: &str,
        count: usize,
        queued: usize,
        make: impl Fn() -> S + Send + Sync + 'static,
    ) -> Self {
        let (tx, rx) = mpsc::channel::<Job<S>>(queued.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let make = Arc::new(make);
        for i in 0..count.max(1) {
            let (rx, make) = (rx.clone(), make.clone());
            if let Err(e) = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || work(&rx, &*make))
            {
                tracing::error!(error = %e, name, "could not start a worker thread");
            }
        }
        Workers { queue: tx }
    }

    /// Runs `f` with one thread's state, waiting for a free thread; `None` when the threads
    /// are gone (or `f` panicked, which costs that thread its state only).
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut S) -> T + Send + 'static,
    ) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job<S> = Box::new(move |state| {
            let _ = reply.send(f(state));
        });
        self.queue.send(job).await.ok()?;
        answer.await.ok()
    }
}

/// One thread: takes jobs until the queue closes.
fn work<S>(rx: &Mutex<mpsc::Receiver<Job<S>>>, make: &(dyn Fn() -> S + Send + Sync)) {
    let mut state = make();
    loop {
        let job = rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .blocking_recv();
        let Some(job) = job else { return };
        if catch_unwind(AssertUnwindSafe(|| job(&mut state))).is_err() {
            state = make();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_threads_with_their_state() {
        let workers = Workers::start("test", 2, 8, || 0u32);
        let mut seen = Vec::new();
        for _ in 0..6 {
            seen.push(
                workers
                    .run(|n| {
                        *n += 1;
                        (std::thread::current().name().map(str::to_owned), *n)
                    })
                    .await
                    .expect("ran"),
            );
        }
        assert!(
            seen.iter()
                .all(|(name, _)| name.as_deref().is_some_and(|n| n.starts_with("test-")))
        );
        // Six jobs on two threads: one thread's state counted at least three of them.
        assert!(seen.iter().map(|(_, n)| *n).max() >= Some(3), "{seen:?}");
        // A panicking job loses its thread's state, not the thread.
        assert_eq!(workers.run(|_| -> u32 { panic!("boom") }).await, None);
        assert!(workers.run(|n| *n).await.is_some());
    }
}
