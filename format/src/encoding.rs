//! Column encodings: how the values of one column of a block are stored as bytes.
//!
//! [`encode_column`] turns an Arrow array of a column's [`SqlType`] into bytes,
//! [`decode_column`] turns untrusted bytes back into an Arrow array. The first
//! byte names the [`ColumnEncoding`]; today there is one, plain with a null
//! bitmap. Later encodings (dictionary, frame-of-reference + bit packing,
//! run-length, single value) get new tags and share the header and checksum.
//!
//! # Layout of an encoded column (plain, tag 1)
//!
//! Every integer is little-endian. `n` is the row count.
//!
//! | offset  | size        | field                                                   |
//! |---------|-------------|---------------------------------------------------------|
//! | 0       | 1           | encoding tag: 1 = plain                                 |
//! | 1       | 1           | flags: none are defined, must be 0                      |
//! | 2       | 4           | `row_count` n (u32)                                     |
//! | 6       | 4           | `null_count` (u32), at most n                           |
//! | 10      | ceil(n / 8) | null bitmap, present only when `null_count` > 0         |
//! | ...     | ...         | values, by type (below)                                 |
//! | end - 4 | 4           | crc32c of every byte before it                          |
//!
//! Null bitmap: bit `i % 8` (least significant first) of byte `i / 8` is 1 when
//! row `i` is valid. Exactly `n - null_count` bits are set; padding bits after
//! the last row are 0.
//!
//! Values:
//! - BOOLEAN: ceil(n / 8) bytes, bit-packed like the null bitmap, 1 = true.
//! - Fixed width, `n` values of `width` bytes each:
//!   SMALLINT i16 (2); INTEGER i32 (4); BIGINT i64 (8); NUMERIC(p, s) i128 (16),
//!   the unscaled value, at most `p` decimal digits; DOUBLE PRECISION f64 (8)
//!   and REAL f32 (4), IEEE 754 bit patterns (NaN payloads kept); DATE i32 (4),
//!   days since 1970-01-01; TIME i64 (8), microseconds since midnight;
//!   TIMESTAMP and TIMESTAMPTZ i64 (8), microseconds since 1970-01-01 00:00
//!   (UTC for TIMESTAMPTZ); INTERVAL (16), months i32, days i32, nanoseconds
//!   i64 (Arrow's month-day-nano); OID u32 (4).
//! - Variable width (TEXT, VARCHAR, CHAR, JSON: UTF-8; BYTES, GEOGRAPHY: any
//!   bytes): `n + 1` u32 offsets, then `offsets[n]` bytes of data; row `i` is
//!   `data[offsets[i]..offsets[i + 1]]`. `offsets[0]` is 0, offsets never
//!   decrease, and `offsets[n]` is at most `i32::MAX` (Arrow's `Utf8`/`Binary`).
//!
//! Null rows store zero: zero bytes for fixed widths, a 0 bit for BOOLEAN, an
//! empty range for variable widths.
//!
//! Invariant: the encoding is canonical. Each Arrow array has exactly one
//! encoding and the decoder rejects every other byte string, so a successful
//! decode re-encodes to the same bytes (the `format_column` fuzz target checks
//! it). VARCHAR(n) and CHAR(n) lengths are not checked here; that is the job of
//! whoever inserts the values.

use arrow::array::{Array, ArrayData, ArrayRef, AsArray, PrimitiveArray, make_array};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer};
use arrow::datatypes::{
    ArrowNativeType, ArrowPrimitiveType, Date32Type, Decimal128Type, DecimalType, Float32Type,
    Float64Type, Int16Type, Int32Type, Int64Type, IntervalMonthDayNano, IntervalMonthDayNanoType,
    Time64MicrosecondType, TimestampMicrosecondType, UInt32Type,
};

use crate::bytes::{ByteReader, ByteWriter};
use crate::checksum::crc32c;
use crate::error::{Error, Result};
use crate::types::SqlType;

/// Offset of the encoding tag (u8).
const TAG_OFFSET: usize = 0;
/// Offset of the flags (u8).
const FLAGS_OFFSET: usize = TAG_OFFSET + 1;
/// Offset of `row_count` (u32).
const ROW_COUNT_OFFSET: usize = FLAGS_OFFSET + 1;
/// Offset of `null_count` (u32).
const NULL_COUNT_OFFSET: usize = ROW_COUNT_OFFSET + 4;
/// Offset of the null bitmap, or of the values when there is no bitmap.
const HEADER_LEN: usize = NULL_COUNT_OFFSET + 4;
/// Length of the trailing crc32c.
const CHECKSUM_LEN: usize = 4;
/// Largest end offset of variable-width data (Arrow `Utf8`/`Binary` use i32).
const VAR_DATA_LEN_MAX: usize = i32::MAX as usize;

/// How the values of an encoded column are laid out (the tag in its first byte).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnEncoding {
    /// Plain values with a null bitmap (tag 1).
    Plain,
}

impl ColumnEncoding {
    /// The tag byte that starts an encoded column.
    pub fn tag(self) -> u8 {
        match self {
            ColumnEncoding::Plain => 1,
        }
    }

    /// The encoding of a tag byte, if it names one.
    pub fn from_tag(tag: u8) -> Option<ColumnEncoding> {
        [ColumnEncoding::Plain].into_iter().find(|e| e.tag() == tag)
    }
}

/// Encodes a column of type `ty` with the plain encoding (layout: module docs).
///
/// ```
/// use hyperctl_format::arrow::array::{Array, Int64Array};
/// use hyperctl_format::{SqlType, decode_column, encode_column};
///
/// let column = Int64Array::from(vec![Some(1), None, Some(i64::MIN)]);
/// let bytes = encode_column(SqlType::BigInt, &column)?;
/// let back = decode_column(SqlType::BigInt, &bytes, 0)?;
/// assert_eq!(back.as_ref(), &column as &dyn Array);
/// # Ok::<(), hyperctl_format::Error>(())
/// ```
///
/// # Errors
/// `TypeMismatch` when the array's data type is not `ty.to_arrow()`;
/// `ValueOutOfRange` for a NUMERIC value with more digits than the precision;
/// `TooLarge` for 2^32 rows or more, or more than `i32::MAX` bytes of string data.
pub fn encode_column(ty: SqlType, array: &dyn Array) -> Result<Vec<u8>> {
    if array.data_type() != &ty.to_arrow() {
        return Err(mismatch(ty, array));
    }
    let row_count = u32::try_from(array.len()).map_err(|_| Error::TooLarge {
        what: "column row count",
        len: array.len() as u64,
        max: u64::from(u32::MAX),
    })?;
    // None of our Arrow types has logical nulls apart from its null buffer.
    let nulls = array.nulls().filter(|n| n.null_count() > 0);
    let null_count = nulls.map_or(0, NullBuffer::null_count);
    let mut w = ByteWriter::new();
    w.put_u8(ColumnEncoding::Plain.tag());
    w.put_u8(0);
    w.put_u32(row_count);
    w.put_u32(null_count as u32);
    if let Some(nulls) = nulls {
        w.put_raw(&pack_bits(nulls.iter()));
    }
    encode_values(ty, array, &mut w)?;
    let checksum = crc32c(w.as_slice());
    w.put_u32(checksum);
    Ok(w.into_inner())
}

/// Decodes a column written by [`encode_column`] from untrusted bytes.
///
/// `base_offset` is where `bytes` start in a larger buffer or file; error
/// offsets are `base_offset` plus the position of the bad field in `bytes`.
/// Nothing is allocated before the bytes it stands for are known to be there.
///
/// # Errors
/// `Corrupt` naming the field and its offset: a checksum mismatch (checked
/// first), an unknown tag or flag, short input or trailing bytes, a null bitmap
/// that disagrees with `null_count`, a non-zero null value, bad string offsets,
/// invalid UTF-8, a NUMERIC value with more digits than the precision.
pub fn decode_column(ty: SqlType, bytes: &[u8], base_offset: u64) -> Result<ArrayRef> {
    let body = verify_checksum(bytes, base_offset)?;
    let mut r = ByteReader::new(body, base_offset);
    let tag = r.u8("column encoding tag")?;
    match ColumnEncoding::from_tag(tag) {
        Some(ColumnEncoding::Plain) => decode_plain(ty, &mut r),
        None => Err(Error::corrupt(
            at(base_offset, TAG_OFFSET),
            format!("column encoding tag: unknown tag {tag}"),
        )),
    }
}

fn at(base_offset: u64, position: usize) -> u64 {
    base_offset.saturating_add(position as u64)
}

fn mismatch(ty: SqlType, array: &dyn Array) -> Error {
    Error::TypeMismatch {
        sql_type: ty.to_string(),
        arrow_type: array.data_type().to_string(),
    }
}

/// Checks the trailing crc32c and returns the bytes it covers.
fn verify_checksum(bytes: &[u8], base_offset: u64) -> Result<&[u8]> {
    let len_min = HEADER_LEN + CHECKSUM_LEN;
    if bytes.len() < len_min {
        return Err(Error::corrupt(
            at(base_offset, bytes.len()),
            format!(
                "column: {} bytes, an encoded column has at least {len_min}",
                bytes.len()
            ),
        ));
    }
    let (body, stored) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
    let stored = u32::read_le(stored);
    let computed = crc32c(body);
    if stored != computed {
        return Err(Error::corrupt(
            at(base_offset, body.len()),
            format!("column checksum: stored {stored:#010x}, computed {computed:#010x}"),
        ));
    }
    Ok(body)
}

/// Decodes the rest of a plain column; `r` stands after the tag.
fn decode_plain(ty: SqlType, r: &mut ByteReader<'_>) -> Result<ArrayRef> {
    let flags_at = r.offset();
    let flags = r.u8("column flags")?;
    if flags != 0 {
        return Err(Error::corrupt(
            flags_at,
            format!("column flags: {flags:#04x}, no flags are defined"),
        ));
    }
    let rows = r.u32("row_count")? as usize;
    let null_count_at = r.offset();
    let null_count = r.u32("null_count")? as usize;
    if null_count > rows {
        return Err(Error::corrupt(
            null_count_at,
            format!("null_count: {null_count} is more than row_count {rows}"),
        ));
    }
    let nulls = read_nulls(r, rows, null_count)?;
    let values_at = r.offset();
    let buffers = decode_values(ty, r, rows, nulls.as_ref())?;
    r.finish("column values")?;
    let data = ArrayData::builder(ty.to_arrow())
        .len(rows)
        .nulls(nulls)
        .buffers(buffers)
        .build()
        .map_err(|e| Error::corrupt(values_at, format!("column values: not valid Arrow: {e}")))?;
    Ok(make_array(data))
}

fn read_nulls(
    r: &mut ByteReader<'_>,
    rows: usize,
    null_count: usize,
) -> Result<Option<NullBuffer>> {
    if null_count == 0 {
        return Ok(None);
    }
    let bitmap_at = r.offset();
    let bitmap = read_bits(r, rows, "null bitmap")?;
    let valid: usize = bitmap.iter().map(|b| b.count_ones() as usize).sum();
    if valid != rows - null_count {
        return Err(Error::corrupt(
            bitmap_at,
            format!(
                "null bitmap: {} null rows, null_count says {null_count}",
                rows - valid
            ),
        ));
    }
    let bits = BooleanBuffer::new(Buffer::from_vec(bitmap.to_vec()), 0, rows);
    Ok(Some(NullBuffer::new(bits)))
}

/// Reads ceil(rows / 8) bytes of bits and checks that the padding bits are 0.
fn read_bits<'a>(r: &mut ByteReader<'a>, rows: usize, what: &str) -> Result<&'a [u8]> {
    let start = r.offset();
    let bits = r.raw(rows.div_ceil(8), what)?;
    if let Some(&last) = bits.last()
        && !rows.is_multiple_of(8)
        && last >> (rows % 8) != 0
    {
        return Err(Error::corrupt(
            start.saturating_add(bits.len() as u64 - 1),
            format!("{what}: padding bits after the last row are not 0"),
        ));
    }
    Ok(bits)
}

/// Packs bits least significant first, 8 to a byte, padding with 0.
fn pack_bits(bits: impl ExactSizeIterator<Item = bool>) -> Vec<u8> {
    let mut out = vec![0u8; bits.len().div_ceil(8)];
    for (i, bit) in bits.enumerate() {
        out[i / 8] |= u8::from(bit) << (i % 8);
    }
    out
}

fn is_null(nulls: Option<&NullBuffer>, row: usize) -> bool {
    nulls.is_some_and(|n| n.is_null(row))
}

fn encode_values(ty: SqlType, array: &dyn Array, w: &mut ByteWriter) -> Result<()> {
    match ty {
        SqlType::Bool => {
            let a = array.as_boolean_opt().ok_or_else(|| mismatch(ty, array))?;
            let bits = (0..a.len()).map(|i| a.is_valid(i) && a.value(i));
            w.put_raw(&pack_bits(bits));
            Ok(())
        }
        SqlType::SmallInt => put_fixed::<Int16Type>(ty, array, w),
        SqlType::Int => put_fixed::<Int32Type>(ty, array, w),
        SqlType::BigInt => put_fixed::<Int64Type>(ty, array, w),
        SqlType::Numeric { precision, .. } => {
            check_precision(ty, array, precision)?;
            put_fixed::<Decimal128Type>(ty, array, w)
        }
        SqlType::Double => put_fixed::<Float64Type>(ty, array, w),
        SqlType::Real => put_fixed::<Float32Type>(ty, array, w),
        SqlType::Date => put_fixed::<Date32Type>(ty, array, w),
        SqlType::Time => put_fixed::<Time64MicrosecondType>(ty, array, w),
        SqlType::Timestamp | SqlType::TimestampTz => {
            put_fixed::<TimestampMicrosecondType>(ty, array, w)
        }
        SqlType::Interval => put_fixed::<IntervalMonthDayNanoType>(ty, array, w),
        SqlType::Oid => put_fixed::<UInt32Type>(ty, array, w),
        SqlType::Text | SqlType::Varchar { .. } | SqlType::Char { .. } | SqlType::Json => {
            let a = array
                .as_string_opt::<i32>()
                .ok_or_else(|| mismatch(ty, array))?;
            put_var(a.len(), |i| a.is_valid(i).then(|| a.value(i).as_bytes()), w)
        }
        SqlType::Bytes | SqlType::Geography => {
            let a = array
                .as_binary_opt::<i32>()
                .ok_or_else(|| mismatch(ty, array))?;
            put_var(a.len(), |i| a.is_valid(i).then(|| a.value(i)), w)
        }
        // Hyper does not persist arrays; the SQL layer rejects them first.
        SqlType::Array(_) => Err(mismatch(ty, array)),
    }
}

fn put_fixed<T>(ty: SqlType, array: &dyn Array, w: &mut ByteWriter) -> Result<()>
where
    T: ArrowPrimitiveType,
    T::Native: FixedWidth,
{
    let a: &PrimitiveArray<T> = array
        .as_primitive_opt::<T>()
        .ok_or_else(|| mismatch(ty, array))?;
    for (i, &value) in a.values().iter().enumerate() {
        let value = if a.is_valid(i) {
            value
        } else {
            T::Native::default()
        };
        value.write_le(w);
    }
    Ok(())
}

fn check_precision(ty: SqlType, array: &dyn Array, precision: u8) -> Result<()> {
    let a = array
        .as_primitive_opt::<Decimal128Type>()
        .ok_or_else(|| mismatch(ty, array))?;
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

/// Writes `rows + 1` offsets, then the data; `value(i)` is None for null rows.
fn put_var<'a>(
    rows: usize,
    value: impl Fn(usize) -> Option<&'a [u8]>,
    w: &mut ByteWriter,
) -> Result<()> {
    let mut end = 0usize;
    w.put_u32(0);
    for i in 0..rows {
        end += value(i).map_or(0, <[u8]>::len);
        if end > VAR_DATA_LEN_MAX {
            return Err(Error::TooLarge {
                what: "column string data bytes",
                len: end as u64,
                max: VAR_DATA_LEN_MAX as u64,
            });
        }
        w.put_u32(end as u32);
    }
    for i in 0..rows {
        w.put_raw(value(i).unwrap_or_default());
    }
    Ok(())
}

fn decode_values(
    ty: SqlType,
    r: &mut ByteReader<'_>,
    rows: usize,
    nulls: Option<&NullBuffer>,
) -> Result<Vec<Buffer>> {
    match ty {
        SqlType::Bool => read_bools(r, rows, nulls),
        SqlType::SmallInt => read_fixed::<i16>(r, rows, nulls, any_value),
        SqlType::Int | SqlType::Date => read_fixed::<i32>(r, rows, nulls, any_value),
        SqlType::BigInt | SqlType::Time | SqlType::Timestamp | SqlType::TimestampTz => {
            read_fixed::<i64>(r, rows, nulls, any_value)
        }
        SqlType::Numeric { precision, .. } => read_fixed::<i128>(r, rows, nulls, |v| {
            if Decimal128Type::is_valid_decimal_precision(v, precision) {
                Ok(())
            } else {
                Err(format!(
                    "NUMERIC value {v} has more than {precision} digits"
                ))
            }
        }),
        SqlType::Double => read_fixed::<f64>(r, rows, nulls, any_value),
        SqlType::Real => read_fixed::<f32>(r, rows, nulls, any_value),
        SqlType::Interval => read_fixed::<IntervalMonthDayNano>(r, rows, nulls, any_value),
        SqlType::Oid => read_fixed::<u32>(r, rows, nulls, any_value),
        SqlType::Text | SqlType::Varchar { .. } | SqlType::Char { .. } | SqlType::Json => {
            read_var(r, rows, nulls, true)
        }
        SqlType::Bytes | SqlType::Geography => read_var(r, rows, nulls, false),
        SqlType::Array(_) => Err(Error::corrupt(
            r.offset(),
            "an array column (arrays are not persisted)",
        )),
    }
}

fn read_bools(
    r: &mut ByteReader<'_>,
    rows: usize,
    nulls: Option<&NullBuffer>,
) -> Result<Vec<Buffer>> {
    let start = r.offset();
    let bits = read_bits(r, rows, "boolean values")?;
    for row in 0..rows {
        if is_null(nulls, row) && bits[row / 8] & (1 << (row % 8)) != 0 {
            return Err(Error::corrupt(
                start.saturating_add((row / 8) as u64),
                format!("boolean values: null row {row} is stored as true, must be false"),
            ));
        }
    }
    Ok(vec![Buffer::from_vec(bits.to_vec())])
}

/// The check of types whose every bit pattern is a value.
fn any_value<T>(_: T) -> std::result::Result<(), String> {
    Ok(())
}

/// Reads `rows` fixed-width values; null rows must be zero, `check` vets the rest.
fn read_fixed<T: FixedWidth>(
    r: &mut ByteReader<'_>,
    rows: usize,
    nulls: Option<&NullBuffer>,
    check: impl Fn(T) -> std::result::Result<(), String>,
) -> Result<Vec<Buffer>> {
    let start = r.offset();
    let len = rows.checked_mul(T::WIDTH).ok_or_else(|| {
        r.error(format!(
            "column values: {rows} rows of {} bytes overflow",
            T::WIDTH
        ))
    })?;
    let raw = r.raw(len, "column values")?;
    let mut values = Vec::with_capacity(rows);
    for (row, le) in raw.chunks_exact(T::WIDTH).enumerate() {
        let value_at = start.saturating_add((row * T::WIDTH) as u64);
        if is_null(nulls, row) {
            if le.iter().any(|&b| b != 0) {
                return Err(Error::corrupt(
                    value_at,
                    format!("column values: null row {row} is not stored as zero"),
                ));
            }
            values.push(T::default());
            continue;
        }
        let value = T::read_le(le);
        check(value).map_err(|what| Error::corrupt(value_at, format!("row {row}: {what}")))?;
        values.push(value);
    }
    Ok(vec![Buffer::from_vec(values)])
}

/// Reads `rows + 1` offsets and the data they point into.
fn read_var(
    r: &mut ByteReader<'_>,
    rows: usize,
    nulls: Option<&NullBuffer>,
    utf8: bool,
) -> Result<Vec<Buffer>> {
    let start = r.offset();
    let len = rows
        .checked_add(1)
        .and_then(|n| n.checked_mul(4))
        .ok_or_else(|| r.error(format!("value offsets: {rows} rows overflow")))?;
    let raw = r.raw(len, "value offsets")?;
    let data_len_max = r.remaining().min(VAR_DATA_LEN_MAX);
    let mut offsets = Vec::with_capacity(rows + 1);
    let mut prev = 0usize;
    for (i, le) in raw.chunks_exact(4).enumerate() {
        let offset_at = start.saturating_add(4 * i as u64);
        let offset = u32::read_le(le) as usize;
        let problem = if i == 0 && offset != 0 {
            Some(format!("is {offset}, must be 0"))
        } else if offset < prev {
            Some(format!("{offset} is below the one before, {prev}"))
        } else if offset > data_len_max {
            Some(format!(
                "{offset} is past the end of the data, {data_len_max}"
            ))
        } else if i > 0 && is_null(nulls, i - 1) && offset != prev {
            Some(format!("null row {} is not empty", i - 1))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(Error::corrupt(
                offset_at,
                format!("value offset {i}: {problem}"),
            ));
        }
        offsets.push(offset as i32);
        prev = offset;
    }
    let data_at = r.offset();
    let data = r.raw(prev, "value data")?;
    if utf8 {
        check_utf8(data, &offsets, data_at)?;
    }
    Ok(vec![
        Buffer::from_vec(offsets),
        Buffer::from_vec(data.to_vec()),
    ])
}

/// Checks that every row's string is UTF-8 (null rows are empty, so this
/// covers all of `data`).
fn check_utf8(data: &[u8], offsets: &[i32], data_at: u64) -> Result<()> {
    for (row, pair) in offsets.windows(2).enumerate() {
        let (start, end) = (pair[0] as usize, pair[1] as usize);
        if let Err(e) = std::str::from_utf8(&data[start..end]) {
            return Err(Error::corrupt(
                data_at.saturating_add((start + e.valid_up_to()) as u64),
                format!("string value of row {row}: not UTF-8"),
            ));
        }
    }
    Ok(())
}

/// A value stored as `WIDTH` little-endian bytes.
trait FixedWidth: ArrowNativeType {
    const WIDTH: usize;
    fn write_le(self, w: &mut ByteWriter);
    /// Reads a value from exactly `WIDTH` bytes.
    fn read_le(le: &[u8]) -> Self;
}

macro_rules! fixed_width {
    ($($t:ty),*) => {$(
        impl FixedWidth for $t {
            const WIDTH: usize = size_of::<$t>();
            fn write_le(self, w: &mut ByteWriter) {
                w.put_raw(&self.to_le_bytes());
            }
            fn read_le(le: &[u8]) -> Self {
                let mut bytes = [0u8; size_of::<$t>()];
                bytes.copy_from_slice(le);
                <$t>::from_le_bytes(bytes)
            }
        }
    )*};
}

fixed_width!(i16, i32, i64, i128, u32, f32, f64);

impl FixedWidth for IntervalMonthDayNano {
    const WIDTH: usize = 16;
    fn write_le(self, w: &mut ByteWriter) {
        w.put_raw(&self.months.to_le_bytes());
        w.put_raw(&self.days.to_le_bytes());
        w.put_raw(&self.nanoseconds.to_le_bytes());
    }
    fn read_le(le: &[u8]) -> Self {
        IntervalMonthDayNano::new(
            i32::read_le(&le[0..4]),
            i32::read_le(&le[4..8]),
            i64::read_le(&le[8..16]),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{BooleanArray, Int32Array, StringArray};

    #[test]
    fn tags_round_trip() {
        assert_eq!(ColumnEncoding::Plain.tag(), 1);
        assert_eq!(ColumnEncoding::from_tag(1), Some(ColumnEncoding::Plain));
        assert_eq!(ColumnEncoding::from_tag(0), None);
        assert_eq!(HEADER_LEN, 10);
    }

    #[test]
    fn layout_byte_by_byte() {
        let column = Int32Array::from(vec![Some(1), None, Some(-2)]);
        let bytes = encode_column(SqlType::Int, &column).unwrap();
        let mut expected = vec![1, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0b101];
        expected.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]);
        expected.extend_from_slice(&crc32c(&expected).to_le_bytes());
        assert_eq!(bytes, expected);

        let column = StringArray::from(vec![Some("é"), None, Some("")]);
        let bytes = encode_column(SqlType::Text, &column).unwrap();
        let mut expected = vec![1, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0b101];
        expected.extend_from_slice(&[0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0]);
        expected.extend_from_slice("é".as_bytes());
        expected.extend_from_slice(&crc32c(&expected).to_le_bytes());
        assert_eq!(bytes, expected);

        let column = BooleanArray::from(vec![true, false, true]);
        let bytes = encode_column(SqlType::Bool, &column).unwrap();
        let mut expected = vec![1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0b101];
        expected.extend_from_slice(&crc32c(&expected).to_le_bytes());
        assert_eq!(bytes, expected);
    }
}
