//! Text to DATE, TIMESTAMP[TZ] and TIME the way Hyper reads them, on top of
//! Arrow's ISO 8601 parser:
//! - dates in the session's MDY style, `03/15/2024`, `3-5-24` (two-digit
//!   years: below 70 are 20xx, else 19xx, as PostgreSQL), with an optional
//!   time after them;
//! - `infinity` and `-infinity` (any case) clamp to the ends of the range,
//!   as Hyper does (it has no infinite values): 4713-01-01 BC as in Hyper,
//!   and 262142-12-31 (23:59:59.999999), the last day Arrow's temporal
//!   kernels and printing (chrono) can hold, where Hyper's is 294276-12-31;
//!   `epoch` is 1970-01-01;
//! - more than six fractional digits of a second round to microseconds
//!   (Arrow would truncate them).
//!
//! Invariant: a value that none of these rules touch reaches Arrow as it
//! was, so ISO text parses exactly as before.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray, StringArray};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Time64MicrosecondType, TimeUnit,
    TimestampMicrosecondType,
};

use crate::functions::days_from_civil;

const US_PER_DAY: i64 = 86_400_000_000;

/// The last day we can hold, 262142-12-31 (chrono's last), in days since
/// 1970-01-01.
fn max_day() -> i64 {
    days_from_civil(262_142, 12, 31)
}

/// The first day Hyper can hold, 4713-01-01 BC (year -4712).
fn min_day() -> i64 {
    days_from_civil(-4712, 1, 1)
}

/// What a value needs beyond Arrow's parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fix {
    None,
    /// Round up by one microsecond (a dropped 7th digit was 5 or more).
    RoundUp,
    Infinity,
    MinusInfinity,
}

/// The targets this module reads: DATE, TIMESTAMP[TZ] and TIME in
/// microseconds.
pub(crate) fn handles(to: &DataType) -> bool {
    matches!(
        to,
        DataType::Date32
            | DataType::Timestamp(TimeUnit::Microsecond, _)
            | DataType::Time64(TimeUnit::Microsecond)
    )
}

/// The text Arrow should parse for `s`, and what to fix afterwards.
fn rewrite<'a>(s: &'a str, to: &DataType) -> (Cow<'a, str>, Fix) {
    let t = s.trim();
    let is_time = matches!(to, DataType::Time64(_));
    if !is_time {
        if t.eq_ignore_ascii_case("infinity") {
            return (Cow::Borrowed("1970-01-01"), Fix::Infinity);
        }
        if t.eq_ignore_ascii_case("-infinity") {
            return (Cow::Borrowed("1970-01-01"), Fix::MinusInfinity);
        }
        if t.eq_ignore_ascii_case("epoch") {
            return (Cow::Borrowed("1970-01-01"), Fix::None);
        }
    }
    let mut text = Cow::Borrowed(s);
    if !is_time && let Some(iso) = mdy(t) {
        text = Cow::Owned(iso);
    }
    if matches!(to, DataType::Date32) {
        return (text, Fix::None);
    }
    match round_fraction(&text) {
        Some((cut, up)) => (Cow::Owned(cut), if up { Fix::RoundUp } else { Fix::None }),
        None => (text, Fix::None),
    }
}

/// `M/D/Y[ rest]` or `M-D-Y[ rest]` as `YYYY-MM-DD[ rest]`; `None` for any
/// other text (ISO dates start with four digits and are left alone).
fn mdy(t: &str) -> Option<String> {
    let (date, rest) = t.split_once(' ').unwrap_or((t, ""));
    let sep = if date.contains('/') { '/' } else { '-' };
    let mut parts = date.split(sep);
    let (m, d, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let digits =
        |p: &str, lens: &[usize]| lens.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(m, &[1, 2]) || !digits(d, &[1, 2]) || !digits(y, &[2, 4]) {
        return None;
    }
    let mut year: u32 = y.parse().ok()?;
    if y.len() == 2 {
        year += if year < 70 { 2000 } else { 1900 };
    }
    let (m, d): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
    let rest = rest.trim_start();
    let sep = if rest.is_empty() { "" } else { " " };
    Some(format!("{year:04}-{m:02}-{d:02}{sep}{rest}"))
}

/// Cuts a fraction of a second longer than six digits to six; the flag says
/// whether the value rounds up. `None` when there is nothing to cut.
fn round_fraction(s: &str) -> Option<(String, bool)> {
    let dot = s.find('.')?;
    let digits = s[dot + 1..].bytes().take_while(u8::is_ascii_digit).count();
    if digits <= 6 || !s[..dot].ends_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let keep_end = dot + 1 + 6;
    let up = s.as_bytes()[keep_end] >= b'5';
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..keep_end]);
    out.push_str(&s[dot + 1 + digits..]);
    Some((out, up))
}

/// Casts text to a temporal type with the rules above; `cast` is Arrow's
/// cast of the rewritten text (errors name the original value).
pub(crate) fn cast_text(
    array: &ArrayRef,
    to: &DataType,
    cast: impl Fn(&ArrayRef) -> crate::Result<ArrayRef>,
) -> crate::Result<ArrayRef> {
    let Some(text) = array.as_string_opt::<i32>() else {
        return cast(array);
    };
    let mut fixes = Vec::with_capacity(text.len());
    let mut changed = false;
    let rewritten: StringArray = text
        .iter()
        .map(|v| {
            let (s, fix) = v.map_or((Cow::Borrowed(""), Fix::None), |s| rewrite(s, to));
            changed |= matches!(s, Cow::Owned(_)) || fix != Fix::None;
            fixes.push(fix);
            v.map(|_| s)
        })
        .collect();
    if !changed {
        return cast(array);
    }
    let out = cast(&(Arc::new(rewritten) as ArrayRef))?;
    let (min, max, step) = match to {
        DataType::Date32 => (min_day(), max_day(), 0),
        DataType::Timestamp(..) => (
            min_day().saturating_mul(US_PER_DAY),
            (max_day() + 1).saturating_mul(US_PER_DAY).saturating_sub(1),
            1,
        ),
        _ => (0, US_PER_DAY, 1),
    };
    let fixed = |v: i64, fix: Fix| match fix {
        Fix::None => v,
        Fix::RoundUp => v.saturating_add(step),
        Fix::Infinity => max,
        Fix::MinusInfinity => min,
    };
    Ok(match to {
        DataType::Date32 => patch::<Date32Type>(&out, &fixes, |v, f| {
            i32::try_from(fixed(i64::from(v), f)).unwrap_or(v)
        }),
        DataType::Time64(_) => {
            patch::<Time64MicrosecondType>(&out, &fixes, |v, f| fixed(v, f).min(US_PER_DAY))
        }
        _ => patch::<TimestampMicrosecondType>(&out, &fixes, fixed),
    })
}

fn patch<T: ArrowPrimitiveType>(
    out: &ArrayRef,
    fixes: &[Fix],
    f: impl Fn(T::Native, Fix) -> T::Native,
) -> ArrayRef {
    let Some(values) = out.as_primitive_opt::<T>() else {
        return Arc::clone(out);
    };
    let patched: PrimitiveArray<T> = values
        .iter()
        .zip(fixes)
        .map(|(v, fix)| v.map(|v| f(v, *fix)))
        .collect();
    Arc::new(patched.with_data_type(out.data_type().clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mdy_dates_become_iso() {
        assert_eq!(mdy("03/15/2024").as_deref(), Some("2024-03-15"));
        assert_eq!(mdy("3-5-24").as_deref(), Some("2024-03-05"));
        assert_eq!(mdy("3/5/99 10:11").as_deref(), Some("1999-03-05 10:11"));
        assert_eq!(mdy("2024-03-15"), None);
        assert_eq!(mdy("2024/03/15"), None);
        assert_eq!(mdy("1/2"), None);
    }

    #[test]
    fn long_fractions_round() {
        assert_eq!(
            round_fraction("2024-03-15 10:11:12.1234567"),
            Some(("2024-03-15 10:11:12.123456".into(), true))
        );
        assert_eq!(
            round_fraction("10:11:12.1234564+01"),
            Some(("10:11:12.123456+01".into(), false))
        );
        assert_eq!(round_fraction("10:11:12.123456"), None);
    }

    #[test]
    fn casts_read_hyper_text() {
        use arrow::util::display::{ArrayFormatter, FormatOptions};
        let text: ArrayRef = Arc::new(StringArray::from(vec![
            Some(" 03/15/2024 "),
            Some("Infinity"),
            Some("-infinity"),
            Some("2024-01-02"),
            None,
        ]));
        let dates = crate::cast::cast(&text, &DataType::Date32).unwrap();
        let f = ArrayFormatter::try_new(dates.as_ref(), &FormatOptions::default()).unwrap();
        let shown: Vec<String> = (0..4).map(|i| f.value(i).to_string()).collect();
        assert_eq!(
            shown,
            ["2024-03-15", "+262142-12-31", "-4712-01-01", "2024-01-02"]
        );
        assert!(dates.is_null(4));
        let ts: ArrayRef = Arc::new(StringArray::from(vec![
            "2024-03-15 10:11:12.1234567",
            "2024-03-15 23:59:59.9999999",
        ]));
        let ts = crate::cast::cast(&ts, &DataType::Timestamp(TimeUnit::Microsecond, None)).unwrap();
        let ts = ts.as_primitive::<TimestampMicrosecondType>();
        assert_eq!(ts.value(0) % 1_000_000, 123_457);
        assert_eq!(ts.value(1) % US_PER_DAY, 0);
        let bad: ArrayRef = Arc::new(StringArray::from(vec!["13/15/2024"]));
        let e = crate::cast::cast(&bad, &DataType::Date32).unwrap_err();
        assert!(e.to_string().contains("13/15/2024"), "{e}");
    }
}
