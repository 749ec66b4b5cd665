//! The SQLite backend: bundled rusqlite connections in a deadpool pool.
//!
//! SQLite calls are synchronous. They run on the engine's runtime threads (never on the
//! asyncio loop), inside `block_in_place` so the runtime moves its other work elsewhere.

mod connection;
mod error;
pub mod types;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{Object, Pool, Timeouts};
use deadpool::Runtime;
use tokio::sync::{mpsc, oneshot};

use crate::backend::{
    check_savepoint_name, copy_unsupported, execute_many_in_transaction, Backend, Capabilities, Cursor, IsolationLevel,
    PoolStatus, Transaction,
};
use crate::config::SqliteConfig;
use crate::error::{EngineError, Result};
use crate::pool_errors::map_pool_error;
use crate::value::{Rows, Value};
use connection::{bind_all, describe, read_rows, SqliteConn, SqliteManager};

type SqliteObject = Object<SqliteManager>;

/// Run a synchronous SQLite call without stalling the runtime's other tasks.
pub(crate) fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

pub fn capabilities() -> Capabilities {
    Capabilities {
        backend: "sqlite",
        max_bind_params: 32766,
        returning: true,
        savepoints: true,
        isolation_levels: vec![IsolationLevel::Serializable],
        timestamp_precision_us: 1,
        date_range: (1, 9999),
        float_nan: false,
        float_infinity: true,
        float_signed_zero: false,
        text_allows_nul: true,
        empty_string_is_null: false,
        json: true,
        arrays: false,
        interval: true,
        numeric_max_digits: types::MAX_DECIMAL_DIGITS as u32,
        numeric_special: false,
        big_integers: false,
        for_update: false,
        skip_locked: false,
        statement_timeout: false,
        streaming: true,
        copy_in: false,
        last_insert_id: false,
        insert_id_step: 0,
        placeholder: "question",
    }
}

pub struct SqliteBackend {
    pool: Pool<SqliteManager>,
    caps: Capabilities,
    acquire_timeout: Option<Duration>,
}

impl SqliteBackend {
    pub async fn connect(cfg: SqliteConfig) -> Result<Self> {
        let acquire_timeout = cfg.pool.acquire_timeout;
        let max_size = cfg.pool.max_size;
        let min_size = cfg.pool.min_size.max(1);
        let pool = Pool::builder(SqliteManager::new(cfg))
            .max_size(max_size)
            .timeouts(Timeouts {
                wait: acquire_timeout,
                create: None,
                recycle: None,
            })
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| EngineError::config(format!("cannot build the pool: {e}")))?;
        let backend = SqliteBackend {
            pool,
            caps: capabilities(),
            acquire_timeout,
        };
        let mut held = Vec::with_capacity(min_size);
        for _ in 0..min_size {
            held.push(backend.acquire().await?);
        }
        Ok(backend)
    }

    async fn acquire(&self) -> Result<SqliteObject> {
        self.pool
            .get()
            .await
            .map_err(|e| map_pool_error(e, self.acquire_timeout))
    }
}

impl Backend for SqliteBackend {
    type Tx = SqliteTransaction;
    type Cursor = SqliteCursor;

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64> {
        let mut conn = self.acquire().await?;
        blocking(|| conn.execute(sql, &params))
    }

    async fn fetch(&self, sql: &str, params: Vec<Value>) -> Result<Rows> {
        let mut conn = self.acquire().await?;
        blocking(|| conn.fetch(sql, &params, usize::MAX))
    }

    async fn fetch_one(&self, sql: &str, params: Vec<Value>) -> Result<Option<Vec<Value>>> {
        let mut conn = self.acquire().await?;
        let rows = blocking(|| conn.fetch(sql, &params, 1))?;
        Ok(rows.first().map(|r| r.to_vec()))
    }

    async fn execute_many(&self, sql: &str, params: Vec<Vec<Value>>) -> Result<u64> {
        // All or nothing, and one fsync instead of one per row.
        execute_many_in_transaction(self, sql, params).await
    }

    async fn copy_in(&self, _copy_sql: &str, _types_from: &str, _columns: Vec<Vec<Value>>) -> Result<u64> {
        // No bulk-load statement in SQLite (capability `copy_in` is false): the row-by-row
        // prepared INSERT in one transaction is its fast path.
        Err(copy_unsupported())
    }

    async fn begin(&self, _isolation: Option<IsolationLevel>) -> Result<SqliteTransaction> {
        // SQLite transactions are always serializable, which satisfies every requested level.
        // IMMEDIATE takes the write lock up front, so two writers wait (busy_timeout) instead of
        // deadlocking on a lock upgrade.
        let mut conn = self.acquire().await?;
        blocking(|| conn.batch("BEGIN IMMEDIATE"))?;
        Ok(SqliteTransaction { conn: Some(conn) })
    }

    async fn cursor(&self, sql: &str, params: Vec<Value>, chunk_size: usize) -> Result<SqliteCursor> {
        let conn = self.acquire().await?;
        SqliteCursor::open(conn, sql.to_string(), params, chunk_size.max(1)).await
    }

    async fn server_version(&self) -> Result<String> {
        Ok(rusqlite::version().to_string())
    }

    fn close(&self) {
        self.pool.close();
    }

    fn is_closed(&self) -> bool {
        self.pool.is_closed()
    }

    fn status(&self) -> PoolStatus {
        let s = self.pool.status();
        PoolStatus {
            size: s.size,
            available: s.available,
            max_size: s.max_size,
            waiting: s.waiting,
        }
    }
}

/// An open transaction holding one pooled connection. Dropped while open, the pool's recycle
/// step rolls it back before the connection is used again.
pub struct SqliteTransaction {
    conn: Option<SqliteObject>,
}

impl SqliteTransaction {
    fn conn(&mut self) -> Result<&mut SqliteConn> {
        self.conn
            .as_deref_mut()
            .ok_or_else(|| EngineError::transaction("the transaction has already been committed or rolled back"))
    }
}

impl Transaction for SqliteTransaction {
    async fn copy_in(&mut self, _copy_sql: &str, _types_from: &str, _columns: Vec<Vec<Value>>) -> Result<u64> {
        Err(copy_unsupported())
    }

    async fn execute(&mut self, sql: &str, params: Vec<Value>) -> Result<u64> {
        let conn = self.conn()?;
        blocking(|| conn.execute(sql, &params))
    }

    async fn fetch(&mut self, sql: &str, params: Vec<Value>) -> Result<Rows> {
        let conn = self.conn()?;
        blocking(|| conn.fetch(sql, &params, usize::MAX))
    }

    async fn fetch_one(&mut self, sql: &str, params: Vec<Value>) -> Result<Option<Vec<Value>>> {
        let conn = self.conn()?;
        let rows = blocking(|| conn.fetch(sql, &params, 1))?;
        Ok(rows.first().map(|r| r.to_vec()))
    }

    async fn execute_many(&mut self, sql: &str, params: Vec<Vec<Value>>) -> Result<u64> {
        let conn = self.conn()?;
        blocking(|| conn.execute_many(sql, &params))
    }

    async fn savepoint(&mut self, name: &str) -> Result<()> {
        check_savepoint_name(name)?;
        let conn = self.conn()?;
        blocking(|| conn.batch(&format!("SAVEPOINT {name}")))
    }

    async fn rollback_to(&mut self, name: &str) -> Result<()> {
        check_savepoint_name(name)?;
        let conn = self.conn()?;
        blocking(|| conn.batch(&format!("ROLLBACK TO SAVEPOINT {name}")))
    }

    async fn release(&mut self, name: &str) -> Result<()> {
        check_savepoint_name(name)?;
        let conn = self.conn()?;
        blocking(|| conn.batch(&format!("RELEASE SAVEPOINT {name}")))
    }

    async fn commit(mut self) -> Result<()> {
        let conn = self.conn()?;
        let result = blocking(|| conn.batch("COMMIT"));
        if result.is_err() && conn.in_transaction() {
            // A failed COMMIT (e.g. a deferred foreign key) leaves the transaction open.
            let _ = blocking(|| conn.batch("ROLLBACK"));
        }
        self.conn = None;
        result
    }

    async fn rollback(mut self) -> Result<()> {
        let conn = self.conn()?;
        let result = if conn.in_transaction() {
            blocking(|| conn.batch("ROLLBACK"))
        } else {
            Ok(())
        };
        self.conn = None;
        result
    }
}

impl Drop for SqliteTransaction {
    /// Dropped while still open: roll back now, so the write lock (SQLite has one per database)
    /// is released at once rather than when the connection is next taken from the pool.
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            if conn.in_transaction() {
                // Local and quick: the lock is ours, so there is nothing to wait for.
                let _ = conn.batch("ROLLBACK");
            }
        }
    }
}

type ChunkReply = oneshot::Sender<Result<Rows>>;

/// Steps one statement on a blocking thread that owns the connection until the stream ends.
pub struct SqliteCursor {
    columns: Vec<String>,
    requests: mpsc::Sender<ChunkReply>,
    chunk: usize,
    /// A short chunk was returned: the stream is over and its worker has let go of the connection.
    exhausted: bool,
    /// Interrupts the chunk the worker is reading (the connection's progress handler looks at it).
    interrupt: Arc<AtomicBool>,
    /// A fetch was cancelled half-way: the stream has a hole, so it refuses to go on.
    broken: bool,
}

/// Armed while a chunk is read: a caller that gives up (its future dropped) interrupts the
/// statement, so the worker stops at once and lets go of the connection, instead of reading on
/// for nobody while holding it.
struct ChunkInFlight<'a>(Option<&'a AtomicBool>);

impl Drop for ChunkInFlight<'_> {
    fn drop(&mut self) {
        if let Some(flag) = self.0 {
            flag.store(true, Ordering::Release);
        }
    }
}

impl SqliteCursor {
    async fn open(mut conn: SqliteObject, sql: String, params: Vec<Value>, chunk: usize) -> Result<Self> {
        let (ready_tx, ready_rx) = oneshot::channel::<Result<Vec<String>>>();
        let (req_tx, mut req_rx) = mpsc::channel::<ChunkReply>(1);
        let interrupt = conn.interrupt_flag();
        tokio::task::spawn_blocking(move || {
            let sqlite: &mut SqliteConn = &mut conn;
            let mut stmt = match sqlite.conn.prepare(&sql) {
                Ok(s) => s,
                Err(e) => {
                    let _ = ready_tx.send(Err(error::map_sqlite_error(e)));
                    return;
                }
            };
            if let Err(e) = bind_all(&mut stmt, &params) {
                let _ = ready_tx.send(Err(e));
                return;
            }
            // A freshly prepared (uncached) statement describes its current schema.
            let (mut columns, described) = describe(&stmt);
            if ready_tx.send(Ok(columns.clone())).is_err() {
                return;
            }
            let mut rows = stmt.raw_query();
            let mut kinds = Some(described);
            while let Some(reply) = req_rx.blocking_recv() {
                let mut out = Rows::new(columns.clone());
                let result = read_rows(&mut rows, &mut kinds, &mut out, chunk).map(|_| {
                    columns.clone_from(&out.columns);
                    out
                });
                // An error (an interrupt among them) ends the stream too.
                let finished = result.as_ref().map(|r| r.len() < chunk).unwrap_or(true);
                let _ = reply.send(result);
                if finished {
                    break;
                }
            }
        });
        let columns = ready_rx
            .await
            .map_err(|_| EngineError::connection("the cursor's thread ended unexpectedly"))??;
        Ok(SqliteCursor {
            columns,
            requests: req_tx,
            chunk,
            exhausted: false,
            interrupt,
            broken: false,
        })
    }
}

impl Cursor for SqliteCursor {
    fn columns(&self) -> &[String] {
        &self.columns
    }

    async fn next_chunk(&mut self) -> Result<Rows> {
        if self.exhausted {
            return Ok(Rows::new(self.columns.clone()));
        }
        let (reply_tx, reply_rx) = oneshot::channel();
        let unexpected = || EngineError::connection("the cursor's thread ended unexpectedly");
        if self.broken {
            return Err(EngineError::new(
                crate::error::ErrorKind::Operational,
                "a cancelled fetch ended this cursor's stream (its rows were lost); open a new cursor",
            ));
        }
        self.requests.send(reply_tx).await.map_err(|_| unexpected())?;
        // Stays set if this future is dropped before the chunk arrives.
        self.broken = true;
        let mut guard = ChunkInFlight(Some(&self.interrupt));
        let rows = reply_rx.await;
        guard.0 = None;
        self.broken = false;
        let rows = rows.map_err(|_| unexpected())??;
        // The worker stops after a short chunk; remember it rather than asking again.
        self.exhausted = rows.len() < self.chunk;
        Ok(rows)
    }
}
