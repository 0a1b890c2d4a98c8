//! The hash join's probe: the build side's keys go into a [`KeyIndex`]
//! (Arrow's row format, as the hash aggregate uses), each left row looks its
//! key up, and the residual filter, if any, is evaluated over the candidate
//! pairs. A [`PreFilter`] built with the index picks the probe rows that may
//! match, so the others never reach the table.
//!
//! NULL keys never match (SQL `=`): build rows with a NULL key are not
//! indexed. For Mark, a left row without a match also gets the pairs whose
//! key comparison is NULL rather than FALSE (a NULL on either side, no other
//! column different), with verdict NULL, so that `x IN (...)` is NULL exactly
//! when SQL says so. Mark's verdicts treat the filter as selecting the set
//! `x` is tested against: a pair whose filter is not TRUE counts as FALSE.

use std::cmp::Ordering;

use arrow::array::{Array, ArrayRef, DynComparator, UInt32Array, make_comparator};
use arrow::compute::SortOptions;
use arrow::datatypes::{DataType, Schema};
use arrow::record_batch::RecordBatch;

use super::prefilter::PreFilter;
use super::{Pairs, Probe, check_condition, evaluate_on_pairs, joined_schema, row_u32};
use crate::binary::normalize_floats;
use crate::error::{Error, Result};
use crate::expr::PhysicalExpr;
use crate::keys::{ABSENT, KeyIndex};

/// The probe gathers the candidate keys of a batch before encoding them
/// when at most this fraction (1 / N) of its rows are candidates.
const GATHER_BELOW: usize = 2;
use crate::plan::JoinType;

/// Checks a hash join's keys and filter; returns the key types.
pub(crate) fn check(
    left: &Schema,
    right: &Schema,
    on: &[(PhysicalExpr, PhysicalExpr)],
    filter: Option<&PhysicalExpr>,
) -> Result<Vec<DataType>> {
    if on.is_empty() {
        return Err(Error::internal(
            "hash join without keys; use a nested-loop join",
        ));
    }
    let mut types = Vec::with_capacity(on.len());
    for (l, r) in on {
        let (lt, rt) = (l.data_type(left)?, r.data_type(right)?);
        if lt != rt {
            return Err(Error::internal(format!(
                "hash join keys of different types: {lt} and {rt}"
            )));
        }
        types.push(lt);
    }
    check_condition(&joined_schema(left, right), filter)?;
    Ok(types)
}

/// The probe state of a hash join.
#[derive(Debug)]
pub(crate) struct HashProbe {
    on_left: Vec<PhysicalExpr>,
    on_right: Vec<PhysicalExpr>,
    filter: Option<PhysicalExpr>,
    mark: bool,
    index: KeyIndex,
    /// Build rows grouped by key number: key `k`'s are
    /// `key_rows[key_start[k]..key_start[k + 1]]`, or `key_rows[k]` alone
    /// when `key_start` is empty (every key once).
    key_start: Vec<u32>,
    key_rows: Vec<u32>,
    /// Build rows with a NULL in some key column.
    null_rows: Vec<u32>,
    /// The build side's key columns (Mark only).
    right_keys: Vec<ArrayRef>,
    /// Picks the probe rows that may match, if one applies to the keys.
    prefilter: Option<PreFilter>,
    /// Tests: build no pre-filter.
    no_prefilter: bool,
}

impl HashProbe {
    /// A probe for keys of `types` (checked by [`check`]).
    pub(crate) fn try_new(
        on: &[(PhysicalExpr, PhysicalExpr)],
        filter: Option<PhysicalExpr>,
        join_type: JoinType,
        types: &[DataType],
    ) -> Result<Self> {
        Ok(HashProbe {
            on_left: on.iter().map(|(l, _)| l.clone()).collect(),
            on_right: on.iter().map(|(_, r)| r.clone()).collect(),
            filter,
            mark: join_type == JoinType::Mark,
            index: KeyIndex::try_new(types)?,
            key_start: Vec::new(),
            key_rows: Vec::new(),
            null_rows: Vec::new(),
            right_keys: Vec::new(),
            prefilter: None,
            no_prefilter: false,
        })
    }

    /// Tests: probe every row without a pre-filter.
    #[cfg(test)]
    pub(crate) fn disable_prefilter(&mut self) {
        self.no_prefilter = true;
    }

    /// The candidate rows of a probe batch with key columns `keys` (in
    /// order, none with a NULL key column; a superset of the rows with a
    /// match) and their key numbers ([`ABSENT`] for no match).
    fn lookup(&self, keys: &[ArrayRef], rows: usize) -> Result<(Vec<u32>, Vec<u32>)> {
        let mut candidates = Vec::new();
        let mut found = Vec::new();
        match &self.prefilter {
            Some(f) if f.on_values() => {
                f.select(keys, &[], &[], &mut candidates)?;
                if candidates.len() <= rows / GATHER_BELOW {
                    // Few candidates: encode and hash only theirs.
                    let at = UInt32Array::from(candidates.clone());
                    let gathered = keys
                        .iter()
                        .map(|k| Ok(arrow::compute::take(k.as_ref(), &at, None)?))
                        .collect::<Result<Vec<_>>>()?;
                    let encoded = self.index.encode_lookup(&gathered, candidates.len())?;
                    self.index.get_all(&encoded, &mut found);
                } else {
                    let encoded = self.index.encode_lookup(keys, rows)?;
                    self.index.get_some(&encoded, &candidates, &mut found)?;
                }
            }
            other => {
                let encoded = self.index.encode_lookup(keys, rows)?;
                let nulls = any_null(keys, rows);
                match other {
                    Some(f) => f.select(keys, encoded.hashes(), &nulls, &mut candidates)?,
                    None => {
                        for (i, &null) in nulls.iter().enumerate() {
                            if !null {
                                candidates.push(row_u32(i)?);
                            }
                        }
                    }
                }
                self.index.get_some(&encoded, &candidates, &mut found)?;
            }
        }
        Ok((candidates, found))
    }

    /// Pairs left row `i` with the build rows of key number `k`.
    fn push_rows(&self, i: u32, k: u32, out: &mut Candidates) {
        let k = k as usize;
        let rows = if self.key_start.is_empty() {
            &self.key_rows[k..=k]
        } else {
            &self.key_rows[self.key_start[k] as usize..self.key_start[k + 1] as usize]
        };
        for &r in rows {
            out.push(i, r, true);
        }
    }

    /// Tests: every key hashes alike.
    pub(crate) fn force_hash_collisions(&mut self) {
        self.index.force_collisions();
    }

    /// Mark: the pairs of left row `i` whose key comparison is NULL.
    fn null_candidates(
        &self,
        i: u32,
        left_null: bool,
        build_rows: usize,
        compat: &Compat,
        out: &mut Candidates,
    ) -> Result<()> {
        let all;
        let candidates: &[u32] = if left_null {
            all = (0..row_u32(build_rows)?).collect::<Vec<_>>();
            &all
        } else {
            &self.null_rows
        };
        for &r in candidates {
            if compat.compatible(i as usize, r as usize) {
                out.push(i, r, false);
                // Without a filter one NULL pair decides the mark.
                if self.filter.is_none() {
                    break;
                }
            }
        }
        Ok(())
    }
}

impl Probe for HashProbe {
    fn prepare(&mut self, build: &RecordBatch) -> Result<()> {
        let keys = evaluate_keys(&self.on_right, build)?;
        let n = build.num_rows();
        let encoded = self.index.encode(&keys, n)?;
        let nulls = any_null(&keys, n);
        // Build keys are mostly distinct (primary keys): room for all of
        // them spares the table its doublings.
        self.index.reserve(n);
        // Each build row's key number (NONE for a NULL key), then the rows
        // grouped by key: `key_start[k]..key_start[k + 1]` of `key_rows`.
        const NONE: u32 = u32::MAX;
        let mut key_of = vec![NONE; n];
        for (r, k) in key_of.iter_mut().enumerate() {
            if nulls[r] {
                self.null_rows.push(row_u32(r)?);
            } else {
                *k = row_u32(self.index.insert(&encoded, r)?)?;
            }
        }
        let mut start = vec![0u32; self.index.len() + 1];
        for &k in key_of.iter().filter(|&&k| k != NONE) {
            start[k as usize + 1] += 1;
        }
        for k in 1..start.len() {
            start[k] += start[k - 1];
        }
        let mut fill = start.clone();
        let mut rows = vec![0u32; n - self.null_rows.len()];
        for (r, &k) in key_of.iter().enumerate().filter(|(_, k)| **k != NONE) {
            let at = &mut fill[k as usize];
            rows[*at as usize] = row_u32(r)?;
            *at += 1;
        }
        // Every key once (primary keys): key `k`'s one row is `rows[k]`, and
        // the probe need not read `key_start`.
        self.key_start = if rows.len() == self.index.len() {
            Vec::new()
        } else {
            start
        };
        self.key_rows = rows;
        if !self.no_prefilter {
            self.prefilter = PreFilter::try_build(&keys, self.index.key_hashes())?;
        }
        if self.mark {
            self.right_keys = keys;
        }
        Ok(())
    }

    fn pairs(&self, left: &RecordBatch, build: &RecordBatch) -> Result<Pairs> {
        let keys = evaluate_keys(&self.on_left, left)?;
        let rows = left.num_rows();
        let (candidates, found) = self.lookup(&keys, rows)?;
        let mut out = Candidates::default();
        if !self.mark {
            for (&i, &k) in candidates.iter().zip(&found) {
                if k != ABSENT {
                    self.push_rows(i, k, &mut out);
                }
            }
            return out.into_pairs(self.filter.as_ref(), false, left, build);
        }
        // Mark: every left row, for the pairs whose comparison is NULL.
        let compat = Compat::try_new(&keys, &self.right_keys)?;
        let nulls = any_null(&keys, rows);
        let mut next = candidates.iter().zip(&found).peekable();
        for (i, &null) in nulls.iter().enumerate() {
            let i32_ = row_u32(i)?;
            let k = match next.peek() {
                Some(&(&c, &k)) if c == i32_ => {
                    next.next();
                    k
                }
                _ => ABSENT,
            };
            let matched = !null && k != ABSENT;
            if matched {
                self.push_rows(i32_, k, &mut out);
            }
            if !(matched && self.filter.is_none()) {
                self.null_candidates(i32_, null, build.num_rows(), &compat, &mut out)?;
            }
        }
        out.into_pairs(self.filter.as_ref(), true, left, build)
    }

    fn memory_bytes(&self) -> usize {
        let lists = (self.key_start.capacity() + self.key_rows.capacity()) * 4;
        let prefilter = self.prefilter.as_ref().map_or(0, PreFilter::memory_bytes);
        self.index.memory_bytes() + lists + self.null_rows.capacity() * 4 + prefilter
    }
}

/// Pairs before their verdicts: `exact` when the keys are equal, otherwise
/// the key comparison is NULL.
#[derive(Debug, Default)]
struct Candidates {
    pairs: Pairs,
    exact: Vec<bool>,
}

impl Candidates {
    fn push(&mut self, l: u32, r: u32, exact: bool) {
        self.pairs.left.push(l);
        self.pairs.right.push(r);
        self.exact.push(exact);
    }

    fn into_pairs(
        mut self,
        filter: Option<&PhysicalExpr>,
        mark: bool,
        left: &RecordBatch,
        build: &RecordBatch,
    ) -> Result<Pairs> {
        let p = &self.pairs;
        let filtered = match filter {
            Some(f) => Some(evaluate_on_pairs(f, left, build, &p.left, &p.right)?),
            None => None,
        };
        self.pairs.verdict = self
            .exact
            .iter()
            .enumerate()
            .map(|(n, &exact)| {
                let f = filtered.as_ref().map_or(Some(true), |v| v[n]);
                match (exact, mark) {
                    (true, false) => f,
                    (true, true) => Some(f == Some(true)),
                    (false, _) => (f != Some(true)).then_some(false),
                }
            })
            .collect();
        Ok(self.pairs)
    }
}

/// Column-wise key comparison of left and build rows (Mark only).
struct Compat {
    columns: Vec<(ArrayRef, ArrayRef, DynComparator)>,
}

impl Compat {
    fn try_new(left: &[ArrayRef], right: &[ArrayRef]) -> Result<Self> {
        let columns = left
            .iter()
            .zip(right)
            .map(|(l, r)| {
                let cmp = make_comparator(l.as_ref(), r.as_ref(), SortOptions::default())?;
                Ok((l.clone(), r.clone(), cmp))
            })
            .collect::<Result<_>>()?;
        Ok(Compat { columns })
    }

    /// Whether no key column of the two rows is known to differ.
    fn compatible(&self, i: usize, r: usize) -> bool {
        self.columns
            .iter()
            .all(|(l, rt, cmp)| l.is_null(i) || rt.is_null(r) || cmp(i, r) == Ordering::Equal)
    }
}

fn evaluate_keys(exprs: &[PhysicalExpr], batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
    exprs
        .iter()
        .map(|e| Ok(normalize_floats(&e.evaluate(batch)?)))
        .collect()
}

/// Per row: whether some key column is NULL.
fn any_null(keys: &[ArrayRef], rows: usize) -> Vec<bool> {
    let mut out = vec![false; rows];
    for k in keys {
        if let Some(nulls) = k.logical_nulls() {
            for (o, valid) in out.iter_mut().zip(nulls.iter()) {
                *o |= !valid;
            }
        }
    }
    out
}
