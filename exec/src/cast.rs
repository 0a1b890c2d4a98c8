//! SQL casts on Arrow arrays: an error on a bad value, never a silent NULL.
//!
//! We use Arrow's cast kernel with `safe = false`. Arrow truncates toward zero
//! when casting float or decimal to an integer; Hyper rounds (floats half to
//! even, `2.5::float8::int` = 2, `3.5::float8::int` = 4; decimals half away
//! from zero, `2.5::int` = 3, `-2.5::int` = -3), so we round first.
//! - an out-of-range numeric value is an error, reported as
//!   [`Error::Overflow`]; any other bad value is [`Error::InvalidCast`].

use arrow::array::{Array, ArrayRef};
use arrow::compute::{CastOptions, can_cast_types, cast_with_options};
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::error::{Error, Result};

/// Checks that `from` can be cast to `to` at all.
pub(crate) fn check_cast(from: &DataType, to: &DataType) -> Result<()> {
    if can_cast_types(from, to) {
        Ok(())
    } else {
        Err(Error::internal(format!("cannot cast {from} to {to}")))
    }
}

/// Casts `array` to `to`, failing on the first value that does not convert.
pub fn cast(array: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    if array.data_type() == to {
        return Ok(array.clone());
    }
    if let Some(arrays) = cast_arrays(array, to)? {
        return Ok(arrays);
    }
    check_cast(array.data_type(), to)?;
    if matches!(to, DataType::Utf8)
        && let Some(text) = float_to_text(array)
    {
        return Ok(text);
    }
    let rounded = to.is_integer().then(|| round_to_integral(array)).flatten();
    let source = rounded.as_ref().unwrap_or(array);
    let options = CastOptions {
        safe: false,
        format_options: FormatOptions::default(),
    };
    let arrow_cast = |source: &ArrayRef| {
        cast_with_options(source, to, &options).map_err(|e| cast_error(array, to, e))
    };
    if matches!(array.data_type(), DataType::Utf8) && crate::text_temporal::handles(to) {
        return crate::text_temporal::cast_text(array, to, arrow_cast);
    }
    arrow_cast(source)
}

/// Casts from or to arrays (their text form, or element by element);
/// `None` when neither side is an array.
fn cast_arrays(array: &ArrayRef, to: &DataType) -> Result<Option<ArrayRef>> {
    use arrow::array::AsArray;
    match (array.data_type(), to) {
        (DataType::List(_), DataType::Utf8) => crate::functions::arrays_as_text(array),
        (DataType::Utf8, DataType::List(_)) => Ok(Some(crate::functions::cast_text_to_array(
            array.as_string::<i32>(),
            to,
        )?)),
        (DataType::Null, DataType::List(_)) => {
            Ok(Some(arrow::array::new_null_array(to, array.len())))
        }
        (DataType::List(_), DataType::List(_)) => Ok(Some(crate::functions::cast_array_elements(
            array.as_list::<i32>(),
            to,
        )?)),
        (DataType::List(_), _) | (_, DataType::List(_)) => Err(Error::InvalidCast {
            value: String::new(),
            to: to.to_string(),
            reason: "invalid cast".into(),
        }),
        _ => Ok(None),
    }
}

/// Floats as text the way Hyper prints them by default: the shortest digits
/// that read back to the same value, in exponent form below 1e-4 or from
/// 1e15 (1e6 for REAL) on (`0.1 + 0.2` is `0.30000000000000004`, `1e20` is
/// `1e+20`), and `Infinity`, `NaN`; `None` for other types.
fn float_to_text(array: &ArrayRef) -> Option<ArrayRef> {
    use arrow::array::AsArray;
    use arrow::datatypes::{Float32Type, Float64Type};
    use std::sync::Arc;
    let text = match array.data_type() {
        DataType::Float64 => float_texts(array.as_primitive::<Float64Type>().iter(), 15),
        DataType::Float32 => float_texts(array.as_primitive::<Float32Type>().iter(), 6),
        _ => return None,
    };
    Some(Arc::new(text))
}

/// PostgreSQL's float output from Rust's shortest renderings (`{:e}` and
/// `{}`): exponent form when the exponent is below -4 or at least `digits`.
fn float_texts<T>(values: impl Iterator<Item = Option<T>>, digits: i32) -> arrow::array::StringArray
where
    T: Copy + Into<f64> + std::fmt::Display + std::fmt::LowerExp,
{
    let text = |v: T| -> String {
        let f: f64 = v.into();
        if f.is_nan() {
            return "NaN".into();
        }
        if f.is_infinite() {
            return if f < 0.0 { "-Infinity" } else { "Infinity" }.into();
        }
        let sci = format!("{v:e}");
        let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        if exp < -4 || exp >= digits {
            let sign = if exp < 0 { '-' } else { '+' };
            format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
        } else {
            v.to_string()
        }
    };
    values.map(|v| v.map(text)).collect()
}

/// `array` rounded to integral values as Hyper does before an integer cast
/// (floats half to even, decimals half away from zero to scale 0); `None`
/// for other types.
fn round_to_integral(array: &ArrayRef) -> Option<ArrayRef> {
    use arrow::array::AsArray;
    use arrow::datatypes::{Decimal128Type, Float32Type, Float64Type};
    use std::sync::Arc;
    match array.data_type() {
        DataType::Float64 => Some(Arc::new(
            array
                .as_primitive::<Float64Type>()
                .unary::<_, Float64Type>(f64::round_ties_even),
        )),
        DataType::Float32 => Some(Arc::new(
            array
                .as_primitive::<Float32Type>()
                .unary::<_, Float32Type>(f32::round_ties_even),
        )),
        DataType::Decimal128(_, scale) if *scale > 0 => {
            let unit = 10i128.pow(u32::from(scale.unsigned_abs()));
            let rounded = array
                .as_primitive::<Decimal128Type>()
                .unary::<_, Decimal128Type>(|v| {
                    let (q, r) = (v / unit, v % unit);
                    if r.abs() * 2 >= unit {
                        q + v.signum()
                    } else {
                        q
                    }
                })
                .with_precision_and_scale(38, 0)
                .ok()?;
            Some(Arc::new(rounded))
        }
        _ => None,
    }
}

/// Turns a failed cast into an error that names the first bad value.
fn cast_error(array: &ArrayRef, to: &DataType, e: arrow::error::ArrowError) -> Error {
    use arrow::error::ArrowError;
    let reason = match e {
        ArrowError::CastError(r) | ArrowError::ParseError(r) | ArrowError::ComputeError(r) => r,
        ArrowError::InvalidArgumentError(r) => r,
        e => return Error::from(e),
    };
    let value = first_bad_value(array, to).unwrap_or_default();
    let from = array.data_type();
    if from.is_numeric() && to.is_numeric() {
        Error::Overflow {
            what: format!("value {value} out of range for {to}"),
        }
    } else {
        Error::InvalidCast {
            value,
            to: to.to_string(),
            reason,
        }
    }
}

/// The first non-null value of `array` that a lenient cast turns into NULL.
fn first_bad_value(array: &ArrayRef, to: &DataType) -> Option<String> {
    let lenient = arrow::compute::cast(array, to).ok()?;
    let index = (0..array.len()).find(|&i| array.is_valid(i) && lenient.is_null(i))?;
    let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default()).ok()?;
    Some(formatter.value(index).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, Decimal128Array, Float64Array, Int32Array, StringArray};
    use arrow::datatypes::{Decimal128Type, Int32Type};
    use std::sync::Arc;

    #[test]
    fn bad_string_is_invalid_cast_with_value() {
        let a: ArrayRef = Arc::new(StringArray::from(vec![Some("1"), None, Some("abc")]));
        let e = cast(&a, &DataType::Int32).unwrap_err();
        match e {
            Error::InvalidCast { value, to, .. } => {
                assert_eq!(value, "abc");
                assert_eq!(to, "Int32");
            }
            e => panic!("unexpected {e:?}"),
        }
    }

    #[test]
    fn good_strings_cast() {
        let a: ArrayRef = Arc::new(StringArray::from(vec![Some(" 12"), None, Some("-3")]));
        // Arrow 60 trims surrounding whitespace, as Hyper does.
        let out = cast(&a, &DataType::Int32).unwrap();
        let out = out.as_primitive::<Int32Type>();
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            vec![Some(12), None, Some(-3)]
        );
    }

    #[test]
    fn out_of_range_is_overflow() {
        let a: ArrayRef = Arc::new(Int32Array::from(vec![1, 300]));
        let e = cast(&a, &DataType::Int8).unwrap_err();
        assert!(
            matches!(&e, Error::Overflow { what } if what.contains("300")),
            "{e:?}"
        );
    }

    #[test]
    fn float_to_int_rounds_half_to_even() {
        let a: ArrayRef = Arc::new(Float64Array::from(vec![2.5, 3.5, 2.7, -2.7, -2.5]));
        let out = cast(&a, &DataType::Int32).unwrap();
        let out = out.as_primitive::<Int32Type>();
        assert_eq!(out.values().to_vec(), vec![2, 4, 3, -3, -2]);
    }

    #[test]
    fn decimal_to_int_rounds_half_away_from_zero() {
        let a = Decimal128Array::from(vec![25, -25, -27, 24])
            .with_precision_and_scale(5, 1)
            .unwrap();
        let a: ArrayRef = Arc::new(a);
        let out = cast(&a, &DataType::Int32).unwrap();
        assert_eq!(
            out.as_primitive::<Int32Type>().values().to_vec(),
            vec![3, -3, -3, 2]
        );
        let back = cast(&out, &DataType::Decimal128(10, 2)).unwrap();
        assert_eq!(back.as_primitive::<Decimal128Type>().value(0), 300);
    }

    #[test]
    fn floats_print_as_hyper_does() {
        let a: ArrayRef = Arc::new(Float64Array::from(vec![
            0.1 + 0.2,
            1e20,
            1.5,
            -0.000_012_5,
            123_456_789_012_345_680.0,
            f64::NAN,
            f64::NEG_INFINITY,
            100.0,
        ]));
        let out = cast(&a, &DataType::Utf8).unwrap();
        let out: Vec<_> = out.as_string::<i32>().iter().flatten().collect();
        assert_eq!(
            out,
            vec![
                "0.30000000000000004",
                "1e+20",
                "1.5",
                "-1.25e-05",
                "1.2345678901234568e+17",
                "NaN",
                "-Infinity",
                "100"
            ]
        );
    }

    #[test]
    fn impossible_cast_is_internal() {
        let a: ArrayRef = Arc::new(Int32Array::from(vec![1]));
        let to = DataType::Struct(Default::default());
        assert!(matches!(cast(&a, &to), Err(Error::Internal { .. })));
    }
}
