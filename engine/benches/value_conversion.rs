//! Criterion micro-benchmarks of value conversion: PostgreSQL NUMERIC binary encode/decode and the
//! SQLite bind (`to_sqlite`) / decode (`from_sqlite`) mappings.
//!
//! Run: `cargo bench -p yara-engine --bench value_conversion` (or `make bench`).

use std::hint::black_box;

use bytes::BytesMut;
use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rusqlite::types::ValueRef;
use yara_engine::postgres::numeric;
use yara_engine::sqlite::types::{from_sqlite, to_sqlite, ColumnKind};
use yara_engine::Value;

const DECIMALS: [&str; 6] = [
    "0",
    "12.50",
    "-98765.4321",
    "123456789012345678901234567890.123456789",
    "0.000000012345",
    "1E+3",
];

fn encoded_decimals() -> Vec<Vec<u8>> {
    DECIMALS
        .iter()
        .map(|text| {
            let mut buf = BytesMut::new();
            numeric::encode(text, &mut buf).expect("valid decimal");
            buf.to_vec()
        })
        .collect()
}

fn bench_numeric(c: &mut Criterion) {
    let mut group = c.benchmark_group("pg_numeric");
    group.throughput(Throughput::Elements(DECIMALS.len() as u64));
    group.bench_function("encode", |b| {
        let mut buf = BytesMut::with_capacity(256);
        b.iter(|| {
            for text in DECIMALS {
                buf.clear();
                numeric::encode(black_box(text), &mut buf).unwrap();
            }
            black_box(buf.len())
        })
    });
    let encoded = encoded_decimals();
    group.bench_function("decode", |b| {
        b.iter(|| {
            for raw in &encoded {
                black_box(numeric::decode(black_box(raw)).unwrap());
            }
        })
    });
    group.finish();
}

fn sample_values() -> Vec<Value> {
    let ts = NaiveDate::from_ymd_opt(2026, 11, 23)
        .and_then(|d| d.and_hms_micro_opt(12, 34, 56, 789_012))
        .expect("valid timestamp");
    vec![
        Value::Null,
        Value::Bool(true),
        Value::Int(1_234_567),
        Value::Float(3.25),
        Value::Text("hello, world".to_string()),
        Value::Bytes(vec![1, 2, 3, 4, 5, 6, 7, 8]),
        Value::Decimal("12345.67".to_string()),
        Value::Date(ts.date()),
        Value::Timestamp(ts),
        Value::TimestampTz(ts.and_utc()),
        Value::Uuid(uuid::Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0)),
        Value::Json("{\"a\": 1}".to_string()),
    ]
}

fn bench_sqlite(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqlite_types");
    let values = sample_values();
    group.throughput(Throughput::Elements(values.len() as u64));
    group.bench_function("to_sqlite", |b| {
        b.iter(|| {
            for value in &values {
                black_box(to_sqlite(black_box(value)).unwrap());
            }
        })
    });
    let cells: Vec<(ValueRef<'static>, ColumnKind)> = vec![
        (ValueRef::Null, ColumnKind::Plain),
        (ValueRef::Integer(1), ColumnKind::Bool),
        (ValueRef::Integer(1_234_567), ColumnKind::Plain),
        (ValueRef::Real(3.25), ColumnKind::Plain),
        (ValueRef::Text(b"hello, world"), ColumnKind::Plain),
        (ValueRef::Blob(&[1, 2, 3, 4, 5, 6, 7, 8]), ColumnKind::Plain),
        (ValueRef::Real(12345.67), ColumnKind::Decimal(Some(2))),
        (ValueRef::Text(b"2026-11-23"), ColumnKind::Date),
        (ValueRef::Text(b"2026-11-23 12:34:56.789012"), ColumnKind::Timestamp),
        (
            ValueRef::Text(b"2026-11-23 12:34:56.789012+00:00"),
            ColumnKind::TimestampTz,
        ),
        (
            ValueRef::Text(b"12345678-9abc-def0-1234-56789abcdef0"),
            ColumnKind::Uuid,
        ),
        (ValueRef::Text(b"{\"a\": 1}"), ColumnKind::Json),
    ];
    group.bench_function("from_sqlite", |b| {
        b.iter_batched(
            || cells.clone(),
            |cells| {
                for (cell, kind) in cells {
                    black_box(from_sqlite(black_box(cell), kind, "col").unwrap());
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_numeric, bench_sqlite);
criterion_main!(benches);
