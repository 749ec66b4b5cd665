//! One type over every built-in backend, chosen from the URL.

use crate::backend::{Backend, Capabilities, Cursor, IsolationLevel, PoolStatus, Transaction};
use crate::batches::RowSink;
use crate::config::{self, BackendConfig};
use crate::error::Result;
use crate::mysql::{MySqlBackend, MySqlCursor, MySqlTransaction};
use crate::postgres::{PgBackend, PgCursor, PgTransaction};
use crate::sqlite::{SqliteBackend, SqliteCursor, SqliteTransaction};
use crate::value::{Rows, Value};

pub enum AnyBackend {
    Postgres(PgBackend),
    MySql(MySqlBackend),
    Sqlite(SqliteBackend),
}

pub enum AnyTransaction {
    Postgres(PgTransaction),
    MySql(MySqlTransaction),
    Sqlite(SqliteTransaction),
}

pub enum AnyCursor {
    Postgres(PgCursor),
    MySql(MySqlCursor),
    Sqlite(SqliteCursor),
}

/// Open a pool for `url`; `options` override the URL's query parameters.
pub async fn connect(url: &str, options: &[(String, String)]) -> Result<AnyBackend> {
    match config::parse(url, options)? {
        BackendConfig::Postgres(cfg) => Ok(AnyBackend::Postgres(PgBackend::connect(cfg).await?)),
        BackendConfig::MySql(cfg) => Ok(AnyBackend::MySql(MySqlBackend::connect(cfg).await?)),
        BackendConfig::Sqlite(cfg) => Ok(AnyBackend::Sqlite(SqliteBackend::connect(cfg).await?)),
    }
}

/// Forward a call to whichever backend the value holds.
macro_rules! dispatch {
    ($self:expr, $enum:ident, $b:ident => $call:expr) => {
        match $self {
            $enum::Postgres($b) => $call,
            $enum::MySql($b) => $call,
            $enum::Sqlite($b) => $call,
        }
    };
}

impl Backend for AnyBackend {
    type Tx = AnyTransaction;
    type Cursor = AnyCursor;

    fn capabilities(&self) -> &Capabilities {
        dispatch!(self, AnyBackend, b => b.capabilities())
    }

    async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64> {
        dispatch!(self, AnyBackend, b => b.execute(sql, params).await)
    }

    async fn execute_insert(&self, sql: &str, params: Vec<Value>) -> Result<(u64, Option<u64>)> {
        dispatch!(self, AnyBackend, b => b.execute_insert(sql, params).await)
    }

    async fn fetch(&self, sql: &str, params: Vec<Value>) -> Result<Rows> {
        dispatch!(self, AnyBackend, b => b.fetch(sql, params).await)
    }

    async fn fetch_batched(&self, sql: &str, params: Vec<Value>, sink: &mut RowSink<'_>) -> Result<()> {
        dispatch!(self, AnyBackend, b => b.fetch_batched(sql, params, sink).await)
    }

    async fn fetch_one(&self, sql: &str, params: Vec<Value>) -> Result<Option<Vec<Value>>> {
        dispatch!(self, AnyBackend, b => b.fetch_one(sql, params).await)
    }

    async fn copy_in(&self, copy_sql: &str, types_from: &str, columns: Vec<Vec<Value>>) -> Result<u64> {
        dispatch!(self, AnyBackend, b => b.copy_in(copy_sql, types_from, columns).await)
    }

    async fn execute_many(&self, sql: &str, params: Vec<Vec<Value>>) -> Result<u64> {
        dispatch!(self, AnyBackend, b => b.execute_many(sql, params).await)
    }

    async fn begin(&self, isolation: Option<IsolationLevel>) -> Result<AnyTransaction> {
        match self {
            AnyBackend::Postgres(b) => b.begin(isolation).await.map(AnyTransaction::Postgres),
            AnyBackend::MySql(b) => b.begin(isolation).await.map(AnyTransaction::MySql),
            AnyBackend::Sqlite(b) => b.begin(isolation).await.map(AnyTransaction::Sqlite),
        }
    }

    async fn cursor(&self, sql: &str, params: Vec<Value>, chunk_size: usize) -> Result<AnyCursor> {
        match self {
            AnyBackend::Postgres(b) => b.cursor(sql, params, chunk_size).await.map(AnyCursor::Postgres),
            AnyBackend::MySql(b) => b.cursor(sql, params, chunk_size).await.map(AnyCursor::MySql),
            AnyBackend::Sqlite(b) => b.cursor(sql, params, chunk_size).await.map(AnyCursor::Sqlite),
        }
    }

    async fn server_version(&self) -> Result<String> {
        dispatch!(self, AnyBackend, b => b.server_version().await)
    }

    fn close(&self) {
        dispatch!(self, AnyBackend, b => b.close())
    }

    fn is_closed(&self) -> bool {
        dispatch!(self, AnyBackend, b => b.is_closed())
    }

    fn status(&self) -> PoolStatus {
        dispatch!(self, AnyBackend, b => b.status())
    }
}

impl Transaction for AnyTransaction {
    async fn execute(&mut self, sql: &str, params: Vec<Value>) -> Result<u64> {
        dispatch!(self, AnyTransaction, t => t.execute(sql, params).await)
    }

    async fn execute_insert(&mut self, sql: &str, params: Vec<Value>) -> Result<(u64, Option<u64>)> {
        dispatch!(self, AnyTransaction, t => t.execute_insert(sql, params).await)
    }

    async fn fetch(&mut self, sql: &str, params: Vec<Value>) -> Result<Rows> {
        dispatch!(self, AnyTransaction, t => t.fetch(sql, params).await)
    }

    async fn fetch_batched(&mut self, sql: &str, params: Vec<Value>, sink: &mut RowSink<'_>) -> Result<()> {
        dispatch!(self, AnyTransaction, t => t.fetch_batched(sql, params, sink).await)
    }

    async fn fetch_one(&mut self, sql: &str, params: Vec<Value>) -> Result<Option<Vec<Value>>> {
        dispatch!(self, AnyTransaction, t => t.fetch_one(sql, params).await)
    }

    async fn copy_in(&mut self, copy_sql: &str, types_from: &str, columns: Vec<Vec<Value>>) -> Result<u64> {
        dispatch!(self, AnyTransaction, t => t.copy_in(copy_sql, types_from, columns).await)
    }

    async fn execute_many(&mut self, sql: &str, params: Vec<Vec<Value>>) -> Result<u64> {
        dispatch!(self, AnyTransaction, t => t.execute_many(sql, params).await)
    }

    async fn savepoint(&mut self, name: &str) -> Result<()> {
        dispatch!(self, AnyTransaction, t => t.savepoint(name).await)
    }

    async fn rollback_to(&mut self, name: &str) -> Result<()> {
        dispatch!(self, AnyTransaction, t => t.rollback_to(name).await)
    }

    async fn release(&mut self, name: &str) -> Result<()> {
        dispatch!(self, AnyTransaction, t => t.release(name).await)
    }

    async fn commit(self) -> Result<()> {
        dispatch!(self, AnyTransaction, t => t.commit().await)
    }

    async fn rollback(self) -> Result<()> {
        dispatch!(self, AnyTransaction, t => t.rollback().await)
    }
}

impl Cursor for AnyCursor {
    fn columns(&self) -> &[String] {
        dispatch!(self, AnyCursor, c => c.columns())
    }

    async fn next_chunk(&mut self) -> Result<Rows> {
        dispatch!(self, AnyCursor, c => c.next_chunk().await)
    }
}
