//! Packed keys: each key column becomes one or two 64-bit lanes, so a key of
//! a few columns is a short run of words, hashed by the SIMD hash kernel
//! lane by lane and compared word by word, without Arrow's row format.
//!
//! Lanes:
//! - integer-like, float and date/time columns of 1-8 bytes: the value bits,
//!   zero-extended (floats are normalized by the caller, so `-0.0` is `0.0`);
//! - BOOLEAN: 0 or 1;
//! - NUMERIC (Decimal128): two lanes, the low and high 64 bits;
//! - TEXT (Utf8): a string of at most 7 bytes is its bytes with its length
//!   in the top byte; a longer one is numbered by the index's [`Interner`]
//!   and its lane is [`LONG`] with the number in the low 56 bits. Its hash
//!   lane is the hash of its bytes, so that two indexes (whose numbers
//!   differ) hash a string alike.
//!
//! A last lane holds the key's NULL mask (bit `c`: column `c` is NULL); a NULL
//! column's lanes are 0.
//!
//! Invariant: two keys are equal in SQL's grouping sense (NULLs equal) iff
//! their lanes, as encoded by the same index, are equal.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use arrow::array::{Array, ArrayData, ArrayRef, AsArray, BooleanArray, StringBuilder, make_array};
use arrow::buffer::{Buffer, NullBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Decimal128Type};

use crate::binary::short_word;
use crate::error::{Error, Result};
use crate::kernels::{self, hash};

/// The top byte of an interned string's lane.
const LONG: u64 = 0xFF << 56;
/// The lane of a long string that a lookup did not find interned: no stored
/// key has it, so it matches nothing.
const UNKNOWN: u64 = 0xFE << 56;
/// Strings up to this many bytes are kept in their lane.
const INLINE: usize = 7;

/// How one key column is laid out in lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    /// Value bits of this many bytes (1, 2, 4 or 8).
    Bits(usize),
    Bool,
    /// Two lanes.
    Decimal,
    Text,
}

impl Column {
    fn of(t: &DataType) -> Option<Column> {
        use DataType::*;
        Some(match t {
            Int8 | UInt8 => Column::Bits(1),
            Int16 | UInt16 => Column::Bits(2),
            Int32 | UInt32 | Float32 | Date32 | Time32(_) => Column::Bits(4),
            Int64 | UInt64 | Float64 | Date64 | Time64(_) | Timestamp(..) | Duration(_) => {
                Column::Bits(8)
            }
            Boolean => Column::Bool,
            Decimal128(..) => Column::Decimal,
            Utf8 => Column::Text,
            _ => return None,
        })
    }

    fn lanes(self) -> usize {
        if self == Column::Decimal { 2 } else { 1 }
    }
}

/// The lanes of keys of given column types.
#[derive(Debug)]
pub(super) struct Layout {
    types: Vec<DataType>,
    columns: Vec<Column>,
    /// Lanes per key, the NULL mask included.
    stride: usize,
}

impl Layout {
    /// The layout of `types`, or None when a type has no lanes (it needs
    /// the row format) or there are more than 64 columns.
    pub(super) fn of(types: &[DataType]) -> Option<Arc<Layout>> {
        let columns = types.iter().map(Column::of).collect::<Option<Vec<_>>>()?;
        if columns.is_empty() || columns.len() > 64 {
            return None;
        }
        let stride = columns.iter().map(|c| c.lanes()).sum::<usize>() + 1;
        Some(Arc::new(Layout {
            types: types.to_vec(),
            columns,
            stride,
        }))
    }

    pub(super) fn stride(&self) -> usize {
        self.stride
    }

    /// Whether some text column of `columns` has more strings too long for
    /// their lane than strings that fit.
    pub(super) fn mostly_long_strings(&self, columns: &[ArrayRef]) -> bool {
        self.columns.iter().zip(columns).any(|(&kind, c)| {
            kind == Column::Text
                && c.as_string_opt::<i32>().is_some_and(|s| {
                    let long = s.iter().flatten().filter(|v| v.len() > INLINE).count();
                    2 * long > s.len() - s.null_count()
                })
        })
    }
}

/// A hasher for interned strings' bytes (std's `HashMap` with a fast hash).
#[derive(Default)]
struct BytesHasher(u64);

impl Hasher for BytesHasher {
    fn finish(&self) -> u64 {
        hash::finish(self.0)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 ^= super::hash_bytes(bytes);
    }
}

/// The long strings of an index's text key columns, numbered from 0.
#[derive(Debug, Default)]
pub(super) struct Interner {
    ids: HashMap<Box<[u8]>, u64, BuildHasherDefault<BytesHasher>>,
    strings: Vec<Box<[u8]>>,
    bytes: usize,
}

impl Interner {
    /// The number of `s`, numbering it if it is new.
    fn intern(&mut self, s: &[u8]) -> u64 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.strings.len() as u64;
        self.strings.push(s.into());
        self.ids.insert(s.into(), id);
        self.bytes += 2 * s.len();
        id
    }

    fn get(&self, s: &[u8]) -> Option<u64> {
        self.ids.get(s).copied()
    }

    pub(super) fn memory_bytes(&self) -> usize {
        self.bytes + self.strings.capacity() * 16 + self.ids.capacity() * 24
    }
}

/// How an encoding treats long strings: numbers new ones (keys to insert),
/// or only looks them up (keys to find).
pub(super) enum Strings<'a> {
    Intern(&'a mut Interner),
    Lookup(&'a Interner),
}

/// Keys of one batch: `stride` lanes per row, row after row, and the hashes.
pub(super) fn encode(
    layout: &Layout,
    columns: &[ArrayRef],
    rows: usize,
    mut strings: Strings<'_>,
) -> Result<(Vec<u64>, Vec<u64>)> {
    let stride = layout.stride;
    // Column-major first: each lane is hashed by the kernel as one slice.
    let mut lanes: Vec<Vec<u64>> = Vec::with_capacity(stride);
    let mut hashes = vec![hash::SEED; rows];
    let tier = kernels::tier();
    let fold = hash::u64_kernel(tier);
    let mut mask = vec![0u64; rows];
    for (c, (array, &kind)) in columns.iter().zip(&layout.columns).enumerate() {
        if array.len() != rows {
            return Err(Error::internal("key column of another length"));
        }
        let nulls = array.logical_nulls();
        if let Some(n) = &nulls {
            for (m, valid) in mask.iter_mut().zip(n.iter()) {
                *m |= u64::from(!valid) << c;
            }
        }
        let is_null = |i: usize| nulls.as_ref().is_some_and(|n| n.is_null(i));
        match kind {
            Column::Bits(width) => {
                let lane = bits_lane(array, width, rows)?;
                let lane = zero_nulls(lane, nulls.as_ref());
                fold(&lane, None, &mut hashes);
                lanes.push(lane);
            }
            Column::Bool => {
                let b = array.as_boolean();
                let lane: Vec<u64> = (0..rows)
                    .map(|i| u64::from(!is_null(i) && b.value(i)))
                    .collect();
                fold(&lane, None, &mut hashes);
                lanes.push(lane);
            }
            Column::Decimal => {
                let d = array.as_primitive::<Decimal128Type>();
                let values = d.values();
                let (mut lo, mut hi) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
                for (i, &v) in values.iter().enumerate() {
                    let v = if is_null(i) { 0 } else { v as u128 };
                    lo.push(v as u64);
                    hi.push((v >> 64) as u64);
                }
                fold(&lo, None, &mut hashes);
                fold(&hi, None, &mut hashes);
                lanes.push(lo);
                lanes.push(hi);
            }
            Column::Text => {
                let s = array.as_string::<i32>();
                let (offsets, data) = (s.value_offsets(), s.value_data());
                let mut lane = Vec::with_capacity(rows);
                let mut hash_lane = Vec::with_capacity(rows);
                for i in 0..rows {
                    let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
                    let len = end - start;
                    if len <= INLINE {
                        // A NULL's lanes are 0 (its bytes, if any, are ignored).
                        let v = if is_null(i) {
                            0
                        } else {
                            short_word(data, start, len) | (len as u64) << 56
                        };
                        lane.push(v);
                        hash_lane.push(v);
                    } else if is_null(i) {
                        lane.push(0);
                        hash_lane.push(0);
                    } else {
                        let bytes = &data[start..end];
                        let id = match &mut strings {
                            Strings::Intern(t) => Some(t.intern(bytes)),
                            Strings::Lookup(t) => t.get(bytes),
                        };
                        lane.push(id.map_or(UNKNOWN, |id| LONG | id));
                        hash_lane.push(super::hash_bytes(bytes));
                    }
                }
                fold(&hash_lane, None, &mut hashes);
                lanes.push(lane);
            }
        }
    }
    fold(&mask, None, &mut hashes);
    lanes.push(mask);
    let mut words = vec![0u64; rows * stride];
    for (l, lane) in lanes.iter().enumerate() {
        for (row, &v) in lane.iter().enumerate() {
            words[row * stride + l] = v;
        }
    }
    Ok((words, hashes.into_iter().map(hash::finish).collect()))
}

/// The value bits of a fixed-width column, zero-extended.
fn bits_lane(array: &ArrayRef, width: usize, rows: usize) -> Result<Vec<u64>> {
    let data = array.to_data();
    let values = data
        .buffers()
        .first()
        .ok_or_else(|| Error::internal("fixed-width key without values"))?
        .clone();
    let at = data.offset();
    Ok(match width {
        1 => ScalarBuffer::<u8>::new(values, at, rows)
            .iter()
            .map(|&v| u64::from(v))
            .collect(),
        2 => ScalarBuffer::<u16>::new(values, at, rows)
            .iter()
            .map(|&v| u64::from(v))
            .collect(),
        4 => ScalarBuffer::<u32>::new(values, at, rows)
            .iter()
            .map(|&v| u64::from(v))
            .collect(),
        _ => ScalarBuffer::<u64>::new(values, at, rows).to_vec(),
    })
}

fn zero_nulls(mut lane: Vec<u64>, nulls: Option<&NullBuffer>) -> Vec<u64> {
    if let Some(n) = nulls {
        for (v, valid) in lane.iter_mut().zip(n.iter()) {
            if !valid {
                *v = 0;
            }
        }
    }
    lane
}

/// `key` (lanes of an index whose long strings are `from`'s) with its long
/// strings numbered by `to` instead.
pub(super) fn renumber(
    layout: &Layout,
    key: &[u64],
    from: &Interner,
    to: &mut Interner,
) -> Vec<u64> {
    let mut out = key.to_vec();
    let mut l = 0;
    for &kind in &layout.columns {
        if kind == Column::Text && out[l] & (0xFF << 56) == LONG {
            let id = (out[l] & !LONG) as usize;
            if let Some(s) = from.strings.get(id) {
                out[l] = LONG | to.intern(s);
            }
        }
        l += kind.lanes();
    }
    out
}

/// The key columns of `keys` (stored lanes, `stride` per key).
pub(super) fn columns(
    layout: &Layout,
    words: &[u64],
    interner: &Interner,
) -> Result<Vec<ArrayRef>> {
    let stride = layout.stride;
    let n = words.len() / stride;
    let key = |k: usize| &words[k * stride..(k + 1) * stride];
    let mut out = Vec::with_capacity(layout.columns.len());
    let mut l = 0;
    for (c, (&kind, t)) in layout.columns.iter().zip(&layout.types).enumerate() {
        let null = |k: usize| key(k)[stride - 1] >> c & 1 == 1;
        let nulls = (0..n)
            .any(null)
            .then(|| NullBuffer::from_iter((0..n).map(|k| !null(k))));
        let lane = |k: usize| key(k)[l];
        let array: ArrayRef = match kind {
            Column::Bits(width) => {
                let buffer = match width {
                    1 => Buffer::from_iter((0..n).map(|k| lane(k) as u8)),
                    2 => Buffer::from_iter((0..n).map(|k| lane(k) as u16)),
                    4 => Buffer::from_iter((0..n).map(|k| lane(k) as u32)),
                    _ => Buffer::from_iter((0..n).map(lane)),
                };
                fixed_array(t, n, buffer, nulls)?
            }
            Column::Bool => Arc::new(BooleanArray::new(
                (0..n).map(|k| lane(k) == 1).collect(),
                nulls,
            )),
            Column::Decimal => {
                let buffer = Buffer::from_iter(
                    (0..n).map(|k| (u128::from(key(k)[l + 1]) << 64 | u128::from(lane(k))) as i128),
                );
                fixed_array(t, n, buffer, nulls)?
            }
            Column::Text => {
                let mut b = StringBuilder::new();
                for k in 0..n {
                    if null(k) {
                        b.append_null();
                        continue;
                    }
                    let v = lane(k);
                    if v & (0xFF << 56) == LONG {
                        let s = interner
                            .strings
                            .get((v & !LONG) as usize)
                            .ok_or_else(|| Error::internal("long key string not interned"))?;
                        b.append_value(
                            std::str::from_utf8(s)
                                .map_err(|_| Error::internal("key string is not UTF-8"))?,
                        );
                    } else {
                        let len = (v >> 56) as usize;
                        let bytes = v.to_le_bytes();
                        b.append_value(
                            std::str::from_utf8(&bytes[..len.min(INLINE)])
                                .map_err(|_| Error::internal("key string is not UTF-8"))?,
                        );
                    }
                }
                Arc::new(b.finish())
            }
        };
        out.push(array);
        l += kind.lanes();
    }
    Ok(out)
}

/// An array of type `t` (fixed-width) of `n` values in `buffer`.
fn fixed_array(
    t: &DataType,
    n: usize,
    buffer: Buffer,
    nulls: Option<NullBuffer>,
) -> Result<ArrayRef> {
    let data = ArrayData::builder(t.clone())
        .len(n)
        .add_buffer(buffer)
        .nulls(nulls)
        .build()?;
    Ok(make_array(data))
}

#[cfg(test)]
mod tests {
    use super::super::{ABSENT, KeyIndex};
    use crate::test_util::{bools, ints, proptest_config, strs};
    use arrow::array::{Array, ArrayRef, Decimal128Array, Int16Array};
    use arrow::datatypes::DataType;
    use proptest::prelude::*;
    use std::collections::HashMap;
    use std::sync::Arc;

    /// One key: (BIGINT, TEXT, NUMERIC(20, 2), BOOLEAN, SMALLINT), all nullable.
    type Key = (
        Option<i64>,
        Option<String>,
        Option<i128>,
        Option<bool>,
        Option<i16>,
    );

    fn key() -> impl Strategy<Value = Key> {
        // Strings of 0 to 12 bytes, so both sides of the 7-byte inline limit,
        // from a small alphabet so that keys repeat.
        let text = prop::option::weighted(0.9, "[ab\u{e9}]{0,6}|[ab]{7,12}");
        (
            prop::option::weighted(0.9, -3i64..3),
            text,
            prop::option::weighted(
                0.9,
                prop_oneof![-2i128..2, Just(i128::MAX / 7), Just(-(10i128.pow(19)))],
            ),
            prop::option::weighted(0.9, any::<bool>()),
            prop::option::weighted(0.9, prop_oneof![Just(-1i16), Just(0), Just(i16::MAX)]),
        )
    }

    fn types() -> Vec<DataType> {
        vec![
            DataType::Int64,
            DataType::Utf8,
            DataType::Decimal128(20, 2),
            DataType::Boolean,
            DataType::Int16,
        ]
    }

    fn arrays(keys: &[Key]) -> Vec<ArrayRef> {
        let a: Vec<Option<i64>> = keys.iter().map(|k| k.0).collect();
        let b: Vec<Option<&str>> = keys.iter().map(|k| k.1.as_deref()).collect();
        let c = Decimal128Array::from(keys.iter().map(|k| k.2).collect::<Vec<_>>())
            .with_precision_and_scale(20, 2)
            .unwrap();
        let d: Vec<Option<bool>> = keys.iter().map(|k| k.3).collect();
        let e = Int16Array::from(keys.iter().map(|k| k.4).collect::<Vec<_>>());
        vec![ints(&a), strs(&b), Arc::new(c), bools(&d), Arc::new(e)]
    }

    fn back(columns: &[ArrayRef]) -> Vec<Key> {
        use arrow::array::AsArray;
        use arrow::datatypes::{Decimal128Type, Int16Type, Int64Type};
        let (a, b, c) = (
            columns[0].as_primitive::<Int64Type>(),
            columns[1].as_string::<i32>(),
            columns[2].as_primitive::<Decimal128Type>(),
        );
        let (d, e) = (
            columns[3].as_boolean(),
            columns[4].as_primitive::<Int16Type>(),
        );
        (0..a.len())
            .map(|i| {
                (
                    a.is_valid(i).then(|| a.value(i)),
                    b.is_valid(i).then(|| b.value(i).to_string()),
                    c.is_valid(i).then(|| c.value(i)),
                    d.is_valid(i).then(|| d.value(i)),
                    e.is_valid(i).then(|| e.value(i)),
                )
            })
            .collect()
    }

    proptest! {
        #![proptest_config(proptest_config())]

        /// Two partial indexes number their keys as a map would, a third
        /// takes both over (long strings renumbered), gives every key back,
        /// and lookups find exactly the inserted keys.
        #[test]
        fn packed_keys_number_merge_and_come_back_like_a_map(
            first in prop::collection::vec(key(), 0..300),
            second in prop::collection::vec(key(), 0..300),
            probe in prop::collection::vec(key(), 0..100),
            force in any::<bool>(),
        ) {
            let mut proto = KeyIndex::try_new(&types()).unwrap();
            let packed = matches!(proto.store, super::super::Store::Packed { .. });
            prop_assert!(packed);
            if force {
                proto.force_collisions();
            }
            let mut parts = Vec::new();
            for keys in [&first, &second] {
                let mut index = proto.empty_like();
                let e = index.encode(&arrays(keys), keys.len()).unwrap();
                let mut ids = Vec::new();
                index.insert_all(&e, &mut ids).unwrap();
                let mut naive: HashMap<&Key, usize> = HashMap::new();
                for (k, id) in keys.iter().zip(&ids) {
                    let next = naive.len();
                    prop_assert_eq!(*naive.entry(k).or_insert(next), *id);
                }
                prop_assert_eq!(index.len(), naive.len());
                let mut distinct: Vec<Key> = vec![Default::default(); naive.len()];
                for (k, id) in naive {
                    distinct[id] = k.clone();
                }
                prop_assert_eq!(back(&index.columns().unwrap()), distinct);
                parts.push(index);
            }
            // The merged index: the second partial's keys first.
            let mut merged = proto.empty_like();
            for part in parts.iter().rev() {
                for k in 0..part.len() {
                    merged.insert_from(part, k).unwrap();
                }
            }
            let mut all: Vec<Key> = back(&parts[1].columns().unwrap());
            for k in back(&parts[0].columns().unwrap()) {
                if !all.contains(&k) {
                    all.push(k);
                }
            }
            prop_assert_eq!(back(&merged.columns().unwrap()), all.clone());
            let e = merged.encode_lookup(&arrays(&probe), probe.len()).unwrap();
            let mut found = Vec::new();
            merged.get_all(&e, &mut found);
            for (k, &f) in probe.iter().zip(&found) {
                let want = all.iter().position(|a| a == k).map_or(ABSENT, |p| p as u32);
                prop_assert_eq!(f, want, "{:?}", k);
            }
        }
    }
}
