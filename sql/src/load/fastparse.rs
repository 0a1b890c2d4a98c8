//! Parsers straight from a field's bytes for the common spellings of
//! integers, NUMERIC and dates: no UTF-8 check, no trimming, no allocation.
//!
//! Each returns `Some` only for input it is certain about (plain digits, an
//! optional sign and point, `YYYY-MM-DD`), with exactly the value the text
//! parsers of `infer` give for it; everything else (blanks, exponents, long
//! numbers, other date spellings, bad input) is `None`, and the caller falls
//! back to the text parser, which decides. So the fast path can never change
//! what a load gives, only how quickly.
//!
//! Invariant: `fast(b) == Some(v)` implies `slow(str(b)) == Some(v)`;
//! `tests` and the `proptest` at the end check it against the text parsers.

/// An optional sign and 1 to `max_digits` ASCII digits, as an `i64`.
#[inline]
fn signed_digits(b: &[u8], max_digits: usize) -> Option<i64> {
    let (negative, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > max_digits {
        return None;
    }
    let mut value: i64 = 0;
    for &d in digits {
        let d = d.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        value = value * 10 + i64::from(d);
    }
    Some(if negative { -value } else { value })
}

/// [`super::infer::parse_int`] of plain digits.
#[inline]
pub(crate) fn int(b: &[u8]) -> Option<i32> {
    // Ten digits may not fit an i32: the conversion says so.
    signed_digits(b, 10).and_then(|v| i32::try_from(v).ok())
}

/// [`super::infer::parse_bigint`] of plain digits (up to 18 of them).
#[inline]
pub(crate) fn bigint(b: &[u8]) -> Option<i64> {
    signed_digits(b, 18)
}

/// [`super::infer::parse_decimal`] of `[+-]digits[.digits]` whose integer
/// digits plus `scale` are at most 18 (so the value fits an `i64`).
#[inline]
pub(crate) fn decimal(b: &[u8], precision: u8, scale: u8) -> Option<i128> {
    let (negative, rest) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let (int, frac) = match rest.iter().position(|&c| c == b'.') {
        Some(p) => (&rest[..p], &rest[p + 1..]),
        None => (rest, &rest[..0]),
    };
    let scale = usize::from(scale);
    if int.len() + frac.len() == 0 || int.len() + scale > 18 {
        return None;
    }
    let mut value: i64 = 0;
    for &d in int {
        let d = d.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        value = value * 10 + i64::from(d);
    }
    for i in 0..scale {
        let d = match frac.get(i) {
            Some(&c) => c.wrapping_sub(b'0'),
            None => 0,
        };
        if d > 9 {
            return None;
        }
        value = value * 10 + i64::from(d);
    }
    if let Some(rest) = frac.get(scale..) {
        // Digits past the scale: every one must be a digit; the first rounds.
        if rest.iter().any(|c| !c.is_ascii_digit()) {
            return None;
        }
        if rest.first().is_some_and(|&c| c >= b'5') {
            value += 1;
        }
    }
    let value = i128::from(value);
    if value >= 10i128.checked_pow(u32::from(precision))? {
        return None;
    }
    Some(if negative { -value } else { value })
}

/// [`super::infer::parse_date`] of `YYYY-MM-DD` with a year from 1 to 9999:
/// days since 1970-01-01.
#[inline]
pub(crate) fn date(b: &[u8]) -> Option<i32> {
    let b: &[u8; 10] = b.try_into().ok()?;
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digit = |i: usize| -> Option<u32> {
        let d = b[i].wrapping_sub(b'0');
        (d <= 9).then_some(u32::from(d))
    };
    let year = digit(0)? * 1000 + digit(1)? * 100 + digit(2)? * 10 + digit(3)?;
    let month = digit(5)? * 10 + digit(6)?;
    let day = digit(8)? * 10 + digit(9)?;
    if year == 0 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year as i32, month, day))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let m = month as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::infer::{parse_bigint, parse_date, parse_decimal, parse_int};
    use super::*;

    /// The fast parser agrees with the text parser wherever it answers.
    fn agree(text: &str) {
        let b = text.as_bytes();
        if let Some(v) = int(b) {
            assert_eq!(Some(v), parse_int(text), "int {text:?}");
        }
        if let Some(v) = bigint(b) {
            assert_eq!(Some(v), parse_bigint(text), "bigint {text:?}");
        }
        for (p, s) in [(15, 2), (18, 0), (18, 4), (5, 2), (38, 10), (1, 0), (3, 3)] {
            if let Some(v) = decimal(b, p, s) {
                assert_eq!(
                    Some(v),
                    parse_decimal(text, p, s),
                    "decimal({p},{s}) {text:?}"
                );
            }
        }
        if let Some(v) = date(b) {
            assert_eq!(Some(v), parse_date(text), "date {text:?}");
        }
    }

    #[test]
    fn common_spellings_take_the_fast_path() {
        assert_eq!(int(b"-2147483648"), Some(i32::MIN));
        assert_eq!(int(b"2147483648"), None);
        assert_eq!(int(b" 1"), None);
        assert_eq!(bigint(b"+155190"), Some(155_190));
        assert_eq!(decimal(b"21168.23", 15, 2), Some(2_116_823));
        assert_eq!(decimal(b"0.04", 15, 2), Some(4));
        assert_eq!(decimal(b"-0.125", 18, 2), Some(-13));
        assert_eq!(decimal(b"17", 15, 2), Some(1700));
        assert_eq!(decimal(b".5", 18, 1), Some(5));
        assert_eq!(decimal(b"999.995", 5, 2), None);
        assert_eq!(decimal(b".", 18, 0), None);
        assert_eq!(date(b"1996-03-13"), parse_date("1996-03-13"));
        assert_eq!(date(b"1970-01-01"), Some(0));
        assert_eq!(date(b"2000-02-29"), parse_date("2000-02-29"));
        assert_eq!(date(b"1900-02-29"), None);
        for text in [
            "",
            "-",
            "+",
            "0",
            "-0",
            "00012",
            "1e5",
            "1.",
            ".1",
            "-.5",
            "1.2.3",
            "１",
            "9".repeat(19).as_str(),
            "2024-13-01",
            "2024-00-10",
            "0000-01-01",
            "2024-1-01",
            "2024-02-30",
            "2024/01/01",
        ] {
            agree(text);
        }
    }

    #[test]
    fn every_day_of_some_years_matches_arrow() {
        for year in [
            1, 4, 100, 1600, 1899, 1969, 1970, 1992, 1998, 2000, 2024, 2100, 9999,
        ] {
            for month in 1..=12 {
                for day in 1..=31 {
                    agree(&format!("{year:04}-{month:02}-{day:02}"));
                }
            }
        }
    }

    proptest! {
        #[test]
        fn fast_parsers_agree_with_the_text_parsers(text in "[-+]?[0-9]{0,20}(\\.[0-9]{0,12})?") {
            agree(&text);
        }

        #[test]
        fn fast_parsers_agree_on_odd_bytes(text in "[-+. 0-9eE:]{0,12}") {
            agree(&text);
        }

        #[test]
        fn dates_agree(y in 0u32..10_000, m in 0u32..14, d in 0u32..33) {
            agree(&format!("{y:04}-{m:02}-{d:02}"));
        }
    }
}
