//! Turning tokio-postgres errors into structured engine errors.

use std::error::Error as _;

use super::bind::BindError;
use crate::error::{kind_for_sqlstate, EngineError, ErrorKind};

/// Map a driver error, keeping every field the server reported.
pub fn map_pg_error(err: tokio_postgres::Error) -> EngineError {
    if let Some(db) = err.as_db_error() {
        let code = db.code().code();
        let mut e = EngineError::new(kind_for_sqlstate(code), db.message().to_string());
        e.sqlstate = Some(code.to_string());
        e.constraint = db.constraint().map(str::to_string);
        e.table = db.table().map(str::to_string);
        e.column = db.column().map(str::to_string);
        e.detail = db.detail().map(str::to_string);
        return e;
    }
    // A parameter our binder refused: name it, and keep the binder's message.
    if let Some(source) = err.source() {
        if let Some(bind) = source.downcast_ref::<BindError>() {
            return EngineError::data(format!("{err}: {bind}"));
        }
    }
    if err.is_closed() {
        return EngineError::connection(format!("the connection to PostgreSQL is closed: {err}"));
    }
    let text = match err.source() {
        Some(source) => format!("{err}: {source}"),
        None => err.to_string(),
    };
    let kind = if text.contains("error connecting")
        || text.contains("error communicating")
        || text.contains("error performing TLS")
        || text.contains("timeout")
    {
        ErrorKind::Connection
    } else if text.contains("error serializing parameter") || text.contains("error deserializing") {
        ErrorKind::Data
    } else if text.contains("expected") && text.contains("parameters") {
        ErrorKind::Programming
    } else {
        ErrorKind::Operational
    };
    EngineError::new(kind, text)
}
