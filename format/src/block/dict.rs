//! Dictionary payloads: the distinct values, sorted, and per row the
//! bit-packed position (code) of its value in them.
//!
//! Layout: `k` (u32, the number of distinct values, 1 to `n`; 0 only when
//! `n` is 0), the `k` values in ascending order (fixed widths: `k` × `width`
//! bytes, ascending by key; variable widths: a value list, bytewise
//! ascending), `bits` (u8, at most 32), then `n` codes bit-packed, each below
//! `k`. Sorted values make code order value order for integer-like types and
//! strings.

use std::collections::HashSet;

use super::bitpack::{bits_needed, pack, packed_len, unpack_with};
use super::plain::{list_len, put_list, read_slices};
use super::values::{Kind, Prepared, Values, VarOut};
use super::{Ctx, Decoded};
use crate::bytes::{ByteReader, ByteWriter};
use crate::error::{Error, Result};

/// The distinct values of a column, sorted.
#[derive(Debug)]
pub(crate) enum Dictionary<'a> {
    Fixed(Vec<i128>),
    Var(Vec<&'a [u8]>),
}

impl Dictionary<'_> {
    fn len(&self) -> usize {
        match self {
            Dictionary::Fixed(d) => d.len(),
            Dictionary::Var(d) => d.len(),
        }
    }

    fn code_bits(&self) -> u32 {
        bits_needed(self.len().saturating_sub(1) as u64)
    }
}

/// The dictionary of a column, or None when it has more than `cap` distinct
/// values or is BOOLEAN (whose plain form is already one bit a row).
pub(crate) fn build<'a>(prep: &Prepared<'a>, cap: usize) -> Option<Dictionary<'a>> {
    match &prep.values {
        Values::Fixed(_) if prep.kind == Kind::Bool => None,
        Values::Fixed(keys) => {
            let mut seen = HashSet::new();
            for &k in keys {
                if seen.insert(k) && seen.len() > cap {
                    return None;
                }
            }
            let mut dict: Vec<i128> = seen.into_iter().collect();
            dict.sort_unstable();
            Some(Dictionary::Fixed(dict))
        }
        Values::Var(values) => {
            let mut seen = HashSet::new();
            for &v in values {
                if seen.insert(v) && seen.len() > cap {
                    return None;
                }
            }
            let mut dict: Vec<&[u8]> = seen.into_iter().collect();
            dict.sort_unstable();
            Some(Dictionary::Var(dict))
        }
    }
}

pub(crate) fn encoded_len(prep: &Prepared<'_>, dict: &Dictionary<'_>) -> usize {
    let values = match dict {
        Dictionary::Fixed(d) => d.len() * prep.kind.width(),
        Dictionary::Var(d) => list_len(d.iter().copied()),
    };
    4 + values + 1 + packed_len(prep.rows, dict.code_bits()).unwrap_or(usize::MAX / 2)
}

pub(crate) fn encode(prep: &Prepared<'_>, dict: &Dictionary<'_>, w: &mut ByteWriter) -> Result<()> {
    w.put_u32(dict.len() as u32);
    let bits = dict.code_bits();
    match (dict, &prep.values) {
        (Dictionary::Fixed(d), Values::Fixed(keys)) => {
            for &k in d {
                prep.kind.put_key(k, w);
            }
            w.put_u8(bits as u8);
            let code = |k: &i128| d.binary_search(k).unwrap_or(0) as u64;
            pack(keys.iter().map(code), bits, w);
        }
        (Dictionary::Var(d), Values::Var(values)) => {
            put_list(d.iter().copied(), w)?;
            w.put_u8(bits as u8);
            let code = |v: &&[u8]| d.binary_search(v).unwrap_or(0) as u64;
            pack(values.iter().map(code), bits, w);
        }
        _ => return Err(internal()),
    }
    Ok(())
}

fn internal() -> Error {
    Error::Internal {
        what: "a dictionary of other values than its column",
    }
}

pub(crate) fn decode(ctx: &Ctx<'_>, r: &mut ByteReader<'_>) -> Result<Decoded> {
    let count_at = r.offset();
    let count = r.u32("dictionary size")? as usize;
    if count > ctx.rows || (count == 0 && ctx.rows > 0) {
        return Err(Error::corrupt(
            count_at,
            format!("dictionary size: {count} values for {} rows", ctx.rows),
        ));
    }
    let values_at = r.offset();
    let dict = if ctx.kind.is_var() {
        Dictionary::Var(read_slices(r, count, "dictionary")?)
    } else {
        let len = count * ctx.kind.width();
        let raw = r.raw(len, "dictionary values")?;
        let keys = raw.chunks_exact(ctx.kind.width());
        Dictionary::Fixed(keys.map(|le| ctx.kind.read_key(le)).collect())
    };
    let bits_at = r.offset();
    let bits = u32::from(r.u8("dictionary code bit width")?);
    if bits > 32 {
        return Err(Error::corrupt(
            bits_at,
            format!("dictionary code bit width: {bits}, at most 32"),
        ));
    }
    let codes_at = r.offset();
    let len = packed_len(ctx.rows, bits).ok_or_else(|| r.error("dictionary codes: overflow"))?;
    let codes = unpack_with(r.raw(len, "dictionary codes")?, bits, ctx.rows, |c| {
        c as usize
    });
    if let Some(bad) = codes.iter().position(|&c| c >= count) {
        return Err(Error::corrupt(
            codes_at,
            format!(
                "dictionary code of row {bad}: {} is not below {count}",
                codes[bad]
            ),
        ));
    }
    Ok(match dict {
        Dictionary::Fixed(d) => Decoded::Fixed(codes.iter().map(|&c| d[c]).collect()),
        Dictionary::Var(d) => Decoded::Var(VarOut::expand(
            ctx.rows,
            ctx.nulls,
            |row| d[codes[row]],
            ctx.data_len_max,
            values_at,
        )?),
    })
}
