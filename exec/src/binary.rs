//! Binary operators: checked arithmetic, comparisons, and Kleene logic.
//!
//! Operand typing rules (shared by `data_type` and evaluation):
//! - `AND`/`OR` take booleans; a `Null`-typed operand counts as a NULL boolean.
//! - Otherwise a `Null`-typed operand takes the other operand's type.
//! - Comparisons need equal types, except that two `Decimal128` of different
//!   precision or scale are both rescaled to `Decimal128(38, max scale)`.
//! - Arithmetic follows Arrow's `numeric` kernels: integers are checked,
//!   decimals follow Arrow's (Hive's) precision and scale rules.
//!
//! Floats compare as in PostgreSQL: `-0.0 = 0.0`, `NaN = NaN`, and NaN is
//! greater than every number (Arrow's total order, after normalizing zeros
//! and NaN payloads).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Datum, Decimal128Array, Float32Array, Float64Array,
    Scalar, new_empty_array,
};
use arrow::buffer::BooleanBuffer;
use arrow::compute::kernels::{boolean, cmp, numeric};
use arrow::datatypes::{
    DECIMAL128_MAX_PRECISION, DECIMAL128_MAX_SCALE, DataType, Decimal128Type, Float32Type,
    Float64Type,
};
use arrow::error::ArrowError;

use crate::error::{Error, Result};
use crate::expr::{BinaryOp, Value, as_boolean, to_boolean};

/// The result type of `left op right`.
pub(crate) fn binary_data_type(
    op: BinaryOp,
    left: &DataType,
    right: &DataType,
) -> Result<DataType> {
    let (l, r) = operand_types(op, left, right)?;
    if op.is_comparison() || op.is_logical() {
        return Ok(DataType::Boolean);
    }
    let out = arithmetic(op, &new_empty_array(&l), &new_empty_array(&r))?;
    Ok(out.data_type().clone())
}

/// Evaluates `left op right` over `rows` rows.
pub(crate) fn evaluate_binary(
    op: BinaryOp,
    left: Value,
    right: Value,
    rows: usize,
) -> Result<Value> {
    let (lt, rt) = operand_types(op, left.array().data_type(), right.array().data_type())?;
    let both_scalar = left.is_scalar() && right.is_scalar();
    let out = if op.is_logical() {
        let n = if both_scalar { 1 } else { rows };
        let l = to_boolean(&left.into_array(n)?)?;
        let r = to_boolean(&right.into_array(n)?)?;
        logical(op, &l, &r)?
    } else if let Some(out) = decimal_compare_scalar(op, &left, &right) {
        out
    } else if let Some(out) = text_compare_scalar(op, &left, &right) {
        out
    } else if op.is_comparison() {
        let l = left.map(|a| comparable(a, &lt))?;
        let r = right.map(|a| comparable(a, &rt))?;
        with_datums(&l, &r, |l, r| compare(op, l, r))?
    } else {
        let l = left.map(|a| crate::cast::cast(a, &lt))?;
        let r = right.map(|a| crate::cast::cast(a, &rt))?;
        with_datums(&l, &r, |l, r| arithmetic(op, l, r))?
    };
    Ok(if both_scalar {
        Value::Scalar(out)
    } else {
        Value::Array(out)
    })
}

/// `=` or `<>` of a text (`Utf8`) array with a non-NULL text scalar, by
/// [`text_equals_any`]. `None` for other operands and long scalars.
fn text_compare_scalar(op: BinaryOp, left: &Value, right: &Value) -> Option<ArrayRef> {
    let negated = match op {
        BinaryOp::Eq => false,
        BinaryOp::NotEq => true,
        _ => return None,
    };
    let (array, scalar) = match (left, right) {
        (Value::Array(a), Value::Scalar(s)) | (Value::Scalar(s), Value::Array(a)) => (a, s),
        _ => return None,
    };
    let needle = text_scalar(scalar)?;
    text_equals_any(array.as_string_opt::<i32>()?, &[needle], negated)
}

/// The bytes of a non-NULL text (`Utf8`) scalar.
pub(crate) fn text_scalar(scalar: &ArrayRef) -> Option<&[u8]> {
    let s = scalar.as_string_opt::<i32>()?;
    (s.len() == 1 && s.is_valid(0)).then(|| s.value(0).as_bytes())
}

/// Whether each value of `array` equals one of `needles`, each of at most 8
/// bytes (differs from all of them when `negated`); NULL where the value is
/// NULL. One pass over the offsets: only values of a needle's length are
/// compared, each as one word, so short codes (`l_shipmode IN ('MAIL',
/// 'SHIP')`) cost no `memcmp` call per row. Longer literals are left to
/// Arrow's kernel, which measured faster for them (Q19): None then.
pub(crate) fn text_equals_any(
    array: &arrow::array::StringArray,
    needles: &[&[u8]],
    negated: bool,
) -> Option<ArrayRef> {
    if needles.iter().any(|n| n.len() > 8) {
        return None;
    }
    let words: Vec<(usize, u64)> = needles
        .iter()
        .map(|n| (n.len(), short_word(n, 0, n.len())))
        .collect();
    let offsets = array.value_offsets();
    let data = array.value_data();
    // Branch-free per value: the values of a column like `l_shipmode` come
    // in no predictable order, and a mispredicted length or needle test
    // cost more than testing every needle (TPC-H Q19: 8 against 2 ns a row).
    let bits = arrow::buffer::BooleanBuffer::collect_bool(array.len(), |i| {
        let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
        let len = end.saturating_sub(start);
        // A value over 8 bytes matches no needle's length.
        let word = short_word(data, start, len.min(8));
        let found = words
            .iter()
            .fold(false, |f, &(l, n)| f | ((l == len) & (n == word)));
        found != negated
    });
    Some(Arc::new(BooleanArray::new(bits, array.nulls().cloned())))
}

/// The `len` (at most 8) bytes of `data` from `start` as one little-endian
/// word, zero above them: one 8-byte load, masked, where the buffer has 8
/// bytes left (no `memcpy` call for a short value), byte by byte otherwise.
pub(crate) fn short_word(data: &[u8], start: usize, len: usize) -> u64 {
    debug_assert!(len <= 8);
    match data.get(start..start + 8) {
        Some(b) if len > 0 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a) & (u64::MAX >> (64 - 8 * len))
        }
        _ => data
            .get(start..start + len)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .fold(0, |w, (i, &c)| w | u64::from(c) << (8 * i)),
    }
}

/// A comparison of a `Decimal128` array with a non-NULL `Decimal128` scalar
/// of no larger scale (`l_discount >= 0.05`): the scalar is brought to the
/// array's scale and compared with each value, with no cast of the array
/// (the general path casts both to `Decimal128(38, s)` first). `None` for
/// other operands, or when the rescaled scalar would not fit.
fn decimal_compare_scalar(op: BinaryOp, left: &Value, right: &Value) -> Option<ArrayRef> {
    let (array, scalar, op) = match (left, right) {
        (Value::Array(a), Value::Scalar(s)) => (a, s, op),
        (Value::Scalar(s), Value::Array(a)) => (a, s, op.flipped()?),
        _ => return None,
    };
    let (&DataType::Decimal128(_, s1), &DataType::Decimal128(_, s2)) =
        (array.data_type(), scalar.data_type())
    else {
        return None;
    };
    if scalar.len() != 1 || scalar.is_null(0) || s2 > s1 || s2 < 0 {
        return None;
    }
    let factor = 10i128.checked_pow(u32::try_from(s1 - s2).ok()?)?;
    let k = scalar
        .as_primitive::<Decimal128Type>()
        .value(0)
        .checked_mul(factor)?;
    let array = array.as_primitive::<Decimal128Type>();
    let v = array.values();
    let bits = match op {
        BinaryOp::Eq => bits_where(v, |x| x == k),
        BinaryOp::NotEq => bits_where(v, |x| x != k),
        BinaryOp::Lt => bits_where(v, |x| x < k),
        BinaryOp::LtEq => bits_where(v, |x| x <= k),
        BinaryOp::Gt => bits_where(v, |x| x > k),
        BinaryOp::GtEq => bits_where(v, |x| x >= k),
        _ => return None,
    };
    Some(Arc::new(BooleanArray::new(bits, array.nulls().cloned())))
}

/// Bit `i` set where `f(values[i])`, packed 64 to a word without a branch
/// or a bounds check per value.
fn bits_where(values: &[i128], f: impl Fn(i128) -> bool) -> BooleanBuffer {
    let words: Vec<u64> = values
        .chunks(64)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(0u64, |w, (j, &x)| w | (u64::from(f(x)) << j))
        })
        .collect();
    BooleanBuffer::new(arrow::buffer::Buffer::from_vec(words), 0, values.len())
}

/// The types both operands are brought to before the kernel runs.
fn operand_types(op: BinaryOp, left: &DataType, right: &DataType) -> Result<(DataType, DataType)> {
    use DataType::*;
    if op.is_logical() {
        for t in [left, right] {
            if !matches!(t, Boolean | Null) {
                return Err(Error::internal(format!("{op:?} of non-boolean type {t}")));
            }
        }
        return Ok((Boolean, Boolean));
    }
    let (l, r) = match (left, right) {
        (Null, r) => (r.clone(), r.clone()),
        (l, Null) => (l.clone(), l.clone()),
        (l, r) => (l.clone(), r.clone()),
    };
    if !op.is_comparison() {
        return Ok((l, r));
    }
    if let (Decimal128(_, s1), Decimal128(_, s2)) = (&l, &r)
        && l != r
    {
        let common = Decimal128(38, (*s1).max(*s2));
        return Ok((common.clone(), common));
    }
    if l != r {
        return Err(Error::internal(format!("cannot compare {l} with {r}")));
    }
    if l.is_nested() || matches!(l, Dictionary(..) | RunEndEncoded(..) | Union(..)) {
        return Err(Error::internal(format!(
            "cannot compare values of type {l}"
        )));
    }
    Ok((l, r))
}

/// Runs `f` with each operand as an Arrow `Datum`: a scalar side stays
/// scalar unless both are, in which case both are one-row arrays.
pub(crate) fn with_datums<T>(
    l: &Value,
    r: &Value,
    f: impl FnOnce(&dyn Datum, &dyn Datum) -> T,
) -> T {
    let both = l.is_scalar() && r.is_scalar();
    let scalar = |v: &Value| match v {
        Value::Scalar(a) if !both => Some(Scalar::new(a.clone())),
        _ => None,
    };
    let (ls, rs) = (scalar(l), scalar(r));
    let ld: &dyn Datum = match &ls {
        Some(s) => s,
        None => l.array(),
    };
    let rd: &dyn Datum = match &rs {
        Some(s) => s,
        None => r.array(),
    };
    f(ld, rd)
}

/// Maps an Arrow error from an arithmetic kernel: a type the kernel does not
/// take is a plan bug; overflow and division by zero keep their meaning.
pub(crate) fn arithmetic_error(e: ArrowError) -> Error {
    match e {
        ArrowError::InvalidArgumentError(what) | ArrowError::NotYetImplemented(what) => {
            Error::Internal { what }
        }
        e => Error::from(e),
    }
}

fn arithmetic(op: BinaryOp, l: &dyn Datum, r: &dyn Datum) -> Result<ArrayRef> {
    if let Some(out) = decimal_without_overflow(op, l, r) {
        return out;
    }
    let out = match op {
        BinaryOp::Add => numeric::add(l, r),
        BinaryOp::Sub => numeric::sub(l, r),
        BinaryOp::Mul => numeric::mul(l, r),
        BinaryOp::Div => numeric::div(l, r),
        BinaryOp::Mod => numeric::rem(l, r),
        op => return Err(Error::internal(format!("{op:?} is not arithmetic"))),
    };
    out.map_err(arithmetic_error)
}

/// `+`, `-` and `*` of two `Decimal128` operands (at least one an array)
/// whose largest magnitudes show that no result can overflow 128 bits:
/// computed without a check per value, with the result type of Arrow's
/// checked kernels (the fallback, and the reference the tests compare it
/// with). `None` when the bound does not hold or the operands are of other
/// kinds; the checked kernel then reports any overflow.
fn decimal_without_overflow(
    op: BinaryOp,
    l: &dyn Datum,
    r: &dyn Datum,
) -> Option<Result<ArrayRef>> {
    let ((la, l_scalar), (ra, r_scalar)) = (l.get(), r.get());
    let (&DataType::Decimal128(p1, s1), &DataType::Decimal128(p2, s2)) =
        (la.data_type(), ra.data_type())
    else {
        return None;
    };
    if (l_scalar && r_scalar) || s1 < 0 || s2 < 0 {
        return None;
    }
    // A NULL scalar: the checked kernel's NULL result is as cheap.
    if (l_scalar && la.is_null(0)) || (r_scalar && ra.is_null(0)) {
        return None;
    }
    let (la, ra) = (
        la.as_primitive::<Decimal128Type>(),
        ra.as_primitive::<Decimal128Type>(),
    );
    let (lmax, rmax) = (magnitude_bound(la.values()), magnitude_bound(ra.values()));
    // Both sides fit `i64`: products of values (and of values and scale
    // factors that fit) are single widening multiplies.
    let narrow = lmax <= i64::MAX as u128 && rmax <= i64::MAX as u128;
    let fits = |bound: Option<u128>| bound.is_some_and(|b| b <= i128::MAX as u128);
    let (precision, scale, out) = match op {
        BinaryOp::Mul => {
            let scale = s1.checked_add(s2).filter(|s| *s <= DECIMAL128_MAX_SCALE)?;
            if !fits(lmax.checked_mul(rmax)) {
                return None;
            }
            let precision = p1
                .saturating_add(p2.saturating_add(1))
                .min(DECIMAL128_MAX_PRECISION);
            (
                precision,
                scale,
                if narrow {
                    apply(la, l_scalar, ra, r_scalar, mul_narrow)
                } else {
                    apply(la, l_scalar, ra, r_scalar, |a, b| a.wrapping_mul(b))
                },
            )
        }
        BinaryOp::Add | BinaryOp::Sub => {
            let scale = s1.max(s2);
            let lm = 10u128.checked_pow(u32::try_from(scale - s1).ok()?)?;
            let rm = 10u128.checked_pow(u32::try_from(scale - s2).ok()?)?;
            let bound = lmax
                .checked_mul(lm)
                .zip(rmax.checked_mul(rm))
                .and_then(|(a, b)| a.checked_add(b));
            if !fits(bound) {
                return None;
            }
            let integer = (p1 as i8 - s1).max(p2 as i8 - s2);
            let precision = (scale.saturating_add(integer) as u8)
                .saturating_add(1)
                .min(DECIMAL128_MAX_PRECISION);
            let sub = op == BinaryOp::Sub;
            let (l, r) = ((la, l_scalar, lm as i128), (ra, r_scalar, rm as i128));
            let out = if narrow && lm <= i64::MAX as u128 && rm <= i64::MAX as u128 {
                add_sub(l, r, sub, mul_narrow)
            } else {
                add_sub(l, r, sub, |a, b| a * b)
            };
            (precision, scale, out)
        }
        _ => return None,
    };
    Some(
        out.and_then(|a| Ok(a.with_precision_and_scale(precision, scale)?))
            .map(|a| Arc::new(a) as ArrayRef),
    )
}

/// At least the largest magnitude of `values`: the OR of each value with
/// its sign bits flipped away (`|v| - 1` for a negative `v`), plus one. One
/// pass of ORs, where the exact maximum of `i128` magnitudes would branch.
/// The ORs run on the 64-bit halves, which the compiler vectorizes.
pub(crate) fn magnitude_bound(values: &[i128]) -> u128 {
    let (mut lo, mut hi) = (0u64, 0u64);
    for &v in values {
        let high = (v >> 64) as i64;
        let sign = (high >> 63) as u64;
        lo |= v as u64 ^ sign;
        hi |= high as u64 ^ sign;
    }
    let or = u128::from(hi) << 64 | u128::from(lo);
    if values.is_empty() {
        0
    } else {
        or.saturating_add(1)
    }
}

/// `a * b` for `a` and `b` that fit `i64`: one widening multiply, where an
/// `i128` multiply takes three.
#[inline(always)]
fn mul_narrow(a: i128, b: i128) -> i128 {
    i128::from(a as i64) * i128::from(b as i64)
}

/// An operand of [`add_sub`]: its values, whether it is a scalar, and the
/// factor that brings it to the result's scale.
type Scaled<'a> = (&'a Decimal128Array, bool, i128);

/// `l * lm + r * rm` (`- r * rm` when `sub`), multiplying by `mul`: a
/// scalar side is scaled once, and a factor of 1 costs no multiply
/// (`1 - l_discount` is one subtraction per row).
fn add_sub(
    (l, ls, lm): Scaled<'_>,
    (r, rs, rm): Scaled<'_>,
    sub: bool,
    mul: impl Fn(i128, i128) -> i128 + Copy,
) -> Result<Decimal128Array> {
    // The caller's bound holds for `-rm` as for `rm`.
    let rm = if sub { -rm } else { rm };
    if ls {
        let a = mul(l.value(0), lm);
        return Ok(match rm {
            1 => r.unary(|b| a + b),
            -1 => r.unary(|b| a - b),
            _ => r.unary(|b| a + mul(b, rm)),
        });
    }
    if rs {
        let b = mul(r.value(0), rm);
        return Ok(if lm == 1 {
            l.unary(|a| a + b)
        } else {
            l.unary(|a| mul(a, lm) + b)
        });
    }
    Ok(match (lm, rm) {
        (1, 1) => arrow::compute::binary(l, r, |a, b| a + b)?,
        (1, -1) => arrow::compute::binary(l, r, |a, b| a - b)?,
        (1, _) => arrow::compute::binary(l, r, |a, b| a + mul(b, rm))?,
        (_, 1) => arrow::compute::binary(l, r, |a, b| mul(a, lm) + b)?,
        (_, -1) => arrow::compute::binary(l, r, |a, b| mul(a, lm) - b)?,
        _ => arrow::compute::binary(l, r, |a, b| mul(a, lm) + mul(b, rm))?,
    })
}

/// `f` over the values of `l` and `r`, a scalar one repeated.
fn apply(
    l: &Decimal128Array,
    l_scalar: bool,
    r: &Decimal128Array,
    r_scalar: bool,
    f: impl Fn(i128, i128) -> i128,
) -> Result<Decimal128Array> {
    Ok(match (l_scalar, r_scalar) {
        (true, _) => {
            let a = l.value(0);
            r.unary(|b| f(a, b))
        }
        (_, true) => {
            let b = r.value(0);
            l.unary(|a| f(a, b))
        }
        _ => arrow::compute::binary(l, r, f)?,
    })
}

fn compare(op: BinaryOp, l: &dyn Datum, r: &dyn Datum) -> Result<ArrayRef> {
    let out = match op {
        BinaryOp::Eq => cmp::eq(l, r),
        BinaryOp::NotEq => cmp::neq(l, r),
        BinaryOp::Lt => cmp::lt(l, r),
        BinaryOp::LtEq => cmp::lt_eq(l, r),
        BinaryOp::Gt => cmp::gt(l, r),
        BinaryOp::GtEq => cmp::gt_eq(l, r),
        BinaryOp::IsDistinctFrom => cmp::distinct(l, r),
        BinaryOp::IsNotDistinctFrom => cmp::not_distinct(l, r),
        op => return Err(Error::internal(format!("{op:?} is not a comparison"))),
    };
    Ok(Arc::new(out.map_err(arithmetic_error)?))
}

fn logical(op: BinaryOp, l: &ArrayRef, r: &ArrayRef) -> Result<ArrayRef> {
    let (l, r) = (as_boolean(l)?, as_boolean(r)?);
    let out = match op {
        BinaryOp::And => boolean::and_kleene(l, r)?,
        BinaryOp::Or => boolean::or_kleene(l, r)?,
        op => return Err(Error::internal(format!("{op:?} is not logical"))),
    };
    Ok(Arc::new(out))
}

/// Brings a comparison operand to `to`, with floats normalized.
fn comparable(array: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    Ok(normalize_floats(&crate::cast::cast(array, to)?))
}

/// Rewrites `-0.0` as `0.0` and every NaN as the canonical NaN, so that
/// Arrow's total order on floats agrees with SQL equality. Other types are
/// returned as they are.
pub(crate) fn normalize_floats(array: &ArrayRef) -> ArrayRef {
    // `x + 0.0` turns -0.0 into 0.0 and leaves every other number unchanged.
    match array.data_type() {
        DataType::Float64 => {
            let a: Float64Array = array
                .as_primitive::<Float64Type>()
                .unary(|x: f64| if x.is_nan() { f64::NAN } else { x + 0.0 });
            Arc::new(a)
        }
        DataType::Float32 => {
            let a: Float32Array = array
                .as_primitive::<Float32Type>()
                .unary(|x: f32| if x.is_nan() { f32::NAN } else { x + 0.0 });
            Arc::new(a)
        }
        _ => array.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::PhysicalExpr;
    use crate::test_util::{bools, ints, lit_i64, lit_null};
    use arrow::array::{BooleanArray, Date32Array, Decimal128Array, Int32Array, StringArray};
    use arrow::datatypes::{Decimal128Type, Int32Type, Int64Type, Schema};
    use arrow::record_batch::RecordBatch;

    proptest::proptest! {
        #![proptest_config(crate::test_util::proptest_config())]

        /// `text_equals_any` agrees with Arrow's `=` ORed over the needles
        /// (and NOT for `negated`), NULLs included, across the 8-byte limit.
        #[test]
        fn text_equals_any_agrees_with_arrow(
            values in proptest::collection::vec(proptest::option::weighted(0.9, "[ab]{0,10}"), 0..200),
            needles in proptest::collection::vec("[ab]{0,10}", 1..4),
            negated in proptest::prelude::any::<bool>(),
        ) {
            let array = StringArray::from(values.clone());
            let needle_bytes: Vec<&[u8]> = needles.iter().map(|n| n.as_bytes()).collect();
            let Some(got) = text_equals_any(&array, &needle_bytes, negated) else {
                // Left to Arrow's kernel: only when a needle is over 8 bytes.
                proptest::prop_assert!(needles.iter().any(|n| n.len() > 8));
                return Ok(());
            };
            let mut want: Option<BooleanArray> = None;
            for n in &needles {
                let eq = arrow::compute::kernels::cmp::eq(&array, &StringArray::new_scalar(n.as_str())).unwrap();
                want = Some(match want {
                    None => eq,
                    Some(w) => arrow::compute::or_kleene(&w, &eq).unwrap(),
                });
            }
            let mut want = want.unwrap();
            if negated {
                want = arrow::compute::not(&want).unwrap();
            }
            proptest::prop_assert_eq!(got.as_boolean(), &want);
        }
    }

    fn batch(columns: Vec<ArrayRef>) -> RecordBatch {
        crate::test_util::nullable_batch(
            columns
                .into_iter()
                .enumerate()
                .map(|(i, c)| (format!("c{i}"), c)),
        )
        .unwrap()
    }

    fn bin(op: BinaryOp, l: PhysicalExpr, r: PhysicalExpr) -> PhysicalExpr {
        PhysicalExpr::Binary {
            op,
            left: Box::new(l),
            right: Box::new(r),
        }
    }

    fn col(index: usize) -> PhysicalExpr {
        PhysicalExpr::Column { index }
    }

    /// Evaluates `c0 op c1` and checks that `data_type` agrees.
    fn eval(op: BinaryOp, l: ArrayRef, r: ArrayRef) -> Result<ArrayRef> {
        let b = batch(vec![l, r]);
        let e = bin(op, col(0), col(1));
        let out = e.evaluate(&b)?;
        assert_eq!(&e.data_type(&b.schema())?, out.data_type());
        Ok(out)
    }

    fn bool_vec(a: &ArrayRef) -> Vec<Option<bool>> {
        a.as_boolean().iter().collect()
    }

    fn int_vec(a: &ArrayRef) -> Vec<Option<i64>> {
        a.as_primitive::<Int64Type>().iter().collect()
    }

    #[test]
    fn kleene_truth_tables() {
        let vals = [Some(true), Some(false), None];
        let (mut l, mut r) = (vec![], vec![]);
        for a in vals {
            for b in vals {
                l.push(a);
                r.push(b);
            }
        }
        let and = eval(BinaryOp::And, bools(&l), bools(&r)).unwrap();
        let or = eval(BinaryOp::Or, bools(&l), bools(&r)).unwrap();
        let (t, f, n) = (Some(true), Some(false), None);
        assert_eq!(bool_vec(&and), vec![t, f, n, f, f, f, n, f, n]);
        assert_eq!(bool_vec(&or), vec![t, t, t, t, f, n, t, n, n]);
    }

    #[test]
    fn kleene_with_null_literal_and_scalars() {
        let b = batch(vec![bools(&[Some(true), Some(false), None])]);
        let e = bin(BinaryOp::And, col(0), lit_null(DataType::Null));
        assert_eq!(e.data_type(&b.schema()).unwrap(), DataType::Boolean);
        assert_eq!(
            bool_vec(&e.evaluate(&b).unwrap()),
            vec![None, Some(false), None]
        );
        let f = PhysicalExpr::Literal {
            value: Arc::new(BooleanArray::from(vec![false])),
        };
        let e = bin(BinaryOp::And, f.clone(), lit_null(DataType::Boolean));
        assert_eq!(bool_vec(&e.evaluate(&b).unwrap()), vec![Some(false); 3]);
        let e = bin(BinaryOp::Or, col(0), f);
        assert_eq!(
            bool_vec(&e.evaluate(&b).unwrap()),
            vec![Some(true), Some(false), None]
        );
        let e = bin(BinaryOp::Or, col(0), lit_i64(1));
        assert!(matches!(
            e.data_type(&b.schema()),
            Err(Error::Internal { .. })
        ));
        assert!(matches!(e.evaluate(&b), Err(Error::Internal { .. })));
    }

    #[test]
    fn comparisons_with_null_are_null() {
        let l = ints(&[Some(1), None, Some(3), Some(2)]);
        let r = ints(&[Some(1), Some(1), None, Some(3)]);
        let cases = [
            (BinaryOp::Eq, [Some(true), None, None, Some(false)]),
            (BinaryOp::NotEq, [Some(false), None, None, Some(true)]),
            (BinaryOp::Lt, [Some(false), None, None, Some(true)]),
            (BinaryOp::LtEq, [Some(true), None, None, Some(true)]),
            (BinaryOp::Gt, [Some(false), None, None, Some(false)]),
            (BinaryOp::GtEq, [Some(true), None, None, Some(false)]),
        ];
        for (op, want) in cases {
            let out = eval(op, l.clone(), r.clone()).unwrap();
            assert_eq!(bool_vec(&out), want.to_vec(), "{op:?}");
        }
        let b = batch(vec![l]);
        let e = bin(BinaryOp::Eq, col(0), lit_null(DataType::Null));
        assert_eq!(bool_vec(&e.evaluate(&b).unwrap()), vec![None; 4]);
        let e = bin(BinaryOp::Lt, lit_i64(2), col(0));
        assert_eq!(
            bool_vec(&e.evaluate(&b).unwrap()),
            vec![Some(false), None, Some(true), Some(false)]
        );
    }

    #[test]
    fn comparisons_over_many_types() {
        use arrow::array::*;
        let arrays: Vec<(ArrayRef, ArrayRef)> = vec![
            (
                Arc::new(Int32Array::from(vec![1, 2])),
                Arc::new(Int32Array::from(vec![2, 2])),
            ),
            (
                Arc::new(Float64Array::from(vec![1.0, 2.0])),
                Arc::new(Float64Array::from(vec![2.0, 2.0])),
            ),
            (
                Arc::new(StringArray::from(vec!["a", "b"])),
                Arc::new(StringArray::from(vec!["b", "b"])),
            ),
            (
                Arc::new(BooleanArray::from(vec![false, true])),
                Arc::new(BooleanArray::from(vec![true, true])),
            ),
            (
                Arc::new(Date32Array::from(vec![1, 2])),
                Arc::new(Date32Array::from(vec![2, 2])),
            ),
            (
                Arc::new(TimestampMicrosecondArray::from(vec![1, 2]).with_timezone("UTC")),
                Arc::new(TimestampMicrosecondArray::from(vec![2, 2]).with_timezone("UTC")),
            ),
            (
                Arc::new(TimestampMicrosecondArray::from(vec![1, 2])),
                Arc::new(TimestampMicrosecondArray::from(vec![2, 2])),
            ),
            (
                Arc::new(Time64MicrosecondArray::from(vec![1, 2])),
                Arc::new(Time64MicrosecondArray::from(vec![2, 2])),
            ),
            (
                Arc::new(BinaryArray::from(vec![&b"a"[..], b"b"])),
                Arc::new(BinaryArray::from(vec![&b"b"[..], b"b"])),
            ),
            (
                Arc::new(
                    Decimal128Array::from(vec![100, 200])
                        .with_precision_and_scale(10, 2)
                        .unwrap(),
                ),
                Arc::new(
                    Decimal128Array::from(vec![200, 200])
                        .with_precision_and_scale(10, 2)
                        .unwrap(),
                ),
            ),
        ];
        for (l, r) in arrays {
            let t = l.data_type().clone();
            let lt = eval(BinaryOp::Lt, l.clone(), r.clone()).unwrap();
            assert_eq!(bool_vec(&lt), vec![Some(true), Some(false)], "{t}");
            let eq = eval(BinaryOp::Eq, l, r).unwrap();
            assert_eq!(bool_vec(&eq), vec![Some(false), Some(true)], "{t}");
        }
    }

    #[test]
    fn mismatched_comparison_is_internal() {
        let l: ArrayRef = Arc::new(Int32Array::from(vec![1]));
        let r = ints(&[Some(1)]);
        assert!(matches!(
            eval(BinaryOp::Eq, l.clone(), r.clone()),
            Err(Error::Internal { .. })
        ));
        let s: ArrayRef = Arc::new(StringArray::from(vec!["1"]));
        assert!(matches!(
            eval(BinaryOp::Lt, s, r),
            Err(Error::Internal { .. })
        ));
    }

    #[test]
    fn decimal_comparison_rescales() {
        let l: ArrayRef = Arc::new(
            Decimal128Array::from(vec![150, 100])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        );
        let r: ArrayRef = Arc::new(
            Decimal128Array::from(vec![15, 15])
                .with_precision_and_scale(2, 1)
                .unwrap(),
        );
        assert_eq!(
            bool_vec(&eval(BinaryOp::Eq, l.clone(), r.clone()).unwrap()),
            vec![Some(true), Some(false)]
        );
        assert_eq!(
            bool_vec(&eval(BinaryOp::Lt, l, r).unwrap()),
            vec![Some(false), Some(true)]
        );
    }

    #[test]
    fn float_equality_is_sql_like() {
        let l: ArrayRef = Arc::new(Float64Array::from(vec![-0.0, f64::NAN, f64::NAN, 1e308]));
        let r: ArrayRef = Arc::new(Float64Array::from(vec![0.0, -f64::NAN, 1.0, f64::INFINITY]));
        assert_eq!(
            bool_vec(&eval(BinaryOp::Eq, l.clone(), r.clone()).unwrap()),
            vec![Some(true), Some(true), Some(false), Some(false)]
        );
        assert_eq!(
            bool_vec(&eval(BinaryOp::Gt, l, r).unwrap()),
            vec![Some(false), Some(false), Some(true), Some(false)]
        );
    }

    #[test]
    fn integer_arithmetic_is_checked() {
        let max = ints(&[Some(i64::MAX)]);
        let one = ints(&[Some(1)]);
        assert!(matches!(
            eval(BinaryOp::Add, max.clone(), one.clone()),
            Err(Error::Overflow { .. })
        ));
        assert!(matches!(
            eval(BinaryOp::Mul, max.clone(), ints(&[Some(2)])),
            Err(Error::Overflow { .. })
        ));
        let min = ints(&[Some(i64::MIN)]);
        assert!(matches!(
            eval(BinaryOp::Sub, min.clone(), one),
            Err(Error::Overflow { .. })
        ));
        assert!(matches!(
            eval(BinaryOp::Div, min.clone(), ints(&[Some(-1)])),
            Err(Error::Overflow { .. })
        ));
        // PostgreSQL: MIN % -1 = 0
        assert_eq!(
            int_vec(&eval(BinaryOp::Mod, min, ints(&[Some(-1)])).unwrap()),
            vec![Some(0)]
        );
        let l: ArrayRef = Arc::new(Int32Array::from(vec![i32::MAX]));
        let r: ArrayRef = Arc::new(Int32Array::from(vec![1]));
        assert!(matches!(
            eval(BinaryOp::Add, l, r),
            Err(Error::Overflow { .. })
        ));
    }

    #[test]
    fn integer_division_truncates() {
        let l = ints(&[Some(7), Some(-7), Some(7), Some(-7), None]);
        let r = ints(&[Some(2), Some(2), Some(-3), Some(3), Some(0)]);
        assert_eq!(
            int_vec(&eval(BinaryOp::Div, l.clone(), r.clone()).unwrap()),
            vec![Some(3), Some(-3), Some(-2), Some(-2), None]
        );
        assert_eq!(
            int_vec(&eval(BinaryOp::Mod, l, r).unwrap()),
            vec![Some(1), Some(-1), Some(1), Some(-1), None]
        );
    }

    #[test]
    fn division_by_zero() {
        for op in [BinaryOp::Div, BinaryOp::Mod] {
            let e = eval(op, ints(&[Some(1), Some(2)]), ints(&[Some(1), Some(0)]));
            assert!(matches!(e, Err(Error::DivisionByZero)), "{op:?}");
            let d = |v: i128| -> ArrayRef {
                Arc::new(
                    Decimal128Array::from(vec![v])
                        .with_precision_and_scale(10, 2)
                        .unwrap(),
                )
            };
            assert!(
                matches!(eval(op, d(100), d(0)), Err(Error::DivisionByZero)),
                "{op:?}"
            );
        }
        // a NULL divisor is NULL, not an error, and so is a NULL dividend
        let out = eval(
            BinaryOp::Div,
            ints(&[None, Some(1)]),
            ints(&[Some(0), None]),
        )
        .unwrap();
        assert_eq!(int_vec(&out), vec![None, None]);
        // by a scalar zero
        let b = batch(vec![ints(&[Some(1)])]);
        let e = bin(BinaryOp::Div, col(0), lit_i64(0));
        assert!(matches!(e.evaluate(&b), Err(Error::DivisionByZero)));
    }

    #[test]
    fn float_division_by_zero_is_ieee() {
        let l: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 0.0, -1.0]));
        let r: ArrayRef = Arc::new(Float64Array::from(vec![0.0, 0.0, 0.0]));
        let out = eval(BinaryOp::Div, l, r).unwrap();
        let out = out.as_primitive::<arrow::datatypes::Float64Type>();
        assert_eq!(out.value(0), f64::INFINITY);
        assert!(out.value(1).is_nan());
        assert_eq!(out.value(2), f64::NEG_INFINITY);
    }

    #[test]
    fn decimal_arithmetic_types_agree() {
        let a: ArrayRef = Arc::new(
            Decimal128Array::from(vec![150])
                .with_precision_and_scale(5, 2)
                .unwrap(),
        );
        let b: ArrayRef = Arc::new(
            Decimal128Array::from(vec![25])
                .with_precision_and_scale(3, 1)
                .unwrap(),
        );
        // each `eval` asserts data_type() == evaluate().data_type()
        let add = eval(BinaryOp::Add, a.clone(), b.clone()).unwrap();
        assert_eq!(add.data_type(), &DataType::Decimal128(6, 2));
        assert_eq!(add.as_primitive::<Decimal128Type>().value(0), 400);
        let mul = eval(BinaryOp::Mul, a.clone(), b.clone()).unwrap();
        assert_eq!(mul.data_type(), &DataType::Decimal128(9, 3));
        assert_eq!(mul.as_primitive::<Decimal128Type>().value(0), 3750);
        let div = eval(BinaryOp::Div, a.clone(), b.clone()).unwrap();
        assert_eq!(div.data_type(), &DataType::Decimal128(10, 6));
        assert_eq!(div.as_primitive::<Decimal128Type>().value(0), 600_000);
        eval(BinaryOp::Sub, a.clone(), b.clone()).unwrap();
        eval(BinaryOp::Mod, a, b).unwrap();
        let big: ArrayRef = Arc::new(
            Decimal128Array::from(vec![1])
                .with_precision_and_scale(38, 20)
                .unwrap(),
        );
        assert!(matches!(
            eval(BinaryOp::Mul, big.clone(), big),
            Err(Error::Internal { .. })
        ));
    }

    #[test]
    fn mismatched_arithmetic_is_internal() {
        let l: ArrayRef = Arc::new(Int32Array::from(vec![1]));
        assert!(matches!(
            eval(BinaryOp::Add, l, ints(&[Some(1)])),
            Err(Error::Internal { .. })
        ));
        let s: ArrayRef = Arc::new(StringArray::from(vec!["a"]));
        assert!(matches!(
            eval(BinaryOp::Add, s.clone(), s),
            Err(Error::Internal { .. })
        ));
        let schema = Schema::empty();
        let e = bin(
            BinaryOp::Add,
            lit_null(DataType::Null),
            lit_null(DataType::Null),
        );
        assert!(matches!(e.data_type(&schema), Err(Error::Internal { .. })));
    }

    #[test]
    fn null_literal_in_arithmetic_takes_other_type() {
        let b = batch(vec![Arc::new(Int32Array::from(vec![1, 2]))]);
        let e = bin(BinaryOp::Add, col(0), lit_null(DataType::Null));
        assert_eq!(e.data_type(&b.schema()).unwrap(), DataType::Int32);
        let out = e.evaluate(&b).unwrap();
        assert_eq!(out.as_primitive::<Int32Type>().null_count(), 2);
        let _ = Date32Array::from(vec![0]);
    }

    /// A decimal array of `values` (`None`: NULL) as `Decimal128(p, s)`.
    fn decimals(values: &[Option<i128>], p: u8, s: i8) -> ArrayRef {
        Arc::new(
            Decimal128Array::from(values.to_vec())
                .with_precision_and_scale(p, s)
                .unwrap(),
        )
    }

    proptest::proptest! {
        /// The unchecked path agrees with Arrow's checked kernels: values,
        /// NULLs and type, for arrays and scalars; where the bound fails it
        /// is not taken, and an overflow is still an error.
        #[test]
        fn unchecked_decimal_arithmetic_agrees_with_the_checked_kernels(
            left in proptest::collection::vec(proptest::option::weighted(0.9, -10i128.pow(20)..10i128.pow(20)), 1..40),
            right_seed in proptest::collection::vec(proptest::option::weighted(0.9, -10i128.pow(17)..10i128.pow(17)), 1..40),
            huge in proptest::bool::weighted(0.2),
            (l_digits, r_digits) in (1u32..=21, 1u32..=21),
            edge in proptest::sample::select(vec![0, i128::from(i64::MAX), -i128::from(i64::MAX), i128::from(i64::MIN), i128::from(i64::MAX) + 1]),
            (s1, s2) in (0i8..6, 0i8..6),
            (p1, p2) in (21u8..=38, 21u8..=38),
            op in proptest::sample::select(vec![BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul]),
            scalar in 0u8..3,
        ) {
            // Fewer digits on a side: the narrow (`i64`) multiplies, up to
            // magnitudes around `i64::MAX` (`edge`, on both sides of it).
            let n = left.len();
            let mut left: Vec<Option<i128>> = left.iter().map(|v| v.map(|v| v % 10i128.pow(l_digits))).collect();
            let mut right: Vec<Option<i128>> = (0..n).map(|i| right_seed[i % right_seed.len()].map(|v| v % 10i128.pow(r_digits))).collect();
            left[n / 2] = left[n / 2].map(|_| edge);
            if huge {
                right[0] = Some(i128::MAX / 3);
            }
            let l = decimals(&left, p1, s1);
            let r = decimals(&right, p2, s2);
            let (l, r): (ArrayRef, ArrayRef) = match scalar {
                1 => (l.slice(0, 1), r),
                2 => (l, r.slice(0, 1)),
                _ => (l, r),
            };
            let datum = |a: &ArrayRef, is_scalar: bool| -> Box<dyn Datum> {
                if is_scalar { Box::new(Scalar::new(a.clone())) } else { Box::new(a.clone()) }
            };
            let (ld, rd) = (datum(&l, scalar == 1), datum(&r, scalar == 2));
            let reference = match op {
                BinaryOp::Add => numeric::add(ld.as_ref(), rd.as_ref()),
                BinaryOp::Sub => numeric::sub(ld.as_ref(), rd.as_ref()),
                _ => numeric::mul(ld.as_ref(), rd.as_ref()),
            };
            let fast = decimal_without_overflow(op, ld.as_ref(), rd.as_ref());
            match (reference, fast) {
                (Ok(want), Some(got)) => {
                    let got = got.unwrap();
                    proptest::prop_assert_eq!(got.data_type(), want.data_type());
                    proptest::prop_assert_eq!(got.to_data(), want.to_data());
                }
                (Err(_), Some(got)) => proptest::prop_assert!(false, "checked kernel failed, fast path gave {got:?}"),
                (_, None) => {}
            }
            // The public path: the same answer or the same failure.
            let public = arithmetic(op, ld.as_ref(), rd.as_ref());
            let reference = match op {
                BinaryOp::Add => numeric::add(ld.as_ref(), rd.as_ref()),
                BinaryOp::Sub => numeric::sub(ld.as_ref(), rd.as_ref()),
                _ => numeric::mul(ld.as_ref(), rd.as_ref()),
            };
            proptest::prop_assert_eq!(public.is_ok(), reference.is_ok());
            if let (Ok(a), Ok(b)) = (public, reference) {
                proptest::prop_assert_eq!(a.to_data(), b.to_data());
            }
        }
    }

    proptest::proptest! {
        /// The OR bound is at least the largest magnitude, and less than
        /// twice it plus two.
        #[test]
        fn magnitude_bound_holds(values in proptest::collection::vec(proptest::num::i128::ANY, 0..20)) {
            let largest = values.iter().map(|v| v.unsigned_abs()).max();
            let bound = magnitude_bound(&values);
            match largest {
                None => proptest::prop_assert_eq!(bound, 0),
                Some(m) => {
                    proptest::prop_assert!(bound >= m, "{bound} < {m}");
                    proptest::prop_assert!(bound <= m.saturating_mul(2).saturating_add(2));
                }
            }
        }
    }

    #[test]
    fn unchecked_decimal_arithmetic_is_taken_when_the_bound_holds() {
        let a = decimals(&[Some(12_345), None, Some(-99)], 15, 2);
        let b = decimals(&[Some(7), Some(3), Some(100)], 15, 2);
        let out = decimal_without_overflow(BinaryOp::Mul, &a, &b)
            .expect("small values fit")
            .unwrap();
        assert_eq!(out.data_type(), &DataType::Decimal128(31, 4));
        let out = out.as_primitive::<Decimal128Type>();
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            [Some(86_415), None, Some(-9_900)]
        );
        let big = decimals(&[Some(i128::MAX / 2)], 38, 0);
        assert!(decimal_without_overflow(BinaryOp::Mul, &big, &big).is_none());
        assert!(matches!(
            arithmetic(BinaryOp::Mul, &big, &big),
            Err(Error::Overflow { .. }) | Err(Error::Arrow(_))
        ));
    }

    proptest::proptest! {
        /// A decimal column against a scalar, compared directly, agrees with
        /// the general path (both cast to `Decimal128(38, s)`, then Arrow's
        /// kernel), NULLs included, with the scalar on either side.
        #[test]
        fn decimal_compared_with_a_scalar_agrees_with_the_general_path(
            values in proptest::collection::vec(proptest::option::weighted(0.9, -10_000i128..10_000), 1..80),
            constant in -10_000i128..10_000,
            (s1, s2) in (0i8..5, 0i8..5),
            op in proptest::sample::select(vec![
                BinaryOp::Eq, BinaryOp::NotEq, BinaryOp::Lt,
                BinaryOp::LtEq, BinaryOp::Gt, BinaryOp::GtEq,
            ]),
            scalar_left in proptest::bool::ANY,
        ) {
            let n = values.len();
            let column = decimals(&values, 15, s1);
            let constant = decimals(&[Some(constant)], 9, s2);
            let (l, r) = if scalar_left {
                (Value::Scalar(constant.clone()), Value::Array(column.clone()))
            } else {
                (Value::Array(column.clone()), Value::Scalar(constant.clone()))
            };
            let fast = decimal_compare_scalar(op, &l, &r);
            proptest::prop_assert_eq!(fast.is_some(), s2 <= s1);
            let got = evaluate_binary(op, l.clone(), r.clone(), n).unwrap().into_array(n).unwrap();
            // The general path, by hand.
            let common = DataType::Decimal128(38, s1.max(s2));
            let (lc, rc) = (
                l.map(|a| comparable(a, &common)).unwrap(),
                r.map(|a| comparable(a, &common)).unwrap(),
            );
            let want = with_datums(&lc, &rc, |a, b| compare(op, a, b)).unwrap();
            proptest::prop_assert_eq!(got.to_data(), want.to_data());
        }
    }
}
