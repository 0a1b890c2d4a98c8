//! Hash keys shared by the hash aggregate and the hash join: key columns of
//! any types are encoded with Arrow's row format, and distinct keys are
//! numbered in first-seen order.
//!
//! Invariant: equal SQL keys have equal bytes. NULL has its own encoding (so
//! the aggregate can group NULLs; the join skips NULL keys itself), and floats
//! are normalized first so that `-0.0` and `0.0` are one key.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::DataType;
use arrow::row::{Row, RowConverter, Rows, SortField};

use crate::binary::normalize_floats;
use crate::error::{Error, Result};

/// Distinct keys of fixed column types, numbered in first-seen order.
#[derive(Debug)]
pub(crate) struct KeyIndex {
    types: Vec<DataType>,
    converter: RowConverter,
    /// Row-format key bytes -> key number.
    index: HashMap<Box<[u8]>, usize>,
    /// Each key, in key-number order.
    keys: Rows,
}

impl KeyIndex {
    /// An empty index for keys of `types` (at least one).
    pub(crate) fn try_new(types: &[DataType]) -> Result<Self> {
        let fields = types.iter().map(|t| SortField::new(t.clone())).collect();
        let converter = RowConverter::new(fields)?;
        let keys = converter.empty_rows(0, 0);
        Ok(KeyIndex {
            types: types.to_vec(),
            converter,
            index: HashMap::new(),
            keys,
        })
    }

    /// How many distinct keys were inserted.
    pub(crate) fn len(&self) -> usize {
        self.keys.num_rows()
    }

    /// Encodes `rows` keys given as one array per key column.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] when the columns do not have the declared types or
    /// `rows` rows.
    pub(crate) fn encode(&self, keys: &[ArrayRef], rows: usize) -> Result<Rows> {
        let fits = keys.len() == self.types.len()
            && keys
                .iter()
                .zip(&self.types)
                .all(|(a, t)| a.data_type() == t && a.len() == rows);
        if !fits {
            return Err(Error::internal("keys do not match their declared types"));
        }
        let normalized: Vec<ArrayRef> = keys.iter().map(normalize_floats).collect();
        Ok(self.converter.convert_columns(&normalized)?)
    }

    /// The number of `row`'s key, adding it if it is new.
    pub(crate) fn insert(&mut self, row: Row<'_>) -> usize {
        if let Some(&k) = self.index.get(row.data()) {
            return k;
        }
        let k = self.keys.num_rows();
        self.index.insert(row.data().into(), k);
        self.keys.push(row);
        k
    }

    /// The number of `row`'s key, if it was inserted.
    pub(crate) fn get(&self, row: Row<'_>) -> Option<usize> {
        self.index.get(row.data()).copied()
    }

    /// The key columns, one row per key in key-number order.
    pub(crate) fn columns(&self) -> Result<Vec<ArrayRef>> {
        Ok(self.converter.convert_rows(self.keys.iter())?)
    }
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
        let rows = index.encode(&k, 4).unwrap();
        let ids: Vec<usize> = rows.iter().map(|r| index.insert(r)).collect();
        assert_eq!(ids, [0, 1, 0, 2]);
        assert_eq!(index.len(), 3);
        let probe = index
            .encode(&[ints(&[Some(1)]), strs(&[Some("b")])], 1)
            .unwrap();
        assert_eq!(index.get(probe.row(0)), None);
        assert_eq!(index.get(rows.row(3)), Some(2));
        assert_eq!(index.columns().unwrap()[0].null_count(), 1);
    }

    #[test]
    fn float_zeros_are_one_key_and_bad_types_are_internal() {
        let mut index = KeyIndex::try_new(&[DataType::Float64]).unwrap();
        let f: ArrayRef = Arc::new(Float64Array::from(vec![0.0, -0.0]));
        let rows = index.encode(&[f], 2).unwrap();
        assert_eq!(index.insert(rows.row(0)), index.insert(rows.row(1)));
        assert!(matches!(
            index.encode(&[ints(&[Some(1)])], 1),
            Err(Error::Internal { .. })
        ));
    }
}
