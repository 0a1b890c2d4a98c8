//! Hash keys shared by the hash aggregate and the hash join: key columns are
//! encoded (one integer-like column as its values; columns of integer,
//! float, date/time, boolean, NUMERIC and text types as packed 64-bit lanes,
//! `packed`; any others with Arrow's row format), hashed (by the SIMD hash
//! kernel but for row-format keys of variable width), and distinct keys are
//! numbered in first-seen order.
//!
//! Invariant: equal SQL keys have equal bytes. NULL has its own encoding (so
//! the aggregate can group NULLs; the join skips NULL keys itself), and floats
//! are normalized first so that `-0.0` and `0.0` are one key.

use std::sync::{Arc, OnceLock};

use arrow::array::ArrayData;
use arrow::array::{Array, ArrayRef, make_array};
use arrow::buffer::{Buffer, NullBuffer, ScalarBuffer};
use arrow::datatypes::DataType;
use arrow::row::{Row, RowConverter, Rows, SortField};

use crate::binary::normalize_floats;
use crate::error::{Error, Result};
use crate::kernels::{self, hash, prefetch};

mod packed;

use packed::{Interner, Layout, Strings};

/// [`KeyIndex::get_all`]'s number for a key that is not in the index.
pub(crate) const ABSENT: u32 = u32::MAX;

/// Keys of one batch, encoded for an index: their hashes, and either their
/// row-format bytes or (one integer-like key column) their values.
#[derive(Debug)]
pub(crate) struct Encoded {
    hashes: Vec<u64>,
    keys: EncodedKeys,
}

#[derive(Debug)]
enum EncodedKeys {
    Rows(Rows),
    /// Values zero-extended to 64 bits, and which rows are NULL.
    Ints(Vec<u64>, Option<NullBuffer>),
    /// Packed lanes, this many per row, row after row.
    Packed(Vec<u64>, usize),
}

impl Encoded {
    /// The number of keys.
    pub(crate) fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Each key's hash, in row order.
    pub(crate) fn hashes(&self) -> &[u64] {
        &self.hashes
    }

    fn key(&self, i: usize) -> KeyRef<'_> {
        match &self.keys {
            EncodedKeys::Rows(rows) => KeyRef::Row(rows.row(i)),
            EncodedKeys::Ints(v, nulls) => {
                KeyRef::Int(v[i], nulls.as_ref().is_some_and(|n| n.is_null(i)))
            }
            EncodedKeys::Packed(words, stride) => {
                KeyRef::Words(&words[i * stride..(i + 1) * stride])
            }
        }
    }
}

/// One key, borrowed from an [`Encoded`] batch or from an index.
#[derive(Clone, Copy)]
enum KeyRef<'a> {
    Row(Row<'a>),
    /// The value, and whether the key is NULL.
    Int(u64, bool),
    /// Packed lanes.
    Words(&'a [u64]),
}

/// How an index stores its distinct keys.
#[derive(Debug)]
enum Store {
    /// Arrow's row format: any key types.
    Rows {
        /// Shared by the indexes of one operator, so their rows mix.
        converter: Arc<RowConverter>,
        keys: Rows,
    },
    /// One key column of an integer-like type of `width` bytes: the values
    /// themselves, compared without encoding. The NULL key, if seen, has a
    /// number but no slot.
    Ints {
        width: usize,
        values: Vec<u64>,
        null_key: Option<usize>,
    },
    /// Key columns of types with lanes: each key's lanes, key after key.
    Packed {
        layout: Arc<Layout>,
        words: Vec<u64>,
        strings: Interner,
        choice: Choice,
    },
}

/// Shared by an index and its [`KeyIndex::empty_like`] siblings, set by the
/// first batch any of them encodes: stay packed (None), or, when a text key
/// column's strings are mostly too long for their lane, use the row format
/// with this converter (interning every string would cost more).
type Choice = Arc<OnceLock<Option<Arc<RowConverter>>>>;

/// One slot of the open-addressing table: the key number + 1 (0: empty) and,
/// beside it, the key's value (one integer-like column) or its hash (row
/// keys). A probe reads one slot, so it touches one cache line, and only a
/// matching hash goes on to compare row bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    word: u64,
    tag: u32,
}

/// Distinct keys of fixed column types, numbered in first-seen order.
///
/// An open-addressing table (linear probing, at most half full) maps a
/// key's hash to candidate key numbers; candidates are confirmed on the
/// key (its value for one integer-like column, kept in the slot; its hash,
/// kept in the slot, then its row bytes otherwise). Keys of fixed-width
/// columns are hashed by the SIMD hash kernel over the column values, others
/// over their row bytes.
#[derive(Debug)]
pub(crate) struct KeyIndex {
    types: Vec<DataType>,
    store: Store,
    /// The table; its length is a power of two.
    slots: Vec<Slot>,
    /// Each key's hash, in key-number order.
    hashes: Vec<u64>,
    /// Every key column is fixed-width: hash the values with the kernel.
    fixed: bool,
    /// Tests: every key hashes to 0.
    force_collisions: bool,
}

impl KeyIndex {
    /// An empty index for keys of `types` (at least one).
    pub(crate) fn try_new(types: &[DataType]) -> Result<Self> {
        let fixed = types.iter().all(|t| fixed_width(t).is_some());
        let store = match types {
            [t] if integer_like(t) => Store::Ints {
                width: fixed_width(t).unwrap_or(8),
                values: Vec::new(),
                null_key: None,
            },
            _ if let Some(layout) = Layout::of(types) => Store::Packed {
                layout,
                words: Vec::new(),
                strings: Interner::default(),
                choice: Choice::default(),
            },
            _ => {
                let fields = types.iter().map(|t| SortField::new(t.clone())).collect();
                let converter = Arc::new(RowConverter::new(fields)?);
                let keys = converter.empty_rows(0, 0);
                Store::Rows { converter, keys }
            }
        };
        Ok(KeyIndex {
            types: types.to_vec(),
            store,
            slots: vec![Slot::default(); 16],
            hashes: Vec::new(),
            fixed,
            force_collisions: false,
        })
    }

    /// An empty index whose keys mix with this one's.
    pub(crate) fn empty_like(&self) -> KeyIndex {
        let store = match &self.store {
            Store::Rows { converter, .. } => Store::Rows {
                converter: converter.clone(),
                keys: converter.empty_rows(0, 0),
            },
            Store::Ints { width, .. } => Store::Ints {
                width: *width,
                values: Vec::new(),
                null_key: None,
            },
            Store::Packed { layout, choice, .. } => Store::Packed {
                layout: layout.clone(),
                words: Vec::new(),
                strings: Interner::default(),
                choice: choice.clone(),
            },
        };
        KeyIndex {
            types: self.types.clone(),
            store,
            slots: vec![Slot::default(); 16],
            hashes: Vec::new(),
            fixed: self.fixed,
            force_collisions: self.force_collisions,
        }
    }

    /// Tests: makes every key collide (hash 0), to exercise probing.
    pub(crate) fn force_collisions(&mut self) {
        self.force_collisions = true;
    }

    /// How many distinct keys were inserted.
    pub(crate) fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Bytes held, for the memory limit.
    pub(crate) fn memory_bytes(&self) -> usize {
        let keys = match &self.store {
            Store::Rows { keys, .. } => keys.size(),
            Store::Ints { values, .. } => values.capacity() * 8,
            Store::Packed { words, strings, .. } => words.capacity() * 8 + strings.memory_bytes(),
        };
        keys + self.slots.capacity() * size_of::<Slot>() + self.hashes.capacity() * 8
    }

    /// Encodes and hashes `rows` keys given as one array per key column, to
    /// be inserted (long strings of text keys are numbered).
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] when the columns do not have the declared types or
    /// `rows` rows.
    pub(crate) fn encode(&mut self, keys: &[ArrayRef], rows: usize) -> Result<Encoded> {
        let normalized = self.checked(keys, rows)?;
        self.choose_store(&normalized)?;
        let force = self.force_collisions;
        if let Store::Packed {
            layout, strings, ..
        } = &mut self.store
        {
            let strings = Strings::Intern(strings);
            return packed_keys(layout, &normalized, rows, strings, force);
        }
        self.encode_lookup(keys, rows)
    }

    /// Encodes and hashes `rows` keys to be looked up (a key with a long
    /// string that was never inserted is found absent).
    ///
    /// # Errors
    ///
    /// As [`encode`](Self::encode).
    pub(crate) fn encode_lookup(&self, keys: &[ArrayRef], rows: usize) -> Result<Encoded> {
        let normalized = self.checked(keys, rows)?;
        let encoded = match &self.store {
            Store::Rows { converter, .. } => {
                EncodedKeys::Rows(converter.convert_columns(&normalized)?)
            }
            Store::Ints { width, .. } => {
                let c = &normalized[0];
                EncodedKeys::Ints(int_values(c, *width, rows)?, c.logical_nulls())
            }
            Store::Packed {
                layout, strings, ..
            } => {
                let strings = Strings::Lookup(strings);
                return packed_keys(layout, &normalized, rows, strings, self.force_collisions);
            }
        };
        let hashes = if self.force_collisions {
            vec![0; rows]
        } else if self.fixed {
            hash_columns(&normalized, rows)?
        } else {
            let EncodedKeys::Rows(r) = &encoded else {
                return Err(Error::internal("variable-width keys without rows"));
            };
            r.iter()
                .map(|r| hash::finish(hash_bytes(r.data())))
                .collect()
        };
        Ok(Encoded {
            hashes,
            keys: encoded,
        })
    }

    /// A packed index that has no keys yet takes its siblings' choice of
    /// store, made on the first batch (`keys`) if none of them made it yet.
    fn choose_store(&mut self, keys: &[ArrayRef]) -> Result<()> {
        let Store::Packed {
            layout,
            words,
            choice,
            ..
        } = &self.store
        else {
            return Ok(());
        };
        if choice.get().is_none() {
            let rows = if layout.mostly_long_strings(keys) {
                let fields = self.types.iter().map(|t| SortField::new(t.clone()));
                Some(Arc::new(RowConverter::new(fields.collect())?))
            } else {
                None
            };
            // Another sibling may have chosen meanwhile: its choice stands.
            let _ = choice.set(rows);
        }
        if let Some(Some(converter)) = choice.get()
            && words.is_empty()
        {
            self.use_rows(converter.clone())?;
        }
        Ok(())
    }

    /// Turns an empty index into one of row-format keys.
    fn use_rows(&mut self, converter: Arc<RowConverter>) -> Result<()> {
        if self.len() > 0 {
            return Err(Error::internal("store changed after keys were inserted"));
        }
        let keys = converter.empty_rows(0, 0);
        self.store = Store::Rows { converter, keys };
        Ok(())
    }

    /// `keys` checked against the declared types, floats normalized.
    fn checked(&self, keys: &[ArrayRef], rows: usize) -> Result<Vec<ArrayRef>> {
        let fits = keys.len() == self.types.len()
            && keys
                .iter()
                .zip(&self.types)
                .all(|(a, t)| a.data_type() == t && a.len() == rows);
        if !fits {
            return Err(Error::internal("keys do not match their declared types"));
        }
        Ok(keys.iter().map(normalize_floats).collect())
    }

    /// The number of the key of row `i` of `e`, if it was inserted.
    pub(crate) fn get(&self, e: &Encoded, i: usize) -> Option<usize> {
        self.find(e.key(i), e.hashes[i]).ok()
    }

    /// The number of the key of row `i` of `e`, adding it if it is new.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] past 2^32 - 2 distinct keys.
    pub(crate) fn insert(&mut self, e: &Encoded, i: usize) -> Result<usize> {
        self.insert_key(e.key(i), e.hashes[i])
    }

    /// Every key of `e`, inserted; their numbers in row order.
    pub(crate) fn insert_all(&mut self, e: &Encoded, out: &mut Vec<usize>) -> Result<()> {
        out.clear();
        out.reserve(e.len());
        for i in 0..e.len() {
            self.prefetch_slot(e, i + prefetch::DISTANCE);
            out.push(self.insert(e, i)?);
        }
        Ok(())
    }

    /// The number of every key of `e` that was inserted, [`ABSENT`] for the
    /// others, in row order.
    pub(crate) fn get_all(&self, e: &Encoded, out: &mut Vec<u32>) {
        out.clear();
        out.reserve(e.len());
        for i in 0..e.len() {
            self.prefetch_slot(e, i + prefetch::DISTANCE);
            // Key numbers stay below u32::MAX (insert_key checks it).
            out.push(self.get(e, i).map_or(ABSENT, |k| k as u32));
        }
    }

    /// The number of the key of each row `rows` names of `e` ([`ABSENT`]
    /// for keys not inserted), in the order of `rows`.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] when a row is beyond `e`.
    pub(crate) fn get_some(&self, e: &Encoded, rows: &[u32], out: &mut Vec<u32>) -> Result<()> {
        if rows.iter().any(|&r| r as usize >= e.len()) {
            return Err(Error::internal("key lookup beyond its batch"));
        }
        out.clear();
        out.reserve(rows.len());
        for (j, &r) in rows.iter().enumerate() {
            if let Some(&ahead) = rows.get(j + prefetch::DISTANCE) {
                self.prefetch_slot(e, ahead as usize);
            }
            out.push(self.get(e, r as usize).map_or(ABSENT, |k| k as u32));
        }
        Ok(())
    }

    /// Each distinct key's hash, in key-number order.
    pub(crate) fn key_hashes(&self) -> &[u64] {
        &self.hashes
    }

    /// Starts loading the slot where inserting key `k` of `other` (an
    /// [`empty_like`](Self::empty_like) sibling) will probe.
    #[inline(always)]
    pub(crate) fn prefetch_key_of(&self, other: &KeyIndex, k: usize) {
        self.prefetch_hash(other.hashes.get(k));
    }

    /// Starts loading the slot where the probe of key `i` of `e` begins.
    #[inline(always)]
    fn prefetch_slot(&self, e: &Encoded, i: usize) {
        self.prefetch_hash(e.hashes.get(i));
    }

    /// Starts loading the slot where a probe for `hash` begins (none: no
    /// key).
    #[inline(always)]
    fn prefetch_hash(&self, hash: Option<&u64>) {
        if let Some(&h) = hash {
            prefetch::prefetch(&self.slots, h as usize & (self.slots.len() - 1));
        }
    }

    /// Inserts key `k` of `other` (an [`empty_like`](Self::empty_like)
    /// sibling); returns its number here.
    pub(crate) fn insert_from(&mut self, other: &KeyIndex, k: usize) -> Result<usize> {
        if let (Store::Packed { .. }, Store::Rows { converter, .. }) = (&self.store, &other.store) {
            self.use_rows(converter.clone())?;
        }
        let key = match &other.store {
            Store::Rows { keys, .. } => KeyRef::Row(keys.row(k)),
            Store::Ints {
                values, null_key, ..
            } => KeyRef::Int(values[k], Some(k) == *null_key),
            Store::Packed {
                layout,
                words,
                strings,
                ..
            } => {
                let Store::Packed { strings: ours, .. } = &mut self.store else {
                    return Err(Error::internal("keys of another kind of index"));
                };
                let stride = layout.stride();
                let key = &words[k * stride..(k + 1) * stride];
                let key = packed::renumber(layout, key, strings, ours);
                return self.insert_key(KeyRef::Words(&key), other.hashes[k]);
            }
        };
        self.insert_key(key, other.hashes[k])
    }

    fn insert_key(&mut self, key: KeyRef<'_>, hash: u64) -> Result<usize> {
        let slot = match self.find(key, hash) {
            Ok(k) => return Ok(k),
            Err(slot) => slot,
        };
        let k = self.len();
        let tag = u32::try_from(k + 1)
            .ok()
            .filter(|&t| t < u32::MAX)
            .ok_or_else(|| Error::internal("more than 2^32 distinct keys"))?;
        let is_null = match (&mut self.store, key) {
            (Store::Rows { keys, .. }, KeyRef::Row(row)) => {
                keys.push(row);
                false
            }
            (
                Store::Ints {
                    values, null_key, ..
                },
                KeyRef::Int(v, null),
            ) => {
                values.push(v);
                if null {
                    *null_key = Some(k);
                }
                null
            }
            (Store::Packed { words, .. }, KeyRef::Words(key)) => {
                words.extend_from_slice(key);
                false
            }
            _ => return Err(Error::internal("keys encoded for another index")),
        };
        self.hashes.push(hash);
        if is_null {
            return Ok(k);
        }
        self.slots[slot] = Slot {
            word: slot_word(key, hash),
            tag,
        };
        if self.len() * 2 > self.slots.len() {
            self.grow();
        }
        Ok(k)
    }

    /// The slot of `key`: `Ok(key number)` if present, `Err(empty slot)` if
    /// not (the NULL key of an integer index has no slot: absent, its `Err`
    /// slot is never filled).
    fn find(&self, key: KeyRef<'_>, hash: u64) -> std::result::Result<usize, usize> {
        let at = hash as usize & (self.slots.len() - 1);
        match (&self.store, key) {
            (Store::Ints { null_key, .. }, KeyRef::Int(v, null)) => {
                if null {
                    return null_key.ok_or(usize::MAX);
                }
                self.probe(at, |s| s.word == v)
            }
            (Store::Packed { layout, words, .. }, KeyRef::Words(key)) => {
                let stride = layout.stride();
                // Word by word: a slice comparison would call memcmp for a
                // few words.
                self.probe(at, |s| {
                    let k = (s.tag - 1) as usize;
                    s.word == hash
                        && words[k * stride..(k + 1) * stride]
                            .iter()
                            .zip(key.iter())
                            .all(|(a, b)| a == b)
                })
            }
            (Store::Rows { keys, .. }, KeyRef::Row(row)) => {
                let row = row.data();
                self.probe(at, |s| {
                    s.word == hash && keys.row((s.tag - 1) as usize).data() == row
                })
            }
            // Keys encoded by another kind of index match nothing.
            _ => Err(usize::MAX),
        }
    }

    /// Linear probing from slot `at`: `Ok(key number)` of the first filled
    /// slot that `is_key` accepts, `Err(slot)` at the first empty one.
    #[inline(always)]
    fn probe(
        &self,
        mut at: usize,
        is_key: impl Fn(Slot) -> bool,
    ) -> std::result::Result<usize, usize> {
        let mask = self.slots.len() - 1;
        loop {
            let s = self.slots[at];
            if s.tag == 0 {
                return Err(at);
            }
            if is_key(s) {
                return Ok((s.tag - 1) as usize);
            }
            at = (at + 1) & mask;
        }
    }

    /// Makes room for `keys` keys in all, so that inserting them does not
    /// grow the table step by step.
    pub(crate) fn reserve(&mut self, keys: usize) {
        let size = keys.saturating_mul(2).next_power_of_two();
        if size > self.slots.len() {
            self.rebuild_slots(size);
        }
        let more = keys.saturating_sub(self.len());
        self.hashes.reserve(more);
        if let Store::Ints { values, .. } = &mut self.store {
            values.reserve(more);
        }
    }

    fn grow(&mut self) {
        self.rebuild_slots(self.slots.len() * 2);
    }

    /// Replaces the table with an empty one of `size` slots (a power of two
    /// above twice the keys) and puts every key back.
    fn rebuild_slots(&mut self, size: usize) {
        self.slots = vec![Slot::default(); size];
        let mask = size - 1;
        let (values, null_key) = match &self.store {
            Store::Ints {
                values, null_key, ..
            } => (Some(values), *null_key),
            Store::Rows { .. } | Store::Packed { .. } => (None, None),
        };
        for (k, &h) in self.hashes.iter().enumerate() {
            if Some(k) == null_key {
                continue;
            }
            let mut i = h as usize & mask;
            while self.slots[i].tag != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = Slot {
                word: values.map_or(h, |v| v[k]),
                tag: k as u32 + 1,
            };
        }
    }

    /// The key columns, one row per key in key-number order.
    pub(crate) fn columns(&self) -> Result<Vec<ArrayRef>> {
        match &self.store {
            Store::Packed {
                layout,
                words,
                strings,
                ..
            } => packed::columns(layout, words, strings),
            Store::Rows { converter, keys } => Ok(converter.convert_rows(keys.iter())?),
            Store::Ints {
                width,
                values,
                null_key,
            } => {
                let buffer = if *width == 4 {
                    Buffer::from_iter(values.iter().map(|&v| v as u32))
                } else {
                    Buffer::from_iter(values.iter().copied())
                };
                let nulls =
                    null_key.map(|n| NullBuffer::from_iter((0..values.len()).map(|k| k != n)));
                let data = ArrayData::builder(self.types[0].clone())
                    .len(values.len())
                    .add_buffer(buffer)
                    .nulls(nulls)
                    .build()?;
                Ok(vec![make_array(data)])
            }
        }
    }
}

/// What a key's slot holds beside its number: an integer key's value, a row
/// key's hash.
fn slot_word(key: KeyRef<'_>, hash: u64) -> u64 {
    match key {
        KeyRef::Int(v, _) => v,
        KeyRef::Row(_) | KeyRef::Words(_) => hash,
    }
}

/// Packed keys of a batch, and their hashes (all 0 when `force_collisions`).
fn packed_keys(
    layout: &Layout,
    normalized: &[ArrayRef],
    rows: usize,
    strings: Strings<'_>,
    force_collisions: bool,
) -> Result<Encoded> {
    let (words, mut hashes) = packed::encode(layout, normalized, rows, strings)?;
    if force_collisions {
        hashes.fill(0);
    }
    Ok(Encoded {
        hashes,
        keys: EncodedKeys::Packed(words, layout.stride()),
    })
}

/// Integer-like types (compared by value bits): one such key column is
/// indexed by value.
fn integer_like(t: &DataType) -> bool {
    use DataType::*;
    matches!(
        t,
        Int32
            | UInt32
            | Date32
            | Time32(_)
            | Int64
            | UInt64
            | Date64
            | Time64(_)
            | Timestamp(..)
            | Duration(_)
    )
}

/// The values of an integer-like column of `width` bytes as `u64`s
/// (zero-extended; a NULL's value is whatever its slot holds).
fn int_values(c: &ArrayRef, width: usize, rows: usize) -> Result<Vec<u64>> {
    let data = c.to_data();
    let values = data
        .buffers()
        .first()
        .ok_or_else(|| Error::internal("integer key without values"))?;
    Ok(match width {
        4 => ScalarBuffer::<u32>::new(values.clone(), data.offset(), rows)
            .iter()
            .map(|&v| u64::from(v))
            .collect(),
        _ => ScalarBuffer::<u64>::new(values.clone(), data.offset(), rows).to_vec(),
    })
}

/// The value width of a fixed-width key type the hash kernel takes.
fn fixed_width(t: &DataType) -> Option<usize> {
    use DataType::*;
    match t {
        Int32 | UInt32 | Float32 | Date32 | Time32(_) => Some(4),
        Int64 | UInt64 | Float64 | Date64 | Time64(_) | Timestamp(..) | Duration(_) => Some(8),
        _ => None,
    }
}

/// Kernel hashes of fixed-width key columns (floats already normalized).
fn hash_columns(columns: &[ArrayRef], rows: usize) -> Result<Vec<u64>> {
    let tier = kernels::tier();
    let mut h = vec![hash::SEED; rows];
    for c in columns {
        let data = c.to_data();
        let values = data
            .buffers()
            .first()
            .ok_or_else(|| Error::internal("fixed-width key without values"))?;
        let valid = c.logical_nulls().map(|n| kernels::validity_words(&n));
        match fixed_width(c.data_type()) {
            Some(4) => {
                let v = ScalarBuffer::<u32>::new(values.clone(), data.offset(), rows);
                hash::u32_kernel(tier)(&v, valid.as_deref(), &mut h);
            }
            Some(8) => {
                let v = ScalarBuffer::<u64>::new(values.clone(), data.offset(), rows);
                hash::u64_kernel(tier)(&v, valid.as_deref(), &mut h);
            }
            _ => return Err(Error::internal("hash kernel on a variable-width key")),
        }
    }
    Ok(h.into_iter().map(hash::finish).collect())
}

/// The hash of variable-width row bytes.
fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = hash::SEED ^ bytes.len() as u64;
    for chunk in bytes.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(w))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{ints, strs};
    use arrow::array::Float64Array;
    use std::sync::Arc;

    #[test]
    fn numbers_keys_in_first_seen_order() {
        let mut index = KeyIndex::try_new(&[DataType::Int64, DataType::Utf8]).unwrap();
        let k = [
            ints(&[Some(1), None, Some(1), Some(1)]),
            strs(&[Some("a"), Some("a"), Some("a"), None]),
        ];
        let e = index.encode(&k, 4).unwrap();
        let mut ids = Vec::new();
        index.insert_all(&e, &mut ids).unwrap();
        assert_eq!(ids, [0, 1, 0, 2]);
        assert_eq!(index.len(), 3);
        let probe = index
            .encode(&[ints(&[Some(1)]), strs(&[Some("b")])], 1)
            .unwrap();
        assert_eq!(index.get(&probe, 0), None);
        assert_eq!(index.get(&e, 3), Some(2));
        assert_eq!(index.columns().unwrap()[0].null_count(), 1);
    }

    #[test]
    fn float_zeros_are_one_key_and_bad_types_are_internal() {
        let mut index = KeyIndex::try_new(&[DataType::Float64]).unwrap();
        let f: ArrayRef = Arc::new(Float64Array::from(vec![0.0, -0.0]));
        let e = index.encode(&[f], 2).unwrap();
        assert_eq!(e.hashes[0], e.hashes[1]);
        let a = index.insert(&e, 0).unwrap();
        assert_eq!(a, index.insert(&e, 1).unwrap());
        assert!(matches!(
            index.encode(&[ints(&[Some(1)])], 1),
            Err(Error::Internal { .. })
        ));
    }

    #[test]
    fn many_keys_with_and_without_collisions() {
        for force in [false, true] {
            let mut index = KeyIndex::try_new(&[DataType::Int64, DataType::Int32]).unwrap();
            if force {
                index.force_collisions();
            }
            let a: Vec<Option<i64>> = (0..600).map(|i| (i % 7 != 0).then_some(i % 150)).collect();
            let b: ArrayRef = Arc::new(arrow::array::Int32Array::from(
                (0..600).map(|i| Some(i % 2)).collect::<Vec<_>>(),
            ));
            let cols = [ints(&a), b];
            let e = index.encode(&cols, 600).unwrap();
            let mut ids = Vec::new();
            index.insert_all(&e, &mut ids).unwrap();
            let mut naive = std::collections::HashMap::new();
            for (i, id) in ids.iter().enumerate() {
                let key = (a[i], i % 2);
                let next = naive.len();
                assert_eq!(
                    *naive.entry(key).or_insert(next),
                    *id,
                    "row {i} force {force}"
                );
            }
            assert_eq!(index.len(), naive.len());
            let other = index.empty_like();
            assert_eq!(other.len(), 0);
            assert!(index.memory_bytes() > other.memory_bytes());
        }
    }

    #[test]
    fn batch_lookups_and_reserved_tables_agree_with_single_inserts() {
        for types in [vec![DataType::Int64], vec![DataType::Int64, DataType::Utf8]] {
            let vals: Vec<Option<i64>> = (0..3000)
                .map(|i| (i % 11 != 3).then_some((i * 37) % 1009))
                .collect();
            let mut cols = vec![ints(&vals)];
            if types.len() == 2 {
                let s: Vec<Option<String>> =
                    (0..3000).map(|i| Some(format!("s{}", i % 3))).collect();
                let s: Vec<Option<&str>> = s.iter().map(|v| v.as_deref()).collect();
                cols.push(strs(&s));
            }
            let mut grown = KeyIndex::try_new(&types).unwrap();
            let mut reserved = grown.empty_like();
            reserved.reserve(3000);
            let e = grown.encode(&cols, 3000).unwrap();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            grown.insert_all(&e, &mut a).unwrap();
            reserved.insert_all(&e, &mut b).unwrap();
            assert_eq!(a, b);
            assert!(reserved.slots.len() >= 4096, "{}", reserved.slots.len());
            // Half the probes are keys that were never inserted.
            let probe: Vec<Option<i64>> = (0..3000).map(|i| Some(i * 2)).collect();
            let mut pcols = vec![ints(&probe)];
            pcols.extend(cols.iter().skip(1).cloned());
            let p = grown.encode(&pcols, 3000).unwrap();
            let mut found = Vec::new();
            grown.get_all(&p, &mut found);
            let absent = found.iter().filter(|&&k| k == ABSENT).count();
            assert!(absent > 0 && absent < 3000, "{absent}");
            for (i, &k) in found.iter().enumerate() {
                assert_eq!(grown.get(&p, i).map(|k| k as u32).unwrap_or(ABSENT), k);
            }
        }
    }

    #[test]
    fn one_integer_key_is_indexed_by_value_with_its_null_group() {
        for force in [false, true] {
            for wide in [false, true] {
                let vals: Vec<Option<i64>> = (0..500)
                    .map(|i| (i % 9 != 4).then_some((i * 7) % 61 - 30))
                    .collect();
                let (col, ty): (ArrayRef, _) = if wide {
                    (ints(&vals), DataType::Int64)
                } else {
                    let v: Vec<Option<i32>> = vals.iter().map(|v| v.map(|v| v as i32)).collect();
                    (Arc::new(arrow::array::Int32Array::from(v)), DataType::Int32)
                };
                let mut index = KeyIndex::try_new(std::slice::from_ref(&ty)).unwrap();
                assert!(matches!(index.store, Store::Ints { .. }));
                if force {
                    index.force_collisions();
                }
                let e = index.encode(std::slice::from_ref(&col), 500).unwrap();
                let mut ids = Vec::new();
                index.insert_all(&e, &mut ids).unwrap();
                let mut naive = std::collections::HashMap::new();
                for (i, id) in ids.iter().enumerate() {
                    let next = naive.len();
                    assert_eq!(*naive.entry(vals[i]).or_insert(next), *id, "row {i}");
                    assert_eq!(index.get(&e, i), Some(*id));
                }
                assert_eq!(index.len(), naive.len());
                // The key columns give each key back, NULL included.
                let keys = &index.columns().unwrap()[0];
                assert_eq!(keys.data_type(), &ty);
                assert_eq!(keys.null_count(), 1);
                for (i, id) in ids.iter().enumerate() {
                    assert_eq!(keys.is_null(*id), vals[i].is_none());
                }
                // A sibling takes the keys over in another order.
                let mut other = index.empty_like();
                let moved: Vec<usize> = (0..index.len())
                    .rev()
                    .map(|k| other.insert_from(&index, k).unwrap())
                    .collect();
                assert_eq!(moved, (0..index.len()).collect::<Vec<_>>());
                assert_eq!(other.get(&e, 0), Some(index.len() - 1 - ids[0]));
            }
        }
    }
}
