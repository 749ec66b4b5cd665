//! The compiled engine of Yara ORM.
//!
//! Pooling, parameter binding, type conversion, positional row decoding and statement
//! caching for PostgreSQL, MySQL/MariaDB and SQLite, behind one `Backend` trait. With the `python`
//! feature it is also the `yara_orm._engine` extension module.

pub mod any;
pub mod backend;
pub mod batches;
pub mod cancel;
pub mod config;
pub mod error;
pub mod mysql;
mod pool_errors;
mod pooled;
pub mod postgres;
pub mod sqlite;
pub mod value;

#[cfg(feature = "python")]
mod python;

pub use any::{connect, AnyBackend};
pub use backend::{Backend, Capabilities, Cursor, IsolationLevel, PoolStatus, Transaction};
pub use error::{EngineError, ErrorKind, Result};
pub use value::{Interval, Rows, Value};
