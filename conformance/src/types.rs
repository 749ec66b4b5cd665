//! Value kinds and the column types a backend stores them in.

use yara_engine::Capabilities;

/// The scalar kinds of [`yara_engine::Value`] (every variant but `Null` and `Array`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Bool,
    Int,
    Float,
    Decimal,
    Text,
    Bytes,
    Json,
    Uuid,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Interval,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::Bool,
        Kind::Int,
        Kind::Float,
        Kind::Decimal,
        Kind::Text,
        Kind::Bytes,
        Kind::Json,
        Kind::Uuid,
        Kind::Date,
        Kind::Time,
        Kind::Timestamp,
        Kind::TimestampTz,
        Kind::Interval,
    ];

    /// The name `Value::kind()` reports for this kind.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Decimal => "decimal",
            Kind::Text => "text",
            Kind::Bytes => "bytes",
            Kind::Json => "json",
            Kind::Uuid => "uuid",
            Kind::Date => "date",
            Kind::Time => "time",
            Kind::Timestamp => "timestamp",
            Kind::TimestampTz => "timestamptz",
            Kind::Interval => "interval",
        }
    }

    /// Why this kind cannot be tested on a backend, or `None` when it can.
    pub fn unsupported(self, caps: &Capabilities, types: &TypeNames) -> Option<String> {
        match self {
            Kind::Json if !caps.json => Some("capability `json` is not declared".into()),
            Kind::Interval if !caps.interval => Some("capability `interval` is not declared".into()),
            _ if types.column(self).is_none() => Some(format!(
                "no column type for {} is declared in the backend's TypeNames",
                self.name()
            )),
            _ => None,
        }
    }

    /// Why arrays of this kind cannot be tested, or `None` when they can.
    pub fn array_unsupported(self, caps: &Capabilities, types: &TypeNames) -> Option<String> {
        if !caps.arrays {
            return Some("capability `arrays` is not declared".into());
        }
        if let Some(reason) = self.unsupported(caps, types) {
            return Some(reason);
        }
        if types.array_of(self).is_none() {
            return Some("no array type pattern is declared in the backend's TypeNames".into());
        }
        None
    }
}

/// The column types the suite creates to store each kind, plus how those columns behave.
///
/// The suite names capabilities, never databases: everything database-specific about a round
/// trip is declared here by the backend author. [`TypeNames::postgres`] and [`TypeNames::sqlite`]
/// are the declarations for the two built-in backends; start from the closer one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeNames {
    pub boolean: String,
    /// A 16-bit integer type, if the database has one (its bounds are tested).
    pub smallint: Option<String>,
    /// A 32-bit integer type, if the database has one (its bounds are tested).
    pub integer: Option<String>,
    /// A 64-bit integer type: stores `Value::Int`, and the tables' `id` columns.
    pub bigint: String,
    /// A double precision float type.
    pub float: String,
    /// An unconstrained exact decimal type.
    pub decimal: String,
    /// A decimal type with precision and scale: `{p}` and `{s}` are replaced, e.g. `NUMERIC({p},{s})`.
    pub decimal_scaled: Option<String>,
    pub text: String,
    pub bytes: String,
    pub json: Option<String>,
    pub uuid: Option<String>,
    pub date: Option<String>,
    pub time: Option<String>,
    pub timestamp: Option<String>,
    pub timestamptz: Option<String>,
    pub interval: Option<String>,
    /// The array type of an element type: `{}` is replaced by the element type, e.g. `{}[]`.
    pub array: Option<String>,
    /// The unconstrained decimal column keeps the scale written (`1.000` reads back as `1.000`,
    /// not `1`); when false, decimals there are compared numerically only.
    pub decimal_keeps_scale: bool,
    /// The interval column keeps months and days apart from the microsecond part (when false,
    /// `1 day` may read back as `86400000000 µs`, and a month part may be refused).
    pub interval_keeps_parts: bool,
}

impl TypeNames {
    /// The declarations for the engine's PostgreSQL backend.
    pub fn postgres() -> Self {
        TypeNames {
            boolean: "BOOLEAN".into(),
            smallint: Some("SMALLINT".into()),
            integer: Some("INTEGER".into()),
            bigint: "BIGINT".into(),
            float: "DOUBLE PRECISION".into(),
            decimal: "NUMERIC".into(),
            decimal_scaled: Some("NUMERIC({p},{s})".into()),
            text: "TEXT".into(),
            bytes: "BYTEA".into(),
            json: Some("JSONB".into()),
            uuid: Some("UUID".into()),
            date: Some("DATE".into()),
            time: Some("TIME".into()),
            timestamp: Some("TIMESTAMP".into()),
            timestamptz: Some("TIMESTAMPTZ".into()),
            interval: Some("INTERVAL".into()),
            array: Some("{}[]".into()),
            decimal_keeps_scale: true,
            interval_keeps_parts: true,
        }
    }

    /// The declarations for the engine's SQLite backend (declared types the engine recognises).
    pub fn sqlite() -> Self {
        TypeNames {
            boolean: "BOOLEAN".into(),
            smallint: Some("SMALLINT".into()),
            integer: Some("INTEGER".into()),
            bigint: "BIGINT".into(),
            float: "REAL".into(),
            decimal: "NUMERIC".into(),
            decimal_scaled: Some("NUMERIC({p},{s})".into()),
            text: "TEXT".into(),
            bytes: "BLOB".into(),
            json: Some("JSON".into()),
            uuid: Some("UUID".into()),
            date: Some("DATE".into()),
            time: Some("TIME".into()),
            timestamp: Some("TIMESTAMP".into()),
            timestamptz: Some("TIMESTAMPTZ".into()),
            interval: Some("INTERVAL".into()),
            array: None,
            decimal_keeps_scale: false,
            interval_keeps_parts: false,
        }
    }

    /// The declarations for the engine's MySQL/MariaDB backend: the column types the ORM's
    /// MySQL dialect declares. DATETIME reads back as an instant (sessions run in UTC), so
    /// there is no naive timestamp column; durations are integer microseconds in the ORM,
    /// so there is no interval column either.
    pub fn mysql() -> Self {
        TypeNames {
            boolean: "BOOL".into(),
            smallint: Some("SMALLINT".into()),
            integer: Some("INT".into()),
            bigint: "BIGINT".into(),
            float: "DOUBLE".into(),
            decimal: "DECIMAL(65,30)".into(),
            decimal_scaled: Some("DECIMAL({p},{s})".into()),
            text: "MEDIUMTEXT".into(),
            bytes: "LONGBLOB".into(),
            json: Some("JSON".into()),
            uuid: Some("CHAR(36) CHARACTER SET ascii COLLATE ascii_bin".into()),
            date: Some("DATE".into()),
            time: Some("TIME(6)".into()),
            timestamp: None,
            timestamptz: Some("DATETIME(6)".into()),
            interval: None,
            array: None,
            decimal_keeps_scale: false,
            interval_keeps_parts: false,
        }
    }

    /// The column type that stores `kind`.
    pub fn column(&self, kind: Kind) -> Option<&str> {
        match kind {
            Kind::Bool => Some(&self.boolean),
            Kind::Int => Some(&self.bigint),
            Kind::Float => Some(&self.float),
            Kind::Decimal => Some(&self.decimal),
            Kind::Text => Some(&self.text),
            Kind::Bytes => Some(&self.bytes),
            Kind::Json => self.json.as_deref(),
            Kind::Uuid => self.uuid.as_deref(),
            Kind::Date => self.date.as_deref(),
            Kind::Time => self.time.as_deref(),
            Kind::Timestamp => self.timestamp.as_deref(),
            Kind::TimestampTz => self.timestamptz.as_deref(),
            Kind::Interval => self.interval.as_deref(),
        }
    }

    /// The column type that stores arrays of `kind`.
    pub fn array_of(&self, kind: Kind) -> Option<String> {
        let pattern = self.array.as_deref()?;
        Some(pattern.replace("{}", self.column(kind)?))
    }

    /// A decimal column type with this precision and scale.
    pub fn decimal_with(&self, precision: u32, scale: u32) -> Option<String> {
        let pattern = self.decimal_scaled.as_deref()?;
        Some(
            pattern
                .replace("{p}", &precision.to_string())
                .replace("{s}", &scale.to_string()),
        )
    }
}
