//! Sets of row positions within one block: deletion vectors.
//!
//! On disk (in the catalog and in WAL records) a set is a list of runs:
//!
//! ```text
//! u32 run count, then each run: u32 first row, u32 row count
//! ```
//!
//! Invariant: runs are sorted, non-empty, non-overlapping and non-adjacent,
//! and lie below the row count of the block they belong to (the decoder
//! checks all four).

use hyperctl_format::arrow::array::BooleanArray;
use hyperctl_format::{ByteReader, ByteWriter};

/// A set of row positions (a bitmap).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RowSet {
    words: Vec<u64>,
    len: u32,
}

impl RowSet {
    /// Adds `row`; returns whether it was new.
    pub(crate) fn insert(&mut self, row: u32) -> bool {
        let (w, b) = ((row / 64) as usize, row % 64);
        if self.words.len() <= w {
            self.words.resize(w + 1, 0);
        }
        let bit = 1u64 << b;
        if self.words[w] & bit != 0 {
            return false;
        }
        self.words[w] |= bit;
        self.len += 1;
        true
    }

    /// Adds `start..start + n`.
    pub(crate) fn insert_range(&mut self, start: u32, n: u32) {
        for row in start..start + n {
            self.insert(row);
        }
    }

    pub(crate) fn contains(&self, row: u32) -> bool {
        let (w, b) = ((row / 64) as usize, row % 64);
        self.words
            .get(w)
            .is_some_and(|word| word & (1u64 << b) != 0)
    }

    /// How many rows are in the set.
    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The rows, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut word = word;
            std::iter::from_fn(move || {
                if word == 0 {
                    return None;
                }
                let b = word.trailing_zeros();
                word &= word - 1;
                Some(w as u32 * 64 + b)
            })
        })
    }

    /// The set as maximal runs `(first, count)`.
    pub(crate) fn runs(&self) -> Vec<(u32, u32)> {
        let mut runs: Vec<(u32, u32)> = Vec::new();
        for row in self.iter() {
            match runs.last_mut() {
                Some((first, count)) if *first + *count == row => *count += 1,
                _ => runs.push((row, 1)),
            }
        }
        runs
    }

    /// Rows `start..start + n` of this set, renumbered from 0.
    pub(crate) fn slice(&self, start: u32, n: u32) -> RowSet {
        let mut out = RowSet::default();
        for row in self.iter() {
            if row >= start && row < start + n {
                out.insert(row - start);
            }
        }
        out
    }

    /// This set with every row moved up by `by`.
    pub(crate) fn shifted(&self, by: u32) -> RowSet {
        let mut out = RowSet::default();
        for row in self.iter() {
            out.insert(row + by);
        }
        out
    }

    /// Adds every row of `other`.
    pub(crate) fn union_with(&mut self, other: &RowSet) {
        for row in other.iter() {
            self.insert(row);
        }
    }

    /// TRUE for the rows of `start..start + n` that are *not* in the set.
    pub(crate) fn keep_mask(&self, start: u32, n: u32) -> BooleanArray {
        (start..start + n)
            .map(|r| Some(!self.contains(r)))
            .collect()
    }

    pub(crate) fn encode(&self, w: &mut ByteWriter) {
        let runs = self.runs();
        w.put_u32(runs.len() as u32);
        for (first, count) in runs {
            w.put_u32(first);
            w.put_u32(count);
        }
    }

    /// Decodes a set of rows below `rows`.
    pub(crate) fn decode(r: &mut ByteReader<'_>, rows: u32) -> hyperctl_format::Result<RowSet> {
        let count = r.u32("deleted run count")?;
        let mut out = RowSet::default();
        let mut next_free = 0u32;
        for i in 0..count {
            let first = r.u32("deleted run start")?;
            let n = r.u32("deleted run length")?;
            let end = first.checked_add(n);
            let ordered = i == 0 && first >= next_free || first > next_free;
            if n == 0 || !ordered || end.is_none_or(|e| e > rows) {
                return Err(r.error(format!(
                    "deleted rows {first}+{n} are not a valid run of a block of {rows} rows"
                )));
            }
            out.insert_range(first, n);
            next_free = first + n;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_round_trip() {
        let mut s = RowSet::default();
        for r in [0, 1, 2, 5, 63, 64, 65, 200] {
            assert!(s.insert(r));
        }
        assert!(!s.insert(5));
        assert_eq!(s.len(), 8);
        assert_eq!(s.runs(), vec![(0, 3), (5, 1), (63, 3), (200, 1)]);
        let mut w = ByteWriter::new();
        s.encode(&mut w);
        let bytes = w.into_inner();
        let back = RowSet::decode(&mut ByteReader::new(&bytes, 0), 201).unwrap();
        assert_eq!(back, s);
        assert!(RowSet::decode(&mut ByteReader::new(&bytes, 0), 200).is_err());
        assert_eq!(s.slice(63, 3).runs(), vec![(0, 3)]);
        assert_eq!(s.shifted(1).runs(), vec![(1, 3), (6, 1), (64, 3), (201, 1)]);
    }

    #[test]
    fn overlapping_or_adjacent_runs_are_rejected() {
        for runs in [
            [(0u32, 2u32), (1, 1)],
            [(0, 2), (2, 1)],
            [(3, 1), (1, 1)],
            [(0, 0), (4, 1)],
        ] {
            let mut w = ByteWriter::new();
            w.put_u32(2);
            for (a, b) in runs {
                w.put_u32(a);
                w.put_u32(b);
            }
            let bytes = w.into_inner();
            assert!(RowSet::decode(&mut ByteReader::new(&bytes, 0), 10).is_err());
        }
    }
}
