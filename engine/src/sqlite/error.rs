//! Turning rusqlite errors into structured engine errors, with PostgreSQL's SQLSTATEs
//! for constraint violations so callers handle both backends alike.

use rusqlite::ffi;

use crate::error::{EngineError, ErrorKind};

/// `UNIQUE constraint failed: book.isbn` → table `book`, column `isbn`.
fn table_and_column(message: &str) -> (Option<String>, Option<String>) {
    let Some((_, rest)) = message.split_once(": ") else {
        return (None, None);
    };
    let first = rest.split(',').next().unwrap_or("").trim();
    match first.split_once('.') {
        Some((t, c)) => (Some(t.to_string()), Some(c.to_string())),
        None => (None, None),
    }
}

pub fn map_sqlite_error(err: rusqlite::Error) -> EngineError {
    match err {
        rusqlite::Error::SqliteFailure(code, message) => {
            let message = message.unwrap_or_else(|| code.to_string());
            let (kind, sqlstate) = match code.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    (ErrorKind::Integrity, Some("23505"))
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => (ErrorKind::Integrity, Some("23503")),
                ffi::SQLITE_CONSTRAINT_NOTNULL => (ErrorKind::Integrity, Some("23502")),
                ffi::SQLITE_CONSTRAINT_CHECK => (ErrorKind::Integrity, Some("23514")),
                // A foreign key checked at statement end (e.g. deleting a referenced row) comes as
                // a plain SQLITE_CONSTRAINT; its message names it.
                _ if code.code == ffi::ErrorCode::ConstraintViolation && message.contains("FOREIGN KEY") => {
                    (ErrorKind::Integrity, Some("23503"))
                }
                _ => match code.code {
                    ffi::ErrorCode::ConstraintViolation => (ErrorKind::Integrity, Some("23000")),
                    ffi::ErrorCode::OperationInterrupted => (ErrorKind::QueryTimeout, None),
                    ffi::ErrorCode::DatabaseBusy | ffi::ErrorCode::DatabaseLocked => (ErrorKind::Operational, None),
                    ffi::ErrorCode::TooBig | ffi::ErrorCode::TypeMismatch => (ErrorKind::Data, None),
                    ffi::ErrorCode::CannotOpen | ffi::ErrorCode::PermissionDenied | ffi::ErrorCode::ReadOnly => {
                        (ErrorKind::Connection, None)
                    }
                    ffi::ErrorCode::Unknown | ffi::ErrorCode::SchemaChanged => (ErrorKind::Programming, None),
                    _ => (ErrorKind::Operational, None),
                },
            };
            let mut e = EngineError::new(kind, message.clone());
            e.sqlstate = sqlstate.map(str::to_string);
            if kind == ErrorKind::Integrity {
                let (table, column) = table_and_column(&message);
                e.table = table;
                e.column = column;
            }
            e
        }
        rusqlite::Error::ToSqlConversionFailure(inner) => match inner.downcast::<EngineError>() {
            Ok(e) => *e,
            Err(other) => EngineError::data(other.to_string()),
        },
        rusqlite::Error::InvalidParameterCount(given, expected) => EngineError::programming(format!(
            "the statement has {expected} placeholder(s) but {given} parameter(s) were given"
        )),
        rusqlite::Error::MultipleStatement => EngineError::programming(
            "several statements in one string can only run through execute() without parameters",
        ),
        rusqlite::Error::SqlInputError { msg, .. } => EngineError::programming(msg),
        other => EngineError::new(ErrorKind::Operational, other.to_string()),
    }
}
