//! The MySQL/MariaDB backend: mysql_async connections (binary protocol, the driver's
//! per-connection prepared-statement cache) in a deadpool pool.

mod connection;
mod error;
pub mod types;

use std::sync::atomic::Ordering;
use std::time::Duration;

use deadpool::managed::{Object, Pool, Timeouts};
use deadpool::Runtime;
use tokio::sync::{mpsc, oneshot};

use crate::backend::{
    check_savepoint_name, copy_unsupported, execute_many_in_transaction, Backend, Capabilities, Cursor, IsolationLevel,
    PoolStatus, Transaction,
};
use crate::batches::RowSink;
use crate::config::MySqlConfig;
use crate::error::{EngineError, ErrorKind, Result};
use crate::pool_errors::map_pool_error;
use crate::pooled;
use crate::value::{Rows, Value};
use connection::{stream_open, InFlight, MyManager};
use types::RowPlan;

type MyObject = Object<MyManager>;

/// What MySQL/MariaDB supports. `returning` is MariaDB's `INSERT ... RETURNING` (10.5+); on
/// MySQL it is false and generated keys come from LAST_INSERT_ID, consecutive within one
/// multi-row INSERT by `insert_id_step` (0 when the server does not promise that).
pub fn capabilities(returning: bool, insert_id_step: u64) -> Capabilities {
    Capabilities {
        backend: "mysql",
        // The binary protocol counts placeholders in 16 bits.
        max_bind_params: 65535,
        returning,
        savepoints: true,
        isolation_levels: vec![
            IsolationLevel::ReadUncommitted,
            IsolationLevel::ReadCommitted,
            IsolationLevel::RepeatableRead,
            IsolationLevel::Serializable,
        ],
        timestamp_precision_us: 1,
        date_range: (1000, 9999),
        float_nan: false,
        float_infinity: false,
        float_signed_zero: false,
        text_allows_nul: true,
        empty_string_is_null: false,
        json: true,
        arrays: false,
        interval: true,
        numeric_max_digits: 65,
        numeric_special: false,
        big_integers: false,
        for_update: true,
        skip_locked: true,
        statement_timeout: true,
        streaming: true,
        copy_in: false,
        last_insert_id: true,
        insert_id_step,
        // Plain positional `?` (MySQL has no numbered placeholders).
        placeholder: "qmark",
    }
}

pub struct MySqlBackend {
    pool: Pool<MyManager>,
    caps: Capabilities,
    acquire_timeout: Option<Duration>,
}

impl MySqlBackend {
    /// Build the pool and open `min_size` connections (which also proves the settings work).
    pub async fn connect(cfg: MySqlConfig) -> Result<Self> {
        let pool = Pool::builder(MyManager::new(&cfg))
            .max_size(cfg.pool.max_size)
            .timeouts(Timeouts {
                wait: cfg.pool.acquire_timeout,
                create: Some(cfg.connect_timeout),
                recycle: Some(cfg.connect_timeout),
            })
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| EngineError::config(format!("cannot build the pool: {e}")))?;
        let mut backend = MySqlBackend {
            pool,
            caps: capabilities(false, 0),
            acquire_timeout: cfg.pool.acquire_timeout,
        };
        // Open one connection even when min_size is 0, so a wrong URL fails at connect().
        let warm = cfg.pool.min_size.max(1);
        let mut held = Vec::with_capacity(warm);
        for _ in 0..warm {
            held.push(backend.acquire().await?);
        }
        drop(held);
        let version = backend.server_version().await?;
        let returning = cfg.returning && has_returning(&version);
        backend.caps = capabilities(returning, backend.insert_id_step().await?);
        Ok(backend)
    }

    /// `auto_increment_increment` when the server hands one multi-row INSERT consecutive keys
    /// (`innodb_autoinc_lock_mode` 0 or 1, MariaDB's default), else 0 (mode 2, MySQL 8's
    /// default, may interleave the keys of concurrent statements).
    async fn insert_id_step(&self) -> Result<u64> {
        let rows = self
            .fetch("SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment", vec![])
            .await?;
        let int = |i: usize| match rows.first().and_then(|r| r.get(i)) {
            Some(Value::Int(v)) => Some(*v),
            _ => None,
        };
        Ok(match (int(0), int(1)) {
            (Some(mode), Some(step)) if mode <= 1 && step > 0 => step as u64,
            _ => 0,
        })
    }

    async fn acquire(&self) -> Result<MyObject> {
        self.pool
            .get()
            .await
            .map_err(|e| map_pool_error(e, self.acquire_timeout))
    }
}

/// MariaDB has `INSERT ... RETURNING` from 10.5; MySQL has none.
fn has_returning(version: &str) -> bool {
    if !version.to_ascii_lowercase().contains("mariadb") {
        return false;
    }
    let mut parts = version.split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (10, 5)
}

impl Backend for MySqlBackend {
    type Tx = MySqlTransaction;
    type Cursor = MySqlCursor;

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64> {
        self.acquire().await?.execute(sql, &params).await
    }

    async fn execute_insert(&self, sql: &str, params: Vec<Value>) -> Result<(u64, Option<u64>)> {
        self.acquire().await?.execute_insert(sql, &params).await
    }

    async fn fetch(&self, sql: &str, params: Vec<Value>) -> Result<Rows> {
        self.acquire().await?.fetch(sql, &params, usize::MAX).await
    }

    async fn fetch_batched(&self, sql: &str, params: Vec<Value>, sink: &mut RowSink<'_>) -> Result<()> {
        self.acquire().await?.fetch_batched(sql, &params, sink).await
    }

    async fn fetch_one(&self, sql: &str, params: Vec<Value>) -> Result<Option<Vec<Value>>> {
        let rows = self.acquire().await?.fetch(sql, &params, 1).await?;
        Ok(rows.first().map(|r| r.to_vec()))
    }

    async fn execute_many(&self, sql: &str, params: Vec<Vec<Value>>) -> Result<u64> {
        // All or nothing.
        execute_many_in_transaction(self, sql, params).await
    }

    async fn copy_in(&self, _copy_sql: &str, _types_from: &str, _columns: Vec<Vec<Value>>) -> Result<u64> {
        // No bulk-load path (capability `copy_in` is false): bulk_create sends multi-row VALUES.
        Err(copy_unsupported())
    }

    async fn begin(&self, isolation: Option<IsolationLevel>) -> Result<MySqlTransaction> {
        let mut conn = self.acquire().await?;
        if let Some(level) = isolation {
            // Applies to the next transaction only.
            conn.batch(&format!("SET TRANSACTION ISOLATION LEVEL {}", level.sql()))
                .await?;
        }
        conn.batch("START TRANSACTION").await?;
        conn.state.in_transaction.store(true, Ordering::Release);
        Ok(MySqlTransaction { conn: Some(conn) })
    }

    async fn cursor(&self, sql: &str, params: Vec<Value>, chunk_size: usize) -> Result<MySqlCursor> {
        let conn = self.acquire().await?;
        MySqlCursor::open(conn, sql.to_string(), params, chunk_size.max(1)).await
    }

    async fn server_version(&self) -> Result<String> {
        let rows = self.fetch("SELECT VERSION()", vec![]).await?;
        match rows.first().and_then(|r| r.first()) {
            Some(Value::Text(v)) => Ok(v.clone()),
            _ => Err(EngineError::new(ErrorKind::Operational, "server_version not reported")),
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

/// An open transaction holding one pooled connection. InnoDB rolls back only the failed
/// statement on most errors, so the transaction stays usable after one (unlike PostgreSQL);
/// a deadlock rolls back the whole transaction on the server.
pub struct MySqlTransaction {
    conn: Option<MyObject>,
}

impl MySqlTransaction {
    fn conn(&mut self) -> Result<&mut MyObject> {
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| EngineError::transaction("the transaction has already been committed or rolled back"))?;
        if conn.is_poisoned() {
            return Err(EngineError::transaction(
                "the transaction was interrupted by a cancelled statement and can only be rolled back",
            ));
        }
        Ok(conn)
    }
}

impl Transaction for MySqlTransaction {
    async fn execute(&mut self, sql: &str, params: Vec<Value>) -> Result<u64> {
        self.conn()?.execute(sql, &params).await
    }

    async fn execute_insert(&mut self, sql: &str, params: Vec<Value>) -> Result<(u64, Option<u64>)> {
        self.conn()?.execute_insert(sql, &params).await
    }

    async fn fetch(&mut self, sql: &str, params: Vec<Value>) -> Result<Rows> {
        self.conn()?.fetch(sql, &params, usize::MAX).await
    }

    async fn fetch_batched(&mut self, sql: &str, params: Vec<Value>, sink: &mut RowSink<'_>) -> Result<()> {
        self.conn()?.fetch_batched(sql, &params, sink).await
    }

    async fn fetch_one(&mut self, sql: &str, params: Vec<Value>) -> Result<Option<Vec<Value>>> {
        let rows = self.conn()?.fetch(sql, &params, 1).await?;
        Ok(rows.first().map(|r| r.to_vec()))
    }

    async fn copy_in(&mut self, _copy_sql: &str, _types_from: &str, _columns: Vec<Vec<Value>>) -> Result<u64> {
        Err(copy_unsupported())
    }

    async fn execute_many(&mut self, sql: &str, params: Vec<Vec<Value>>) -> Result<u64> {
        self.conn()?.execute_many(sql, &params).await
    }

    async fn savepoint(&mut self, name: &str) -> Result<()> {
        check_savepoint_name(name)?;
        self.conn()?.batch(&format!("SAVEPOINT {name}")).await
    }

    async fn rollback_to(&mut self, name: &str) -> Result<()> {
        check_savepoint_name(name)?;
        self.conn()?.batch(&format!("ROLLBACK TO SAVEPOINT {name}")).await
    }

    async fn release(&mut self, name: &str) -> Result<()> {
        check_savepoint_name(name)?;
        self.conn()?.batch(&format!("RELEASE SAVEPOINT {name}")).await
    }

    async fn commit(mut self) -> Result<()> {
        let result = self.conn()?.batch("COMMIT").await;
        if let Some(conn) = self.conn.take() {
            if result.is_ok() {
                conn.state.in_transaction.store(false, Ordering::Release);
            }
            // On failure the flag stays set and recycle rolls back before reuse.
        }
        result
    }

    async fn rollback(mut self) -> Result<()> {
        pooled::rollback(self.conn.take()).await
    }
}

impl Drop for MySqlTransaction {
    /// Dropped while still open: roll back now, so its row locks do not outlive it while the
    /// connection sits idle (should that ROLLBACK fail, recycle rolls back before reuse).
    fn drop(&mut self) {
        pooled::end_dropped(self.conn.take());
    }
}

type ChunkReply = oneshot::Sender<Result<Rows>>;

/// An unbuffered result set read by a task that owns the connection: rows are read from the
/// socket as chunks are asked for, so memory stays bounded by one chunk.
pub struct MySqlCursor {
    columns: Vec<String>,
    requests: mpsc::Sender<ChunkReply>,
    chunk: usize,
    exhausted: bool,
}

impl MySqlCursor {
    async fn open(mut conn: MyObject, sql: String, params: Vec<Value>, chunk: usize) -> Result<Self> {
        let (ready_tx, ready_rx) = oneshot::channel::<Result<Vec<String>>>();
        let (req_tx, mut req_rx) = mpsc::channel::<ChunkReply>(1);
        tokio::spawn(async move {
            let guard = InFlight::arm(&conn);
            let state = conn.state.clone();
            let mut finished = false;
            {
                let mut result = match stream_open(&mut conn.conn, &sql, &params).await {
                    Ok(r) => r,
                    Err(e) => {
                        guard.disarm();
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let plan = RowPlan::new(result.columns().unwrap_or_else(|| Vec::new().into()));
                let columns = plan.names();
                if ready_tx.send(Ok(columns.clone())).is_ok() {
                    while let Some(reply) = req_rx.recv().await {
                        let mut out = Rows::new(columns.clone());
                        let mut outcome = Ok(());
                        while out.len() < chunk {
                            match result.next().await {
                                Ok(Some(row)) => {
                                    if let Err(e) = plan.decode_row(row, &mut out.values) {
                                        outcome = Err(e);
                                        break;
                                    }
                                }
                                Ok(None) => {
                                    finished = true;
                                    break;
                                }
                                Err(e) => {
                                    outcome = Err(connection_error(e));
                                    break;
                                }
                            }
                        }
                        let failed = outcome.is_err();
                        let short = out.len() < chunk;
                        let _ = reply.send(outcome.map(|_| out));
                        if failed || short {
                            break;
                        }
                    }
                }
            }
            guard.disarm();
            if !finished {
                // Rows are still unread on the socket (the cursor was closed early, or a row
                // failed to decode): the connection cannot be reused cleanly.
                state.poisoned.store(true, Ordering::Release);
            }
        });
        let columns = ready_rx
            .await
            .map_err(|_| EngineError::connection("the cursor's connection task ended unexpectedly"))??;
        Ok(MySqlCursor {
            columns,
            requests: req_tx,
            chunk,
            exhausted: false,
        })
    }
}

fn connection_error(e: mysql_async::Error) -> EngineError {
    error::map_my_error(e)
}

impl Cursor for MySqlCursor {
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
        self.exhausted = rows.len() < self.chunk;
        Ok(rows)
    }
}
