//! Plain payloads: every row's value as it is, and the value lists (offsets
//! then data) that dictionary and run-length payloads share.
//!
//! Layout (module docs of `block` for the header):
//! - BOOLEAN: `ceil(n / 8)` bytes, bit `i % 8` of byte `i / 8` is row `i`.
//! - other fixed widths: `n` values of `width` bytes, little-endian.
//! - variable widths: a value list of `n` values, null rows empty.
//!
//! A value list of `k` values: `k + 1` u32 offsets, the first 0, never
//! decreasing, then `offsets[k]` bytes of data; value `i` is
//! `data[offsets[i]..offsets[i + 1]]`.

use super::Fixed;
use super::bitpack::{packed_len, unpack_with};
use super::native::Native;
use super::values::{Kind, VAR_DATA_LEN_MAX, VarOut};
use crate::bytes::{ByteReader, ByteWriter};
use crate::error::{Error, Result};

/// Bytes of a plain payload of `rows` fixed-width values.
pub(crate) fn fixed_len(kind: Kind, rows: usize) -> usize {
    if kind == Kind::Bool {
        rows.div_ceil(8)
    } else {
        rows * kind.width()
    }
}

pub(crate) fn encode_fixed(kind: Kind, keys: &[i128], w: &mut ByteWriter) {
    if kind == Kind::Bool {
        let mut bytes = vec![0u8; keys.len().div_ceil(8)];
        for (i, &k) in keys.iter().enumerate() {
            bytes[i / 8] |= u8::from(k != 0) << (i % 8);
        }
        w.put_raw(&bytes);
    } else {
        for &k in keys {
            kind.put_key(k, w);
        }
    }
}

/// Writes the value list of `values`, null rows (per `valid`) as empty values.
///
/// # Errors
/// `TooLarge` past `i32::MAX` bytes of data.
pub(crate) fn encode_var(
    values: &[&[u8]],
    valid: impl Fn(usize) -> bool,
    w: &mut ByteWriter,
) -> Result<()> {
    put_list(
        values
            .iter()
            .enumerate()
            .map(|(i, v)| if valid(i) { *v } else { &[][..] }),
        w,
    )
}

/// Bytes of a value list.
pub(crate) fn list_len<'a>(values: impl Iterator<Item = &'a [u8]>) -> usize {
    let mut len = 4;
    for v in values {
        len += 4 + v.len();
    }
    len
}

/// Writes a value list.
///
/// # Errors
/// `TooLarge` past `i32::MAX` bytes of data.
pub(crate) fn put_list<'a>(
    values: impl Iterator<Item = &'a [u8]> + Clone,
    w: &mut ByteWriter,
) -> Result<()> {
    let mut end = 0usize;
    w.put_u32(0);
    for v in values.clone() {
        end += v.len();
        if end > VAR_DATA_LEN_MAX {
            return Err(Error::TooLarge {
                what: "block column value bytes",
                len: end as u64,
                max: VAR_DATA_LEN_MAX as u64,
            });
        }
        w.put_u32(end as u32);
    }
    for v in values {
        w.put_raw(v);
    }
    Ok(())
}

/// Reads a value list of `count` values: the checked offsets and the data.
///
/// # Errors
/// `Corrupt` for short input or offsets that are not 0, increasing, in the data.
pub(crate) fn read_list<'a>(
    r: &mut ByteReader<'a>,
    count: usize,
    what: &str,
) -> Result<(Vec<i32>, &'a [u8])> {
    let start = r.offset();
    let len = count
        .checked_add(1)
        .and_then(|n| n.checked_mul(4))
        .ok_or_else(|| r.error(format!("{what} offsets: {count} values overflow")))?;
    let raw = r.raw(len, &format!("{what} offsets"))?;
    let data_len_max = r.remaining().min(VAR_DATA_LEN_MAX);
    let mut offsets = Vec::with_capacity(count + 1);
    let mut prev = 0usize;
    for (i, le) in raw.chunks_exact(4).enumerate() {
        let offset = <u32 as Native>::from_le(le) as usize;
        let problem = if i == 0 && offset != 0 {
            Some(format!("is {offset}, must be 0"))
        } else if offset < prev {
            Some(format!("{offset} is below the one before, {prev}"))
        } else if offset > data_len_max {
            Some(format!(
                "{offset} is past the end of the data, {data_len_max}"
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(Error::corrupt(
                start.saturating_add(4 * i as u64),
                format!("{what} offset {i}: {problem}"),
            ));
        }
        offsets.push(offset as i32);
        prev = offset;
    }
    let data = r.raw(prev, &format!("{what} data"))?;
    Ok((offsets, data))
}

/// Reads a value list as slices.
///
/// # Errors
/// As [`read_list`].
pub(crate) fn read_slices<'a>(
    r: &mut ByteReader<'a>,
    count: usize,
    what: &str,
) -> Result<Vec<&'a [u8]>> {
    let (offsets, data) = read_list(r, count, what)?;
    Ok(offsets
        .windows(2)
        .map(|w| &data[w[0] as usize..w[1] as usize])
        .collect())
}

/// Decodes a string or byte payload.
pub(crate) fn decode_var(rows: usize, r: &mut ByteReader<'_>) -> Result<VarOut> {
    let (offsets, data) = read_list(r, rows, "plain values")?;
    Ok(VarOut {
        offsets,
        data: data.to_vec(),
    })
}

/// Decodes a fixed-width payload into values of `T` (width: `native` docs);
/// BOOLEAN (`kind`) is one bit a row.
pub(crate) fn decode_fixed<T: Native>(
    kind: Kind,
    rows: usize,
    r: &mut ByteReader<'_>,
) -> Result<Fixed<T>> {
    let values = if kind == Kind::Bool {
        let len = packed_len(rows, 1).ok_or_else(|| r.error("plain booleans: overflow"))?;
        // Whole words are read from a copy; only ceil(rows / 8) bytes are stored.
        let stored = r.raw(rows.div_ceil(8), "plain booleans")?;
        let mut words = stored.to_vec();
        words.resize(len, 0);
        unpack_with(&words, 1, rows, T::from_u64)
    } else {
        let len = rows
            .checked_mul(T::WIDTH)
            .ok_or_else(|| r.error("plain values: overflow"))?;
        let raw = r.raw(len, "plain values")?;
        raw.chunks_exact(T::WIDTH).map(T::from_le).collect()
    };
    Ok(Fixed {
        values,
        keys_within: None,
    })
}

/// Packs booleans for tests of the layout.
#[cfg(test)]
pub(crate) fn pack_bools(bits: &[bool]) -> Vec<u8> {
    use super::bitpack::pack;
    let mut w = ByteWriter::new();
    pack(bits.iter().map(|&b| u64::from(b)), 1, &mut w);
    let mut out = w.into_inner();
    out.truncate(bits.len().div_ceil(8));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_pack_like_bitmaps() {
        let bits = [true, false, true, true, false, false, false, false, true];
        let keys: Vec<i128> = bits.iter().map(|&b| i128::from(b)).collect();
        let mut w = ByteWriter::new();
        encode_fixed(Kind::Bool, &keys, &mut w);
        assert_eq!(w.as_slice(), pack_bools(&bits));
        assert_eq!(w.as_slice(), [0b1101, 1]);
    }
}
