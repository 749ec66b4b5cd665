//! Round trips: bound parameter in, typed column, value out. Properties and edge tables.

use std::cell::Cell;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use proptest::strategy::BoxedStrategy;
use proptest::test_runner::{TestCaseError, TestError};
use yara_engine::{Backend, Capabilities, ErrorKind, Interval, Value};

use crate::equality::{check, show, Rules};
use crate::harness::{describe, single, Case, Outcome, TestCtx};
use crate::strategies::{self, date_bounds, decimal_text, fit_time};
use crate::types::{Kind, TypeNames};

/// What a stored edge value must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Read back equal (by the type-aware rules).
    RoundTrip,
    /// Read back equal, or be refused with a `Data`/`Params` error; never change.
    ExactOrRefused,
    /// Be refused with a `Data`/`Params` error (and nothing stored).
    Refused,
}

struct Edge {
    name: String,
    column: Option<String>,
    skip: Option<String>,
    value: Value,
    expect: Expect,
    rules: Rules,
}

impl Edge {
    fn when(&mut self, ok: bool, reason: impl Into<String>) -> &mut Self {
        if !ok && self.skip.is_none() {
            self.skip = Some(reason.into());
        }
        self
    }

    fn expect(&mut self, e: Expect) -> &mut Self {
        self.expect = e;
        self
    }

    fn column(&mut self, column: Option<String>, what: &str) -> &mut Self {
        match column {
            Some(c) => self.column = Some(c),
            None => {
                self.when(
                    false,
                    format!("no {what} column type is declared in the backend's TypeNames"),
                );
            }
        }
        self
    }

    fn keeps_scale(&mut self) -> &mut Self {
        self.rules = self.rules.with_decimal_scale();
        self
    }
}

struct Edges<'a> {
    caps: &'a Capabilities,
    types: &'a TypeNames,
    out: Vec<Edge>,
}

impl Edges<'_> {
    fn add(&mut self, kind: Kind, case: &str, value: Value) -> &mut Edge {
        self.push(
            format!("roundtrip::{}::{case}", kind.name()),
            self.types.column(kind).map(str::to_string),
            kind.unsupported(self.caps, self.types),
            value,
        )
    }

    fn array(&mut self, element: Kind, case: &str, items: Vec<Value>) -> &mut Edge {
        self.push(
            format!("roundtrip::array::{case}"),
            self.types.array_of(element),
            element.array_unsupported(self.caps, self.types),
            Value::Array(items),
        )
    }

    fn push(&mut self, name: String, column: Option<String>, skip: Option<String>, value: Value) -> &mut Edge {
        let i = self.out.len();
        self.out.push(Edge {
            name,
            column,
            skip,
            value,
            expect: Expect::RoundTrip,
            rules: Rules::new(self.caps, self.types),
        });
        &mut self.out[i]
    }
}

fn ts(d: NaiveDate, h: u32, m: u32, s: u32, us: u32) -> NaiveDateTime {
    d.and_time(NaiveTime::from_hms_micro_opt(h, m, s, us).unwrap_or(NaiveTime::MIN))
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// `n` digits 1234567890... with `scale` of them after the point.
fn digits(n: usize, scale: usize) -> String {
    let ds: Vec<u8> = (0..n).map(|i| ((i + 1) % 10) as u8).collect();
    decimal_text(&ds, scale, false)
}

fn json(s: &str) -> Value {
    Value::Json(s.to_string())
}

fn dec(s: &str) -> Value {
    Value::Decimal(s.to_string())
}

fn edge_table(caps: &Capabilities, types: &TypeNames) -> Vec<Edge> {
    let mut e = Edges {
        caps,
        types,
        out: Vec::new(),
    };
    let (first_day, last_day) = date_bounds(caps);
    let step = caps.timestamp_precision_us.max(1);
    let last_us = 999_999 / step * step;

    // Booleans.
    e.add(Kind::Bool, "true", Value::Bool(true));
    e.add(Kind::Bool, "false", Value::Bool(false));

    // Integers.
    for (case, i) in [
        ("zero", 0),
        ("one", 1),
        ("minus_one", -1),
        ("int64_min", i64::MIN),
        ("int64_max", i64::MAX),
        ("two_pow_31", 1i64 << 31),
        ("minus_two_pow_31", -(1i64 << 31)),
        ("two_pow_31_minus_1", (1i64 << 31) - 1),
        ("minus_two_pow_31_minus_1", -(1i64 << 31) - 1),
        ("two_pow_53_plus_1", (1i64 << 53) + 1),
    ] {
        e.add(Kind::Int, case, Value::Int(i));
    }
    for (case, i, expect) in [
        ("int16_min", i16::MIN as i64, Expect::RoundTrip),
        ("int16_max", i16::MAX as i64, Expect::RoundTrip),
        ("int16_max_plus_1", i16::MAX as i64 + 1, Expect::ExactOrRefused),
        ("int16_min_minus_1", i16::MIN as i64 - 1, Expect::ExactOrRefused),
    ] {
        e.add(Kind::Int, case, Value::Int(i))
            .column(types.smallint.clone(), "16-bit integer (smallint)")
            .expect(expect);
    }
    for (case, i, expect) in [
        ("int32_min", i32::MIN as i64, Expect::RoundTrip),
        ("int32_max", i32::MAX as i64, Expect::RoundTrip),
        ("int32_max_plus_1", i32::MAX as i64 + 1, Expect::ExactOrRefused),
        ("int32_min_minus_1", i32::MIN as i64 - 1, Expect::ExactOrRefused),
    ] {
        e.add(Kind::Int, case, Value::Int(i))
            .column(types.integer.clone(), "32-bit integer (integer)")
            .expect(expect);
    }

    // Floats.
    e.add(Kind::Float, "neg_zero", Value::Float(-0.0)).when(
        caps.float_signed_zero,
        "capability `float_signed_zero` is not declared (see roundtrip::float::neg_zero_unsigned)",
    );
    e.add(Kind::Float, "neg_zero_unsigned", Value::Float(-0.0)).when(
        !caps.float_signed_zero,
        "capability `float_signed_zero` is declared (see roundtrip::float::neg_zero)",
    );
    for (case, f) in [
        ("pos_zero", 0.0f64),
        ("min_subnormal", f64::from_bits(1)),
        ("neg_min_subnormal", -f64::from_bits(1)),
        ("max_subnormal", f64::from_bits(0x000f_ffff_ffff_ffff)),
        ("min_positive_normal", f64::MIN_POSITIVE),
        ("max", f64::MAX),
        ("lowest", f64::MIN),
        ("epsilon", f64::EPSILON),
        ("one_tenth", 0.1),
        ("one_third", 1.0 / 3.0),
        ("tiny_negative", -1e-300),
        ("huge", 1e300),
        ("two_pow_53_plus_2", 9_007_199_254_740_994.0),
    ] {
        e.add(Kind::Float, case, Value::Float(f));
    }
    e.add(Kind::Float, "nan", Value::Float(f64::NAN)).when(
        caps.float_nan,
        "capability `float_nan` is not declared (see roundtrip::float::nan_refused)",
    );
    e.add(Kind::Float, "nan_refused", Value::Float(f64::NAN))
        .when(
            !caps.float_nan,
            "capability `float_nan` is declared (see roundtrip::float::nan)",
        )
        .expect(Expect::Refused);
    for (case, f) in [("pos_infinity", f64::INFINITY), ("neg_infinity", f64::NEG_INFINITY)] {
        e.add(Kind::Float, case, Value::Float(f))
            .when(caps.float_infinity, "capability `float_infinity` is not declared");
        e.add(Kind::Float, &format!("{case}_refused"), Value::Float(f))
            .when(!caps.float_infinity, "capability `float_infinity` is declared")
            .expect(Expect::Refused);
    }

    // Decimals.
    let max_digits = strategies::decimal_digits(caps);
    for (case, v) in [
        ("zero", "0"),
        ("negative", "-12.50"),
        ("tiny", "0.00000001"),
        ("scale_three", "1.000"),
        ("e_notation", "1.5E+3"),
        ("e_notation_negative_exponent", "1e-7"),
        ("negative_zero", "-0.0"),
        ("integral", "42"),
    ] {
        e.add(Kind::Decimal, case, dec(v));
    }
    for n in [20usize, 30, 40] {
        e.add(Kind::Decimal, &format!("digits_{n}"), dec(&digits(n, n / 2)))
            .when(
                max_digits >= n,
                format!("capability `numeric_max_digits` is {max_digits} (< {n})"),
            );
    }
    e.add(Kind::Decimal, "max_digits", dec(&digits(max_digits, max_digits / 3)));
    e.add(
        Kind::Decimal,
        "max_digits_all_fraction",
        dec(&digits(max_digits, max_digits)),
    );
    e.add(
        Kind::Decimal,
        "beyond_max_digits",
        dec(&digits(max_digits + 1, max_digits / 3)),
    )
    .expect(Expect::ExactOrRefused);
    e.add(Kind::Decimal, "scale_kept_in_scaled_column", dec("12.500"))
        .column(types.decimal_with(20, 3), "scaled decimal")
        .keeps_scale();
    e.add(Kind::Decimal, "integral_in_scaled_column", dec("7.000"))
        .column(types.decimal_with(20, 3), "scaled decimal")
        .keeps_scale();
    for (case, v) in [("nan", "NaN"), ("infinity", "Infinity"), ("neg_infinity", "-Infinity")] {
        e.add(Kind::Decimal, case, dec(v))
            .when(caps.numeric_special, "capability `numeric_special` is not declared");
        e.add(Kind::Decimal, &format!("{case}_refused"), dec(v))
            .when(!caps.numeric_special, "capability `numeric_special` is declared")
            .expect(Expect::Refused);
    }
    e.add(Kind::Decimal, "big_integer", dec("123456789012345678901234567890"))
        .when(caps.big_integers, "capability `big_integers` is not declared");
    e.add(Kind::Decimal, "int64_max_plus_1", dec("9223372036854775808"))
        .expect(Expect::ExactOrRefused);

    // Text.
    let mib: String = "abcdefghijklmnopqrstuvwxyz0123456789'\"\\%_ é😀\n"
        .chars()
        .cycle()
        .take(1 << 20)
        .collect();
    for (case, s) in [
        ("empty", String::new()),
        ("astral", "😀👍🏽🏳️‍🌈 𝄞 \u{10FFFF}".to_string()),
        (
            "quotes_and_backslashes",
            r#"it's "quoted" \ back\\slash \n not a newline"#.to_string(),
        ),
        ("like_metacharacters", "100% _match_ [a-z] ^$".to_string()),
        ("sql_injection", "'); DROP TABLE students; --".to_string()),
        ("whitespace", "  \t\r\n  ".to_string()),
        ("combining_marks", "e\u{301} n\u{303} \u{1F1EB}\u{1F1F7}".to_string()),
        ("right_to_left", "مرحبا بالعالم שלום".to_string()),
        ("byte_order_mark", "\u{FEFF}bom".to_string()),
        ("noncharacter", "\u{FFFF}\u{FFFE}".to_string()),
        ("looks_numeric", "00123".to_string()),
        ("looks_like_null", "NULL".to_string()),
        ("one_mib", mib),
    ] {
        e.add(Kind::Text, case, Value::Text(s));
    }
    e.add(Kind::Text, "nul", Value::Text("a\0b".into())).when(
        caps.text_allows_nul,
        "capability `text_allows_nul` is not declared (see roundtrip::text::nul_refused)",
    );
    e.add(Kind::Text, "nul_refused", Value::Text("a\0b".into()))
        .when(
            !caps.text_allows_nul,
            "capability `text_allows_nul` is declared (see roundtrip::text::nul)",
        )
        .expect(Expect::Refused);

    // Bytes.
    let all: Vec<u8> = (0..=255u8).collect();
    let big: Vec<u8> = (0..(1u32 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for (case, b) in [
        ("all_256_values", all),
        ("empty", vec![]),
        ("one_nul", vec![0]),
        ("invalid_utf8", vec![0xff, 0xfe, 0xc0, 0x80]),
        ("one_mib", big),
    ] {
        e.add(Kind::Bytes, case, Value::Bytes(b));
    }

    // JSON.
    let deep = format!("{}1{}", "[".repeat(32), "]".repeat(32));
    let large = format!(
        "[{}]",
        (0..5000)
            .map(|i| format!(r#"{{"id":{i},"name":"item {i}","tags":["a","b"],"ratio":{}.5}}"#, i % 7))
            .collect::<Vec<_>>()
            .join(",")
    );
    for (case, j) in [
        ("json_null", "null".to_string()),
        ("empty_object", "{}".to_string()),
        ("empty_array", "[]".to_string()),
        (
            "nested",
            r#"{"a":{"b":{"c":[1,{"d":null}]}},"e":[[],[{}]]}"#.to_string(),
        ),
        ("deep", deep),
        (
            "unicode_keys",
            r#"{"ключ":"値","😀":1,"":"empty key","a\"b":"quote"}"#.to_string(),
        ),
        (
            "string_escapes",
            r#"{"s":"line\nbreak \"q\" \\ \u0001 \u00e9 \ud83d\ude00"}"#.to_string(),
        ),
        (
            "floats",
            "[0.1,1e300,-2.5e-300,1.0,-0.0,123456789.123456789]".to_string(),
        ),
        ("big_integer", "[9007199254740993,-9223372036854775808]".to_string()),
        ("top_level_string", r#""just a string""#.to_string()),
        ("top_level_number", "42".to_string()),
        ("top_level_decimal", "1.5".to_string()),
        ("top_level_true", "true".to_string()),
        ("large", large),
    ] {
        e.add(Kind::Json, case, json(&j));
    }

    // UUIDs.
    e.add(Kind::Uuid, "nil", Value::Uuid(uuid::Uuid::nil()));
    e.add(Kind::Uuid, "max", Value::Uuid(uuid::Uuid::from_u128(u128::MAX)));
    e.add(
        Kind::Uuid,
        "v4",
        Value::Uuid(uuid::Uuid::from_u128(0x9b2f_4c1e_7d3a_4f8b_a1c2_3d4e_5f60_7182)),
    );

    // Dates.
    for (case, d) in [
        ("first_day_of_range", first_day),
        ("last_day_of_range", last_day),
        ("gregorian_reform", ymd(1582, 10, 15)),
        ("day_before_gregorian_reform", ymd(1582, 10, 4)),
        ("not_a_leap_day_1900", ymd(1900, 2, 28)),
        ("leap_day_2000", ymd(2000, 2, 29)),
        ("epoch", ymd(1970, 1, 1)),
        ("day_before_epoch", ymd(1969, 12, 31)),
    ] {
        let in_range = d >= first_day && d <= last_day;
        e.add(Kind::Date, case, Value::Date(d)).when(
            in_range,
            format!("{d} is outside the declared `date_range` {:?}", caps.date_range),
        );
    }

    // Times.
    let last_micro = fit_time(86_399_000_000 + u64::from(last_us), caps);
    for (case, t) in [
        ("midnight", NaiveTime::MIN),
        ("last_step_of_day", last_micro),
        ("noon", NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN)),
        ("precision_step", fit_time(u64::from(step), caps)),
        ("odd_microseconds", fit_time(45_296_789_012, caps)),
    ] {
        e.add(Kind::Time, case, Value::Time(t));
    }

    // Timestamps, naive and instants.
    let instants = [
        ("first_instant_of_range", ts(first_day, 0, 0, 0, 0)),
        ("last_instant_of_range", ts(last_day, 23, 59, 59, last_us)),
        ("epoch", ts(ymd(1970, 1, 1), 0, 0, 0, 0)),
        ("last_step_before_epoch", ts(ymd(1969, 12, 31), 23, 59, 59, last_us)),
        ("microseconds", ts(ymd(2024, 2, 29), 12, 34, 56, 789_012 / step * step)),
        ("dst_gap_wall_time", ts(ymd(2021, 3, 28), 2, 30, 0, 0)),
        ("dst_fold_wall_time", ts(ymd(2021, 10, 31), 2, 30, 0, 0)),
        ("y2038", ts(ymd(2038, 1, 19), 3, 14, 8, 0)),
        ("historic", ts(ymd(1066, 10, 14), 9, 0, 0, 0)),
    ];
    for (case, t) in instants {
        let in_range = t.date() >= first_day && t.date() <= last_day;
        let reason = format!("{t} is outside the declared `date_range` {:?}", caps.date_range);
        e.add(Kind::Timestamp, case, Value::Timestamp(t))
            .when(in_range, reason.clone());
        e.add(Kind::TimestampTz, case, Value::TimestampTz(t.and_utc()))
            .when(in_range, reason);
    }

    // Intervals.
    let century_us = 36_525 * 86_400_000_000i64;
    for (case, iv) in [
        ("zero", Interval::from_micros(0)),
        ("one_microsecond", Interval::from_micros(1)),
        ("minus_one_microsecond", Interval::from_micros(-1)),
        ("century", Interval::from_micros(century_us)),
        ("minus_century", Interval::from_micros(-century_us)),
        (
            "day_and_microseconds",
            Interval {
                months: 0,
                days: 1,
                micros: 1,
            },
        ),
    ] {
        e.add(Kind::Interval, case, Value::Interval(iv));
    }
    let months = Value::Interval(Interval {
        months: 14,
        days: -3,
        micros: 4_000_001,
    });
    e.add(Kind::Interval, "months_days_micros", months.clone()).when(
        types.interval_keeps_parts,
        "the interval column does not keep month and day parts (TypeNames::interval_keeps_parts)",
    );
    e.add(Kind::Interval, "months_exact_or_refused", months)
        .when(
            !types.interval_keeps_parts,
            "the interval column keeps month parts (see roundtrip::interval::months_days_micros)",
        )
        .expect(Expect::ExactOrRefused);

    // Arrays.
    let t = |s: &str| Value::Text(s.to_string());
    e.array(Kind::Int, "empty", vec![]);
    e.array(
        Kind::Int,
        "with_nulls",
        vec![Value::Int(1), Value::Null, Value::Int(i64::MIN)],
    );
    e.array(Kind::Int, "all_nulls", vec![Value::Null, Value::Null]);
    e.array(
        Kind::Text,
        "text_metacharacters",
        vec![
            t("a,b"),
            t("{}"),
            t("\"q\""),
            t("\\"),
            t("NULL"),
            t(""),
            t(" sp "),
            Value::Null,
        ],
    );
    let zero = if caps.float_signed_zero { -0.0 } else { 0.0 };
    e.array(
        Kind::Float,
        "floats",
        vec![Value::Float(zero), Value::Float(f64::from_bits(1)), Value::Float(1e300)],
    );
    e.array(
        Kind::Decimal,
        "decimals_keep_scale",
        vec![dec("1.10"), dec("-0.001"), Value::Null],
    );
    e.array(
        Kind::Bool,
        "booleans",
        vec![Value::Bool(true), Value::Null, Value::Bool(false)],
    );
    e.array(Kind::Uuid, "uuids", vec![Value::Uuid(uuid::Uuid::nil()), Value::Null]);
    e.array(
        Kind::Date,
        "dates",
        vec![Value::Date(ymd(2000, 2, 29)), Value::Date(first_day)],
    );
    e.array(
        Kind::TimestampTz,
        "instants",
        vec![
            Value::TimestampTz(ts(ymd(1969, 12, 31), 23, 59, 59, last_us).and_utc()),
            Value::Null,
        ],
    );
    e.array(
        Kind::Bytes,
        "bytes",
        vec![Value::Bytes(vec![0, 255]), Value::Bytes(vec![])],
    );
    e.array(
        Kind::Json,
        "json",
        vec![json(r#"{"a":[1,null]}"#), json("null"), Value::Null],
    );
    e.array(
        Kind::Int,
        "two_dimensional",
        vec![
            Value::Array(vec![Value::Int(1), Value::Int(2)]),
            Value::Array(vec![Value::Int(3), Value::Int(4)]),
        ],
    );

    e.out
}

pub(crate) fn cases<B: Backend>(caps: &Capabilities, types: &TypeNames) -> Vec<Case<B>> {
    let mut out = Vec::new();
    let rules = Rules::new(caps, types);

    // Properties: every kind and its NULL.
    for kind in Kind::ALL {
        let column = types.column(kind).unwrap_or_default().to_string();
        out.push(
            Case::new(format!("property::{}", kind.name()), move |t| {
                let strategy = strategies::nullable(strategies::scalar(kind, t.caps(), t.types()));
                property(t, &column, strategy, rules)
            })
            .unless(kind.unsupported(caps, types)),
        );
    }
    for kind in Kind::ALL {
        let column = types.array_of(kind).unwrap_or_default();
        out.push(
            Case::new(format!("property::array_of_{}", kind.name()), move |t| {
                let strategy = strategies::array(kind, t.caps(), t.types());
                property(t, &column, strategy, rules)
            })
            .unless(kind.array_unsupported(caps, types)),
        );
    }
    let wide: Vec<(Kind, String)> = Kind::ALL
        .into_iter()
        .filter(|k| k.unsupported(caps, types).is_none())
        .filter_map(|k| Some((k, types.column(k)?.to_string())))
        .collect();
    out.push(Case::new("property::wide_row", move |t| wide_row(t, wide, rules)));

    // Every kind as NULL.
    for kind in Kind::ALL {
        let column = types.column(kind).unwrap_or_default().to_string();
        out.push(
            Case::new(format!("roundtrip::{}::null", kind.name()), move |t| {
                t.block(edge(t, &column, Value::Null, Expect::RoundTrip, rules))
            })
            .unless(kind.unsupported(caps, types)),
        );
    }
    let array_column = types.array_of(Kind::Int).unwrap_or_default();
    out.push(
        Case::new("roundtrip::array::null", move |t| {
            t.block(edge(t, &array_column, Value::Null, Expect::RoundTrip, rules))
        })
        .unless(Kind::Int.array_unsupported(caps, types)),
    );

    // Edge tables.
    for Edge {
        name,
        column,
        skip,
        value,
        expect,
        rules,
    } in edge_table(caps, types)
    {
        let column = column.unwrap_or_default();
        out.push(Case::new(name, move |t| t.block(edge(t, &column, value, expect, rules))).unless(skip));
    }
    out
}

fn label(value: &Value, column: &str) -> String {
    format!("{} value {} in a {column} column", value.kind(), show(value))
}

fn acceptable_refusal(e: &yara_engine::EngineError) -> bool {
    matches!(e.kind, ErrorKind::Data | ErrorKind::Params)
}

/// Write `value` with a bound parameter into a fresh `column`-typed table, read it back and
/// compare; then ask the server whether the stored value equals the bound parameter.
async fn edge<B: Backend>(t: &TestCtx<B>, column: &str, value: Value, expect: Expect, rules: Rules) -> Outcome {
    let table = t
        .create("rt", &format!("id {} PRIMARY KEY, v {column}", t.types().bigint))
        .await?;
    let what = label(&value, column);
    let insert = format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2));
    let select = format!("SELECT v FROM {table} WHERE id = {}", t.ph(1));
    let written = t.b().execute(&insert, vec![Value::Int(1), value.clone()]).await;
    match (expect, written) {
        (Expect::Refused, Ok(_)) => {
            let got = t.fetch(&select, vec![Value::Int(1)]).await.and_then(|r| single(&r));
            let got = got.map(|v| show(&v)).unwrap_or_else(|e| format!("? ({e})"));
            return Err(format!(
                "{what}: the backend does not declare it can store this, so it must be refused with a clear \
                 Data or Params error; it was stored instead and reads back as {got}"
            ));
        }
        (Expect::Refused | Expect::ExactOrRefused, Err(e)) => {
            if !acceptable_refusal(&e) {
                return Err(format!(
                    "{what}: refused, but with a {:?} error where a Data or Params error was expected: {}",
                    e.kind,
                    describe(&e)
                ));
            }
            let n = t.count(&table).await?;
            if n != 0 {
                return Err(format!("{what}: refused with an error, yet {n} row(s) were stored"));
            }
            return Ok(());
        }
        (Expect::RoundTrip, Err(e)) => return Err(format!("{what}: could not be written: {}", describe(&e))),
        (_, Ok(n)) if n != 1 => return Err(format!("{what}: the INSERT reported {n} rows affected, expected 1")),
        (_, Ok(_)) => {}
    }
    let got = single(&t.fetch(&select, vec![Value::Int(1)]).await?)?;
    check(&value, &got, &rules).map_err(|why| {
        let rule = if expect == Expect::ExactOrRefused {
            " (a value beyond the type's range must round-trip exactly or be refused, never change)"
        } else {
            ""
        };
        format!("{what} read back as {}: {why}{rule}", show(&got))
    })?;
    if matches!(value, Value::Null) || matches!(got, Value::Null) {
        return Ok(());
    }
    let compare = format!("SELECT v = {} FROM {table} WHERE id = {}", t.ph(1), t.ph(2));
    match t.b().fetch(&compare, vec![value.clone(), Value::Int(1)]).await {
        Ok(rows) => match single(&rows)? {
            Value::Bool(true) | Value::Int(1) => Ok(()),
            other => Err(format!(
                "{what}: reads back correctly, but the server does not consider the stored value equal to the \
                 bound parameter (`v = $1` gave {})",
                show(&other)
            )),
        },
        Err(e) => Err(format!(
            "{what}: comparing the stored value with the bound parameter failed: {}",
            describe(&e)
        )),
    }
}

fn proptest_failure<V: std::fmt::Debug>(
    result: Result<(), TestError<V>>,
    seed: u64,
    show_value: impl Fn(&V) -> String,
) -> Outcome {
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, value)) => Err(format!(
            "{reason}\n  minimal failing input: {}\n  (this test's proptest seed is {seed:#x}; the run's base seed is \
             set by YARA_CONFORMANCE_SEED)",
            show_value(&value)
        )),
        Err(TestError::Abort(reason)) => Err(format!("proptest aborted: {reason}")),
    }
}

/// Generated values of one column type, each written and read back.
fn property<B: Backend>(t: &TestCtx<B>, column: &str, strategy: BoxedStrategy<Value>, rules: Rules) -> Outcome {
    let table = t.block(t.create("prop", &format!("id {} PRIMARY KEY, v {column}", t.types().bigint)))?;
    let insert = format!("INSERT INTO {table} (id, v) VALUES ({}, {})", t.ph(1), t.ph(2));
    let select = format!("SELECT v FROM {table} WHERE id = {}", t.ph(1));
    let next = Cell::new(0i64);
    let (mut runner, seed) = t.proptest_runner();
    let result = runner.run(&strategy, |value| {
        let id = next.get() + 1;
        next.set(id);
        t.block(async {
            let what = label(&value, column);
            t.b()
                .execute(&insert, vec![Value::Int(id), value.clone()])
                .await
                .map_err(|e| format!("{what}: could not be written: {}", describe(&e)))?;
            let got = single(&t.fetch(&select, vec![Value::Int(id)]).await?)?;
            check(&value, &got, &rules).map_err(|why| format!("{what} read back as {}: {why}", show(&got)))
        })
        .map_err(TestCaseError::fail)
    });
    proptest_failure(result, seed, show)
}

/// One column per supported kind, random values (some NULL) in every column of a row; a
/// mismatch names its column.
fn wide_row<B: Backend>(t: &TestCtx<B>, columns: Vec<(Kind, String)>, rules: Rules) -> Outcome {
    let strategy: Vec<BoxedStrategy<Value>> = columns
        .iter()
        .map(|(k, _)| strategies::nullable(strategies::scalar(*k, t.caps(), t.types())))
        .collect();
    let defs: Vec<String> = columns.iter().map(|(k, ty)| format!("c_{} {ty}", k.name())).collect();
    let table = t.block(t.create(
        "wide",
        &format!("id {} PRIMARY KEY, {}", t.types().bigint, defs.join(", ")),
    ))?;
    let names: Vec<String> = columns.iter().map(|(k, _)| format!("c_{}", k.name())).collect();
    let insert = format!(
        "INSERT INTO {table} (id, {}) VALUES ({})",
        names.join(", "),
        t.phs(1, names.len() + 1)
    );
    let select = format!("SELECT {} FROM {table} WHERE id = {}", names.join(", "), t.ph(1));
    let next = Cell::new(0i64);
    let (mut runner, seed) = t.proptest_runner();
    let result = runner.run(&strategy, |row: Vec<Value>| {
        let id = next.get() + 1;
        next.set(id);
        t.block(async {
            let mut params = vec![Value::Int(id)];
            params.extend(row.iter().cloned());
            t.b()
                .execute(&insert, params)
                .await
                .map_err(|e| format!("a wide row could not be written: {}", describe(&e)))?;
            let rows = t.fetch(&select, vec![Value::Int(id)]).await?;
            let got = rows.first().ok_or("the wide row was not found")?;
            for (i, (want, have)) in row.iter().zip(got).enumerate() {
                let (kind, ty) = &columns[i];
                check(want, have, &rules).map_err(|why| {
                    format!(
                        "column c_{} ({ty}): {} read back as {}: {why}",
                        kind.name(),
                        label(want, ty),
                        show(have)
                    )
                })?;
            }
            Ok(())
        })
        .map_err(TestCaseError::fail)
    });
    proptest_failure(result, seed, |row: &Vec<Value>| {
        row.iter()
            .zip(&names)
            .map(|(v, n)| format!("{n}={}", show(v)))
            .collect::<Vec<_>>()
            .join(", ")
    })
}
