//! Sort: gathers its whole input, then sorts it stably by the keys.
//!
//! The keys are encoded with Arrow's row format, whose byte order is the
//! SQL order for every type (descending and NULLS FIRST/LAST folded in;
//! NaN above every number), and the row indices are sorted with a stable
//! sort on those bytes.

use arrow::array::{Array, ArrayRef, UInt32Array};
use arrow::compute::SortOptions;
use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};

use crate::binary::normalize_floats;
use crate::error::{Error, Result};
use crate::options::Reservation;
use crate::parallel::{Ctx, Pipeline, collect_pipeline, drive, map_parallel};
use crate::plan::{SortKey, deferred};
use crate::source::BatchStream;

/// Rows per output batch.
const BATCH_ROWS: usize = 8192;

pub(crate) fn schema(input: &SchemaRef, keys: &[SortKey]) -> Result<SchemaRef> {
    sort_fields(input, keys)?;
    Ok(input.clone())
}

/// The row-format field of each key, with the key's type.
fn sort_fields(input: &Schema, keys: &[SortKey]) -> Result<Vec<(SortField, DataType)>> {
    keys.iter()
        .map(|k| {
            let t = k.expr.data_type(input)?;
            let options = SortOptions {
                descending: k.descending,
                nulls_first: k.nulls_first,
            };
            let field = SortField::new_with_options(t.clone(), options);
            if RowConverter::supports_fields(std::slice::from_ref(&field)) {
                Ok((field, t))
            } else {
                Err(Error::internal(format!(
                    "cannot sort by values of type {t}"
                )))
            }
        })
        .collect()
}

pub(crate) fn execute(input: BatchStream, keys: Vec<SortKey>, schema: SchemaRef) -> BatchStream {
    deferred(move || {
        let batches = input.collect::<Result<Vec<_>>>()?;
        let all = arrow::compute::concat_batches(&schema, &batches)?;
        if all.num_rows() == 0 {
            return Ok(vec![]);
        }
        let sorted = sort_batch(&all, &keys)?;
        let chunks = (0..sorted.num_rows()).step_by(BATCH_ROWS);
        Ok(chunks
            .map(|start| sorted.slice(start, BATCH_ROWS.min(sorted.num_rows() - start)))
            .collect())
    })
}

/// One worker's input to a parallel sort: its morsels by number.
struct Buffered {
    morsels: Vec<(u64, RecordBatch)>,
    bytes: usize,
    reservation: Reservation,
}

/// A sorted run: one worker's rows, their keys, the sorted order, and each
/// row's input position (morsel number, row) for stable merging.
struct Run {
    batch: RecordBatch,
    keys: arrow::row::Rows,
    order: Vec<u32>,
    position: Vec<(u64, u32)>,
    _reservation: Reservation,
}

/// The sort on `ctx.threads` workers: each buffers the morsels it takes,
/// sorts them into a run, and the runs are merged, ties broken by input
/// position, so the result is the one-thread stable sort.
pub(crate) fn run_parallel(p: &Pipeline, keys: &[SortKey], ctx: &Ctx) -> Result<Vec<RecordBatch>> {
    if keys.is_empty() {
        return collect_pipeline(p, ctx, None);
    }
    let schema = p.schema().clone();
    let fields = sort_fields(&schema, keys)?;
    let converter = RowConverter::new(fields.iter().map(|(f, _)| f.clone()).collect())?;
    let buffered = drive(
        p,
        ctx,
        || {
            Ok(Buffered {
                morsels: Vec::new(),
                bytes: 0,
                reservation: ctx.pool.reserve("sort"),
            })
        },
        |b, seq, batch| {
            if let Some(batch) = batch {
                b.bytes += batch.get_array_memory_size();
                b.reservation.resize(b.bytes)?;
                b.morsels.push((seq, batch));
            }
            Ok(true)
        },
    )?;
    let start = std::time::Instant::now();
    let runs = map_parallel(ctx, &buffered, |b| {
        sorted_run(b, keys, &fields, &converter, &schema, ctx)
    })?;
    let runs: Vec<Run> = runs
        .into_iter()
        .filter(|r| r.batch.num_rows() > 0)
        .collect();
    let indices = merge_runs(&runs);
    let batches: Vec<&RecordBatch> = runs.iter().map(|r| &r.batch).collect();
    let out = indices
        .chunks(BATCH_ROWS)
        .map(|chunk| Ok(arrow::compute::interleave_record_batch(&batches, chunk)?))
        .collect();
    if let (Some(prof), Some(node)) = (ctx.profile(), p.sink_key) {
        prof.add(node, 0, start.elapsed());
    }
    out
}

fn sorted_run(
    b: &Buffered,
    keys: &[SortKey],
    fields: &[(SortField, DataType)],
    converter: &RowConverter,
    schema: &SchemaRef,
    ctx: &Ctx,
) -> Result<Run> {
    let mut morsels: Vec<&(u64, RecordBatch)> = b.morsels.iter().collect();
    morsels.sort_by_key(|(seq, _)| *seq);
    let batch = arrow::compute::concat_batches(schema, morsels.iter().map(|(_, b)| b))?;
    let mut position = Vec::with_capacity(batch.num_rows());
    for (seq, m) in &morsels {
        position.extend((0..m.num_rows() as u32).map(|r| (*seq, r)));
    }
    let columns = key_columns(&batch, keys, fields)?;
    let rows = converter.convert_columns(&columns)?;
    let mut reservation = ctx.pool.reserve("sort");
    reservation.resize(rows.size() + batch.get_array_memory_size() + position.len() * 16)?;
    let n =
        u32::try_from(batch.num_rows()).map_err(|_| Error::internal("sort run over 2^32 rows"))?;
    let mut order: Vec<u32> = (0..n).collect();
    order.sort_by(|&a, &b| rows.row(a as usize).cmp(&rows.row(b as usize)));
    Ok(Run {
        batch,
        keys: rows,
        order,
        position,
        _reservation: reservation,
    })
}

/// `(run, row)` of each output row: the smallest key first, ties by input
/// position.
fn merge_runs(runs: &[Run]) -> Vec<(usize, usize)> {
    let total = runs.iter().map(|r| r.order.len()).sum();
    let mut out = Vec::with_capacity(total);
    let mut cursor = vec![0usize; runs.len()];
    let head = |r: usize, cursor: &[usize]| runs[r].order.get(cursor[r]).map(|&i| i as usize);
    loop {
        let mut best: Option<(usize, usize)> = None;
        for r in 0..runs.len() {
            let Some(i) = head(r, &cursor) else {
                continue;
            };
            let better = match best {
                None => true,
                Some((b, j)) => runs[r]
                    .keys
                    .row(i)
                    .cmp(&runs[b].keys.row(j))
                    .then(runs[r].position[i].cmp(&runs[b].position[j]))
                    .is_lt(),
            };
            if better {
                best = Some((r, i));
            }
        }
        let Some((r, i)) = best else {
            break;
        };
        out.push((r, i));
        cursor[r] += 1;
    }
    out
}

/// The key columns of `batch`, type-checked, floats normalized.
fn key_columns(
    batch: &RecordBatch,
    keys: &[SortKey],
    fields: &[(SortField, DataType)],
) -> Result<Vec<ArrayRef>> {
    keys.iter()
        .zip(fields)
        .map(|(k, (_, t))| {
            let column = k.expr.evaluate(batch)?;
            if column.data_type() != t {
                return Err(Error::internal(format!(
                    "sort key of type {t} fed with {}",
                    column.data_type()
                )));
            }
            Ok(normalize_floats(&column))
        })
        .collect()
}

fn sort_batch(batch: &RecordBatch, keys: &[SortKey]) -> Result<RecordBatch> {
    if keys.is_empty() {
        return Ok(batch.clone());
    }
    let fields = sort_fields(batch.schema_ref(), keys)?;
    let columns = key_columns(batch, keys, &fields)?;
    let rows = RowConverter::new(fields.into_iter().map(|(f, _)| f).collect())?
        .convert_columns(&columns)?;
    let n = u32::try_from(batch.num_rows())
        .map_err(|_| Error::internal("sort input over 2^32 rows"))?;
    let mut indices: Vec<u32> = (0..n).collect();
    // `sort_by` is stable: equal keys keep their input order.
    indices.sort_by(|&a, &b| rows.row(a as usize).cmp(&rows.row(b as usize)));
    let indices = UInt32Array::from(indices);
    Ok(arrow::compute::take_record_batch(batch, &indices)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::PhysicalExpr;
    use crate::plan::{PhysicalPlan, collect};
    use crate::source::MemorySource;
    use crate::test_util::{col, ints, strs};
    use arrow::array::{AsArray, Float64Array};
    use arrow::datatypes::{Float64Type, Int64Type};
    use std::sync::Arc;

    fn key(index: usize, descending: bool, nulls_first: bool) -> SortKey {
        SortKey {
            expr: col(index),
            descending,
            nulls_first,
        }
    }

    fn sorted(batches: Vec<RecordBatch>, keys: Vec<SortKey>) -> RecordBatch {
        let schema = batches[0].schema();
        let source = MemorySource::try_new(schema.clone(), batches).unwrap();
        let projection = (0..schema.fields().len()).collect();
        let plan = PhysicalPlan::Sort {
            input: Box::new(PhysicalPlan::Scan {
                source: Arc::new(source),
                projection,
            }),
            keys,
        };
        let out = collect(&plan).unwrap();
        arrow::compute::concat_batches(&schema, &out).unwrap()
    }

    fn int_col(b: &RecordBatch, c: usize) -> Vec<Option<i64>> {
        b.column(c).as_primitive::<Int64Type>().iter().collect()
    }

    #[test]
    fn nulls_first_last_asc_desc() {
        let b = crate::test_util::nullable_batch([("x", ints(&[Some(2), None, Some(1), Some(3)]))])
            .unwrap();
        let cases = [
            (false, false, vec![Some(1), Some(2), Some(3), None]),
            (false, true, vec![None, Some(1), Some(2), Some(3)]),
            (true, true, vec![None, Some(3), Some(2), Some(1)]),
            (true, false, vec![Some(3), Some(2), Some(1), None]),
        ];
        for (desc, nf, want) in cases {
            assert_eq!(
                int_col(&sorted(vec![b.clone()], vec![key(0, desc, nf)]), 0),
                want,
                "{desc} {nf}"
            );
        }
    }

    #[test]
    fn multiple_keys_and_stability() {
        let b1 = crate::test_util::nullable_batch([
            ("k", strs(&[Some("b"), Some("a"), None])),
            ("v", ints(&[Some(1), Some(2), Some(3)])),
            ("id", ints(&[Some(0), Some(1), Some(2)])),
        ])
        .unwrap();
        let b2 = crate::test_util::nullable_batch([
            ("k", strs(&[Some("a"), Some("b"), Some("a")])),
            ("v", ints(&[Some(2), Some(1), None])),
            ("id", ints(&[Some(3), Some(4), Some(5)])),
        ])
        .unwrap();
        // ORDER BY k DESC NULLS LAST, v ASC NULLS FIRST; ties keep input order
        let out = sorted(vec![b1, b2], vec![key(0, true, false), key(1, false, true)]);
        assert_eq!(
            int_col(&out, 2),
            vec![Some(0), Some(4), Some(5), Some(1), Some(3), Some(2)]
        );
    }

    #[test]
    fn nan_sorts_above_numbers() {
        let x: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(f64::NAN),
            Some(1.0),
            None,
            Some(f64::INFINITY),
            Some(-0.0),
            Some(0.0),
        ]));
        let id = ints(&[Some(0), Some(1), Some(2), Some(3), Some(4), Some(5)]);
        let b = crate::test_util::nullable_batch([("x", x), ("id", id)]).unwrap();
        let out = sorted(vec![b], vec![key(0, false, false)]);
        // -0.0 and 0.0 are equal, so they keep their input order
        assert_eq!(
            int_col(&out, 1),
            vec![Some(4), Some(5), Some(1), Some(3), Some(0), Some(2)]
        );
        assert!(
            out.column(0)
                .as_primitive::<Float64Type>()
                .value(4)
                .is_nan()
        );
    }

    #[test]
    fn empty_input_and_zero_keys() {
        let b = crate::test_util::nullable_batch([("x", ints(&[]))]).unwrap();
        assert_eq!(sorted(vec![b], vec![key(0, false, false)]).num_rows(), 0);
        let b = crate::test_util::nullable_batch([("x", ints(&[Some(2), Some(1)]))]).unwrap();
        assert_eq!(int_col(&sorted(vec![b], vec![]), 0), vec![Some(2), Some(1)]);
    }

    #[test]
    fn large_input_is_chunked() {
        let v: Vec<_> = (0..20_000).rev().map(Some).collect();
        let b = crate::test_util::nullable_batch([("x", ints(&v))]).unwrap();
        let source = MemorySource::try_new(b.schema(), vec![b]).unwrap();
        let plan = PhysicalPlan::Sort {
            input: Box::new(PhysicalPlan::Scan {
                source: Arc::new(source),
                projection: vec![0],
            }),
            keys: vec![key(0, false, false)],
        };
        let out = collect(&plan).unwrap();
        assert_eq!(
            out.iter().map(|b| b.num_rows()).collect::<Vec<_>>(),
            vec![8192, 8192, 3616]
        );
        assert_eq!(out[1].column(0).as_primitive::<Int64Type>().value(0), 8192);
    }

    #[test]
    fn bad_key_is_internal() {
        let b = crate::test_util::nullable_batch([("x", ints(&[Some(1)]))]).unwrap();
        let source = MemorySource::try_new(b.schema(), vec![b]).unwrap();
        let plan = PhysicalPlan::Sort {
            input: Box::new(PhysicalPlan::Scan {
                source: Arc::new(source),
                projection: vec![0],
            }),
            keys: vec![SortKey {
                expr: PhysicalExpr::Column { index: 1 },
                descending: false,
                nulls_first: false,
            }],
        };
        assert!(matches!(plan.execute(), Err(Error::Internal { .. })));
    }

    /// SQL order of two optional values under one key's options.
    fn cmp_key<T: Ord>(
        a: &Option<T>,
        b: &Option<T>,
        descending: bool,
        nulls_first: bool,
    ) -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        match (a, b) {
            (None, None) => Equal,
            (None, Some(_)) => {
                if nulls_first {
                    Less
                } else {
                    Greater
                }
            }
            (Some(_), None) => {
                if nulls_first {
                    Greater
                } else {
                    Less
                }
            }
            (Some(x), Some(y)) if descending => y.cmp(x),
            (Some(x), Some(y)) => x.cmp(y),
        }
    }

    proptest::proptest! {
        #![proptest_config(crate::test_util::proptest_config())]

        #[test]
        fn sort_matches_naive_stable_sort(
            rows in proptest::collection::vec(
                (proptest::option::of(-3i64..3), proptest::option::of("[a-c]{0,2}")),
                0..150,
            ),
            options in proptest::collection::vec(proptest::prelude::any::<(bool, bool)>(), 2),
            swap in proptest::prelude::any::<bool>(),
            cuts in proptest::collection::vec(0usize..200, 0..5),
        ) {
            let a: Vec<_> = rows.iter().map(|r| r.0).collect();
            let s: Vec<_> = rows.iter().map(|r| r.1.as_deref()).collect();
            let ids: Vec<_> = (0..rows.len() as i64).map(Some).collect();
            let b = crate::test_util::nullable_batch([("a", ints(&a)), ("s", strs(&s)), ("id", ints(&ids))]).unwrap();
            let columns = if swap { [1, 0] } else { [0, 1] };
            let keys = columns.iter().zip(&options).map(|(&c, &(d, n))| key(c, d, n)).collect();
            let out = sorted(crate::test_util::split(&b, &cuts), keys);

            let mut want: Vec<usize> = (0..rows.len()).collect();
            want.sort_by(|&x, &y| {
                let by_a = |i: usize, j: usize, (d, n): (bool, bool)| cmp_key(&rows[i].0, &rows[j].0, d, n);
                let by_s = |i: usize, j: usize, (d, n): (bool, bool)| cmp_key(&rows[i].1, &rows[j].1, d, n);
                if swap {
                    by_s(x, y, options[0]).then(by_a(x, y, options[1]))
                } else {
                    by_a(x, y, options[0]).then(by_s(x, y, options[1]))
                }
            });
            let want: Vec<_> = want.into_iter().map(|i| Some(i as i64)).collect();
            proptest::prop_assert_eq!(int_col(&out, 2), want);
        }
    }
}
