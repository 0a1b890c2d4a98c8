//! Constant payloads: one value for every row (all non-null values equal).
//!
//! Layout: nothing when every row is null; else one value: `width` bytes
//! little-endian for fixed widths (BOOLEAN: one byte, 0 or 1), a u32 length
//! and the bytes for variable widths.

use super::native::Native;
use super::values::{Prepared, Values, VarOut};
use super::{Ctx, Fixed};
use crate::bytes::{ByteReader, ByteWriter};
use crate::error::Result;

/// True when every row holds the same value (null rows copy a valid one).
pub(crate) fn applies(prep: &Prepared<'_>) -> bool {
    match &prep.values {
        Values::Fixed(keys) => keys.windows(2).all(|w| w[0] == w[1]),
        Values::Var(values) => values.windows(2).all(|w| w[0] == w[1]),
    }
}

pub(crate) fn encoded_len(prep: &Prepared<'_>) -> usize {
    if prep.null_count() == prep.rows {
        return 0;
    }
    match &prep.values {
        Values::Fixed(_) => prep.kind.width(),
        Values::Var(values) => 4 + values.first().map_or(0, |v| v.len()),
    }
}

pub(crate) fn encode(prep: &Prepared<'_>, w: &mut ByteWriter) {
    if prep.null_count() == prep.rows {
        return;
    }
    match &prep.values {
        Values::Fixed(keys) => prep.kind.put_key(keys.first().copied().unwrap_or(0), w),
        Values::Var(values) => w.put_bytes(values.first().copied().unwrap_or_default()),
    }
}

/// Decodes a string or byte payload.
pub(crate) fn decode_var(ctx: &Ctx<'_>, r: &mut ByteReader<'_>) -> Result<VarOut> {
    let at = r.offset();
    let value = if all_null(ctx) {
        &[][..]
    } else {
        r.bytes("constant value")?
    };
    VarOut::from_codes(ctx.rows, ctx.nulls, &[value], |_| 0, ctx.data_len_max, at)
}

/// Decodes a fixed-width payload into values of `T` (width: `native` docs).
pub(crate) fn decode_fixed<T: Native>(ctx: &Ctx<'_>, r: &mut ByteReader<'_>) -> Result<Fixed<T>> {
    let value = if all_null(ctx) {
        T::default()
    } else {
        T::from_le(r.raw(T::WIDTH, "constant value")?)
    };
    let key = value.to_key();
    Ok(Fixed {
        values: vec![value; ctx.rows],
        keys_within: Some((key, key)),
    })
}

/// As the encoder: no value when no row is valid (also for 0 rows).
fn all_null(ctx: &Ctx<'_>) -> bool {
    ctx.rows == ctx.nulls.map_or(0, |n| n.null_count())
}
