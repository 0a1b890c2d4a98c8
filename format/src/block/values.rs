//! The values of one column as the block encoders see them, and back to Arrow.
//!
//! Fixed-width values become `i128` keys: integers, dates, times, timestamps,
//! OIDs and NUMERIC keep their value (so key order is SQL order), BOOLEAN is 0
//! or 1, floats are their IEEE bit pattern and INTERVAL packs months, days and
//! nanoseconds into one 128-bit pattern. Variable-width values are byte slices.
//! Decoding skips the keys: it writes each type's native width (`native`
//! module) and [`fixed_array`] hands that allocation to Arrow.
//!
//! Invariant: null rows hold a copy of the nearest valid value before them (or
//! after them, for leading nulls), so nulls never add a dictionary entry, widen
//! a frame of reference or break a run. Their values are don't-care on decode.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, PrimitiveArray, StringArray,
};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{
    ArrowPrimitiveType, Date32Type, Decimal128Type, DecimalType, Float32Type, Float64Type,
    Int16Type, Int32Type, Int64Type, IntervalMonthDayNano, IntervalMonthDayNanoType,
    Time64MicrosecondType, TimestampMicrosecondType, UInt32Type,
};

use super::{Ctx, FixedPayload};
use crate::bytes::ByteWriter;
use crate::error::{Error, Result};
use crate::types::SqlType;

/// Longest value that [`VarOut::from_codes`] copies as a fixed-size move.
const SHORT_LEN: usize = 16;

/// Largest end offset of variable-width data (Arrow `Utf8`/`Binary` use i32).
pub(crate) const VAR_DATA_LEN_MAX: usize = i32::MAX as usize;

/// How the values of a SQL type are stored in a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    I16,
    I32,
    I64,
    U32,
    I128,
    F32,
    F64,
    Interval,
    Utf8,
    Binary,
}

impl Kind {
    pub(crate) fn of(ty: &SqlType) -> Kind {
        match ty {
            SqlType::Bool => Kind::Bool,
            SqlType::SmallInt => Kind::I16,
            SqlType::Int | SqlType::Date => Kind::I32,
            SqlType::BigInt | SqlType::Time | SqlType::Timestamp | SqlType::TimestampTz => {
                Kind::I64
            }
            SqlType::Oid => Kind::U32,
            SqlType::Numeric { .. } => Kind::I128,
            SqlType::Real => Kind::F32,
            SqlType::Double => Kind::F64,
            SqlType::Interval => Kind::Interval,
            SqlType::Text | SqlType::Varchar { .. } | SqlType::Char { .. } | SqlType::Json => {
                Kind::Utf8
            }
            // Arrays are never stored (encode_column rejects them first);
            // as bytes they would be rejected as a type mismatch.
            SqlType::Bytes | SqlType::Geography | SqlType::Array(_) => Kind::Binary,
        }
    }

    /// Bytes of one stored fixed-width value (BOOLEAN: 1); 0 for variable width.
    pub(crate) fn width(self) -> usize {
        match self {
            Kind::Bool => 1,
            Kind::I16 => 2,
            Kind::I32 | Kind::U32 | Kind::F32 => 4,
            Kind::I64 | Kind::F64 => 8,
            Kind::I128 | Kind::Interval => 16,
            Kind::Utf8 | Kind::Binary => 0,
        }
    }

    pub(crate) fn is_var(self) -> bool {
        matches!(self, Kind::Utf8 | Kind::Binary)
    }

    /// True when keys are the values themselves, in SQL order (frame of
    /// reference applies).
    pub(crate) fn is_integer_like(self) -> bool {
        matches!(
            self,
            Kind::Bool | Kind::I16 | Kind::I32 | Kind::I64 | Kind::U32 | Kind::I128
        )
    }

    fn is_signed(self) -> bool {
        matches!(self, Kind::I16 | Kind::I32 | Kind::I64 | Kind::I128)
    }

    /// Writes a key as `width` little-endian bytes.
    pub(crate) fn put_key(self, key: i128, w: &mut ByteWriter) {
        w.put_raw(&key.to_le_bytes()[..self.width()]);
    }

    /// Reads a key from `width` little-endian bytes (sign-extended for the
    /// signed kinds).
    pub(crate) fn read_key(self, le: &[u8]) -> i128 {
        let mut bytes = [0u8; 16];
        let n = le.len().min(16);
        bytes[..n].copy_from_slice(&le[..n]);
        let key = i128::from_le_bytes(bytes);
        if self.is_signed() && n < 16 {
            let shift = 128 - 8 * n as u32;
            (key << shift) >> shift
        } else {
            key
        }
    }
}

/// The values of a column, one per row, null rows filled (module docs).
#[derive(Debug)]
pub(crate) enum Values<'a> {
    Fixed(Vec<i128>),
    Var(Vec<&'a [u8]>),
}

/// A column ready for the encoders.
#[derive(Debug)]
pub(crate) struct Prepared<'a> {
    pub(crate) kind: Kind,
    pub(crate) rows: usize,
    /// Present only when there is at least one null.
    pub(crate) nulls: Option<NullBuffer>,
    pub(crate) values: Values<'a>,
}

impl Prepared<'_> {
    pub(crate) fn null_count(&self) -> usize {
        self.nulls.as_ref().map_or(0, NullBuffer::null_count)
    }

    pub(crate) fn is_valid(&self, row: usize) -> bool {
        self.nulls.as_ref().is_none_or(|n| n.is_valid(row))
    }
}

fn mismatch(ty: &SqlType, array: &dyn Array) -> Error {
    Error::TypeMismatch {
        sql_type: ty.to_string(),
        arrow_type: array.data_type().to_string(),
    }
}

/// Checks the array against `ty` and at most `rows_max` rows, and takes its values.
///
/// # Errors
/// `TypeMismatch`, `TooLarge`, or `ValueOutOfRange` for a NUMERIC value with
/// more digits than the precision.
pub(crate) fn prepare<'a>(
    ty: &SqlType,
    array: &'a dyn Array,
    rows_max: usize,
) -> Result<Prepared<'a>> {
    if array.data_type() != &ty.to_arrow() {
        return Err(mismatch(ty, array));
    }
    if array.len() > rows_max {
        return Err(Error::TooLarge {
            what: "block column row count",
            len: array.len() as u64,
            max: rows_max as u64,
        });
    }
    let kind = Kind::of(ty);
    let nulls = array.nulls().filter(|n| n.null_count() > 0).cloned();
    let valid = |row: usize| nulls.as_ref().is_none_or(|n| n.is_valid(row));
    let values = match kind {
        Kind::Bool => {
            let a = array.as_boolean_opt().ok_or_else(|| mismatch(ty, array))?;
            Values::Fixed(fill(a.len(), valid, 0, |i| i128::from(a.value(i))))
        }
        Kind::I16 => Values::Fixed(keys::<Int16Type>(ty, array, valid, i128::from)?),
        Kind::I32 if *ty == SqlType::Date => {
            Values::Fixed(keys::<Date32Type>(ty, array, valid, i128::from)?)
        }
        Kind::I32 => Values::Fixed(keys::<Int32Type>(ty, array, valid, i128::from)?),
        Kind::I64 if *ty == SqlType::BigInt => {
            Values::Fixed(keys::<Int64Type>(ty, array, valid, i128::from)?)
        }
        Kind::I64 if *ty == SqlType::Time => {
            Values::Fixed(keys::<Time64MicrosecondType>(ty, array, valid, i128::from)?)
        }
        Kind::I64 => Values::Fixed(keys::<TimestampMicrosecondType>(
            ty,
            array,
            valid,
            i128::from,
        )?),
        Kind::U32 => Values::Fixed(keys::<UInt32Type>(ty, array, valid, i128::from)?),
        Kind::I128 => {
            check_precision(ty, array)?;
            Values::Fixed(keys::<Decimal128Type>(ty, array, valid, |v| v)?)
        }
        Kind::F32 => Values::Fixed(keys::<Float32Type>(ty, array, valid, |v| {
            i128::from(v.to_bits())
        })?),
        Kind::F64 => Values::Fixed(keys::<Float64Type>(ty, array, valid, |v| {
            i128::from(v.to_bits())
        })?),
        Kind::Interval => Values::Fixed(keys::<IntervalMonthDayNanoType>(
            ty,
            array,
            valid,
            interval_key,
        )?),
        Kind::Utf8 => {
            let a = array
                .as_string_opt::<i32>()
                .ok_or_else(|| mismatch(ty, array))?;
            Values::Var(fill(a.len(), valid, &[][..], |i| a.value(i).as_bytes()))
        }
        Kind::Binary => {
            let a = array
                .as_binary_opt::<i32>()
                .ok_or_else(|| mismatch(ty, array))?;
            Values::Var(fill(a.len(), valid, &[][..], |i| a.value(i)))
        }
    };
    Ok(Prepared {
        kind,
        rows: array.len(),
        nulls,
        values,
    })
}

/// One value per row; null rows copy the valid value before them, leading
/// nulls the first valid value, an all-null column `none`.
fn fill<V: Copy>(
    rows: usize,
    valid: impl Fn(usize) -> bool,
    none: V,
    value: impl Fn(usize) -> V,
) -> Vec<V> {
    let first = (0..rows).find(|&i| valid(i)).map_or(none, &value);
    let mut last = first;
    let mut out = Vec::with_capacity(rows);
    for i in 0..rows {
        if valid(i) {
            last = value(i);
        }
        out.push(last);
    }
    out
}

fn keys<T: ArrowPrimitiveType>(
    ty: &SqlType,
    array: &dyn Array,
    valid: impl Fn(usize) -> bool,
    key: impl Fn(T::Native) -> i128,
) -> Result<Vec<i128>> {
    let a = array
        .as_primitive_opt::<T>()
        .ok_or_else(|| mismatch(ty, array))?;
    let values = a.values();
    Ok(fill(a.len(), valid, 0, |i| key(values[i])))
}

fn check_precision(ty: &SqlType, array: &dyn Array) -> Result<()> {
    let a = array
        .as_primitive_opt::<Decimal128Type>()
        .ok_or_else(|| mismatch(ty, array))?;
    let precision = a.precision();
    for (row, value) in a.iter().enumerate() {
        if let Some(v) = value
            && !Decimal128Type::is_valid_decimal_precision(v, precision)
        {
            return Err(Error::ValueOutOfRange {
                sql_type: ty.to_string(),
                row: row as u64,
                value: Decimal128Type::format_decimal(v, precision, a.scale()),
            });
        }
    }
    Ok(())
}

fn interval_key(v: IntervalMonthDayNano) -> i128 {
    let bits = u128::from(v.months as u32)
        | u128::from(v.days as u32) << 32
        | u128::from(v.nanoseconds as u64) << 64;
    bits as i128
}

fn interval_of_key(key: i128) -> IntervalMonthDayNano {
    let bits = key as u128;
    IntervalMonthDayNano::new(
        bits as u32 as i32,
        (bits >> 32) as u32 as i32,
        (bits >> 64) as u64 as i64,
    )
}

/// The f64 value of a float key (REAL widened exactly).
pub(crate) fn float_of_key(kind: Kind, key: i128) -> f64 {
    if kind == Kind::F32 {
        f64::from(f32::from_bits(key as u32))
    } else {
        f64::from_bits(key as u64)
    }
}

/// The Arrow array of a fixed-width column of type `ty`: decodes `payload`
/// straight into the native width of the type's Arrow buffer and hands that
/// allocation to Arrow (floats as their bit patterns, reinterpreted; only
/// BOOLEAN and INTERVAL take a second pass). Values are keys truncated to
/// the type's width, so that any payload gives some value.
///
/// # Errors
/// `Corrupt` as the payload decoders, and at the payload's start for a valid
/// NUMERIC value with more digits than the precision.
pub(crate) fn fixed_array(
    ty: &SqlType,
    ctx: &Ctx<'_>,
    payload: FixedPayload<'_>,
) -> Result<ArrayRef> {
    let nulls = ctx.nulls.cloned();
    Ok(match ty {
        SqlType::Bool => {
            let values = payload.decode::<u8>(ctx)?.values;
            let bits = BooleanBuffer::from_iter(values.iter().map(|&v| v & 1 != 0));
            Arc::new(BooleanArray::new(bits, nulls))
        }
        SqlType::SmallInt => native::<Int16Type>(payload.decode(ctx)?.values, nulls),
        SqlType::Int => native::<Int32Type>(payload.decode(ctx)?.values, nulls),
        SqlType::Date => native::<Date32Type>(payload.decode(ctx)?.values, nulls),
        SqlType::BigInt => native::<Int64Type>(payload.decode(ctx)?.values, nulls),
        SqlType::Time => native::<Time64MicrosecondType>(payload.decode(ctx)?.values, nulls),
        SqlType::Timestamp | SqlType::TimestampTz => {
            let values = payload.decode::<i64>(ctx)?.values;
            let a = PrimitiveArray::<TimestampMicrosecondType>::new(values.into(), nulls);
            Arc::new(a.with_data_type(ty.to_arrow()))
        }
        SqlType::Oid => native::<UInt32Type>(payload.decode(ctx)?.values, nulls),
        SqlType::Numeric { precision, .. } => {
            let fixed = payload.decode::<i128>(ctx)?;
            let (lo, hi) = numeric_key_range(*precision);
            if !fixed.keys_within.is_some_and(|(a, b)| lo <= a && b <= hi) {
                check_numeric_keys(&fixed.values, *precision, ctx.nulls, payload.at)?;
            }
            // `ScalarBuffer::from(Vec)` takes the allocation: no copy.
            let a = PrimitiveArray::<Decimal128Type>::new(fixed.values.into(), nulls);
            Arc::new(a.with_data_type(ty.to_arrow()))
        }
        SqlType::Real => {
            let bits = Buffer::from_vec(payload.decode::<u32>(ctx)?.values);
            let values = ScalarBuffer::<f32>::from(bits);
            Arc::new(PrimitiveArray::<Float32Type>::new(values, nulls))
        }
        SqlType::Double => {
            let bits = Buffer::from_vec(payload.decode::<u64>(ctx)?.values);
            let values = ScalarBuffer::<f64>::from(bits);
            Arc::new(PrimitiveArray::<Float64Type>::new(values, nulls))
        }
        SqlType::Interval => {
            let keys = payload.decode::<i128>(ctx)?.values;
            let values = keys.into_iter().map(interval_of_key).collect();
            Arc::new(PrimitiveArray::<IntervalMonthDayNanoType>::new(
                values, nulls,
            ))
        }
        SqlType::Text
        | SqlType::Varchar { .. }
        | SqlType::Char { .. }
        | SqlType::Json
        | SqlType::Bytes
        | SqlType::Geography
        | SqlType::Array(_) => {
            return Err(Error::corrupt(
                payload.at,
                format!("{ty} values are not fixed-width"),
            ));
        }
    })
}

/// A primitive array that owns `values` (no copy).
fn native<T: ArrowPrimitiveType>(values: Vec<T::Native>, nulls: Option<NullBuffer>) -> ArrayRef {
    Arc::new(PrimitiveArray::<T>::new(values.into(), nulls))
}

/// The keys of valid rows that do not fit NUMERIC(`precision`) (none above
/// 38 digits do): a branch-free scan of every key first, and only when one is
/// out of range a second look that skips null rows.
///
/// # Errors
/// `Corrupt` at `at` naming the first valid row out of range.
pub(crate) fn check_numeric_keys(
    keys: &[i128],
    precision: u8,
    nulls: Option<&NullBuffer>,
    at: u64,
) -> Result<()> {
    let (lo, hi) = numeric_key_range(precision);
    if keys.iter().fold(true, |ok, &k| ok & (lo <= k) & (k <= hi)) {
        return Ok(());
    }
    let bad = keys
        .iter()
        .enumerate()
        .find(|&(row, &k)| nulls.is_none_or(|n| n.is_valid(row)) && !(lo <= k && k <= hi));
    match bad {
        Some((row, k)) => Err(Error::corrupt(
            at,
            format!("row {row}: NUMERIC value {k} has more than {precision} digits"),
        )),
        None => Ok(()),
    }
}

/// The smallest and largest key of NUMERIC(`precision`); an empty range
/// (1, 0) past 38 digits, where no value fits 128 bits.
pub(crate) fn numeric_key_range(precision: u8) -> (i128, i128) {
    match 10i128.checked_pow(u32::from(precision)) {
        Some(p) => (1 - p, p - 1),
        None => (1, 0),
    }
}

/// Variable-width values decoded: Arrow offsets and data.
#[derive(Debug, Default)]
pub(crate) struct VarOut {
    pub(crate) offsets: Vec<i32>,
    pub(crate) data: Vec<u8>,
}

impl VarOut {
    /// Every row's value, `dict[code(row)]`, null rows empty; sizes the data
    /// first so that nothing is allocated past `data_len_max`. Values of at
    /// most [`SHORT_LEN`] bytes (most dictionaries) are copied as fixed
    /// 16-byte moves from zero-padded copies of the entries, into data with
    /// 16 bytes of slack: no `memcpy` call a row.
    ///
    /// # Errors
    /// `Corrupt` at `at` when the values add up to more than `data_len_max`.
    ///
    /// # Panics
    /// When `code(row)` is not below `dict.len()`; callers check codes and
    /// run lengths against the payload first.
    pub(crate) fn from_codes(
        rows: usize,
        nulls: Option<&NullBuffer>,
        dict: &[&[u8]],
        code: impl Fn(usize) -> usize,
        data_len_max: usize,
        at: u64,
    ) -> Result<VarOut> {
        // Arrow offsets are i32, whatever the caller allows.
        let data_len_max = data_len_max.min(VAR_DATA_LEN_MAX);
        let lens: Vec<usize> = dict.iter().map(|v| v.len()).collect();
        // A row's length, 0 for null rows. At most 65,536 rows of at most
        // i32::MAX bytes each: the sum fits a u64.
        let len_of = |row: usize| {
            let valid = nulls.is_none_or(|n| n.is_valid(row));
            lens[code(row)] * usize::from(valid)
        };
        let total: u64 = (0..rows).map(|row| len_of(row) as u64).sum();
        if total > data_len_max as u64 {
            return Err(Error::corrupt(
                at,
                format!("values: more than {data_len_max} bytes of data"),
            ));
        }
        let total = total as usize;
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0i32);
        if lens.iter().all(|&len| len <= SHORT_LEN) {
            let slots: Vec<[u8; SHORT_LEN]> = dict
                .iter()
                .map(|v| {
                    let mut slot = [0u8; SHORT_LEN];
                    slot[..v.len()].copy_from_slice(v);
                    slot
                })
                .collect();
            let mut data = vec![0u8; total + SHORT_LEN];
            let mut end = 0usize;
            for row in 0..rows {
                // end <= total, so the 16 bytes fit the slack.
                data[end..end + SHORT_LEN].copy_from_slice(&slots[code(row)]);
                end += len_of(row);
                offsets.push(end as i32);
            }
            data.truncate(total);
            return Ok(VarOut { offsets, data });
        }
        let mut data = Vec::with_capacity(total);
        for row in 0..rows {
            let len = len_of(row);
            data.extend_from_slice(&dict[code(row)][..len]);
            // total <= data_len_max <= i32::MAX
            offsets.push(data.len() as i32);
        }
        Ok(VarOut { offsets, data })
    }

    /// The Arrow array of type `ty`; checks UTF-8 for the string types.
    ///
    /// # Errors
    /// `Corrupt` at `at` when the data is not valid for the type.
    pub(crate) fn into_array(
        self,
        ty: &SqlType,
        nulls: Option<NullBuffer>,
        at: u64,
    ) -> Result<ArrayRef> {
        // Offsets are built or checked to start at 0 and never decrease.
        let offsets = OffsetBuffer::new(self.offsets.into());
        let data = Buffer::from_vec(self.data);
        let bad = |e: arrow::error::ArrowError| Error::corrupt(at, format!("values: {e}"));
        Ok(if Kind::of(ty) == Kind::Utf8 {
            Arc::new(StringArray::try_new(offsets, data, nulls).map_err(bad)?)
        } else {
            Arc::new(BinaryArray::try_new(offsets, data, nulls).map_err(bad)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_bytes() {
        for (kind, key) in [
            (Kind::I16, -2i128),
            (Kind::I32, i128::from(i32::MIN)),
            (Kind::I64, i128::from(i64::MAX)),
            (Kind::U32, i128::from(u32::MAX)),
            (Kind::I128, -(10i128.pow(38) - 1)),
            (Kind::F64, i128::from(f64::NAN.to_bits())),
            (Kind::Interval, -1),
            (Kind::Bool, 1),
        ] {
            let mut w = ByteWriter::new();
            kind.put_key(key, &mut w);
            assert_eq!(w.len(), kind.width());
            assert_eq!(kind.read_key(w.as_slice()), key, "{kind:?}");
        }
        let v = IntervalMonthDayNano::new(-1, i32::MAX, i64::MIN);
        assert_eq!(interval_of_key(interval_key(v)), v);
    }

    #[test]
    fn nulls_copy_a_neighbour() {
        let valid = |i: usize| i == 2 || i == 4;
        assert_eq!(fill(6, valid, 0, |i| i * 10), [20, 20, 20, 20, 40, 40]);
        assert_eq!(fill(2, |_| false, 7, |i| i), [7, 7]);
    }

    #[test]
    fn numeric_keys_are_checked_in_valid_rows_only() {
        assert_eq!(numeric_key_range(0), (0, 0));
        assert_eq!(numeric_key_range(3), (-999, 999));
        assert_eq!(numeric_key_range(38).1, 10i128.pow(38) - 1);
        assert_eq!(numeric_key_range(39), (1, 0));
        let nulls = NullBuffer::from(vec![true, false, true]);
        assert!(check_numeric_keys(&[999, 1000, -999], 3, Some(&nulls), 7).is_ok());
        let err = check_numeric_keys(&[999, 1000, -1000], 3, Some(&nulls), 7);
        assert!(
            matches!(err, Err(Error::Corrupt { offset: 7, what }) if what.starts_with("row 2:"))
        );
        assert!(check_numeric_keys(&[999, 1000], 3, None, 7).is_err());
        assert!(check_numeric_keys(&[0], 39, None, 7).is_err());
        assert!(check_numeric_keys(&[], 3, None, 7).is_ok());
    }

    #[test]
    fn values_from_codes_short_and_long() {
        let nulls = NullBuffer::from(vec![true, false, true, true]);
        let codes = [1usize, 0, 0, 2];
        for dict in [
            [&b"a"[..], b"", b"0123456789abcdef"],
            [b"a", b"", b"0123456789abcdefg"],
        ] {
            let expected: Vec<u8> = [dict[1], dict[0], dict[2]].concat();
            for nulls in [None, Some(&nulls)] {
                let out = VarOut::from_codes(4, nulls, &dict, |row| codes[row], usize::MAX, 0);
                let out = out.unwrap();
                let skipped = if nulls.is_some() { 0 } else { dict[0].len() };
                let ends = [0, 0, skipped, skipped + 1, expected.len() + skipped];
                assert_eq!(out.offsets, ends.map(|e| e as i32), "{dict:?}");
                let mut data = [dict[1], dict[0], dict[0], dict[2]].concat();
                if nulls.is_some() {
                    data = expected.clone();
                }
                assert_eq!(out.data, data);
                assert_eq!(out.data.len(), *ends.last().unwrap());
            }
            let cap = expected.len() - 1;
            let err = VarOut::from_codes(4, Some(&nulls), &dict, |row| codes[row], cap, 9);
            assert!(matches!(err, Err(Error::Corrupt { offset: 9, .. })));
        }
        let empty = VarOut::from_codes(0, None, &[], |_| 0, 0, 0).unwrap();
        assert_eq!((empty.offsets, empty.data), (vec![0], vec![]));
    }
}
