//! Intervals: parsing `'1 month 2 days 3 hours'`, and the arithmetic of
//! dates, times and timestamps with intervals.
//!
//! An interval has three independent parts (months, days, microseconds;
//! Arrow's `MonthDayNano` holds nanoseconds, always a multiple of 1000
//! here). `timestamp + interval` adds the months first (the day clamped to
//! the month's last: `2024-01-31 + 1 month` is `2024-02-29`), then the days,
//! then the time. `timestamp - timestamp` is whole days plus the rest.
//! Overflow is an error.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, IntervalMonthDayNanoArray, Time64MicrosecondArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{
    DataType, Date32Type, Float64Type, IntervalMonthDayNano, IntervalMonthDayNanoType,
    IntervalUnit, Time64MicrosecondType, TimeUnit, TimestampMicrosecondType,
};

use super::datetime::{civil_from_days, days_from_civil};
use super::{ScalarFunction, bad_args, invalid};
use crate::error::{Error, Result};

const US_PER_DAY: i64 = 86_400_000_000;
const NS_PER_US: i64 = 1000;

/// An operation of [`ScalarFunction::Interval`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntervalOp {
    /// `timestamp + interval` (TIMESTAMP or TIMESTAMPTZ).
    AddToTimestamp,
    /// `time + interval`: the time part only, wrapping at midnight.
    AddToTime,
    /// `timestamp - timestamp`.
    SubTimestamps,
    /// `time - time`.
    SubTimes,
    /// `date + time`: a TIMESTAMP.
    DatePlusTime,
    /// `interval + interval`.
    Add,
    /// `-interval`.
    Negate,
    /// `interval * double`.
    Multiply,
    /// `interval / double`.
    Divide,
    /// `justify_days(interval)`: 30-day runs of days become months.
    JustifyDays,
    /// `justify_hours(interval)`: 24-hour runs of time become days.
    JustifyHours,
    /// `justify_interval(interval)`: both, with the parts' signs made to
    /// agree.
    JustifyInterval,
    /// `age(a, b)`: `a - b` in years, months, days and time, field by
    /// field with borrows, as PostgreSQL.
    Age,
    /// `extract(epoch FROM interval)`: seconds, a year being 365.25 days
    /// and a month 30 (DOUBLE PRECISION, as Hyper).
    Epoch,
}

fn interval_type() -> DataType {
    DataType::Interval(IntervalUnit::MonthDayNano)
}

pub(super) fn return_type(op: IntervalOp, args: &[DataType]) -> Result<DataType> {
    use DataType::{Float64, Time64, Timestamp};
    use IntervalOp::*;
    let iv = interval_type();
    let us = TimeUnit::Microsecond;
    Ok(match (op, args) {
        (AddToTimestamp, [t @ Timestamp(u, _), i]) if *u == us && *i == iv => t.clone(),
        (AddToTime, [t @ Time64(u), i]) if *u == us && *i == iv => t.clone(),
        (SubTimestamps, [Timestamp(a, x), Timestamp(b, y)]) if *a == us && *b == us && x == y => iv,
        (SubTimes, [Time64(a), Time64(b)]) if *a == us && *b == us => iv,
        (DatePlusTime, [DataType::Date32, Time64(u)]) if *u == us => Timestamp(us, None),
        (Add, [a, b]) if *a == iv && *b == iv => iv,
        (Negate, [a]) if *a == iv => iv,
        (Multiply | Divide, [a, Float64]) if *a == iv => iv,
        (JustifyDays | JustifyHours | JustifyInterval, [a]) if *a == iv => iv,
        (Age, [Timestamp(a, x), Timestamp(b, y)]) if *a == us && *b == us && x == y => iv,
        (Epoch, [a]) if *a == iv => Float64,
        _ => return Err(bad_args(ScalarFunction::Interval(op), args)),
    })
}

fn overflow() -> Error {
    Error::Overflow {
        what: "interval out of range".into(),
    }
}

/// The interval of months, days and microseconds.
fn make(months: i64, days: i64, us: i64) -> Result<IntervalMonthDayNano> {
    Ok(IntervalMonthDayNano::new(
        i32::try_from(months).map_err(|_| overflow())?,
        i32::try_from(days).map_err(|_| overflow())?,
        us.checked_mul(NS_PER_US).ok_or_else(overflow)?,
    ))
}

fn parts(i: IntervalMonthDayNano) -> (i64, i64, i64) {
    (
        i64::from(i.months),
        i64::from(i.days),
        i.nanoseconds / NS_PER_US,
    )
}

/// `ts + interval` on microseconds since 1970.
fn add_to_timestamp(ts: i64, i: IntervalMonthDayNano) -> Result<i64> {
    let (months, days, us) = parts(i);
    let day = ts.div_euclid(US_PER_DAY);
    let tod = ts.rem_euclid(US_PER_DAY);
    let (y, m, d) = civil_from_days(day);
    let total = y * 12 + i64::from(m) - 1 + months;
    let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
    let last = days_in_month(ny, nm);
    let day = days_from_civil(ny, nm, d.min(last)) + days;
    day.checked_mul(US_PER_DAY)
        .and_then(|v| v.checked_add(tod))
        .and_then(|v| v.checked_add(us))
        .ok_or_else(|| Error::Overflow {
            what: "timestamp out of range".into(),
        })
}

fn days_in_month(y: i64, m: u32) -> u32 {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1)) as u32
}

/// `a * f`: fractions of months carry into days (30 per month), fractions
/// of days into microseconds, as PostgreSQL.
fn scale(i: IntervalMonthDayNano, f: f64) -> Result<IntervalMonthDayNano> {
    if !f.is_finite() {
        return Err(overflow());
    }
    let (months, days, us) = parts(i);
    let m = months as f64 * f;
    let whole_m = m.trunc();
    let d = days as f64 * f + (m - whole_m) * 30.0;
    let whole_d = d.trunc();
    let t = us as f64 * f + (d - whole_d) * US_PER_DAY as f64;
    if whole_m.abs() > f64::from(i32::MAX)
        || whole_d.abs() > f64::from(i32::MAX)
        || t.abs() > 9.2e18
    {
        return Err(overflow());
    }
    make(whole_m as i64, whole_d as i64, t.round() as i64)
}

pub(super) fn evaluate(op: IntervalOp, args: &[ArrayRef]) -> Result<ArrayRef> {
    use IntervalOp::*;
    let types: Vec<DataType> = args.iter().map(|a| a.data_type().clone()).collect();
    let out = return_type(op, &types)?;
    let rows = args.first().map_or(0, |a| a.len());
    let valid = |i: usize| args.iter().all(|a| a.is_valid(i));
    let iv = |a: usize, i: usize| args[a].as_primitive::<IntervalMonthDayNanoType>().value(i);
    let ts = |a: usize, i: usize| args[a].as_primitive::<TimestampMicrosecondType>().value(i);
    let time = |a: usize, i: usize| args[a].as_primitive::<Time64MicrosecondType>().value(i);
    let rows_of = |f: &dyn Fn(usize) -> Result<i64>| {
        (0..rows)
            .map(|i| if valid(i) { f(i).map(Some) } else { Ok(None) })
            .collect::<Result<Vec<_>>>()
    };
    let intervals = |f: &dyn Fn(usize) -> Result<IntervalMonthDayNano>| {
        (0..rows)
            .map(|i| if valid(i) { f(i).map(Some) } else { Ok(None) })
            .collect::<Result<IntervalMonthDayNanoArray>>()
            .map(|a| Arc::new(a) as ArrayRef)
    };
    match op {
        AddToTimestamp | DatePlusTime => {
            let tz = match &out {
                DataType::Timestamp(_, tz) => tz.clone(),
                _ => None,
            };
            let values = if op == DatePlusTime {
                rows_of(&|i| {
                    let day = i64::from(args[0].as_primitive::<Date32Type>().value(i));
                    Ok(day * US_PER_DAY + time(1, i))
                })?
            } else {
                rows_of(&|i| add_to_timestamp(ts(0, i), iv(1, i)))?
            };
            Ok(Arc::new(
                TimestampMicrosecondArray::from(values).with_timezone_opt(tz),
            ))
        }
        AddToTime => {
            let values = rows_of(&|i| Ok((time(0, i) + parts(iv(1, i)).2).rem_euclid(US_PER_DAY)))?;
            Ok(Arc::new(Time64MicrosecondArray::from(values)))
        }
        SubTimestamps => intervals(&|i| {
            let d = ts(0, i).checked_sub(ts(1, i)).ok_or_else(overflow)?;
            make(0, d / US_PER_DAY, d % US_PER_DAY)
        }),
        SubTimes => intervals(&|i| make(0, 0, time(0, i) - time(1, i))),
        Add => intervals(&|i| {
            let (a, b) = (parts(iv(0, i)), parts(iv(1, i)));
            make(
                a.0 + b.0,
                a.1 + b.1,
                a.2.checked_add(b.2).ok_or_else(overflow)?,
            )
        }),
        Negate => intervals(&|i| {
            let (m, d, us) = parts(iv(0, i));
            make(-m, -d, us.checked_neg().ok_or_else(overflow)?)
        }),
        JustifyDays | JustifyHours | JustifyInterval => intervals(&|i| {
            let (m, d, t) = justify(op, parts(iv(0, i)));
            make(m, d, t)
        }),
        Age => intervals(&|i| {
            let (m, d, t) = age(ts(0, i), ts(1, i));
            make(m, d, t)
        }),
        Epoch => {
            let values: Vec<Option<f64>> = (0..rows)
                .map(|i| {
                    valid(i).then(|| {
                        let (m, d, t) = parts(iv(0, i));
                        let year_s = 365.25 * 86_400.0;
                        (m / 12) as f64 * year_s
                            + (m % 12) as f64 * 30.0 * 86_400.0
                            + d as f64 * 86_400.0
                            + t as f64 / 1e6
                    })
                })
                .collect();
            Ok(Arc::new(arrow::array::Float64Array::from(values)))
        }
        Multiply | Divide => intervals(&|i| {
            let f = args[1].as_primitive::<Float64Type>().value(i);
            if op == Divide && f == 0.0 {
                return Err(Error::DivisionByZero);
            }
            scale(iv(0, i), if op == Divide { 1.0 / f } else { f })
        }),
    }
}

/// PostgreSQL's `justify_days`, `justify_hours` and `justify_interval`
/// on (months, days, microseconds).
fn justify(op: IntervalOp, (mut m, mut d, mut t): (i64, i64, i64)) -> (i64, i64, i64) {
    if op != IntervalOp::JustifyDays {
        d += t / US_PER_DAY;
        t %= US_PER_DAY;
    }
    if op != IntervalOp::JustifyHours {
        m += d / 30;
        d %= 30;
    }
    if op == IntervalOp::JustifyInterval {
        if m > 0 && (d < 0 || (d == 0 && t < 0)) {
            d += 30;
            m -= 1;
        } else if m < 0 && (d > 0 || (d == 0 && t > 0)) {
            d -= 30;
            m += 1;
        }
        if d > 0 && t < 0 {
            t += US_PER_DAY;
            d -= 1;
        } else if d < 0 && t > 0 {
            t -= US_PER_DAY;
            d += 1;
        }
    }
    (m, d, t)
}

/// `age(a, b)` as (months, days, microseconds): the later minus the
/// earlier field by field, borrowing from the next larger field (a month
/// borrows the length of the earlier date's month), negated when `a < b`.
fn age(a: i64, b: i64) -> (i64, i64, i64) {
    if a < b {
        let (m, d, t) = age(b, a);
        return (-m, -d, -t);
    }
    let split = |ts: i64| {
        let (y, m, d) = civil_from_days(ts.div_euclid(US_PER_DAY));
        (y, i64::from(m), i64::from(d), ts.rem_euclid(US_PER_DAY), m)
    };
    let (y1, m1, d1, t1, _) = split(a);
    let (y2, m2, d2, t2, month2) = split(b);
    let (mut years, mut months, mut days, mut t) = (y1 - y2, m1 - m2, d1 - d2, t1 - t2);
    if t < 0 {
        t += US_PER_DAY;
        days -= 1;
    }
    if days < 0 {
        days += i64::from(days_in_month(y2, month2));
        months -= 1;
    }
    if months < 0 {
        months += 12;
        years -= 1;
    }
    (years * 12 + months, days, t)
}

/// Parses an interval literal: pairs of a number and a unit (`'1 year 2
/// months'`, `'-1 hour'`, `'1.5 days'`), optionally a trailing
/// `[-]HH:MM[:SS]`, or a bare number of `default_unit`s.
///
/// # Errors
///
/// [`Error::InvalidArgument`] for text that is no interval.
pub fn parse_interval(text: &str, default_unit: Option<&str>) -> Result<IntervalMonthDayNano> {
    let bad = || {
        invalid(
            "interval",
            format!("invalid input syntax for type interval: \"{text}\""),
        )
    };
    let (mut months, mut days, mut us) = (0f64, 0f64, 0f64);
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if tokens.is_empty() {
        return Err(bad());
    }
    let mut k = 0;
    while k < tokens.len() {
        let tok = tokens[k];
        if tok.contains(':') {
            us += clock(tok).ok_or_else(bad)?;
            k += 1;
            continue;
        }
        // "1day" or "1 day"
        let split = tok
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(tok.len());
        let (num, unit) = tok.split_at(split);
        let n: f64 = num.parse().map_err(|_| bad())?;
        let unit = if !unit.is_empty() {
            unit.to_string()
        } else if let Some(u) = tokens
            .get(k + 1)
            .filter(|t| t.starts_with(char::is_alphabetic))
        {
            k += 1;
            (*u).to_string()
        } else {
            default_unit.ok_or_else(bad)?.to_string()
        };
        k += 1;
        let unit = unit.to_ascii_lowercase();
        match unit.as_str() {
            "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => us += n * 1000.0,
            "us" | "usec" | "usecs" | "microsecond" | "microseconds" => us += n,
            u => match u.trim_end_matches('s') {
                "millennium" | "millennia" => months += n * 12000.0,
                "centurie" | "century" => months += n * 1200.0,
                "decade" => months += n * 120.0,
                "year" | "y" | "yr" => months += n * 12.0,
                "month" | "mon" => months += n,
                "week" | "w" => days += n * 7.0,
                "day" | "d" => days += n,
                "hour" | "h" | "hr" => us += n * 3_600_000_000.0,
                "minute" | "min" | "m" => us += n * 60_000_000.0,
                "second" | "sec" | "" => us += n * 1_000_000.0,
                _ => return Err(bad()),
            },
        }
    }
    // Fractions carry down: months to days (30), days to microseconds.
    let whole_m = months.trunc();
    days += (months - whole_m) * 30.0;
    let whole_d = days.trunc();
    us += (days - whole_d) * US_PER_DAY as f64;
    if whole_m.abs() > f64::from(i32::MAX)
        || whole_d.abs() > f64::from(i32::MAX)
        || us.abs() > 9.2e18
    {
        return Err(overflow());
    }
    make(whole_m as i64, whole_d as i64, us.round() as i64)
}

/// `[-]HH:MM[:SS[.f]]` in microseconds.
fn clock(tok: &str) -> Option<f64> {
    let (sign, body) = match tok.strip_prefix('-') {
        Some(b) => (-1.0, b),
        None => (1.0, tok.strip_prefix('+').unwrap_or(tok)),
    };
    let mut it = body.split(':');
    let h: f64 = it.next()?.parse().ok()?;
    let m: f64 = it.next()?.parse().ok()?;
    let s: f64 = match it.next() {
        Some(s) => s.parse().ok()?,
        None => 0.0,
    };
    if it.next().is_some() {
        return None;
    }
    Some(sign * ((h * 60.0 + m) * 60.0 + s) * 1_000_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_parse() {
        assert_eq!(
            parse_interval("90 minutes", None).unwrap(),
            IntervalMonthDayNano::new(0, 0, 5_400_000_000_000)
        );
        assert_eq!(
            parse_interval("1 year 2 months", None).unwrap(),
            IntervalMonthDayNano::new(14, 0, 0)
        );
        assert_eq!(
            parse_interval("1 month -1 hour", None).unwrap(),
            IntervalMonthDayNano::new(1, 0, -3_600_000_000_000)
        );
        assert_eq!(
            parse_interval("1", Some("day")).unwrap(),
            IntervalMonthDayNano::new(0, 1, 0)
        );
        assert!(parse_interval("soon", None).is_err());
        assert!(parse_interval("", None).is_err());
    }

    #[test]
    fn justify_and_age_follow_postgres() {
        let h = 3_600_000_000;
        assert_eq!(justify(IntervalOp::JustifyDays, (0, -35, 0)), (-1, -5, 0));
        assert_eq!(
            justify(IntervalOp::JustifyHours, (0, 0, 27 * h)),
            (0, 1, 3 * h)
        );
        assert_eq!(
            justify(IntervalOp::JustifyInterval, (1, 0, -h)),
            (0, 29, 23 * h)
        );
        let a = days_from_civil(2024, 3, 15) * US_PER_DAY;
        let b = days_from_civil(2023, 1, 10) * US_PER_DAY + 12 * h;
        assert_eq!(age(a, b), (14, 4, 12 * h));
        assert_eq!(age(b, a), (-14, -4, -12 * h));
    }

    #[test]
    fn months_clamp_to_the_last_day() {
        let jan31 = days_from_civil(2024, 1, 31) * US_PER_DAY;
        let out = add_to_timestamp(jan31, IntervalMonthDayNano::new(1, 0, 0)).unwrap();
        assert_eq!(out, days_from_civil(2024, 2, 29) * US_PER_DAY);
    }
}
