//! proptest strategies for every `Value` kind, with ranges read from the backend's capabilities.
//!
//! Values outside what a backend declares are *mapped* into range, never filtered out: NaN
//! becomes a finite float where `float_nan` is not declared, infinities become `±f64::MAX`
//! where `float_infinity` is not, `-0.0` becomes `0.0` where `float_signed_zero` is not, NUL characters become U+FFFD where `text_allows_nul` is not,
//! dates are drawn from `date_range`, times are cut to `timestamp_precision_us`, decimals keep
//! at most `numeric_max_digits` significant digits.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use yara_engine::{Capabilities, Interval, Value};

use crate::types::{Kind, TypeNames};

/// Any value of `kind` the backend declares it can store (never NULL).
pub fn scalar(kind: Kind, caps: &Capabilities, types: &TypeNames) -> BoxedStrategy<Value> {
    match kind {
        Kind::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Kind::Int => int().boxed(),
        Kind::Float => float(caps).prop_map(Value::Float).boxed(),
        Kind::Decimal => decimal(caps).prop_map(Value::Decimal).boxed(),
        Kind::Text => text(caps, 0..48).prop_map(Value::Text).boxed(),
        Kind::Bytes => vec(any::<u8>(), 0..96).prop_map(Value::Bytes).boxed(),
        Kind::Json => json(caps).prop_map(Value::Json).boxed(),
        Kind::Uuid => any::<u128>()
            .prop_map(|u| Value::Uuid(uuid::Uuid::from_u128(u)))
            .boxed(),
        Kind::Date => date(caps).prop_map(Value::Date).boxed(),
        Kind::Time => time(caps).prop_map(Value::Time).boxed(),
        Kind::Timestamp => timestamp(caps).prop_map(Value::Timestamp).boxed(),
        Kind::TimestampTz => timestamp(caps).prop_map(|t| Value::TimestampTz(t.and_utc())).boxed(),
        Kind::Interval => interval(types.interval_keeps_parts).prop_map(Value::Interval).boxed(),
    }
}

/// `inner`, or NULL about one time in eight.
pub fn nullable(inner: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![1 => Just(Value::Null), 7 => inner].boxed()
}

/// Arrays (0 to 6 items, some NULL) of `kind`, themselves sometimes NULL.
pub fn array(kind: Kind, caps: &Capabilities, types: &TypeNames) -> BoxedStrategy<Value> {
    nullable(
        vec(nullable(scalar(kind, caps, types)), 0..6)
            .prop_map(Value::Array)
            .boxed(),
    )
}

/// 64-bit integers, with the boundaries of narrower integer types well represented.
pub fn int() -> impl Strategy<Value = Value> {
    let edge = prop::sample::select(vec![
        0i64,
        1,
        -1,
        i16::MIN as i64,
        i16::MAX as i64,
        i32::MIN as i64,
        i32::MAX as i64,
        i32::MAX as i64 + 1,
        i32::MIN as i64 - 1,
        i64::MIN,
        i64::MAX,
        1 << 53,
        (1 << 53) + 1,
    ]);
    prop_oneof![4 => any::<i64>(), 2 => -1000i64..1000, 1 => edge].prop_map(Value::Int)
}

/// Map a float into what the backend declares it stores.
pub fn fit_float(f: f64, caps: &Capabilities) -> f64 {
    if f.is_nan() && !caps.float_nan {
        0.0
    } else if f.is_infinite() && !caps.float_infinity {
        f64::MAX.copysign(f)
    } else if f == 0.0 && !caps.float_signed_zero {
        0.0
    } else {
        f
    }
}

/// Doubles: every bit pattern (subnormals, extreme exponents, NaN, infinities), plus -0.0,
/// mapped into what the backend declares.
pub fn float(caps: &Capabilities) -> impl Strategy<Value = f64> {
    let caps = caps.clone();
    let special = prop::sample::select(vec![
        0.0f64,
        -0.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        f64::from_bits(1),
        -f64::from_bits(1),
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
    ]);
    prop_oneof![
        3 => any::<u64>().prop_map(f64::from_bits),
        2 => proptest::num::f64::ANY,
        2 => -1.0e6f64..1.0e6,
        1 => special,
    ]
    .prop_map(move |f| fit_float(f, &caps))
}

/// The significant digits the suite draws decimals with.
pub fn decimal_digits(caps: &Capabilities) -> usize {
    (caps.numeric_max_digits as usize).clamp(1, 100_000)
}

/// Canonical decimal text (`-12.500`, `0.00000001`) of up to `numeric_max_digits` significant
/// digits; NaN and ±Infinity where `numeric_special` is declared.
pub fn decimal(caps: &Capabilities) -> BoxedStrategy<String> {
    let max = decimal_digits(caps);
    let short = max.min(20);
    let finite = prop_oneof![3 => 1..=short, 1 => 1..=max]
        .prop_flat_map(|n| (vec(0u8..10, n), 0..=n + 8, any::<bool>()))
        .prop_map(|(digits, scale, negative)| decimal_text(&digits, scale, negative));
    if caps.numeric_special {
        let special = prop::sample::select(vec!["NaN", "Infinity", "-Infinity"]).prop_map(str::to_string);
        prop_oneof![20 => finite, 1 => special].boxed()
    } else {
        finite.boxed()
    }
}

/// The text of `digits` with `scale` of them (padded with leading zeros) after the point.
pub fn decimal_text(digits: &[u8], scale: usize, negative: bool) -> String {
    let ds: String = digits.iter().map(|d| char::from(b'0' + d % 10)).collect();
    let (int_part, frac_part) = if scale <= ds.len() {
        let (i, f) = ds.split_at(ds.len() - scale);
        (i.to_string(), f.to_string())
    } else {
        (String::new(), format!("{}{ds}", "0".repeat(scale - ds.len())))
    };
    let int_part = int_part.trim_start_matches('0');
    let int_part = if int_part.is_empty() { "0" } else { int_part };
    let sign = if negative { "-" } else { "" };
    if frac_part.is_empty() {
        format!("{sign}{int_part}")
    } else {
        format!("{sign}{int_part}.{frac_part}")
    }
}

/// Text: any Unicode scalar (astral planes included), weighted toward SQL and LIKE
/// metacharacters; NUL only where `text_allows_nul` is declared.
pub fn text(caps: &Capabilities, len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    text_chars(caps.text_allows_nul, len)
}

fn text_chars(allow_nul: bool, len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    let tricky = prop::sample::select(vec![
        '\'',
        '"',
        '\\',
        '%',
        '_',
        ' ',
        '\n',
        '\r',
        '\t',
        '\0',
        'é',
        'ß',
        '😀',
        '\u{FEFF}',
        '\u{200B}',
        '\u{FFFF}',
        '\u{10FFFF}',
        '\u{301}',
    ]);
    let ch = prop_oneof![4 => any::<char>(), 2 => tricky, 3 => proptest::char::range('a', 'z')];
    vec(ch, len).prop_map(move |cs| {
        cs.into_iter()
            .map(|c| if c == '\0' && !allow_nul { '\u{FFFD}' } else { c })
            .collect()
    })
}

/// JSON documents (serialised): scalars, arrays and objects nested up to 3 levels, with Unicode
/// keys and strings and finite floats (JSON has no NaN). NUL characters in strings only where
/// `text_allows_nul` is declared.
pub fn json(caps: &Capabilities) -> BoxedStrategy<String> {
    use serde_json::Value as J;
    let allow_nul = caps.text_allows_nul;
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::from),
        any::<f64>().prop_map(|f| J::Number(serde_json::Number::from_f64(f).unwrap_or_else(|| 0.into()))),
        text_chars(allow_nul, 0..12).prop_map(J::String),
    ];
    let doc = leaf.prop_recursive(3, 32, 6, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(J::Array),
            vec((text_chars(allow_nul, 0..8), inner), 0..6).prop_map(|kv| J::Object(kv.into_iter().collect())),
        ]
    });
    doc.prop_map(|d| serde_json::to_string(&d).unwrap_or_else(|_| "null".to_string()))
        .boxed()
}

/// The first and last day of the declared `date_range`, clamped to what chrono represents.
pub fn date_bounds(caps: &Capabilities) -> (NaiveDate, NaiveDate) {
    let (lo, hi) = caps.date_range;
    let lo_year = lo.clamp(NaiveDate::MIN.year(), NaiveDate::MAX.year());
    let hi_year = hi.clamp(lo_year, NaiveDate::MAX.year());
    let first = NaiveDate::from_ymd_opt(lo_year, 1, 1).unwrap_or(NaiveDate::MIN);
    let last = NaiveDate::from_ymd_opt(hi_year, 12, 31).unwrap_or(NaiveDate::MAX);
    (first, last)
}

/// Dates within `date_range` (inclusive years), weighted toward its ends and the epoch.
pub fn date(caps: &Capabilities) -> impl Strategy<Value = NaiveDate> {
    let (first, last) = date_bounds(caps);
    let lo = first.num_days_from_ce();
    let hi = last.num_days_from_ce();
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)
        .map_or(lo, |d| d.num_days_from_ce())
        .clamp(lo, hi);
    let near = |centre: i32| (centre.saturating_sub(400).max(lo))..=(centre.saturating_add(400).min(hi));
    prop_oneof![
        4 => lo..=hi,
        1 => near(lo),
        1 => near(hi),
        1 => near(epoch),
    ]
    .prop_map(move |d| NaiveDate::from_num_days_from_ce_opt(d).unwrap_or(first))
}

/// Round a time of day down to the declared precision.
pub fn fit_time(micros_of_day: u64, caps: &Capabilities) -> NaiveTime {
    let step = u64::from(caps.timestamp_precision_us.max(1));
    let us = (micros_of_day % 86_400_000_000) / step * step;
    NaiveTime::from_num_seconds_from_midnight_opt((us / 1_000_000) as u32, ((us % 1_000_000) * 1000) as u32)
        .unwrap_or(NaiveTime::MIN)
}

/// Times of day at the declared precision, weighted toward midnight and the last microsecond.
pub fn time(caps: &Capabilities) -> impl Strategy<Value = NaiveTime> {
    let caps = caps.clone();
    prop_oneof![
        4 => 0u64..86_400_000_000,
        1 => 0u64..2_000_000,
        1 => 86_398_000_000u64..86_400_000_000,
    ]
    .prop_map(move |us| fit_time(us, &caps))
}

/// Timestamps within `date_range` at the declared precision.
pub fn timestamp(caps: &Capabilities) -> impl Strategy<Value = NaiveDateTime> {
    (date(caps), time(caps)).prop_map(|(d, t)| d.and_time(t))
}

/// Intervals: exact durations (what a `timedelta` holds) and, where the column keeps them,
/// month and day parts too.
pub fn interval(keeps_parts: bool) -> BoxedStrategy<Interval> {
    let micros = prop_oneof![
        3 => -100_000_000_000_000i64..100_000_000_000_000,
        2 => -100_000_000i64..100_000_000,
        1 => prop::sample::select(vec![0i64, 1, -1, 86_400_000_000, -86_400_000_000]),
    ];
    if keeps_parts {
        prop_oneof![
            2 => micros.clone().prop_map(Interval::from_micros),
            3 => (-24_000i32..24_000, -100_000i32..100_000, micros)
                .prop_map(|(months, days, micros)| Interval { months, days, micros }),
        ]
        .boxed()
    } else {
        micros.prop_map(Interval::from_micros).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    fn sample<T: std::fmt::Debug>(s: impl Strategy<Value = T>, n: usize) -> Vec<T> {
        let mut runner = TestRunner::deterministic();
        (0..n)
            .map(|_| s.new_tree(&mut runner).expect("tree").current())
            .collect()
    }

    #[test]
    fn decimal_text_forms() {
        assert_eq!(decimal_text(&[1, 2, 3], 1, false), "12.3");
        assert_eq!(decimal_text(&[1, 2, 3], 5, true), "-0.00123");
        assert_eq!(decimal_text(&[0, 0, 5], 0, false), "5");
        assert_eq!(decimal_text(&[1, 0, 0], 3, false), "0.100");
    }

    #[test]
    fn mapped_into_range() {
        let caps = yara_engine::sqlite::capabilities();
        for f in sample(float(&caps), 2000) {
            assert!(!f.is_nan(), "NaN generated although float_nan is not declared");
        }
        let mut strict = caps.clone();
        strict.float_infinity = false;
        strict.text_allows_nul = false;
        strict.date_range = (1900, 2100);
        strict.timestamp_precision_us = 1000;
        strict.float_signed_zero = false;
        for f in sample(float(&strict), 2000) {
            assert!(f.is_finite());
            assert!(
                !(f == 0.0 && f.is_sign_negative()),
                "-0.0 generated although float_signed_zero is not declared"
            );
        }
        for s in sample(text(&strict, 0..48), 500) {
            assert!(!s.contains('\0'));
        }
        for d in sample(date(&strict), 500) {
            assert!((1900..=2100).contains(&d.year()), "{d}");
        }
        for t in sample(time(&strict), 500) {
            assert_eq!(t.nanosecond() % 1_000_000, 0, "{t}");
        }
        for d in sample(decimal(&caps), 500) {
            let digits = d.trim_start_matches('-').replace('.', "");
            assert!(digits.trim_start_matches('0').len() <= 15, "{d}");
        }
    }
}
