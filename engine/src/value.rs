//! The one value type that crosses the Python/Rust boundary and every backend.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use uuid::Uuid;

/// A span of time as PostgreSQL models it: months and days are kept apart from the
/// exact microsecond part because their length depends on the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

impl Interval {
    /// An interval of an exact duration (what a Python `timedelta` holds).
    pub fn from_micros(total: i64) -> Self {
        Interval {
            months: 0,
            days: 0,
            micros: total,
        }
    }

    /// The exact duration in microseconds, or `None` when a month part makes it calendar-dependent
    /// or it overflows.
    pub fn exact_micros(&self) -> Option<i64> {
        if self.months != 0 {
            return None;
        }
        (self.days as i64)
            .checked_mul(86_400_000_000)
            .and_then(|d| d.checked_add(self.micros))
    }
}

/// A tagged value: a bound parameter going in, or a decoded cell coming out.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// An unsigned integer beyond int64 (MySQL's BIGINT UNSIGNED); only decoded, never bound
    /// from Python (which sends such ints as a Decimal with no fraction).
    UInt(u64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    /// JSON document as text (already serialised).
    Json(String),
    Uuid(Uuid),
    /// An exact decimal in canonical text form (`-12.500`, `NaN`, `Infinity`), any precision.
    /// Python ints beyond int64 travel as a Decimal with no fraction.
    Decimal(String),
    Date(NaiveDate),
    Time(NaiveTime),
    /// A timestamp without a time zone.
    Timestamp(NaiveDateTime),
    /// An instant, always normalised to UTC.
    TimestampTz(DateTime<Utc>),
    Interval(Interval),
    Array(Vec<Value>),
}

impl Value {
    /// The variant name, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::UInt(_) => "uint",
            Value::Float(_) => "float",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::Json(_) => "json",
            Value::Uuid(_) => "uuid",
            Value::Decimal(_) => "decimal",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::Timestamp(_) => "timestamp",
            Value::TimestampTz(_) => "timestamptz",
            Value::Interval(_) => "interval",
            Value::Array(_) => "array",
        }
    }

    /// A short rendering of the value for error messages (long values are cut).
    pub fn describe(&self) -> String {
        let full = match self {
            Value::Null => "NULL".to_string(),
            Value::Text(s) | Value::Json(s) | Value::Decimal(s) => format!("{s:?}"),
            Value::Bytes(b) => format!("<{} bytes>", b.len()),
            other => format!("{other:?}"),
        };
        if full.chars().count() > 80 {
            let cut: String = full.chars().take(77).collect();
            format!("{cut}...")
        } else {
            full
        }
    }
}

/// Rows returned positionally: `values` holds `width` cells per row, row after row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub width: usize,
    pub values: Vec<Value>,
}

impl Rows {
    pub fn new(columns: Vec<String>) -> Self {
        let width = columns.len();
        Rows {
            columns,
            width,
            values: Vec::new(),
        }
    }

    /// Room for `rows` rows of `columns.len()` cells.
    pub fn with_capacity(columns: Vec<String>, rows: usize) -> Self {
        let width = columns.len();
        Rows {
            columns,
            width,
            values: Vec::with_capacity(width.saturating_mul(rows)),
        }
    }

    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.width).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Iterate over rows as slices.
    pub fn iter(&self) -> impl Iterator<Item = &[Value]> {
        self.values.chunks(self.width.max(1))
    }

    /// The first row, if any.
    pub fn first(&self) -> Option<&[Value]> {
        if self.values.is_empty() {
            None
        } else {
            Some(&self.values[..self.width])
        }
    }
}
