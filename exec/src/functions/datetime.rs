//! Date/time functions: `extract`, `date_part` and `date_trunc` over DATE,
//! TIMESTAMP, TIMESTAMPTZ (UTC, the default session time zone) and TIME.
//!
//! Calendar arithmetic is the proleptic Gregorian calendar on days since
//! 1970-01-01 (H. Hinnant's `civil_from_days`), so every representable date
//! works without a table. Years before 1 AD follow PostgreSQL: there is no
//! year 0, `extract(year ...)` of 1 BC is -1.
//!
//! Result types follow Hyper: `extract` gives INTEGER, except `second` and
//! `milliseconds` (NUMERIC with the fraction) and `epoch` (NUMERIC(18,6));
//! `date_part` gives DOUBLE PRECISION; `date_trunc` keeps the timestamp type.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, Float64Array, Int32Array, TimestampMicrosecondArray,
};
use arrow::datatypes::{
    DataType, Date32Type, Time64MicrosecondType, TimeUnit, TimestampMicrosecondType,
};

use super::{ScalarFunction, bad_args, invalid};
use crate::error::{Error, Result};

const US_PER_DAY: i64 = 86_400_000_000;
const US_PER_SECOND: i64 = 1_000_000;

/// A date/time field, as named in `extract(field FROM x)`,
/// `date_part('field', x)` and `date_trunc('field', x)`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateField {
    /// Microseconds within the minute (`extract`), or truncation unit.
    Microsecond,
    /// Milliseconds within the minute, with fraction.
    Millisecond,
    /// Seconds within the minute, with fraction.
    Second,
    /// Minute of the hour.
    Minute,
    /// Hour of the day.
    Hour,
    /// Day of the month.
    Day,
    /// ISO 8601 week of the year (weeks start on Monday).
    Week,
    /// Month, 1-12.
    Month,
    /// Quarter, 1-4.
    Quarter,
    /// Year (no year 0).
    Year,
    /// Year divided by 10.
    Decade,
    /// Century (the 21st starts in 2001).
    Century,
    /// Millennium (the 3rd starts in 2001).
    Millennium,
    /// Day of the week, Sunday = 0.
    Dow,
    /// Day of the week, Monday = 1 .. Sunday = 7.
    IsoDow,
    /// Day of the year, 1-366.
    Doy,
    /// ISO 8601 week-numbering year.
    IsoYear,
    /// Seconds since 1970-01-01 00:00:00 UTC.
    Epoch,
}

impl DateField {
    /// The field a SQL name denotes (case-insensitive, plurals accepted).
    pub fn parse(name: &str) -> Option<DateField> {
        use DateField::*;
        Some(match name.to_ascii_lowercase().trim() {
            "microsecond" | "microseconds" | "us" => Microsecond,
            "millisecond" | "milliseconds" | "ms" => Millisecond,
            "second" | "seconds" | "sec" | "s" => Second,
            "minute" | "minutes" | "min" => Minute,
            "hour" | "hours" | "h" => Hour,
            "day" | "days" | "d" => Day,
            "week" | "weeks" | "w" => Week,
            "month" | "months" | "mon" => Month,
            "quarter" | "qtr" => Quarter,
            "year" | "years" | "y" => Year,
            "decade" | "decades" => Decade,
            "century" | "centuries" => Century,
            "millennium" | "millennia" | "millenium" => Millennium,
            "dow" => Dow,
            "isodow" => IsoDow,
            "doy" => Doy,
            "isoyear" => IsoYear,
            "epoch" => Epoch,
            _ => return None,
        })
    }

    /// Whether the field exists for a time of day (no date part).
    fn is_time_field(self) -> bool {
        use DateField::*;
        matches!(
            self,
            Microsecond | Millisecond | Second | Minute | Hour | Epoch
        )
    }

    /// The scale of the field's exact value (0 for whole numbers).
    fn scale(self) -> i8 {
        match self {
            DateField::Second | DateField::Epoch => 6,
            DateField::Millisecond => 3,
            _ => 0,
        }
    }
}

pub(super) fn return_type(func: ScalarFunction, args: &[DataType]) -> Result<DataType> {
    let (field, input) = match (func, args) {
        (
            ScalarFunction::Extract(f) | ScalarFunction::DatePart(f) | ScalarFunction::DateTrunc(f),
            [t],
        ) => (f, t),
        _ => return Err(bad_args(func, args)),
    };
    let time_only = match input {
        DataType::Date32 | DataType::Timestamp(TimeUnit::Microsecond, _) => false,
        DataType::Time64(TimeUnit::Microsecond) => true,
        _ => return Err(bad_args(func, args)),
    };
    if time_only && !field.is_time_field() {
        return Err(bad_args(func, args));
    }
    Ok(match func {
        ScalarFunction::DatePart(_) => DataType::Float64,
        ScalarFunction::DateTrunc(_) if matches!(input, DataType::Timestamp(..)) => input.clone(),
        ScalarFunction::DateTrunc(_) => return Err(bad_args(func, args)),
        _ => match field {
            DateField::Epoch => DataType::Decimal128(18, 6),
            DateField::Second => DataType::Decimal128(8, 6),
            DateField::Millisecond => DataType::Decimal128(8, 3),
            _ => DataType::Int32,
        },
    })
}

pub(super) fn evaluate(func: ScalarFunction, args: &[ArrayRef]) -> Result<ArrayRef> {
    let types: Vec<DataType> = args.iter().map(|a| a.data_type().clone()).collect();
    let out_type = return_type(func, &types)?;
    let parts = split(&args[0])?;
    match (func, out_type) {
        (ScalarFunction::DateTrunc(field), DataType::Timestamp(_, tz)) => {
            let values = parts
                .iter()
                .map(|p| p.map(|(days, tod)| truncate(field, days, tod)).transpose())
                .collect::<Result<Vec<_>>>()?;
            Ok(Arc::new(
                TimestampMicrosecondArray::from(values).with_timezone_opt(tz),
            ))
        }
        (ScalarFunction::DatePart(field), _) => {
            let scale = 10f64.powi(i32::from(field.scale()));
            let values: Vec<Option<f64>> = parts
                .iter()
                .map(|p| p.map(|(days, tod)| extract(field, days, tod) as f64 / scale))
                .collect();
            Ok(Arc::new(Float64Array::from(values)))
        }
        (ScalarFunction::Extract(field), DataType::Decimal128(p, s)) => {
            let values: Vec<Option<i128>> = parts
                .iter()
                .map(|p| p.map(|(days, tod)| extract(field, days, tod)))
                .collect();
            Ok(Arc::new(
                Decimal128Array::from(values).with_precision_and_scale(p, s)?,
            ))
        }
        (ScalarFunction::Extract(field), _) => {
            let values = parts
                .iter()
                .map(|p| {
                    p.map(|(days, tod)| {
                        i32::try_from(extract(field, days, tod)).map_err(|_| Error::Overflow {
                            what: format!("extract({field:?}) out of range for integer"),
                        })
                    })
                    .transpose()
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Arc::new(Int32Array::from(values)))
        }
        _ => Err(bad_args(func, &types)),
    }
}

/// Each row as (days since 1970-01-01 or `None` for TIME, microseconds of
/// the day); NULL rows are `None`.
type Parts = Vec<Option<(Option<i64>, i64)>>;

fn split(a: &ArrayRef) -> Result<Parts> {
    Ok(match a.data_type() {
        DataType::Date32 => a
            .as_primitive::<Date32Type>()
            .iter()
            .map(|v| v.map(|d| (Some(i64::from(d)), 0)))
            .collect(),
        DataType::Timestamp(TimeUnit::Microsecond, _) => a
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .map(|v| v.map(|us| (Some(us.div_euclid(US_PER_DAY)), us.rem_euclid(US_PER_DAY))))
            .collect(),
        DataType::Time64(TimeUnit::Microsecond) => a
            .as_primitive::<Time64MicrosecondType>()
            .iter()
            .map(|v| v.map(|us| (None, us)))
            .collect(),
        t => return Err(Error::internal(format!("date/time function on {t}"))),
    })
}

/// The exact value of `field` at the field's scale.
fn extract(field: DateField, days: Option<i64>, tod: i64) -> i128 {
    use DateField::*;
    let us_in_minute = i128::from(tod % (60 * US_PER_SECOND));
    match field {
        Microsecond | Millisecond | Second => return us_in_minute,
        Minute => return i128::from(tod / (60 * US_PER_SECOND) % 60),
        Hour => return i128::from(tod / (3600 * US_PER_SECOND)),
        Epoch => return i128::from(days.unwrap_or(0)) * i128::from(US_PER_DAY) + i128::from(tod),
        _ => {}
    }
    let days = days.unwrap_or(0);
    let (y, m, d) = civil_from_days(days);
    let year = if y <= 0 { y - 1 } else { y };
    let dow = (days + 4).rem_euclid(7);
    let value = match field {
        Day => i64::from(d),
        Month => i64::from(m),
        Quarter => i64::from((m - 1) / 3 + 1),
        Year => year,
        Decade => {
            if year >= 0 {
                year / 10
            } else {
                -((8 - (year - 1)) / 10)
            }
        }
        Century => {
            if year > 0 {
                (year + 99) / 100
            } else {
                -((99 - (year + 1)) / 100)
            }
        }
        Millennium => {
            if year > 0 {
                (year + 999) / 1000
            } else {
                -((999 - (year + 1)) / 1000)
            }
        }
        Dow => dow,
        IsoDow => {
            if dow == 0 {
                7
            } else {
                dow
            }
        }
        Doy => days - days_from_civil(y, 1, 1) + 1,
        Week | IsoYear => {
            let (iso_year, week) = iso_week(days);
            if field == Week { week } else { iso_year }
        }
        _ => 0,
    };
    i128::from(value)
}

/// (ISO week-numbering year, ISO week) of a day.
fn iso_week(days: i64) -> (i64, i64) {
    let dow = (days + 4).rem_euclid(7);
    let isodow = if dow == 0 { 7 } else { dow };
    let thursday = days - (isodow - 1) + 3;
    let (y, _, _) = civil_from_days(thursday);
    (y, (thursday - days_from_civil(y, 1, 1)) / 7 + 1)
}

/// `date_trunc(field, timestamp)` in microseconds.
fn truncate(field: DateField, days: Option<i64>, tod: i64) -> Result<i64> {
    use DateField::*;
    let days = days.unwrap_or(0);
    let unit = |us: i64| tod - tod.rem_euclid(us);
    let tod = match field {
        Microsecond => tod,
        Millisecond => unit(1000),
        Second => unit(US_PER_SECOND),
        Minute => unit(60 * US_PER_SECOND),
        Hour => unit(3600 * US_PER_SECOND),
        Dow | IsoDow | Doy | Epoch => {
            return Err(invalid(
                "date_trunc",
                format!("unit {field:?} not supported"),
            ));
        }
        _ => 0,
    };
    let (y, m, _) = civil_from_days(days);
    let day = match field {
        Week => days - ((days + 3).rem_euclid(7)),
        Month => days_from_civil(y, m, 1),
        Quarter => days_from_civil(y, (m - 1) / 3 * 3 + 1, 1),
        Year | IsoYear => days_from_civil(y, 1, 1),
        Decade => days_from_civil(y - y.rem_euclid(10), 1, 1),
        Century if y > 0 => days_from_civil((y + 99) / 100 * 100 - 99, 1, 1),
        Millennium if y > 0 => days_from_civil((y + 999) / 1000 * 1000 - 999, 1, 1),
        Century | Millennium => {
            return Err(invalid("date_trunc", "dates before 1 AD are not supported"));
        }
        _ => days,
    };
    day.checked_mul(US_PER_DAY)
        .and_then(|us| us.checked_add(tod))
        .ok_or_else(|| Error::Overflow {
            what: "date_trunc result out of range for timestamp".into(),
        })
}

/// (year, month, day) of a day number (days since 1970-01-01); year 0 is
/// 1 BC.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The day number of a (year, month, day); the inverse of
/// [`civil_from_days`].
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Date32Array;

    #[test]
    fn civil_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn fields_of_a_date() {
        let d = days_from_civil(2024, 12, 30); // a Monday, ISO week 1 of 2025
        let get = |f| extract(f, Some(d), 0);
        assert_eq!(get(DateField::Year), 2024);
        assert_eq!(get(DateField::Quarter), 4);
        assert_eq!(get(DateField::Week), 1);
        assert_eq!(get(DateField::IsoYear), 2025);
        assert_eq!(get(DateField::Dow), 1);
        assert_eq!(get(DateField::Doy), 365);
        assert_eq!(get(DateField::Century), 21);
        let bc = days_from_civil(0, 6, 1);
        assert_eq!(extract(DateField::Year, Some(bc), 0), -1);
    }

    #[test]
    fn extract_types() {
        let a: ArrayRef = Arc::new(Date32Array::from(vec![Some(19_782), None]));
        let out = evaluate(
            ScalarFunction::Extract(DateField::Month),
            std::slice::from_ref(&a),
        )
        .unwrap();
        let v: Vec<_> = out
            .as_primitive::<arrow::datatypes::Int32Type>()
            .iter()
            .collect();
        assert_eq!(v, vec![Some(2), None]);
        let out = evaluate(
            ScalarFunction::DatePart(DateField::Quarter),
            std::slice::from_ref(&a),
        )
        .unwrap();
        assert_eq!(out.data_type(), &DataType::Float64);
        assert!(matches!(
            evaluate(ScalarFunction::DateTrunc(DateField::Month), &[a]),
            Err(Error::Internal { .. })
        ));
    }

    #[test]
    fn trunc_week_is_monday() {
        let d = days_from_civil(2024, 3, 7); // Thursday
        let us = truncate(DateField::Week, Some(d), 5).unwrap();
        assert_eq!(us / US_PER_DAY, days_from_civil(2024, 3, 4));
        let us = truncate(DateField::Century, Some(d), 0).unwrap();
        assert_eq!(us / US_PER_DAY, days_from_civil(2001, 1, 1));
    }
}
