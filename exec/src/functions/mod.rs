//! Scalar functions: string, math and date/time functions over Arrow arrays.
//!
//! The SQL layer resolves a function name and its argument types to a
//! [`ScalarFunction`] and casts the arguments to the types the function
//! takes; exec computes the result type and the values.
//!
//! Argument types exec expects (anything else is [`Error::Internal`]):
//! - text arguments are `Utf8`, integer parameters (lengths, counts,
//!   positions, digits) are `Int64`;
//! - math functions take `Int16`/`Int32`/`Int64`, `Float64` or
//!   `Decimal128`; the transcendental ones (`power`, `sqrt`, `exp`, `ln`,
//!   `log`) take `Float64`;
//! - date/time functions take `Date32`, `Timestamp(Microsecond, _)` or
//!   `Time64(Microsecond)`.
//!
//! Invariant: [`ScalarFunction::return_type`] is exactly the type of the
//! array that evaluation produces for arguments of those types.
//!
//! NULLs: every function returns NULL when an argument is NULL, except
//! `concat` (skips NULLs) and `greatest`/`least` (ignore NULLs, as Hyper).

mod array;
mod calendar;
mod datetime;
mod format;
mod interval;
mod math;
mod regex;
mod string;

pub(crate) use datetime::days_from_civil;

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;

pub use array::{arrays_as_text, interval_text, ordinality, trim_fraction_zeros, unnest};
pub(crate) use array::{cast_array_elements, cast_text_to_array, list_of};
pub use datetime::DateField;
pub use interval::{IntervalOp, parse_interval};

use crate::error::{Error, Result};
use crate::expr::Value;

/// Which end(s) `trim` works on.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrimSide {
    /// `btrim`, `trim(BOTH ...)`.
    Both,
    /// `ltrim`, `trim(LEADING ...)`.
    Leading,
    /// `rtrim`, `trim(TRAILING ...)`.
    Trailing,
}

/// An integer bit operation of [`ScalarFunction::Bitwise`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BitOp {
    /// `a & b`.
    And,
    /// `a | b`.
    Or,
    /// `a # b`.
    Xor,
    /// `a << b` (the shift wraps at the type's width, as PostgreSQL).
    ShiftLeft,
    /// `a >> b`, arithmetic.
    ShiftRight,
}

/// A scalar function (see the module docs for the argument types).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarFunction {
    /// `length(text)`, `char_length`: characters, INTEGER.
    CharLength,
    /// `octet_length(text)`: bytes, INTEGER.
    OctetLength,
    /// `lower(text)` (Unicode).
    Lower,
    /// `upper(text)` (Unicode: `upper('straße')` is `STRASSE`).
    Upper,
    /// `substring(text, start [, count])`, 1-based, in characters.
    Substring,
    /// `left(text, n)`; a negative `n` drops `|n|` characters at the end.
    Left,
    /// `right(text, n)`; a negative `n` drops `|n|` characters at the start.
    Right,
    /// `strpos(text, needle)`: 1-based character position, 0 when absent.
    StrPos,
    /// `trim(text [, characters])` on one or both ends.
    Trim(TrimSide),
    /// `lpad(text, length [, fill])`.
    Lpad,
    /// `rpad(text, length [, fill])`.
    Rpad,
    /// `repeat(text, n)`.
    Repeat,
    /// `reverse(text)`.
    Reverse,
    /// `replace(text, from, to)`.
    Replace,
    /// `split_part(text, delimiter, n)`; a negative `n` counts from the end.
    SplitPart,
    /// `concat(text, ...)`: NULL arguments are skipped.
    Concat,
    /// `text || text`: NULL if either side is NULL.
    StringConcat,
    /// `starts_with(text, prefix)`.
    StartsWith,
    /// `ends_with(text, suffix)`.
    EndsWith,
    /// `bit_length(text)`: bits, INTEGER.
    BitLength,
    /// `ascii(text)`: the code point of the first character (0 for '').
    Ascii,
    /// `chr(int)`: the character of a code point (0 is an error).
    Chr,
    /// `initcap(text)`: each word's first letter upper case, the rest lower.
    Initcap,
    /// `to_hex(int)`, `to_hex(bigint)`: two's complement hexadecimal digits
    /// of the argument's width.
    ToHex,
    /// `quote_ident(text)`: double-quoted when it is not a plain lower-case
    /// identifier.
    QuoteIdent,
    /// `quote_literal(text)`: a single-quoted literal (E'' with backslashes).
    QuoteLiteral,
    /// `md5(text)`: the MD5 digest of the UTF-8 bytes, 32 lower-case hex digits.
    Md5,
    /// `regexp_like(text, pattern [, flags])`, the `~` operators.
    RegexpLike,
    /// `regexp_replace(text, pattern, replacement [, flags])`; `g` replaces
    /// every match, `\1` names a group.
    RegexpReplace,
    /// `regexp_substr(text, pattern)`: the first match, or NULL.
    RegexpSubstr,
    /// `regexp_count(text, pattern)`: matches, INTEGER.
    RegexpCount,
    /// `regexp_instr(text, pattern)`: 1-based character position of the
    /// first match, 0 when none.
    RegexpInstr,
    /// `abs(x)`, checked for integers.
    Abs,
    /// `sign(x)`: -1, 0 or 1 in the type of `x` (NUMERIC: scale 0).
    Sign,
    /// `ceil(x)`; NUMERIC keeps its scale.
    Ceil,
    /// `floor(x)`; NUMERIC keeps its scale.
    Floor,
    /// `round(x)` (NUMERIC: half away from zero, scale kept; floats: half to
    /// even) and `round(x, digits)` (scale kept).
    Round,
    /// `trunc(x [, digits])`: toward zero, scale kept.
    Trunc,
    /// `power(x, y)`.
    Power,
    /// `sqrt(x)`.
    Sqrt,
    /// `exp(x)`.
    Exp,
    /// `ln(x)`.
    Ln,
    /// `log(x)` (base 10) and `log(base, x)`.
    Log,
    /// `cbrt(x)`.
    Cbrt,
    /// `degrees(x)`: radians to degrees.
    Degrees,
    /// `radians(x)`: degrees to radians.
    Radians,
    /// `sin(x)`, and the other trigonometric functions below (radians).
    Sin,
    /// `cos(x)`.
    Cos,
    /// `tan(x)`.
    Tan,
    /// `cot(x)`.
    Cot,
    /// `asin(x)`, an error outside [-1, 1].
    Asin,
    /// `acos(x)`, an error outside [-1, 1].
    Acos,
    /// `atan(x)`.
    Atan,
    /// `atan2(y, x)`.
    Atan2,
    /// `pi()`.
    Pi,
    /// `width_bucket(x, low, high, count)`: the bucket of `x` among `count`
    /// equal buckets from `low` to `high`; 0 below, `count + 1` above.
    WidthBucket,
    /// `&`, `|`, `#`, `<<`, `>>` on integers of one type; `~x` is `x # -1`.
    Bitwise(BitOp),
    /// `factorial(bigint)`: BIGINT; negative arguments and results past
    /// BIGINT are errors.
    Factorial,
    /// `greatest(x, ...)`, ignoring NULLs.
    Greatest,
    /// `least(x, ...)`, ignoring NULLs.
    Least,
    /// `extract(field FROM x)`: INTEGER, or NUMERIC for seconds and epoch.
    Extract(DateField),
    /// `date_part('field', x)`: DOUBLE PRECISION.
    DatePart(DateField),
    /// `date_trunc('field', x)`: the type of `x` (a timestamp).
    DateTrunc(DateField),
    /// `make_date(year, month, day)`.
    MakeDate,
    /// `make_time(hour, minute, seconds)`.
    MakeTime,
    /// `make_timestamp(year, month, day, hour, minute, seconds)`.
    MakeTimestamp,
    /// `datediff('unit', a, b)`: unit boundaries from `a` to `b`, BIGINT.
    DateDiff(DateField),
    /// Arithmetic of intervals, dates, times and timestamps.
    Interval(IntervalOp),
    /// `to_char(datetime, format)`.
    ToChar,
    /// `to_date(text, format)`.
    ToDate,
    /// `to_timestamp(text, format)`, `to_timestamp(seconds)`: TIMESTAMPTZ.
    ToTimestamp,
    /// The check of a decorrelated scalar subquery: over the number of rows
    /// (BIGINT) its correlation key matched, FALSE, or the error
    /// [`Error::MoreThanOneRow`] (tagged `origin`) where it is above one.
    SubqueryRowCheck {
        /// The caller's tag of the subquery (as `SingleRow`'s).
        origin: u64,
    },
    /// `ARRAY[x, ...]`: arguments of one (non-array) type; NULLs kept.
    MakeArray,
    /// `a[i]`: 1-based (BIGINT), NULL outside the array.
    ArrayElement,
    /// `a[lo:hi]`: 1-based, inclusive, clamped.
    ArraySlice,
    /// `array_length(a)`: INTEGER.
    ArrayLength,
    /// `array_to_string(a, sep [, null_text])`.
    ArrayToString,
    /// `a || b` of two arrays (a NULL array counts as empty).
    ArrayConcat,
    /// `a || x`: `x` appended.
    ArrayAppend,
    /// `x || a`: `x` prepended.
    ArrayPrepend,
    /// `a = b` (`negated`: `a <> b`) of two arrays of one type.
    ArrayEquals {
        /// `<>` instead of `=`.
        negated: bool,
    },
}

impl ScalarFunction {
    /// The type of the result for arguments of types `args`.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] when the arguments are not what the function
    /// takes (the SQL layer should have cast them).
    pub fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        use ScalarFunction::*;
        match self {
            CharLength | OctetLength | Lower | Upper | Substring | Left | Right | StrPos
            | Trim(_) | Lpad | Rpad | Repeat | Reverse | Replace | SplitPart | Concat
            | StringConcat | StartsWith | EndsWith | BitLength | Ascii | Chr | Initcap | ToHex
            | QuoteIdent | QuoteLiteral | Md5 => string::return_type(*self, args),
            RegexpLike | RegexpReplace | RegexpSubstr | RegexpCount | RegexpInstr => {
                regex::return_type(*self, args)
            }
            Abs | Sign | Ceil | Floor | Round | Trunc | Power | Sqrt | Exp | Ln | Log
            | Greatest | Least | Cbrt | Degrees | Radians | Sin | Cos | Tan | Cot | Asin | Acos
            | Atan | Atan2 | Pi | WidthBucket | Factorial | Bitwise(_) => {
                math::return_type(*self, args)
            }
            Extract(_) | DatePart(_) | DateTrunc(_) => datetime::return_type(*self, args),
            MakeDate | MakeTime | MakeTimestamp | DateDiff(_) => calendar::return_type(*self, args),
            Interval(op) => interval::return_type(*op, args),
            ToChar | ToDate | ToTimestamp => format::return_type(*self, args),
            MakeArray
            | ArrayElement
            | ArraySlice
            | ArrayLength
            | ArrayToString
            | ArrayConcat
            | ArrayAppend
            | ArrayPrepend
            | ArrayEquals { .. } => array::return_type(*self, args),
            SubqueryRowCheck { .. } => match args {
                [DataType::Int64] => Ok(DataType::Boolean),
                _ => Err(bad_args(*self, args)),
            },
        }
    }

    /// Whether the function can return NULL for non-NULL arguments, or
    /// return non-NULL for NULL arguments (so a NOT NULL column in does not
    /// mean a NOT NULL value out).
    pub fn nullable(&self, args_nullable: bool) -> bool {
        match self {
            ScalarFunction::Concat => false,
            ScalarFunction::RegexpSubstr
            | ScalarFunction::ArrayElement
            | ScalarFunction::ArrayEquals { .. } => true,
            ScalarFunction::MakeArray => false,
            _ => args_nullable,
        }
    }

    /// Computes the function over argument arrays of one length.
    fn evaluate_arrays(&self, args: &[ArrayRef]) -> Result<ArrayRef> {
        use ScalarFunction::*;
        let types: Vec<DataType> = args.iter().map(|a| a.data_type().clone()).collect();
        let want = self.return_type(&types)?;
        let out = match self {
            CharLength | OctetLength | Lower | Upper | Substring | Left | Right | StrPos
            | Trim(_) | Lpad | Rpad | Repeat | Reverse | Replace | SplitPart | Concat
            | StringConcat | StartsWith | EndsWith | BitLength | Ascii | Chr | Initcap | ToHex
            | QuoteIdent | QuoteLiteral | Md5 => string::evaluate(*self, args)?,
            RegexpLike | RegexpReplace | RegexpSubstr | RegexpCount | RegexpInstr => {
                regex::evaluate(*self, args)?
            }
            Abs | Sign | Ceil | Floor | Round | Trunc | Power | Sqrt | Exp | Ln | Log
            | Greatest | Least | Cbrt | Degrees | Radians | Sin | Cos | Tan | Cot | Asin | Acos
            | Atan | Atan2 | Pi | WidthBucket | Factorial | Bitwise(_) => {
                math::evaluate(*self, args)?
            }
            Extract(_) | DatePart(_) | DateTrunc(_) => datetime::evaluate(*self, args)?,
            MakeDate | MakeTime | MakeTimestamp | DateDiff(_) => calendar::evaluate(*self, args)?,
            Interval(op) => interval::evaluate(*op, args)?,
            ToChar | ToDate | ToTimestamp => format::evaluate(*self, args)?,
            MakeArray
            | ArrayElement
            | ArraySlice
            | ArrayLength
            | ArrayToString
            | ArrayConcat
            | ArrayAppend
            | ArrayPrepend
            | ArrayEquals { .. } => array::evaluate(*self, args)?,
            SubqueryRowCheck { origin } => row_check(&args[0], *origin)?,
        };
        if out.data_type() != &want {
            return Err(Error::internal(format!(
                "{self:?} produced {} instead of {want}",
                out.data_type()
            )));
        }
        Ok(out)
    }

    /// Evaluates over `rows` rows: on one row when every argument is a
    /// constant, else over full columns.
    pub(crate) fn evaluate(&self, args: Vec<Value>, rows: usize) -> Result<Value> {
        if args.iter().all(Value::is_scalar) {
            let arrays: Vec<ArrayRef> = args.iter().map(|a| a.array().clone()).collect();
            return Ok(Value::Scalar(self.evaluate_arrays(&arrays)?));
        }
        let arrays = args
            .into_iter()
            .map(|a| a.into_array(rows))
            .collect::<Result<Vec<_>>>()?;
        Ok(Value::Array(self.evaluate_arrays(&arrays)?))
    }
}

/// [`ScalarFunction::SubqueryRowCheck`]: FALSE per row, or an error.
fn row_check(counts: &ArrayRef, origin: u64) -> Result<ArrayRef> {
    use arrow::array::{AsArray, BooleanArray};
    use arrow::datatypes::Int64Type;
    let counts = counts.as_primitive::<Int64Type>();
    if counts.iter().any(|c| c.is_some_and(|c| c > 1)) {
        return Err(Error::MoreThanOneRow { origin });
    }
    Ok(std::sync::Arc::new(BooleanArray::from(vec![
        false;
        counts.len()
    ])))
}

/// An error for a function given argument types it does not take.
pub(crate) fn bad_args(func: ScalarFunction, args: &[DataType]) -> Error {
    let types: Vec<String> = args.iter().map(ToString::to_string).collect();
    Error::internal(format!("{func:?} does not take ({})", types.join(", ")))
}

/// An error for a bad argument value (`sqrt(-1)`, `repeat` too long, ...).
pub(crate) fn invalid(function: &str, reason: impl Into<String>) -> Error {
    Error::InvalidArgument {
        function: function.to_string(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, AsArray, Int64Array};

    use super::{ScalarFunction, row_check};
    use crate::error::Error;

    #[test]
    fn subquery_row_check_fails_only_above_one_row() {
        let ok: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(0)]));
        let out = row_check(&ok, 7).unwrap();
        assert_eq!(out.as_boolean().true_count(), 0);
        assert_eq!(out.len(), 3);
        let many: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), Some(2)]));
        assert!(matches!(
            row_check(&many, 7),
            Err(Error::MoreThanOneRow { origin: 7 })
        ));
        let f = ScalarFunction::SubqueryRowCheck { origin: 7 };
        assert!(f.return_type(&[arrow::datatypes::DataType::Utf8]).is_err());
    }
}
