//! One SQLite connection and the pool manager that opens, configures and recycles them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use deadpool::managed::{Manager, Metrics, RecycleError, RecycleResult};
use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, OpenFlags, Statement};

use super::error::map_sqlite_error;
use super::types::{from_sqlite, to_sqlite, ColumnKind};
use crate::config::{SqliteConfig, SqliteMode};
use crate::error::{EngineError, Result};
use crate::value::{Rows, Value};

/// A `Value` as rusqlite's `ToSql`, carrying our error through rusqlite's.
struct Bind<'a>(&'a Value);

impl rusqlite::ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        to_sqlite(self.0).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
    }
}

pub struct SqliteConn {
    pub conn: Connection,
    /// Set when the caller of the statement in progress cancelled it; the progress handler
    /// installed at open then interrupts the statement (see [`SqliteConn::interruptible`]).
    interrupted: Arc<AtomicBool>,
}

/// VM instructions between two looks at the cancel flag: microseconds of work, so a cancelled
/// statement stops at once, and the check costs nothing measurable.
const PROGRESS_OPS: i32 = 1000;

pub fn bind_all(stmt: &mut Statement<'_>, params: &[Value]) -> Result<()> {
    let expected = stmt.parameter_count();
    if expected != params.len() {
        return Err(EngineError::programming(format!(
            "the statement has {expected} placeholder(s) but {} parameter(s) were given",
            params.len()
        )));
    }
    for (i, v) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, Bind(v)).map_err(map_sqlite_error)?;
    }
    Ok(())
}

/// Column names and what their declared types mean, read once per statement.
pub fn describe(stmt: &Statement<'_>) -> (Vec<String>, Vec<ColumnKind>) {
    stmt.columns()
        .map(|c| (c.name().to_string(), ColumnKind::from_decltype(c.decl_type())))
        .unzip()
}

/// Step `rows` until `limit` rows were read (or the end), appending cells to `out`.
///
/// The columns are described after the first step: SQLite re-prepares a cached statement
/// whose schema changed only when it is stepped, so describing earlier could miss columns.
/// `kinds` is filled on the first call and reused for later chunks of the same statement.
pub fn read_rows(
    rows: &mut rusqlite::Rows<'_>,
    kinds: &mut Option<Vec<ColumnKind>>,
    out: &mut Rows,
    limit: usize,
) -> Result<usize> {
    let mut n = 0;
    while n < limit {
        let Some(row) = rows.next().map_err(map_sqlite_error)? else {
            break;
        };
        if kinds.is_none() {
            let (columns, described) = describe(row.as_ref());
            out.columns = columns;
            out.width = out.columns.len();
            *kinds = Some(described);
        }
        let kinds = kinds.as_deref().unwrap_or_default();
        for (i, kind) in kinds.iter().enumerate() {
            let cell = row.get_ref(i).map_err(map_sqlite_error)?;
            out.values.push(from_sqlite(cell, *kind, &out.columns[i])?);
        }
        n += 1;
    }
    Ok(n)
}

/// Whether `sql` holds more than one statement (a `;` with something after it). A `;` inside
/// a string literal only sends a single statement down the script path, which runs it the same.
fn is_script(sql: &str) -> bool {
    sql.trim_end().trim_end_matches(';').contains(';')
}

impl SqliteConn {
    fn prepare(&self, sql: &str) -> Result<rusqlite::CachedStatement<'_>> {
        self.conn.prepare_cached(sql).map_err(map_sqlite_error)
    }

    /// The flag that interrupts the statement in progress, reset for a new one: for a caller
    /// that steps a statement outside [`SqliteConn::interruptible`] (a cursor's thread).
    pub fn interrupt_flag(&self) -> Arc<AtomicBool> {
        self.interrupted.store(false, Ordering::Release);
        self.interrupted.clone()
    }

    /// Run one statement so that its caller's cancellation interrupts it. SQLite then undoes
    /// the statement (and, for a write inside an explicit transaction, the whole transaction),
    /// so nothing a cancelled caller started is committed behind its back.
    fn interruptible<R>(&mut self, run: impl FnOnce(&mut Self) -> Result<R>) -> Result<R> {
        self.interrupted.store(false, Ordering::Release);
        let flag = self.interrupted.clone();
        crate::cancel::interruptible(move || flag.store(true, Ordering::Release), || run(self)).unwrap_or_else(|| {
            Err(EngineError::new(
                crate::error::ErrorKind::Operational,
                "the statement was cancelled before it started",
            ))
        })
    }

    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.interruptible(|c| c.execute_now(sql, params))
    }

    pub fn fetch(&mut self, sql: &str, params: &[Value], limit: usize) -> Result<Rows> {
        self.interruptible(|c| c.fetch_now(sql, params, limit))
    }

    pub fn execute_many(&mut self, sql: &str, sets: &[Vec<Value>]) -> Result<u64> {
        self.interruptible(|c| c.execute_many_now(sql, sets))
    }

    fn execute_now(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        if params.is_empty() && is_script(sql) {
            // A schema script: later statements may use what earlier ones create, so they
            // cannot all be prepared up front.
            self.conn.execute_batch(sql).map_err(map_sqlite_error)?;
            return Ok(self.conn.changes());
        }
        let mut stmt = self.prepare(sql)?;
        bind_all(&mut stmt, params)?;
        if stmt.column_count() == 0 {
            return stmt.raw_execute().map(|n| n as u64).map_err(map_sqlite_error);
        }
        // A statement that returns rows (SELECT, ... RETURNING): count them, as PostgreSQL does.
        let mut rows = stmt.raw_query();
        let mut n = 0u64;
        while rows.next().map_err(map_sqlite_error)?.is_some() {
            n += 1;
        }
        Ok(n)
    }

    fn fetch_now(&mut self, sql: &str, params: &[Value], limit: usize) -> Result<Rows> {
        let mut stmt = self.prepare(sql)?;
        bind_all(&mut stmt, params)?;
        let mut out = Rows::default();
        let mut kinds = None;
        let mut rows = stmt.raw_query();
        read_rows(&mut rows, &mut kinds, &mut out, limit)?;
        drop(rows);
        if kinds.is_none() {
            // No row: the statement has been stepped (so re-prepared if the schema changed),
            // and its description is current now.
            out = Rows::new(describe(&stmt).0);
        }
        Ok(out)
    }

    fn execute_many_now(&mut self, sql: &str, sets: &[Vec<Value>]) -> Result<u64> {
        let mut stmt = self.prepare(sql)?;
        let mut total = 0u64;
        for set in sets {
            bind_all(&mut stmt, set)?;
            total += stmt.raw_execute().map_err(map_sqlite_error)? as u64;
        }
        Ok(total)
    }

    pub fn batch(&mut self, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql).map_err(map_sqlite_error)
    }

    pub fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }
}

pub struct SqliteManager {
    cfg: SqliteConfig,
}

impl SqliteManager {
    pub fn new(cfg: SqliteConfig) -> Self {
        SqliteManager { cfg }
    }

    fn open(&self) -> Result<SqliteConn> {
        let access = match self.cfg.mode {
            SqliteMode::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
            SqliteMode::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE,
            SqliteMode::ReadWriteCreate | SqliteMode::Memory => {
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
            }
        };
        let flags = access | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(&self.cfg.path, flags).map_err(|e| {
            let mut err = map_sqlite_error(e);
            err.kind = crate::error::ErrorKind::Connection;
            err.message = format!("cannot open SQLite database {:?}: {}", self.cfg.path, err.message);
            err
        })?;
        conn.busy_timeout(self.cfg.busy_timeout).map_err(map_sqlite_error)?;
        conn.set_prepared_statement_cache_capacity(self.cfg.statement_cache_size);
        // A read-only connection cannot change the file's journal mode: it reads the file as is.
        if !self.cfg.is_memory() && self.cfg.mode != SqliteMode::ReadOnly {
            retry_while_busy(self.cfg.busy_timeout, || {
                conn.pragma_update(None, "journal_mode", &self.cfg.journal_mode)
            })?;
            if self.cfg.journal_mode == "wal" {
                conn.pragma_update(None, "synchronous", "NORMAL")
                    .map_err(map_sqlite_error)?;
            }
        }
        conn.pragma_update(None, "foreign_keys", self.cfg.foreign_keys)
            .map_err(map_sqlite_error)?;
        let interrupted = Arc::new(AtomicBool::new(false));
        let flag = interrupted.clone();
        conn.progress_handler(PROGRESS_OPS, Some(move || flag.load(Ordering::Acquire)))
            .map_err(map_sqlite_error)?;
        Ok(SqliteConn { conn, interrupted })
    }
}

/// Run `op` again while it fails with SQLITE_BUSY, for up to `timeout`.
///
/// Changing the journal mode can report BUSY without waiting in the busy handler: three
/// `migrate` processes opening one new database file at once failed this way at connect, about
/// once in six runs on a loaded 2-vCPU machine (tests/migrations/test_check_lint.py, the
/// concurrent migrate test). The wait the connection's busy_timeout promises is done here.
fn retry_while_busy(timeout: std::time::Duration, mut op: impl FnMut() -> rusqlite::Result<()>) -> Result<()> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match op() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return other.map_err(map_sqlite_error),
        }
    }
}

impl Manager for SqliteManager {
    type Type = SqliteConn;
    type Error = EngineError;

    async fn create(&self) -> Result<SqliteConn> {
        super::blocking(|| self.open())
    }

    async fn recycle(&self, conn: &mut SqliteConn, metrics: &Metrics) -> RecycleResult<EngineError> {
        if let Some(max) = self.cfg.pool.max_lifetime {
            // A :memory: database lives only as long as its one connection: never retire it.
            if !self.cfg.is_memory() && metrics.age() > max {
                return Err(RecycleError::message("connection reached max_lifetime"));
            }
        }
        if conn.in_transaction() {
            // A transaction was dropped without commit or rollback: end it before reuse.
            super::blocking(|| conn.batch("ROLLBACK")).map_err(RecycleError::Backend)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::retry_while_busy;
    use crate::error::ErrorKind;

    fn failure(code: std::ffi::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn busy_is_retried_until_it_clears_and_nothing_else_is() {
        let mut busy_left = 3;
        let cleared = retry_while_busy(Duration::from_secs(5), || {
            if busy_left == 0 {
                return Ok(());
            }
            busy_left -= 1;
            Err(failure(rusqlite::ffi::SQLITE_BUSY))
        });
        assert!(cleared.is_ok());
        assert_eq!(busy_left, 0);

        let mut calls = 0;
        let other = retry_while_busy(Duration::from_secs(5), || {
            calls += 1;
            Err(failure(rusqlite::ffi::SQLITE_READONLY))
        });
        assert!(other.is_err());
        assert_eq!(calls, 1, "only BUSY is worth waiting for");
    }

    #[test]
    fn busy_gives_up_at_the_timeout() {
        let started = Instant::now();
        let result = retry_while_busy(Duration::from_millis(50), || Err(failure(rusqlite::ffi::SQLITE_BUSY)));
        let waited = started.elapsed();
        let err = result.expect_err("still busy after the timeout");
        assert_eq!(err.kind, ErrorKind::Operational);
        assert!(
            waited >= Duration::from_millis(50) && waited < Duration::from_secs(2),
            "{waited:?}"
        );
    }
}
