//! The `Backend` trait every database implements, and what a backend declares about itself.

use std::future::Future;

use crate::batches::RowSink;
use crate::error::{EngineError, Result};
use crate::value::{Rows, Value};

/// What `copy_in` returns on a backend without bulk load (one that leaves the `copy_in`
/// capability false).
pub fn copy_unsupported() -> EngineError {
    EngineError::programming("this backend has no bulk load (COPY); it does not declare `copy_in`")
}

/// Transaction isolation levels, as SQL names them.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationLevel {
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

impl IsolationLevel {
    pub fn parse(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().replace([' ', '-'], "_").as_str() {
            "read_uncommitted" => Ok(Self::ReadUncommitted),
            "read_committed" => Ok(Self::ReadCommitted),
            "repeatable_read" => Ok(Self::RepeatableRead),
            "serializable" => Ok(Self::Serializable),
            _ => Err(EngineError::params(format!(
                "unknown isolation level {name:?} (read_uncommitted, read_committed, repeatable_read, serializable)"
            ))),
        }
    }

    pub fn sql(&self) -> &'static str {
        match self {
            Self::ReadUncommitted => "READ UNCOMMITTED",
            Self::ReadCommitted => "READ COMMITTED",
            Self::RepeatableRead => "REPEATABLE READ",
            Self::Serializable => "SERIALIZABLE",
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::ReadUncommitted => "read_uncommitted",
            Self::ReadCommitted => "read_committed",
            Self::RepeatableRead => "repeatable_read",
            Self::Serializable => "serializable",
        }
    }
}

/// What a backend supports. Tests (and the ORM's dialects) consult this, never the backend's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Capabilities {
    pub backend: &'static str,
    pub max_bind_params: usize,
    pub returning: bool,
    pub savepoints: bool,
    pub isolation_levels: Vec<IsolationLevel>,
    /// Smallest timestamp step the backend keeps, in microseconds.
    pub timestamp_precision_us: u32,
    /// Years representable by the date type (inclusive).
    pub date_range: (i32, i32),
    pub float_nan: bool,
    pub float_infinity: bool,
    /// Whether -0.0 keeps its sign when stored in a float column.
    pub float_signed_zero: bool,
    pub text_allows_nul: bool,
    pub empty_string_is_null: bool,
    pub json: bool,
    pub arrays: bool,
    pub interval: bool,
    /// Significant digits an exact decimal keeps.
    pub numeric_max_digits: u32,
    /// Whether NUMERIC can hold NaN / Infinity.
    pub numeric_special: bool,
    /// Integers beyond int64 stored exactly (in a NUMERIC column).
    pub big_integers: bool,
    pub for_update: bool,
    pub skip_locked: bool,
    pub statement_timeout: bool,
    pub streaming: bool,
    /// `copy_in` loads rows in bulk (otherwise it fails with a Programming error).
    pub copy_in: bool,
    /// `execute_insert` reports the first key an INSERT generated (MySQL's LAST_INSERT_ID): how
    /// keys are learnt where `returning` is false.
    pub last_insert_id: bool,
    /// The keys of one multi-row INSERT are the first plus multiples of this step; 0 when the
    /// server does not promise consecutive keys (InnoDB's `innodb_autoinc_lock_mode = 2`).
    pub insert_id_step: u64,
    /// Placeholder style: `$1` (dollar), `?1` (question) or a plain positional `?` (qmark).
    pub placeholder: &'static str,
}

/// A database backend: a pool of connections that runs SQL with bound parameters.
///
/// Futures are `Send` so the engine can drive them on any runtime worker.
pub trait Backend: Send + Sync + 'static {
    type Tx: Transaction;
    type Cursor: Cursor;

    fn capabilities(&self) -> &Capabilities;
    /// Run one statement; the number of rows affected.
    fn execute(&self, sql: &str, params: Vec<Value>) -> impl Future<Output = Result<u64>> + Send;
    /// Run one INSERT; the rows affected and, on a backend declaring `last_insert_id`, the
    /// first key it generated. The default reports no key.
    fn execute_insert(&self, sql: &str, params: Vec<Value>) -> impl Future<Output = Result<(u64, Option<u64>)>> + Send {
        async move { Ok((self.execute(sql, params).await?, None)) }
    }
    /// Run a query; all rows, positionally.
    fn fetch(&self, sql: &str, params: Vec<Value>) -> impl Future<Output = Result<Rows>> + Send;
    /// Like `fetch`, handing the rows to `sink` in batches as they arrive (see
    /// [`crate::batches`]), so the consumer can work on the first rows while the rest are read.
    /// The default hands the whole result over as one batch.
    fn fetch_batched(
        &self,
        sql: &str,
        params: Vec<Value>,
        sink: &mut RowSink<'_>,
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            sink(self.fetch(sql, params).await?);
            Ok(())
        }
    }
    /// Run a query; its first row only (the rest are discarded).
    fn fetch_one(&self, sql: &str, params: Vec<Value>) -> impl Future<Output = Result<Option<Vec<Value>>>> + Send;
    /// Run one statement once per parameter set, on one connection; the total rows affected.
    fn execute_many(&self, sql: &str, params: Vec<Vec<Value>>) -> impl Future<Output = Result<u64>> + Send;
    /// Load many rows at once (PostgreSQL: `COPY ... FROM STDIN` in the binary format), for
    /// backends that declare the `copy_in` capability. `copy_sql` is the backend's bulk-load
    /// statement, `types_from` a statement whose parameters have the target columns' types (the
    /// one-row INSERT), `columns` the values column by column. Returns the rows stored.
    ///
    /// The method and the capability are a pair, so there is no default: a backend without bulk
    /// load returns `Err(copy_unsupported())` and leaves the capability false, and a wrapper that
    /// forwards `capabilities()` cannot compile without deciding what its `copy_in` does. The
    /// conformance suite checks the pair both ways (`copy_in::*`).
    fn copy_in(
        &self,
        copy_sql: &str,
        types_from: &str,
        columns: Vec<Vec<Value>>,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// Open a transaction on a connection of its own.
    fn begin(&self, isolation: Option<IsolationLevel>) -> impl Future<Output = Result<Self::Tx>> + Send;
    /// Stream a query's rows `chunk_size` at a time, holding one connection.
    fn cursor(
        &self,
        sql: &str,
        params: Vec<Value>,
        chunk_size: usize,
    ) -> impl Future<Output = Result<Self::Cursor>> + Send;
    /// The server's version string.
    fn server_version(&self) -> impl Future<Output = Result<String>> + Send;
    /// Close every idle connection and refuse new work.
    fn close(&self);
    fn is_closed(&self) -> bool;
    fn status(&self) -> PoolStatus;
}

/// Pool counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub size: usize,
    pub available: usize,
    pub max_size: usize,
    pub waiting: usize,
}

/// One open transaction. Dropped while still open, it is rolled back (or its connection discarded).
pub trait Transaction: Send + 'static {
    fn execute(&mut self, sql: &str, params: Vec<Value>) -> impl Future<Output = Result<u64>> + Send;
    /// See [`Backend::execute_insert`].
    fn execute_insert(
        &mut self,
        sql: &str,
        params: Vec<Value>,
    ) -> impl Future<Output = Result<(u64, Option<u64>)>> + Send {
        async move { Ok((self.execute(sql, params).await?, None)) }
    }
    fn fetch(&mut self, sql: &str, params: Vec<Value>) -> impl Future<Output = Result<Rows>> + Send;
    /// See [`Backend::fetch_batched`].
    fn fetch_batched(
        &mut self,
        sql: &str,
        params: Vec<Value>,
        sink: &mut RowSink<'_>,
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            sink(self.fetch(sql, params).await?);
            Ok(())
        }
    }
    fn fetch_one(&mut self, sql: &str, params: Vec<Value>) -> impl Future<Output = Result<Option<Vec<Value>>>> + Send;
    fn execute_many(&mut self, sql: &str, params: Vec<Vec<Value>>) -> impl Future<Output = Result<u64>> + Send;
    /// See [`Backend::copy_in`] (required here too, for the same reason).
    fn copy_in(
        &mut self,
        copy_sql: &str,
        types_from: &str,
        columns: Vec<Vec<Value>>,
    ) -> impl Future<Output = Result<u64>> + Send;
    fn savepoint(&mut self, name: &str) -> impl Future<Output = Result<()>> + Send;
    fn rollback_to(&mut self, name: &str) -> impl Future<Output = Result<()>> + Send;
    fn release(&mut self, name: &str) -> impl Future<Output = Result<()>> + Send;
    fn commit(self) -> impl Future<Output = Result<()>> + Send;
    fn rollback(self) -> impl Future<Output = Result<()>> + Send;
}

/// A server-side stream over one query.
pub trait Cursor: Send + 'static {
    fn columns(&self) -> &[String];
    /// The next chunk; empty once exhausted.
    fn next_chunk(&mut self) -> impl Future<Output = Result<Rows>> + Send;
}

/// `Backend::execute_many` as all or nothing: the sets run in a transaction of their own,
/// committed once every set succeeded and rolled back at the first failure.
pub async fn execute_many_in_transaction<B: Backend>(backend: &B, sql: &str, params: Vec<Vec<Value>>) -> Result<u64> {
    let mut tx = backend.begin(None).await?;
    match tx.execute_many(sql, params).await {
        Ok(count) => tx.commit().await.map(|_| count),
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// Savepoint names are identifiers spliced into SQL, so only plain ones are allowed.
pub fn check_savepoint_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(EngineError::params(format!(
            "savepoint name {name:?} must be a plain identifier (letters, digits, underscore)"
        )))
    }
}
