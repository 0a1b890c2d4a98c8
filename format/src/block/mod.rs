//! Compressed column encodings of frozen data blocks, and their statistics.
//!
//! A block holds up to [`BLOCK_ROWS_MAX`] rows; storage hands each of its
//! columns to [`encode_block_column`], which picks the cheapest fitting
//! lightweight scheme by encoded size (as Hyper's Data Blocks do, in our own
//! implementation): constant, frame of reference + bit packing, dictionary
//! with bit-packed codes, run length, or plain; large string payloads are also
//! tried with lz4. [`decode_block_column`] checks a crc32c and every length
//! before it allocates, and returns an Arrow array of the column's type:
//! fixed-width payloads decode in one pass straight into the buffer Arrow
//! keeps, in the type's own width (`native` module), and string payloads
//! into one offsets and one data buffer.
//! [`ColumnStats`] are the block's min, max and null count for block skipping.
//!
//! # Layout of an encoded block column
//!
//! Every integer is little-endian; `n` is the row count.
//!
//! | offset  | size        | field                                                  |
//! |---------|-------------|--------------------------------------------------------|
//! | 0       | 1           | layout version: 1                                      |
//! | 1       | 1           | encoding: 1 constant, 2 frame of reference + bit packing, 3 dictionary, 4 run length, 5 plain |
//! | 2       | 1           | flags: bit 0 = payload is lz4-compressed; others 0     |
//! | 3       | 4           | `row_count` n (u32), at most 65,536                    |
//! | 7       | 4           | `null_count` (u32), at most n                          |
//! | 11      | ceil(n / 8) | null bitmap, present only when `null_count` > 0        |
//! | ...     | ...         | payload, by encoding (below)                           |
//! | end - 4 | 4           | crc32c of every byte before it                         |
//!
//! Null bitmap: bit `i % 8` (least significant first) of byte `i / 8` is 1 when
//! row `i` is valid; exactly `n - null_count` bits are set and the padding
//! bits are 0 (as in the plain column encoding).
//!
//! Payloads (each module documents its own byte by byte): `constant`,
//! `frame` (frame of reference), `dict`, `rle`, `plain`. Fixed-width values
//! are stored in `width` bytes: BOOLEAN 1, SMALLINT 2, INTEGER/DATE/OID/REAL
//! 4, BIGINT/TIME/TIMESTAMP(TZ)/DOUBLE 8, NUMERIC/INTERVAL 16, in the plain
//! column encoding's byte order. Packed integers follow the `bitpack` module.
//! With the lz4 flag (only for plain and dictionary payloads of string and
//! byte types) the payload is a u32 `raw_len`, then one lz4 block that
//! decompresses to exactly `raw_len` bytes of the payload.
//!
//! Values of null rows are don't-care: encoders store a neighbouring valid
//! value there, decoders return whatever the payload holds (variable-width:
//! empty).
//!
//! Invariant: decoding never panics and never allocates more than the bytes
//! and `rows` it was given justify: every count is checked against `rows`
//! (at most 65,536) and the bytes left, and decoded string data against
//! `i32::MAX` (Arrow's limit) before it is allocated.

mod bitpack;
mod choose;
mod constant;
mod dict;
mod frame;
mod native;
mod packed;
mod plain;
mod rle;
mod stats;
mod values;

use std::fmt;

use arrow::array::{Array, ArrayRef};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer};

use crate::bytes::{ByteReader, ByteWriter};
use crate::checksum::crc32c;
use crate::error::{Error, Result};
use crate::types::SqlType;

use native::Native;
pub use packed::PackedColumn;
pub use stats::{ColumnRange, ColumnStats, STAT_BYTES_MAX, StatValue};
pub(crate) use values::VAR_DATA_LEN_MAX;
use values::{Kind, Prepared, VarOut, prepare};

/// Most rows of one block (and of one encoded block column).
pub const BLOCK_ROWS_MAX: usize = 65_536;

/// The layout version in the first byte.
const LAYOUT_VERSION: u8 = 1;
/// Offset of the layout version (u8).
const VERSION_OFFSET: usize = 0;
/// Offset of the encoding (u8).
const ENCODING_OFFSET: usize = VERSION_OFFSET + 1;
/// Offset of the flags (u8).
const FLAGS_OFFSET: usize = ENCODING_OFFSET + 1;
/// Offset of `row_count` (u32).
const ROW_COUNT_OFFSET: usize = FLAGS_OFFSET + 1;
/// Offset of `null_count` (u32).
const NULL_COUNT_OFFSET: usize = ROW_COUNT_OFFSET + 4;
/// Offset of the null bitmap, or of the payload when there is no bitmap.
const HEADER_LEN: usize = NULL_COUNT_OFFSET + 4;
/// Length of the trailing crc32c.
const CHECKSUM_LEN: usize = 4;
/// Flag bit: the payload is lz4-compressed.
const FLAG_LZ4: u8 = 1;

/// How one column of one block is stored. `Display` gives the short lowercase
/// name that `hyperctl info` shows.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockEncoding {
    /// One value for every row (also an all-null column).
    Constant,
    /// Frame of reference (the minimum) and bit-packed distances from it.
    ForBitpack,
    /// Sorted distinct values and bit-packed codes.
    Dictionary,
    /// Runs of equal values with their lengths.
    RunLength,
    /// Every value as it is.
    Plain,
    /// Plain, lz4-compressed (string and byte types).
    PlainLz4,
    /// Dictionary, lz4-compressed (string and byte types).
    DictionaryLz4,
}

impl BlockEncoding {
    /// Every encoding, in the chooser's order of preference at equal size.
    pub const ALL: [BlockEncoding; 7] = [
        BlockEncoding::Constant,
        BlockEncoding::ForBitpack,
        BlockEncoding::RunLength,
        BlockEncoding::Dictionary,
        BlockEncoding::Plain,
        BlockEncoding::DictionaryLz4,
        BlockEncoding::PlainLz4,
    ];

    /// True for the lz4-compressed variants.
    pub fn is_lz4(self) -> bool {
        matches!(self, BlockEncoding::PlainLz4 | BlockEncoding::DictionaryLz4)
    }

    /// The encoding without lz4.
    fn base(self) -> BlockEncoding {
        match self {
            BlockEncoding::PlainLz4 => BlockEncoding::Plain,
            BlockEncoding::DictionaryLz4 => BlockEncoding::Dictionary,
            other => other,
        }
    }

    fn with_lz4(self) -> Option<BlockEncoding> {
        match self {
            BlockEncoding::Plain => Some(BlockEncoding::PlainLz4),
            BlockEncoding::Dictionary => Some(BlockEncoding::DictionaryLz4),
            _ => None,
        }
    }

    /// The encoding byte of the layout (lz4 is a flag).
    fn tag(self) -> u8 {
        match self.base() {
            BlockEncoding::Constant => 1,
            BlockEncoding::ForBitpack => 2,
            BlockEncoding::Dictionary => 3,
            BlockEncoding::RunLength => 4,
            _ => 5,
        }
    }

    fn from_parts(tag: u8, flags: u8) -> Option<BlockEncoding> {
        let base = [
            BlockEncoding::Constant,
            BlockEncoding::ForBitpack,
            BlockEncoding::Dictionary,
            BlockEncoding::RunLength,
            BlockEncoding::Plain,
        ]
        .into_iter()
        .find(|e| e.tag() == tag)?;
        match flags {
            0 => Some(base),
            FLAG_LZ4 => base.with_lz4(),
            _ => None,
        }
    }

    /// Why this encoding cannot store values of `kind`, if it cannot.
    fn unfit_for(self, kind: Kind) -> Option<&'static str> {
        match self {
            BlockEncoding::ForBitpack if !kind.is_integer_like() => {
                Some("frame of reference needs an integer-like type")
            }
            BlockEncoding::Dictionary | BlockEncoding::DictionaryLz4 if kind == Kind::Bool => {
                Some("booleans have no dictionary (plain is one bit a row)")
            }
            BlockEncoding::PlainLz4 | BlockEncoding::DictionaryLz4 if !kind.is_var() => {
                Some("lz4 is only used for string and byte types")
            }
            _ => None,
        }
    }
}

impl fmt::Display for BlockEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BlockEncoding::Constant => "constant",
            BlockEncoding::ForBitpack => "for-bitpack",
            BlockEncoding::Dictionary => "dictionary",
            BlockEncoding::RunLength => "rle",
            BlockEncoding::Plain => "plain",
            BlockEncoding::PlainLz4 => "plain+lz4",
            BlockEncoding::DictionaryLz4 => "dictionary+lz4",
        })
    }
}

/// One encoded column of a block: its bytes, how they are encoded, and the
/// statistics of its values for the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedColumn {
    /// The encoded column (layout: module docs), crc32c included.
    pub bytes: Vec<u8>,
    /// The encoding of `bytes`.
    pub encoding: BlockEncoding,
    /// Row count, null count, min and max of the column.
    pub stats: ColumnStats,
}

/// Encodes a column of at most [`BLOCK_ROWS_MAX`] rows with the cheapest
/// fitting encoding (by encoded size; equal sizes go by [`BlockEncoding::ALL`]).
///
/// ```
/// use hyperctl_format::arrow::array::{Array, Int64Array};
/// use hyperctl_format::{BlockEncoding, SqlType, decode_block_column, encode_block_column};
///
/// let column = Int64Array::from_iter((0..1000).map(|i| Some(1_000_000 + i % 50)));
/// let encoded = encode_block_column(&SqlType::BigInt, &column)?;
/// assert_eq!(encoded.encoding, BlockEncoding::ForBitpack);
/// assert!(encoded.bytes.len() < 1000);
/// let back = decode_block_column(&SqlType::BigInt, &encoded.bytes, column.len())?;
/// assert_eq!(back.as_ref(), &column as &dyn Array);
/// # Ok::<(), hyperctl_format::Error>(())
/// ```
///
/// # Errors
/// `TypeMismatch` when the array's data type is not `ty.to_arrow()`;
/// `TooLarge` past [`BLOCK_ROWS_MAX`] rows or `i32::MAX` bytes of string data;
/// `ValueOutOfRange` for a NUMERIC value with more digits than the precision.
pub fn encode_block_column(ty: &SqlType, array: &dyn Array) -> Result<EncodedColumn> {
    let prep = prepare(ty, array, BLOCK_ROWS_MAX)?;
    let stats = ColumnStats::of_prepared(&prep)?;
    let (encoding, payload) = choose::best(ty, &prep)?;
    Ok(EncodedColumn {
        bytes: assemble(&prep, encoding, &payload),
        encoding,
        stats,
    })
}

/// Encodes a column with the given encoding (for tests and benches).
///
/// # Errors
/// As [`encode_block_column`], and `EncodingNotApplicable` when `encoding`
/// cannot store this type or these values (frame of reference for text,
/// constant for two different values, ...).
pub fn encode_block_column_as(
    ty: &SqlType,
    array: &dyn Array,
    encoding: BlockEncoding,
) -> Result<EncodedColumn> {
    let prep = prepare(ty, array, BLOCK_ROWS_MAX)?;
    let stats = ColumnStats::of_prepared(&prep)?;
    let plan = choose::plan(ty, &prep, encoding)?;
    let payload = choose::write(&prep, &plan)?;
    // The chooser trusts these sizes; every forced encoding in a test checks them.
    debug_assert_eq!(choose::len(&prep, &plan), payload.len(), "{ty} {encoding}");
    let payload = if encoding.is_lz4() {
        compress(&payload)
    } else {
        payload
    };
    Ok(EncodedColumn {
        bytes: assemble(&prep, encoding, &payload),
        encoding,
        stats,
    })
}

/// Decodes a block column of type `ty` and `rows` rows from untrusted bytes.
///
/// # Errors
/// `Corrupt` naming the field and its offset in `bytes`: a checksum mismatch
/// (checked first), an unknown version, encoding or flag, a row count other
/// than `rows` or above [`BLOCK_ROWS_MAX`], short input or trailing bytes, a
/// null bitmap that disagrees with `null_count`, a count, code, offset or
/// run length out of range, lz4 data that does not decompress, invalid UTF-8,
/// a NUMERIC value with more digits than the precision.
pub fn decode_block_column(ty: &SqlType, bytes: &[u8], rows: usize) -> Result<ArrayRef> {
    decode_limited(ty, bytes, rows, VAR_DATA_LEN_MAX)
}

/// The encoding recorded in encoded bytes.
///
/// # Errors
/// `Corrupt` for a checksum mismatch, short input, or an unknown version,
/// encoding or flag.
pub fn block_encoding_of(bytes: &[u8]) -> Result<BlockEncoding> {
    let body = verify_checksum(bytes)?;
    let mut r = ByteReader::new(body, 0);
    read_encoding(&mut r)
}

/// Where a payload decoder starts.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub(crate) kind: Kind,
    pub(crate) rows: usize,
    pub(crate) nulls: Option<&'a NullBuffer>,
    /// Most bytes of variable-width data the decoder may produce.
    pub(crate) data_len_max: usize,
}

/// What a fixed-width payload decoder returns: one value a row, in the
/// column's native width (`native` module docs).
#[derive(Debug)]
pub(crate) struct Fixed<T> {
    pub(crate) values: Vec<T>,
    /// Keys (inclusive) that every value lies between, when the payload
    /// gives them without a look at each row (a frame's reference and its
    /// widest distance, a dictionary's or the runs' values); the NUMERIC
    /// precision check then needs no pass over the rows.
    pub(crate) keys_within: Option<(i128, i128)>,
}

/// A fixed-width payload (never lz4) and where it starts in the block column.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FixedPayload<'a> {
    encoding: BlockEncoding,
    bytes: &'a [u8],
    pub(crate) at: u64,
}

impl FixedPayload<'_> {
    /// Decodes every row into a value of `T`, whose width must be the
    /// column kind's (`native` module docs).
    ///
    /// # Errors
    /// `Corrupt` as [`decode_block_column`]; `Internal` when `T` does not
    /// have the kind's width (a bug of the caller).
    pub(crate) fn decode<T: Native>(&self, ctx: &Ctx<'_>) -> Result<Fixed<T>> {
        if T::WIDTH != ctx.kind.width() || ctx.kind.is_var() {
            return Err(Error::Internal {
                what: "block decode: native width differs from the column's",
            });
        }
        let mut p = ByteReader::new(self.bytes, self.at);
        let fixed = match self.encoding.base() {
            BlockEncoding::Constant => constant::decode_fixed(ctx, &mut p)?,
            BlockEncoding::ForBitpack => frame::decode(ctx, &mut p)?,
            BlockEncoding::Dictionary => dict::decode_fixed(ctx, &mut p)?,
            BlockEncoding::RunLength => rle::decode_fixed(ctx, &mut p)?,
            _ => plain::decode_fixed(ctx.kind, ctx.rows, &mut p)?,
        };
        p.finish("payload")?;
        Ok(fixed)
    }
}

/// Header, null bitmap, payload (already compressed when lz4) and crc32c.
fn assemble(prep: &Prepared<'_>, encoding: BlockEncoding, payload: &[u8]) -> Vec<u8> {
    let mut w = ByteWriter::new();
    w.put_u8(LAYOUT_VERSION);
    w.put_u8(encoding.tag());
    w.put_u8(if encoding.is_lz4() { FLAG_LZ4 } else { 0 });
    // prepare() allows at most BLOCK_ROWS_MAX rows.
    w.put_u32(prep.rows as u32);
    w.put_u32(prep.null_count() as u32);
    if let Some(nulls) = &prep.nulls {
        let mut bitmap = vec![0u8; prep.rows.div_ceil(8)];
        for (i, valid) in nulls.iter().enumerate() {
            bitmap[i / 8] |= u8::from(valid) << (i % 8);
        }
        w.put_raw(&bitmap);
    }
    w.put_raw(payload);
    let checksum = crc32c(w.as_slice());
    w.put_u32(checksum);
    w.into_inner()
}

/// An lz4 payload: the raw length, then one lz4 block.
fn compress(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() / 2 + 8);
    // Payloads are at most a few GiB below u32::MAX: i32::MAX of data plus
    // 4 bytes an offset for 65,537 offsets.
    out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    out.extend_from_slice(&lz4_flex::block::compress(raw));
    out
}

/// [`decode_block_column`] with a cap on decoded string data (the fuzz
/// targets use a small one).
pub(crate) fn decode_limited(
    ty: &SqlType,
    bytes: &[u8],
    rows: usize,
    data_len_max: usize,
) -> Result<ArrayRef> {
    let body = verify_checksum(bytes)?;
    let mut r = ByteReader::new(body, 0);
    let encoding = read_encoding(&mut r)?;
    let kind = Kind::of(ty);
    if let Some(reason) = encoding.unfit_for(kind) {
        return Err(Error::corrupt(
            ENCODING_OFFSET as u64,
            format!("encoding: {encoding} for a {ty} column: {reason}"),
        ));
    }
    let nulls = read_header_and_nulls(&mut r, rows)?;
    let payload_at = r.offset();
    let rest = r.raw(r.remaining(), "payload")?;
    let ctx = Ctx {
        kind,
        rows,
        nulls: nulls.as_ref(),
        data_len_max,
    };
    if !kind.is_var() {
        // `unfit_for` keeps lz4 to variable widths.
        let payload = FixedPayload {
            encoding,
            bytes: rest,
            at: payload_at,
        };
        return values::fixed_array(ty, &ctx, payload);
    }
    let out = if encoding.is_lz4() {
        let raw = decompress(rest, payload_at, rows, data_len_max)?;
        // Offsets inside the decompressed payload are not offsets of `bytes`:
        // report the payload's start and name the raw offset in the text.
        decode_var_payload(&ctx, encoding, &raw, 0).map_err(|e| match e {
            Error::Corrupt { offset, what } => Error::corrupt(
                payload_at,
                format!("lz4 payload, at its decompressed byte {offset}: {what}"),
            ),
            other => other,
        })?
    } else {
        decode_var_payload(&ctx, encoding, rest, payload_at)?
    };
    out.into_array(ty, nulls, payload_at)
}

/// Decodes a string or byte payload (decompressed already) that starts at `at`.
fn decode_var_payload(
    ctx: &Ctx<'_>,
    encoding: BlockEncoding,
    payload: &[u8],
    at: u64,
) -> Result<VarOut> {
    let mut p = ByteReader::new(payload, at);
    let out = match encoding.base() {
        BlockEncoding::Constant => constant::decode_var(ctx, &mut p)?,
        BlockEncoding::Dictionary => dict::decode_var(ctx, &mut p)?,
        BlockEncoding::RunLength => rle::decode_var(ctx, &mut p)?,
        BlockEncoding::ForBitpack => {
            return Err(Error::Internal {
                what: "block decode: frame of reference for a string column passed the check",
            });
        }
        _ => plain::decode_var(ctx.rows, &mut p)?,
    };
    p.finish("payload")?;
    Ok(out)
}

/// Checks the trailing crc32c and returns the bytes it covers.
fn verify_checksum(bytes: &[u8]) -> Result<&[u8]> {
    let len_min = HEADER_LEN + CHECKSUM_LEN;
    if bytes.len() < len_min {
        return Err(Error::corrupt(
            bytes.len() as u64,
            format!(
                "block column: {} bytes, an encoded block column has at least {len_min}",
                bytes.len()
            ),
        ));
    }
    let (body, stored) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
    let stored = Kind::U32.read_key(stored) as u32;
    let computed = crc32c(body);
    if stored != computed {
        return Err(Error::corrupt(
            body.len() as u64,
            format!("block column checksum: stored {stored:#010x}, computed {computed:#010x}"),
        ));
    }
    Ok(body)
}

/// Reads the version, encoding and flags.
fn read_encoding(r: &mut ByteReader<'_>) -> Result<BlockEncoding> {
    let version = r.u8("layout version")?;
    if version != LAYOUT_VERSION {
        return Err(Error::corrupt(
            VERSION_OFFSET as u64,
            format!("layout version: {version}, this build reads {LAYOUT_VERSION}"),
        ));
    }
    let tag = r.u8("encoding")?;
    let flags = r.u8("flags")?;
    BlockEncoding::from_parts(tag, flags).ok_or_else(|| {
        Error::corrupt(
            ENCODING_OFFSET as u64,
            format!("encoding: unknown encoding {tag} with flags {flags:#04x}"),
        )
    })
}

/// Reads `row_count`, `null_count` and the null bitmap.
fn read_header_and_nulls(r: &mut ByteReader<'_>, rows: usize) -> Result<Option<NullBuffer>> {
    let stored_rows = r.u32("row_count")? as usize;
    if stored_rows != rows || rows > BLOCK_ROWS_MAX {
        return Err(Error::corrupt(
            ROW_COUNT_OFFSET as u64,
            format!("row_count: {stored_rows}, expected {rows} (at most {BLOCK_ROWS_MAX})"),
        ));
    }
    let null_count = r.u32("null_count")? as usize;
    if null_count > rows {
        return Err(Error::corrupt(
            NULL_COUNT_OFFSET as u64,
            format!("null_count: {null_count} is more than row_count {rows}"),
        ));
    }
    if null_count == 0 {
        return Ok(None);
    }
    let bitmap_at = r.offset();
    let bitmap = r.raw(rows.div_ceil(8), "null bitmap")?;
    if let Some(&last) = bitmap.last()
        && !rows.is_multiple_of(8)
        && last >> (rows % 8) != 0
    {
        return Err(Error::corrupt(
            bitmap_at + bitmap.len() as u64 - 1,
            "null bitmap: padding bits after the last row are not 0",
        ));
    }
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

/// Decompresses an lz4 payload after checking its raw length.
fn decompress(rest: &[u8], at: u64, rows: usize, data_len_max: usize) -> Result<Vec<u8>> {
    let mut r = ByteReader::new(rest, at);
    let raw_len = r.u32("lz4 raw length")? as usize;
    let compressed = r.raw(r.remaining(), "lz4 data")?;
    // An lz4 byte stands for at most 255 output bytes; a payload holds the
    // data and at most a few u32 per row.
    let from_input = compressed.len().saturating_mul(255).saturating_add(64);
    let from_rows = data_len_max.saturating_add(16 * (rows + 2));
    if raw_len > from_input.min(from_rows) {
        return Err(Error::corrupt(
            at,
            format!("lz4 raw length: {raw_len} is more than the data can hold"),
        ));
    }
    let mut raw = vec![0u8; raw_len];
    match lz4_flex::block::decompress_into(compressed, &mut raw) {
        Ok(n) if n == raw_len => Ok(raw),
        Ok(n) => Err(Error::corrupt(
            at + 4,
            format!("lz4 data: {n} bytes, raw length says {raw_len}"),
        )),
        Err(e) => Err(Error::corrupt(at + 4, format!("lz4 data: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int32Array;

    #[test]
    fn tags_and_names() {
        assert_eq!(HEADER_LEN, 11);
        for e in BlockEncoding::ALL {
            let flags = if e.is_lz4() { FLAG_LZ4 } else { 0 };
            assert_eq!(BlockEncoding::from_parts(e.tag(), flags), Some(e));
        }
        assert_eq!(BlockEncoding::from_parts(2, FLAG_LZ4), None);
        assert_eq!(BlockEncoding::from_parts(0, 0), None);
        assert_eq!(BlockEncoding::DictionaryLz4.to_string(), "dictionary+lz4");
        assert_eq!(BlockEncoding::RunLength.to_string(), "rle");
    }

    #[test]
    fn layout_byte_by_byte() {
        let column = Int32Array::from(vec![Some(7), None, Some(5), Some(6)]);
        let encoded = encode_block_column_as(&SqlType::Int, &column, BlockEncoding::ForBitpack);
        let bytes = encoded.unwrap().bytes;
        // version, encoding, flags, rows, null count, bitmap
        let mut expected = vec![1, 2, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0b1101];
        // reference 5 (i32), 2 bits, distances 2, 2 (null copies 7), 0, 1
        expected.extend_from_slice(&[5, 0, 0, 0, 2]);
        expected.extend_from_slice(&[0b01_00_10_10, 0, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(&crc32c(&expected).to_le_bytes());
        assert_eq!(bytes, expected);
    }
}
