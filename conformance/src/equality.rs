//! Type-aware equality between a value written and the value read back.
//!
//! `Value`'s derived `PartialEq` is the wrong test for a round trip: NaN must equal NaN, `-0.0`
//! must *not* equal `0.0`, decimals compare by number (and by scale where the column keeps it),
//! JSON compares as a document, not as text, and an interval may come back normalised.

use std::collections::BTreeMap;

use yara_engine::{Capabilities, Interval, Value};

use crate::types::TypeNames;

/// What a column is allowed to change about a value on the way through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Decimals must keep their scale (`1.000` is not `1`).
    pub decimal_scale: bool,
    /// Intervals must keep months and days apart from microseconds.
    pub interval_parts: bool,
    /// The empty string reads back as NULL.
    pub empty_string_is_null: bool,
    /// `-0.0` must keep its sign (capability `float_signed_zero`).
    pub float_signed_zero: bool,
}

impl Rules {
    pub fn new(caps: &Capabilities, types: &TypeNames) -> Self {
        Rules {
            decimal_scale: types.decimal_keeps_scale,
            interval_parts: types.interval_keeps_parts,
            empty_string_is_null: caps.empty_string_is_null,
            float_signed_zero: caps.float_signed_zero,
        }
    }

    /// The same rules, for a column that fixes the decimal scale (`NUMERIC(p,s)`).
    pub fn with_decimal_scale(self) -> Self {
        Rules {
            decimal_scale: true,
            ..self
        }
    }
}

/// `Ok` when `actual` is an acceptable read-back of `expected`; otherwise the reason it is not.
pub fn check(expected: &Value, actual: &Value, rules: &Rules) -> Result<(), String> {
    match (expected, actual) {
        (Value::Null, Value::Null) => Ok(()),
        (Value::Text(s), Value::Null) if s.is_empty() && rules.empty_string_is_null => Ok(()),
        (Value::Bool(a), Value::Bool(b)) => same(a == b),
        (Value::Int(a), Value::Int(b)) => same(a == b),
        (Value::Float(a), Value::Float(b)) => check_float(*a, *b, rules.float_signed_zero),
        (Value::Decimal(a), Value::Decimal(b)) => check_decimal(a, b, rules.decimal_scale),
        (Value::Text(a), Value::Text(b)) => check_text(a, b),
        (Value::Bytes(a), Value::Bytes(b)) => check_bytes(a, b),
        (Value::Json(a), Value::Json(b)) => check_json(a, b),
        (Value::Uuid(a), Value::Uuid(b)) => same(a == b),
        (Value::Date(a), Value::Date(b)) => same(a == b),
        (Value::Time(a), Value::Time(b)) => same(a == b),
        (Value::Timestamp(a), Value::Timestamp(b)) => same(a == b),
        // Both are normalised to UTC, so equality is equality of instants.
        (Value::TimestampTz(a), Value::TimestampTz(b)) => same(a == b),
        (Value::Interval(a), Value::Interval(b)) => check_interval(a, b, rules.interval_parts),
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Err(format!("array length {} became {}", a.len(), b.len()));
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                check(x, y, rules).map_err(|e| format!("element [{i}]: {} read back as {}: {e}", show(x), show(y)))?;
            }
            Ok(())
        }
        (e, a) => Err(format!("a {} came back as a {}", e.kind(), a.kind())),
    }
}

fn same(equal: bool) -> Result<(), String> {
    if equal {
        Ok(())
    } else {
        Err("the value changed".into())
    }
}

fn check_float(a: f64, b: f64, signed_zero: bool) -> Result<(), String> {
    if a.is_nan() && b.is_nan() {
        return Ok(());
    }
    if a.is_nan() || b.is_nan() {
        return Err("NaN-ness changed".into());
    }
    if a != b {
        return Err(format!(
            "the float changed (bits {:#018x} became {:#018x})",
            a.to_bits(),
            b.to_bits()
        ));
    }
    if signed_zero && a.is_sign_negative() != b.is_sign_negative() {
        return Err("the sign of zero was lost".into());
    }
    Ok(())
}

fn check_text(a: &str, b: &str) -> Result<(), String> {
    if a == b {
        return Ok(());
    }
    let shorter = a.chars().count().min(b.chars().count());
    let at = a.chars().zip(b.chars()).position(|(x, y)| x != y).unwrap_or(shorter);
    Err(format!(
        "the text changed: {} chars became {} chars, first difference at char {at}",
        a.chars().count(),
        b.chars().count()
    ))
}

fn check_bytes(a: &[u8], b: &[u8]) -> Result<(), String> {
    if a == b {
        return Ok(());
    }
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    Err(format!(
        "{} bytes became {} bytes, first difference at byte {at}",
        a.len(),
        b.len()
    ))
}

fn check_interval(a: &Interval, b: &Interval, parts: bool) -> Result<(), String> {
    if a == b {
        return Ok(());
    }
    if parts {
        return Err("the interval changed (months, days and microseconds are kept apart)".into());
    }
    let total = |iv: &Interval| iv.days as i128 * 86_400_000_000 + iv.micros as i128;
    if a.months == b.months && total(a) == total(b) {
        Ok(())
    } else {
        Err("the interval's duration changed".into())
    }
}

/// A decimal in a comparable form: sign, significant digits and a power of ten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decimal {
    NaN,
    Infinity {
        negative: bool,
    },
    /// `digits × 10^exponent`; `digits` has no leading or trailing zeros, and is empty for zero.
    Finite {
        negative: bool,
        digits: String,
        exponent: i64,
        /// Digits after the decimal point as written (`1.000` → 3, `1.5E+3` → 0).
        scale: i64,
    },
}

impl Decimal {
    /// Parse decimal text as the engine writes or accepts it (`-12.50`, `1.5E+3`, `NaN`, `-Infinity`).
    pub fn parse(text: &str) -> Option<Decimal> {
        let s = text.trim();
        match s.to_ascii_lowercase().as_str() {
            "nan" | "-nan" | "+nan" => return Some(Decimal::NaN),
            "infinity" | "+infinity" | "inf" | "+inf" => return Some(Decimal::Infinity { negative: false }),
            "-infinity" | "-inf" => return Some(Decimal::Infinity { negative: true }),
            _ => {}
        }
        let (negative, body) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exp) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], body[i + 1..].parse::<i64>().ok()?),
            None => (body, 0),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if (int_part.is_empty() && frac_part.is_empty())
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let scale = (frac_part.len() as i64).saturating_sub(exp).max(0);
        let all = format!("{int_part}{frac_part}");
        let trimmed = all.trim_start_matches('0');
        let without_trailing = trimmed.trim_end_matches('0');
        let exponent = exp
            .saturating_sub(frac_part.len() as i64)
            .saturating_add((trimmed.len() - without_trailing.len()) as i64);
        if without_trailing.is_empty() {
            return Some(Decimal::Finite {
                negative: false,
                digits: String::new(),
                exponent: 0,
                scale,
            });
        }
        Some(Decimal::Finite {
            negative,
            digits: without_trailing.to_string(),
            exponent,
            scale,
        })
    }

    /// Numeric equality (NaN equals NaN, as in SQL NUMERIC; scale ignored).
    pub fn same_number(&self, other: &Decimal) -> bool {
        match (self, other) {
            (
                Decimal::Finite {
                    negative: n1,
                    digits: d1,
                    exponent: e1,
                    ..
                },
                Decimal::Finite {
                    negative: n2,
                    digits: d2,
                    exponent: e2,
                    ..
                },
            ) => n1 == n2 && d1 == d2 && e1 == e2,
            (a, b) => a == b,
        }
    }

    pub fn scale(&self) -> Option<i64> {
        match self {
            Decimal::Finite { scale, .. } => Some(*scale),
            _ => None,
        }
    }
}

fn check_decimal(a: &str, b: &str, keep_scale: bool) -> Result<(), String> {
    let Some(x) = Decimal::parse(a) else {
        return Err(format!("the decimal written, {a:?}, is not decimal text"));
    };
    let Some(y) = Decimal::parse(b) else {
        return Err(format!("the decimal read back, {b:?}, is not decimal text"));
    };
    if !x.same_number(&y) {
        return Err("the decimal's value changed".into());
    }
    if keep_scale && x.scale() != y.scale() {
        return Err(format!(
            "the decimal's scale changed from {} to {}",
            x.scale().unwrap_or(0),
            y.scale().unwrap_or(0)
        ));
    }
    Ok(())
}

fn check_json(a: &str, b: &str) -> Result<(), String> {
    let x = match Json::parse(a) {
        Ok(v) => v,
        Err(_) => return same(a == b),
    };
    let y = Json::parse(b).map_err(|e| format!("the JSON read back does not parse: {e}"))?;
    json_equal(&x, &y, "$")
}

/// A parsed JSON document that keeps numbers as written, so they compare exactly as decimals
/// (`1e2` equals `100`; no detour through `f64`).
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    /// Keys in document order; a repeated key keeps its last value when compared.
    Object(Vec<(String, Json)>),
}

impl Json {
    pub fn parse(text: &str) -> Result<Json, String> {
        let mut p = JsonParser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value(0)?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("trailing characters at byte {}", p.i));
        }
        Ok(v)
    }
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn literal(&mut self, word: &str, v: Json) -> Result<Json, String> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(format!("unexpected input at byte {}", self.i))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > 512 {
            return Err("nested too deeply".into());
        }
        self.ws();
        match self.s.get(self.i) {
            None => Err("unexpected end".into()),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(format!("expected , or ] at byte {}", self.i)),
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Object(members));
                }
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return Err(format!("expected a key at byte {}", self.i));
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.s.get(self.i) != Some(&b':') {
                        return Err(format!("expected : at byte {}", self.i));
                    }
                    self.i += 1;
                    members.push((k, self.value(depth + 1)?));
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Object(members));
                        }
                        _ => return Err(format!("expected , or }} at byte {}", self.i)),
                    }
                }
            }
            Some(_) => {
                let start = self.i;
                while matches!(self.s.get(self.i), Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')) {
                    self.i += 1;
                }
                let n = std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())?;
                if n.is_empty() || Decimal::parse(n).is_none() {
                    return Err(format!("malformed number at byte {start}"));
                }
                Ok(Json::Number(n.to_string()))
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self.s.get(self.i..self.i + 4).ok_or("truncated \\u escape")?;
        let h = std::str::from_utf8(h).map_err(|e| e.to_string())?;
        self.i += 4;
        u32::from_str_radix(h, 16).map_err(|_| format!("bad \\u escape {h:?}"))
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.s.get(self.i) {
                None => return Err("unterminated string".into()),
                Some(b'"') => {
                    self.i += 1;
                    return String::from_utf8(out).map_err(|e| e.to_string());
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = *self.s.get(self.i).ok_or("truncated escape")?;
                    self.i += 1;
                    let ch = match c {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) && self.s[self.i..].starts_with(b"\\u") {
                                self.i += 2;
                                let lo = self.hex4()?;
                                0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF)
                            } else {
                                hi
                            };
                            char::from_u32(code).unwrap_or('\u{FFFD}')
                        }
                        other => return Err(format!("bad escape \\{}", char::from(other))),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                Some(&b) => {
                    out.push(b);
                    self.i += 1;
                }
            }
        }
    }
}

/// Structural JSON equality: object key order and number spelling (`1e2` vs `100`) do not
/// matter; numbers compare exactly, as decimals.
fn json_equal(a: &Json, b: &Json, path: &str) -> Result<(), String> {
    match (a, b) {
        (Json::Null, Json::Null) => Ok(()),
        (Json::Bool(x), Json::Bool(y)) if x == y => Ok(()),
        (Json::String(x), Json::String(y)) if x == y => Ok(()),
        (Json::Number(x), Json::Number(y)) => match (Decimal::parse(x), Decimal::parse(y)) {
            (Some(p), Some(q)) if p.same_number(&q) => Ok(()),
            _ => Err(format!("JSON number at {path}: {} became {}", cut(x, 60), cut(y, 60))),
        },
        (Json::Array(x), Json::Array(y)) => {
            if x.len() != y.len() {
                return Err(format!("JSON array at {path}: {} items became {}", x.len(), y.len()));
            }
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                json_equal(p, q, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Json::Object(x), Json::Object(y)) => {
            let x: BTreeMap<&str, &Json> = x.iter().map(|(k, v)| (k.as_str(), v)).collect();
            let y: BTreeMap<&str, &Json> = y.iter().map(|(k, v)| (k.as_str(), v)).collect();
            if x.len() != y.len() {
                return Err(format!("JSON object at {path}: {} keys became {}", x.len(), y.len()));
            }
            for (k, p) in &x {
                let Some(q) = y.get(k) else {
                    return Err(format!("JSON object at {path}: key {k:?} is missing"));
                };
                json_equal(p, q, &format!("{path}.{k:?}"))?;
            }
            Ok(())
        }
        (x, y) => Err(format!(
            "JSON at {path}: {} became {}",
            cut(&format!("{x:?}"), 60),
            cut(&format!("{y:?}"), 60)
        )),
    }
}

/// Cut `s` to at most `max` chars, saying how long it was.
pub fn cut(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        s.to_string()
    } else {
        let head: String = s.chars().take(max).collect();
        format!("{head}... ({n} chars)")
    }
}

/// A value rendered for a failure message: exact for small values, cut for large ones.
pub fn show(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Float(f) => {
            if *f == 0.0 && f.is_sign_negative() {
                "Float(-0.0)".into()
            } else {
                format!("Float({f:?})")
            }
        }
        Value::Text(s) => format!("Text({})", cut(&format!("{s:?}"), 200)),
        Value::Json(s) => format!("Json({})", cut(&format!("{s:?}"), 200)),
        Value::Decimal(s) => format!("Decimal({})", cut(&format!("{s:?}"), 200)),
        Value::Bytes(b) => {
            if b.len() <= 48 {
                format!("Bytes({b:02x?})")
            } else {
                format!("Bytes(<{} bytes> starting {:02x?})", b.len(), &b[..16])
            }
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().take(12).map(show).collect();
            let more = if items.len() > 12 {
                format!(", ... ({} items)", items.len())
            } else {
                String::new()
            };
            format!("Array([{}{more}])", inner.join(", "))
        }
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            decimal_scale: true,
            interval_parts: true,
            empty_string_is_null: false,
            float_signed_zero: true,
        }
    }

    #[test]
    fn floats() {
        assert!(check(&Value::Float(f64::NAN), &Value::Float(f64::NAN), &rules()).is_ok());
        let e = check(&Value::Float(-0.0), &Value::Float(0.0), &rules()).unwrap_err();
        assert!(e.contains("sign of zero"), "{e}");
        assert!(check(&Value::Float(1.5), &Value::Float(1.5000000000000002), &rules()).is_err());
        let unsigned = Rules {
            float_signed_zero: false,
            ..rules()
        };
        assert!(check(&Value::Float(-0.0), &Value::Float(0.0), &unsigned).is_ok());
    }

    #[test]
    fn decimals() {
        let d = |s: &str| Value::Decimal(s.into());
        assert!(check(&d("1.5E+3"), &d("1500"), &rules()).is_ok());
        assert!(check(&d("-0.00"), &d("0.00"), &rules()).is_ok());
        assert!(check(&d("1e-7"), &d("0.0000001"), &rules()).is_ok());
        let e = check(&d("1.000"), &d("1"), &rules()).unwrap_err();
        assert!(e.contains("scale"), "{e}");
        let loose = Rules {
            decimal_scale: false,
            ..rules()
        };
        assert!(check(&d("1.000"), &d("1"), &loose).is_ok());
        assert!(check(&d("1.000"), &d("1.0001"), &loose).is_err());
        assert!(check(&d("NaN"), &d("NaN"), &rules()).is_ok());
        assert!(check(&d("-Infinity"), &d("Infinity"), &rules()).is_err());
        assert!(check(&d("100"), &d("1E+2"), &loose).is_ok());
        assert!(check(&d("-5"), &d("5"), &loose).is_err());
    }

    #[test]
    fn json() {
        let j = |s: &str| Value::Json(s.into());
        assert!(check(&j(r#"{"a":1,"b":[1e2]}"#), &j(r#"{"b": [100], "a": 1}"#), &rules()).is_ok());
        assert!(check(&j("null"), &Value::Null, &rules()).is_err());
        assert!(check(&j("[1,2]"), &j("[2,1]"), &rules()).is_err());
        assert!(check(&j("42"), &Value::Int(42), &rules()).is_err());
        let long = format!("[-17841427111557718{}]", "0".repeat(177));
        assert!(check(&j("[-1.7841427111557718e+193]"), &j(&long), &rules()).is_ok());
        assert!(check(&j("[1.0000000000000000001]"), &j("[1]"), &rules()).is_err());
        assert!(check(
            &j(r#"{"k":"\ud83d\ude00\n"}"#),
            &j("{\"k\":\"\u{1F600}\\n\"}"),
            &rules()
        )
        .is_ok());
        assert!(check(&j(r#"{"a":1,"a":2}"#), &j(r#"{"a":2}"#), &rules()).is_ok());
    }

    #[test]
    fn intervals() {
        let a = Value::Interval(Interval {
            months: 0,
            days: 1,
            micros: 5,
        });
        let b = Value::Interval(Interval::from_micros(86_400_000_005));
        assert!(check(&a, &b, &rules()).is_err());
        let loose = Rules {
            interval_parts: false,
            ..rules()
        };
        assert!(check(&a, &b, &loose).is_ok());
    }

    #[test]
    fn arrays_and_empty_strings() {
        let a = Value::Array(vec![Value::Int(1), Value::Null]);
        assert!(check(&a, &a.clone(), &rules()).is_ok());
        let e = check(&a, &Value::Array(vec![Value::Int(1), Value::Int(0)]), &rules()).unwrap_err();
        assert!(e.contains("[1]"), "{e}");
        let empty_null = Rules {
            empty_string_is_null: true,
            ..rules()
        };
        assert!(check(&Value::Text(String::new()), &Value::Null, &empty_null).is_ok());
        assert!(check(&Value::Text(String::new()), &Value::Null, &rules()).is_err());
    }
}
