//! Engine errors. Each maps to one class of `yara_orm.exceptions` on the Python side.

use thiserror::Error;

/// What went wrong, as the Python exception hierarchy classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad URL or option.
    Configuration,
    /// Cannot connect, or the connection was lost.
    Connection,
    /// No connection became free within the acquire timeout.
    PoolTimeout,
    /// The statement exceeded the statement timeout.
    QueryTimeout,
    /// Unique, foreign key, not-null or check violation.
    Integrity,
    /// Serialization failure (40001).
    Serialization,
    /// Deadlock detected (40P01).
    Deadlock,
    /// A value the target type cannot hold.
    Data,
    /// Malformed SQL, unknown relation, wrong parameter count.
    Programming,
    /// A transaction used after it finished, or a pool used after close.
    TransactionManagement,
    /// A parameter the engine cannot bind.
    Params,
    /// Anything else the server reported.
    Operational,
}

/// An engine error with the structured fields the server reported. Boxed so `Result`s stay
/// small on the hot path; fields read through `Deref` (`err.sqlstate`).
#[derive(Debug, Clone, Error)]
#[error("{}", .0.message)]
pub struct EngineError(Box<ErrorDetails>);

#[derive(Debug, Clone)]
pub struct ErrorDetails {
    pub kind: ErrorKind,
    pub message: String,
    pub sqlstate: Option<String>,
    pub constraint: Option<String>,
    pub table: Option<String>,
    pub column: Option<String>,
    pub detail: Option<String>,
}

impl EngineError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        EngineError(Box::new(ErrorDetails {
            kind,
            message: message.into(),
            sqlstate: None,
            constraint: None,
            table: None,
            column: None,
            detail: None,
        }))
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Configuration, message)
    }

    pub fn connection(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Connection, message)
    }

    pub fn data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Data, message)
    }

    pub fn params(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Params, message)
    }

    pub fn programming(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Programming, message)
    }

    pub fn transaction(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::TransactionManagement, message)
    }

    pub fn with_sqlstate(mut self, sqlstate: impl Into<String>) -> Self {
        self.sqlstate = Some(sqlstate.into());
        self
    }
}

impl std::ops::Deref for EngineError {
    type Target = ErrorDetails;

    fn deref(&self) -> &ErrorDetails {
        &self.0
    }
}

impl std::ops::DerefMut for EngineError {
    fn deref_mut(&mut self) -> &mut ErrorDetails {
        &mut self.0
    }
}

/// Classify an SQLSTATE code (shared by every backend that reports one).
pub fn kind_for_sqlstate(code: &str) -> ErrorKind {
    match code {
        "40001" => ErrorKind::Serialization,
        "40P01" => ErrorKind::Deadlock,
        "57014" => ErrorKind::QueryTimeout,
        _ => match code.get(..2) {
            Some("23") => ErrorKind::Integrity,
            Some("22") => ErrorKind::Data,
            Some("42") | Some("26") | Some("07") => ErrorKind::Programming,
            Some("08") | Some("57") | Some("53") => ErrorKind::Connection,
            Some("25") => ErrorKind::TransactionManagement,
            _ => ErrorKind::Operational,
        },
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;
