//! PostgreSQL NUMERIC in its binary wire format, to and from exact decimal text.
//!
//! Arbitrary precision in both directions: nothing is rounded, nothing wraps.

use std::fmt::Write;

const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;
/// The largest display scale PostgreSQL accepts.
const MAX_DSCALE: usize = 16383;

/// A decimal split into sign, integer digits and fraction digits (ASCII '0'..'9').
struct Parsed {
    negative: bool,
    int_digits: Vec<u8>,
    frac_digits: Vec<u8>,
}

fn parse_decimal(text: &str) -> Result<Parsed, String> {
    let s = text.trim();
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => {
            let exp: i64 = body[i + 1..]
                .parse()
                .map_err(|_| format!("malformed decimal {text:?}"))?;
            (&body[..i], exp)
        }
        None => (body, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("malformed decimal {text:?}"));
    }
    if exponent.unsigned_abs() > 1_000_000 {
        return Err(format!("decimal {text:?} has an exponent beyond what NUMERIC can hold"));
    }
    let mut int_digits: Vec<u8> = int_part.bytes().collect();
    let mut frac_digits: Vec<u8> = frac_part.bytes().collect();
    // Move the decimal point by the exponent.
    if exponent > 0 {
        for _ in 0..exponent {
            int_digits.push(if frac_digits.is_empty() {
                b'0'
            } else {
                frac_digits.remove(0)
            });
        }
    } else if exponent < 0 {
        for _ in 0..(-exponent) {
            frac_digits.insert(0, int_digits.pop().unwrap_or(b'0'));
        }
    }
    Ok(Parsed {
        negative,
        int_digits,
        frac_digits,
    })
}

/// Encode decimal text (`-12.50`, `1E+3`, `NaN`, `Infinity`) as binary NUMERIC.
pub fn encode(text: &str, out: &mut bytes::BytesMut) -> Result<(), String> {
    use bytes::BufMut;
    let special = match text.trim().to_ascii_lowercase().as_str() {
        "nan" | "-nan" | "snan" => Some(NUMERIC_NAN),
        "infinity" | "+infinity" | "inf" | "+inf" => Some(NUMERIC_PINF),
        "-infinity" | "-inf" => Some(NUMERIC_NINF),
        _ => None,
    };
    if let Some(sign) = special {
        out.put_i16(0);
        out.put_i16(0);
        out.put_u16(sign);
        out.put_u16(0);
        return Ok(());
    }
    let p = parse_decimal(text)?;
    let dscale = p.frac_digits.len();
    if dscale > MAX_DSCALE {
        return Err(format!("decimal {text:?} has more than {MAX_DSCALE} fraction digits"));
    }
    // Pad the integer part on the left and the fraction on the right to whole base-10000 groups.
    let int_pad = (4 - p.int_digits.len() % 4) % 4;
    let frac_pad = (4 - p.frac_digits.len() % 4) % 4;
    let mut all = Vec::with_capacity(int_pad + p.int_digits.len() + p.frac_digits.len() + frac_pad);
    all.extend(std::iter::repeat_n(b'0', int_pad));
    all.extend_from_slice(&p.int_digits);
    let int_groups = all.len() / 4;
    all.extend_from_slice(&p.frac_digits);
    all.extend(std::iter::repeat_n(b'0', frac_pad));
    let mut groups: Vec<i16> = all
        .chunks(4)
        .map(|c| c.iter().fold(0i16, |acc, d| acc * 10 + (d - b'0') as i16))
        .collect();
    let mut weight = int_groups as i64 - 1;
    // Strip leading and trailing zero groups; PostgreSQL stores neither.
    let leading = groups.iter().take_while(|g| **g == 0).count();
    groups.drain(..leading);
    weight -= leading as i64;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.len() > i16::MAX as usize || weight > i16::MAX as i64 || weight < i16::MIN as i64 {
        return Err(format!("decimal {text:?} is beyond the range of NUMERIC"));
    }
    let (sign, weight) = if groups.is_empty() {
        (NUMERIC_POS, 0)
    } else {
        (if p.negative { NUMERIC_NEG } else { NUMERIC_POS }, weight as i16)
    };
    out.put_i16(groups.len() as i16);
    out.put_i16(weight);
    out.put_u16(sign);
    out.put_u16(dscale as u16);
    for g in groups {
        out.put_i16(g);
    }
    Ok(())
}

/// Decode binary NUMERIC into canonical decimal text, keeping the display scale.
pub fn decode(raw: &[u8]) -> Result<String, String> {
    let read = |i: usize| -> Result<u16, String> {
        raw.get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated NUMERIC value".to_string())
    };
    let ndigits = read(0)? as usize;
    let weight = read(2)? as i16 as i64;
    let sign = read(4)?;
    let dscale = read(6)? as usize;
    match sign {
        NUMERIC_NAN => return Ok("NaN".into()),
        NUMERIC_PINF => return Ok("Infinity".into()),
        NUMERIC_NINF => return Ok("-Infinity".into()),
        NUMERIC_POS | NUMERIC_NEG => {}
        other => return Err(format!("unknown NUMERIC sign {other:#x}")),
    }
    let mut groups = Vec::with_capacity(ndigits);
    for i in 0..ndigits {
        let g = read(8 + 2 * i)?;
        if g > 9999 {
            return Err("NUMERIC digit out of range".into());
        }
        groups.push(g);
    }
    let mut out = String::with_capacity(ndigits * 4 + dscale + 2);
    if sign == NUMERIC_NEG && !groups.is_empty() {
        out.push('-');
    }
    // Integer part: groups with weight >= 0.
    if weight < 0 || groups.is_empty() {
        out.push('0');
    } else {
        for w in 0..=weight {
            let g = groups.get(w as usize).copied().unwrap_or(0);
            if w == 0 {
                let _ = write!(out, "{g}");
            } else {
                let _ = write!(out, "{g:04}");
            }
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut frac = String::with_capacity(dscale + 4);
        // Fraction group k (k = 1, 2, ...) has weight -k and index weight + k.
        let mut k: i64 = 1;
        while frac.len() < dscale {
            let idx = weight + k;
            let g = if idx >= 0 {
                groups.get(idx as usize).copied().unwrap_or(0)
            } else {
                0
            };
            let _ = write!(frac, "{g:04}");
            k += 1;
        }
        frac.truncate(dscale);
        out.push_str(&frac);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(s: &str) -> String {
        let mut buf = bytes::BytesMut::new();
        encode(s, &mut buf).unwrap();
        decode(&buf).unwrap()
    }

    #[test]
    fn keeps_scale_and_sign() {
        assert_eq!(roundtrip("1.000"), "1.000");
        assert_eq!(roundtrip("-12.5"), "-12.5");
        assert_eq!(roundtrip("0"), "0");
        assert_eq!(roundtrip("-0.00"), "0.00");
        assert_eq!(roundtrip("0.00000001"), "0.00000001");
        assert_eq!(roundtrip("10000"), "10000");
        assert_eq!(
            roundtrip("123456789012345678901234567890.123456789"),
            "123456789012345678901234567890.123456789"
        );
    }

    #[test]
    fn exponents_and_specials() {
        assert_eq!(roundtrip("1E+3"), "1000");
        assert_eq!(roundtrip("1.5e-7"), "0.00000015");
        assert_eq!(roundtrip("NaN"), "NaN");
        assert_eq!(roundtrip("-Infinity"), "-Infinity");
    }

    #[test]
    fn rejects_garbage() {
        let mut buf = bytes::BytesMut::new();
        assert!(encode("12a", &mut buf).is_err());
        assert!(encode("", &mut buf).is_err());
        assert!(encode("1e99999999", &mut buf).is_err());
    }
}
