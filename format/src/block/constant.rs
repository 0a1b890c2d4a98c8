//! Constant payloads: one value for every row (all non-null values equal).
//!
//! Layout: nothing when every row is null; else one value: `width` bytes
//! little-endian for fixed widths (BOOLEAN: one byte, 0 or 1), a u32 length
//! and the bytes for variable widths.

use super::values::{Prepared, Values, VarOut};
use super::{Ctx, Decoded};
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

pub(crate) fn decode(ctx: &Ctx<'_>, r: &mut ByteReader<'_>) -> Result<Decoded> {
    // As the encoder: no value when no row is valid (also for 0 rows).
    let all_null = ctx.rows == ctx.nulls.map_or(0, |n| n.null_count());
    if ctx.kind.is_var() {
        let at = r.offset();
        let value = if all_null {
            &[][..]
        } else {
            r.bytes("constant value")?
        };
        let out = VarOut::expand(ctx.rows, ctx.nulls, |_| value, ctx.data_len_max, at)?;
        return Ok(Decoded::Var(out));
    }
    let key = if all_null {
        0
    } else {
        let le = r.raw(ctx.kind.width(), "constant value")?;
        ctx.kind.read_key(le)
    };
    Ok(Decoded::Fixed(vec![key; ctx.rows]))
}
