//! The conformance suite against the engine's PostgreSQL backend.
//!
//! The server comes from `YARA_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! Each fixture is a scratch database `yara_conf_<random>`, created here and dropped afterwards.
//! An unreachable server fails the run; it is never skipped.

use yara_conformance::server::{redacted, scratch_name, server_url};
use yara_conformance::{Fixture, TypeNames};
use yara_engine::config::{self, BackendConfig};
use yara_engine::postgres::PgBackend;
use yara_engine::{Backend, EngineError};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

async fn connect(url: &str, options: &[(&str, &str)]) -> Result<PgBackend, EngineError> {
    let options: Vec<(String, String)> = options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    match config::parse(url, &options)? {
        BackendConfig::Postgres(cfg) => PgBackend::connect(cfg).await,
        _ => Err(EngineError::config(
            "YARA_PG_URL must be a postgres:// or postgresql:// URL",
        )),
    }
}

/// A fresh PostgreSQL backend on a scratch database of its own.
async fn postgres() -> Result<Fixture<PgBackend>, String> {
    let url = server_url("YARA_PG_URL", DEFAULT_URL);
    let admin = connect(&url, &[("max_size", "1"), ("connect_timeout", "5")])
        .await
        .map_err(|e| {
            format!(
                "PostgreSQL is unreachable at {} ({:?}: {e}). Start a server (make pg) or point YARA_PG_URL at one; \
                 the PostgreSQL conformance run fails rather than skips without it",
                redacted(&url),
                e.kind
            )
        })?;
    let name = scratch_name();
    admin
        .execute(&format!("CREATE DATABASE {name}"), vec![])
        .await
        .map_err(|e| format!("cannot create the scratch database {name}: {e}"))?;
    let backend = match connect(&url, &[("dbname", &name), ("max_size", "8")]).await {
        Ok(b) => b,
        Err(e) => {
            let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {name}"), vec![]).await;
            return Err(format!("cannot connect to the scratch database {name}: {e}"));
        }
    };
    Ok(
        Fixture::new(backend, TypeNames::postgres()).with_teardown(move || async move {
            let forced = admin
                .execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), vec![])
                .await;
            let result = match forced {
                Ok(_) => Ok(()),
                // Servers before 13 have no FORCE option.
                Err(_) => admin
                    .execute(&format!("DROP DATABASE IF EXISTS {name}"), vec![])
                    .await
                    .map(|_| ()),
            };
            admin.close();
            result.map_err(|e| format!("cannot drop the scratch database {name}: {e}"))
        }),
    )
}

yara_conformance::conformance_suite!(postgres);
