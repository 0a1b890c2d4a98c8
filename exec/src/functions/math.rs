//! Math functions: `abs`, `sign`, `ceil`, `floor`, `round`, `trunc`,
//! `power`, `sqrt`, `exp`, `ln`, `log`, `greatest`, `least`.
//!
//! Rounding follows Hyper: NUMERIC rounds half away from zero
//! (`round(2.5) = 3`), floats round half to even (`round(2.5::float8) = 2`).
//! NUMERIC results keep their scale, except one-argument `round`, which
//! returns scale 0; a result that no longer fits the precision is an
//! overflow error. Domain errors (`sqrt(-1)`, `ln(0)`) are errors, as in
//! PostgreSQL, not NaN.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, Float64Array, PrimitiveArray};
use arrow::compute::kernels::{boolean, cmp, zip};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Decimal128Type, Float64Type, Int16Type, Int32Type, Int64Type,
};

use super::{ScalarFunction, bad_args, invalid};
use crate::binary::normalize_floats;
use crate::error::{Error, Result};

pub(super) fn return_type(func: ScalarFunction, args: &[DataType]) -> Result<DataType> {
    use DataType::*;
    use ScalarFunction::*;
    let numeric = |t: &DataType| matches!(t, Int16 | Int32 | Int64 | Float64 | Decimal128(..));
    let out = match (func, args) {
        // Hyper: sign(numeric) has scale 0 (`sign(-3.25)` = -1).
        (Sign, [Decimal128(..)]) => Decimal128(1, 0),
        (Abs | Sign | Trunc, [t]) if numeric(t) => t.clone(),
        (Ceil | Floor, [Decimal128(p, s)]) => Decimal128((*p + 1).min(38), *s),
        (Ceil | Floor, [t]) if numeric(t) => t.clone(),
        // Hyper keeps the scale: `round(2.5)` = 3.0.
        (Round, [Decimal128(p, s)]) => Decimal128((*p + 1).min(38), *s),
        (Round, [t]) if numeric(t) => t.clone(),
        (Round, [Decimal128(p, s), Int64]) => Decimal128((*p + 1).min(38), *s),
        (Trunc, [t @ (Decimal128(..) | Float64), Int64]) => t.clone(),
        (Round, [Float64, Int64]) => Float64,
        (
            Sqrt | Exp | Ln | Log | Cbrt | Degrees | Radians | Sin | Cos | Tan | Cot | Asin | Acos
            | Atan,
            [Float64],
        )
        | (Power | Log | Atan2, [Float64, Float64]) => Float64,
        (Pi, []) => Float64,
        (WidthBucket, [Float64, Float64, Float64, Int64]) => Int32,
        (Factorial, [Int64]) => Int64,
        (Bitwise(_), [a @ (Int16 | Int32 | Int64), b]) if a == b => a.clone(),
        (Greatest | Least, [first, ..]) => {
            let t = args.iter().find(|t| **t != Null).unwrap_or(first);
            if args.iter().any(|a| a != t && *a != Null) || t.is_nested() {
                return Err(bad_args(func, args));
            }
            t.clone()
        }
        _ => return Err(bad_args(func, args)),
    };
    Ok(out)
}

pub(super) fn evaluate(func: ScalarFunction, args: &[ArrayRef]) -> Result<ArrayRef> {
    use ScalarFunction::*;
    let types: Vec<DataType> = args.iter().map(|a| a.data_type().clone()).collect();
    let out_type = return_type(func, &types)?;
    match func {
        Greatest | Least => extreme(args, func == Greatest, &out_type),
        Pi => Ok(Arc::new(Float64Array::from(vec![std::f64::consts::PI]))),
        WidthBucket => width_bucket(args),
        Bitwise(op) => bitwise(op, args),
        Factorial => int_map::<Int64Type>(&args[0], |n| {
            if n < 0 {
                return Err(invalid(
                    "factorial",
                    "factorial of a negative number is undefined",
                ));
            }
            (2..=n)
                .try_fold(1i64, |acc, k| acc.checked_mul(k))
                .ok_or_else(|| Error::Overflow {
                    what: "factorial result out of range for bigint".into(),
                })
        }),
        Sqrt | Exp | Ln | Log | Power | Cbrt | Degrees | Radians | Sin | Cos | Tan | Cot | Asin
        | Acos | Atan | Atan2 => transcendental(func, args),
        Abs | Sign => abs_sign(func, &args[0]),
        Ceil | Floor | Round | Trunc => rounding(func, args, &out_type),
        other => Err(Error::internal(format!("{other:?} is not a math function"))),
    }
}

fn abs_sign(func: ScalarFunction, a: &ArrayRef) -> Result<ArrayRef> {
    let abs = func == ScalarFunction::Abs;
    let overflow = || Error::Overflow {
        what: "abs of the smallest integer".into(),
    };
    Ok(match a.data_type() {
        DataType::Int16 => int_map::<Int16Type>(a, |x| {
            if abs {
                x.checked_abs().ok_or_else(overflow)
            } else {
                Ok(x.signum())
            }
        })?,
        DataType::Int32 => int_map::<Int32Type>(a, |x| {
            if abs {
                x.checked_abs().ok_or_else(overflow)
            } else {
                Ok(x.signum())
            }
        })?,
        DataType::Int64 => int_map::<Int64Type>(a, |x| {
            if abs {
                x.checked_abs().ok_or_else(overflow)
            } else {
                Ok(x.signum())
            }
        })?,
        DataType::Float64 => Arc::new(
            a.as_primitive::<Float64Type>()
                .unary::<_, Float64Type>(|x| if abs { x.abs() } else { float_sign(x) }),
        ),
        DataType::Decimal128(p, s) => {
            let (unit, p, s) = if abs {
                (10i128.pow(u32::from(*s as u8)), *p, *s)
            } else {
                (1, 1, 0)
            };
            let out: Decimal128Array = a
                .as_primitive::<Decimal128Type>()
                .unary(|x| if abs { x.abs() } else { x.signum() * unit });
            Arc::new(out.with_precision_and_scale(p, s)?)
        }
        t => return Err(Error::internal(format!("abs/sign of {t}"))),
    })
}

fn float_sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        x + 0.0
    }
}

fn int_map<T: ArrowPrimitiveType>(
    a: &ArrayRef,
    f: impl Fn(T::Native) -> Result<T::Native>,
) -> Result<ArrayRef> {
    let out: PrimitiveArray<T> = a.as_primitive::<T>().try_unary(f)?;
    Ok(Arc::new(out))
}

/// How `rounding` moves a value to a multiple of a power of ten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ceil,
    Floor,
    HalfAwayFromZero,
    TowardZero,
}

fn mode_of(func: ScalarFunction) -> Mode {
    match func {
        ScalarFunction::Ceil => Mode::Ceil,
        ScalarFunction::Floor => Mode::Floor,
        ScalarFunction::Round => Mode::HalfAwayFromZero,
        _ => Mode::TowardZero,
    }
}

/// `ceil`, `floor`, `round`, `trunc` with optional digits.
fn rounding(func: ScalarFunction, args: &[ArrayRef], out_type: &DataType) -> Result<ArrayRef> {
    let mode = mode_of(func);
    let digits = args.get(1).map(|d| d.as_primitive::<Int64Type>());
    let x = &args[0];
    match (x.data_type(), out_type) {
        (DataType::Float64, _) => {
            let xs = x.as_primitive::<Float64Type>();
            let out: Float64Array = (0..xs.len())
                .map(|i| {
                    let n = digits.map_or(Some(0), |d| d.is_valid(i).then(|| d.value(i)));
                    match (xs.is_valid(i), n) {
                        (true, Some(n)) => Some(round_float(xs.value(i), n, mode)),
                        _ => None,
                    }
                })
                .collect();
            Ok(Arc::new(out))
        }
        (DataType::Decimal128(_, s), DataType::Decimal128(p_out, s_out)) => {
            let xs = x.as_primitive::<Decimal128Type>();
            let mut out = Vec::with_capacity(xs.len());
            for i in 0..xs.len() {
                let n = digits.map_or(Some(0), |d| d.is_valid(i).then(|| d.value(i)));
                out.push(match (xs.is_valid(i), n) {
                    (true, Some(n)) => {
                        let v = round_decimal(xs.value(i), *s, n, mode)?;
                        Some(rescale_down(v, *s, *s_out))
                    }
                    _ => None,
                });
            }
            let out = Decimal128Array::from(out).with_precision_and_scale(*p_out, *s_out)?;
            out.validate_decimal_precision(*p_out)
                .map_err(|_| Error::Overflow {
                    what: format!("{func:?} result does not fit NUMERIC({p_out},{s_out})"),
                })?;
            Ok(Arc::new(out))
        }
        // Integers: already whole numbers.
        (DataType::Int16 | DataType::Int32 | DataType::Int64, _) if args.len() == 1 => {
            Ok(x.clone())
        }
        (t, _) => Err(Error::internal(format!("{func:?} of {t}"))),
    }
}

/// Divides a value at scale `from` down to scale `to` (exact: the low
/// digits are already zero after rounding).
fn rescale_down(v: i128, from: i8, to: i8) -> i128 {
    let drop = u32::try_from(i32::from(from) - i32::from(to)).unwrap_or(0);
    10i128.checked_pow(drop).map_or(0, |f| v / f)
}

/// Rounds `v` (at scale `s`) to `digits` decimal places; the result is
/// still at scale `s`.
fn round_decimal(v: i128, s: i8, digits: i64, mode: Mode) -> Result<i128> {
    let drop = i64::from(s) - digits;
    if drop <= 0 {
        return Ok(v);
    }
    let Some(f) = u32::try_from(drop).ok().and_then(|d| 10i128.checked_pow(d)) else {
        // Rounding to more than 38 digits left of the point.
        return Ok(match mode {
            Mode::Ceil if v > 0 => return Err(overflow_round()),
            Mode::Floor if v < 0 => return Err(overflow_round()),
            _ => 0,
        });
    };
    let (q, r) = (v / f, v % f);
    let q = match mode {
        Mode::TowardZero => q,
        Mode::Ceil if r > 0 => q + 1,
        Mode::Floor if r < 0 => q - 1,
        Mode::HalfAwayFromZero if r.unsigned_abs() * 2 >= f.unsigned_abs() => q + v.signum(),
        _ => q,
    };
    q.checked_mul(f).ok_or_else(overflow_round)
}

fn overflow_round() -> Error {
    Error::Overflow {
        what: "rounding result out of range".into(),
    }
}

fn round_float(x: f64, digits: i64, mode: Mode) -> f64 {
    let apply = |y: f64| match mode {
        Mode::Ceil => y.ceil(),
        Mode::Floor => y.floor(),
        Mode::TowardZero => y.trunc(),
        Mode::HalfAwayFromZero => y.round_ties_even(),
    };
    if digits == 0 || !x.is_finite() {
        return apply(x);
    }
    let digits = digits.clamp(-330, 330) as i32;
    let f = 10f64.powi(digits.abs());
    let out = if digits > 0 {
        apply(x * f) / f
    } else {
        apply(x / f) * f
    };
    if out.is_finite() { out } else { x }
}

/// `sqrt`, `exp`, `ln`, `log`, `power` over DOUBLE PRECISION.
fn transcendental(func: ScalarFunction, args: &[ArrayRef]) -> Result<ArrayRef> {
    let x = args[0].as_primitive::<Float64Type>();
    let y = args.get(1).map(|a| a.as_primitive::<Float64Type>());
    let mut out = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        let b = match y {
            Some(y) if y.is_null(i) => None,
            Some(y) => Some(y.value(i)),
            None => Some(0.0),
        };
        out.push(match (x.is_valid(i), b) {
            (true, Some(b)) => Some(float_function(func, x.value(i), b, y.is_some())?),
            _ => None,
        });
    }
    Ok(Arc::new(Float64Array::from(out)))
}

fn float_function(func: ScalarFunction, x: f64, y: f64, two_args: bool) -> Result<f64> {
    let out = match func {
        ScalarFunction::Sqrt if x < 0.0 => {
            return Err(invalid(
                "sqrt",
                "cannot take square root of a negative number",
            ));
        }
        ScalarFunction::Sqrt => x.sqrt(),
        ScalarFunction::Exp => x.exp(),
        ScalarFunction::Ln => log_checked("ln", x)?,
        ScalarFunction::Log if two_args => {
            // log(base, value)
            let base = log_checked("log", x)?;
            if base == 0.0 {
                return Err(Error::DivisionByZero);
            }
            log_checked("log", y)? / base
        }
        ScalarFunction::Log => log_checked("log", x)? / std::f64::consts::LN_10,
        ScalarFunction::Power => power(x, y)?,
        ScalarFunction::Cbrt => x.cbrt(),
        ScalarFunction::Degrees => x.to_degrees(),
        ScalarFunction::Radians => x.to_radians(),
        ScalarFunction::Sin => x.sin(),
        ScalarFunction::Cos => x.cos(),
        ScalarFunction::Tan => x.tan(),
        ScalarFunction::Cot => 1.0 / x.tan(),
        ScalarFunction::Asin | ScalarFunction::Acos if !(-1.0..=1.0).contains(&x) => {
            return Err(invalid(
                if func == ScalarFunction::Asin {
                    "asin"
                } else {
                    "acos"
                },
                "input is out of range",
            ));
        }
        ScalarFunction::Asin => x.asin(),
        ScalarFunction::Acos => x.acos(),
        ScalarFunction::Atan => x.atan(),
        ScalarFunction::Atan2 => x.atan2(y),
        other => return Err(Error::internal(format!("{other:?} is not transcendental"))),
    };
    if out.is_infinite() && x.is_finite() && (!two_args || y.is_finite()) {
        return Err(Error::Overflow {
            what: format!("{func:?} result out of range for double precision"),
        });
    }
    Ok(out)
}

fn bitwise(op: super::BitOp, args: &[ArrayRef]) -> Result<ArrayRef> {
    use super::BitOp::*;
    fn apply<T: ArrowPrimitiveType>(
        op: super::BitOp,
        a: &ArrayRef,
        b: &ArrayRef,
        f: impl Fn(super::BitOp, i64, i64) -> i64,
    ) -> Result<ArrayRef>
    where
        T::Native: Into<i64> + TryFrom<i64>,
    {
        let (a, b) = (a.as_primitive::<T>(), b.as_primitive::<T>());
        let out: PrimitiveArray<T> = arrow::compute::binary(a, b, |x, y| {
            let r = f(op, x.into(), y.into());
            // In range by construction (see `bits`).
            T::Native::try_from(r).unwrap_or(x)
        })?;
        Ok(Arc::new(out))
    }
    let bits = match args[0].data_type() {
        DataType::Int16 => 16,
        DataType::Int32 => 32,
        _ => 64,
    };
    // Computed in i64, then brought back to the type's width.
    let f = move |op, x: i64, y: i64| {
        let r = match op {
            And => x & y,
            Or => x | y,
            Xor => x ^ y,
            ShiftLeft => x.wrapping_shl(y.rem_euclid(bits) as u32),
            ShiftRight => x.wrapping_shr(y.rem_euclid(bits) as u32),
        };
        // Sign-extend the low `bits` bits.
        (r << (64 - bits)) >> (64 - bits)
    };
    match args[0].data_type() {
        DataType::Int16 => apply::<Int16Type>(op, &args[0], &args[1], f),
        DataType::Int32 => apply::<Int32Type>(op, &args[0], &args[1], f),
        _ => apply::<Int64Type>(op, &args[0], &args[1], f),
    }
}

/// `width_bucket(x, low, high, count)` over `Float64` bounds and an
/// `Int64` count, as PostgreSQL.
fn width_bucket(args: &[ArrayRef]) -> Result<ArrayRef> {
    let f = |i: usize| args[i].as_primitive::<Float64Type>();
    let (x, low, high) = (f(0), f(1), f(2));
    let count = args[3].as_primitive::<Int64Type>();
    let mut out = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        if x.is_null(i) || low.is_null(i) || high.is_null(i) || count.is_null(i) {
            out.push(None);
            continue;
        }
        let (x, lo, hi, n) = (x.value(i), low.value(i), high.value(i), count.value(i));
        if n <= 0 {
            return Err(invalid("width_bucket", "count must be greater than zero"));
        }
        if lo == hi || !lo.is_finite() || !hi.is_finite() || x.is_nan() {
            return Err(invalid(
                "width_bucket",
                "lower bound cannot equal upper bound, and bounds must be finite",
            ));
        }
        let bucket = if lo < hi {
            if x < lo {
                0
            } else if x >= hi {
                n.checked_add(1).ok_or_else(|| Error::Overflow {
                    what: "width_bucket".into(),
                })?
            } else {
                ((x - lo) / (hi - lo) * n as f64) as i64 + 1
            }
        } else if x > lo {
            0
        } else if x <= hi {
            n.checked_add(1).ok_or_else(|| Error::Overflow {
                what: "width_bucket".into(),
            })?
        } else {
            ((lo - x) / (lo - hi) * n as f64) as i64 + 1
        };
        let bucket = i32::try_from(bucket).map_err(|_| Error::Overflow {
            what: "width_bucket result out of range for integer".into(),
        })?;
        out.push(Some(bucket));
    }
    Ok(Arc::new(arrow::array::Int32Array::from(out)))
}

fn log_checked(function: &str, x: f64) -> Result<f64> {
    if x == 0.0 {
        return Err(invalid(function, "cannot take logarithm of zero"));
    }
    if x < 0.0 {
        return Err(invalid(
            function,
            "cannot take logarithm of a negative number",
        ));
    }
    Ok(x.ln())
}

fn power(x: f64, y: f64) -> Result<f64> {
    if x == 0.0 && y < 0.0 {
        return Err(invalid(
            "power",
            "zero raised to a negative power is undefined",
        ));
    }
    if x < 0.0 && y.is_finite() && y.fract() != 0.0 {
        return Err(invalid(
            "power",
            "a negative number raised to a non-integer power yields a complex result",
        ));
    }
    Ok(x.powf(y))
}

/// `greatest`/`least`: the largest/smallest non-NULL argument per row.
fn extreme(args: &[ArrayRef], greatest: bool, out_type: &DataType) -> Result<ArrayRef> {
    let mut acc: Option<ArrayRef> = None;
    for a in args {
        let a = crate::cast::cast(a, out_type)?;
        let a = normalize_floats(&a);
        acc = Some(match acc {
            None => a,
            Some(acc) => {
                let better = if greatest {
                    cmp::gt(&a, &acc)?
                } else {
                    cmp::lt(&a, &acc)?
                };
                let acc_null = arrow::compute::is_null(&acc)?;
                let a_valid = arrow::compute::is_not_null(&a)?;
                // NULL comparisons (either side NULL) count as false.
                let better = if better.null_count() > 0 {
                    arrow::compute::prep_null_mask_filter(&better)
                } else {
                    better
                };
                let take_a = boolean::or(&boolean::and(&acc_null, &a_valid)?, &better)?;
                zip::zip(&take_a, &a, &acc)?
            }
        });
    }
    acc.ok_or_else(|| Error::internal("greatest/least without arguments"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, Int64Array};

    fn dec(v: &[Option<i128>], p: u8, s: i8) -> ArrayRef {
        Arc::new(
            Decimal128Array::from(v.to_vec())
                .with_precision_and_scale(p, s)
                .unwrap(),
        )
    }

    fn dec_values(a: &ArrayRef) -> Vec<Option<i128>> {
        a.as_primitive::<Decimal128Type>().iter().collect()
    }

    #[test]
    fn numeric_round_half_away_from_zero() {
        let x = dec(&[Some(25), Some(-25), Some(24), None], 2, 1);
        let out = evaluate(ScalarFunction::Round, &[x]).unwrap();
        assert_eq!(out.data_type(), &DataType::Decimal128(3, 1));
        assert_eq!(dec_values(&out), vec![Some(30), Some(-30), Some(20), None]);
        let x = dec(&[Some(1234), Some(-1255)], 5, 2);
        let n: ArrayRef = Arc::new(Int64Array::from(vec![1, 1]));
        let out = evaluate(ScalarFunction::Round, &[x.clone(), n.clone()]).unwrap();
        assert_eq!(dec_values(&out), vec![Some(1230), Some(-1260)]);
        let out = evaluate(ScalarFunction::Trunc, &[x, n]).unwrap();
        assert_eq!(dec_values(&out), vec![Some(1230), Some(-1250)]);
    }

    #[test]
    fn numeric_sign_has_scale_0() {
        let x = dec(&[Some(-325), Some(0), Some(1), None], 5, 2);
        let out = evaluate(ScalarFunction::Sign, &[x]).unwrap();
        assert_eq!(out.data_type(), &DataType::Decimal128(1, 0));
        assert_eq!(dec_values(&out), vec![Some(-1), Some(0), Some(1), None]);
    }

    #[test]
    fn float_round_half_even() {
        let x: ArrayRef = Arc::new(Float64Array::from(vec![2.5, 3.5, -2.5, 0.125]));
        let out = evaluate(ScalarFunction::Round, &[x]).unwrap();
        let out: Vec<f64> = out.as_primitive::<Float64Type>().values().to_vec();
        assert_eq!(out, vec![2.0, 4.0, -2.0, 0.0]);
    }

    #[test]
    fn ceil_floor_keep_scale() {
        let x = dec(&[Some(12), Some(-12), Some(95)], 2, 1);
        let out = evaluate(ScalarFunction::Ceil, std::slice::from_ref(&x)).unwrap();
        assert_eq!(out.data_type(), &DataType::Decimal128(3, 1));
        assert_eq!(dec_values(&out), vec![Some(20), Some(-10), Some(100)]);
        let out = evaluate(ScalarFunction::Floor, &[x]).unwrap();
        assert_eq!(dec_values(&out), vec![Some(10), Some(-20), Some(90)]);
    }

    #[test]
    fn abs_overflow_and_domain_errors() {
        let x: ArrayRef = Arc::new(Int32Array::from(vec![i32::MIN]));
        assert!(matches!(
            evaluate(ScalarFunction::Abs, &[x]),
            Err(Error::Overflow { .. })
        ));
        let f = |v: f64| -> ArrayRef { Arc::new(Float64Array::from(vec![v])) };
        for func in [ScalarFunction::Sqrt, ScalarFunction::Ln] {
            assert!(matches!(
                evaluate(func, &[f(-1.0)]),
                Err(Error::InvalidArgument { .. })
            ));
        }
        assert!(matches!(
            evaluate(ScalarFunction::Exp, &[f(1000.0)]),
            Err(Error::Overflow { .. })
        ));
        let out = evaluate(ScalarFunction::Log, &[f(2.0), f(8.0)]).unwrap();
        assert!((out.as_primitive::<Float64Type>().value(0) - 3.0).abs() < 1e-12);
    }

    #[test]
    fn greatest_ignores_nulls() {
        let a: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None, None, Some(5)]));
        let b: ArrayRef = Arc::new(Int32Array::from(vec![Some(3), Some(2), None, Some(4)]));
        let out = evaluate(ScalarFunction::Greatest, &[a.clone(), b.clone()]).unwrap();
        let v: Vec<_> = out.as_primitive::<Int32Type>().iter().collect();
        assert_eq!(v, vec![Some(3), Some(2), None, Some(5)]);
        let out = evaluate(ScalarFunction::Least, &[a, b]).unwrap();
        let v: Vec<_> = out.as_primitive::<Int32Type>().iter().collect();
        assert_eq!(v, vec![Some(1), Some(2), None, Some(4)]);
    }
}
