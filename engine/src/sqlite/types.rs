//! SQLite value mapping. SQLite stores five storage classes; richer types are recognised from
//! the column's declared type so results look the same as on PostgreSQL.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};

use crate::error::{EngineError, Result};
use crate::value::{Interval, Value};

/// The fixed text forms dates and times are stored in: fixed width, so text order is time order.
pub const DATE_FMT: &str = "%Y-%m-%d";
pub const TIME_FMT: &str = "%H:%M:%S%.6f";
pub const TIMESTAMP_FMT: &str = "%Y-%m-%d %H:%M:%S%.6f";
/// Significant digits a REAL keeps exactly: decimals beyond this would be rounded silently.
pub const MAX_DECIMAL_DIGITS: usize = 15;

/// What a column's declared type says its values mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ColumnKind {
    /// No declaration we recognise: the storage class decides.
    Plain,
    Bool,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Uuid,
    Json,
    /// Exact decimal with this many fraction digits, if declared.
    Decimal(Option<u32>),
    Interval,
}

impl ColumnKind {
    pub fn from_decltype(decl: Option<&str>) -> Self {
        let Some(decl) = decl else { return ColumnKind::Plain };
        let upper = decl.trim().to_ascii_uppercase();
        // The first word names the type: `JSON TEXT` is JSON with TEXT affinity.
        let base = upper.split(['(', ' ']).next().unwrap_or("").trim();
        if upper.starts_with("TIMESTAMP WITH TIME ZONE") {
            return ColumnKind::TimestampTz;
        }
        match base {
            "BOOL" | "BOOLEAN" => ColumnKind::Bool,
            "DATE" => ColumnKind::Date,
            "TIME" => ColumnKind::Time,
            "DATETIME" | "TIMESTAMP" => ColumnKind::Timestamp,
            "TIMESTAMPTZ" | "DATETIMETZ" | "TIMESTAMP WITH TIME ZONE" => ColumnKind::TimestampTz,
            "UUID" => ColumnKind::Uuid,
            "JSON" | "JSONB" => ColumnKind::Json,
            "DECIMAL" | "NUMERIC" => ColumnKind::Decimal(decimal_scale(&upper)),
            "INTERVAL" => ColumnKind::Interval,
            _ => ColumnKind::Plain,
        }
    }
}

/// The scale in `DECIMAL(p,s)`.
fn decimal_scale(decl: &str) -> Option<u32> {
    let inner = decl.split_once('(')?.1.split_once(')')?.0;
    let (_, scale) = inner.split_once(',')?;
    scale.trim().parse().ok()
}

/// Count the significant digits of decimal text (leading zeros excluded).
fn significant_digits(text: &str) -> usize {
    let mantissa = text.split(['e', 'E']).next().unwrap_or("");
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        1
    } else {
        // Trailing zeros of the integer part matter, of the fraction they do not change the REAL.
        let frac_trailing = match mantissa.split_once('.') {
            Some((_, frac)) => frac.len() - frac.trim_end_matches('0').len(),
            None => 0,
        };
        trimmed.len() - frac_trailing.min(trimmed.len().saturating_sub(1))
    }
}

/// Bind a `Value` as one of SQLite's storage classes.
pub fn to_sqlite(value: &Value) -> Result<ToSqlOutput<'_>> {
    Ok(match value {
        Value::Null => ToSqlOutput::Owned(SqlValue::Null),
        Value::Bool(b) => ToSqlOutput::Owned(SqlValue::Integer(*b as i64)),
        Value::Int(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
        Value::UInt(u) => {
            return Err(EngineError::data(format!(
                "SQLite cannot store the integer {u} (beyond int64)"
            )))
        }
        Value::Float(f) => {
            if f.is_nan() {
                return Err(EngineError::data("SQLite cannot store NaN (it would become NULL)"));
            }
            ToSqlOutput::Owned(SqlValue::Real(*f))
        }
        Value::Text(s) | Value::Json(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        Value::Uuid(u) => ToSqlOutput::Owned(SqlValue::Text(u.hyphenated().to_string())),
        Value::Decimal(d) => {
            if let Ok(i) = d.parse::<i64>() {
                ToSqlOutput::Owned(SqlValue::Integer(i))
            } else if d.parse::<f64>().map(|f| f.is_finite()).unwrap_or(false)
                && significant_digits(d) <= MAX_DECIMAL_DIGITS
            {
                // Text into a NUMERIC/DECIMAL column is converted exactly (<= 15 digits).
                ToSqlOutput::Owned(SqlValue::Text(d.clone()))
            } else {
                return Err(EngineError::data(format!(
                    "value {d} is out of range for SQLite: it keeps {MAX_DECIMAL_DIGITS} significant digits of a \
                     decimal and integers within int64 (store it as text, or use PostgreSQL NUMERIC)"
                )));
            }
        }
        Value::Date(d) => ToSqlOutput::Owned(SqlValue::Text(d.format(DATE_FMT).to_string())),
        Value::Time(t) => ToSqlOutput::Owned(SqlValue::Text(t.format(TIME_FMT).to_string())),
        Value::Timestamp(t) => ToSqlOutput::Owned(SqlValue::Text(t.format(TIMESTAMP_FMT).to_string())),
        Value::TimestampTz(t) => {
            ToSqlOutput::Owned(SqlValue::Text(format!("{}+00:00", t.naive_utc().format(TIMESTAMP_FMT))))
        }
        Value::Interval(iv) => match iv.exact_micros() {
            Some(us) => ToSqlOutput::Owned(SqlValue::Integer(us)),
            None => {
                return Err(EngineError::data(format!(
                    "interval {iv:?} has a month part or overflows; SQLite stores intervals as microseconds"
                )))
            }
        },
        Value::Array(_) => return Err(EngineError::params("arrays are not supported on SQLite")),
    })
}

fn bad(column: &str, kind: &str, raw: &str) -> EngineError {
    let mut e = EngineError::data(format!(
        "column {column:?}: cannot read {raw:?} as {kind} (was it written outside the ORM?)"
    ));
    e.column = Some(column.to_string());
    e
}

fn parse_timestamp(text: &str) -> Option<NaiveDateTime> {
    let t = text.trim();
    // The engine's own form first (the common case), then ISO 'T', then a bare date.
    NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f"))
        .or_else(|_| NaiveDate::parse_from_str(t, DATE_FMT).map(|d| d.and_time(NaiveTime::MIN)))
        .ok()
        // An aware value stored into a naive column reads back as its UTC wall time, as on
        // PostgreSQL (whose sessions run in UTC).
        .or_else(|| parse_with_offset(t).map(|utc| utc.naive_utc()))
}

fn parse_with_offset(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%:z")
        .or_else(|_| DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%:z"))
        .or_else(|_| DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .map(|d| d.with_timezone(&Utc))
        .ok()
}

fn parse_timestamptz(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    // Text without an offset is taken as UTC, as the engine writes it.
    parse_with_offset(t).or_else(|| parse_timestamp(t).map(|n| n.and_utc()))
}

fn format_decimal(f: f64, scale: Option<u32>) -> String {
    match scale {
        Some(s) => format!("{f:.*}", s as usize),
        None => {
            let s = format!("{f:?}");
            s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
        }
    }
}

/// Decode one cell of a column of the given kind.
pub fn from_sqlite(value: ValueRef<'_>, kind: ColumnKind, column: &str) -> Result<Value> {
    let text = |b: &[u8]| -> Result<String> {
        String::from_utf8(b.to_vec()).map_err(|_| bad(column, "text", "<invalid UTF-8>"))
    };
    Ok(match (value, kind) {
        (ValueRef::Null, _) => Value::Null,
        (ValueRef::Integer(i), ColumnKind::Bool) => Value::Bool(i != 0),
        (ValueRef::Integer(i), ColumnKind::Interval) => Value::Interval(Interval::from_micros(i)),
        (ValueRef::Integer(i), ColumnKind::Decimal(scale)) => Value::Decimal(match scale {
            Some(s) if s > 0 => format!("{i}.{}", "0".repeat(s as usize)),
            _ => i.to_string(),
        }),
        (ValueRef::Real(f), ColumnKind::Decimal(scale)) => Value::Decimal(format_decimal(f, scale)),
        (ValueRef::Text(b), ColumnKind::Decimal(_)) => {
            let s = text(b)?;
            if s.trim().parse::<f64>().is_err() {
                return Err(bad(column, "decimal", &s));
            }
            Value::Decimal(s.trim().to_string())
        }
        (ValueRef::Text(b), ColumnKind::Date) => {
            let s = text(b)?;
            Value::Date(NaiveDate::parse_from_str(s.trim(), DATE_FMT).map_err(|_| bad(column, "date", &s))?)
        }
        (ValueRef::Text(b), ColumnKind::Time) => {
            let s = text(b)?;
            Value::Time(NaiveTime::parse_from_str(s.trim(), "%H:%M:%S%.f").map_err(|_| bad(column, "time", &s))?)
        }
        (ValueRef::Text(b), ColumnKind::Timestamp) => {
            let s = text(b)?;
            Value::Timestamp(parse_timestamp(&s).ok_or_else(|| bad(column, "timestamp", &s))?)
        }
        (ValueRef::Text(b), ColumnKind::TimestampTz) => {
            let s = text(b)?;
            Value::TimestampTz(parse_timestamptz(&s).ok_or_else(|| bad(column, "timestamp with time zone", &s))?)
        }
        (ValueRef::Text(b), ColumnKind::Uuid) => {
            let s = text(b)?;
            Value::Uuid(uuid::Uuid::parse_str(s.trim()).map_err(|_| bad(column, "uuid", &s))?)
        }
        (ValueRef::Blob(b), ColumnKind::Uuid) if b.len() == 16 => {
            Value::Uuid(uuid::Uuid::from_slice(b).map_err(|_| bad(column, "uuid", "<blob>"))?)
        }
        (ValueRef::Text(b), ColumnKind::Json) => Value::Json(text(b)?),
        // A column declared plain `JSON` has NUMERIC affinity, so a top-level number was stored
        // as a number: hand it back as the JSON document it was. (`JSON TEXT` keeps it exact.)
        (ValueRef::Integer(i), ColumnKind::Json) => Value::Json(i.to_string()),
        (ValueRef::Real(f), ColumnKind::Json) => Value::Json(format!("{f:?}")),
        (ValueRef::Integer(i), _) => Value::Int(i),
        (ValueRef::Real(f), _) => Value::Float(f),
        (ValueRef::Text(b), _) => Value::Text(text(b)?),
        (ValueRef::Blob(b), _) => Value::Bytes(b.to_vec()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decltypes() {
        assert_eq!(
            ColumnKind::from_decltype(Some("DECIMAL(10,2)")),
            ColumnKind::Decimal(Some(2))
        );
        assert_eq!(ColumnKind::from_decltype(Some("numeric")), ColumnKind::Decimal(None));
        assert_eq!(ColumnKind::from_decltype(Some("VARCHAR(20)")), ColumnKind::Plain);
        assert_eq!(ColumnKind::from_decltype(Some("timestamptz")), ColumnKind::TimestampTz);
        assert_eq!(ColumnKind::from_decltype(None), ColumnKind::Plain);
        assert_eq!(ColumnKind::from_decltype(Some("JSON TEXT")), ColumnKind::Json);
        assert_eq!(
            ColumnKind::from_decltype(Some("timestamp with time zone")),
            ColumnKind::TimestampTz
        );
    }

    #[test]
    fn decimal_digits_guard() {
        assert_eq!(significant_digits("123.450"), 5);
        assert_eq!(significant_digits("0.00000001"), 1);
        assert_eq!(significant_digits("1000"), 4);
        assert!(to_sqlite(&Value::Decimal("1234567890.12345".into())).is_ok());
        assert!(to_sqlite(&Value::Decimal("1234567890.123456".into())).is_err());
        assert!(to_sqlite(&Value::Decimal("99999999999999999999".into())).is_err());
    }

    #[test]
    fn decimal_scale_restored() {
        let v = from_sqlite(ValueRef::Real(1.1), ColumnKind::Decimal(Some(2)), "c").unwrap();
        assert_eq!(v, Value::Decimal("1.10".into()));
        let v = from_sqlite(ValueRef::Integer(3), ColumnKind::Decimal(Some(3)), "c").unwrap();
        assert_eq!(v, Value::Decimal("3.000".into()));
    }
}
