//! Cancelling statements that run inside one synchronous call.
//!
//! A dropped future stops at its next await, but a SQLite statement runs inside one blocking
//! call: aborting its task changes nothing until the call returns, so a cancelled caller's
//! statement would run on, holding its connection (and SQLite's write lock), and commit. So
//! every operation the Python bridge starts runs inside a [`CancelScope`]; a backend whose
//! statements block registers, for the length of each call, how to stop it
//! ([`interruptible`]), and the bridge calls [`CancelScope::cancel`] when the caller cancels,
//! before it aborts the task.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

type Stop = Box<dyn Fn() + Send>;

/// The cancellation state of one operation.
#[derive(Default)]
pub struct CancelScope {
    cancelled: AtomicBool,
    /// How to stop the call in progress, while one is. Registration, removal and `cancel` take
    /// the lock, so a stop never reaches a call that has already returned.
    stop: Mutex<Option<Stop>>,
}

tokio::task_local! {
    static CURRENT: Arc<CancelScope>;
}

impl CancelScope {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The caller gave up: stop the call in progress, and refuse to start another.
    pub fn cancel(&self) {
        let stop = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        self.cancelled.store(true, Ordering::Release);
        if let Some(stop) = stop.as_ref() {
            stop();
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

/// Run `fut` with `scope` as its cancellation scope.
pub async fn scope<F: Future>(scope: Arc<CancelScope>, fut: F) -> F::Output {
    CURRENT.scope(scope, fut).await
}

/// Make the blocking `call` with `stop` registered as the way to interrupt it. Returns None,
/// without making the call, when the operation was already cancelled. Outside a scope (Rust
/// callers, tests) the call is simply made.
pub fn interruptible<R>(stop: impl Fn() + Send + 'static, call: impl FnOnce() -> R) -> Option<R> {
    let Ok(scope) = CURRENT.try_with(Arc::clone) else {
        return Some(call());
    };
    {
        let mut slot = scope.stop.lock().unwrap_or_else(|p| p.into_inner());
        if scope.is_cancelled() {
            return None;
        }
        *slot = Some(Box::new(stop));
    }
    let out = call();
    *scope.stop.lock().unwrap_or_else(|p| p.into_inner()) = None;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancel_reaches_the_call_in_progress_only() {
        let s = CancelScope::new();
        let stopped = Arc::new(AtomicBool::new(false));
        let flag = stopped.clone();
        let s2 = s.clone();
        let out = scope(s.clone(), async move {
            interruptible(
                move || flag.store(true, Ordering::SeqCst),
                || {
                    s2.cancel();
                    7
                },
            )
        })
        .await;
        assert_eq!(out, Some(7));
        assert!(stopped.load(Ordering::SeqCst));
        // Cancelled: the next call is not made.
        let made = scope(s, async { interruptible(|| (), || 1) }).await;
        assert_eq!(made, None);
    }

    #[test]
    fn outside_a_scope_the_call_is_made() {
        assert_eq!(interruptible(|| (), || 3), Some(3));
    }
}
