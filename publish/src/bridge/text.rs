//! The text forms of values that cross the wire in CSV: how we write them for
//! hyperd to read, and how we parse what hyperd prints.
//!
//! hyperd runs with `--date-style=MDY`, and it accepts timestamps before year 1
//! only in the `MM/DD/YYYY ... BC` form, so dates and timestamps are written
//! that way. It prints them as `YYYY-MM-DD[ HH:MM:SS[.f]][+00][ BC]`. Intervals
//! go both ways in ISO 8601 with signed components (`P-1Y-2M3DT-4H-5M-6.000007S`).
//!
//! Invariant: parsers return `None` on anything malformed or out of range, never
//! panic; the caller turns `None` into an error naming table, column and row.

use std::fmt::Write as _;

pub(crate) const MICROS_PER_DAY: i64 = 86_400_000_000;
const MICROS_PER_SECOND: i64 = 1_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (year 0 = 1 BC).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian `(year, month, day)` of days since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        _ => 28,
    }
}

/// `MM/DD/YYYY` and whether the year is BC.
fn write_mdy(out: &mut String, days: i64) -> bool {
    let (year, month, day) = civil_from_days(days);
    let bc = year <= 0;
    let shown = if bc { 1 - year } else { year };
    let _ = write!(out, "{month:02}/{day:02}/{shown:04}");
    bc
}

/// A DATE for hyperd: `MM/DD/YYYY[ BC]`.
pub(crate) fn write_date(out: &mut String, days: i32) {
    if write_mdy(out, i64::from(days)) {
        out.push_str(" BC");
    }
}

fn write_time_of_day(out: &mut String, micros: i64) {
    let secs = micros / MICROS_PER_SECOND;
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}.{:06}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        micros % MICROS_PER_SECOND
    );
}

/// A TIME for hyperd, `None` outside `00:00 ..= 24:00`.
pub(crate) fn write_time(out: &mut String, micros: i64) -> Option<()> {
    if !(0..=MICROS_PER_DAY).contains(&micros) {
        return None;
    }
    write_time_of_day(out, micros);
    Some(())
}

/// A TIMESTAMP (or TIMESTAMPTZ in UTC, `+00`) for hyperd: `MM/DD/YYYY HH:MM:SS.ffffff[+00][ BC]`.
pub(crate) fn write_timestamp(out: &mut String, micros: i64, utc: bool) {
    let bc = write_mdy(out, micros.div_euclid(MICROS_PER_DAY));
    out.push(' ');
    write_time_of_day(out, micros.rem_euclid(MICROS_PER_DAY));
    if utc {
        out.push_str("+00");
    }
    if bc {
        out.push_str(" BC");
    }
}

/// An INTERVAL for hyperd in ISO 8601, `None` if `nanos` is not whole microseconds.
pub(crate) fn write_interval(out: &mut String, months: i32, days: i32, nanos: i64) -> Option<()> {
    if nanos % 1000 != 0 {
        return None;
    }
    let micros = nanos / 1000;
    let hours = micros / 3_600_000_000;
    let minutes = micros / 60_000_000 % 60;
    let rest = micros % 60_000_000;
    let sign = if rest < 0 { "-" } else { "" };
    let rest = rest.unsigned_abs();
    let _ = write!(
        out,
        "P{months}M{days}DT{hours}H{minutes}M{sign}{}.{:06}S",
        rest / 1_000_000,
        rest % 1_000_000
    );
    Some(())
}

/// A NUMERIC's text: the unscaled `value` with `scale` digits after the point.
pub(crate) fn write_decimal(out: &mut String, value: i128, scale: u8) {
    let digits = value.unsigned_abs().to_string();
    if value < 0 {
        out.push('-');
    }
    let scale = usize::from(scale);
    if scale == 0 {
        out.push_str(&digits);
    } else if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(&digits);
    }
}

/// Bytes as PostgreSQL hex text, `\x0aff`.
pub(crate) fn write_hex(out: &mut String, bytes: &[u8]) {
    out.push_str("\\x");
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
}

/// A float in the shortest text that reads back to the same value.
pub(crate) fn write_float(out: &mut String, value: f64, shortest: impl std::fmt::LowerExp) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        let _ = write!(out, "{shortest:e}");
    }
}

/// Parses hyperd's NUMERIC text into an unscaled value of `scale` digits.
pub(crate) fn parse_decimal(text: &str, scale: u8) -> Option<i128> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > usize::from(scale) {
        return None;
    }
    let mut value: i128 = 0;
    for c in int.bytes().chain(frac.bytes()) {
        if !c.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(i128::from(c - b'0'))?;
    }
    for _ in frac.len()..usize::from(scale) {
        value = value.checked_mul(10)?;
    }
    Some(if negative { -value } else { value })
}

fn parse_u32(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses `YYYY-MM-DD` into days since 1970-01-01; `bc` flips the year.
fn parse_iso_date(text: &str, bc: bool) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let year = i64::from(parse_u32(parts.next()?)?);
    let month = parse_u32(parts.next()?)?;
    let day = parse_u32(parts.next()?)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    let year = if bc { 1 - year } else { year };
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

fn strip_bc(text: &str) -> (&str, bool) {
    match text.strip_suffix(" BC") {
        Some(rest) => (rest, true),
        None => (text, false),
    }
}

/// Parses hyperd's DATE text, `YYYY-MM-DD[ BC]`.
pub(crate) fn parse_date(text: &str) -> Option<i32> {
    let (text, bc) = strip_bc(text);
    i32::try_from(parse_iso_date(text, bc)?).ok()
}

/// Parses `HH:MM:SS[.f]` into microseconds since midnight (`24:00:00` allowed).
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let (hms, frac) = text.split_once('.').unwrap_or((text, ""));
    let mut parts = hms.splitn(3, ':');
    let h = i64::from(parse_u32(parts.next()?)?);
    let m = i64::from(parse_u32(parts.next()?)?);
    let s = i64::from(parse_u32(parts.next()?)?);
    if h > 24 || m > 59 || s > 59 || frac.len() > 6 {
        return None;
    }
    let mut micros = 0;
    if !frac.is_empty() {
        micros = i64::from(parse_u32(frac)?) * 10_i64.pow(6 - frac.len() as u32);
    }
    let total = ((h * 60 + m) * 60 + s) * MICROS_PER_SECOND + micros;
    (total <= MICROS_PER_DAY).then_some(total)
}

/// Parses hyperd's TIMESTAMP / TIMESTAMPTZ text,
/// `YYYY-MM-DD HH:MM:SS[.f][(+|-)hh[:mm[:ss]]][ BC]`, into microseconds since the
/// epoch in UTC. `with_offset` says whether the offset is required (TIMESTAMPTZ)
/// or forbidden (TIMESTAMP).
pub(crate) fn parse_timestamp(text: &str, with_offset: bool) -> Option<i64> {
    let (text, bc) = strip_bc(text);
    let (date, time) = text.split_once(' ')?;
    let days = parse_iso_date(date, bc)?;
    let (time, offset_secs) = match time.rfind(['+', '-']) {
        Some(at) if with_offset => {
            let (time, offset) = time.split_at(at);
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let mut secs = 0;
            let mut unit = 3600;
            for part in offset[1..].split(':') {
                if unit == 0 {
                    return None;
                }
                secs += i64::from(parse_u32(part)?) * unit;
                unit /= 60;
            }
            (time, sign * secs)
        }
        None if !with_offset => (time, 0),
        _ => return None,
    };
    let tod = parse_time(time)?;
    days.checked_mul(MICROS_PER_DAY)?
        .checked_add(tod)?
        .checked_sub(offset_secs.checked_mul(MICROS_PER_SECOND)?)
}

/// Parses hyperd's ISO 8601 INTERVAL text (`P1Y2M3DT4H5M6.000007S`, components
/// signed, `PT0S` for zero) into `(months, days, microseconds)`.
pub(crate) fn parse_interval(text: &str) -> Option<(i32, i32, i64)> {
    let body = text.strip_prefix('P')?;
    let (date, time) = body.split_once('T').unwrap_or((body, ""));
    if body.is_empty() || (body.contains('T') && time.is_empty()) {
        return None;
    }
    let mut months: i64 = 0;
    let mut days: i64 = 0;
    let mut micros: i64 = 0;
    for (number, unit) in components(date)? {
        let n: i64 = number.parse().ok()?;
        match unit {
            'Y' => months = months.checked_add(n.checked_mul(12)?)?,
            'M' => months = months.checked_add(n)?,
            'W' => days = days.checked_add(n.checked_mul(7)?)?,
            'D' => days = days.checked_add(n)?,
            _ => return None,
        }
    }
    for (number, unit) in components(time)? {
        let add = match unit {
            'H' => number.parse::<i64>().ok()?.checked_mul(3_600_000_000)?,
            'M' => number.parse::<i64>().ok()?.checked_mul(60_000_000)?,
            'S' => {
                let negative = number.starts_with('-');
                let unsigned = number.trim_start_matches(['-', '+']);
                let value = parse_decimal(unsigned, 6)?;
                let value = i64::try_from(value).ok()?;
                if negative { -value } else { value }
            }
            _ => return None,
        };
        micros = micros.checked_add(add)?;
    }
    Some((
        i32::try_from(months).ok()?,
        i32::try_from(days).ok()?,
        micros,
    ))
}

/// Splits `1Y-2M3D` into `[("1", 'Y'), ("-2", 'M'), ("3", 'D')]`.
fn components(text: &str) -> Option<Vec<(&str, char)>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c.is_ascii_alphabetic() {
            let number = &text[start..i];
            if number.is_empty() || number == "-" || number == "+" {
                return None;
            }
            out.push((number, c));
            start = i + 1;
        }
    }
    (start == text.len()).then_some(out)
}

/// Parses PostgreSQL hex bytes, `\x0aff`.
pub(crate) fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let hex = text.strip_prefix("\\x")?.as_bytes();
    if hex.len() % 2 != 0 {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    hex.chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips() {
        for days in (-2_500_000..=106_000_000)
            .step_by(9_973)
            .chain([-1, 0, 1, 59, 60])
        {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
    }

    fn s(f: impl FnOnce(&mut String)) -> String {
        let mut out = String::new();
        f(&mut out);
        out
    }

    #[test]
    fn dates_and_timestamps() {
        assert_eq!(s(|o| write_date(o, 0)), "01/01/1970");
        let bc = days_from_civil(-43, 3, 15) as i32;
        assert_eq!(s(|o| write_date(o, bc)), "03/15/0044 BC");
        assert_eq!(parse_date("0044-03-15 BC"), Some(bc));
        assert_eq!(
            parse_date("294276-12-31"),
            Some(days_from_civil(294_276, 12, 31) as i32)
        );
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-13-01"), None);
        assert_eq!(parse_date("x"), None);
        let ts = -MICROS_PER_DAY * 800_000 + 1;
        let text = s(|o| write_timestamp(o, ts, true));
        assert!(text.ends_with(".000001+00 BC"), "{text}");
        assert_eq!(
            s(|o| write_timestamp(o, -1, false)),
            "12/31/1969 23:59:59.999999"
        );
        assert_eq!(
            parse_timestamp("1969-12-31 23:59:59.999999", false),
            Some(-1)
        );
        assert_eq!(parse_timestamp("1970-01-01 05:30:00+05:30", true), Some(0));
        assert_eq!(
            parse_timestamp("1970-01-01 00:00:00-01", true),
            Some(3_600_000_000)
        );
        assert_eq!(parse_timestamp("1970-01-01 00:00:00", true), None);
        assert_eq!(parse_timestamp("1970-01-01 00:00:00+00", false), None);
        assert_eq!(
            parse_timestamp("0001-12-31 00:00:00 BC", false),
            Some(days_from_civil(0, 12, 31) * MICROS_PER_DAY)
        );
    }

    #[test]
    fn times() {
        assert_eq!(
            s(|o| write_time(o, MICROS_PER_DAY).unwrap()),
            "24:00:00.000000"
        );
        assert!(write_time(&mut String::new(), -1).is_none());
        assert_eq!(parse_time("23:59:59.5"), Some(MICROS_PER_DAY - 500_000));
        assert_eq!(parse_time("24:00:00"), Some(MICROS_PER_DAY));
        assert_eq!(parse_time("24:00:01"), None);
        assert_eq!(parse_time("1:2"), None);
        assert_eq!(parse_time("00:00:00.1234567"), None);
    }

    #[test]
    fn intervals() {
        let micros = -(4 * 3600 + 5 * 60 + 6) * MICROS_PER_SECOND - 7;
        let text = s(|o| write_interval(o, -14, 3, micros * 1000).unwrap());
        assert_eq!(text, "P-14M3DT-4H-5M-6.000007S");
        assert_eq!(parse_interval(&text), Some((-14, 3, micros)));
        assert_eq!(
            parse_interval("P-1Y-2M3DT-4H-5M-6.000007S"),
            Some((-14, 3, micros))
        );
        assert_eq!(parse_interval("PT0S"), Some((0, 0, 0)));
        assert_eq!(parse_interval("PT-0.000001S"), Some((0, 0, -1)));
        assert_eq!(parse_interval("P178000000Y"), Some((2_136_000_000, 0, 0)));
        assert_eq!(parse_interval("P179000000Y"), None);
        assert_eq!(parse_interval("P1X"), None);
        assert_eq!(parse_interval("P"), None);
        assert_eq!(parse_interval("PT"), None);
        assert_eq!(parse_interval("P1DT"), None);
        assert!(write_interval(&mut String::new(), 0, 0, 1).is_none());
        let max = s(|o| write_interval(o, i32::MIN, i32::MAX, i64::MIN / 1000 * 1000).unwrap());
        assert_eq!(
            parse_interval(&max),
            Some((i32::MIN, i32::MAX, i64::MIN / 1000))
        );
    }

    #[test]
    fn decimals() {
        assert_eq!(s(|o| write_decimal(o, -5, 3)), "-0.005");
        assert_eq!(s(|o| write_decimal(o, 12_345, 2)), "123.45");
        assert_eq!(s(|o| write_decimal(o, 7, 0)), "7");
        let max = 10_i128.pow(38) - 1;
        let text = s(|o| write_decimal(o, -max, 10));
        assert_eq!(parse_decimal(&text, 10), Some(-max));
        assert_eq!(parse_decimal("1.50", 2), Some(150));
        assert_eq!(parse_decimal("1.5", 2), Some(150));
        assert_eq!(parse_decimal("1.505", 2), None);
        assert_eq!(parse_decimal("", 2), None);
        assert_eq!(parse_decimal("1e3", 0), None);
        assert_eq!(
            parse_decimal("999999999999999999999999999999999999999999", 0),
            None
        );
    }

    #[test]
    fn hex_and_floats() {
        assert_eq!(s(|o| write_hex(o, &[0, 0xff])), "\\x00ff");
        assert_eq!(parse_hex("\\x00ff"), Some(vec![0, 0xff]));
        assert_eq!(parse_hex("\\x0"), None);
        assert_eq!(parse_hex("\\xzz"), None);
        assert_eq!(parse_hex("00"), None);
        assert_eq!(s(|o| write_float(o, f64::NAN, f64::NAN)), "NaN");
        assert_eq!(s(|o| write_float(o, f64::NEG_INFINITY, 0.0)), "-Infinity");
        assert_eq!(s(|o| write_float(o, 0.1, 0.1_f32)), "1e-1");
    }
}
