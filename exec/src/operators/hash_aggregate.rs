//! Hash aggregate: groups rows by key and feeds each group's rows to the
//! aggregates' accumulators.
//!
//! Group keys are numbered by [`KeyIndex`] (Arrow's row format): NULLs form
//! one group, `-0.0` and `0.0` share a group. Groups are output in first-seen
//! order.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, Int8Type, Schema, SchemaRef, UInt8Type};
use arrow::record_batch::RecordBatch;

use crate::accumulator::{Accumulator, SMALL_GROUPS, count_small};
use crate::aggregate::{AggregateExpr, AggregateFunction};
use crate::error::{Error, Result};
use crate::expr::PhysicalExpr;
use crate::kernels::prefetch;
use crate::keys::KeyIndex;
use crate::options::Reservation;
use crate::parallel::{Ctx, Pipeline, drive};
use crate::plan::{deferred, make_batch};
use crate::source::BatchStream;

pub(crate) fn schema(
    input: &Schema,
    group_by: &[(PhysicalExpr, String)],
    aggregates: &[AggregateExpr],
) -> Result<SchemaRef> {
    let mut fields = Vec::with_capacity(group_by.len() + aggregates.len());
    for (e, name) in group_by {
        fields.push(Field::new(name, e.data_type(input)?, e.nullable(input)));
    }
    for a in aggregates {
        let arg = a.arg.as_ref().map(|e| e.data_type(input)).transpose()?;
        // Checks the order keys and parameter too.
        a.accumulator(input)?;
        let nullable = !matches!(
            a.func,
            AggregateFunction::Count | AggregateFunction::CountStar
        );
        fields.push(Field::new(
            &a.name,
            a.func.return_type(arg.as_ref())?,
            nullable,
        ));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// Everything the operator needs, checked against the input schema.
#[derive(Debug)]
pub(crate) struct Spec {
    group_by: Vec<PhysicalExpr>,
    group_types: Vec<DataType>,
    aggregates: Vec<(AggregateExpr, Box<dyn Accumulator>)>,
    schema: SchemaRef,
}

impl Spec {
    pub(crate) fn new(
        input: &Schema,
        group_by: &[(PhysicalExpr, String)],
        aggregates: &[AggregateExpr],
        schema: SchemaRef,
    ) -> Result<Self> {
        let group_types = group_by
            .iter()
            .map(|(e, _)| e.data_type(input))
            .collect::<Result<_>>()?;
        let aggregates = aggregates
            .iter()
            .map(|a| Ok((a.clone(), a.accumulator(input)?)))
            .collect::<Result<_>>()?;
        Ok(Spec {
            group_by: group_by.iter().map(|(e, _)| e.clone()).collect(),
            group_types,
            aggregates,
            schema,
        })
    }
}

pub(crate) fn execute(input: BatchStream, spec: Spec) -> BatchStream {
    deferred(move || aggregate(input, spec))
}

fn aggregate(input: BatchStream, mut spec: Spec) -> Result<Vec<RecordBatch>> {
    let mut groups = Groups::try_new(&spec.group_types)?;
    let (mut group_of_row, mut counts) = (Vec::new(), Vec::new());
    for batch in input {
        let batch = batch?;
        let keys = spec
            .group_by
            .iter()
            .map(|e| e.evaluate(&batch))
            .collect::<Result<Vec<_>>>()?;
        groups.assign(&keys, batch.num_rows(), &mut group_of_row)?;
        let num_groups = groups.len();
        let counts = batch_counts(&group_of_row, num_groups, &mut counts);
        for (a, acc) in &mut spec.aggregates {
            a.feed(acc.as_mut(), &batch, (&group_of_row, counts), num_groups)?;
        }
    }
    let num_groups = groups.len();
    if num_groups == 0 {
        return Ok(vec![]);
    }
    let mut columns = groups.finish()?;
    for (_, acc) in &mut spec.aggregates {
        columns.push(acc.finish(num_groups)?);
    }
    Ok(vec![make_batch(spec.schema, columns, num_groups)?])
}

/// The groups seen so far.
#[derive(Debug)]
struct Groups {
    /// `None` without GROUP BY: then there is exactly one group.
    keyed: Option<KeyIndex>,
    /// Keys of one or two columns whose values are single bytes (see
    /// [`byte_key_columns`]): group + 1 by the key's bytes, 0 for a key not
    /// seen yet. Allocated by the first batch of such keys.
    ///
    /// Invariant: a non-zero entry is the number `keyed` gave that key.
    by_bytes: Vec<u32>,
}

impl Groups {
    fn try_new(types: &[DataType]) -> Result<Self> {
        if types.is_empty() {
            return Ok(Groups {
                keyed: None,
                by_bytes: Vec::new(),
            });
        }
        Ok(Groups {
            keyed: Some(KeyIndex::try_new(types)?),
            by_bytes: Vec::new(),
        })
    }

    fn len(&self) -> usize {
        self.keyed.as_ref().map_or(1, KeyIndex::len)
    }

    /// Sets `out[i]` to the group of row `i`, adding new groups as needed.
    fn assign(&mut self, keys: &[ArrayRef], rows: usize, out: &mut Vec<usize>) -> Result<()> {
        out.clear();
        let Some(k) = &mut self.keyed else {
            out.resize(rows, 0);
            return Ok(());
        };
        if let Some(bytes) = byte_key_columns(keys, rows) {
            return assign_by_bytes(k, &mut self.by_bytes, keys, &bytes, out);
        }
        let encoded = k.encode(keys, rows)?;
        k.insert_all(&encoded, out)
    }

    /// No groups yet; keys mix with this one's.
    fn empty_like(&self) -> Groups {
        Groups {
            keyed: self.keyed.as_ref().map(KeyIndex::empty_like),
            by_bytes: Vec::new(),
        }
    }

    fn memory_bytes(&self) -> usize {
        self.keyed.as_ref().map_or(0, KeyIndex::memory_bytes) + self.by_bytes.capacity() * 4
    }

    /// The key columns, one row per group.
    fn finish(&self) -> Result<Vec<ArrayRef>> {
        match &self.keyed {
            None => Ok(vec![]),
            Some(k) => k.columns(),
        }
    }
}

/// The rows of each group in `groups`, counted into `buffer`, when there
/// are few groups (then one count serves every aggregate of the batch).
fn batch_counts<'a>(
    groups: &[usize],
    num_groups: usize,
    buffer: &'a mut Vec<i64>,
) -> Option<&'a [i64]> {
    if num_groups > SMALL_GROUPS {
        return None;
    }
    buffer.clear();
    buffer.resize(num_groups, 0);
    count_small(groups, None, buffer);
    Some(buffer)
}

/// The most key columns [`byte_key_columns`] takes: their bytes index a
/// table of `1 << (8 * BYTE_KEYS_MAX)` entries.
const BYTE_KEYS_MAX: usize = 2;

/// Each key column's value bytes, one per row, when every column is a text
/// column of one-byte strings or a one-byte integer column, none has a NULL,
/// and there are at most [`BYTE_KEYS_MAX`] columns (`l_returnflag,
/// l_linestatus`); else `None`. Such keys are their bytes, so they index a
/// table directly instead of being encoded, hashed and probed.
fn byte_key_columns(keys: &[ArrayRef], rows: usize) -> Option<Vec<&[u8]>> {
    if keys.is_empty() || keys.len() > BYTE_KEYS_MAX {
        return None;
    }
    keys.iter()
        .map(|c| {
            if c.len() != rows || c.logical_null_count() > 0 {
                return None;
            }
            match c.data_type() {
                DataType::Utf8 => {
                    let s = c.as_string::<i32>();
                    let offsets = s.value_offsets();
                    let start = *offsets.first()?;
                    // Every string is one byte: offset `i` is `start + i`.
                    let one_byte = offsets
                        .iter()
                        .zip(start..)
                        .fold(true, |all, (&o, want)| all & (o == want));
                    let start = usize::try_from(start).ok()?;
                    s.value_data().get(start..start + rows).filter(|_| one_byte)
                }
                DataType::Int8 => c.as_primitive::<Int8Type>().values().inner().get(..rows),
                DataType::UInt8 => c.as_primitive::<UInt8Type>().values().inner().get(..rows),
                _ => None,
            }
        })
        .collect()
}

/// [`Groups::assign`] for keys of single bytes (`bytes`, from
/// [`byte_key_columns`] over `keys`): each row's bytes index `table`, and a
/// key seen for the first time is inserted into `index`, in row order, so
/// the groups are numbered as the general path numbers them.
fn assign_by_bytes(
    index: &mut KeyIndex,
    table: &mut Vec<u32>,
    keys: &[ArrayRef],
    bytes: &[&[u8]],
    out: &mut Vec<usize>,
) -> Result<()> {
    table.resize(1 << (8 * bytes.len()), 0);
    match bytes {
        [a] => assign_codes(index, table, keys, a.iter().map(|&x| usize::from(x)), out),
        [a, b] => {
            let codes = a.iter().zip(*b);
            let codes = codes.map(|(&x, &y)| usize::from(x) << 8 | usize::from(y));
            assign_codes(index, table, keys, codes, out)
        }
        _ => Err(Error::internal("byte keys of more than two columns")),
    }
}

/// [`assign_by_bytes`] with each row's key as one number (`codes`), below
/// `table.len()`.
fn assign_codes(
    index: &mut KeyIndex,
    table: &mut [u32],
    keys: &[ArrayRef],
    codes: impl ExactSizeIterator<Item = usize>,
    out: &mut Vec<usize>,
) -> Result<()> {
    out.reserve(codes.len());
    let mut one = Vec::with_capacity(1);
    for (i, c) in codes.enumerate() {
        let slot = table
            .get_mut(c)
            .ok_or_else(|| Error::internal("byte key past its table"))?;
        let g = match *slot {
            0 => {
                let row: Vec<ArrayRef> = keys.iter().map(|k| k.slice(i, 1)).collect();
                let encoded = index.encode(&row, 1)?;
                index.insert_all(&encoded, &mut one)?;
                let g = one[0];
                *slot = u32::try_from(g + 1)
                    .map_err(|_| Error::internal("more byte keys than bytes"))?;
                g
            }
            g => g as usize - 1,
        };
        out.push(g);
    }
    Ok(())
}

/// One worker's share of a parallel aggregate.
struct Partial {
    groups: Groups,
    /// Per group: the morsel number and row of its first row.
    first: Vec<(u64, u32)>,
    spec: Spec,
    group_of_row: Vec<usize>,
    /// [`batch_counts`]' buffer.
    counts: Vec<i64>,
    reservation: Reservation,
}

impl Partial {
    fn add(&mut self, seq: u64, batch: &RecordBatch) -> Result<()> {
        let keys = self
            .spec
            .group_by
            .iter()
            .map(|e| e.evaluate(batch))
            .collect::<Result<Vec<_>>>()?;
        self.groups
            .assign(&keys, batch.num_rows(), &mut self.group_of_row)?;
        for (i, &g) in self.group_of_row.iter().enumerate() {
            if g == self.first.len() {
                self.first.push((seq, i as u32));
            }
        }
        let num_groups = self.groups.len();
        let counts = batch_counts(&self.group_of_row, num_groups, &mut self.counts);
        for (a, acc) in &mut self.spec.aggregates {
            a.feed(
                acc.as_mut(),
                batch,
                (&self.group_of_row, counts),
                num_groups,
            )?;
        }
        let accs: usize = self
            .spec
            .aggregates
            .iter()
            .map(|(_, a)| a.size_bytes())
            .sum();
        self.reservation
            .resize(self.groups.memory_bytes() + self.first.capacity() * 16 + accs)
    }
}

/// The hash aggregate on `ctx.threads` workers: each builds a partial table
/// over the morsels it takes; the partials are merged with groups numbered
/// by their first row in morsel order, which is the one-thread order.
pub(crate) fn run_parallel(
    p: &Pipeline,
    group_by: &[(PhysicalExpr, String)],
    aggregates: &[AggregateExpr],
    schema: SchemaRef,
    ctx: &Ctx,
) -> Result<Vec<RecordBatch>> {
    let input = p.schema().clone();
    let global = Spec::new(&input, group_by, aggregates, schema.clone())?;
    let mut proto = Groups::try_new(&global.group_types)?;
    if ctx.force_hash_collisions
        && let Some(k) = &mut proto.keyed
    {
        k.force_collisions();
    }
    let partials = drive(
        p,
        ctx,
        || {
            Ok(Partial {
                groups: proto.empty_like(),
                first: Vec::new(),
                spec: Spec::new(&input, group_by, aggregates, schema.clone())?,
                group_of_row: Vec::new(),
                counts: Vec::new(),
                reservation: ctx.pool.reserve("hash aggregate"),
            })
        },
        |part, seq, batch| {
            if let Some(b) = batch {
                part.add(seq, &b)?;
            }
            Ok(true)
        },
    )?;
    let (out, time) = crate::explain::timed(ctx.profile(), || merge(proto, partials, global, ctx));
    if let (Some(prof), Some(node)) = (ctx.profile(), p.sink_key) {
        prof.add(node, 0, time);
    }
    out
}

/// Merges the partials into `groups` (empty) and `spec`'s accumulators.
fn merge(
    mut groups: Groups,
    mut partials: Vec<Partial>,
    mut spec: Spec,
    ctx: &Ctx,
) -> Result<Vec<RecordBatch>> {
    // One worker's partial already numbers its groups in morsel order (it
    // took its morsels in order): it is the result as it stands.
    if groups.keyed.is_some()
        && let [only] = partials.as_mut_slice()
        && only.first.is_sorted()
    {
        return finish(&only.groups, &mut only.spec);
    }
    let mut reservation = ctx.pool.reserve("hash aggregate");
    let maps: Vec<Vec<usize>> = match &mut groups.keyed {
        None => partials.iter().map(|_| vec![0]).collect(),
        Some(index) => {
            let firsts: Vec<&[(u64, u32)]> = partials.iter().map(|p| &p.first[..]).collect();
            let order = first_seen_order(&firsts);
            // The largest partial's keys are all in the result: room for them
            // up front spares the table its doublings.
            let largest = partials.iter().map(|p| p.first.len()).max().unwrap_or(0);
            index.reserve(largest);
            let mut maps: Vec<Vec<usize>> =
                partials.iter().map(|p| vec![0; p.first.len()]).collect();
            let keyed = partials
                .iter()
                .map(|p| p.groups.keyed.as_ref())
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| Error::internal("ungrouped partial of a grouped aggregate"))?;
            for (n, &(pi, g)) in order.iter().enumerate() {
                if let Some(&(pa, ga)) = order.get(n + prefetch::DISTANCE) {
                    index.prefetch_key_of(keyed[pa], ga);
                }
                maps[pi][g] = index.insert_from(keyed[pi], g)?;
            }
            reservation.resize(index.memory_bytes())?;
            maps
        }
    };
    let num_groups = groups.len();
    if num_groups == 0 {
        return Ok(vec![]);
    }
    for (part, map) in partials.iter_mut().zip(&maps) {
        for ((_, acc), (_, theirs)) in spec.aggregates.iter_mut().zip(&mut part.spec.aggregates) {
            acc.merge(theirs.as_mut(), map, num_groups)?;
        }
    }
    drop(partials);
    finish(&groups, &mut spec)
}

/// Every group of every partial as (partial, group), ordered by the morsel
/// and row where each was first seen. Each partial's groups are in that order
/// already (a worker takes its morsels in order), so the lists are merged;
/// lists out of order are sorted instead.
fn first_seen_order(firsts: &[&[(u64, u32)]]) -> Vec<(usize, usize)> {
    let total = firsts.iter().map(|f| f.len()).sum();
    let mut order = Vec::with_capacity(total);
    if !firsts.iter().all(|f| f.is_sorted()) {
        let mut all: Vec<((u64, u32), usize, usize)> = Vec::with_capacity(total);
        for (pi, f) in firsts.iter().enumerate() {
            all.extend(f.iter().enumerate().map(|(g, &at)| (at, pi, g)));
        }
        all.sort_unstable();
        order.extend(all.into_iter().map(|(_, pi, g)| (pi, g)));
        return order;
    }
    let mut heads = vec![0usize; firsts.len()];
    while order.len() < total {
        let next = (0..firsts.len())
            .filter_map(|pi| firsts[pi].get(heads[pi]).map(|at| (at, pi)))
            .min();
        let Some((_, pi)) = next else { break };
        order.push((pi, heads[pi]));
        heads[pi] += 1;
    }
    order
}

/// The result: one row per group, its keys and its aggregates.
fn finish(groups: &Groups, spec: &mut Spec) -> Result<Vec<RecordBatch>> {
    let num_groups = groups.len();
    if num_groups == 0 {
        return Ok(vec![]);
    }
    let mut columns = groups.finish()?;
    for (_, acc) in &mut spec.aggregates {
        columns.push(acc.finish(num_groups)?);
    }
    Ok(vec![make_batch(spec.schema.clone(), columns, num_groups)?])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PhysicalPlan, collect};
    use crate::test_util::{col, ints, nullable_batch, proptest_config, scan_of, split, strs};
    use AggregateFunction::*;
    use arrow::array::{
        AsArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array,
        TimestampMicrosecondArray,
    };
    use arrow::datatypes::{
        Date32Type, Decimal128Type, Float64Type, Int64Type, TimestampMicrosecondType,
    };
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        #![proptest_config(proptest_config())]

        /// Merging the partials' sorted lists gives what sorting all does.
        #[test]
        fn first_seen_order_merges_like_a_sort(
            lists in prop::collection::vec(prop::collection::vec((0u64..20, 0u32..50), 0..40), 1..4),
            sort_them in any::<bool>(),
        ) {
            let mut lists = lists;
            if sort_them {
                for l in &mut lists {
                    l.sort_unstable();
                    l.dedup();
                }
            }
            let firsts: Vec<&[(u64, u32)]> = lists.iter().map(|l| &l[..]).collect();
            let mut want: Vec<((u64, u32), usize, usize)> = Vec::new();
            for (pi, l) in lists.iter().enumerate() {
                want.extend(l.iter().enumerate().map(|(g, &at)| (at, pi, g)));
            }
            want.sort_unstable();
            let got = first_seen_order(&firsts);
            let got_at: Vec<(u64, u32)> = got.iter().map(|&(pi, g)| lists[pi][g]).collect();
            let want_at: Vec<(u64, u32)> = want.iter().map(|w| w.0).collect();
            prop_assert_eq!(got_at, want_at);
            prop_assert_eq!(got.len(), want.len());
        }
    }

    /// Key `i` of the first key column of [`byte_keys_match_the_oracle`]:
    /// one-byte strings first, then what the byte table does not take.
    const FIRST: [Option<&str>; 7] = [
        Some("A"),
        Some("N"),
        Some("R"),
        Some("\0"),
        None,
        Some("AB"),
        Some(""),
    ];
    const SECOND: [Option<&str>; 4] = [Some("F"), Some("O"), None, Some("é")];

    fn key_index() -> impl Strategy<Value = (usize, usize)> {
        (
            prop_oneof![8 => 0usize..4, 1 => 4usize..7],
            prop_oneof![8 => 0usize..2, 1 => 2usize..4],
        )
    }

    proptest! {
        #![proptest_config(proptest_config())]

        /// Keys of one or two text columns, in batches of one-byte strings
        /// only (the byte table) and batches with NULLs, empty and longer
        /// strings (the general path), give the oracle's groups and counts
        /// in first-seen order.
        #[test]
        fn byte_keys_match_the_oracle(
            rows in prop::collection::vec(key_index(), 0..200),
            cuts in prop::collection::vec(0usize..256, 0..6),
            two in any::<bool>(),
        ) {
            let a: Vec<Option<&str>> = rows.iter().map(|r| FIRST[r.0]).collect();
            let b: Vec<Option<&str>> = rows.iter().map(|r| SECOND[r.1]).collect();
            let batch = nullable_batch([("a", strs(&a)), ("b", strs(&b))]).unwrap();
            let keys: &[usize] = if two { &[0, 1] } else { &[0] };
            let out = run(split(&batch, &cuts), keys, vec![agg(CountStar, None)]).unwrap();
            let mut order: Vec<(Option<&str>, Option<&str>)> = Vec::new();
            let mut counts: BTreeMap<(Option<&str>, Option<&str>), i64> = BTreeMap::new();
            for (&x, &y) in a.iter().zip(&b) {
                let key = (x, if two { y } else { None });
                if !counts.contains_key(&key) {
                    order.push(key);
                }
                *counts.entry(key).or_default() += 1;
            }
            let got_a: Vec<Option<&str>> = out.column(0).as_string::<i32>().iter().collect();
            let want_a: Vec<Option<&str>> = order.iter().map(|k| k.0).collect();
            prop_assert_eq!(got_a, want_a);
            if two {
                let got_b: Vec<Option<&str>> = out.column(1).as_string::<i32>().iter().collect();
                let want_b: Vec<Option<&str>> = order.iter().map(|k| k.1).collect();
                prop_assert_eq!(got_b, want_b);
            }
            let want: Vec<Option<i64>> = order.iter().map(|k| Some(counts[k])).collect();
            prop_assert_eq!(i64s(out.column(keys.len())), want);
        }
    }

    #[test]
    fn one_byte_integer_keys_and_a_null_batch() {
        use arrow::array::{Int8Array, UInt8Array};
        let k: ArrayRef = Arc::new(Int8Array::from(vec![-1, 5, -1, 127, -128, 5]));
        let u: ArrayRef = Arc::new(UInt8Array::from(vec![255, 0, 255, 1, 1, 0]));
        let b1 = nullable_batch([("k", k), ("u", u)]).unwrap();
        let k: ArrayRef = Arc::new(Int8Array::from(vec![None, Some(-128), Some(0)]));
        let u: ArrayRef = Arc::new(UInt8Array::from(vec![Some(255), Some(1), Some(0)]));
        let b2 = nullable_batch([("k", k), ("u", u)]).unwrap();
        let out = run(
            vec![b1.clone(), b2, b1],
            &[0, 1],
            vec![agg(CountStar, None)],
        )
        .unwrap();
        let k: Vec<_> = out
            .column(0)
            .as_primitive::<arrow::datatypes::Int8Type>()
            .iter()
            .collect();
        assert_eq!(k, [Some(-1), Some(5), Some(127), Some(-128), None, Some(0)]);
        assert_eq!(
            i64s(out.column(2)),
            [Some(4), Some(4), Some(2), Some(3), Some(1), Some(1)]
        );
    }

    fn agg(func: AggregateFunction, arg: Option<usize>) -> AggregateExpr {
        AggregateExpr::new(func, arg.map(col), format!("{func:?}"))
    }

    fn run(
        batches: Vec<RecordBatch>,
        group_by: &[usize],
        aggregates: Vec<AggregateExpr>,
    ) -> Result<RecordBatch> {
        let plan = PhysicalPlan::HashAggregate {
            input: scan_of(batches),
            group_by: group_by
                .iter()
                .map(|&i| (col(i), format!("g{i}")))
                .collect(),
            aggregates,
        };
        let schema = plan.schema()?;
        let out = collect(&plan)?;
        assert!(out.len() <= 1);
        Ok(out
            .into_iter()
            .next()
            .unwrap_or_else(|| RecordBatch::new_empty(schema)))
    }

    fn i64s(a: &ArrayRef) -> Vec<Option<i64>> {
        a.as_primitive::<Int64Type>().iter().collect()
    }

    fn decimals(a: &ArrayRef) -> Vec<Option<i128>> {
        a.as_primitive::<Decimal128Type>().iter().collect()
    }

    fn kv(keys: &[Option<&str>], values: &[Option<i64>]) -> RecordBatch {
        nullable_batch([("k", strs(keys)), ("v", ints(values))]).unwrap()
    }

    #[test]
    fn count_star_vs_count_and_null_group() {
        let b1 = kv(&[Some("a"), None, Some("b")], &[Some(1), Some(2), None]);
        let b2 = kv(&[None, Some("a"), Some("a")], &[None, None, Some(5)]);
        let out = run(
            vec![b1, b2],
            &[0],
            vec![agg(CountStar, None), agg(Count, Some(1)), agg(Sum, Some(1))],
        )
        .unwrap();
        let keys: Vec<_> = out.column(0).as_string::<i32>().iter().collect();
        assert_eq!(keys, vec![Some("a"), None, Some("b")]);
        assert_eq!(i64s(out.column(1)), vec![Some(3), Some(2), Some(1)]);
        assert_eq!(i64s(out.column(2)), vec![Some(2), Some(1), Some(0)]);
        assert_eq!(i64s(out.column(3)), vec![Some(6), Some(2), None]);
        let schema = out.schema();
        assert!(!schema.field(1).is_nullable() && !schema.field(2).is_nullable());
        assert!(schema.field(3).is_nullable());
    }

    #[test]
    fn all_null_group() {
        let b = kv(&[Some("a"), Some("a")], &[None, None]);
        let aggs = vec![
            agg(Count, Some(1)),
            agg(Sum, Some(1)),
            agg(Min, Some(1)),
            agg(Max, Some(1)),
            agg(Avg, Some(1)),
        ];
        let out = run(vec![b], &[0], aggs).unwrap();
        assert_eq!(i64s(out.column(1)), vec![Some(0)]);
        for c in 2..6 {
            assert_eq!(out.column(c).null_count(), 1, "column {c}");
        }
    }

    #[test]
    fn empty_input_without_group_by_gives_one_row() {
        let b = kv(&[], &[]);
        let aggs = vec![
            agg(CountStar, None),
            agg(Count, Some(1)),
            agg(Sum, Some(1)),
            agg(Min, Some(0)),
            agg(Avg, Some(1)),
        ];
        let out = run(vec![b.clone()], &[], aggs.clone()).unwrap();
        assert_eq!(out.num_rows(), 1);
        assert_eq!(i64s(out.column(0)), vec![Some(0)]);
        assert_eq!(i64s(out.column(1)), vec![Some(0)]);
        assert_eq!(out.column(2).null_count(), 1);
        assert_eq!(out.column(3).null_count(), 1);
        assert_eq!(out.column(4).null_count(), 1);
        let out = run(vec![b], &[0], aggs).unwrap();
        assert_eq!(out.num_rows(), 0);
    }

    #[test]
    fn no_aggregates_is_distinct() {
        let b = kv(&[Some("a"), None, Some("a"), None], &[Some(1); 4]);
        let out = run(vec![b.clone()], &[0], vec![]).unwrap();
        assert_eq!(out.num_rows(), 2);
        let out = run(vec![b], &[], vec![]).unwrap();
        assert_eq!((out.num_rows(), out.num_columns()), (1, 0));
    }

    #[test]
    fn sum_overflow_is_an_error() {
        let b = kv(&[Some("a"), Some("a")], &[Some(i64::MAX), Some(1)]);
        assert!(matches!(
            run(vec![b], &[0], vec![agg(Sum, Some(1))]),
            Err(Error::Overflow { .. })
        ));
        let d = Decimal128Array::from(vec![10i128.pow(37) * 9, 10i128.pow(37) * 9])
            .with_precision_and_scale(38, 0)
            .unwrap();
        let b = nullable_batch([("d", Arc::new(d) as ArrayRef)]).unwrap();
        assert!(matches!(
            run(vec![b], &[], vec![agg(Sum, Some(0))]),
            Err(Error::Overflow { .. })
        ));
    }

    #[test]
    fn sum_of_small_ints_floats_and_decimals() {
        let i = Int32Array::from(vec![Some(i32::MAX), Some(i32::MAX), None]);
        let f = Float64Array::from(vec![Some(0.5), None, Some(0.25)]);
        let d = Decimal128Array::from(vec![Some(150), Some(275), None])
            .with_precision_and_scale(5, 2)
            .unwrap();
        let b = nullable_batch([
            ("i", Arc::new(i) as ArrayRef),
            ("f", Arc::new(f) as _),
            ("d", Arc::new(d) as _),
        ])
        .unwrap();
        let out = run(
            vec![b],
            &[],
            vec![agg(Sum, Some(0)), agg(Sum, Some(1)), agg(Sum, Some(2))],
        )
        .unwrap();
        assert_eq!(i64s(out.column(0)), vec![Some(2 * i64::from(i32::MAX))]);
        assert_eq!(out.column(1).as_primitive::<Float64Type>().value(0), 0.75);
        assert_eq!(out.column(2).data_type(), &DataType::Decimal128(38, 2));
        assert_eq!(decimals(out.column(2)), vec![Some(425)]);
    }

    #[test]
    fn avg_scales_and_rounding() {
        let b = kv(
            &[
                Some("a"),
                Some("a"),
                Some("a"),
                Some("b"),
                Some("b"),
                Some("b"),
                Some("c"),
                Some("c"),
            ],
            &[
                Some(1),
                Some(2),
                Some(4),
                Some(0),
                Some(-1),
                Some(-1),
                Some(1),
                Some(2),
            ],
        );
        let out = run(vec![b], &[0], vec![agg(Avg, Some(1))]).unwrap();
        assert_eq!(out.column(1).data_type(), &DataType::Decimal128(38, 6));
        // 7/3 = 2.333333, -2/3 = -0.666667 (half away from zero), 1.5
        assert_eq!(
            decimals(out.column(1)),
            vec![Some(2_333_333), Some(-666_667), Some(1_500_000)]
        );

        let d = Decimal128Array::from(vec![100, 200, 200])
            .with_precision_and_scale(10, 2)
            .unwrap();
        let e = Decimal128Array::from(vec![1, 1, 0])
            .with_precision_and_scale(20, 8)
            .unwrap();
        let f = Float64Array::from(vec![1.0, 2.0, 4.0]);
        let b = nullable_batch([
            ("d", Arc::new(d) as ArrayRef),
            ("e", Arc::new(e) as _),
            ("f", Arc::new(f) as _),
        ])
        .unwrap();
        let out = run(
            vec![b],
            &[],
            vec![agg(Avg, Some(0)), agg(Avg, Some(1)), agg(Avg, Some(2))],
        )
        .unwrap();
        assert_eq!(out.column(0).data_type(), &DataType::Decimal128(38, 6));
        assert_eq!(decimals(out.column(0)), vec![Some(1_666_667)]);
        // 0.00000002 / 3 = 0.00000000667 -> 0.00000001 at scale 8
        assert_eq!(out.column(1).data_type(), &DataType::Decimal128(38, 8));
        assert_eq!(decimals(out.column(1)), vec![Some(1)]);
        assert_eq!(
            out.column(2).as_primitive::<Float64Type>().value(0),
            7.0 / 3.0
        );
    }

    #[test]
    fn avg_of_negative_scale_decimal() {
        let d = Decimal128Array::from(vec![1, 2])
            .with_precision_and_scale(5, -3)
            .unwrap();
        let b = nullable_batch([("d", Arc::new(d) as ArrayRef)]).unwrap();
        let out = run(vec![b], &[], vec![agg(Avg, Some(0)), agg(Sum, Some(0))]).unwrap();
        // (1000 + 2000) / 2 = 1500 at scale 6
        assert_eq!(decimals(out.column(0)), vec![Some(1_500_000_000)]);
        assert_eq!(out.column(1).data_type(), &DataType::Decimal128(38, -3));
        assert_eq!(decimals(out.column(1)), vec![Some(3)]);
        let d = Decimal128Array::from(vec![1])
            .with_precision_and_scale(5, -127)
            .unwrap();
        let b = nullable_batch([("d", Arc::new(d) as ArrayRef)]).unwrap();
        assert!(matches!(
            run(vec![b], &[], vec![agg(Avg, Some(0))]),
            Err(Error::Overflow { .. })
        ));
    }

    #[test]
    fn min_max_of_strings_dates_decimals_and_more() {
        let s = strs(&[Some("pear"), None, Some("apple"), Some("zoo")]);
        let d: ArrayRef = Arc::new(Date32Array::from(vec![Some(10), Some(-5), None, Some(3)]));
        let n: ArrayRef = Arc::new(
            Decimal128Array::from(vec![Some(5), Some(-7), Some(100), None])
                .with_precision_and_scale(9, 2)
                .unwrap(),
        );
        let t: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![Some(2), Some(1), Some(3), None])
                .with_timezone("UTC"),
        );
        let bo: ArrayRef = Arc::new(BooleanArray::from(vec![
            Some(true),
            None,
            Some(false),
            Some(true),
        ]));
        let b = nullable_batch([("s", s), ("d", d), ("n", n), ("t", t), ("b", bo)]).unwrap();
        let aggs = (0..5)
            .flat_map(|c| [agg(Min, Some(c)), agg(Max, Some(c))])
            .collect();
        let out = run(split(&b, &[1, 3]), &[], aggs).unwrap();
        let s: Vec<_> = (0..2)
            .map(|c| out.column(c).as_string::<i32>().value(0).to_string())
            .collect();
        assert_eq!(s, vec!["apple", "zoo"]);
        let d: Vec<_> = (2..4)
            .map(|c| out.column(c).as_primitive::<Date32Type>().value(0))
            .collect();
        assert_eq!(d, vec![-5, 10]);
        assert_eq!(out.column(4).data_type(), &DataType::Decimal128(9, 2));
        assert_eq!(
            [decimals(out.column(4)), decimals(out.column(5))],
            [vec![Some(-7)], vec![Some(100)]]
        );
        assert_eq!(
            out.column(6).data_type(),
            &DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into()))
        );
        let t: Vec<_> = (6..8)
            .map(|c| {
                out.column(c)
                    .as_primitive::<TimestampMicrosecondType>()
                    .value(0)
            })
            .collect();
        assert_eq!(t, vec![1, 3]);
        let bo: Vec<_> = (8..10)
            .map(|c| out.column(c).as_boolean().value(0))
            .collect();
        assert_eq!(bo, vec![false, true]);
    }

    #[test]
    fn multi_column_keys_and_float_zero() {
        let f: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(0.0),
            Some(-0.0),
            None,
            Some(0.0),
            None,
        ]));
        let k = strs(&[Some("x"), Some("x"), None, Some("y"), None]);
        let b = nullable_batch([("k", k), ("f", f), ("v", ints(&[Some(1); 5]))]).unwrap();
        let out = run(vec![b], &[0, 1], vec![agg(CountStar, None)]).unwrap();
        assert_eq!(i64s(out.column(2)), vec![Some(2), Some(2), Some(1)]);
    }

    #[test]
    fn group_by_expression() {
        let b = kv(&[None; 4], &[Some(1), Some(2), Some(3), Some(4)]);
        let modulo = PhysicalExpr::Binary {
            op: crate::expr::BinaryOp::Mod,
            left: Box::new(col(1)),
            right: Box::new(crate::test_util::lit_i64(2)),
        };
        let plan = PhysicalPlan::HashAggregate {
            input: scan_of(vec![b]),
            group_by: vec![(modulo, "m".into())],
            aggregates: vec![agg(Sum, Some(1))],
        };
        let out = collect(&plan).unwrap();
        assert_eq!(i64s(out[0].column(0)), vec![Some(1), Some(0)]);
        assert_eq!(i64s(out[0].column(1)), vec![Some(4), Some(6)]);
    }

    #[test]
    fn ill_typed_aggregates_are_internal() {
        let b = kv(&[Some("a")], &[Some(1)]);
        let plan = PhysicalPlan::HashAggregate {
            input: scan_of(vec![b.clone()]),
            group_by: vec![],
            aggregates: vec![agg(Sum, Some(0))],
        };
        assert!(matches!(plan.execute(), Err(Error::Internal { .. })));
        let plan = PhysicalPlan::HashAggregate {
            input: scan_of(vec![b.clone()]),
            group_by: vec![],
            aggregates: vec![agg(Min, None)],
        };
        assert!(matches!(plan.schema(), Err(Error::Internal { .. })));
        let plan = PhysicalPlan::HashAggregate {
            input: scan_of(vec![b]),
            group_by: vec![(col(5), "x".into())],
            aggregates: vec![],
        };
        assert!(matches!(plan.execute(), Err(Error::Internal { .. })));
    }

    /// count(*), count, sum, min, max of one group.
    type Expected = (i64, i64, Option<i64>, Option<i64>, Option<i64>);

    /// The naive answer: a BTreeMap per key, plus the first-seen key order.
    fn oracle(
        rows: &[(Option<i64>, Option<i64>)],
    ) -> (Vec<Option<i64>>, BTreeMap<Option<i64>, Expected>) {
        let mut order = Vec::new();
        let mut map: BTreeMap<Option<i64>, Expected> = BTreeMap::new();
        for &(k, v) in rows {
            if !map.contains_key(&k) {
                order.push(k);
            }
            let e = map.entry(k).or_insert((0, 0, None, None, None));
            e.0 += 1;
            if let Some(v) = v {
                e.1 += 1;
                e.2 = Some(e.2.unwrap_or(0) + v);
                e.3 = Some(e.3.map_or(v, |m| m.min(v)));
                e.4 = Some(e.4.map_or(v, |m| m.max(v)));
            }
        }
        (order, map)
    }

    fn row_strategy() -> impl Strategy<Value = (Option<i64>, Option<i64>)> {
        (
            prop::option::weighted(0.8, 0i64..4),
            prop::option::weighted(0.7, -1_000_000i64..1_000_000),
        )
    }

    proptest! {
        #![proptest_config(proptest_config())]

        #[test]
        fn grouped_aggregates_match_oracle(
            rows in prop::collection::vec(row_strategy(), 0..200),
            cuts in prop::collection::vec(0usize..256, 0..6),
        ) {
            let keys: Vec<_> = rows.iter().map(|r| r.0).collect();
            let values: Vec<_> = rows.iter().map(|r| r.1).collect();
            let b = nullable_batch([("k", ints(&keys)), ("v", ints(&values))]).unwrap();
            let aggs = vec![agg(CountStar, None), agg(Count, Some(1)), agg(Sum, Some(1)), agg(Min, Some(1)), agg(Max, Some(1))];
            let out = run(split(&b, &cuts), &[0], aggs).unwrap();
            let (order, want) = oracle(&rows);
            prop_assert_eq!(i64s(out.column(0)), order);
            for (i, key) in i64s(out.column(0)).into_iter().enumerate() {
                let got = (
                    out.column(1).as_primitive::<Int64Type>().value(i),
                    out.column(2).as_primitive::<Int64Type>().value(i),
                    i64s(out.column(3))[i],
                    i64s(out.column(4))[i],
                    i64s(out.column(5))[i],
                );
                prop_assert_eq!(got, want[&key], "key {:?}", key);
            }
        }
    }
}
