//! TEMPORARY stand-in for the compressed block encodings (being written on
//! branch `blocks`); same API, plain encoding and unknown statistics.

use std::ops::Bound;

use arrow::array::{Array, ArrayRef};

use crate::{ByteReader, ByteWriter, Result, SqlType, decode_column, encode_column};

/// How one column of one block is stored.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockEncoding {
    /// Plain values.
    Plain,
}

impl std::fmt::Display for BlockEncoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("plain")
    }
}

/// An encoded block column.
#[derive(Debug, Clone)]
pub struct EncodedColumn {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The encoding chosen.
    pub encoding: BlockEncoding,
    /// Statistics.
    pub stats: ColumnStats,
}

/// Encodes a block column.
///
/// # Errors
/// Wrong Arrow type.
pub fn encode_block_column(ty: &SqlType, array: &dyn Array) -> Result<EncodedColumn> {
    Ok(EncodedColumn {
        bytes: encode_column(*ty, array)?,
        encoding: BlockEncoding::Plain,
        stats: ColumnStats {
            rows: array.len() as u32,
            null_count: array.null_count() as u32,
            min: None,
            max: None,
        },
    })
}

/// Decodes a block column.
///
/// # Errors
/// Damage.
pub fn decode_block_column(ty: &SqlType, bytes: &[u8], rows: usize) -> Result<ArrayRef> {
    let a = decode_column(*ty, bytes, 0)?;
    if a.len() != rows {
        return Err(ByteReader::new(&[], 0).error("row count mismatch"));
    }
    Ok(a)
}

/// The encoding of encoded bytes.
///
/// # Errors
/// Never.
pub fn block_encoding_of(_bytes: &[u8]) -> Result<BlockEncoding> {
    Ok(BlockEncoding::Plain)
}

/// A statistics value.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum StatValue {
    /// Integer-like.
    Int(i64),
}

/// A range predicate.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnRange {
    /// Lower bound.
    pub lower: Bound<StatValue>,
    /// Upper bound.
    pub upper: Bound<StatValue>,
}

/// Block column statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnStats {
    /// Rows.
    pub rows: u32,
    /// NULLs.
    pub null_count: u32,
    /// Minimum.
    pub min: Option<StatValue>,
    /// Maximum.
    pub max: Option<StatValue>,
}

impl ColumnStats {
    /// Writes.
    pub fn write_to(&self, w: &mut ByteWriter) {
        w.put_u32(self.rows);
        w.put_u32(self.null_count);
    }
    /// Reads.
    ///
    /// # Errors
    /// Truncation.
    pub fn read_from(r: &mut ByteReader<'_>) -> Result<ColumnStats> {
        Ok(ColumnStats {
            rows: r.u32("rows")?,
            null_count: r.u32("nulls")?,
            min: None,
            max: None,
        })
    }
    /// Whether a value in range may be present.
    pub fn may_match(&self, _range: &ColumnRange) -> bool {
        true
    }
}
