//! Frame-of-reference + bit-packing payloads for integer-like types: the
//! minimum, and every row's distance from it in as few bits as the largest
//! distance needs.
//!
//! Layout: `reference` (`width` bytes, little-endian, the minimum), `bits`
//! (u8, at most 64 and at most 8 × `width`), then the `n` distances bit-packed
//! (`bitpack` module docs). A row's value is `reference + distance`,
//! wrapping in the type's width.

use super::bitpack::{bits_needed, pack, packed_len, unpack_chunks};
use super::native::Native;
use super::values::{Prepared, Values};
use super::{Ctx, Fixed};
use crate::bytes::{ByteReader, ByteWriter};
use crate::error::{Error, Result};

/// The reference and bit width, or why frame of reference does not apply.
pub(crate) fn frame(prep: &Prepared<'_>) -> std::result::Result<(i128, u32), &'static str> {
    let Values::Fixed(keys) = &prep.values else {
        return Err("only integer-like types have a frame of reference");
    };
    if !prep.kind.is_integer_like() {
        return Err("only integer-like types have a frame of reference");
    }
    let (min, max) = keys.iter().fold((i128::MAX, i128::MIN), |(lo, hi), &k| {
        (lo.min(k), hi.max(k))
    });
    if keys.is_empty() {
        return Ok((0, 0));
    }
    // Keys of NUMERIC(38) stay within ±10^38, so the difference cannot overflow.
    let range =
        u64::try_from(max.wrapping_sub(min)).map_err(|_| "the values span more than 64 bits")?;
    Ok((min, bits_needed(range)))
}

pub(crate) fn encoded_len(prep: &Prepared<'_>, bits: u32) -> usize {
    prep.kind.width() + 1 + packed_len(prep.rows, bits).unwrap_or(usize::MAX / 2)
}

pub(crate) fn encode(prep: &Prepared<'_>, min: i128, bits: u32, w: &mut ByteWriter) {
    let Values::Fixed(keys) = &prep.values else {
        return;
    };
    prep.kind.put_key(min, w);
    w.put_u8(bits as u8);
    pack(keys.iter().map(|&k| k.wrapping_sub(min) as u64), bits, w);
}

/// Reads a payload of `rows` rows of a `width`-byte type: the reference's
/// bytes, the bit width (checked against the type's) and the packed
/// distances.
pub(crate) fn read<'a>(
    width: usize,
    rows: usize,
    r: &mut ByteReader<'a>,
) -> Result<(&'a [u8], u32, &'a [u8])> {
    let reference = r.raw(width, "frame reference")?;
    let bits_at = r.offset();
    let bits = u32::from(r.u8("frame bit width")?);
    if bits > 64 || bits as usize > 8 * width {
        return Err(Error::corrupt(
            bits_at,
            format!("frame bit width: {bits} is wider than the type"),
        ));
    }
    let len = packed_len(rows, bits).ok_or_else(|| r.error("frame distances: overflow"))?;
    Ok((reference, bits, r.raw(len, "frame distances")?))
}

/// Decodes a payload into values of `T` (width: `native` docs): the
/// reference plus each distance, wrapping in `T` as in the type's width.
pub(crate) fn decode<T: Native>(ctx: &Ctx<'_>, r: &mut ByteReader<'_>) -> Result<Fixed<T>> {
    let (reference, bits, packed) = read(T::WIDTH, ctx.rows, r)?;
    let min = T::from_le(reference);
    let mut values = Vec::with_capacity(ctx.rows);
    unpack_chunks(packed, bits, ctx.rows, |distances| {
        values.extend(distances.iter().map(|&d| min.wrapping_add(T::from_u64(d))));
    });
    // Without wrapping, every value lies between the reference and the
    // reference plus the largest distance `bits` can hold.
    let low = min.to_key();
    let top = if bits == 0 {
        0
    } else {
        u64::MAX >> (64 - bits)
    };
    let high = low
        .checked_add(i128::from(top))
        .filter(|&h| h <= T::MAX_KEY);
    Ok(Fixed {
        values,
        keys_within: high.map(|high| (low, high)),
    })
}
