//! PostgreSQL connections: how they are made, recycled and checked, with a statement cache each.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use std::time::Duration;

use deadpool::managed::{Manager, Metrics, RecycleResult};
use futures_util::TryStreamExt;
use lru::LruCache;
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{CancelToken, Client, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::copy;
use super::decode::decode_row;
use super::error::map_pg_error;
use super::socket::{self, Target};
use crate::batches::{Batcher, RowSink};
use crate::config::{PgConfig, SslMode};
use crate::error::{EngineError, Result};
use crate::pooled::{self, PooledConn};
use crate::value::{Rows, Value};

/// Flags a connection carries back to the pool.
#[derive(Default)]
pub struct ConnState {
    /// The connection's protocol state is unknown (an abandoned operation could not be settled,
    /// or caught BEGIN): it is discarded.
    pub poisoned: AtomicBool,
    /// A transaction is open on it; recycling rolls it back.
    pub in_transaction: AtomicBool,
    /// The task driving the socket. Aborted when the connection is poisoned: the session then
    /// ends at once (the server rolls back whatever it had open), instead of lingering - idle
    /// in transaction, say, when a cancel caught BEGIN in flight - while the connection waits
    /// in the pool to be found poisoned by the next acquire.
    pub socket_task: Mutex<Option<AbortHandle>>,
    /// A statement was abandoned and a task is cancelling it: becomes `Some(true)` once the
    /// session is known to be idle and clean again, `Some(false)` when that could not be
    /// established. The connection runs nothing else until [`PgConn::settle`] saw the outcome.
    pub cancel: Mutex<Option<watch::Receiver<Option<bool>>>>,
    /// `cancel` holds a receiver (a lock-free check for the hot path).
    pub cancel_pending: AtomicBool,
}

/// What cancelling a statement on one session needs; made once per connection, so arming a
/// statement costs one reference count.
struct CancelInfo {
    token: CancelToken,
    target: Target,
    tls: Option<MakeRustlsConnect>,
    /// How long a cancel (delivering it, then the statement it stops) may take before the
    /// connection is given up.
    timeout: Duration,
}

pub struct PgConn {
    /// Shared with the task that settles a cancelled statement (nothing else uses it then).
    pub client: Arc<Client>,
    cache: Option<LruCache<String, Statement>>,
    pub state: Arc<ConnState>,
    cancel: Arc<CancelInfo>,
}

impl Drop for PgConn {
    /// A connection given up in an unknown state ends its session at once (the server rolls
    /// back whatever it had open) rather than waiting for its last reply.
    fn drop(&mut self) {
        if self.is_poisoned() {
            abort_socket(&self.state);
        }
    }
}

fn abort_socket(state: &ConnState) {
    if let Some(task) = state.socket_task.lock().unwrap_or_else(|p| p.into_inner()).take() {
        task.abort();
    }
}

pub struct PgManager {
    config: tokio_postgres::Config,
    hosts: Vec<String>,
    port: u16,
    connect_timeout: Duration,
    tls: Option<MakeRustlsConnect>,
    cache_size: usize,
    max_lifetime: Option<Duration>,
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
            hosts: cfg.hosts.clone(),
            port: cfg.port,
            connect_timeout: cfg.connect_timeout,
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
        let session = socket::connect(
            &self.config,
            &self.hosts,
            self.port,
            self.connect_timeout,
            self.tls.as_ref(),
        )
        .await?;
        Ok(PgConn {
            cancel: Arc::new(CancelInfo {
                token: session.client.cancel_token(),
                target: session.target,
                tls: self.tls.clone(),
                timeout: self.connect_timeout,
            }),
            client: Arc::new(session.client),
            cache: NonZeroUsize::new(self.cache_size).map(LruCache::new),
            state: Arc::new(ConnState {
                socket_task: Mutex::new(Some(session.socket_task)),
                ..ConnState::default()
            }),
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

    async fn settle(&mut self) -> Result<()> {
        PgConn::settle(self).await
    }
}

/// What becomes of a connection whose statement was abandoned mid-flight.
#[derive(Clone, Copy, PartialEq)]
enum OnCancel {
    /// Cancel the statement on the server and keep the connection: [`PgConn::settle`] waits for
    /// the cancel's outcome before the connection runs anything else.
    Keep,
    /// Cancel it and end the session now: for BEGIN, whose connection would otherwise sit in the
    /// pool inside a transaction nobody holds until the next acquire settled it.
    Discard,
}

/// Armed while a statement is in flight. If the future running it is dropped (the asyncio
/// task was cancelled), the statement is cancelled on the server; the connection either waits
/// for that cancel's outcome before its next use, or is discarded.
struct InFlight {
    state: Arc<ConnState>,
    cancel: Option<(Arc<CancelInfo>, Arc<Client>)>,
    mode: OnCancel,
}

impl InFlight {
    fn arm(conn: &PgConn) -> Self {
        Self::arm_with(conn, OnCancel::Keep)
    }

    fn arm_with(conn: &PgConn, mode: OnCancel) -> Self {
        InFlight {
            state: conn.state.clone(),
            cancel: Some((conn.cancel.clone(), conn.client.clone())),
            mode,
        }
    }

    fn disarm(mut self) {
        self.cancel = None;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let Some((info, client)) = self.cancel.take() else {
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            // No runtime to send the cancel on: the session's end stops the statement.
            self.state.poisoned.store(true, Ordering::Release);
            abort_socket(&self.state);
            return;
        };
        let discard = self.mode == OnCancel::Discard;
        let (done_tx, done_rx) = watch::channel(None);
        let state = self.state.clone();
        handle.spawn(async move {
            let clean = tokio::time::timeout(info.timeout, cancel_and_probe(&info, &client, discard))
                .await
                .unwrap_or(false);
            if !clean {
                // End the session now, whether or not anyone is still waiting to settle it.
                state.poisoned.store(true, Ordering::Release);
                abort_socket(&state);
            }
            // Let go of the client before telling: whoever settles may then use it alone.
            drop(client);
            let _ = done_tx.send(Some(clean));
        });
        let earlier = self
            .state
            .cancel
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(done_rx);
        self.state.cancel_pending.store(true, Ordering::Release);
        // Two cancels in flight on one session (one was never settled): give it up.
        if discard || earlier.is_some() {
            self.state.poisoned.store(true, Ordering::Release);
            abort_socket(&self.state);
        }
    }
}

/// Cancel the abandoned statement and wait until the session is idle again. The cancel request
/// returns once the server has acted on it (see [`socket::cancel`]); then a probe is queued
/// behind the statement. tokio-postgres answers requests in order (dropping the replies of
/// abandoned ones), so the probe's reply means every earlier statement reached ReadyForQuery;
/// and the cancel signal was pending on the backend before the probe was sent, so it can stop
/// at most the probe (its 57014 is expected), never a later statement. True when clean.
async fn cancel_and_probe(info: &CancelInfo, client: &Client, discard: bool) -> bool {
    let cancel = || socket::cancel(&info.token, &info.target, info.tls.as_ref(), info.timeout);
    if !cancel().await || discard {
        return false;
    }
    let probe = client.batch_execute("");
    let mut probe = std::pin::pin!(probe);
    loop {
        match tokio::time::timeout(RECANCEL_AFTER, &mut probe).await {
            Ok(Ok(())) => return true,
            Ok(Err(e)) => return e.code() == Some(&SqlState::QUERY_CANCELED),
            // A cancel that reaches the backend before the statement does (while it still
            // reads) is discarded, and the statement then runs: ask again. Each request is
            // awaited to its end, so none is left to arrive after the probe is answered.
            Err(_) => {
                if !cancel().await {
                    return false;
                }
            }
        }
    }
}

/// How long the statement may take to stop after a cancel before the cancel is sent again.
const RECANCEL_AFTER: Duration = Duration::from_millis(100);

/// How long the next user of a connection waits for its cancelled statement to settle.
const SETTLE_WAIT: Duration = Duration::from_secs(1);

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

    /// A statement on this connection was cancelled and [`PgConn::settle`] has not run since.
    pub fn cancel_pending(&self) -> bool {
        self.state.cancel_pending.load(Ordering::Acquire)
    }

    /// After a cancelled statement: wait for the task settling it (see [`cancel_and_probe`]).
    /// Dropping this future loses nothing (the task goes on, the next call waits again). When
    /// the session could not be shown clean it is poisoned and its socket closed.
    pub async fn settle(&mut self) -> Result<()> {
        if !self.cancel_pending() {
            return Ok(());
        }
        let pending = self.state.cancel.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let clean = match pending {
            None => true,
            Some(mut rx) => {
                // Seldom more than milliseconds; a statement that will not stop is not waited
                // for (the pool makes a fresh connection instead, as one would without this).
                let limit = self.cancel.timeout.min(SETTLE_WAIT);
                let wait = tokio::time::timeout(limit, rx.wait_for(|v| v.is_some())).await;
                matches!(wait, Ok(Ok(v)) if *v == Some(true))
            }
        };
        *self.state.cancel.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.state.cancel_pending.store(false, Ordering::Release);
        if clean {
            return Ok(());
        }
        self.state.poisoned.store(true, Ordering::Release);
        abort_socket(&self.state);
        Err(EngineError::connection(
            "a cancelled statement left its connection in an unknown state",
        ))
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

    /// Run SQL text without parameters (COMMIT, SAVEPOINT ...).
    pub async fn batch(&mut self, sql: &str) -> Result<()> {
        self.batch_with(sql, OnCancel::Keep).await
    }

    /// BEGIN (with its options): a cancel caught half-way discards the connection (see
    /// [`OnCancel::Discard`]).
    pub async fn begin(&mut self, sql: &str) -> Result<()> {
        self.batch_with(sql, OnCancel::Discard).await
    }

    async fn batch_with(&mut self, sql: &str, mode: OnCancel) -> Result<()> {
        let guard = InFlight::arm_with(self, mode);
        let result = self.client.batch_execute(sql).await.map_err(map_pg_error);
        guard.disarm();
        result
    }
}
