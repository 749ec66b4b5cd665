//! The conformance suite against the engine's MySQL/MariaDB backend.
//!
//! The server comes from `YARA_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`). Each
//! fixture is a scratch database `yara_conf_<random>`, created here and dropped afterwards.
//! An unreachable server fails the run; it is never skipped.

use yara_conformance::server::{redacted, scratch_name, server_url};
use yara_conformance::{Fixture, TypeNames};
use yara_engine::config::{self, BackendConfig};
use yara_engine::mysql::MySqlBackend;
use yara_engine::{Backend, EngineError};

const DEFAULT_URL: &str = "mysql://root@127.0.0.1:3306/test";

async fn connect(url: &str, options: &[(&str, &str)]) -> Result<MySqlBackend, EngineError> {
    let options: Vec<(String, String)> = options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    match config::parse(url, &options)? {
        BackendConfig::MySql(cfg) => MySqlBackend::connect(cfg).await,
        _ => Err(EngineError::config(
            "YARA_MYSQL_URL must be a mysql:// or mariadb:// URL",
        )),
    }
}

const SQLSTATE_23000: &str = "MySQL reports SQLSTATE 23000 for every integrity violation (the server's error \
                              number, e.g. 1062, is in the error's detail)";
const NO_UNCONSTRAINED_DECIMAL: &str = "MySQL has no unconstrained DECIMAL: the kit's decimal column is \
                                        DECIMAL(65,30), which rounds past 30 fractional digits and refuses more than \
                                        35 integer digits";

/// What MariaDB does differently, each for a reason of the database's own.
const EXPECTED_FAILURES: &[(&str, &str)] = &[
    ("integrity::unique", SQLSTATE_23000),
    ("integrity::primary_key", SQLSTATE_23000),
    ("integrity::unique_in_transaction", SQLSTATE_23000),
    ("integrity::unique_in_execute_many", SQLSTATE_23000),
    ("execute_many::all_or_nothing", SQLSTATE_23000),
    ("integrity::not_null", SQLSTATE_23000),
    ("integrity::foreign_key", SQLSTATE_23000),
    ("integrity::foreign_key_on_delete", SQLSTATE_23000),
    (
        "integrity::check",
        "MariaDB cannot name a column-level CHECK (`col T CONSTRAINT name CHECK (...)`); only table-level CHECKs are named",
    ),
    (
        "basic::returning",
        "MariaDB has RETURNING on INSERT and DELETE, not on UPDATE",
    ),
    ("property::decimal", NO_UNCONSTRAINED_DECIMAL),
    ("property::wide_row", NO_UNCONSTRAINED_DECIMAL),
    ("roundtrip::decimal::max_digits", NO_UNCONSTRAINED_DECIMAL),
    ("roundtrip::decimal::max_digits_all_fraction", NO_UNCONSTRAINED_DECIMAL),
    (
        "roundtrip::json::deep",
        "MariaDB's JSON_VALID check refuses documents nested deeper than 32 levels",
    ),
];

/// A fresh MySQL/MariaDB backend on a scratch database of its own.
async fn mysql() -> Result<Fixture<MySqlBackend>, String> {
    let url = server_url("YARA_MYSQL_URL", DEFAULT_URL);
    let admin = connect(&url, &[("max_size", "1"), ("connect_timeout", "5")])
        .await
        .map_err(|e| {
            format!(
                "MariaDB/MySQL is unreachable at {} ({:?}: {e}). Start a server (make mariadb) or point \
                 YARA_MYSQL_URL at one; the MySQL conformance run fails rather than skips without it",
                redacted(&url),
                e.kind
            )
        })?;
    let name = scratch_name();
    admin
        .execute(
            &format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"),
            vec![],
        )
        .await
        .map_err(|e| format!("cannot create the scratch database {name}: {e}"))?;
    let backend = match connect(&url, &[("dbname", &name), ("max_size", "8")]).await {
        Ok(b) => b,
        Err(e) => {
            let _ = admin
                .execute(&format!("DROP DATABASE IF EXISTS `{name}`"), vec![])
                .await;
            return Err(format!("cannot connect to the scratch database {name}: {e}"));
        }
    };
    let mut fixture = Fixture::new(backend, TypeNames::mysql());
    for (test, reason) in EXPECTED_FAILURES {
        fixture = fixture.expect_failure(*test, *reason);
    }
    Ok(fixture.with_teardown(move || async move {
        let result = admin
            .execute(&format!("DROP DATABASE IF EXISTS `{name}`"), vec![])
            .await;
        admin.close();
        result
            .map(|_| ())
            .map_err(|e| format!("cannot drop the scratch database {name}: {e}"))
    }))
}

yara_conformance::conformance_suite!(mysql);
