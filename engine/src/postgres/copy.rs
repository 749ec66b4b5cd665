//! `COPY ... FROM STDIN` in the binary format: the fastest way into a table for many rows.
//!
//! The caller gives the COPY statement, a statement whose parameters have the target columns'
//! types (the INSERT of one row, usually prepared already), and the values column by column.
//! Every value is checked against its column type before anything is sent, so a value COPY
//! cannot carry fails before the server sees a byte; an error while streaming aborts the COPY
//! (tokio-postgres sends CopyFail when the sink is dropped unfinished) and the table is as before.

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::SinkExt;
use tokio_postgres::types::{IsNull, Type};
use tokio_postgres::{Client, Statement};

use super::bind::{binary_for, write_binary};
use super::error::map_pg_error;
use crate::error::{EngineError, Result};
use crate::value::Value;

/// Bytes encoded before a chunk goes to the connection (few channel hand-offs, bounded memory).
const CHUNK: usize = 256 * 1024;
const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Refuse, before sending anything, columns of unequal length or a value the binary format
/// cannot carry for its column's type.
pub fn check(types: &[Type], columns: &[Vec<Value>]) -> Result<usize> {
    if types.len() != columns.len() {
        return Err(EngineError::programming(format!(
            "COPY into {} column(s) was given {} column(s) of values",
            types.len(),
            columns.len()
        )));
    }
    let rows = columns.first().map_or(0, Vec::len);
    for (i, (column, ty)) in columns.iter().zip(types).enumerate() {
        if column.len() != rows {
            return Err(EngineError::params(format!(
                "COPY columns must be equally long: column {} has {} values, column 1 has {rows}",
                i + 1,
                column.len()
            )));
        }
        if let Some(bad) = column.iter().find(|v| !binary_for(v, ty)) {
            return Err(EngineError::params(format!(
                "COPY column {} ({}) cannot take a {} value ({}); insert it with a bound parameter instead",
                i + 1,
                ty.name(),
                bad.kind(),
                bad.describe()
            )));
        }
    }
    Ok(rows)
}

/// Stream `rows` rows of `columns` through `copy` (a prepared `COPY ... FROM STDIN (FORMAT
/// binary)`); the number of rows the server stored.
pub async fn copy_in(
    client: &Client,
    copy: &Statement,
    types: &[Type],
    columns: &[Vec<Value>],
    rows: usize,
) -> Result<u64> {
    let width = i16::try_from(columns.len()).map_err(|_| EngineError::params("COPY of too many columns"))?;
    let sink = client.copy_in::<_, Bytes>(copy).await.map_err(map_pg_error)?;
    let mut sink = std::pin::pin!(sink);
    let mut buf = BytesMut::with_capacity(CHUNK + CHUNK / 4);
    buf.put_slice(SIGNATURE);
    buf.put_i32(0); // flags: no OIDs
    buf.put_i32(0); // header extension length
    for row in 0..rows {
        buf.put_i16(width);
        for (i, (column, ty)) in columns.iter().zip(types).enumerate() {
            let at = buf.len();
            buf.put_i32(-1);
            let written = write_binary(&column[row], ty, &mut buf)
                .map_err(|e| EngineError::data(format!("COPY row {} column {}: {e}", row + 1, i + 1)))?;
            if let IsNull::No = written {
                let len = i32::try_from(buf.len() - at - 4).map_err(|_| {
                    EngineError::data(format!("COPY row {} column {}: value too large", row + 1, i + 1))
                })?;
                buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
            }
        }
        if buf.len() >= CHUNK {
            sink.send(buf.split().freeze()).await.map_err(map_pg_error)?;
        }
    }
    buf.put_i16(-1); // trailer
    sink.send(buf.split().freeze()).await.map_err(map_pg_error)?;
    sink.as_mut().finish().await.map_err(map_pg_error)
}
