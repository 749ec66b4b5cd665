//! MySQL/MariaDB connections: made with the session settings that make behaviour predictable,
//! recycled only when clean, and killed server-side when a statement is abandoned.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use deadpool::managed::{Manager, Metrics, RecycleResult};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, SslOpts};

use super::error::map_my_error;
use super::types::{bind_all, RowPlan};
use crate::batches::{Batcher, RowSink};
use crate::config::{MySqlConfig, SslMode};
use crate::error::{EngineError, Result};
use crate::pooled::{self, PooledConn};
use crate::value::{Rows, Value};

/// Strict: bad values are errors, not warnings with a silently changed value. Zero dates are
/// refused, `\` is a plain character in literals (the LIKE escapes the compiler writes), an
/// explicit 0 in an AUTO_INCREMENT key is stored as 0 (not a new key), and `||` stays OR as
/// MySQL users expect (the dialect writes CONCAT).
const SQL_MODE: &str = "STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,\
                        NO_ENGINE_SUBSTITUTION,NO_BACKSLASH_ESCAPES,NO_AUTO_VALUE_ON_ZERO";

/// Flags a connection carries back to the pool.
#[derive(Default)]
pub struct ConnState {
    /// An operation was abandoned mid-flight: the connection's protocol state is unknown.
    pub poisoned: AtomicBool,
    /// A transaction is open on it; recycling rolls it back.
    pub in_transaction: AtomicBool,
}

pub struct MyConn {
    pub conn: Conn,
    pub state: Arc<ConnState>,
    /// Opts to reach the same server from a second connection (for KILL QUERY).
    opts: Opts,
}

pub struct MyManager {
    opts: Opts,
    max_lifetime: Option<std::time::Duration>,
    statement_timeout: Option<std::time::Duration>,
}

fn ssl_opts(cfg: &MySqlConfig) -> Option<SslOpts> {
    let base = SslOpts::default();
    let base = match &cfg.sslrootcert {
        Some(path) => base.with_root_certs(vec![path.clone().into()]),
        None => base,
    };
    match cfg.sslmode {
        SslMode::Disable | SslMode::Prefer => None,
        SslMode::Require => Some(
            base.with_danger_accept_invalid_certs(true)
                .with_danger_skip_domain_validation(true),
        ),
        SslMode::VerifyCa => Some(base.with_danger_skip_domain_validation(true)),
        SslMode::VerifyFull => Some(base),
    }
}

impl MyManager {
    pub fn new(cfg: &MySqlConfig) -> Self {
        let init = vec![
            "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci".to_string(),
            "SET time_zone = '+00:00'".to_string(),
            format!("SET SESSION sql_mode = '{SQL_MODE}'"),
        ];
        let opts = OptsBuilder::default()
            .ip_or_hostname(cfg.host.clone())
            .tcp_port(cfg.port)
            .user(Some(cfg.user.clone()))
            .pass(cfg.password.clone())
            .db_name(Some(cfg.dbname.clone()))
            .stmt_cache_size(cfg.statement_cache_size)
            .tcp_nodelay(true)
            // Rows matched, not rows changed, as PostgreSQL and SQLite count an UPDATE.
            .client_found_rows(true)
            .ssl_opts(ssl_opts(cfg))
            .init(init);
        MyManager {
            opts: opts.into(),
            max_lifetime: cfg.pool.max_lifetime,
            statement_timeout: cfg.statement_timeout,
        }
    }
}

pub async fn connect(opts: &Opts) -> Result<Conn> {
    Conn::new(opts.clone()).await.map_err(|e| {
        let mut e = map_my_error(e);
        if e.kind != crate::error::ErrorKind::Configuration {
            e.kind = crate::error::ErrorKind::Connection;
        }
        e
    })
}

impl Manager for MyManager {
    type Type = MyConn;
    type Error = EngineError;

    async fn create(&self) -> Result<MyConn> {
        let mut conn = connect(&self.opts).await?;
        if let Some(t) = self.statement_timeout {
            // MariaDB: max_statement_time (seconds, every statement); MySQL has only
            // max_execution_time (milliseconds, SELECT only), tried when the first is unknown (1193).
            let mariadb = format!("SET SESSION max_statement_time = {:.6}", t.as_secs_f64());
            match conn.query_drop(mariadb).await {
                Err(mysql_async::Error::Server(e)) if e.code == 1193 => conn
                    .query_drop(format!("SET SESSION max_execution_time = {}", t.as_millis().max(1)))
                    .await
                    .map_err(map_my_error)?,
                other => other.map_err(map_my_error)?,
            }
        }
        Ok(MyConn {
            conn,
            state: Arc::new(ConnState::default()),
            opts: self.opts.clone(),
        })
    }

    async fn recycle(&self, conn: &mut MyConn, metrics: &Metrics) -> RecycleResult<EngineError> {
        pooled::recycle(conn, metrics, self.max_lifetime).await
    }
}

impl PooledConn for MyConn {
    fn is_closed(&self) -> bool {
        self.conn.is_disconnected()
    }

    fn is_poisoned(&self) -> bool {
        MyConn::is_poisoned(self)
    }

    fn in_transaction(&self) -> &AtomicBool {
        &self.state.in_transaction
    }

    async fn batch(&mut self, sql: &str) -> Result<()> {
        MyConn::batch(self, sql).await
    }

    async fn batch_unguarded(&mut self, sql: &str) -> Result<()> {
        self.conn.query_drop(sql).await.map_err(map_my_error)
    }
}

/// Armed while a statement is in flight. If the future running it is dropped (the asyncio task
/// was cancelled), `KILL QUERY` stops the statement from a second connection and the connection
/// is marked so the pool discards it instead of handing it out in an unknown state.
pub struct InFlight {
    state: Arc<ConnState>,
    kill: Option<(Opts, u32)>,
}

impl InFlight {
    pub fn arm(conn: &MyConn) -> Self {
        InFlight {
            state: conn.state.clone(),
            kill: Some((conn.opts.clone(), conn.conn.id())),
        }
    }

    pub fn disarm(mut self) {
        self.kill = None;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let Some((opts, id)) = self.kill.take() else { return };
        self.state.poisoned.store(true, Ordering::Release);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let Ok(mut killer) = Conn::new(opts).await {
                    let _ = killer.query_drop(format!("KILL QUERY {id}")).await;
                    let _ = killer.disconnect().await;
                }
            });
        }
    }
}

/// Statements the binary protocol cannot run (several statements in one string) or that need
/// no preparing: run as text when there are no parameters and no rows are wanted.
fn is_text_only(sql: &str) -> bool {
    let t = sql.trim_start();
    let head: String = t.chars().take(12).collect::<String>().to_ascii_uppercase();
    [
        "BEGIN",
        "START",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "SET ",
        "LOCK ",
        "UNLOCK",
    ]
    .iter()
    .any(|k| head.starts_with(k))
        || t.trim_end().trim_end_matches(';').contains(';')
}

impl MyConn {
    pub fn is_poisoned(&self) -> bool {
        self.state.poisoned.load(Ordering::Acquire)
    }

    /// Run one statement; rows affected (rows returned, for a statement that returns rows, as
    /// on PostgreSQL). The prepared statement comes from the driver's per-connection cache
    /// (keyed by the SQL text).
    pub async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let bound = bind_all(params)?;
        let guard = InFlight::arm(self);
        let result = if params.is_empty() && is_text_only(sql) {
            match self.conn.query_iter(sql).await {
                Ok(r) => count_rows(r).await,
                Err(e) => Err(e),
            }
        } else {
            match self.conn.exec_iter(sql, bound).await {
                Ok(r) => count_rows(r).await,
                Err(e) => Err(e),
            }
        };
        guard.disarm();
        result.map_err(map_my_error)
    }

    /// Run one INSERT; the rows affected and the first AUTO_INCREMENT key it generated (the OK
    /// packet's LAST_INSERT_ID; for a multi-row INSERT, the first row's key).
    pub async fn execute_insert(&mut self, sql: &str, params: &[Value]) -> Result<(u64, Option<u64>)> {
        let affected = self.execute(sql, params).await?;
        Ok((affected, self.conn.last_insert_id().filter(|id| *id != 0)))
    }

    /// Run a query; up to `limit` rows, positionally (the rest are read and discarded).
    pub async fn fetch(&mut self, sql: &str, params: &[Value], limit: usize) -> Result<Rows> {
        let bound = bind_all(params)?;
        let guard = InFlight::arm(self);
        let result = read_all(&mut self.conn, sql, bound, limit).await;
        guard.disarm();
        result
    }

    /// Like `fetch`, decoding rows as they come off the socket and handing them to `sink` in
    /// batches, so the loop converts the first rows while the rest are still being read.
    pub async fn fetch_batched(&mut self, sql: &str, params: &[Value], sink: &mut RowSink<'_>) -> Result<()> {
        let bound = bind_all(params)?;
        let guard = InFlight::arm(self);
        let result = read_batched(&mut self.conn, sql, bound, sink).await;
        guard.disarm();
        result
    }

    pub async fn execute_many(&mut self, sql: &str, sets: &[Vec<Value>]) -> Result<u64> {
        let mut total = 0;
        for set in sets {
            total += self.execute(sql, set).await?;
        }
        Ok(total)
    }

    /// Run SQL text without parameters (START TRANSACTION, COMMIT, SAVEPOINT ...).
    pub async fn batch(&mut self, sql: &str) -> Result<()> {
        let guard = InFlight::arm(self);
        let result = self.conn.query_drop(sql).await.map_err(map_my_error);
        guard.disarm();
        result
    }
}

/// Rows returned (a statement with a result set) or rows affected; any further result sets
/// of a script are read and dropped.
async fn count_rows<P: mysql_async::prelude::Protocol>(
    mut result: mysql_async::QueryResult<'_, 'static, P>,
) -> std::result::Result<u64, mysql_async::Error> {
    if result.columns_ref().is_empty() {
        let affected = result.affected_rows();
        result.drop_result().await?;
        return Ok(affected);
    }
    let mut returned = 0u64;
    while result.next().await?.is_some() {
        returned += 1;
    }
    result.drop_result().await?;
    Ok(returned)
}

/// The decode plan of the result set `result` is positioned on (none for a statement without one).
fn plan_of<P: mysql_async::prelude::Protocol>(result: &mysql_async::QueryResult<'_, 'static, P>) -> RowPlan {
    RowPlan::new(result.columns().unwrap_or_else(|| Vec::new().into()))
}

async fn read_all(conn: &mut Conn, sql: &str, params: mysql_async::Params, limit: usize) -> Result<Rows> {
    let mut result = conn.exec_iter(sql, params).await.map_err(map_my_error)?;
    let plan = plan_of(&result);
    let mut out = Rows::new(plan.names());
    let mut taken = 0usize;
    let mut failure = None;
    while let Some(row) = result.next().await.map_err(map_my_error)? {
        if taken >= limit || failure.is_some() {
            continue; // drain: the connection must end this reply before its next statement
        }
        if let Err(e) = plan.decode_row(row, &mut out.values) {
            failure = Some(e);
        }
        taken += 1;
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

async fn read_batched(conn: &mut Conn, sql: &str, params: mysql_async::Params, sink: &mut RowSink<'_>) -> Result<()> {
    let mut result = conn.exec_iter(sql, params).await.map_err(map_my_error)?;
    let plan = plan_of(&result);
    let mut batcher = Batcher::new(plan.names(), sink);
    let mut failure = None;
    while let Some(row) = result.next().await.map_err(map_my_error)? {
        if failure.is_some() {
            continue; // drain: the connection must end this reply before its next statement
        }
        match plan.decode_row(row, batcher.cells()) {
            Ok(()) => batcher.row_done(),
            // The batch holding a part row is never handed over: the fetch fails whole.
            Err(e) => failure = Some(e),
        }
    }
    match failure {
        Some(e) => Err(e),
        None => {
            batcher.finish();
            Ok(())
        }
    }
}

/// A server-side stream: the statement's rows read as they are asked for.
pub async fn stream_open<'c>(
    conn: &'c mut Conn,
    sql: &str,
    params: &[Value],
) -> Result<mysql_async::QueryResult<'c, 'static, mysql_async::BinaryProtocol>> {
    let bound = bind_all(params)?;
    conn.exec_iter(sql, bound).await.map_err(map_my_error)
}
