//! Range selection on a block column's packed form: the rows whose value
//! lies in a [`ColumnRange`], found from the frame-of-reference distances or
//! the dictionary codes as they are stored, without decoding the column.
//!
//! A scan with a selective range predicate evaluates it here and then
//! materializes only the rows it selects ([`PackedColumn::take`], again
//! from the packed form), as Hyper's Data Blocks evaluate restrictions on
//! compressed data. The range becomes one
//! interval of codes: `reference + distance` is monotonic in the distance,
//! and a dictionary's values are sorted. So a row is selected when its code
//! lies in `[low, high]`, one subtraction and one unsigned comparison a row.
//!
//! Only integer-like columns (SMALLINT, INTEGER, BIGINT, DATE, TIME,
//! TIMESTAMP(TZ), OID, NUMERIC) in the constant, frame-of-reference and
//! dictionary encodings have a packed form; [`PackedColumn::parse`] returns
//! `None` for the others, and the caller then keeps every row.
//!
//! Invariant: [`PackedColumn::select`] returns exactly the non-null rows
//! whose decoded value ([`super::decode_block_column`]) lies in the range.
//! Where the decoded values would differ from the stored ones (a frame whose
//! distances could wrap in the type's width, an unsorted dictionary: neither
//! is ever written, but bytes can be crafted) or would fail to decode (a
//! NUMERIC value past the precision), `parse` returns `None`; [`take`]
//! gives the decoded column's rows.
//!
//! [`take`]: PackedColumn::take

use std::ops::Bound;
use std::sync::Arc;

use arrow::array::{ArrayRef, PrimitiveArray, StringBuilder};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{
    ArrowPrimitiveType, Date32Type, Decimal128Type, Int16Type, Int32Type, Int64Type,
    Time64MicrosecondType, TimestampMicrosecondType, UInt32Type,
};

use super::bitpack::{select_chunks, unpack_chunks};
use super::plain::read_slices;
use super::values::Kind;
use super::values::numeric_key_range;
use super::{BlockEncoding, ColumnRange, StatValue};
use super::{Ctx, VAR_DATA_LEN_MAX, decompress, dict, frame};
use super::{read_encoding, read_header_and_nulls, verify_checksum};
use crate::bytes::ByteReader;
use crate::error::{Error, Result};
use crate::types::SqlType;

/// A block column's values as codes, ready for range selection.
#[derive(Debug, Clone)]
pub struct PackedColumn {
    ty: SqlType,
    rows: usize,
    /// Validity bits (least significant first, 1 = valid) with [`PADDING`]
    /// zero bytes after them, when some row is null.
    valid: Option<Vec<u8>>,
    codes: Codes,
}

#[derive(Debug, Clone)]
enum Codes {
    /// Every row holds this key; `None` when every row is null.
    Constant(Option<i128>),
    /// Row `i` holds `reference + code(i)`.
    Frame { reference: i128, packed: Packed },
    /// Row `i` holds `values[code(i)]`; the values ascend strictly.
    Dictionary { values: Vec<i128>, packed: Packed },
    /// Text: row `i` holds `values[code(i)]`; the values ascend strictly,
    /// bytewise (a constant column is one value and codes of 0 bits; an
    /// all-null one no value).
    Text { values: Vec<String>, packed: Packed },
}

/// `rows` codes of `bits` bits (`bitpack` module layout), with 16 zero
/// bytes after them so that reading one code never runs off the end.
#[derive(Debug, Clone)]
struct Packed {
    bits: u32,
    bytes: Vec<u8>,
    /// Length of the packed codes without the padding.
    len: usize,
}

/// Zero bytes after the packed codes and the validity bits.
const PADDING: usize = 16;

impl Packed {
    fn new(bits: u32, packed: &[u8]) -> Packed {
        let mut bytes = Vec::with_capacity(packed.len() + PADDING);
        bytes.extend_from_slice(packed);
        bytes.resize(packed.len() + PADDING, 0);
        Packed {
            bits,
            bytes,
            len: packed.len(),
        }
    }

    /// The code of row `i` (`i` below the row count).
    #[inline(always)]
    fn get(&self, i: usize) -> u64 {
        if self.bits == 0 {
            return 0;
        }
        let bit = i * self.bits as usize;
        let (byte, shift) = (bit / 8, (bit % 8) as u32);
        let word = |at: usize| {
            self.bytes
                .get(at..at + 8)
                .and_then(|le| le.try_into().ok())
                .map_or(0, u64::from_le_bytes)
        };
        let mut v = word(byte) >> shift;
        if shift + self.bits > 64 {
            // `<< 1 << (63 - shift)` is `<< (64 - shift)` for shift 1..=7.
            v |= (word(byte + 8) << 1) << (63 - shift);
        }
        v & (u64::MAX >> (64 - self.bits))
    }

    fn largest_code(&self, rows: usize) -> u64 {
        let mut max = 0;
        unpack_chunks(&self.bytes[..self.len], self.bits, rows, |codes| {
            max = codes.iter().fold(max, |m, &c| m.max(c));
        });
        max
    }
}

impl PackedColumn {
    /// The packed form of an encoded block column of type `ty` and `rows`
    /// rows, or `None` when its type or encoding has none (module docs).
    ///
    /// # Errors
    /// `Corrupt`, as [`super::decode_block_column`] for the same bytes: a
    /// checksum mismatch, a bad header, null bitmap, bit width or length,
    /// a dictionary code out of range.
    pub fn parse(ty: &SqlType, bytes: &[u8], rows: usize) -> Result<Option<PackedColumn>> {
        let body = verify_checksum(bytes)?;
        let mut r = ByteReader::new(body, 0);
        let encoding = read_encoding(&mut r)?;
        let kind = Kind::of(ty);
        let text = kind == Kind::Utf8 && ty.to_arrow() == arrow::datatypes::DataType::Utf8;
        if !text && (!kind.is_integer_like() || kind == Kind::Bool) {
            return Ok(None);
        }
        let nulls = read_header_and_nulls(&mut r, rows)?;
        // As the constant encoder: no value when no row is valid (also for 0 rows).
        let all_null = nulls.as_ref().map_or(0, |n| n.null_count()) == rows;
        let valid = nulls.map(|n| {
            let mut bits = n.inner().values().to_vec();
            bits.resize(rows.div_ceil(8) + PADDING, 0);
            bits
        });
        let width = kind.width();
        if text {
            let payload_at = r.offset();
            let rest = r.raw(r.remaining(), "payload")?;
            let codes = match parse_text(encoding, rest, payload_at, rows, all_null)? {
                Some(codes) => codes,
                None => return Ok(None),
            };
            return Ok(Some(PackedColumn {
                ty: *ty,
                rows,
                valid,
                codes,
            }));
        }
        let codes = match encoding {
            BlockEncoding::Constant if all_null => Codes::Constant(None),
            BlockEncoding::Constant => {
                Codes::Constant(Some(kind.read_key(r.raw(width, "constant value")?)))
            }
            BlockEncoding::ForBitpack => {
                let (reference, bits, packed) = frame::read(width, rows, &mut r)?;
                let reference = kind.read_key(reference);
                let packed = Packed::new(bits, packed);
                // Decoding wraps in the type's width: if the largest
                // distance could pass the type's maximum, stored and decoded
                // values may differ.
                let top = if bits == 0 {
                    0
                } else {
                    u64::MAX >> (64 - bits)
                };
                match reference.checked_add(i128::from(top)) {
                    Some(high) if high <= max_key(kind) => {}
                    _ => return Ok(None),
                }
                Codes::Frame { reference, packed }
            }
            BlockEncoding::Dictionary => {
                let ctx = Ctx {
                    kind,
                    rows,
                    nulls: None,
                    data_len_max: 0,
                };
                let count = dict::read_count(&ctx, &mut r)?;
                let raw = r.raw(count * width, "dictionary values")?;
                let values: Vec<i128> = raw.chunks_exact(width).map(|v| kind.read_key(v)).collect();
                let (bits, codes, codes_at) = dict::read_codes(&ctx, &mut r)?;
                let packed = Packed::new(bits, codes);
                if rows > 0 && packed.largest_code(rows) >= count as u64 {
                    return Err(dict::bad_code(codes, bits, rows, count, codes_at));
                }
                if !values.is_sorted_by(|a, b| a < b) {
                    return Ok(None);
                }
                Codes::Dictionary { values, packed }
            }
            _ => return Ok(None),
        };
        r.finish("payload")?;
        // NUMERIC keys past the precision are an error of decoding, which
        // checks each row; leave such a column to it.
        if let SqlType::Numeric { precision, .. } = ty {
            let (lo, hi) = numeric_key_range(*precision);
            let within = match &codes {
                Codes::Constant(None) => true,
                Codes::Constant(Some(k)) => (lo..=hi).contains(k),
                Codes::Frame { reference, packed } => {
                    let top = if packed.bits == 0 {
                        0
                    } else {
                        u64::MAX >> (64 - packed.bits)
                    };
                    lo <= *reference
                        && reference
                            .checked_add(i128::from(top))
                            .is_some_and(|h| h <= hi)
                }
                Codes::Dictionary { values, .. } => values.iter().all(|k| (lo..=hi).contains(k)),
                Codes::Text { .. } => false,
            };
            if !within {
                return Ok(None);
            }
        }
        Ok(Some(PackedColumn {
            ty: *ty,
            rows,
            valid,
            codes,
        }))
    }

    /// Rows `rows` (each below [`rows`](Self::rows)) as an array of the
    /// column's type: what decoding the column and taking those rows gives.
    pub fn take(&self, rows: &[u32]) -> ArrayRef {
        let last = self.rows.saturating_sub(1);
        if let Codes::Text { values, packed } = &self.codes {
            let bytes: usize = rows
                .iter()
                .map(|&i| text_of(values, packed, (i as usize).min(last)).len())
                .sum();
            let mut out = StringBuilder::with_capacity(rows.len(), bytes);
            for &i in rows {
                let i = (i as usize).min(last);
                if self.is_valid(i) {
                    out.append_value(text_of(values, packed, i));
                } else {
                    out.append_null();
                }
            }
            return Arc::new(out.finish());
        }
        // One loop per representation, so that the match is not per row.
        let keys: Vec<i128> = match &self.codes {
            Codes::Constant(k) => vec![k.unwrap_or(0); rows.len()],
            Codes::Frame { reference, packed } => rows
                .iter()
                .map(|&i| reference + i128::from(packed.get((i as usize).min(last))))
                .collect(),
            Codes::Dictionary { values, packed } => rows
                .iter()
                .map(|&i| {
                    let code = packed.get((i as usize).min(last)) as usize;
                    values.get(code).copied().unwrap_or(0)
                })
                .collect(),
            Codes::Text { .. } => Vec::new(),
        };
        let nulls = self.valid.as_ref().map(|v| {
            NullBuffer::from_iter(rows.iter().map(|&i| {
                let i = i as usize;
                v.get(i / 8).is_some_and(|b| b >> (i % 8) & 1 == 1)
            }))
        });
        fn native<T: ArrowPrimitiveType>(
            values: impl Iterator<Item = T::Native>,
            nulls: Option<NullBuffer>,
        ) -> PrimitiveArray<T> {
            PrimitiveArray::<T>::new(values.collect(), nulls)
        }
        let keys = keys.into_iter();
        // parse() keeps only integer-like types, whose keys fit the type.
        match self.ty {
            SqlType::SmallInt => Arc::new(native::<Int16Type>(keys.map(|k| k as i16), nulls)),
            SqlType::Int => Arc::new(native::<Int32Type>(keys.map(|k| k as i32), nulls)),
            SqlType::Date => Arc::new(native::<Date32Type>(keys.map(|k| k as i32), nulls)),
            SqlType::Oid => Arc::new(native::<UInt32Type>(keys.map(|k| k as u32), nulls)),
            SqlType::Numeric { .. } => {
                Arc::new(native::<Decimal128Type>(keys, nulls).with_data_type(self.ty.to_arrow()))
            }
            SqlType::BigInt => Arc::new(native::<Int64Type>(keys.map(|k| k as i64), nulls)),
            SqlType::Time => Arc::new(native::<Time64MicrosecondType>(
                keys.map(|k| k as i64),
                nulls,
            )),
            _ => Arc::new(
                native::<TimestampMicrosecondType>(keys.map(|k| k as i64), nulls)
                    .with_data_type(self.ty.to_arrow()),
            ),
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Whether some row is null.
    pub fn has_nulls(&self) -> bool {
        self.valid.is_some()
    }

    /// Bytes held (for a cache's budget).
    pub fn memory_size(&self) -> usize {
        let packed = match &self.codes {
            Codes::Constant(_) => 0,
            Codes::Frame { packed, .. } => packed.bytes.len(),
            Codes::Dictionary { values, packed } => packed.bytes.len() + 16 * values.len(),
            Codes::Text { values, packed } => {
                packed.bytes.len() + values.iter().map(|v| v.len() + 24).sum::<usize>()
            }
        };
        size_of::<PackedColumn>() + packed + self.valid.as_ref().map_or(0, Vec::len)
    }

    /// The non-null rows whose value lies in `range`, ascending; of
    /// `candidates` (ascending row numbers below [`rows`](Self::rows)) only,
    /// when given. `None` when the range's bounds are not of the column's
    /// kind (integers for integer-like types, bytes for text).
    pub fn select(&self, range: &ColumnRange, candidates: Option<&[u32]>) -> Option<Vec<u32>> {
        let Some((low, high)) = self.code_interval(range)? else {
            return Some(Vec::new());
        };
        let span = high - low;
        match (candidates, self.packed()) {
            (None, Some(p)) => {
                let mut out = Vec::new();
                select_chunks(
                    &p.bytes[..p.len],
                    p.bits,
                    self.rows,
                    low,
                    span,
                    |start, hits| self.push_valid(start, hits, &mut out),
                );
                Some(out)
            }
            _ => Some(self.select_by(|code| code.wrapping_sub(low) <= span, candidates)),
        }
    }

    /// The non-null rows whose value is one of `values` (`IN (...)`), as
    /// [`select`](Self::select). `None` when a value is not of the column's
    /// kind, or for more than 16 values.
    pub fn select_in(&self, values: &[StatValue], candidates: Option<&[u32]>) -> Option<Vec<u32>> {
        if values.len() > 16 {
            return None;
        }
        let mut codes = Vec::with_capacity(values.len());
        for v in values {
            let range = ColumnRange::eq(v.clone());
            if let Some((code, _)) = self.code_interval(&range)? {
                codes.push(code);
            }
        }
        if codes.is_empty() {
            return Some(Vec::new());
        }
        // Every value tested, branch-free: a list is short.
        Some(self.select_by(
            |code| codes.iter().fold(false, |f, &c| f | (c == code)),
            candidates,
        ))
    }

    /// The non-null rows (of `candidates`, when given) whose code passes `test`.
    fn select_by(&self, test: impl Fn(u64) -> bool, candidates: Option<&[u32]>) -> Vec<u32> {
        let packed = self.packed();
        let mut out = Vec::new();
        match (candidates, packed) {
            (Some(rows), packed) => {
                // Branch-free: each candidate is written, and kept by
                // moving past it only when it passes.
                out.resize(rows.len(), 0);
                let mut kept = 0;
                for &i in rows {
                    if i as usize >= self.rows {
                        break;
                    }
                    let code = packed.map_or(0, |p| p.get(i as usize));
                    out[kept] = i;
                    kept += usize::from(test(code) & self.is_valid(i as usize));
                }
                out.truncate(kept);
            }
            (None, None) => {
                if test(0) {
                    out.extend(
                        (0..self.rows)
                            .filter(|&i| self.is_valid(i))
                            .map(|i| i as u32),
                    );
                }
            }
            (None, Some(p)) => {
                let mut start = 0;
                unpack_chunks(&p.bytes[..p.len], p.bits, self.rows, |codes| {
                    let hits = codes
                        .iter()
                        .enumerate()
                        .fold(0u64, |m, (j, &c)| m | u64::from(test(c)) << j);
                    self.push_valid(start, hits, &mut out);
                    start += codes.len();
                });
            }
        }
        out
    }

    /// Pushes rows `start + j` for the bits `j` of `hits` whose row is valid.
    fn push_valid(&self, start: usize, mut hits: u64, out: &mut Vec<u32>) {
        if let Some(v) = &self.valid {
            hits &= v
                .get(start / 8..start / 8 + 8)
                .and_then(|le| le.try_into().ok())
                .map_or(0, u64::from_le_bytes);
        }
        while hits != 0 {
            out.push((start + hits.trailing_zeros() as usize) as u32);
            hits &= hits - 1;
        }
    }

    fn is_valid(&self, i: usize) -> bool {
        self.valid
            .as_ref()
            .is_none_or(|v| v.get(i / 8).is_some_and(|b| b >> (i % 8) & 1 == 1))
    }

    /// The codes, unless every row holds the same integer (code 0).
    fn packed(&self) -> Option<&Packed> {
        match &self.codes {
            Codes::Constant(_) => None,
            Codes::Frame { packed, .. }
            | Codes::Dictionary { packed, .. }
            | Codes::Text { packed, .. } => Some(packed),
        }
    }

    /// The codes `[low, high]` of the values in `range`: `Some(None)` when
    /// no row can hold one, `None` when its bounds are not of this column's
    /// kind.
    fn code_interval(&self, range: &ColumnRange) -> Option<Option<(u64, u64)>> {
        if let Codes::Text { values, .. } = &self.codes {
            let bytes = |b: &Bound<StatValue>| match b {
                Bound::Included(StatValue::Bytes(v)) => Some(Bound::Included(v.clone())),
                Bound::Excluded(StatValue::Bytes(v)) => Some(Bound::Excluded(v.clone())),
                Bound::Unbounded => Some(Bound::Unbounded),
                _ => None,
            };
            let (lower, upper) = (bytes(&range.lower)?, bytes(&range.upper)?);
            let from = match &lower {
                Bound::Included(l) => values.partition_point(|v| v.as_bytes() < l.as_slice()),
                Bound::Excluded(l) => values.partition_point(|v| v.as_bytes() <= l.as_slice()),
                Bound::Unbounded => 0,
            };
            let to = match &upper {
                Bound::Included(u) => values.partition_point(|v| v.as_bytes() <= u.as_slice()),
                Bound::Excluded(u) => values.partition_point(|v| v.as_bytes() < u.as_slice()),
                Bound::Unbounded => values.len(),
            };
            return Some((from < to).then(|| (from as u64, to as u64 - 1)));
        }
        let (low, high) = key_bounds(range)?;
        if low > high {
            return Some(None);
        }
        Some(match &self.codes {
            Codes::Constant(None) | Codes::Text { .. } => None,
            Codes::Constant(Some(key)) => (low..=high).contains(key).then_some((0, 0)),
            Codes::Frame { reference, packed } => {
                let top = if packed.bits == 0 {
                    0
                } else {
                    u64::MAX >> (64 - packed.bits)
                };
                let from = low.saturating_sub(*reference).max(0);
                let to = high.saturating_sub(*reference).min(i128::from(top));
                (from <= to).then_some((from as u64, to as u64))
            }
            Codes::Dictionary { values, .. } => {
                let from = values.partition_point(|v| *v < low);
                let to = values.partition_point(|v| *v <= high);
                (from < to).then(|| (from as u64, to as u64 - 1))
            }
        })
    }
}

/// The text of row `i`'s code ("" past the values: a null row of an
/// all-null column).
fn text_of<'a>(values: &'a [String], packed: &Packed, i: usize) -> &'a str {
    values
        .get(packed.get(i) as usize)
        .map_or("", String::as_str)
}

/// The codes of a text column's payload `rest` (at `at`), or `None` for an
/// encoding without them (plain).
fn parse_text(
    encoding: BlockEncoding,
    rest: &[u8],
    at: u64,
    rows: usize,
    all_null: bool,
) -> Result<Option<Codes>> {
    let raw;
    let (payload, at) = match encoding {
        BlockEncoding::DictionaryLz4 => {
            raw = decompress(rest, at, rows, VAR_DATA_LEN_MAX)?;
            (raw.as_slice(), 0)
        }
        BlockEncoding::Dictionary | BlockEncoding::Constant => (rest, at),
        _ => return Ok(None),
    };
    let mut r = ByteReader::new(payload, at);
    let utf8 = |v: &[u8], at: u64| {
        String::from_utf8(v.to_vec())
            .map_err(|e| Error::corrupt(at, format!("dictionary value: invalid UTF-8: {e}")))
    };
    let codes = if encoding == BlockEncoding::Constant {
        let value_at = r.offset();
        let values = if all_null {
            Vec::new()
        } else {
            vec![utf8(r.bytes("constant value")?, value_at)?]
        };
        Codes::Text {
            values,
            packed: Packed::new(0, &[]),
        }
    } else {
        let ctx = Ctx {
            kind: Kind::Utf8,
            rows,
            nulls: None,
            data_len_max: VAR_DATA_LEN_MAX,
        };
        let count = dict::read_count(&ctx, &mut r)?;
        let values_at = r.offset();
        let values = read_slices(&mut r, count, "dictionary")?
            .into_iter()
            .map(|v| utf8(v, values_at))
            .collect::<Result<Vec<String>>>()?;
        let (bits, codes, codes_at) = dict::read_codes(&ctx, &mut r)?;
        let packed = Packed::new(bits, codes);
        if rows > 0 && packed.largest_code(rows) >= count as u64 {
            return Err(dict::bad_code(codes, bits, rows, count, codes_at));
        }
        if !values.is_sorted_by(|a, b| a.as_bytes() < b.as_bytes()) {
            return Ok(None);
        }
        Codes::Text { values, packed }
    };
    r.finish("payload")?;
    Ok(Some(codes))
}

/// The largest key a value of `kind` holds.
fn max_key(kind: Kind) -> i128 {
    match kind {
        Kind::I16 => i128::from(i16::MAX),
        Kind::I32 => i128::from(i32::MAX),
        Kind::U32 => i128::from(u32::MAX),
        Kind::I64 => i128::from(i64::MAX),
        _ => i128::MAX,
    }
}

/// The inclusive key bounds of an integer range (`None` for another kind
/// of bound).
fn key_bounds(range: &ColumnRange) -> Option<(i128, i128)> {
    let key = |v: &StatValue| match v {
        StatValue::Int(v) => Some(i128::from(*v)),
        StatValue::Int128(v) => Some(*v),
        _ => None,
    };
    let low = match &range.lower {
        Bound::Included(v) => key(v)?,
        Bound::Excluded(v) => key(v)?.checked_add(1)?,
        Bound::Unbounded => i128::MIN,
    };
    let high = match &range.upper {
        Bound::Included(v) => key(v)?,
        Bound::Excluded(v) => key(v)?.checked_sub(1)?,
        Bound::Unbounded => i128::MAX,
    };
    Some((low, high))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, ArrayRef, AsArray, Date32Array, Decimal128Array, Int64Array};
    use arrow::datatypes::{Date32Type, Decimal128Type, Int64Type};
    use proptest::prelude::*;

    use super::*;
    use crate::block::{decode_block_column, encode_block_column_as};

    /// The keys of a decoded column (None for null rows).
    fn keys(array: &dyn Array) -> Vec<Option<i128>> {
        if let Some(a) = array.as_primitive_opt::<Int64Type>() {
            return a.iter().map(|v| v.map(i128::from)).collect();
        }
        if let Some(a) = array.as_primitive_opt::<Date32Type>() {
            return a.iter().map(|v| v.map(i128::from)).collect();
        }
        if let Some(a) = array.as_primitive_opt::<Int16Type>() {
            return a.iter().map(|v| v.map(i128::from)).collect();
        }
        if let Some(a) = array.as_primitive_opt::<UInt32Type>() {
            return a.iter().map(|v| v.map(i128::from)).collect();
        }
        if let Some(a) = array.as_primitive_opt::<TimestampMicrosecondType>() {
            return a.iter().map(|v| v.map(i128::from)).collect();
        }
        array.as_primitive::<Decimal128Type>().iter().collect()
    }

    fn bound(kind: u8, v: i64, numeric: bool) -> Bound<StatValue> {
        let value = if numeric {
            StatValue::Int128(i128::from(v))
        } else {
            StatValue::Int(v)
        };
        match kind % 3 {
            0 => Bound::Included(value),
            1 => Bound::Excluded(value),
            _ => Bound::Unbounded,
        }
    }

    fn column(ty: u8, values: &[Option<i64>]) -> (SqlType, ArrayRef) {
        match ty % 6 {
            3 => (
                SqlType::SmallInt,
                Arc::new(arrow::array::Int16Array::from_iter(
                    values.iter().map(|v| v.map(|v| v as i16)),
                )),
            ),
            4 => (
                SqlType::Oid,
                Arc::new(arrow::array::UInt32Array::from_iter(
                    values.iter().map(|v| v.map(|v| (v + 100) as u32)),
                )),
            ),
            5 => (
                SqlType::Timestamp,
                Arc::new(
                    arrow::array::TimestampMicrosecondArray::from(values.to_vec())
                        .with_data_type(SqlType::Timestamp.to_arrow()),
                ),
            ),
            0 => (SqlType::BigInt, Arc::new(Int64Array::from(values.to_vec()))),
            1 => (
                SqlType::Date,
                Arc::new(Date32Array::from_iter(
                    values.iter().map(|v| v.map(|v| v as i32)),
                )),
            ),
            _ => (
                SqlType::Numeric {
                    precision: 15,
                    scale: 2,
                },
                Arc::new(
                    Decimal128Array::from_iter(values.iter().map(|v| v.map(i128::from)))
                        .with_precision_and_scale(15, 2)
                        .unwrap(),
                ),
            ),
        }
    }

    proptest! {
        /// Every packed encoding selects exactly the non-null decoded rows
        /// in the range, of all rows and of random candidates.
        #[test]
        fn selects_the_decoded_rows_in_the_range(
            ty in 0u8..6,
            values in prop::collection::vec(prop::option::weighted(0.9, -40i64..40), 0..300),
            wide in any::<bool>(),
            lower in (0u8..3, -50i64..50),
            upper in (0u8..3, -50i64..50),
            picks in prop::collection::vec(any::<bool>(), 300),
        ) {
            // A wide column needs many bits (a frame of 40+ bits).
            let values: Vec<Option<i64>> = values
                .iter()
                .map(|v| v.map(|v| if wide && v > 30 { v << (40 - 32 * i64::from(ty % 6 > 2)) } else { v }))
                .collect();
            let (ty, array) = column(ty, &values);
            let numeric = matches!(ty, SqlType::Numeric { .. });
            let range = ColumnRange::new(
                bound(lower.0, lower.1, numeric),
                bound(upper.0, upper.1, numeric),
            );
            let candidates: Vec<u32> = (0..values.len() as u32)
                .filter(|&i| picks[i as usize])
                .collect();
            for encoding in BlockEncoding::ALL {
                let Ok(encoded) = encode_block_column_as(&ty, array.as_ref(), encoding) else {
                    continue;
                };
                let packed = PackedColumn::parse(&ty, &encoded.bytes, values.len()).unwrap();
                let has_form = matches!(
                    encoding,
                    BlockEncoding::Constant | BlockEncoding::ForBitpack | BlockEncoding::Dictionary
                );
                // A frame whose widest distance passes the type's maximum
                // (values near it) has none: decoding would wrap.
                let must = matches!(encoding, BlockEncoding::Constant | BlockEncoding::Dictionary);
                prop_assert!(has_form || packed.is_none(), "{}", encoding);
                prop_assert!(!must || packed.is_some(), "{}", encoding);
                let Some(packed) = packed else { continue };
                let decoded = decode_block_column(&ty, &encoded.bytes, values.len()).unwrap();
                let (low, high) = key_bounds(&range).unwrap_or((1, 0));
                let expected: Vec<u32> = keys(decoded.as_ref())
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| k.is_some_and(|k| (low..=high).contains(&k)))
                    .map(|(i, _)| i as u32)
                    .collect();
                let all = packed.select(&range, None);
                if key_bounds(&range).is_none() {
                    prop_assert_eq!(all, None);
                    continue;
                }
                prop_assert_eq!(all.as_ref(), Some(&expected), "{}", encoding);
                let taken = packed.take(&candidates);
                let indices = arrow::array::UInt32Array::from(candidates.clone());
                let reference = arrow::compute::take(decoded.as_ref(), &indices, None).unwrap();
                prop_assert!(taken.as_ref() == reference.as_ref(), "{} take", encoding);
                let list: Vec<StatValue> = [lower.1, upper.1, 7]
                    .iter()
                    .map(|&v| if numeric { StatValue::Int128(i128::from(v)) } else { StatValue::Int(v) })
                    .collect();
                let keys_in: Vec<i128> = [lower.1, upper.1, 7].iter().map(|&v| i128::from(v)).collect();
                let in_expected: Vec<u32> = keys(decoded.as_ref())
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| k.is_some_and(|k| keys_in.contains(&k)))
                    .map(|(i, _)| i as u32)
                    .collect();
                prop_assert_eq!(packed.select_in(&list, None), Some(in_expected.clone()), "{} in", encoding);
                let in_of_candidates: Vec<u32> =
                    in_expected.iter().copied().filter(|i| picks[*i as usize]).collect();
                prop_assert_eq!(packed.select_in(&list, Some(&candidates)), Some(in_of_candidates), "{} in of candidates", encoding);
                let some = packed.select(&range, Some(&candidates)).unwrap();
                let of_candidates: Vec<u32> =
                    expected.iter().copied().filter(|i| picks[*i as usize]).collect();
                prop_assert_eq!(some, of_candidates, "{} of candidates", encoding);
            }
        }
    }

    proptest! {
        /// Text: dictionary (also lz4) and constant columns select exactly
        /// the decoded rows in a bytewise range or an IN list, and take
        /// gives the decoded rows; plain text has no packed form.
        #[test]
        fn text_selects_the_decoded_rows(
            values in prop::collection::vec(
                prop::option::weighted(0.9, prop::sample::select(vec!["", "a", "ab", "abc", "b", "ba", "c", "é", "zz"])),
                0..300,
            ),
            lower in (0u8..3, prop::sample::select(vec!["", "a", "ab", "b", "bb", "c", "é", "zzz"])),
            upper in (0u8..3, prop::sample::select(vec!["", "a", "ab", "b", "bb", "c", "é", "zzz"])),
            list in prop::collection::vec(prop::sample::select(vec!["a", "ab", "ba", "q", "é"]), 1..4),
            picks in prop::collection::vec(any::<bool>(), 300),
        ) {
            let ty = SqlType::Text;
            let array = arrow::array::StringArray::from(values.clone());
            let bytes = |v: &str| StatValue::Bytes(v.as_bytes().to_vec());
            let bound = |(kind, v): (u8, &str)| match kind % 3 {
                0 => Bound::Included(bytes(v)),
                1 => Bound::Excluded(bytes(v)),
                _ => Bound::Unbounded,
            };
            let range = ColumnRange::new(bound(lower), bound(upper));
            let inside = |v: &str| {
                let v = v.as_bytes();
                (match lower.0 % 3 {
                    0 => v >= lower.1.as_bytes(),
                    1 => v > lower.1.as_bytes(),
                    _ => true,
                }) && (match upper.0 % 3 {
                    0 => v <= upper.1.as_bytes(),
                    1 => v < upper.1.as_bytes(),
                    _ => true,
                })
            };
            let candidates: Vec<u32> = (0..values.len() as u32).filter(|&i| picks[i as usize]).collect();
            let listed: Vec<StatValue> = list.iter().map(|v| bytes(v)).collect();
            for encoding in BlockEncoding::ALL {
                let Ok(encoded) = encode_block_column_as(&ty, &array, encoding) else {
                    continue;
                };
                let packed = PackedColumn::parse(&ty, &encoded.bytes, values.len()).unwrap();
                let has_form = matches!(
                    encoding,
                    BlockEncoding::Constant | BlockEncoding::Dictionary | BlockEncoding::DictionaryLz4
                );
                prop_assert_eq!(packed.is_some(), has_form, "{}", encoding);
                let Some(packed) = packed else { continue };
                let expected: Vec<u32> = values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_some_and(inside))
                    .map(|(i, _)| i as u32)
                    .collect();
                prop_assert_eq!(packed.select(&range, None), Some(expected.clone()), "{}", encoding);
                let of_candidates: Vec<u32> =
                    expected.iter().copied().filter(|i| picks[*i as usize]).collect();
                prop_assert_eq!(packed.select(&range, Some(&candidates)), Some(of_candidates), "{}", encoding);
                let in_expected: Vec<u32> = values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_some_and(|v| list.contains(&v)))
                    .map(|(i, _)| i as u32)
                    .collect();
                prop_assert_eq!(packed.select_in(&listed, None), Some(in_expected), "{} in", encoding);
                let decoded = decode_block_column(&ty, &encoded.bytes, values.len()).unwrap();
                let indices = arrow::array::UInt32Array::from(candidates.clone());
                let reference = arrow::compute::take(decoded.as_ref(), &indices, None).unwrap();
                prop_assert!(packed.take(&candidates).as_ref() == reference.as_ref(), "{} take", encoding);
                // Integer bounds are not a text column's.
                prop_assert_eq!(packed.select(&ColumnRange::eq(StatValue::Int(1)), None), None);
            }
        }
    }

    #[test]
    fn other_types_and_bounds_have_no_packed_form() {
        let bytes = arrow::array::BinaryArray::from(vec![&b"a"[..], b"b"]);
        let encoded = crate::block::encode_block_column(&SqlType::Bytes, &bytes).unwrap();
        assert!(
            PackedColumn::parse(&SqlType::Bytes, &encoded.bytes, 2)
                .unwrap()
                .is_none()
        );
        let ints = Int64Array::from(vec![1, 2, 3]);
        let encoded =
            encode_block_column_as(&SqlType::BigInt, &ints, BlockEncoding::ForBitpack).unwrap();
        let packed = PackedColumn::parse(&SqlType::BigInt, &encoded.bytes, 3)
            .unwrap()
            .unwrap();
        let text_range = ColumnRange::eq(StatValue::Bytes(b"x".to_vec()));
        assert_eq!(packed.select(&text_range, None), None);
        assert_eq!(
            packed.select_in(&[StatValue::Bytes(b"x".to_vec())], None),
            None
        );
        let mut bad = encoded.bytes.clone();
        bad[12] ^= 1;
        assert!(matches!(
            PackedColumn::parse(&SqlType::BigInt, &bad, 3),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn a_frame_that_could_wrap_has_no_packed_form() {
        // Reference i64::MAX - 1 with 2 bits: distance 3 would wrap.
        let ints = Int64Array::from(vec![i64::MAX - 1, i64::MAX]);
        let encoded =
            encode_block_column_as(&SqlType::BigInt, &ints, BlockEncoding::ForBitpack).unwrap();
        let packed = PackedColumn::parse(&SqlType::BigInt, &encoded.bytes, 2).unwrap();
        // 1 bit suffices for a distance of 1: no wrap, a packed form.
        assert!(packed.is_some());
        let mut bytes = encoded.bytes[..encoded.bytes.len() - 4].to_vec();
        // The bit width byte after the 8-byte reference, at offset 11 + 8.
        assert_eq!(bytes[19], 1);
        bytes[19] = 2;
        let crc = crate::checksum::crc32c(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        assert!(
            PackedColumn::parse(&SqlType::BigInt, &bytes, 2)
                .unwrap()
                .is_none()
        );
    }
}
