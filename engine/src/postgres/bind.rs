//! Binding `Value`s as PostgreSQL parameters.
//!
//! The server infers each parameter's type from the statement; a value is encoded for that
//! type. Common pairs use the binary format; anything else is sent as text and the server's
//! own input function parses it (so a `str` can fill a uuid, inet or enum parameter, and a
//! Python int beyond int64 fills a NUMERIC exactly). Out-of-range values fail loudly.

use std::error::Error;
use std::fmt::Write;

use bytes::{BufMut, BytesMut};
use postgres_protocol::types as pgt;
use postgres_protocol::IsNull as ProtoIsNull;
use tokio_postgres::types::{to_sql_checked, Format, IsNull, Kind, ToSql, Type};

use super::numeric;
use crate::value::{Interval, Value};

type BoxError = Box<dyn Error + Sync + Send>;

/// A bind failure that names the value and the target type.
#[derive(Debug)]
pub struct BindError(pub String);

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for BindError {}

fn fail(msg: String) -> BoxError {
    Box::new(BindError(msg))
}

fn is_text_type(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    ) || ty.name() == "citext"
}

/// Whether `value` is sent in binary for parameter type `ty` (otherwise as text).
pub(super) fn binary_for(value: &Value, ty: &Type) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(_) => *ty == Type::BOOL,
        Value::Int(_) => matches!(
            *ty,
            Type::INT2 | Type::INT4 | Type::INT8 | Type::OID | Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC
        ),
        Value::Float(_) => matches!(*ty, Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC),
        Value::Text(_) => is_text_type(ty),
        Value::Bytes(_) => *ty == Type::BYTEA,
        Value::Json(_) => matches!(*ty, Type::JSON | Type::JSONB) || is_text_type(ty),
        Value::Uuid(_) => *ty == Type::UUID,
        Value::Decimal(_) | Value::UInt(_) => *ty == Type::NUMERIC,
        Value::Date(_) => *ty == Type::DATE,
        Value::Time(_) => *ty == Type::TIME,
        Value::Timestamp(_) => *ty == Type::TIMESTAMP,
        Value::TimestampTz(_) => *ty == Type::TIMESTAMPTZ,
        Value::Interval(_) => *ty == Type::INTERVAL,
        Value::Array(items) => match ty.kind() {
            Kind::Array(member) => items.iter().all(|v| binary_for(v, member)),
            _ => false,
        },
    }
}

fn range_error(value: impl std::fmt::Display, ty: &Type) -> BoxError {
    fail(format!("value {value} is out of range for type {}", ty.name()))
}

pub(super) fn write_binary(value: &Value, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match value {
        Value::Null => return Ok(IsNull::Yes),
        Value::Bool(b) => pgt::bool_to_sql(*b, out),
        Value::Int(i) => match *ty {
            Type::INT2 => pgt::int2_to_sql(i16::try_from(*i).map_err(|_| range_error(i, ty))?, out),
            Type::INT4 => pgt::int4_to_sql(i32::try_from(*i).map_err(|_| range_error(i, ty))?, out),
            Type::OID => pgt::oid_to_sql(u32::try_from(*i).map_err(|_| range_error(i, ty))?, out),
            Type::INT8 => pgt::int8_to_sql(*i, out),
            Type::FLOAT4 => pgt::float4_to_sql(*i as f32, out),
            Type::FLOAT8 => pgt::float8_to_sql(*i as f64, out),
            _ => numeric::encode(&i.to_string(), out).map_err(fail)?,
        },
        Value::Float(f) => match *ty {
            Type::FLOAT4 => {
                let narrowed = *f as f32;
                if f.is_finite() && !narrowed.is_finite() {
                    return Err(range_error(f, ty));
                }
                pgt::float4_to_sql(narrowed, out)
            }
            Type::FLOAT8 => pgt::float8_to_sql(*f, out),
            _ => numeric::encode(&float_text(*f), out).map_err(fail)?,
        },
        Value::Text(s) => {
            check_no_nul(s)?;
            pgt::text_to_sql(s, out)
        }
        Value::Json(s) => {
            check_no_nul(s)?;
            if *ty == Type::JSONB {
                out.put_u8(1);
            }
            out.put_slice(s.as_bytes());
        }
        Value::Bytes(b) => pgt::bytea_to_sql(b, out),
        Value::Uuid(u) => pgt::uuid_to_sql(*u.as_bytes(), out),
        Value::Decimal(d) => numeric::encode(d, out).map_err(fail)?,
        Value::UInt(u) => numeric::encode(&u.to_string(), out).map_err(fail)?,
        Value::Date(d) => return d.to_sql(ty, out),
        Value::Time(t) => return t.to_sql(ty, out),
        Value::Timestamp(t) => return t.to_sql(ty, out),
        Value::TimestampTz(t) => return t.to_sql(ty, out),
        Value::Interval(iv) => {
            out.put_i64(iv.micros);
            out.put_i32(iv.days);
            out.put_i32(iv.months);
        }
        Value::Array(items) => {
            let Kind::Array(member) = ty.kind() else {
                return Err(fail(format!("an array cannot fill a parameter of type {}", ty.name())));
            };
            let len = i32::try_from(items.len()).map_err(|_| fail("array too long".into()))?;
            let dims = if items.is_empty() {
                vec![]
            } else {
                vec![pgt::ArrayDimension { len, lower_bound: 1 }]
            };
            pgt::array_to_sql(
                dims,
                member.oid(),
                items.iter(),
                |v, buf| match write_binary(v, member, buf)? {
                    IsNull::Yes => Ok(ProtoIsNull::Yes),
                    IsNull::No => Ok(ProtoIsNull::No),
                },
                out,
            )?;
        }
    }
    Ok(IsNull::No)
}

fn check_no_nul(s: &str) -> Result<(), BoxError> {
    if s.contains('\0') {
        return Err(fail(format!(
            "text {:?} contains a NUL byte, which PostgreSQL text cannot store",
            Value::Text(s.chars().take(40).collect()).describe()
        )));
    }
    Ok(())
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        // Rust's shortest round-trip representation, never in exponent form.
        format!("{f:?}")
    }
}

fn interval_text(iv: &Interval) -> String {
    format!("{} mons {} days {} microseconds", iv.months, iv.days, iv.micros)
}

/// The PostgreSQL input syntax for a value, parsed by the server for the parameter's type.
pub fn text_repr(value: &Value) -> Result<String, BoxError> {
    Ok(match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float_text(*f),
        Value::Text(s) | Value::Json(s) => {
            check_no_nul(s)?;
            s.clone()
        }
        Value::Decimal(d) => d.clone(),
        Value::UInt(u) => u.to_string(),
        Value::Bytes(b) => {
            let mut s = String::with_capacity(2 + b.len() * 2);
            s.push_str("\\x");
            for byte in b {
                let _ = write!(s, "{byte:02x}");
            }
            s
        }
        Value::Uuid(u) => u.hyphenated().to_string(),
        Value::Date(d) => d.format("%Y-%m-%d").to_string(),
        Value::Time(t) => t.format("%H:%M:%S%.6f").to_string(),
        Value::Timestamp(t) => t.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
        Value::TimestampTz(t) => t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string(),
        Value::Interval(iv) => interval_text(iv),
        Value::Array(items) => {
            let mut s = String::from("{");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                if matches!(item, Value::Null) {
                    s.push_str("NULL");
                } else if matches!(item, Value::Array(_)) {
                    // A sub-array is a dimension of the same literal, not a quoted element.
                    s.push_str(&text_repr(item)?);
                } else {
                    let inner = text_repr(item)?;
                    s.push('"');
                    for c in inner.chars() {
                        if c == '"' || c == '\\' {
                            s.push('\\');
                        }
                        s.push(c);
                    }
                    s.push('"');
                }
            }
            s.push('}');
            s
        }
    })
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        if binary_for(self, ty) {
            write_binary(self, ty, out)
        } else {
            if matches!(self, Value::Bool(_)) && matches!(*ty, Type::INT2 | Type::INT4 | Type::INT8) {
                return Err(fail(format!("a bool cannot fill a parameter of type {}", ty.name())));
            }
            out.put_slice(text_repr(self)?.as_bytes());
            Ok(IsNull::No)
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, ty: &Type) -> Format {
        if binary_for(self, ty) {
            Format::Binary
        } else {
            Format::Text
        }
    }

    to_sql_checked!();
}
