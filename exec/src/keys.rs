//! Hash keys shared by the hash aggregate and the hash join: key columns of
//! any types are encoded with Arrow's row format, hashed (by the SIMD hash
//! kernel when every key column is fixed-width), and distinct keys are
//! numbered in first-seen order.
//!
//! Invariant: equal SQL keys have equal bytes. NULL has its own encoding (so
//! the aggregate can group NULLs; the join skips NULL keys itself), and floats
//! are normalized first so that `-0.0` and `0.0` are one key.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::buffer::ScalarBuffer;
use arrow::datatypes::DataType;
use arrow::row::{Row, RowConverter, Rows, SortField};

use crate::binary::normalize_floats;
use crate::error::{Error, Result};
use crate::kernels::{self, hash};

/// Keys of one batch: their row-format bytes and their hashes.
#[derive(Debug)]
pub(crate) struct Encoded {
    pub(crate) rows: Rows,
    pub(crate) hashes: Vec<u64>,
}

/// Distinct keys of fixed column types, numbered in first-seen order.
///
/// An open-addressing table (linear probing, at most half full) maps a
/// key's hash to candidate key numbers; candidates are confirmed on the
/// row bytes. Keys of fixed-width columns are hashed by the SIMD hash
/// kernel over the column values, others over their row bytes.
#[derive(Debug)]
pub(crate) struct KeyIndex {
    types: Vec<DataType>,
    /// Shared by the indexes of one operator, so their rows mix.
    converter: Arc<RowConverter>,
    /// Key number + 1 per slot, 0 for empty; the length is a power of two.
    slots: Vec<u32>,
    /// Each key's hash, in key-number order.
    hashes: Vec<u64>,
    /// Each key, in key-number order.
    keys: Rows,
    /// Every key column is fixed-width: hash the values with the kernel.
    fixed: bool,
    /// Tests: every key hashes to 0.
    force_collisions: bool,
}

impl KeyIndex {
    /// An empty index for keys of `types` (at least one).
    pub(crate) fn try_new(types: &[DataType]) -> Result<Self> {
        let fields = types.iter().map(|t| SortField::new(t.clone())).collect();
        let converter = Arc::new(RowConverter::new(fields)?);
        let fixed = types.iter().all(|t| fixed_width(t).is_some());
        Ok(Self::with_converter(types.to_vec(), converter, fixed))
    }

    fn with_converter(types: Vec<DataType>, converter: Arc<RowConverter>, fixed: bool) -> Self {
        let keys = converter.empty_rows(0, 0);
        KeyIndex {
            types,
            converter,
            slots: vec![0; 16],
            hashes: Vec::new(),
            keys,
            fixed,
            force_collisions: false,
        }
    }

    /// An empty index whose rows mix with this one's.
    pub(crate) fn empty_like(&self) -> KeyIndex {
        let mut k = Self::with_converter(self.types.clone(), self.converter.clone(), self.fixed);
        k.force_collisions = self.force_collisions;
        k
    }

    /// Tests: makes every key collide (hash 0), to exercise probing.
    pub(crate) fn force_collisions(&mut self) {
        self.force_collisions = true;
    }

    /// How many distinct keys were inserted.
    pub(crate) fn len(&self) -> usize {
        self.keys.num_rows()
    }

    /// Bytes held, for the memory limit.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.keys.size() + self.slots.capacity() * 4 + self.hashes.capacity() * 8
    }

    /// Encodes and hashes `rows` keys given as one array per key column.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] when the columns do not have the declared types or
    /// `rows` rows.
    pub(crate) fn encode(&self, keys: &[ArrayRef], rows: usize) -> Result<Encoded> {
        let fits = keys.len() == self.types.len()
            && keys
                .iter()
                .zip(&self.types)
                .all(|(a, t)| a.data_type() == t && a.len() == rows);
        if !fits {
            return Err(Error::internal("keys do not match their declared types"));
        }
        let normalized: Vec<ArrayRef> = keys.iter().map(normalize_floats).collect();
        let encoded = self.converter.convert_columns(&normalized)?;
        let hashes = if self.force_collisions {
            vec![0; rows]
        } else if self.fixed {
            hash_columns(&normalized, rows)?
        } else {
            encoded
                .iter()
                .map(|r| hash::finish(hash_bytes(r.data())))
                .collect()
        };
        Ok(Encoded {
            rows: encoded,
            hashes,
        })
    }

    /// The slot of a key with `hash` and bytes `row`: `Ok` if present,
    /// `Err(empty slot)` if not.
    fn find(&self, row: &[u8], hash: u64) -> std::result::Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let s = self.slots[i];
            if s == 0 {
                return Err(i);
            }
            let k = (s - 1) as usize;
            if self.hashes[k] == hash && self.keys.row(k).data() == row {
                return Ok(k);
            }
            i = (i + 1) & mask;
        }
    }

    /// The number of `row`'s key (its hash from [`encode`](Self::encode)),
    /// adding it if it is new.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] past 2^32 - 2 distinct keys.
    pub(crate) fn insert(&mut self, row: Row<'_>, hash: u64) -> Result<usize> {
        match self.find(row.data(), hash) {
            Ok(k) => Ok(k),
            Err(slot) => {
                let k = self.keys.num_rows();
                let tag = u32::try_from(k + 1)
                    .ok()
                    .filter(|&t| t < u32::MAX)
                    .ok_or_else(|| Error::internal("more than 2^32 distinct keys"))?;
                self.slots[slot] = tag;
                self.hashes.push(hash);
                self.keys.push(row);
                if self.keys.num_rows() * 2 > self.slots.len() {
                    self.grow();
                }
                Ok(k)
            }
        }
    }

    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        self.slots = vec![0; size];
        let mask = size - 1;
        for (k, &h) in self.hashes.iter().enumerate() {
            let mut i = h as usize & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = k as u32 + 1;
        }
    }

    /// The number of `row`'s key, if it was inserted.
    pub(crate) fn get(&self, row: Row<'_>, hash: u64) -> Option<usize> {
        self.find(row.data(), hash).ok()
    }

    /// Key `k`'s row and hash.
    pub(crate) fn key(&self, k: usize) -> (Row<'_>, u64) {
        (self.keys.row(k), self.hashes[k])
    }

    /// The key columns, one row per key in key-number order.
    pub(crate) fn columns(&self) -> Result<Vec<ArrayRef>> {
        Ok(self.converter.convert_rows(self.keys.iter())?)
    }
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
        let ids: Vec<usize> = e
            .rows
            .iter()
            .zip(&e.hashes)
            .map(|(r, &h)| index.insert(r, h).unwrap())
            .collect();
        assert_eq!(ids, [0, 1, 0, 2]);
        assert_eq!(index.len(), 3);
        let probe = index
            .encode(&[ints(&[Some(1)]), strs(&[Some("b")])], 1)
            .unwrap();
        assert_eq!(index.get(probe.rows.row(0), probe.hashes[0]), None);
        assert_eq!(index.get(e.rows.row(3), e.hashes[3]), Some(2));
        assert_eq!(index.columns().unwrap()[0].null_count(), 1);
    }

    #[test]
    fn float_zeros_are_one_key_and_bad_types_are_internal() {
        let mut index = KeyIndex::try_new(&[DataType::Float64]).unwrap();
        let f: ArrayRef = Arc::new(Float64Array::from(vec![0.0, -0.0]));
        let e = index.encode(&[f], 2).unwrap();
        assert_eq!(e.hashes[0], e.hashes[1]);
        let a = index.insert(e.rows.row(0), e.hashes[0]).unwrap();
        assert_eq!(a, index.insert(e.rows.row(1), e.hashes[1]).unwrap());
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
            let ids: Vec<usize> = e
                .rows
                .iter()
                .zip(&e.hashes)
                .map(|(r, &h)| index.insert(r, h).unwrap())
                .collect();
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
}
