//! PostgreSQL connections: how they are made, recycled and checked, with a statement cache each.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use deadpool::managed::{Manager, Metrics, RecycleResult};
use futures_util::TryStreamExt;
use lru::LruCache;
use tokio::task::AbortHandle;
use tokio_postgres::types::ToSql;
use tokio_postgres::{CancelToken, Client, NoTls, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::copy;
use super::decode::decode_row;
use super::error::map_pg_error;
use crate::batches::{Batcher, RowSink};
use crate::config::{PgConfig, SslMode};
use crate::error::{EngineError, Result};
use crate::pooled::{self, PooledConn};
use crate::value::{Rows, Value};

/// Flags a connection carries back to the pool.
#[derive(Default)]
pub struct ConnState {
    /// An operation was abandoned mid-flight: the connection's protocol state is unknown.
    pub poisoned: AtomicBool,
    /// A transaction is open on it; recycling rolls it back.
    pub in_transaction: AtomicBool,
    /// The task driving the socket. Aborted when an operation is abandoned: the session then
    /// ends at once (the server rolls back whatever it had open), instead of lingering - idle
    /// in transaction, say, when a cancel caught BEGIN in flight - while the connection waits
    /// in the pool to be found poisoned by the next acquire.
    pub socket_task: Mutex<Option<AbortHandle>>,
}

pub struct PgConn {
    pub client: Client,
    cache: Option<LruCache<String, Statement>>,
    pub state: Arc<ConnState>,
    tls: Option<MakeRustlsConnect>,
}

pub struct PgManager {
    config: tokio_postgres::Config,
    tls: Option<MakeRustlsConnect>,
    cache_size: usize,
    max_lifetime: Option<std::time::Duration>,
}

impl PgManager {
    pub fn new(cfg: &PgConfig, tls: Option<MakeRustlsConnect>) -> Self {
        let mut config = tokio_postgres::Config::new();
        for host in &cfg.hosts {
            config.host(host);
        }
        config
            .port(cfg.port)
            .user(&cfg.user)
            .dbname(&cfg.dbname)
            .application_name(&cfg.application_name)
            .connect_timeout(cfg.connect_timeout)
            .ssl_mode(match cfg.sslmode {
                SslMode::Disable => tokio_postgres::config::SslMode::Disable,
                SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
                _ => tokio_postgres::config::SslMode::Require,
            });
        if let Some(pw) = &cfg.password {
            config.password(pw);
        }
        // Sessions run in UTC so naive timestamps mean the same on PostgreSQL and SQLite.
        let mut options = String::from("-c TimeZone=UTC");
        if let Some(t) = cfg.statement_timeout {
            options.push_str(&format!(" -c statement_timeout={}", t.as_millis().max(1)));
        }
        if let Some(path) = &cfg.search_path {
            // The server splits `options` on spaces; a backslash escapes one (or itself).
            let escaped = path.replace('\\', "\\\\").replace(' ', "\\ ");
            options.push_str(&format!(" -c search_path={escaped}"));
        }
        config.options(options);
        PgManager {
            config,
            tls,
            cache_size: cfg.statement_cache_size,
            max_lifetime: cfg.pool.max_lifetime,
        }
    }
}

impl Manager for PgManager {
    type Type = PgConn;
    type Error = EngineError;

    async fn create(&self) -> Result<PgConn> {
        let (client, socket_task) = match &self.tls {
            Some(tls) => {
                let (client, connection) = self.config.connect(tls.clone()).await.map_err(connect_error)?;
                let task = tokio::spawn(async move {
                    let _ = connection.await;
                });
                (client, task.abort_handle())
            }
            None => {
                let (client, connection) = self.config.connect(NoTls).await.map_err(connect_error)?;
                let task = tokio::spawn(async move {
                    let _ = connection.await;
                });
                (client, task.abort_handle())
            }
        };
        Ok(PgConn {
            client,
            cache: NonZeroUsize::new(self.cache_size).map(LruCache::new),
            state: Arc::new(ConnState {
                socket_task: Mutex::new(Some(socket_task)),
                ..ConnState::default()
            }),
            tls: self.tls.clone(),
        })
    }

    async fn recycle(&self, conn: &mut PgConn, metrics: &Metrics) -> RecycleResult<EngineError> {
        pooled::recycle(conn, metrics, self.max_lifetime).await
    }
}

impl PooledConn for PgConn {
    fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    fn is_poisoned(&self) -> bool {
        PgConn::is_poisoned(self)
    }

    fn in_transaction(&self) -> &AtomicBool {
        &self.state.in_transaction
    }

    async fn batch(&mut self, sql: &str) -> Result<()> {
        PgConn::batch(self, sql).await
    }

    async fn batch_unguarded(&mut self, sql: &str) -> Result<()> {
        self.client.batch_execute(sql).await.map_err(map_pg_error)
    }
}

fn connect_error(err: tokio_postgres::Error) -> EngineError {
    let mut e = map_pg_error(err);
    if e.sqlstate.is_none() {
        e.kind = crate::error::ErrorKind::Connection;
    }
    // Authentication and unknown-database failures are connection errors too.
    if matches!(e.sqlstate.as_deref(), Some("28P01") | Some("28000") | Some("3D000")) {
        e.kind = crate::error::ErrorKind::Connection;
    }
    e
}

/// Armed while a statement is in flight. If the future running it is dropped (the asyncio
/// task was cancelled), the statement is cancelled on the server and the connection is
/// marked so the pool discards it instead of handing it out in an unknown state.
struct InFlight {
    state: Arc<ConnState>,
    cancel: Option<(CancelToken, Option<MakeRustlsConnect>)>,
}

impl InFlight {
    fn arm(conn: &PgConn) -> Self {
        InFlight {
            state: conn.state.clone(),
            cancel: Some((conn.client.cancel_token(), conn.tls.clone())),
        }
    }

    fn disarm(mut self) {
        self.cancel = None;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let Some((token, tls)) = self.cancel.take() else { return };
        self.state.poisoned.store(true, Ordering::Release);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = match tls {
                    Some(tls) => token.cancel_query(tls).await,
                    None => token.cancel_query(NoTls).await,
                };
            });
        }
        // The cancel request travels on its own connection; this one is done for.
        if let Some(task) = self.state.socket_task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
    }
}

fn param_refs(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

fn check_arity(stmt: &Statement, given: usize) -> Result<()> {
    let expected = stmt.params().len();
    if expected != given {
        return Err(EngineError::programming(format!(
            "the statement has {expected} placeholder(s) but {given} parameter(s) were given"
        )));
    }
    Ok(())
}

async fn stream_rows(client: &Client, stmt: &Statement, params: &[Value], mut batcher: Batcher<'_, '_>) -> Result<()> {
    let stream = client
        .query_raw(stmt, params.iter().map(|v| v as &(dyn ToSql + Sync)))
        .await
        .map_err(map_pg_error)?;
    let mut stream = std::pin::pin!(stream);
    while let Some(row) = stream.try_next().await.map_err(map_pg_error)? {
        decode_row(&row, batcher.cells())?;
        batcher.row_done();
    }
    batcher.finish();
    Ok(())
}

/// True for the errors a stale cached statement produces after a schema change.
pub fn is_stale_statement(err: &EngineError) -> bool {
    match err.sqlstate.as_deref() {
        Some("26000") => true,
        Some("0A000") => err.message.contains("cached plan"),
        _ => false,
    }
}

impl PgConn {
    /// A prepared statement for `sql`, from this connection's cache when possible.
    pub async fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(stmt) = self.cache.as_mut().and_then(|c| c.get(sql)) {
            return Ok(stmt.clone());
        }
        let guard = InFlight::arm(self);
        let stmt = self.client.prepare(sql).await.map_err(map_pg_error);
        guard.disarm();
        let stmt = stmt?;
        if let Some(cache) = self.cache.as_mut() {
            cache.put(sql.to_string(), stmt.clone());
        }
        Ok(stmt)
    }

    pub fn forget(&mut self, sql: &str) {
        if let Some(cache) = self.cache.as_mut() {
            cache.pop(sql);
        }
    }

    pub fn is_poisoned(&self) -> bool {
        self.state.poisoned.load(Ordering::Acquire)
    }

    pub async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let stmt = self.statement(sql).await?;
        check_arity(&stmt, params.len())?;
        let guard = InFlight::arm(self);
        let result = self
            .client
            .execute(&stmt, &param_refs(params))
            .await
            .map_err(map_pg_error);
        guard.disarm();
        result
    }

    pub async fn fetch(&mut self, sql: &str, params: &[Value]) -> Result<Rows> {
        let stmt = self.statement(sql).await?;
        check_arity(&stmt, params.len())?;
        let guard = InFlight::arm(self);
        let result = self
            .client
            .query(&stmt, &param_refs(params))
            .await
            .map_err(map_pg_error);
        guard.disarm();
        let rows = result?;
        let mut out = Rows::new(stmt.columns().iter().map(|c| c.name().to_string()).collect());
        out.values.reserve(rows.len() * out.width);
        for row in &rows {
            decode_row(row, &mut out.values)?;
        }
        Ok(out)
    }

    /// Like `fetch`, decoding rows as they arrive and handing them to `sink` in batches.
    pub async fn fetch_batched(&mut self, sql: &str, params: &[Value], sink: &mut RowSink<'_>) -> Result<()> {
        let stmt = self.statement(sql).await?;
        check_arity(&stmt, params.len())?;
        let columns = stmt.columns().iter().map(|c| c.name().to_string()).collect();
        let guard = InFlight::arm(self);
        let result = stream_rows(&self.client, &stmt, params, Batcher::new(columns, sink)).await;
        // A decode error leaves the rest of the reply unread; tokio-postgres drains it before
        // the connection's next reply, so the connection stays usable.
        guard.disarm();
        result
    }

    pub async fn fetch_one(&mut self, sql: &str, params: &[Value]) -> Result<Option<Vec<Value>>> {
        let rows = self.fetch(sql, params).await?;
        Ok(rows.first().map(|r| r.to_vec()))
    }

    /// Load `columns` (values column by column) with `COPY ... FROM STDIN (FORMAT binary)`;
    /// `types_from` is a statement whose parameters have the target columns' types.
    pub async fn copy_in(&mut self, copy_sql: &str, types_from: &str, columns: &[Vec<Value>]) -> Result<u64> {
        let probe = self.statement(types_from).await?;
        let rows = copy::check(probe.params(), columns)?;
        let copy = self.statement(copy_sql).await?;
        let guard = InFlight::arm(self);
        let result = copy::copy_in(&self.client, &copy, probe.params(), columns, rows).await;
        // An encoding error aborted the COPY cleanly (the sink sent CopyFail when dropped).
        guard.disarm();
        result
    }

    /// Every parameter set pipelined on this connection: one round trip's latency, not N.
    pub async fn execute_many(&mut self, sql: &str, sets: &[Vec<Value>]) -> Result<u64> {
        let stmt = self.statement(sql).await?;
        for set in sets {
            check_arity(&stmt, set.len())?;
        }
        let refs: Vec<Vec<&(dyn ToSql + Sync)>> = sets.iter().map(|s| param_refs(s)).collect();
        let guard = InFlight::arm(self);
        let client = &self.client;
        let result = futures_util::future::try_join_all(refs.iter().map(|r| client.execute(&stmt, r.as_slice()))).await;
        guard.disarm();
        Ok(result.map_err(map_pg_error)?.into_iter().sum())
    }

    /// Run SQL text without parameters (BEGIN, COMMIT, SAVEPOINT ...).
    pub async fn batch(&mut self, sql: &str) -> Result<()> {
        let guard = InFlight::arm(self);
        let result = self.client.batch_execute(sql).await.map_err(map_pg_error);
        guard.disarm();
        result
    }
}
