//! `to_char(datetime, format)`, `to_date(text, format)`,
//! `to_timestamp(text, format)` and `to_timestamp(seconds)`, with
//! PostgreSQL's template patterns: `YYYY YYY YY Y MM DD DDD D HH24 HH12 HH
//! MI SS MS US AM PM Q Month MONTH month Mon MON mon Day DAY day Dy DY dy`,
//! an `FM` prefix (no padding), `"quoted"` text; anything else is copied
//! (and, when parsing, skipped one character at a time).
//!
//! `to_timestamp` gives a TIMESTAMPTZ (UTC), as Hyper.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, StringBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::{
    DataType, Date32Type, Float64Type, Time64MicrosecondType, TimeUnit, TimestampMicrosecondType,
};

use super::datetime::{civil_from_days, days_from_civil};
use super::{ScalarFunction, bad_args, invalid};
use crate::error::{Error, Result};

const US_PER_DAY: i64 = 86_400_000_000;
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The template patterns, longest first so that `HH24` wins over `HH`.
const PATTERNS: &[&str] = &[
    "MONTH", "Month", "month", "HH24", "HH12", "YYYY", "A.M.", "P.M.", "a.m.", "p.m.", "DAY",
    "Day", "day", "MON", "Mon", "mon", "YYY", "DDD", "HH", "MI", "SS", "MS", "US", "AM", "PM",
    "am", "pm", "YY", "MM", "DD", "DY", "Dy", "dy", "Y", "D", "Q",
];

pub(super) fn return_type(func: ScalarFunction, args: &[DataType]) -> Result<DataType> {
    use DataType::{Float64, Utf8};
    let temporal = |t: &DataType| {
        matches!(
            t,
            DataType::Date32 | DataType::Time64(TimeUnit::Microsecond)
        ) || matches!(t, DataType::Timestamp(TimeUnit::Microsecond, _))
    };
    Ok(match (func, args) {
        (ScalarFunction::ToChar, [t, Utf8]) if temporal(t) => Utf8,
        (ScalarFunction::ToDate, [Utf8, Utf8]) => DataType::Date32,
        (ScalarFunction::ToTimestamp, [Utf8, Utf8] | [Float64]) => {
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        }
        _ => return Err(bad_args(func, args)),
    })
}

pub(super) fn evaluate(func: ScalarFunction, args: &[ArrayRef]) -> Result<ArrayRef> {
    let types: Vec<DataType> = args.iter().map(|a| a.data_type().clone()).collect();
    let out = return_type(func, &types)?;
    let rows = args.first().map_or(0, |a| a.len());
    let text = |a: usize, i: usize| {
        let s = args[a].as_string::<i32>();
        s.is_valid(i).then(|| s.value(i))
    };
    match func {
        ScalarFunction::ToChar => {
            let mut b = StringBuilder::new();
            for i in 0..rows {
                match (moment(&args[0], i), text(1, i)) {
                    (Some((days, tod)), Some(f)) => b.append_value(to_char(days, tod, f)),
                    _ => b.append_null(),
                }
            }
            Ok(Arc::new(b.finish()))
        }
        ScalarFunction::ToDate => {
            let out = (0..rows)
                .map(|i| match (text(0, i), text(1, i)) {
                    (Some(s), Some(f)) => {
                        let us = parse(s, f, "to_date")?;
                        i32::try_from(us.div_euclid(US_PER_DAY))
                            .map(Some)
                            .map_err(|_| invalid("to_date", "date out of range"))
                    }
                    _ => Ok(None),
                })
                .collect::<Result<Date32Array>>()?;
            Ok(Arc::new(out))
        }
        ScalarFunction::ToTimestamp => {
            let tz = match out {
                DataType::Timestamp(_, tz) => tz,
                _ => None,
            };
            let values = (0..rows)
                .map(|i| {
                    if args.len() == 1 {
                        let x = args[0].as_primitive::<Float64Type>();
                        if x.is_null(i) {
                            return Ok(None);
                        }
                        let us = x.value(i) * 1e6;
                        if !us.is_finite() || us.abs() > 9.2e18 {
                            return Err(invalid("to_timestamp", "timestamp out of range"));
                        }
                        return Ok(Some(us.round() as i64));
                    }
                    match (text(0, i), text(1, i)) {
                        (Some(s), Some(f)) => parse(s, f, "to_timestamp").map(Some),
                        _ => Ok(None),
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Arc::new(
                TimestampMicrosecondArray::from(values).with_timezone_opt(tz),
            ))
        }
        other => Err(Error::internal(format!(
            "{other:?} is not a formatting function"
        ))),
    }
}

/// Row `i` as (day number, microseconds of the day); TIME has day 0.
fn moment(a: &ArrayRef, i: usize) -> Option<(i64, i64)> {
    if a.is_null(i) {
        return None;
    }
    Some(match a.data_type() {
        DataType::Date32 => (i64::from(a.as_primitive::<Date32Type>().value(i)), 0),
        DataType::Time64(_) => (0, a.as_primitive::<Time64MicrosecondType>().value(i)),
        _ => {
            let us = a.as_primitive::<TimestampMicrosecondType>().value(i);
            (us.div_euclid(US_PER_DAY), us.rem_euclid(US_PER_DAY))
        }
    })
}

/// The pattern at the start of `f`, if any.
fn pattern_at(f: &str) -> Option<&'static str> {
    PATTERNS.iter().copied().find(|p| f.starts_with(p))
}

/// `s` in the case of pattern `p` (`MONTH`, `Month`, `month`).
fn cased(s: &str, p: &str) -> String {
    let mut chars = p.chars();
    match (chars.next(), chars.next()) {
        (Some(a), Some(b)) if a.is_uppercase() && b.is_uppercase() => s.to_uppercase(),
        (Some(a), _) if a.is_lowercase() => s.to_lowercase(),
        _ => s.to_string(),
    }
}

fn to_char(days: i64, tod: i64, format: &str) -> String {
    let (y, m, d) = civil_from_days(days);
    let secs = tod / 1_000_000;
    let (h, mi, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let dow = (days + 4).rem_euclid(7) as usize;
    let doy = days - days_from_civil(y, 1, 1) + 1;
    let mut out = String::new();
    let mut rest = format;
    while !rest.is_empty() {
        let fill = !rest.starts_with("FM");
        if !fill {
            rest = &rest[2..];
        }
        if let Some(q) = rest.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            out.push_str(&q[..end]);
            rest = q.get(end + 1..).unwrap_or("");
            continue;
        }
        let Some(p) = pattern_at(rest) else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        rest = &rest[p.len()..];
        let num = |v: i64, width: usize| {
            if fill {
                format!("{v:0width$}")
            } else {
                v.to_string()
            }
        };
        let name = |n: &str, width: usize| {
            let n = cased(n, p);
            if fill { format!("{n:<width$}") } else { n }
        };
        let h12 = if h % 12 == 0 { 12 } else { h % 12 };
        out.push_str(&match p {
            "YYYY" => num(y, 4),
            "YYY" => num(y % 1000, 3),
            "YY" => num(y % 100, 2),
            "Y" => num(y % 10, 1),
            "MM" => num(i64::from(m), 2),
            "DD" => num(i64::from(d), 2),
            "DDD" => num(doy, 3),
            "D" => num(dow as i64 + 1, 1),
            "Q" => num(i64::from((m - 1) / 3 + 1), 1),
            "HH24" => num(h, 2),
            "HH12" | "HH" => num(h12, 2),
            "MI" => num(mi, 2),
            "SS" => num(s, 2),
            "MS" => num(tod / 1000 % 1000, 3),
            "US" => num(tod % 1_000_000, 6),
            "AM" | "PM" => (if h < 12 { "AM" } else { "PM" }).to_string(),
            "am" | "pm" => (if h < 12 { "am" } else { "pm" }).to_string(),
            "A.M." | "P.M." => (if h < 12 { "A.M." } else { "P.M." }).to_string(),
            "a.m." | "p.m." => (if h < 12 { "a.m." } else { "p.m." }).to_string(),
            "MONTH" | "Month" | "month" => name(MONTHS[m as usize - 1], 9),
            "MON" | "Mon" | "mon" => cased(&MONTHS[m as usize - 1][..3], p),
            "DAY" | "Day" | "day" => name(DAYS[dow], 9),
            _ => cased(&DAYS[dow][..3], p),
        });
    }
    out
}

/// Parses `s` by `format` into microseconds since 1970 (UTC).
fn parse(s: &str, format: &str, function: &str) -> Result<i64> {
    let bad = |what: &str| {
        invalid(
            function,
            format!("{what} in \"{s}\" for format \"{format}\""),
        )
    };
    let (mut y, mut m, mut d) = (1970i64, 1i64, 1i64);
    let (mut h, mut mi, mut sec, mut us) = (0i64, 0i64, 0i64, 0i64);
    let mut pm: Option<bool> = None;
    let mut input = s;
    let mut rest = format;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("FM") {
            rest = r;
            continue;
        }
        let Some(p) = pattern_at(rest) else {
            let c = rest.chars().next().unwrap_or(' ');
            rest = &rest[c.len_utf8()..];
            if let Some(ic) = input.chars().next() {
                input = &input[ic.len_utf8()..];
            }
            continue;
        };
        rest = &rest[p.len()..];
        input = input.trim_start_matches(' ');
        let mut number = |width: usize| -> Result<i64> {
            let digits = input
                .char_indices()
                .take_while(|(i, c)| *i < width && (c.is_ascii_digit() || (*i == 0 && *c == '-')))
                .count();
            let (n, r) = input.split_at(digits);
            input = r;
            n.parse().map_err(|_| bad("missing number"))
        };
        match p {
            "YYYY" => y = number(9)?,
            "YYY" | "YY" | "Y" => {
                let v = number(p.len())?;
                y = if p.len() == 2 && v < 70 {
                    2000 + v
                } else if p.len() == 2 {
                    1900 + v
                } else {
                    v
                };
            }
            "MM" => m = number(2)?,
            "DD" => d = number(2)?,
            "HH24" | "HH12" | "HH" => h = number(2)?,
            "MI" => mi = number(2)?,
            "SS" => sec = number(2)?,
            "MS" => us = number(3)? * 1000,
            "US" => us = number(6)?,
            "AM" | "PM" | "am" | "pm" | "A.M." | "P.M." | "a.m." | "p.m." => {
                let upper = input.to_ascii_uppercase();
                pm = Some(upper.starts_with('P'));
                let len = if upper.starts_with("A.M.") || upper.starts_with("P.M.") {
                    4
                } else {
                    2
                };
                input = input.get(len..).unwrap_or("");
            }
            "MONTH" | "Month" | "month" | "MON" | "Mon" | "mon" => {
                let lower = input.to_ascii_lowercase();
                let (k, name) = MONTHS
                    .iter()
                    .enumerate()
                    .find_map(|(k, n)| {
                        let n = n.to_ascii_lowercase();
                        if p.len() > 3 && lower.starts_with(&n) {
                            Some((k, n.len()))
                        } else if lower.starts_with(&n[..3]) {
                            Some((k, 3))
                        } else {
                            None
                        }
                    })
                    .ok_or_else(|| bad("invalid month name"))?;
                m = k as i64 + 1;
                input = &input[name..];
            }
            _ => {
                // Day names and other fields are read and ignored.
                let skip = input.chars().take_while(|c| c.is_alphanumeric()).count();
                input = &input[input
                    .char_indices()
                    .nth(skip)
                    .map_or(input.len(), |(i, _)| i)..];
            }
        }
    }
    if let Some(pm) = pm {
        if !(1..=12).contains(&h) {
            return Err(bad("hour out of range for a 12-hour clock"));
        }
        h = h % 12 + if pm { 12 } else { 0 };
    }
    let ok = (1..=12).contains(&m)
        && (1..=31).contains(&d)
        && (0..=24).contains(&h)
        && (0..60).contains(&mi)
        && (0..60).contains(&sec);
    if !ok {
        return Err(bad("field value out of range"));
    }
    let days = days_from_civil(y, m as u32, d as u32);
    if civil_from_days(days) != (y, m as u32, d as u32) {
        return Err(bad("field value out of range"));
    }
    Ok(days * US_PER_DAY + ((h * 60 + mi) * 60 + sec) * 1_000_000 + us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_postgres() {
        let day = days_from_civil(2024, 3, 5);
        let tod = ((14 * 60 + 7) * 60 + 9) * 1_000_000;
        assert_eq!(
            to_char(day, tod, "YYYY-MM-DD HH24:MI:SS"),
            "2024-03-05 14:07:09"
        );
        assert_eq!(to_char(day, tod, "DD/MM/YY HH12 AM"), "05/03/24 02 PM");
        assert_eq!(
            to_char(day, 0, "Mon Month Dy Day"),
            "Mar March     Tue Tuesday  "
        );
        assert_eq!(to_char(day, 0, "FMMonth \"q\"Q"), "March q1");
    }

    #[test]
    fn parses_back() {
        let us = parse("05.03.2024", "DD.MM.YYYY", "to_date").unwrap();
        assert_eq!(us, days_from_civil(2024, 3, 5) * US_PER_DAY);
        assert!(parse("31.02.2024", "DD.MM.YYYY", "to_date").is_err());
        assert!(parse("x", "YYYY", "to_date").is_err());
    }
}
