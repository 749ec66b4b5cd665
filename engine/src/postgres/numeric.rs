//! PostgreSQL NUMERIC in its binary wire format, to and from exact decimal text.
//!
//! Arbitrary precision in both directions: nothing is rounded, nothing wraps.

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
    if raw.len() < 8 + 2 * ndigits {
        return Err("truncated NUMERIC value".into());
    }
    // Base-10000 digit `i`, or 0 past the stored ones (trailing zero groups are not stored).
    // One pass, one allocation: this runs once per NUMERIC cell of every fetched row.
    let group = |i: i64| -> Result<u16, String> {
        if i < 0 || i as usize >= ndigits {
            return Ok(0);
        }
        let at = 8 + 2 * i as usize;
        let g = u16::from_be_bytes([raw[at], raw[at + 1]]);
        if g > 9999 {
            return Err("NUMERIC digit out of range".into());
        }
        Ok(g)
    };
    let int_groups = if weight < 0 { 0 } else { weight as usize + 1 };
    let mut out = String::with_capacity(2 + int_groups.max(1) * 4 + dscale + 4);
    if sign == NUMERIC_NEG && ndigits > 0 {
        out.push('-');
    }
    if int_groups == 0 || ndigits == 0 {
        out.push('0');
    } else {
        for w in 0..int_groups as i64 {
            let g = group(w)?;
            if w == 0 {
                push_leading(&mut out, g);
            } else {
                push4(&mut out, g);
            }
        }
    }
    if dscale > 0 {
        out.push('.');
        let end = out.len() + dscale;
        // Fraction group k (k = 1, 2, ...) has weight -k and index weight + k.
        let mut k: i64 = 1;
        while out.len() < end {
            push4(&mut out, group(weight + k)?);
            k += 1;
        }
        out.truncate(end);
    }
    Ok(out)
}

/// A base-10000 digit as exactly four decimal digits.
fn push4(out: &mut String, g: u16) {
    let digits = [g / 1000, g / 100 % 10, g / 10 % 10, g % 10];
    for d in digits {
        out.push(char::from(b'0' + d as u8));
    }
}

/// The leading base-10000 digit, without leading zeros (but "0" for zero).
fn push_leading(out: &mut String, g: u16) {
    let digits = [g / 1000, g / 100 % 10, g / 10 % 10, g % 10];
    let first = digits.iter().position(|&d| d != 0).unwrap_or(3);
    for &d in &digits[first..] {
        out.push(char::from(b'0' + d as u8));
    }
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

    /// The first, plain version of `decode` (a digit vector and `write!`), kept as the reference
    /// the one-pass version must agree with.
    fn reference_decode(raw: &[u8]) -> String {
        use std::fmt::Write;
        let read = |i: usize| u16::from_be_bytes([raw[i], raw[i + 1]]);
        let (ndigits, weight, sign, dscale) = (read(0) as usize, read(2) as i16 as i64, read(4), read(6) as usize);
        let groups: Vec<u16> = (0..ndigits).map(|i| read(8 + 2 * i)).collect();
        let mut out = String::new();
        if sign == NUMERIC_NEG && !groups.is_empty() {
            out.push('-');
        }
        if weight < 0 || groups.is_empty() {
            out.push('0');
        } else {
            for w in 0..=weight {
                let g = groups.get(w as usize).copied().unwrap_or(0);
                let _ = if w == 0 {
                    write!(out, "{g}")
                } else {
                    write!(out, "{g:04}")
                };
            }
        }
        if dscale > 0 {
            out.push('.');
            let mut frac = String::new();
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
        out
    }

    #[test]
    fn one_pass_decode_agrees_with_the_reference() {
        // A deterministic spread of signs, integer digits, fraction digits and zero runs.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let int_digits = (x % 24) as usize;
            let frac_digits = ((x >> 8) % 20) as usize;
            let mut text = String::new();
            if (x >> 16) & 1 == 1 {
                text.push('-');
            }
            let mut y = x;
            for i in 0..int_digits.max(1) {
                y = y.rotate_left(5) ^ 0x5bd1_e995;
                let zero = (i == 0 && int_digits == 0) || (y >> 3).is_multiple_of(3);
                text.push(if zero { '0' } else { char::from(b'0' + (y % 10) as u8) });
            }
            if frac_digits > 0 {
                text.push('.');
                for _ in 0..frac_digits {
                    y = y.rotate_left(7) ^ 0x2545_f491;
                    text.push(if (y >> 5).is_multiple_of(3) {
                        '0'
                    } else {
                        char::from(b'0' + (y % 10) as u8)
                    });
                }
            }
            let mut buf = bytes::BytesMut::new();
            encode(&text, &mut buf).unwrap();
            assert_eq!(decode(&buf).unwrap(), reference_decode(&buf), "decoding {text}");
        }
    }

    #[test]
    fn rejects_garbage() {
        let mut buf = bytes::BytesMut::new();
        assert!(encode("12a", &mut buf).is_err());
        assert!(encode("", &mut buf).is_err());
        assert!(encode("1e99999999", &mut buf).is_err());
    }
}
