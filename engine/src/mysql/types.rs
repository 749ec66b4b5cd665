//! Values in and out of the binary protocol: engine `Value`s become MySQL parameters, and each
//! cell is decoded by its column's type (positionally, no per-row name lookup).

use std::sync::Arc;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::{Column, Value as MyValue};

use crate::error::{EngineError, Result};
use crate::value::{Interval, Value};

/// The character set number MySQL reports for binary strings (BLOB, BINARY, VARBINARY).
const BINARY_CHARSET: u16 = 63;

fn datetime(d: &NaiveDateTime) -> MyValue {
    MyValue::Date(
        d.year().clamp(0, 9999) as u16,
        d.month() as u8,
        d.day() as u8,
        d.hour() as u8,
        d.minute() as u8,
        d.second() as u8,
        d.nanosecond().min(999_999_999) / 1000,
    )
}

/// One engine value as a MySQL parameter.
pub fn bind(value: &Value) -> Result<MyValue> {
    Ok(match value {
        Value::Null => MyValue::NULL,
        Value::Bool(b) => MyValue::Int(*b as i64),
        Value::Int(i) => MyValue::Int(*i),
        Value::UInt(u) => MyValue::UInt(*u),
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(EngineError::data(format!(
                    "MySQL cannot store the float {f} (no NaN or infinity in FLOAT/DOUBLE columns)"
                ))
                .with_sqlstate("22003"));
            }
            MyValue::Double(*f)
        }
        Value::Text(s) | Value::Json(s) | Value::Decimal(s) => {
            if let Value::Decimal(d) = value {
                if matches!(d.as_str(), "NaN" | "Infinity" | "-Infinity" | "sNaN") {
                    return Err(EngineError::data(format!("MySQL DECIMAL cannot hold {d}")).with_sqlstate("22003"));
                }
            }
            MyValue::Bytes(s.as_bytes().to_vec())
        }
        Value::Bytes(b) => MyValue::Bytes(b.clone()),
        Value::Uuid(u) => MyValue::Bytes(u.hyphenated().to_string().into_bytes()),
        Value::Date(d) => MyValue::Date(
            d.year().clamp(0, 9999) as u16,
            d.month() as u8,
            d.day() as u8,
            0,
            0,
            0,
            0,
        ),
        Value::Time(t) => MyValue::Time(
            false,
            0,
            t.hour() as u8,
            t.minute() as u8,
            t.second() as u8,
            t.nanosecond().min(999_999_999) / 1000,
        ),
        Value::Timestamp(ts) => datetime(ts),
        // Sessions run at time_zone '+00:00' and DATETIME has no zone: store the UTC wall time.
        Value::TimestampTz(ts) => datetime(&ts.naive_utc()),
        // Durations bind as integer microseconds: the ORM stores them in BIGINT, because TIME
        // spans only +-838:59:59 (a TIME column still reads back as a time or a duration).
        Value::Interval(iv) => match iv.exact_micros() {
            Some(micros) => MyValue::Int(micros),
            None => {
                return Err(EngineError::params(
                    "MySQL cannot store an interval with months (calendar-dependent length)",
                ))
            }
        },
        Value::Array(_) => {
            return Err(EngineError::params(
                "MySQL has no array type: an array cannot be bound as a parameter",
            ))
        }
    })
}

pub fn bind_all(params: &[Value]) -> Result<mysql_async::Params> {
    if params.is_empty() {
        return Ok(mysql_async::Params::Empty);
    }
    params
        .iter()
        .map(bind)
        .collect::<Result<Vec<_>>>()
        .map(mysql_async::Params::Positional)
}

fn text(bytes: Vec<u8>, column: &Column) -> Result<String> {
    // Most cells are ASCII, which the word-at-a-time `is_ascii` confirms in a fraction of the
    // instructions `from_utf8` spends on a short string (measured: perf/README.md, "Where a
    // fetch's time goes").
    if bytes.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8.
        return Ok(unsafe { String::from_utf8_unchecked(bytes) });
    }
    String::from_utf8(bytes).map_err(|_| {
        EngineError::data(format!(
            "column {:?} holds bytes that are not valid UTF-8",
            column.name_str()
        ))
    })
}

fn is_uuid_column(column: &Column) -> bool {
    let flags = column.flags();
    let len = column.column_length();
    flags.contains(ColumnFlags::UNSIGNED_FLAG)
        || (flags.contains(ColumnFlags::BINARY_FLAG) && len.is_multiple_of(36) && (36..=144).contains(&len))
}

fn bad(column: &Column, got: &MyValue) -> EngineError {
    EngineError::data(format!(
        "column {:?} ({:?}) returned an unexpected value {got:?}",
        column.name_str(),
        column.column_type()
    ))
}

/// year, month, day, hour, minute, second, microsecond (the binary protocol's DATETIME).
type DateParts = (u16, u8, u8, u8, u8, u8, u32);

fn naive_datetime((y, mo, d, h, mi, s, us): DateParts, column: &Column) -> Result<Option<Value>> {
    if y == 0 && mo == 0 && d == 0 {
        // A zero date (only reachable when a session relaxed sql_mode): no Python value.
        return Ok(None);
    }
    let date = NaiveDate::from_ymd_opt(y as i32, mo as u32, d as u32)
        .ok_or_else(|| EngineError::data(format!("column {:?} holds an invalid date", column.name_str())))?;
    let time = NaiveTime::from_hms_micro_opt(h as u32, mi as u32, s as u32, us)
        .ok_or_else(|| EngineError::data(format!("column {:?} holds an invalid time", column.name_str())))?;
    // Sessions run at time_zone '+00:00': DATETIME and TIMESTAMP values are UTC wall times.
    Ok(Some(Value::TimestampTz(
        Utc.from_utc_datetime(&NaiveDateTime::new(date, time)),
    )))
}

/// What a cell the driver hands over as bytes means, by its column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BytesAs {
    Decimal,
    Json,
    Bit,
    /// An integer column read through the text protocol.
    Integer,
    /// A FLOAT/DOUBLE column read through the text protocol.
    Float,
    Binary,
    Uuid,
    Text,
}

/// How one column's cells decode: every question `decode_cell` would otherwise ask the column
/// metadata for each cell (type, flags, length, character set), answered once per result set.
#[derive(Clone, Copy, Debug)]
pub struct CellPlan {
    /// TINYINT(1): integers read as bools.
    bool_int: bool,
    /// DATE (no time part): the driver's date-and-time value reads as a date.
    date_only: bool,
    bytes: BytesAs,
}

impl CellPlan {
    pub fn for_column(column: &Column) -> Self {
        let ty = column.column_type();
        let bytes = match ty {
            ColumnType::MYSQL_TYPE_DECIMAL | ColumnType::MYSQL_TYPE_NEWDECIMAL => BytesAs::Decimal,
            ColumnType::MYSQL_TYPE_JSON => BytesAs::Json,
            ColumnType::MYSQL_TYPE_BIT => BytesAs::Bit,
            ColumnType::MYSQL_TYPE_LONGLONG
            | ColumnType::MYSQL_TYPE_LONG
            | ColumnType::MYSQL_TYPE_INT24
            | ColumnType::MYSQL_TYPE_SHORT
            | ColumnType::MYSQL_TYPE_TINY
            | ColumnType::MYSQL_TYPE_YEAR => BytesAs::Integer,
            ColumnType::MYSQL_TYPE_FLOAT | ColumnType::MYSQL_TYPE_DOUBLE => BytesAs::Float,
            _ if column.character_set() == BINARY_CHARSET => BytesAs::Binary,
            // MariaDB's JSON is LONGTEXT with a binary collation (utf8mb4_bin): the BLOB type at
            // LONGTEXT's length with the BINARY flag on a text character set. (A user's own
            // LONGTEXT `_bin` column reads as JSON too; the ORM's text columns are MEDIUMTEXT.)
            ColumnType::MYSQL_TYPE_BLOB | ColumnType::MYSQL_TYPE_LONG_BLOB
                if column.flags().contains(ColumnFlags::BINARY_FLAG) && column.column_length() == u32::MAX =>
            {
                BytesAs::Json
            }
            // A UUID: MariaDB's native UUID (a string column flagged UNSIGNED) or the CHAR(36)
            // ascii_bin column the dialect declares (a binary-collated 36-character string).
            ColumnType::MYSQL_TYPE_STRING if is_uuid_column(column) => BytesAs::Uuid,
            _ => BytesAs::Text,
        };
        CellPlan {
            bool_int: ty == ColumnType::MYSQL_TYPE_TINY && column.column_length() == 1,
            date_only: ty == ColumnType::MYSQL_TYPE_DATE || ty == ColumnType::MYSQL_TYPE_NEWDATE,
            bytes,
        }
    }
}

/// A result set's decode plan: one [`CellPlan`] per column, made when its column definitions
/// arrive and used for every row (the column is only read again to name it in an error).
pub struct RowPlan {
    cells: Vec<CellPlan>,
    columns: Arc<[Column]>,
}

impl RowPlan {
    pub fn new(columns: Arc<[Column]>) -> Self {
        RowPlan {
            cells: columns.iter().map(CellPlan::for_column).collect(),
            columns,
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name_str().into_owned()).collect()
    }

    /// Decode every cell of `row` onto the end of `out`.
    pub fn decode_row(&self, row: mysql_async::Row, out: &mut Vec<Value>) -> Result<()> {
        out.reserve(self.cells.len());
        for ((value, plan), column) in row.unwrap_raw().into_iter().zip(&self.cells).zip(self.columns.iter()) {
            match value {
                // Taken cells (`Row::take`) never happen here: the row comes straight off the wire.
                None | Some(MyValue::NULL) => out.push(Value::Null),
                Some(value) => decode_cell(value, plan, column, out)?,
            }
        }
        Ok(())
    }
}

/// One cell, by its column's type.
#[cfg(test)]
fn decode(value: MyValue, column: &Column) -> Result<Value> {
    let mut out = Vec::with_capacity(1);
    decode_cell(value, &CellPlan::for_column(column), column, &mut out)?;
    Ok(out.pop().unwrap_or(Value::Null))
}

/// One cell, by its column's plan (`column` only names it in an error), pushed onto `out`.
/// Each arm pushes its own variant: 13% fewer instructions in `decode_row` than returning one
/// `Value` from the match and pushing that (callgrind, perf/README.md "Where a fetch's time goes").
#[inline(always)]
fn decode_cell(value: MyValue, plan: &CellPlan, column: &Column, out: &mut Vec<Value>) -> Result<()> {
    match value {
        MyValue::NULL => out.push(Value::Null),
        MyValue::Int(i) => out.push(if plan.bool_int {
            Value::Bool(i != 0)
        } else {
            Value::Int(i)
        }),
        MyValue::UInt(u) => match i64::try_from(u) {
            Ok(i) if plan.bool_int => out.push(Value::Bool(i != 0)),
            Ok(i) => out.push(Value::Int(i)),
            // BIGINT UNSIGNED beyond int64: still an int in Python.
            Err(_) => out.push(Value::UInt(u)),
        },
        MyValue::Float(f) => out.push(Value::Float(f as f64)),
        MyValue::Double(f) => out.push(Value::Float(f)),
        MyValue::Date(y, mo, d, h, mi, s, us) => {
            if plan.date_only {
                match NaiveDate::from_ymd_opt(y as i32, mo as u32, d as u32) {
                    Some(date) => out.push(Value::Date(date)),
                    None if y == 0 => out.push(Value::Null),
                    None => return Err(bad(column, &MyValue::Date(y, mo, d, h, mi, s, us))),
                }
            } else {
                out.push(naive_datetime((y, mo, d, h, mi, s, us), column)?.unwrap_or(Value::Null))
            }
        }
        MyValue::Time(neg, days, h, mi, s, us) => {
            // Within one day and not negative: a time of day; otherwise the duration it is.
            if !neg && days == 0 {
                match NaiveTime::from_hms_micro_opt(h as u32, mi as u32, s as u32, us) {
                    Some(t) => out.push(Value::Time(t)),
                    None => return Err(bad(column, &MyValue::Time(neg, days, h, mi, s, us))),
                }
            } else {
                let micros = ((days as i64 * 24 + h as i64) * 3600 + mi as i64 * 60 + s as i64) * 1_000_000 + us as i64;
                out.push(Value::Interval(Interval::from_micros(if neg {
                    -micros
                } else {
                    micros
                })))
            }
        }
        MyValue::Bytes(bytes) => match plan.bytes {
            BytesAs::Text => out.push(Value::Text(text(bytes, column)?)),
            BytesAs::Decimal => out.push(Value::Decimal(text(bytes, column)?)),
            BytesAs::Json => out.push(Value::Json(text(bytes, column)?)),
            BytesAs::Binary => out.push(Value::Bytes(bytes)),
            // Parsed from the bytes: a UUID is ASCII, so no UTF-8 check is needed first.
            BytesAs::Uuid => match uuid::Uuid::try_parse_ascii(&bytes) {
                Ok(u) => out.push(Value::Uuid(u)),
                Err(_) => out.push(Value::Text(text(bytes, column)?)),
            },
            BytesAs::Bit => out.push(Value::Int(bytes.iter().fold(0i64, |acc, b| (acc << 8) | *b as i64))),
            BytesAs::Integer => {
                let t = text(bytes, column)?;
                match (t.parse::<i64>(), t.parse::<u64>()) {
                    (Ok(i), _) => out.push(Value::Int(i)),
                    (_, Ok(u)) => out.push(Value::UInt(u)),
                    _ => out.push(Value::Decimal(t)),
                }
            }
            BytesAs::Float => {
                let t = text(bytes, column)?;
                out.push(Value::Float(
                    t.parse().map_err(|_| bad(column, &MyValue::Bytes(t.into_bytes())))?,
                ))
            }
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_values_are_refused() {
        assert_eq!(
            bind(&Value::Interval(Interval::from_micros(-5))).unwrap(),
            MyValue::Int(-5)
        );
        assert!(bind(&Value::Float(f64::NAN)).is_err());
        assert!(bind(&Value::Decimal("NaN".into())).is_err());
        assert!(bind(&Value::Array(vec![])).is_err());
    }

    #[test]
    fn cells_decode_by_column_type() {
        let tiny1 = Column::new(ColumnType::MYSQL_TYPE_TINY).with_column_length(1);
        assert_eq!(decode(MyValue::Int(1), &tiny1).unwrap(), Value::Bool(true));
        let big = Column::new(ColumnType::MYSQL_TYPE_LONGLONG).with_column_length(20);
        assert_eq!(decode(MyValue::UInt(u64::MAX), &big).unwrap(), Value::UInt(u64::MAX));
        assert_eq!(
            decode(MyValue::Bytes(u64::MAX.to_string().into_bytes()), &big).unwrap(),
            Value::UInt(u64::MAX)
        );
        let dec = Column::new(ColumnType::MYSQL_TYPE_NEWDECIMAL);
        assert_eq!(
            decode(MyValue::Bytes(b"-12.500".to_vec()), &dec).unwrap(),
            Value::Decimal("-12.500".into())
        );
        let blob = Column::new(ColumnType::MYSQL_TYPE_BLOB).with_character_set(BINARY_CHARSET);
        assert_eq!(
            decode(MyValue::Bytes(vec![0, 255]), &blob).unwrap(),
            Value::Bytes(vec![0, 255])
        );
        let text_col = Column::new(ColumnType::MYSQL_TYPE_BLOB).with_character_set(45);
        assert_eq!(
            decode(MyValue::Bytes("😀".as_bytes().to_vec()), &text_col).unwrap(),
            Value::Text("😀".into())
        );
        let json = Column::new(ColumnType::MYSQL_TYPE_BLOB)
            .with_character_set(45)
            .with_column_length(u32::MAX)
            .with_flags(ColumnFlags::BINARY_FLAG | ColumnFlags::BLOB_FLAG);
        assert_eq!(
            decode(MyValue::Bytes(b"[1]".to_vec()), &json).unwrap(),
            Value::Json("[1]".into())
        );
        let uuid_col = Column::new(ColumnType::MYSQL_TYPE_STRING)
            .with_character_set(45)
            .with_column_length(144)
            .with_flags(ColumnFlags::BINARY_FLAG);
        let u = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert_eq!(
            decode(MyValue::Bytes(u.as_bytes().to_vec()), &uuid_col).unwrap(),
            Value::Uuid(uuid::Uuid::parse_str(u).unwrap())
        );
        let dt = Column::new(ColumnType::MYSQL_TYPE_DATETIME);
        assert!(matches!(
            decode(MyValue::Date(2024, 2, 29, 23, 59, 59, 999_999), &dt).unwrap(),
            Value::TimestampTz(_)
        ));
        let time = Column::new(ColumnType::MYSQL_TYPE_TIME);
        assert_eq!(
            decode(MyValue::Time(true, 1, 0, 0, 0, 1), &time).unwrap(),
            Value::Interval(Interval::from_micros(-(86_400_000_000 + 1)))
        );
    }
}
