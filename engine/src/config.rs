//! Connection URLs and options. The backend is chosen from the URL scheme here, and only here.

use std::path::PathBuf;
use std::time::Duration;

use percent_encoding::percent_decode_str;

use crate::error::{EngineError, Result};

/// TLS policy for PostgreSQL, as libpq's `sslmode` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// Options every pool understands.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_size: usize,
    pub min_size: usize,
    pub acquire_timeout: Option<Duration>,
    pub max_lifetime: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct PgConfig {
    pub hosts: Vec<String>,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
    pub pool: PoolOptions,
    pub connect_timeout: Duration,
    pub statement_timeout: Option<Duration>,
    pub statement_cache_size: usize,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
    pub application_name: String,
    /// The session's `search_path` (a Tortoise `schema` credential), if given.
    pub search_path: Option<String>,
}

/// TLS policy for MySQL/MariaDB (the same names as PostgreSQL's `sslmode`; `prefer` is not
/// offered because the driver cannot fall back to plain text after a failed handshake).
#[derive(Debug, Clone)]
pub struct MySqlConfig {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
    pub pool: PoolOptions,
    pub connect_timeout: Duration,
    pub statement_timeout: Option<Duration>,
    pub statement_cache_size: usize,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
    /// Use `INSERT ... RETURNING` where the server has it (MariaDB 10.5+). False makes the
    /// backend behave as on MySQL: generated keys come from LAST_INSERT_ID.
    pub returning: bool,
}

#[derive(Debug, Clone)]
pub struct SqliteConfig {
    /// A file path, or `:memory:`.
    pub path: String,
    pub pool: PoolOptions,
    pub busy_timeout: Duration,
    pub journal_mode: String,
    pub foreign_keys: bool,
    pub statement_cache_size: usize,
    /// How the file is opened (SQLite's own `mode=` URI parameter).
    pub mode: SqliteMode,
}

/// SQLite's `mode=` values: `rwc` (the default) creates the file, `rw` needs it to exist, `ro`
/// opens it read-only, `memory` ignores it and uses a private in-memory database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteMode {
    ReadWriteCreate,
    ReadWrite,
    ReadOnly,
    Memory,
}

impl SqliteConfig {
    pub fn is_memory(&self) -> bool {
        self.path == ":memory:" || self.path.is_empty() || self.mode == SqliteMode::Memory
    }
}

/// Which backend a URL names, with its parsed configuration.
#[derive(Debug, Clone)]
pub enum BackendConfig {
    Postgres(PgConfig),
    MySql(MySqlConfig),
    Sqlite(SqliteConfig),
}

/// Parse a URL plus keyword options (which override the URL query).
pub fn parse(url: &str, options: &[(String, String)]) -> Result<BackendConfig> {
    let scheme = url
        .split_once("://")
        .map(|(s, _)| s.to_ascii_lowercase())
        .ok_or_else(|| {
            EngineError::config(
                "database URL has no scheme: expected postgres://..., postgresql://..., mysql://..., mariadb://... \
                 or sqlite://...",
            )
        })?;
    match scheme.as_str() {
        "postgres" | "postgresql" => parse_postgres(url, options).map(BackendConfig::Postgres),
        "mysql" | "mariadb" => parse_mysql(url, options).map(BackendConfig::MySql),
        "sqlite" => parse_sqlite(url, options).map(BackendConfig::Sqlite),
        other => Err(EngineError::config(format!(
            "unknown database URL scheme {other:?}: expected postgres, postgresql, mysql, mariadb or sqlite"
        ))),
    }
}

/// Query pairs from the URL followed by the keyword options, so later ones win.
fn merged_options(query: Option<&str>, options: &[(String, String)]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    if let Some(q) = query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            out.push((decode(k, "option name")?, decode(v, "option value")?));
        }
    }
    out.extend(options.iter().cloned());
    Ok(out)
}

fn decode(s: &str, what: &str) -> Result<String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| {
            EngineError::config(format!(
                "database URL: {what} is not valid UTF-8 after percent-decoding"
            ))
        })
}

fn parse_seconds(name: &str, value: &str) -> Result<Option<Duration>> {
    let secs: f64 = value
        .trim()
        .parse()
        .map_err(|_| EngineError::config(format!("option {name}: expected seconds as a number, got {value:?}")))?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(EngineError::config(format!(
            "option {name}: expected a non-negative number of seconds, got {value:?}"
        )));
    }
    // 0 means "no limit" for every timeout option.
    Ok(if secs == 0.0 {
        None
    } else {
        Some(Duration::from_secs_f64(secs))
    })
}

fn parse_usize(name: &str, value: &str) -> Result<usize> {
    value
        .trim()
        .parse()
        .map_err(|_| EngineError::config(format!("option {name}: expected a non-negative integer, got {value:?}")))
}

fn parse_bool(name: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Ok(true),
        "0" | "false" | "off" | "no" => Ok(false),
        _ => Err(EngineError::config(format!(
            "option {name}: expected true or false, got {value:?}"
        ))),
    }
}

/// Apply an option common to every pool; `false` when the name is not a pool option.
fn apply_pool_option(pool: &mut PoolOptions, name: &str, value: &str) -> Result<bool> {
    match name {
        "max_size" | "maxsize" => {
            pool.max_size = parse_usize(name, value)?;
            if pool.max_size == 0 {
                return Err(EngineError::config("option max_size: must be at least 1"));
            }
        }
        "min_size" | "minsize" => pool.min_size = parse_usize(name, value)?,
        "acquire_timeout" => pool.acquire_timeout = parse_seconds(name, value)?,
        "max_lifetime" | "max_inactive_connection_lifetime" => pool.max_lifetime = parse_seconds(name, value)?,
        _ => return Ok(false),
    }
    Ok(true)
}

fn check_pool(pool: &PoolOptions) -> Result<()> {
    if pool.min_size > pool.max_size {
        return Err(EngineError::config(format!(
            "option min_size ({}) is larger than max_size ({})",
            pool.min_size, pool.max_size
        )));
    }
    Ok(())
}

/// What a server URL says (PostgreSQL's or MySQL's), with the options both backends share
/// applied: one parse, so the two cannot drift in what they accept.
struct ServerSettings {
    hosts: Vec<String>,
    port: u16,
    user: String,
    password: Option<String>,
    dbname: String,
    pool: PoolOptions,
    connect_timeout: Duration,
    statement_timeout: Option<Duration>,
    statement_cache_size: usize,
    sslmode: SslMode,
    sslrootcert: Option<PathBuf>,
}

/// How one server backend spells its URL: its name in messages, the example shown, defaults, and
/// the options only it has (listed in the "unknown option" message).
struct ServerUrl {
    name: &'static str,
    example: &'static str,
    default_port: u16,
    default_sslmode: SslMode,
    /// Whether `sslmode=prefer` is offered (the MySQL driver cannot fall back to plain text
    /// after a failed handshake).
    prefer: bool,
    own_options: &'static str,
}

/// Parse `url` and `options` for a server backend. `own` sees each option the shared set does
/// not know first and returns whether it took it; anything left is an error naming the known
/// options.
fn parse_server(
    url: &str,
    options: &[(String, String)],
    kind: &ServerUrl,
    mut own: impl FnMut(&str, String) -> Result<bool>,
) -> Result<ServerSettings> {
    // The url crate reports errors without echoing the input, so no password can leak.
    let parsed = url::Url::parse(url)
        .map_err(|e| EngineError::config(format!("malformed {} URL: {e} (expected {})", kind.name, kind.example)))?;
    let mut s = ServerSettings {
        hosts: parsed
            .host_str()
            .map(|h| h.trim_matches(['[', ']']).to_string())
            .into_iter()
            .collect(),
        port: parsed.port().unwrap_or(kind.default_port),
        user: decode(parsed.username(), "user name")?,
        password: match parsed.password() {
            Some(p) => Some(decode(p, "password")?),
            None => None,
        },
        dbname: decode(parsed.path().trim_start_matches('/'), "database name")?,
        pool: PoolOptions {
            max_size: 10,
            min_size: 0,
            acquire_timeout: Some(Duration::from_secs(30)),
            max_lifetime: None,
        },
        connect_timeout: Duration::from_secs(10),
        statement_timeout: None,
        statement_cache_size: 256,
        sslmode: kind.default_sslmode,
        sslrootcert: None,
    };
    for (name, value) in merged_options(parsed.query(), options)? {
        if apply_pool_option(&mut s.pool, &name, &value)? {
            continue;
        }
        match name.as_str() {
            "host" => s.hosts = value.split(',').map(str::to_string).collect(),
            "port" => {
                s.port = value
                    .trim()
                    .parse()
                    .map_err(|_| EngineError::config(format!("option port: expected a port number, got {value:?}")))?
            }
            "user" => s.user = value,
            "password" => s.password = Some(value),
            "dbname" | "database" | "db" => s.dbname = value,
            "connect_timeout" | "timeout" => {
                s.connect_timeout = parse_seconds(&name, &value)?.unwrap_or(Duration::from_secs(3600))
            }
            "statement_timeout" | "command_timeout" => s.statement_timeout = parse_seconds(&name, &value)?,
            "statement_cache_size" => s.statement_cache_size = parse_usize(&name, &value)?,
            "sslrootcert" => s.sslrootcert = Some(PathBuf::from(value)),
            "sslmode" | "ssl" => s.sslmode = parse_sslmode(&value, kind.prefer)?,
            other => {
                if !own(other, value)? {
                    return Err(EngineError::config(format!(
                        "unknown {} option {other:?} (known: max_size, min_size, acquire_timeout, connect_timeout, \
                         statement_timeout, max_lifetime, statement_cache_size, sslmode, sslrootcert, {}host, port, \
                         user, password, dbname)",
                        kind.name, kind.own_options
                    )));
                }
            }
        }
    }
    if s.hosts.is_empty() || s.hosts.iter().any(|h| h.is_empty()) {
        return Err(EngineError::config(format!(
            "{} URL has no host (expected {})",
            kind.name, kind.example
        )));
    }
    check_pool(&s.pool)?;
    Ok(s)
}

fn parse_postgres(url: &str, options: &[(String, String)]) -> Result<PgConfig> {
    const KIND: ServerUrl = ServerUrl {
        name: "PostgreSQL",
        example: "postgres://user:password@host:port/dbname",
        default_port: 5432,
        default_sslmode: SslMode::Prefer,
        prefer: true,
        own_options: "application_name, search_path, ",
    };
    let mut application_name = "yara_orm".to_string();
    let mut search_path = None;
    let s = parse_server(url, options, &KIND, |name, value| {
        match name {
            "application_name" => application_name = value,
            "search_path" | "schema" => search_path = Some(value),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let user = if s.user.is_empty() {
        "postgres".to_string()
    } else {
        s.user
    };
    Ok(PgConfig {
        hosts: s.hosts,
        port: s.port,
        dbname: if s.dbname.is_empty() { user.clone() } else { s.dbname },
        user,
        password: s.password,
        pool: s.pool,
        connect_timeout: s.connect_timeout,
        statement_timeout: s.statement_timeout,
        statement_cache_size: s.statement_cache_size,
        sslmode: s.sslmode,
        sslrootcert: s.sslrootcert,
        application_name,
        search_path,
    })
}

fn parse_sslmode(value: &str, prefer: bool) -> Result<SslMode> {
    Ok(match value.to_ascii_lowercase().as_str() {
        "disable" | "false" | "allow" => SslMode::Disable,
        "prefer" if prefer => SslMode::Prefer,
        "require" | "true" => SslMode::Require,
        "verify-ca" | "verify_ca" => SslMode::VerifyCa,
        "verify-full" | "verify_full" => SslMode::VerifyFull,
        other => {
            let known = if prefer {
                "disable, prefer, require, verify-ca, verify-full"
            } else {
                "disable, require, verify-ca, verify-full"
            };
            return Err(EngineError::config(format!(
                "option sslmode: unknown mode {other:?} ({known})"
            )));
        }
    })
}

/// `mysql://user:password@host:port/dbname?options` (`mariadb://` is the same backend).
fn parse_mysql(url: &str, options: &[(String, String)]) -> Result<MySqlConfig> {
    const KIND: ServerUrl = ServerUrl {
        name: "MySQL",
        example: "mysql://user:password@host:port/dbname",
        default_port: 3306,
        default_sslmode: SslMode::Disable,
        prefer: false,
        own_options: "returning, ",
    };
    let mut returning = true;
    let s = parse_server(url, options, &KIND, |name, value| {
        if name != "returning" {
            return Ok(false);
        }
        returning = parse_bool(name, &value)?;
        Ok(true)
    })?;
    let [host] = <[String; 1]>::try_from(s.hosts)
        .map_err(|_| EngineError::config("MySQL URL names several hosts; the MySQL backend connects to one"))?;
    if s.dbname.is_empty() {
        return Err(EngineError::config(format!(
            "MySQL URL has no database name (expected {})",
            KIND.example
        )));
    }
    Ok(MySqlConfig {
        host,
        port: s.port,
        user: if s.user.is_empty() { "root".to_string() } else { s.user },
        password: s.password,
        dbname: s.dbname,
        pool: s.pool,
        connect_timeout: s.connect_timeout,
        statement_timeout: s.statement_timeout,
        statement_cache_size: s.statement_cache_size,
        sslmode: s.sslmode,
        sslrootcert: s.sslrootcert,
        returning,
    })
}

fn parse_sqlite(url: &str, options: &[(String, String)]) -> Result<SqliteConfig> {
    let rest = &url["sqlite://".len()..];
    let (raw_path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let path = decode(raw_path, "path")?;
    if path.is_empty() {
        return Err(EngineError::config(
            "SQLite URL has no path: use sqlite:///absolute/path.db, sqlite://relative.db or sqlite://:memory:",
        ));
    }
    let memory = path == ":memory:";
    let mut cfg = SqliteConfig {
        path,
        pool: PoolOptions {
            max_size: if memory { 1 } else { 4 },
            min_size: 0,
            acquire_timeout: Some(Duration::from_secs(30)),
            max_lifetime: None,
        },
        busy_timeout: Duration::from_secs(5),
        journal_mode: "wal".to_string(),
        foreign_keys: true,
        statement_cache_size: 256,
        mode: SqliteMode::ReadWriteCreate,
    };
    for (name, value) in merged_options(query, options)? {
        if apply_pool_option(&mut cfg.pool, &name, &value)? {
            continue;
        }
        match name.as_str() {
            "busy_timeout" => cfg.busy_timeout = parse_seconds(&name, &value)?.unwrap_or(Duration::ZERO),
            "journal_mode" => {
                let mode = value.to_ascii_lowercase();
                if !["delete", "truncate", "persist", "memory", "wal", "off"].contains(&mode.as_str()) {
                    return Err(EngineError::config(format!(
                        "option journal_mode: unknown mode {value:?}"
                    )));
                }
                cfg.journal_mode = mode;
            }
            "foreign_keys" => cfg.foreign_keys = parse_bool(&name, &value)?,
            "statement_cache_size" => cfg.statement_cache_size = parse_usize(&name, &value)?,
            "mode" => {
                cfg.mode = match value.to_ascii_lowercase().as_str() {
                    "rwc" => SqliteMode::ReadWriteCreate,
                    "rw" => SqliteMode::ReadWrite,
                    "ro" => SqliteMode::ReadOnly,
                    "memory" => SqliteMode::Memory,
                    _ => {
                        return Err(EngineError::config(format!(
                            "option mode: unknown mode {value:?} (known: rwc, rw, ro, memory)"
                        )))
                    }
                }
            }
            other => {
                return Err(EngineError::config(format!(
                    "unknown SQLite option {other:?} (known: max_size, min_size, acquire_timeout, max_lifetime, \
                     busy_timeout, journal_mode, foreign_keys, statement_cache_size, mode)"
                )))
            }
        }
    }
    if cfg.mode == SqliteMode::Memory {
        // The path names nothing on disk: the database is a private in-memory one, as `:memory:`.
        cfg.path = ":memory:".to_string();
    }
    if cfg.is_memory() && cfg.pool.max_size != 1 {
        // Every connection to :memory: is its own empty database, so a pool must hold exactly one.
        cfg.pool.max_size = 1;
    }
    check_pool(&cfg.pool)?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn postgres_url_with_options() {
        let cfg = parse(
            "postgres://u:p%40ss@db.example:6543/app?max_size=3&statement_timeout=1.5",
            &[],
        )
        .unwrap();
        let BackendConfig::Postgres(pg) = cfg else {
            panic!("expected postgres")
        };
        assert_eq!(pg.hosts, vec!["db.example"]);
        assert_eq!(pg.port, 6543);
        assert_eq!(pg.user, "u");
        assert_eq!(pg.password.as_deref(), Some("p@ss"));
        assert_eq!(pg.dbname, "app");
        assert_eq!(pg.pool.max_size, 3);
        assert_eq!(pg.statement_timeout, Some(Duration::from_millis(1500)));
    }

    #[test]
    fn keyword_options_override_query() {
        let cfg = parse("postgresql://h/db?max_size=3", &opts(&[("max_size", "7")])).unwrap();
        let BackendConfig::Postgres(pg) = cfg else {
            panic!("expected postgres")
        };
        assert_eq!(pg.pool.max_size, 7);
    }

    #[test]
    fn errors_never_echo_the_password() {
        for url in [
            "postgres://u:hunter2@h:notaport/db",
            "postgres://u:hunter2@h/db?bogus=1",
            "postgres://u:hunter2@/db",
        ] {
            let err = parse(url, &[]).unwrap_err();
            assert!(!err.message.contains("hunter2"), "{}", err.message);
            assert_eq!(err.kind, crate::error::ErrorKind::Configuration);
        }
    }

    #[test]
    fn unknown_scheme_and_option_are_named() {
        let err = parse("oracle://h/db", &[]).unwrap_err();
        assert!(err.message.contains("oracle"));
        let err = parse("sqlite://x.db", &opts(&[("journal", "wal")])).unwrap_err();
        assert!(err.message.contains("journal"));
    }

    #[test]
    fn mysql_and_mariadb_urls() {
        for scheme in ["mysql", "mariadb"] {
            let url = format!("{scheme}://u:p%40ss@db.example:3307/app?max_size=3&statement_timeout=2");
            let BackendConfig::MySql(c) = parse(&url, &[]).unwrap() else {
                panic!("expected mysql")
            };
            assert_eq!((c.host.as_str(), c.port, c.user.as_str()), ("db.example", 3307, "u"));
            assert_eq!(c.password.as_deref(), Some("p@ss"));
            assert_eq!(c.dbname, "app");
            assert_eq!(c.pool.max_size, 3);
            assert_eq!(c.statement_timeout, Some(Duration::from_secs(2)));
        }
        let BackendConfig::MySql(c) = parse("mysql://127.0.0.1/test", &[]).unwrap() else {
            panic!("expected mysql")
        };
        assert_eq!((c.port, c.user.as_str()), (3306, "root"));
        assert!(parse("mysql://127.0.0.1/", &[]).is_err());
        assert!(parse("mysql://127.0.0.1/test?sslmode=prefer", &[]).is_err());
        assert!(parse("mysql://127.0.0.1/test?host=a,b", &[]).is_err());
        let err = parse("mysql://u:hunter2@h/db?bogus=1", &[]).unwrap_err();
        assert!(!err.message.contains("hunter2") && err.message.contains("bogus"));
    }

    #[test]
    fn sqlite_paths() {
        let BackendConfig::Sqlite(c) = parse("sqlite:///tmp/a%20b.db?busy_timeout=2", &[]).unwrap() else {
            panic!()
        };
        assert_eq!(c.path, "/tmp/a b.db");
        assert_eq!(c.busy_timeout, Duration::from_secs(2));
        let BackendConfig::Sqlite(c) = parse("sqlite://:memory:", &opts(&[("max_size", "5")])).unwrap() else {
            panic!()
        };
        assert!(c.is_memory());
        assert_eq!(c.pool.max_size, 1);
        assert!(parse("sqlite://", &[]).is_err());
        let BackendConfig::Sqlite(c) = parse("sqlite:///tmp/x.db?mode=memory", &[]).unwrap() else {
            panic!()
        };
        assert!(c.is_memory() && c.path == ":memory:" && c.pool.max_size == 1);
        let BackendConfig::Sqlite(c) = parse("sqlite:///tmp/x.db?mode=RO", &[]).unwrap() else {
            panic!()
        };
        assert_eq!((c.mode, c.path.as_str()), (SqliteMode::ReadOnly, "/tmp/x.db"));
        assert!(parse("sqlite:///tmp/x.db?mode=rwx", &[]).is_err());
    }

    #[test]
    fn search_path_option() {
        let BackendConfig::Postgres(c) = parse("postgres://h/db?search_path=app%2Cpublic", &[]).unwrap() else {
            panic!()
        };
        assert_eq!(c.search_path.as_deref(), Some("app,public"));
        let BackendConfig::Postgres(c) = parse("postgres://h/db", &opts(&[("schema", "app")])).unwrap() else {
            panic!()
        };
        assert_eq!(c.search_path.as_deref(), Some("app"));
    }

    #[test]
    fn bad_numbers_are_rejected() {
        assert!(parse("postgres://h/db?max_size=0", &[]).is_err());
        assert!(parse("postgres://h/db?acquire_timeout=-1", &[]).is_err());
        assert!(parse("postgres://h/db?min_size=5&max_size=2", &[]).is_err());
    }
}
