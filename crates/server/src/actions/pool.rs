//! The threads that run Actions: four of their own (`crate::workers`), each keeping one
//! [`Engine`] (so a runtime is reused, each execution still in a fresh context). Hostile code
//! can hold at most these threads for its deadline each, never the server's; started on the
//! first execution, so a tenant without Actions has none.

use std::sync::LazyLock;

use super::engine::{ActionError, Engine};
use crate::workers::Workers;

/// Threads running Actions at once (each holds up to its memory limit, 16 MiB by default).
const WORKERS: usize = 4;
/// Executions waiting for a thread before callers wait to enqueue.
const QUEUED: usize = 256;

static POOL: LazyLock<Workers<Engine>> =
    LazyLock::new(|| Workers::start("action", WORKERS, QUEUED, Engine::default));

/// Runs `f` with one of the threads' engines, waiting for a free thread.
pub async fn with_engine<T: Send + 'static>(
    f: impl FnOnce(&mut Engine) -> Result<T, ActionError> + Send + 'static,
) -> Result<T, ActionError> {
    POOL.run(f).await.unwrap_or_else(|| {
        Err(ActionError::Engine(
            "the Actions threads are not running".to_owned(),
        ))
    })
}
