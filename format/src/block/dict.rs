//! Dictionary payloads: the distinct values, sorted, and per row the
//! bit-packed position (code) of its value in them.
//!
//! Layout: `k` (u32, the number of distinct values, 1 to `n`; 0 only when
//! `n` is 0), the `k` values in ascending order (fixed widths: `k` × `width`
//! bytes, ascending by key; variable widths: a value list, bytewise
//! ascending), `bits` (u8, at most 32), then `n` codes bit-packed, each below
//! `k`. Sorted values make code order value order for integer-like types and
//! strings.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::bitpack::{bits_needed, pack, packed_len, unpack_with};
use super::plain::{list_len, put_list, read_slices};
use super::values::{Kind, Prepared, Values, VarOut};
use super::{Ctx, Decoded};
use crate::bytes::{ByteReader, ByteWriter};
use crate::checksum::crc32c_append;
use crate::error::{Error, Result};

/// The distinct values of a column, sorted, and each row's code.
#[derive(Debug)]
pub(crate) struct Dictionary<'a> {
    values: DictValues<'a>,
    codes: Vec<u32>,
}

#[derive(Debug)]
enum DictValues<'a> {
    Fixed(Vec<i128>),
    Var(Vec<&'a [u8]>),
}

impl Dictionary<'_> {
    fn len(&self) -> usize {
        match &self.values {
            DictValues::Fixed(d) => d.len(),
            DictValues::Var(d) => d.len(),
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
            let (values, codes) = sorted_codes(keys, cap)?;
            Some(Dictionary {
                values: DictValues::Fixed(values),
                codes,
            })
        }
        Values::Var(values) => {
            let (values, codes) = sorted_codes(values, cap)?;
            Some(Dictionary {
                values: DictValues::Var(values),
                codes,
            })
        }
    }
}

/// The distinct values, ascending, and each row's position in them; None past
/// `cap` distinct values. One hash lookup a row: ids in order of first
/// appearance, then renumbered by rank.
fn sorted_codes<V: Copy + Eq + Hash + Ord>(rows: &[V], cap: usize) -> Option<(Vec<V>, Vec<u32>)> {
    let mut ids: HashMap<V, u32, BuildHasherDefault<CrcHasher>> = HashMap::default();
    let mut firsts: Vec<V> = Vec::new();
    let mut codes = Vec::with_capacity(rows.len());
    for &v in rows {
        let next = firsts.len() as u32;
        let id = *ids.entry(v).or_insert(next);
        if id == next {
            if firsts.len() == cap {
                return None;
            }
            firsts.push(v);
        }
        codes.push(id);
    }
    let mut order: Vec<u32> = (0..firsts.len() as u32).collect();
    order.sort_unstable_by_key(|&id| firsts[id as usize]);
    let mut rank = vec![0u32; firsts.len()];
    for (position, &id) in order.iter().enumerate() {
        rank[id as usize] = position as u32;
    }
    for code in &mut codes {
        *code = rank[*code as usize];
    }
    let sorted = order.iter().map(|&id| firsts[id as usize]).collect();
    Some((sorted, codes))
}

/// The dictionary's hasher: crc32c (one SSE4.2 instruction per 8 bytes)
/// spread over 64 bits, several times faster than SipHash on strings. It is
/// not keyed: a column crafted for collisions only slows its own encoding.
#[derive(Debug, Default)]
struct CrcHasher(u32);

impl Hasher for CrcHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = crc32c_append(self.0, bytes);
    }

    fn finish(&self) -> u64 {
        // hashbrown takes its tag from the top bits: spread the 32 bits there.
        u64::from(self.0).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

pub(crate) fn encoded_len(prep: &Prepared<'_>, dict: &Dictionary<'_>) -> usize {
    let values = match &dict.values {
        DictValues::Fixed(d) => d.len() * prep.kind.width(),
        DictValues::Var(d) => list_len(d.iter().copied()),
    };
    4 + values + 1 + packed_len(prep.rows, dict.code_bits()).unwrap_or(usize::MAX / 2)
}

pub(crate) fn encode(prep: &Prepared<'_>, dict: &Dictionary<'_>, w: &mut ByteWriter) -> Result<()> {
    w.put_u32(dict.len() as u32);
    match &dict.values {
        DictValues::Fixed(d) => {
            for &k in d {
                prep.kind.put_key(k, w);
            }
        }
        DictValues::Var(d) => put_list(d.iter().copied(), w)?,
    }
    let bits = dict.code_bits();
    w.put_u8(bits as u8);
    pack(dict.codes.iter().map(|&c| u64::from(c)), bits, w);
    Ok(())
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
        DictValues::Var(read_slices(r, count, "dictionary")?)
    } else {
        let len = count * ctx.kind.width();
        let raw = r.raw(len, "dictionary values")?;
        let keys = raw.chunks_exact(ctx.kind.width());
        DictValues::Fixed(keys.map(|le| ctx.kind.read_key(le)).collect())
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
        DictValues::Fixed(d) => Decoded::Fixed(codes.iter().map(|&c| d[c]).collect()),
        DictValues::Var(d) => Decoded::Var(VarOut::expand(
            ctx.rows,
            ctx.nulls,
            |row| d[codes[row]],
            ctx.data_len_max,
            values_at,
        )?),
    })
}
