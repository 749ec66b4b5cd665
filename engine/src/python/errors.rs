//! Engine errors as instances of `yara_orm.exceptions` classes.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::{EngineError, ErrorKind};

fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        // A bad URL or option: also a ValueError on the Python side.
        ErrorKind::Configuration => "ConnectionConfigError",
        ErrorKind::Connection => "DBConnectionError",
        ErrorKind::PoolTimeout => "PoolTimeoutError",
        ErrorKind::QueryTimeout => "QueryTimeoutError",
        ErrorKind::Integrity => "IntegrityError",
        ErrorKind::Serialization => "SerializationError",
        ErrorKind::Deadlock => "DeadlockError",
        ErrorKind::Data => "DataError",
        ErrorKind::Programming => "ProgrammingError",
        ErrorKind::TransactionManagement => "TransactionManagementError",
        ErrorKind::Params => "ParamsError",
        ErrorKind::Operational => "OperationalError",
    }
}

/// Whether the class takes the structured keyword arguments (OperationalError and below).
fn is_operational(kind: ErrorKind) -> bool {
    !matches!(kind, ErrorKind::Configuration | ErrorKind::Params)
}

fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("yara_orm.exceptions")?.getattr(name)
}

fn build(py: Python<'_>, err: &EngineError) -> PyResult<PyErr> {
    let class = class(py, class_name(err.kind))?;
    let instance = if is_operational(err.kind) {
        let kwargs = PyDict::new(py);
        kwargs.set_item("sqlstate", err.sqlstate.as_deref())?;
        kwargs.set_item("constraint", err.constraint.as_deref())?;
        kwargs.set_item("table", err.table.as_deref())?;
        kwargs.set_item("column", err.column.as_deref())?;
        kwargs.set_item("detail", err.detail.as_deref())?;
        class.call((err.message.as_str(),), Some(&kwargs))?
    } else {
        class.call1((err.message.as_str(),))?
    };
    Ok(PyErr::from_value(instance))
}

pub fn to_pyerr(py: Python<'_>, err: &EngineError) -> PyErr {
    build(py, err).unwrap_or_else(|e| e)
}

/// A plain `ConfigurationError`: a bad setting that is not a connection's (the runtime's worker
/// threads and busy-poll window), so not the `ConnectionConfigError` of `ErrorKind::Configuration`.
pub fn configuration_error(py: Python<'_>, message: String) -> PyErr {
    match class(py, "ConfigurationError").and_then(|c| c.call1((message,))) {
        Ok(instance) => PyErr::from_value(instance),
        Err(e) => e,
    }
}

/// A Python exception from our hierarchy for a bad parameter, raised before anything runs.
pub fn params_error(py: Python<'_>, message: String) -> PyErr {
    to_pyerr(py, &EngineError::params(message))
}
