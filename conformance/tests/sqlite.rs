//! The conformance suite against the engine's SQLite backend.
//!
//! Each fixture is a temporary database file (WAL mode, a pool of 4 connections), deleted
//! afterwards.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use yara_conformance::{Fixture, TypeNames};
use yara_engine::config::{self, BackendConfig};
use yara_engine::sqlite::SqliteBackend;
use yara_engine::EngineError;

fn scratch_path() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("yara_conf_{:x}_{nanos:x}.db", std::process::id()))
}

/// A fresh SQLite backend on a temporary file of its own.
async fn sqlite() -> Result<Fixture<SqliteBackend>, EngineError> {
    let path = scratch_path();
    let url = format!("sqlite://{}", path.display());
    let options = vec![("max_size".to_string(), "4".to_string())];
    let BackendConfig::Sqlite(cfg) = config::parse(&url, &options)? else {
        return Err(EngineError::config(format!("{url} is not a SQLite URL")));
    };
    let backend = SqliteBackend::connect(cfg).await?;
    Ok(
        Fixture::new(backend, TypeNames::sqlite()).with_teardown(move || async move {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.clone().into_os_string();
                file.push(suffix);
                match std::fs::remove_file(&file) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            Ok(())
        }),
    )
}

yara_conformance::conformance_suite!(sqlite);
