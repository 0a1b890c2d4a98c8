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

use super::bitpack::{bits_needed, pack, packed_len, unpack_chunks, unpack_with};
use super::native::Native;
use super::plain::{list_len, put_list, read_slices};
use super::values::{Kind, Prepared, Values, VarOut};
use super::{Ctx, Fixed};
use crate::bytes::{ByteReader, ByteWriter};
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
/// values, when its payload would take more than `budget` bytes (the
/// chooser passes the size it would have to beat), or when the column is
/// BOOLEAN (whose plain form is already one bit a row).
pub(crate) fn build<'a>(prep: &Prepared<'a>, cap: usize, budget: usize) -> Option<Dictionary<'a>> {
    let rows = prep.rows;
    // Payload bytes of `k` distinct values taking `values` bytes: the count,
    // the values, the code width and the codes (`encoded_len`).
    let total = move |k: usize, values: usize| {
        let bits = bits_needed(k.saturating_sub(1) as u64);
        let codes = packed_len(rows, bits).unwrap_or(usize::MAX / 2);
        (4 + values + 1).saturating_add(codes)
    };
    match &prep.values {
        Values::Fixed(_) if prep.kind == Kind::Bool => None,
        Values::Fixed(keys) => {
            let width = prep.kind.width();
            let (values, codes) =
                sorted_codes(keys, (cap, budget), (5, |_| width), |&k| hash_key(k), total)?;
            Some(Dictionary {
                values: DictValues::Fixed(values),
                codes,
            })
        }
        Values::Var(values) => {
            // A value list: its length, then per value an offset and the bytes.
            let (values, codes) = sorted_codes(
                values,
                (cap, budget),
                (9, |v: &&[u8]| 4 + v.len()),
                |v| hash_bytes(v),
                |k, b| total(k, 4 + b),
            )?;
            Some(Dictionary {
                values: DictValues::Var(values),
                codes,
            })
        }
    }
}

/// A value with its hash, computed once: growing the table moves entries
/// without hashing their values again.
#[derive(Clone, Copy)]
struct Hashed<V> {
    hash: u64,
    value: V,
}

impl<V: Eq> PartialEq for Hashed<V> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.value == other.value
    }
}

impl<V: Eq> Eq for Hashed<V> {}

impl<V> Hash for Hashed<V> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The hasher of [`Hashed`] keys: their hash as is.
#[derive(Debug, Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` of a `Hashed` reaches here; stay total anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Multiplier of the hashes below (FxHash's); hashbrown takes its tag from
/// the top bits, which a multiplication fills.
const K: u64 = 0xF135_7AEA_2E62_A9C5;

/// The dictionary's hash of a fixed-width key. The hash decides only where
/// a value sits in the table, never the dictionary (values are sorted and
/// renumbered), so it is free to be fast and unkeyed: a column crafted for
/// collisions only slows its own encoding.
fn hash_key(k: i128) -> u64 {
    let (lo, hi) = (k as u64, (k >> 64) as u64);
    (lo ^ hi.rotate_left(32))
        .wrapping_mul(K)
        .rotate_left(26)
        .wrapping_mul(K)
}

/// The dictionary's hash of a string or byte value (see [`hash_key`]):
/// 8 bytes a step, the length mixed in.
fn hash_bytes(v: &[u8]) -> u64 {
    let mut h = (v.len() as u64).wrapping_mul(K);
    let mut words = v.chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(K);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(K);
    }
    h ^ (h >> 29)
}

/// The distinct values, ascending, and each row's position in them; None past
/// `cap` distinct values, or when the payload (`total(distinct, their
/// bytes)`: at least `base`, `bytes(v)` per distinct value and the codes)
/// would pass `budget` bytes. One hash a row: ids in order of first
/// appearance, then renumbered by rank (only within budget).
fn sorted_codes<V: Copy + Eq + Ord>(
    rows: &[V],
    (cap, budget): (usize, usize),
    (base, bytes): (usize, impl Fn(&V) -> usize),
    hash: impl Fn(&V) -> u64,
    total: impl Fn(usize, usize) -> usize,
) -> Option<(Vec<V>, Vec<u32>)> {
    let mut ids: HashMap<Hashed<V>, u32, BuildHasherDefault<Prehashed>> = HashMap::default();
    let mut firsts: Vec<V> = Vec::new();
    let mut codes = Vec::with_capacity(rows.len());
    let mut value_bytes = 0usize;
    // The codes' bytes at the width the distinct values so far need (a
    // lower bound of theirs at the end), updated at each new width.
    let mut codes_floor = 0usize;
    for &v in rows {
        let next = firsts.len() as u32;
        let key = Hashed {
            hash: hash(&v),
            value: v,
        };
        let id = *ids.entry(key).or_insert(next);
        if id == next {
            value_bytes += bytes(&v);
            if next.is_power_of_two() {
                // `total` less its fixed part (`total` of one value, whose
                // codes take no bits): the codes alone.
                codes_floor = total(firsts.len() + 1, 0).saturating_sub(total(1, 0));
            }
            let floor = base.saturating_add(value_bytes).saturating_add(codes_floor);
            if firsts.len() == cap || floor > budget {
                return None;
            }
            firsts.push(v);
        }
        codes.push(id);
    }
    if total(firsts.len(), value_bytes) > budget {
        return None;
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

/// Reads the dictionary size and checks it against the rows.
pub(crate) fn read_count(ctx: &Ctx<'_>, r: &mut ByteReader<'_>) -> Result<usize> {
    let count_at = r.offset();
    let count = r.u32("dictionary size")? as usize;
    if count > ctx.rows || (count == 0 && ctx.rows > 0) {
        return Err(Error::corrupt(
            count_at,
            format!("dictionary size: {count} values for {} rows", ctx.rows),
        ));
    }
    Ok(count)
}

/// Reads the code bit width and returns it with the packed codes and their offset.
pub(crate) fn read_codes<'a>(
    ctx: &Ctx<'_>,
    r: &mut ByteReader<'a>,
) -> Result<(u32, &'a [u8], u64)> {
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
    Ok((bits, r.raw(len, "dictionary codes")?, codes_at))
}

/// The error for the first code at or past `count` (there is one).
pub(crate) fn bad_code(packed: &[u8], bits: u32, rows: usize, count: usize, at: u64) -> Error {
    let codes = unpack_with(packed, bits, rows, |c| c as usize);
    let (row, code) = codes
        .iter()
        .enumerate()
        .find(|&(_, &c)| c >= count)
        .map_or((0, 0), |(row, &c)| (row, c));
    Error::corrupt(
        at,
        format!("dictionary code of row {row}: {code} is not below {count}"),
    )
}

/// Decodes a fixed-width payload into values of `T` (width: `native` docs),
/// looking each code up as it is unpacked.
pub(crate) fn decode_fixed<T: Native>(ctx: &Ctx<'_>, r: &mut ByteReader<'_>) -> Result<Fixed<T>> {
    let count = read_count(ctx, r)?;
    let raw = r.raw(count * T::WIDTH, "dictionary values")?;
    let dict: Vec<T> = raw.chunks_exact(T::WIDTH).map(T::from_le).collect();
    let (bits, packed, codes_at) = read_codes(ctx, r)?;
    let mut values = Vec::with_capacity(ctx.rows);
    let mut code_max = 0u64;
    unpack_chunks(packed, bits, ctx.rows, |codes| {
        code_max = codes.iter().fold(code_max, |m, &c| m.max(c));
        // A code past the end yields a default here and an error below.
        values.extend(
            codes
                .iter()
                .map(|&c| dict.get(c as usize).copied().unwrap_or_default()),
        );
    });
    if ctx.rows > 0 && code_max >= count as u64 {
        return Err(bad_code(packed, bits, ctx.rows, count, codes_at));
    }
    let keys = dict.iter().map(|v| v.to_key());
    let keys_within = keys.clone().min().zip(keys.max());
    Ok(Fixed {
        values,
        keys_within,
    })
}

/// Decodes a string or byte payload.
pub(crate) fn decode_var(ctx: &Ctx<'_>, r: &mut ByteReader<'_>) -> Result<VarOut> {
    let count = read_count(ctx, r)?;
    let values_at = r.offset();
    let dict = read_slices(r, count, "dictionary")?;
    let (bits, packed, codes_at) = read_codes(ctx, r)?;
    let codes = unpack_with(packed, bits, ctx.rows, |c| c as u32);
    if codes.iter().fold(0, |m, &c| m.max(c)) as usize >= count && ctx.rows > 0 {
        return Err(bad_code(packed, bits, ctx.rows, count, codes_at));
    }
    VarOut::from_codes(
        ctx.rows,
        ctx.nulls,
        &dict,
        |row| codes[row] as usize,
        ctx.data_len_max,
        values_at,
    )
}
