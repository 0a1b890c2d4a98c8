//! Building and comparing dates: `make_date`, `make_time`,
//! `make_timestamp`, `datediff`.
//!
//! `datediff(unit, a, b)` counts the unit boundaries crossed from `a` to
//! `b` (Hyper's, and Tableau's, DATEDIFF): `datediff('day', 23:00, 01:00
//! the next day)` is 1; weeks start on Sunday. Arguments are timestamps
//! (dates are cast by the SQL layer); the result is BIGINT.
//!
//! Out-of-range fields are errors (22008), never a wrapped value.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Int64Array, Time64MicrosecondArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit, TimestampMicrosecondType};

use super::datetime::{civil_from_days, days_from_civil};
use super::{DateField, ScalarFunction, bad_args};
use crate::error::{Error, Result};

const US_PER_SECOND: i64 = 1_000_000;
const US_PER_DAY: i64 = 86_400 * US_PER_SECOND;

pub(super) fn return_type(func: ScalarFunction, args: &[DataType]) -> Result<DataType> {
    use DataType::{Float64, Int64};
    let ts = |t: &DataType| matches!(t, DataType::Timestamp(TimeUnit::Microsecond, _));
    Ok(match (func, args) {
        (ScalarFunction::MakeDate, [Int64, Int64, Int64]) => DataType::Date32,
        (ScalarFunction::MakeTime, [Int64, Int64, Float64]) => {
            DataType::Time64(TimeUnit::Microsecond)
        }
        (ScalarFunction::MakeTimestamp, [Int64, Int64, Int64, Int64, Int64, Float64]) => {
            DataType::Timestamp(TimeUnit::Microsecond, None)
        }
        (ScalarFunction::DateDiff(_), [a, b]) if ts(a) && ts(b) => Int64,
        _ => return Err(bad_args(func, args)),
    })
}

pub(super) fn evaluate(func: ScalarFunction, args: &[ArrayRef]) -> Result<ArrayRef> {
    let types: Vec<DataType> = args.iter().map(|a| a.data_type().clone()).collect();
    return_type(func, &types)?;
    let rows = args.first().map_or(0, |a| a.len());
    let int = |a: usize, i: usize| {
        let x = args[a].as_primitive::<Int64Type>();
        x.is_valid(i).then(|| x.value(i))
    };
    let float = |a: usize, i: usize| {
        let x = args[a].as_primitive::<Float64Type>();
        x.is_valid(i).then(|| x.value(i))
    };
    match func {
        ScalarFunction::MakeDate => {
            let out = (0..rows)
                .map(|i| match (int(0, i), int(1, i), int(2, i)) {
                    (Some(y), Some(m), Some(d)) => day_number(y, m, d).map(Some),
                    _ => Ok(None),
                })
                .collect::<Result<Date32Array>>()?;
            Ok(Arc::new(out))
        }
        ScalarFunction::MakeTime => {
            let out = (0..rows)
                .map(|i| match (int(0, i), int(1, i), float(2, i)) {
                    (Some(h), Some(m), Some(s)) => time_of_day(h, m, s).map(Some),
                    _ => Ok(None),
                })
                .collect::<Result<Time64MicrosecondArray>>()?;
            Ok(Arc::new(out))
        }
        ScalarFunction::MakeTimestamp => {
            let out = (0..rows)
                .map(|i| {
                    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) = (
                        int(0, i),
                        int(1, i),
                        int(2, i),
                        int(3, i),
                        int(4, i),
                        float(5, i),
                    ) else {
                        return Ok(None);
                    };
                    let days = i64::from(day_number(y, mo, d)?);
                    Ok(Some(days * US_PER_DAY + time_of_day(h, mi, s)?))
                })
                .collect::<Result<TimestampMicrosecondArray>>()?;
            Ok(Arc::new(out))
        }
        ScalarFunction::DateDiff(unit) => {
            let a = args[0].as_primitive::<TimestampMicrosecondType>();
            let b = args[1].as_primitive::<TimestampMicrosecondType>();
            let out = (0..rows)
                .map(|i| {
                    if a.is_null(i) || b.is_null(i) {
                        return Ok(None);
                    }
                    Ok(Some(
                        boundary(unit, b.value(i))? - boundary(unit, a.value(i))?,
                    ))
                })
                .collect::<Result<Int64Array>>()?;
            Ok(Arc::new(out))
        }
        other => Err(Error::internal(format!(
            "{other:?} is not a calendar function"
        ))),
    }
}

fn out_of_range(what: &str, value: String) -> Error {
    Error::InvalidArgument {
        function: what.to_string(),
        reason: format!("{what} field value out of range '{value}'"),
    }
}

/// The day number of a valid calendar date.
fn day_number(y: i64, m: i64, d: i64) -> Result<i32> {
    let bad = || out_of_range("date", format!("{y}-{m}-{d}"));
    let (Ok(mu), Ok(du)) = (u32::try_from(m), u32::try_from(d)) else {
        return Err(bad());
    };
    if !(1..=12).contains(&mu) || du == 0 || y == 0 || !(-4713..=294_276).contains(&y) {
        return Err(bad());
    }
    // Year -1 is 1 BC, which the proleptic calendar numbers 0.
    let y = if y < 0 { y + 1 } else { y };
    let days = days_from_civil(y, mu, du);
    if civil_from_days(days) != (y, mu, du) {
        return Err(bad());
    }
    i32::try_from(days).map_err(|_| bad())
}

/// Microseconds since midnight; 24:00:00 is allowed.
fn time_of_day(h: i64, m: i64, s: f64) -> Result<i64> {
    let bad = || out_of_range("time", format!("{h}:{m}:{s}"));
    if !(0..=24).contains(&h) || !(0..60).contains(&m) || !(0.0..60.0).contains(&s) {
        return Err(bad());
    }
    let us = (h * 3600 + m * 60) * US_PER_SECOND + (s * US_PER_SECOND as f64).round() as i64;
    if us > US_PER_DAY {
        return Err(bad());
    }
    Ok(us)
}

/// The number of the `unit` that timestamp `us` falls in, counted from a
/// fixed origin, so that differences count boundaries.
fn boundary(unit: DateField, us: i64) -> Result<i64> {
    use DateField::*;
    let days = us.div_euclid(US_PER_DAY);
    let (y, m, _) = civil_from_days(days);
    Ok(match unit {
        Year => y,
        Quarter => y * 4 + i64::from((m - 1) / 3),
        Month => y * 12 + i64::from(m) - 1,
        // 1970-01-04 (day 3) was a Sunday: weeks numbered from there.
        Week => (days + 4).div_euclid(7),
        Day | Dow | IsoDow | Doy => days,
        Hour => us.div_euclid(3600 * US_PER_SECOND),
        Minute => us.div_euclid(60 * US_PER_SECOND),
        Second => us.div_euclid(US_PER_SECOND),
        Millisecond => us.div_euclid(1000),
        Microsecond => us,
        other => {
            return Err(Error::InvalidArgument {
                function: "datediff".into(),
                reason: format!("timestamp unit not recognized: {other:?}"),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_are_counted() {
        let day = US_PER_DAY;
        let jan1 = days_from_civil(2024, 1, 1) * day;
        let mar1 = days_from_civil(2024, 3, 1) * day;
        assert_eq!(
            boundary(DateField::Day, mar1).unwrap() - boundary(DateField::Day, jan1).unwrap(),
            60
        );
        assert_eq!(
            boundary(DateField::Week, mar1).unwrap() - boundary(DateField::Week, jan1).unwrap(),
            8
        );
        // Saturday 2024-01-06 to Sunday 2024-01-07 crosses a week boundary.
        let sat = days_from_civil(2024, 1, 6) * day;
        assert_eq!(
            boundary(DateField::Week, sat + day).unwrap() - boundary(DateField::Week, sat).unwrap(),
            1
        );
        // Sunday to Monday does not.
        let sun = sat + day;
        assert_eq!(
            boundary(DateField::Week, sun + day).unwrap() - boundary(DateField::Week, sun).unwrap(),
            0
        );
        assert!(boundary(DateField::Decade, 0).is_err());
    }

    #[test]
    fn bad_fields_are_errors() {
        assert!(day_number(2023, 2, 29).is_err());
        assert!(day_number(2024, 13, 1).is_err());
        assert_eq!(
            day_number(2024, 2, 29).unwrap(),
            days_from_civil(2024, 2, 29) as i32
        );
        assert!(time_of_day(25, 0, 0.0).is_err());
        assert_eq!(time_of_day(10, 11, 12.5).unwrap(), 36_672_500_000);
    }
}
