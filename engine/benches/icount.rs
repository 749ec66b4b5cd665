//! A fixed, deterministic workload over the bind and decode hot paths (NUMERIC encode/decode,
//! SQLite `to_sqlite`/`from_sqlite`), for instruction counting under
//! `valgrind --tool=callgrind`. It measures nothing itself: `perf/gate.py` runs it under
//! callgrind and compares the instruction count with `perf/icount_baseline.toml`.
//!
//! Build: `cargo bench -p yara-engine --bench icount --no-run`.

use std::hint::black_box;

use bytes::BytesMut;
use rusqlite::types::ValueRef;
use yara_engine::postgres::numeric;
use yara_engine::sqlite::types::{from_sqlite, to_sqlite, ColumnKind};
use yara_engine::Value;

const ROUNDS: usize = 2_000;

fn main() {
    let decimals = [
        "12.50",
        "-98765.4321",
        "123456789012345678901234567890.123456789",
        "1E+3",
    ];
    let mut buf = BytesMut::with_capacity(256);
    let mut total = 0usize;
    for _ in 0..ROUNDS {
        for text in decimals {
            buf.clear();
            numeric::encode(black_box(text), &mut buf).unwrap();
            total += numeric::decode(black_box(&buf)).unwrap().len();
        }
        let values = [
            Value::Int(42),
            Value::Text("hello".to_string()),
            Value::Decimal("12.34".to_string()),
        ];
        for value in &values {
            black_box(to_sqlite(black_box(value)).unwrap());
        }
        let cells = [
            (ValueRef::Integer(1), ColumnKind::Bool),
            (ValueRef::Text(b"2026-11-23 12:34:56.789012"), ColumnKind::Timestamp),
            (
                ValueRef::Text(b"12345678-9abc-def0-1234-56789abcdef0"),
                ColumnKind::Uuid,
            ),
            (ValueRef::Real(12345.67), ColumnKind::Decimal(Some(2))),
        ];
        for (cell, kind) in cells {
            black_box(from_sqlite(black_box(cell), kind, "col").unwrap());
        }
    }
    // Printed so the work cannot be optimised away and the run can be sanity-checked.
    println!("icount workload done: {total}");
}
