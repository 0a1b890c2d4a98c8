//! [`Value`]: one SQL value in Rust, for `execute_list_query`,
//! `execute_scalar_query` and the [`Inserter`](crate::Inserter), with the
//! conversions to and from Arrow arrays.
//!
//! Invariant: a column's Arrow array has the type `SqlType::to_arrow` gives;
//! anything else read here is an `Error::Internal`.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use hyperctl_exec::arrow::array::{
    Array, ArrayBuilder, ArrayRef, AsArray, BinaryBuilder, BooleanBuilder, Date32Builder,
    Decimal128Builder, Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder,
    IntervalMonthDayNanoBuilder, StringBuilder, Time64MicrosecondBuilder,
    TimestampMicrosecondBuilder, UInt32Builder,
};
use hyperctl_exec::arrow::datatypes::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    IntervalMonthDayNano, IntervalMonthDayNanoType, Time64MicrosecondType,
    TimestampMicrosecondType, UInt32Type,
};
use hyperctl_format::SqlType;

use crate::error::{Error, SqlError, state};

/// An exact decimal: `unscaled / 10^scale` (NUMERIC's value).
///
/// ```
/// use hyperctl_sql::Numeric;
///
/// let n: Numeric = "-12.50".parse()?;
/// assert_eq!((n.unscaled(), n.scale()), (-1250, 2));
/// assert_eq!(n.to_string(), "-12.50");
/// assert_eq!(Numeric::new(5, 3).to_string(), "0.005");
/// # Ok::<(), hyperctl_sql::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Numeric {
    unscaled: i128,
    scale: u8,
}

impl Numeric {
    /// The number `unscaled / 10^scale`.
    pub fn new(unscaled: i128, scale: u8) -> Self {
        Numeric { unscaled, scale }
    }

    /// The digits as an integer.
    pub fn unscaled(&self) -> i128 {
        self.unscaled
    }

    /// Digits after the decimal point.
    pub fn scale(&self) -> u8 {
        self.scale
    }

    /// The unscaled value at another scale, rounding half away from zero;
    /// `None` on overflow.
    pub(crate) fn rescale(&self, scale: u8) -> Option<i128> {
        if scale >= self.scale {
            let factor = 10i128.checked_pow(u32::from(scale - self.scale))?;
            self.unscaled.checked_mul(factor)
        } else {
            let factor = 10i128.checked_pow(u32::from(self.scale - scale))?;
            let q = self.unscaled / factor;
            let r = self.unscaled % factor;
            if r.unsigned_abs() * 2 >= factor.unsigned_abs() {
                q.checked_add(self.unscaled.signum())
            } else {
                Some(q)
            }
        }
    }
}

impl fmt::Display for Numeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.unscaled.unsigned_abs().to_string();
        let sign = if self.unscaled < 0 { "-" } else { "" };
        let scale = usize::from(self.scale);
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int}.{frac}")
    }
}

impl FromStr for Numeric {
    type Err = Error;

    /// Parses `[-+]digits[.digits]` (at most 38 digits).
    fn from_str(text: &str) -> Result<Self, Error> {
        let bad = || -> Error {
            SqlError::new(
                state::INVALID_TEXT,
                format!("invalid input syntax for type numeric: \"{text}\""),
            )
            .into()
        };
        let t = text.trim();
        let (negative, t) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !digits_ok(int) || !digits_ok(frac) {
            return Err(bad());
        }
        let scale = u8::try_from(frac.len()).map_err(|_| bad())?;
        let mut unscaled: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            unscaled = unscaled
                .checked_mul(10)
                .and_then(|v| v.checked_add(i128::from(b - b'0')))
                .ok_or_else(bad)?;
        }
        Ok(Numeric::new(
            if negative { -unscaled } else { unscaled },
            scale,
        ))
    }
}

/// An INTERVAL: months, days and microseconds, independent components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    /// Months.
    pub months: i32,
    /// Days.
    pub days: i32,
    /// Microseconds.
    pub microseconds: i64,
}

/// One SQL value.
///
/// | SQL type | variant |
/// |---|---|
/// | NULL of any type | `Null` |
/// | BOOLEAN | `Bool` |
/// | SMALLINT / INTEGER / BIGINT | `SmallInt` / `Int` / `BigInt` |
/// | NUMERIC(p,s) | `Numeric` |
/// | REAL / DOUBLE PRECISION | `Real` / `Double` |
/// | TEXT, VARCHAR(n), CHAR(n), JSON | `Text` |
/// | BYTES, TABLEAU.TABGEOGRAPHY | `Bytes` |
/// | DATE | `Date`: days since 1970-01-01 |
/// | TIME | `Time`: microseconds since midnight |
/// | TIMESTAMP / TIMESTAMPTZ | `Timestamp` / `TimestampTz`: microseconds since 1970-01-01 00:00 (UTC) |
/// | INTERVAL | `Interval` |
/// | OID | `Oid` |
///
/// The Inserter widens where no information is lost (an `Int` into a
/// BIGINT column, a `BigInt` that fits into an INTEGER column, integers into
/// NUMERIC and DOUBLE columns).
///
/// ```
/// use hyperctl_sql::Value;
///
/// assert_eq!(Value::from(42).as_i64(), Some(42));
/// assert_eq!(Value::from("x").as_str(), Some("x"));
/// assert!(Value::from(None::<i32>).is_null());
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// BOOLEAN.
    Bool(bool),
    /// SMALLINT.
    SmallInt(i16),
    /// INTEGER.
    Int(i32),
    /// BIGINT.
    BigInt(i64),
    /// NUMERIC(p,s).
    Numeric(Numeric),
    /// REAL.
    Real(f32),
    /// DOUBLE PRECISION.
    Double(f64),
    /// TEXT, VARCHAR, CHAR, JSON.
    Text(String),
    /// BYTES, TABLEAU.TABGEOGRAPHY.
    Bytes(Vec<u8>),
    /// DATE, days since 1970-01-01.
    Date(i32),
    /// TIME, microseconds since midnight.
    Time(i64),
    /// TIMESTAMP, microseconds since 1970-01-01 00:00.
    Timestamp(i64),
    /// TIMESTAMPTZ, microseconds since 1970-01-01 00:00 UTC.
    TimestampTz(i64),
    /// INTERVAL.
    Interval(Interval),
    /// OID.
    Oid(u32),
    /// An array (only in query results: Hyper does not persist arrays);
    /// NULL elements are [`Value::Null`].
    Array(Vec<Value>),
}

impl Value {
    /// Whether this is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A BOOLEAN's value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The value of any integer type (SMALLINT, INTEGER, BIGINT, OID).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::SmallInt(v) => Some(i64::from(v)),
            Value::Int(v) => Some(i64::from(v)),
            Value::BigInt(v) => Some(v),
            Value::Oid(v) => Some(i64::from(v)),
            _ => None,
        }
    }

    /// The value of a REAL or DOUBLE PRECISION.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Real(v) => Some(f64::from(v)),
            Value::Double(v) => Some(v),
            _ => None,
        }
    }

    /// The text of a TEXT, VARCHAR, CHAR or JSON value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes of a BYTES value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// A NUMERIC's value.
    pub fn as_numeric(&self) -> Option<Numeric> {
        match self {
            Value::Numeric(n) => Some(*n),
            _ => None,
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::$variant(v.into())
            }
        }
    )*};
}

value_from!(
    bool => Bool, i16 => SmallInt, i32 => Int, i64 => BigInt, u32 => Oid, f32 => Real,
    f64 => Double, String => Text, &str => Text, Vec<u8> => Bytes, &[u8] => Bytes,
    Numeric => Numeric, Interval => Interval,
);

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

fn internal(what: String) -> Error {
    Error::Internal { what }
}

/// Value `row` of `array`, a column of SQL type `ty`.
pub(crate) fn value_at(array: &dyn Array, ty: SqlType, row: usize) -> Result<Value, Error> {
    if array.is_null(row) {
        return Ok(Value::Null);
    }
    let mismatch = || internal(format!("a {ty} column came as Arrow {}", array.data_type()));
    Ok(match ty {
        SqlType::Bool => Value::Bool(array.as_boolean_opt().ok_or_else(mismatch)?.value(row)),
        SqlType::SmallInt => Value::SmallInt(
            array
                .as_primitive_opt::<Int16Type>()
                .ok_or_else(mismatch)?
                .value(row),
        ),
        SqlType::Int => Value::Int(
            array
                .as_primitive_opt::<Int32Type>()
                .ok_or_else(mismatch)?
                .value(row),
        ),
        SqlType::BigInt => Value::BigInt(
            array
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(mismatch)?
                .value(row),
        ),
        SqlType::Oid => Value::Oid(
            array
                .as_primitive_opt::<UInt32Type>()
                .ok_or_else(mismatch)?
                .value(row),
        ),
        SqlType::Numeric { scale, .. } => Value::Numeric(Numeric::new(
            array
                .as_primitive_opt::<Decimal128Type>()
                .ok_or_else(mismatch)?
                .value(row),
            scale,
        )),
        SqlType::Real => Value::Real(
            array
                .as_primitive_opt::<Float32Type>()
                .ok_or_else(mismatch)?
                .value(row),
        ),
        SqlType::Double => Value::Double(
            array
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(mismatch)?
                .value(row),
        ),
        SqlType::Text | SqlType::Varchar { .. } | SqlType::Char { .. } | SqlType::Json => {
            Value::Text(
                array
                    .as_string_opt::<i32>()
                    .ok_or_else(mismatch)?
                    .value(row)
                    .to_string(),
            )
        }
        SqlType::Bytes | SqlType::Geography => Value::Bytes(
            array
                .as_binary_opt::<i32>()
                .ok_or_else(mismatch)?
                .value(row)
                .to_vec(),
        ),
        SqlType::Date => Value::Date(
            array
                .as_primitive_opt::<Date32Type>()
                .ok_or_else(mismatch)?
                .value(row),
        ),
        SqlType::Time => Value::Time(
            array
                .as_primitive_opt::<Time64MicrosecondType>()
                .ok_or_else(mismatch)?
                .value(row),
        ),
        SqlType::Timestamp | SqlType::TimestampTz => {
            let v = array
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or_else(mismatch)?
                .value(row);
            if ty == SqlType::Timestamp {
                Value::Timestamp(v)
            } else {
                Value::TimestampTz(v)
            }
        }
        SqlType::Interval => {
            let v = array
                .as_primitive_opt::<IntervalMonthDayNanoType>()
                .ok_or_else(mismatch)?
                .value(row);
            Value::Interval(Interval {
                months: v.months,
                days: v.days,
                microseconds: v.nanoseconds / 1000,
            })
        }
        SqlType::Array(element) => {
            let items = array.as_list_opt::<i32>().ok_or_else(mismatch)?.value(row);
            Value::Array(
                (0..items.len())
                    .map(|i| value_at(items.as_ref(), *element, i))
                    .collect::<Result<_, _>>()?,
            )
        }
        other => {
            return Err(SqlError::new(
                state::FEATURE_NOT_SUPPORTED,
                format!("values of type {other} are not supported by the API yet"),
            )
            .into());
        }
    })
}

/// A column fed by the client: name, type and nullability.
#[derive(Debug, Clone)]
pub(crate) struct FedColumn {
    pub(crate) name: String,
    pub(crate) ty: SqlType,
    pub(crate) nullable: bool,
}

/// An Arrow builder for one column, with the Inserter's checks.
#[derive(Debug)]
pub(crate) enum ColumnBuilder {
    Bool(BooleanBuilder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    U32(UInt32Builder),
    Decimal(Decimal128Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    Interval(IntervalMonthDayNanoBuilder),
}

fn type_error(v: &Value, c: &FedColumn) -> Error {
    SqlError::new(
        state::DATATYPE_MISMATCH,
        format!(
            "Got an invalid value {v:?} for column \"{}\", it must be a {} value",
            c.name, c.ty
        ),
    )
    .into()
}

fn range_error(v: &Value, c: &FedColumn) -> Error {
    SqlError::new(
        "22003",
        format!(
            "value {v:?} is out of range for column \"{}\" of type {}",
            c.name, c.ty
        ),
    )
    .into()
}

impl ColumnBuilder {
    /// An empty builder for a column of type `ty`.
    pub(crate) fn new(ty: SqlType) -> Result<Self, Error> {
        Ok(match ty {
            SqlType::Bool => ColumnBuilder::Bool(BooleanBuilder::new()),
            SqlType::SmallInt => ColumnBuilder::I16(Int16Builder::new()),
            SqlType::Int => ColumnBuilder::I32(Int32Builder::new()),
            SqlType::BigInt => ColumnBuilder::I64(Int64Builder::new()),
            SqlType::Oid => ColumnBuilder::U32(UInt32Builder::new()),
            SqlType::Numeric { precision, scale } => ColumnBuilder::Decimal(
                Decimal128Builder::new()
                    .with_precision_and_scale(precision, scale as i8)
                    .map_err(|e| internal(format!("decimal builder for {ty}: {e}")))?,
            ),
            SqlType::Real => ColumnBuilder::F32(Float32Builder::new()),
            SqlType::Double => ColumnBuilder::F64(Float64Builder::new()),
            SqlType::Text | SqlType::Varchar { .. } | SqlType::Char { .. } | SqlType::Json => {
                ColumnBuilder::Utf8(StringBuilder::new())
            }
            SqlType::Bytes | SqlType::Geography => ColumnBuilder::Binary(BinaryBuilder::new()),
            SqlType::Date => ColumnBuilder::Date(Date32Builder::new()),
            SqlType::Time => ColumnBuilder::Time(Time64MicrosecondBuilder::new()),
            SqlType::Timestamp => ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::new()),
            SqlType::TimestampTz => {
                ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            }
            SqlType::Interval => ColumnBuilder::Interval(IntervalMonthDayNanoBuilder::new()),
            other => {
                return Err(SqlError::new(
                    state::FEATURE_NOT_SUPPORTED,
                    format!("the Inserter does not support columns of type {other} yet"),
                )
                .into());
            }
        })
    }

    /// Rows appended so far.
    pub(crate) fn len(&self) -> usize {
        match self {
            ColumnBuilder::Bool(b) => b.len(),
            ColumnBuilder::I16(b) => b.len(),
            ColumnBuilder::I32(b) => b.len(),
            ColumnBuilder::I64(b) => b.len(),
            ColumnBuilder::U32(b) => b.len(),
            ColumnBuilder::Decimal(b) => b.len(),
            ColumnBuilder::F32(b) => b.len(),
            ColumnBuilder::F64(b) => b.len(),
            ColumnBuilder::Utf8(b) => b.len(),
            ColumnBuilder::Binary(b) => b.len(),
            ColumnBuilder::Date(b) => b.len(),
            ColumnBuilder::Time(b) => b.len(),
            ColumnBuilder::Timestamp(b) => b.len(),
            ColumnBuilder::Interval(b) => b.len(),
        }
    }

    /// The array built so far; the builder starts over empty.
    pub(crate) fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
            ColumnBuilder::I16(b) => Arc::new(b.finish()),
            ColumnBuilder::I32(b) => Arc::new(b.finish()),
            ColumnBuilder::I64(b) => Arc::new(b.finish()),
            ColumnBuilder::U32(b) => Arc::new(b.finish()),
            ColumnBuilder::Decimal(b) => Arc::new(b.finish()),
            ColumnBuilder::F32(b) => Arc::new(b.finish()),
            ColumnBuilder::F64(b) => Arc::new(b.finish()),
            ColumnBuilder::Utf8(b) => Arc::new(b.finish()),
            ColumnBuilder::Binary(b) => Arc::new(b.finish()),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
            ColumnBuilder::Time(b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b) => Arc::new(b.finish()),
            ColumnBuilder::Interval(b) => Arc::new(b.finish()),
        }
    }

    /// Checks `v` against column `c` before anything is appended, so that a
    /// rejected row leaves every builder of the row untouched.
    pub(crate) fn check(&self, v: &Value, c: &FedColumn) -> Result<(), Error> {
        if v.is_null() {
            if !c.nullable {
                return Err(SqlError::new(
                    "23502",
                    format!("Got NULL for a non-nullable column \"{}\"", c.name),
                )
                .into());
            }
            return Ok(());
        }
        let fits = |min: i64, max: i64| match v.as_i64() {
            Some(n) if (min..=max).contains(&n) => Ok(()),
            Some(_) => Err(range_error(v, c)),
            None => Err(type_error(v, c)),
        };
        match (c.ty, v) {
            (SqlType::SmallInt, _) => fits(i16::MIN.into(), i16::MAX.into()),
            (SqlType::Int, _) => fits(i32::MIN.into(), i32::MAX.into()),
            (SqlType::BigInt, _) => fits(i64::MIN, i64::MAX),
            (SqlType::Oid, _) => fits(0, u32::MAX.into()),
            (SqlType::Numeric { precision, scale }, _) => {
                numeric_of(v, c, precision, scale).map(drop)
            }
            (SqlType::Bool, Value::Bool(_))
            | (SqlType::Real, Value::Real(_) | Value::Double(_))
            | (SqlType::Double, Value::Real(_) | Value::Double(_))
            | (SqlType::Text | SqlType::Json, Value::Text(_))
            | (SqlType::Bytes | SqlType::Geography, Value::Bytes(_))
            | (SqlType::Date, Value::Date(_))
            | (SqlType::Time, Value::Time(_))
            | (SqlType::Timestamp, Value::Timestamp(_))
            | (SqlType::TimestampTz, Value::TimestampTz(_))
            | (SqlType::Interval, Value::Interval(_)) => Ok(()),
            (SqlType::Double, _) if v.as_i64().is_some() => Ok(()),
            (SqlType::Varchar { max_length: n } | SqlType::Char { length: n }, Value::Text(s)) => {
                if s.chars().count() > n as usize {
                    Err(string_too_large(&c.name, c.ty))
                } else {
                    Ok(())
                }
            }
            _ => Err(type_error(v, c)),
        }
    }

    /// Appends `v`, which [`ColumnBuilder::check`] accepted for `c`.
    pub(crate) fn append(&mut self, v: &Value, c: &FedColumn) -> Result<(), Error> {
        let wrong = || internal(format!("unchecked value {v:?} for column \"{}\"", c.name));
        let int = || v.as_i64().ok_or_else(wrong);
        if v.is_null() {
            self.append_null();
            return Ok(());
        }
        match self {
            ColumnBuilder::Bool(b) => b.append_value(v.as_bool().ok_or_else(wrong)?),
            ColumnBuilder::I16(b) => b.append_value(int()? as i16),
            ColumnBuilder::I32(b) => b.append_value(int()? as i32),
            ColumnBuilder::I64(b) => b.append_value(int()?),
            ColumnBuilder::U32(b) => b.append_value(int()? as u32),
            ColumnBuilder::Decimal(b) => match c.ty {
                SqlType::Numeric { precision, scale } => {
                    b.append_value(numeric_of(v, c, precision, scale)?);
                }
                _ => return Err(wrong()),
            },
            ColumnBuilder::F32(b) => b.append_value(v.as_f64().ok_or_else(wrong)? as f32),
            ColumnBuilder::F64(b) => match v.as_f64() {
                Some(f) => b.append_value(f),
                None => b.append_value(int()? as f64),
            },
            ColumnBuilder::Utf8(b) => b.append_value(v.as_str().ok_or_else(wrong)?),
            ColumnBuilder::Binary(b) => b.append_value(v.as_bytes().ok_or_else(wrong)?),
            ColumnBuilder::Date(b) => match v {
                Value::Date(d) => b.append_value(*d),
                _ => return Err(wrong()),
            },
            ColumnBuilder::Time(b) => match v {
                Value::Time(t) => b.append_value(*t),
                _ => return Err(wrong()),
            },
            ColumnBuilder::Timestamp(b) => match v {
                Value::Timestamp(t) | Value::TimestampTz(t) => b.append_value(*t),
                _ => return Err(wrong()),
            },
            ColumnBuilder::Interval(b) => match v {
                Value::Interval(i) => b.append_value(IntervalMonthDayNano::new(
                    i.months,
                    i.days,
                    i.microseconds
                        .checked_mul(1000)
                        .ok_or_else(|| range_error(v, c))?,
                )),
                _ => return Err(wrong()),
            },
        }
        Ok(())
    }

    fn append_null(&mut self) {
        match self {
            ColumnBuilder::Bool(b) => b.append_null(),
            ColumnBuilder::I16(b) => b.append_null(),
            ColumnBuilder::I32(b) => b.append_null(),
            ColumnBuilder::I64(b) => b.append_null(),
            ColumnBuilder::U32(b) => b.append_null(),
            ColumnBuilder::Decimal(b) => b.append_null(),
            ColumnBuilder::F32(b) => b.append_null(),
            ColumnBuilder::F64(b) => b.append_null(),
            ColumnBuilder::Utf8(b) => b.append_null(),
            ColumnBuilder::Binary(b) => b.append_null(),
            ColumnBuilder::Date(b) => b.append_null(),
            ColumnBuilder::Time(b) => b.append_null(),
            ColumnBuilder::Timestamp(b) => b.append_null(),
            ColumnBuilder::Interval(b) => b.append_null(),
        }
    }
}

/// The Inserter's error for a string longer than VARCHAR(n) / CHAR(n) allow.
pub(crate) fn string_too_large(column: &str, ty: SqlType) -> Error {
    SqlError::new("22001", "string too large for target string type")
        .hint(format!("column \"{column}\" is {ty}"))
        .into()
}

/// The unscaled NUMERIC(precision, scale) value of `v` (an integer or a
/// numeric), rounded to the scale.
fn numeric_of(v: &Value, c: &FedColumn, precision: u8, scale: u8) -> Result<i128, Error> {
    let n = match v {
        Value::Numeric(n) => *n,
        other => match other.as_i64() {
            Some(i) => Numeric::new(i128::from(i), 0),
            None => return Err(type_error(v, c)),
        },
    };
    let limit = 10u128.pow(u32::from(precision));
    match n.rescale(scale) {
        Some(u) if u.unsigned_abs() < limit => Ok(u),
        _ => Err(SqlError::new("22003", "numeric overflow")
            .hint(format!("column \"{}\" is {}", c.name, c.ty))
            .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_text() {
        for (text, shown) in [
            ("1", "1"),
            ("-0.05", "-0.05"),
            ("+3.10", "3.10"),
            (".5", "0.5"),
        ] {
            assert_eq!(text.parse::<Numeric>().unwrap().to_string(), shown);
        }
        for bad in [
            "",
            "-",
            "1.2.3",
            "a",
            "1e3",
            "1234567890123456789012345678901234567890",
        ] {
            assert!(bad.parse::<Numeric>().is_err(), "{bad}");
        }
        assert_eq!(Numeric::new(-15, 1).rescale(0), Some(-2));
        assert_eq!(Numeric::new(14, 1).rescale(0), Some(1));
        assert_eq!(Numeric::new(14, 1).rescale(3), Some(1400));
    }

    #[test]
    fn checks() {
        let c = FedColumn {
            name: "id".into(),
            ty: SqlType::SmallInt,
            nullable: false,
        };
        let b = ColumnBuilder::new(c.ty).unwrap();
        assert!(b.check(&Value::Int(7), &c).is_ok());
        let e = b.check(&Value::Null, &c).unwrap_err();
        assert_eq!(e.to_string(), "Got NULL for a non-nullable column \"id\"");
        assert_eq!(
            b.check(&Value::Int(70_000), &c)
                .unwrap_err()
                .as_sql()
                .unwrap()
                .sqlstate,
            "22003"
        );
        assert_eq!(
            b.check(&Value::from("x"), &c)
                .unwrap_err()
                .as_sql()
                .unwrap()
                .sqlstate,
            "42804"
        );
    }
}
