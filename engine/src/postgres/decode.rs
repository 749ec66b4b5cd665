//! Decoding PostgreSQL binary results into `Value`s, by column type.

use std::error::Error;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use fallible_iterator::FallibleIterator;
use postgres_protocol::types as pgt;
use tokio_postgres::types::{FromSql, Kind, Type};
use tokio_postgres::Row;

use super::numeric;
use crate::error::{EngineError, Result};
use crate::value::{Interval, Value};

type BoxError = Box<dyn Error + Sync + Send>;

/// One decoded cell; `FromSql` for every type so `Row::try_get` never refuses a column.
pub struct Cell(pub Value);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> std::result::Result<Self, BoxError> {
        decode(ty, raw).map(Cell)
    }

    fn from_sql_null(_ty: &Type) -> std::result::Result<Self, BoxError> {
        Ok(Cell(Value::Null))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

fn decode(ty: &Type, raw: &[u8]) -> std::result::Result<Value, BoxError> {
    Ok(match *ty {
        // Functions run for their effect (pg_sleep, pg_notify) return void: read it as NULL.
        Type::VOID => Value::Null,
        Type::BOOL => Value::Bool(pgt::bool_from_sql(raw)?),
        Type::INT2 => Value::Int(pgt::int2_from_sql(raw)? as i64),
        Type::INT4 => Value::Int(pgt::int4_from_sql(raw)? as i64),
        Type::INT8 => Value::Int(pgt::int8_from_sql(raw)?),
        Type::OID => Value::Int(pgt::oid_from_sql(raw)? as i64),
        Type::FLOAT4 => Value::Float(pgt::float4_from_sql(raw)? as f64),
        Type::FLOAT8 => Value::Float(pgt::float8_from_sql(raw)?),
        Type::NUMERIC => Value::Decimal(numeric::decode(raw)?),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::CHAR => {
            Value::Text(pgt::text_from_sql(raw)?.to_owned())
        }
        Type::BYTEA => Value::Bytes(pgt::bytea_from_sql(raw).to_vec()),
        Type::JSON => Value::Json(pgt::text_from_sql(raw)?.to_owned()),
        Type::JSONB => match raw.split_first() {
            Some((1, rest)) => Value::Json(std::str::from_utf8(rest)?.to_owned()),
            _ => return Err("unsupported jsonb format version".into()),
        },
        Type::UUID => Value::Uuid(uuid::Uuid::from_bytes(pgt::uuid_from_sql(raw)?)),
        Type::DATE => Value::Date(NaiveDate::from_sql(ty, raw)?),
        Type::TIME => Value::Time(NaiveTime::from_sql(ty, raw)?),
        Type::TIMESTAMP => Value::Timestamp(NaiveDateTime::from_sql(ty, raw)?),
        Type::TIMESTAMPTZ => Value::TimestampTz(DateTime::<Utc>::from_sql(ty, raw)?),
        Type::INTERVAL => {
            if raw.len() != 16 {
                return Err("invalid interval length".into());
            }
            let micros = i64::from_be_bytes(raw[0..8].try_into()?);
            let days = i32::from_be_bytes(raw[8..12].try_into()?);
            let months = i32::from_be_bytes(raw[12..16].try_into()?);
            Value::Interval(Interval { months, days, micros })
        }
        _ => match ty.kind() {
            Kind::Array(member) => decode_array(member, raw)?,
            Kind::Domain(inner) => decode(inner, raw)?,
            Kind::Enum(_) => Value::Text(pgt::text_from_sql(raw)?.to_owned()),
            _ if ty.name() == "citext" => Value::Text(pgt::text_from_sql(raw)?.to_owned()),
            _ => {
                return Err(format!(
                    "unsupported column type {}: cast it in SQL (for example col::text)",
                    ty.name()
                )
                .into())
            }
        },
    })
}

fn decode_array(member: &Type, raw: &[u8]) -> std::result::Result<Value, BoxError> {
    let array = pgt::array_from_sql(raw)?;
    let dims: Vec<usize> = array.dimensions().map(|d| Ok(d.len as usize)).collect()?;
    let flat: Vec<Value> = array
        .values()
        .map(|cell| match cell {
            Some(bytes) => decode(member, bytes).map_err(|e| -> BoxError { e }),
            None => Ok(Value::Null),
        })
        .collect()?;
    if dims.len() <= 1 {
        return Ok(Value::Array(flat));
    }
    // Nest multi-dimensional arrays, innermost dimension last.
    let mut level = flat;
    for &len in dims[1..].iter().rev() {
        let mut grouped = Vec::with_capacity(level.len() / len.max(1));
        let mut it = level.into_iter();
        loop {
            let chunk: Vec<Value> = it.by_ref().take(len).collect();
            if chunk.is_empty() {
                break;
            }
            grouped.push(Value::Array(chunk));
        }
        level = grouped;
    }
    Ok(Value::Array(level))
}

/// Decode every cell of `row` onto the end of `out`.
pub fn decode_row(row: &Row, out: &mut Vec<Value>) -> Result<()> {
    for i in 0..row.len() {
        match row.try_get::<_, Cell>(i) {
            Ok(Cell(v)) => out.push(v),
            Err(e) => {
                let column = row.columns()[i].name().to_string();
                let reason = e.source().map(|s| s.to_string()).unwrap_or_else(|| e.to_string());
                let mut err = EngineError::data(format!("cannot decode column {column:?}: {reason}"));
                err.column = Some(column);
                return Err(err);
            }
        }
    }
    Ok(())
}
