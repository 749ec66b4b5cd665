//! MySQL/MariaDB errors as structured engine errors: the server's error number picks the class,
//! and the SQLSTATE is the one the server reported (MySQL reports `23000` for every integrity
//! violation, so the number is kept in `detail` to tell them apart).

use mysql_async::{DriverError, Error as MyError, IoError, ServerError};

use crate::error::{EngineError, ErrorKind};

/// The class for a server error number; `None` falls back to the SQLSTATE.
fn kind_for_code(code: u16) -> Option<ErrorKind> {
    Some(match code {
        // Duplicate key (1062, 1586 with the key's name), foreign key on insert/update (1452,
        // 1216) and delete (1451, 1217), NOT NULL (1048, 1364 no default, 1263 NULL in a
        // multi-row insert), CHECK (3819 MySQL, 4025 MariaDB).
        1062 | 1586 | 1451 | 1452 | 1216 | 1217 | 1048 | 1364 | 1263 | 3819 | 4025 => ErrorKind::Integrity,
        // Deadlock: InnoDB rolled the transaction back; retrying it is the remedy.
        1213 => ErrorKind::Deadlock,
        // Lock wait timeout: the statement (not the transaction) failed; retryable like a
        // serialization failure.
        1205 => ErrorKind::Serialization,
        // max_statement_time (MariaDB 1969), max_execution_time (MySQL 3024), KILL QUERY (1317).
        1969 | 3024 | 1317 => ErrorKind::QueryTimeout,
        // Out of range, too long, wrong value, division by zero, invalid JSON.
        1264 | 1406 | 1366 | 1292 | 1690 | 1365 | 4038 | 3140 | 1411 | 1367 => ErrorKind::Data,
        // Syntax, unknown table/column, wrong parameter count, duplicate table/column.
        1064 | 1146 | 1054 | 1210 | 1050 | 1060 | 1051 | 1091 | 1149 => ErrorKind::Programming,
        // The server went away or refused the login / database.
        1045 | 1044 | 1049 | 1040 | 2006 | 2013 | 1927 | 1053 => ErrorKind::Connection,
        _ => return None,
    })
}

/// SQLSTATEs for the codes whose reported state is the catch-all `HY000`.
fn sqlstate_for_code(code: u16, reported: &str) -> String {
    match code {
        1205 => "40001".to_string(),
        1969 | 3024 | 1317 => "57014".to_string(),
        3819 | 4025 => "23000".to_string(),
        1292 | 1366 | 1365 | 4038 | 3140 | 1411 | 1367 => {
            if reported == "HY000" {
                "22007".to_string()
            } else {
                reported.to_string()
            }
        }
        _ => reported.to_string(),
    }
}

pub fn map_server_error(err: &ServerError) -> EngineError {
    let state = sqlstate_for_code(err.code, &err.state);
    let kind = kind_for_code(err.code).unwrap_or_else(|| crate::error::kind_for_sqlstate(&state));
    let mut e = EngineError::new(kind, err.message.clone());
    e.sqlstate = Some(state);
    e.detail = Some(format!("MySQL error {}", err.code));
    e.constraint = constraint_name(err.code, &err.message);
    e
}

/// The key or constraint a violation names: `... for key 'tbl.name'` (duplicate) or
/// `CONSTRAINT `name` FOREIGN KEY` (foreign key) or `CONSTRAINT `name` failed` (check).
fn constraint_name(code: u16, message: &str) -> Option<String> {
    match code {
        1062 | 1586 => {
            let start = message.rfind("for key '")? + "for key '".len();
            let rest = &message[start..];
            let name = &rest[..rest.find('\'')?];
            Some(name.rsplit('.').next().unwrap_or(name).to_string())
        }
        1451 | 1452 | 3819 | 4025 => {
            let start = message.find("CONSTRAINT `")? + "CONSTRAINT `".len();
            let rest = &message[start..];
            Some(rest[..rest.find('`')?].to_string())
        }
        _ => None,
    }
}

pub fn map_my_error(err: MyError) -> EngineError {
    match err {
        MyError::Server(ref server) => map_server_error(server),
        MyError::Driver(DriverError::StmtParamsMismatch { required, supplied }) => EngineError::programming(format!(
            "the statement has {required} placeholder(s) but {supplied} parameter(s) were given"
        )),
        MyError::Driver(DriverError::ConnectionClosed) | MyError::Driver(DriverError::PoolDisconnected) => {
            EngineError::connection("the connection to MySQL is closed")
        }
        MyError::Driver(d) => EngineError::new(ErrorKind::Operational, format!("MySQL driver: {d}")),
        MyError::Io(IoError::Io(io)) => EngineError::connection(format!("the connection to MySQL failed: {io}")),
        MyError::Io(other) => EngineError::connection(format!("the connection to MySQL failed: {other}")),
        MyError::Url(u) => EngineError::config(format!("malformed MySQL URL: {u}")),
        other => EngineError::new(ErrorKind::Operational, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: u16, state: &str, message: &str) -> ServerError {
        ServerError {
            code,
            message: message.to_string(),
            state: state.to_string(),
        }
    }

    #[test]
    fn codes_pick_classes_and_sqlstates() {
        let dup = map_server_error(&server(1062, "23000", "Duplicate entry '1' for key 'yc_t.uq_name'"));
        assert_eq!(
            (dup.kind, dup.sqlstate.as_deref()),
            (ErrorKind::Integrity, Some("23000"))
        );
        assert_eq!(dup.constraint.as_deref(), Some("uq_name"));
        let fk = map_server_error(&server(
            1452,
            "23000",
            "Cannot add or update a child row: a foreign key constraint fails (`test`.`c`, CONSTRAINT `fk_p` FOREIGN KEY ...)",
        ));
        assert_eq!(
            (fk.kind, fk.constraint.as_deref()),
            (ErrorKind::Integrity, Some("fk_p"))
        );
        assert_eq!(
            map_server_error(&server(1048, "23000", "Column 'x' cannot be null")).kind,
            ErrorKind::Integrity
        );
        let dl = map_server_error(&server(1213, "40001", "Deadlock found"));
        assert_eq!((dl.kind, dl.sqlstate.as_deref()), (ErrorKind::Deadlock, Some("40001")));
        let lw = map_server_error(&server(1205, "HY000", "Lock wait timeout exceeded"));
        assert_eq!(
            (lw.kind, lw.sqlstate.as_deref()),
            (ErrorKind::Serialization, Some("40001"))
        );
        assert_eq!(
            map_server_error(&server(1064, "42000", "syntax")).kind,
            ErrorKind::Programming
        );
        assert_eq!(
            map_server_error(&server(1264, "22003", "Out of range")).kind,
            ErrorKind::Data
        );
        assert_eq!(
            map_server_error(&server(1969, "70100", "max_statement_time")).kind,
            ErrorKind::QueryTimeout
        );
        assert_eq!(
            map_server_error(&server(9999, "42S02", "x")).kind,
            ErrorKind::Programming
        );
    }
}
