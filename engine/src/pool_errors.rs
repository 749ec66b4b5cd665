//! Mapping deadpool's acquire errors, shared by every pooled backend.

use deadpool::managed::{PoolError, TimeoutType};

use crate::error::{EngineError, ErrorKind};

pub fn map_pool_error(err: PoolError<EngineError>, acquire_timeout: Option<std::time::Duration>) -> EngineError {
    match err {
        PoolError::Timeout(TimeoutType::Wait) => EngineError::new(
            ErrorKind::PoolTimeout,
            format!(
                "no connection became free within the acquire timeout ({:.3} s); raise max_size or acquire_timeout, \
                 or check for connections held by unfinished transactions",
                acquire_timeout.map(|d| d.as_secs_f64()).unwrap_or(0.0)
            ),
        ),
        PoolError::Timeout(TimeoutType::Create) => {
            EngineError::connection("connecting to the database timed out (connect_timeout)")
        }
        PoolError::Timeout(TimeoutType::Recycle) => EngineError::connection("checking a pooled connection timed out"),
        PoolError::Backend(e) => e,
        PoolError::Closed => EngineError::transaction("the pool is closed"),
        PoolError::NoRuntimeSpecified => EngineError::config("the pool has no async runtime (internal error)"),
        PoolError::PostCreateHook(e) => EngineError::connection(format!("setting up a new connection failed: {e}")),
    }
}
