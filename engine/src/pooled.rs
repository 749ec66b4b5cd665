//! What the network backends (PostgreSQL, MySQL/MariaDB) share about a pooled connection:
//! the checks before it is reused, and how a transaction open on it ends (rolled back, or the
//! session closed when its protocol state is unknown).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use deadpool::managed::{Manager, Metrics, Object, RecycleError, RecycleResult};

use crate::error::{EngineError, Result};

/// A connection a network backend keeps in its deadpool pool.
pub trait PooledConn: Send + Sync + 'static {
    /// The socket is gone.
    fn is_closed(&self) -> bool;
    /// An operation was abandoned mid-flight: the connection's protocol state is unknown.
    fn is_poisoned(&self) -> bool;
    /// Set while a transaction is open on the connection.
    fn in_transaction(&self) -> &AtomicBool;
    /// Run SQL text without parameters, guarded like every statement (a cancel stops it on the
    /// server and poisons the connection).
    fn batch(&mut self, sql: &str) -> impl Future<Output = Result<()>> + Send;
    /// Run SQL text without parameters, unguarded: for recycle, whose time limit is deadpool's
    /// and whose failure discards the connection anyway.
    fn batch_unguarded(&mut self, sql: &str) -> impl Future<Output = Result<()>> + Send;
    /// After a statement was cancelled but the connection kept: wait until the cancel is over
    /// and the connection is known to be usable; an error leaves it poisoned.
    fn settle(&mut self) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}

/// The checks before a pooled connection is handed out again; a transaction left open on it (one
/// dropped without commit or rollback) is rolled back first.
pub async fn recycle<C: PooledConn>(
    conn: &mut C,
    metrics: &Metrics,
    max_lifetime: Option<Duration>,
) -> RecycleResult<EngineError> {
    if conn.is_closed() {
        return Err(RecycleError::message("connection closed"));
    }
    conn.settle().await.map_err(RecycleError::Backend)?;
    if conn.is_poisoned() {
        return Err(RecycleError::message("connection abandoned mid-statement"));
    }
    if let Some(max) = max_lifetime {
        if metrics.age() > max {
            return Err(RecycleError::message("connection reached max_lifetime"));
        }
    }
    if conn.in_transaction().load(Ordering::Acquire) {
        // A transaction was dropped without commit or rollback: end it before reuse.
        conn.batch_unguarded("ROLLBACK").await.map_err(RecycleError::Backend)?;
        conn.in_transaction().store(false, Ordering::Release);
    }
    Ok(())
}

/// `Transaction::rollback` for a transaction holding `conn` (None: it already ended).
pub async fn rollback<M>(conn: Option<Object<M>>) -> Result<()>
where
    M: Manager + 'static,
    M::Type: PooledConn,
{
    let Some(mut conn) = conn else {
        return Err(EngineError::transaction(
            "the transaction has already been committed or rolled back",
        ));
    };
    if conn.settle().await.is_err() || conn.is_poisoned() {
        // Dropping the connection ends the session; the server rolls back.
        let _ = Object::take(conn);
        return Ok(());
    }
    conn.batch("ROLLBACK").await?;
    conn.in_transaction().store(false, Ordering::Release);
    Ok(())
}

/// A transaction dropped while still open (its task was cancelled, or the caller forgot it):
/// end it now, so its locks do not outlive it while the connection sits idle in the pool.
pub fn end_dropped<M>(conn: Option<Object<M>>)
where
    M: Manager + 'static,
    M::Type: PooledConn,
{
    let Some(conn) = conn else { return };
    if !conn.in_transaction().load(Ordering::Acquire) {
        return;
    }
    if conn.is_poisoned() {
        // A statement was abandoned mid-flight: close the session; the server rolls back.
        let _ = Object::take(conn);
        return;
    }
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn(async move {
                let mut conn = conn;
                if conn.settle().await.is_err() {
                    let _ = Object::take(conn);
                    return;
                }
                if conn.batch("ROLLBACK").await.is_ok() {
                    conn.in_transaction().store(false, Ordering::Release);
                }
                // On failure the flag stays set for recycle (see each backend's Drop).
            });
        }
        // No runtime to roll back on: close the session instead.
        Err(_) => {
            let _ = Object::take(conn);
        }
    }
}
