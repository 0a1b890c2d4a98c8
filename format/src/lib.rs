//! `hyperctl-format`: the types, values and on-disk encodings of hyperctl.
//!
//! Place in the layers: the bottom. `storage` and `exec` build on it; it knows
//! nothing of files, threads or SQL text. Everything it decodes comes from
//! untrusted bytes, so decoders return [`Error`] and never panic; they are the
//! first target of the fuzzers (`fuzz/fuzz_targets/format_*.rs`).
//!
//! - [`SqlType`]: every type of Tableau Hyper, its SQL spelling, OID and Arrow
//!   data type.
//! - [`ByteWriter`] / [`ByteReader`]: explicit little-endian encoding with
//!   checked lengths.
//! - [`crc32c()`] / [`crc32c_append`]: the checksum of every page, block and
//!   encoded column (SSE4.2 when the CPU has it).
//! - [`encode_column`] / [`decode_column`]: one column of a block as bytes, in a
//!   [`ColumnEncoding`] (today: plain with a null bitmap), checksummed and
//!   validated on the way back in.
//! - [`encode_block_column`] / [`decode_block_column`]: one column of a frozen
//!   block, compressed with the cheapest fitting [`BlockEncoding`], with its
//!   [`ColumnStats`] (min, max, null count) for block skipping.
//!
//! ```
//! use hyperctl_format::SqlType;
//! use hyperctl_format::arrow::datatypes::DataType;
//!
//! let ty: SqlType = "numeric(10,2)".parse()?;
//! assert_eq!(ty.to_string(), "NUMERIC(10,2)");
//! assert_eq!(ty.to_arrow(), DataType::Decimal128(10, 2));
//! # Ok::<(), hyperctl_format::Error>(())
//! ```
#![forbid(unsafe_code)]

mod block;
mod bytes;
mod checksum;
mod encoding;
mod error;
mod types;

// Fuzz target bodies, public so that `fuzz/` and the corpus replay test in
// `tests/` can call them; not part of the API.
#[doc(hidden)]
pub mod fuzzing;

pub use arrow;
pub use block::{
    BLOCK_ROWS_MAX, BlockEncoding, ColumnRange, ColumnStats, EncodedColumn, PackedColumn,
    STAT_BYTES_MAX, StatValue, block_encoding_of, decode_block_column, encode_block_column,
    encode_block_column_as,
};
pub use bytes::{ByteReader, ByteWriter};
pub use checksum::{crc32c, crc32c_append};
pub use encoding::{ColumnEncoding, decode_column, encode_column};
pub use error::{Error, Result};
pub use types::{NUMERIC_PRECISION_MAX, SQL_TYPE_METADATA_KEY, SqlType};
