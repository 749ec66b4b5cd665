//! The PostgreSQL backend: tokio-postgres connections in a deadpool pool.

mod bind;
mod connection;
mod copy;
mod decode;
mod error;
pub mod numeric;
mod socket;
mod tls;

use std::sync::atomic::Ordering;
use std::time::Duration;

use deadpool::managed::{Object, Pool, Timeouts};
use deadpool::Runtime;
use tokio::sync::{mpsc, oneshot};

use crate::backend::{
    check_savepoint_name, execute_many_in_transaction, Backend, Capabilities, Cursor, IsolationLevel, PoolStatus,
    Transaction,
};
use crate::batches::RowSink;
use crate::config::PgConfig;
use crate::error::{EngineError, Result};
use crate::pool_errors::map_pool_error;
use crate::pooled;
use crate::value::{Rows, Value};
use connection::{is_stale_statement, PgManager};
use error::map_pg_error;

type PgObject = Object<PgManager>;

pub struct PgBackend {
    pool: Pool<PgManager>,
    caps: Capabilities,
    acquire_timeout: Option<Duration>,
}

pub fn capabilities() -> Capabilities {
    Capabilities {
        backend: "postgres",
        max_bind_params: 32767,
        returning: true,
        savepoints: true,
        isolation_levels: vec![
            IsolationLevel::ReadUncommitted,
            IsolationLevel::ReadCommitted,
            IsolationLevel::RepeatableRead,
            IsolationLevel::Serializable,
        ],
        timestamp_precision_us: 1,
        date_range: (1, 9999),
        float_nan: true,
        float_infinity: true,
        float_signed_zero: true,
        text_allows_nul: false,
        empty_string_is_null: false,
        json: true,
        arrays: true,
        interval: true,
        numeric_max_digits: 1000,
        numeric_special: true,
        big_integers: true,
        for_update: true,
        skip_locked: true,
        statement_timeout: true,
        streaming: true,
        copy_in: true,
        last_insert_id: false,
        insert_id_step: 0,
        placeholder: "dollar",
    }
}

impl PgBackend {
    /// Build the pool and open `min_size` connections (which also proves the settings work).
    pub async fn connect(cfg: PgConfig) -> Result<Self> {
        let tls = tls::connector(&cfg)?;
        let manager = PgManager::new(&cfg, tls);
        let pool = Pool::builder(manager)
            .max_size(cfg.pool.max_size)
            .timeouts(Timeouts {
                wait: cfg.pool.acquire_timeout,
                create: Some(cfg.connect_timeout),
                recycle: Some(cfg.connect_timeout),
            })
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| EngineError::config(format!("cannot build the pool: {e}")))?;
        let backend = PgBackend {
            pool,
            caps: capabilities(),
            acquire_timeout: cfg.pool.acquire_timeout,
        };
        // Open one connection even when min_size is 0, so a wrong URL fails at connect().
        let warm = cfg.pool.min_size.max(1);
        let mut held = Vec::with_capacity(warm);
        for _ in 0..warm {
            held.push(backend.acquire().await?);
        }
        drop(held);
        Ok(backend)
    }

    async fn acquire(&self) -> Result<PgObject> {
        self.pool
            .get()
            .await
            .map_err(|e| map_pool_error(e, self.acquire_timeout))
    }

    /// A connection with `sql` prepared on it, and how preparing went. Preparing runs nothing,
    /// so when it fails because the connection turned out dead (the server terminated it while
    /// it sat in the pool: 57P01, or the socket closed) the connection is dropped and the
    /// statement is prepared on a fresh one. Once the statement itself is sent there is no
    /// retry: it may have reached the server.
    async fn acquire_prepared(&self, sql: &str) -> Result<(PgObject, Result<()>)> {
        let mut attempts = 0;
        loop {
            let mut conn = self.acquire().await?;
            match conn.statement(sql).await {
                Ok(_) => return Ok((conn, Ok(()))),
                Err(e) if attempts < DEAD_RETRIES && is_dead_connection(&e) => {
                    attempts += 1;
                    conn.state.poisoned.store(true, Ordering::Release);
                }
                Err(e) => return Ok((conn, Err(e))),
            }
        }
    }
}

/// Fresh connections tried when the pooled ones turn out dead (the pool holds at most
/// `max_size`, but a server restart kills all of them; a few tries find a live one or fail).
const DEAD_RETRIES: usize = 3;

/// A failure that says the connection is gone, not that the statement is wrong.
fn is_dead_connection(err: &EngineError) -> bool {
    match err.sqlstate.as_deref() {
        // admin_shutdown, crash_shutdown, cannot_connect_now, idle_session_timeout
        Some("57P01") | Some("57P02") | Some("57P03") | Some("57P05") => true,
        Some(_) => false,
        None => err.kind == crate::error::ErrorKind::Connection,
    }
}

/// Run `$call` on `$conn`; once more when a cached statement went stale after a schema change
/// (outside a transaction that is always safe: the failed attempt changed nothing).
macro_rules! retry_stale {
    ($conn:ident, $sql:expr, $call:expr) => {
        match $call {
            Err(e) if is_stale_statement(&e) => {
                $conn.forget($sql);
                $call
            }
            other => other,
        }
    };
}

impl Backend for PgBackend {
    type Tx = PgTransaction;
    type Cursor = PgCursor;

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64> {
        let (mut conn, prepared) = self.acquire_prepared(sql).await?;
        let result = match prepared {
            Ok(()) => retry_stale!(conn, sql, conn.execute(sql, &params).await),
            Err(e) => Err(e),
        };
        match result {
            // Several statements in one string (a schema script) cannot be prepared; without
            // parameters they can run as a simple-protocol batch.
            Err(e)
                if params.is_empty()
                    && e.sqlstate.as_deref() == Some("42601")
                    && e.message.contains("multiple commands") =>
            {
                conn.batch(sql).await.map(|_| 0)
            }
            other => other,
        }
    }

    async fn fetch(&self, sql: &str, params: Vec<Value>) -> Result<Rows> {
        let (mut conn, prepared) = self.acquire_prepared(sql).await?;
        prepared?;
        retry_stale!(conn, sql, conn.fetch(sql, &params).await)
    }

    async fn fetch_batched(&self, sql: &str, params: Vec<Value>, sink: &mut RowSink<'_>) -> Result<()> {
        let (mut conn, prepared) = self.acquire_prepared(sql).await?;
        prepared?;
        // A stale statement fails at Bind, before any row reached `sink`: retrying is safe.
        retry_stale!(conn, sql, conn.fetch_batched(sql, &params, sink).await)
    }

    async fn fetch_one(&self, sql: &str, params: Vec<Value>) -> Result<Option<Vec<Value>>> {
        let (mut conn, prepared) = self.acquire_prepared(sql).await?;
        prepared?;
        retry_stale!(conn, sql, conn.fetch_one(sql, &params).await)
    }

    async fn copy_in(&self, copy_sql: &str, types_from: &str, columns: Vec<Vec<Value>>) -> Result<u64> {
        let mut conn = self.acquire().await?;
        conn.copy_in(copy_sql, types_from, &columns).await
    }

    async fn execute_many(&self, sql: &str, params: Vec<Vec<Value>>) -> Result<u64> {
        // All or nothing.
        execute_many_in_transaction(self, sql, params).await
    }

    async fn begin(&self, isolation: Option<IsolationLevel>) -> Result<PgTransaction> {
        let sql = match isolation {
            Some(level) => format!("BEGIN ISOLATION LEVEL {}", level.sql()),
            None => "BEGIN".to_string(),
        };
        // BEGIN changes nothing either: on a connection found dead, begin on a fresh one.
        let mut attempts = 0;
        let conn = loop {
            let mut conn = self.acquire().await?;
            match conn.begin(&sql).await {
                Ok(()) => break conn,
                Err(e) if attempts < DEAD_RETRIES && is_dead_connection(&e) => {
                    attempts += 1;
                    conn.state.poisoned.store(true, Ordering::Release);
                }
                Err(e) => return Err(e),
            }
        };
        conn.state.in_transaction.store(true, Ordering::Release);
        Ok(PgTransaction {
            conn: Some(conn),
            aborted: false,
            interrupted: false,
        })
    }

    async fn cursor(&self, sql: &str, params: Vec<Value>, chunk_size: usize) -> Result<PgCursor> {
        let conn = self.acquire().await?;
        PgCursor::open(conn, sql.to_string(), params, chunk_size.max(1)).await
    }

    async fn server_version(&self) -> Result<String> {
        let rows = self.fetch("SELECT current_setting('server_version')", vec![]).await?;
        match rows.first().and_then(|r| r.first()) {
            Some(Value::Text(v)) => Ok(v.clone()),
            _ => Err(EngineError::new(
                crate::error::ErrorKind::Operational,
                "server_version not reported",
            )),
        }
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

/// An open transaction holding one pooled connection.
pub struct PgTransaction {
    conn: Option<PgObject>,
    /// A statement failed: PostgreSQL refuses everything but ROLLBACK (TO SAVEPOINT).
    aborted: bool,
    /// A statement was cancelled mid-flight: whether it ran is unknown, so only a rollback (to
    /// a savepoint, which was set before it) may follow.
    interrupted: bool,
}

impl PgTransaction {
    fn conn(&mut self) -> Result<&mut PgObject> {
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| EngineError::transaction("the transaction has already been committed or rolled back"))?;
        if conn.is_poisoned() || conn.cancel_pending() {
            self.interrupted = true;
        }
        if self.interrupted {
            return Err(interrupted());
        }
        Ok(conn)
    }

    fn track<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            if e.sqlstate.is_some() {
                self.aborted = true;
            }
        }
        result
    }

    /// Give the connection back; a poisoned one is dropped from the pool by recycle.
    fn finish(&mut self) -> Option<PgObject> {
        let conn = self.conn.take()?;
        Some(conn)
    }
}

fn interrupted() -> EngineError {
    EngineError::transaction("the transaction was interrupted by a cancelled statement and can only be rolled back")
}

impl Transaction for PgTransaction {
    async fn execute(&mut self, sql: &str, params: Vec<Value>) -> Result<u64> {
        let r = self.conn()?.execute(sql, &params).await;
        self.track(r)
    }

    async fn fetch(&mut self, sql: &str, params: Vec<Value>) -> Result<Rows> {
        let r = self.conn()?.fetch(sql, &params).await;
        self.track(r)
    }

    async fn fetch_batched(&mut self, sql: &str, params: Vec<Value>, sink: &mut RowSink<'_>) -> Result<()> {
        let r = self.conn()?.fetch_batched(sql, &params, sink).await;
        self.track(r)
    }

    async fn fetch_one(&mut self, sql: &str, params: Vec<Value>) -> Result<Option<Vec<Value>>> {
        let r = self.conn()?.fetch_one(sql, &params).await;
        self.track(r)
    }

    async fn copy_in(&mut self, copy_sql: &str, types_from: &str, columns: Vec<Vec<Value>>) -> Result<u64> {
        let r = self.conn()?.copy_in(copy_sql, types_from, &columns).await;
        self.track(r)
    }

    async fn execute_many(&mut self, sql: &str, params: Vec<Vec<Value>>) -> Result<u64> {
        let r = self.conn()?.execute_many(sql, &params).await;
        self.track(r)
    }

    async fn savepoint(&mut self, name: &str) -> Result<()> {
        check_savepoint_name(name)?;
        let r = self.conn()?.batch(&format!("SAVEPOINT {name}")).await;
        self.track(r)
    }

    async fn rollback_to(&mut self, name: &str) -> Result<()> {
        check_savepoint_name(name)?;
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| EngineError::transaction("the transaction has already been committed or rolled back"))?;
        // After a cancelled statement: once the cancel is over, rolling back to a savepoint set
        // before it undoes it whether it ran or not; the transaction then goes on.
        if conn.settle().await.is_err() || conn.is_poisoned() {
            self.interrupted = true;
            return Err(interrupted());
        }
        conn.batch(&format!("ROLLBACK TO SAVEPOINT {name}")).await?;
        self.aborted = false;
        self.interrupted = false;
        Ok(())
    }

    async fn release(&mut self, name: &str) -> Result<()> {
        check_savepoint_name(name)?;
        let r = self.conn()?.batch(&format!("RELEASE SAVEPOINT {name}")).await;
        self.track(r)
    }

    async fn commit(mut self) -> Result<()> {
        if self.aborted {
            self.rollback().await?;
            return Err(EngineError::transaction(
                "the transaction was aborted by an earlier error; it has been rolled back, not committed",
            ));
        }
        self.conn()?.batch("COMMIT").await?;
        if let Some(conn) = self.finish() {
            conn.state.in_transaction.store(false, Ordering::Release);
        }
        Ok(())
    }

    async fn rollback(mut self) -> Result<()> {
        pooled::rollback(self.finish()).await
    }
}

impl Drop for PgTransaction {
    /// Dropped while still open: roll back now, so its locks do not outlive it while the
    /// connection sits idle (should that ROLLBACK fail, the flag stays set and recycle
    /// discards the connection).
    fn drop(&mut self) {
        pooled::end_dropped(self.conn.take());
    }
}

type ChunkReply = oneshot::Sender<Result<Rows>>;

/// A portal inside a transaction of its own, driven by a task that owns the connection.
pub struct PgCursor {
    columns: Vec<String>,
    requests: mpsc::Sender<ChunkReply>,
    chunk: usize,
    /// A short chunk was returned: the stream is over and its worker has let go of the connection.
    exhausted: bool,
}

impl PgCursor {
    async fn open(mut conn: PgObject, sql: String, params: Vec<Value>, chunk: usize) -> Result<Self> {
        let (ready_tx, ready_rx) = oneshot::channel::<Result<Vec<String>>>();
        let (req_tx, mut req_rx) = mpsc::channel::<ChunkReply>(1);
        tokio::spawn(async move {
            let stmt = match conn.statement(&sql).await {
                Ok(s) => s,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let columns: Vec<String> = stmt.columns().iter().map(|c| c.name().to_string()).collect();
            // The client is shared only while a cancelled statement settles, and the pool
            // settles a connection before handing it out.
            let Some(client) = std::sync::Arc::get_mut(&mut conn.client) else {
                let _ = ready_tx.send(Err(EngineError::connection(
                    "the connection is still settling a cancel",
                )));
                return;
            };
            let tx = match client.transaction().await {
                Ok(tx) => tx,
                Err(e) => {
                    let _ = ready_tx.send(Err(map_pg_error(e)));
                    return;
                }
            };
            let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
                .iter()
                .map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync))
                .collect();
            let portal = match tx.bind(&stmt, &refs).await {
                Ok(p) => p,
                Err(e) => {
                    let _ = ready_tx.send(Err(map_pg_error(e)));
                    return;
                }
            };
            if ready_tx.send(Ok(columns.clone())).is_err() {
                return;
            }
            let next_chunk = || async {
                match tx.query_portal(&portal, chunk as i32).await {
                    Ok(rows) => {
                        let mut out = Rows::new(columns.clone());
                        for row in &rows {
                            decode::decode_row(row, &mut out.values)?;
                        }
                        Ok(out)
                    }
                    Err(e) => Err(map_pg_error(e)),
                }
            };
            // One chunk is always read ahead: while the caller turns chunk k into objects, this
            // task is already reading chunk k + 1 (memory stays bounded by two chunks).
            let mut ahead = next_chunk().await;
            while let Some(reply) = req_rx.recv().await {
                // A short chunk (or an error) ends the stream: release the connection now.
                let finished = ahead.as_ref().map(|r| r.len() < chunk).unwrap_or(true);
                let _ = reply.send(ahead);
                if finished {
                    break;
                }
                ahead = next_chunk().await;
            }
            // Dropping the transaction rolls it back; the connection returns to the pool.
            drop(tx);
        });
        let columns = ready_rx
            .await
            .map_err(|_| EngineError::connection("the cursor's connection task ended unexpectedly"))??;
        Ok(PgCursor {
            columns,
            requests: req_tx,
            chunk,
            exhausted: false,
        })
    }
}

impl Cursor for PgCursor {
    fn columns(&self) -> &[String] {
        &self.columns
    }

    async fn next_chunk(&mut self) -> Result<Rows> {
        if self.exhausted {
            return Ok(Rows::new(self.columns.clone()));
        }
        let (reply_tx, reply_rx) = oneshot::channel();
        let unexpected = || EngineError::connection("the cursor's connection task ended unexpectedly");
        self.requests.send(reply_tx).await.map_err(|_| unexpected())?;
        let rows = reply_rx.await.map_err(|_| unexpected())??;
        // The worker stops after a short chunk; remember it rather than asking again.
        self.exhausted = rows.len() < self.chunk;
        Ok(rows)
    }
}
