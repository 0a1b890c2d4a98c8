//! Set operations (`UNION`, `INTERSECT`, `EXCEPT`, each `[ALL]`) and the
//! single-row check of scalar subqueries.
//!
//! Set operations compare whole rows with NULLs equal to each other (SQL's
//! "not distinct"), through Arrow's row format with floats normalized, as
//! the hash aggregate's keys do. `UNION ALL` streams; the others read both
//! inputs whole on the first pull. Output order: the left input's rows in
//! their order, then (for UNION) the right input's.
//!
//! Invariant: both inputs have the same column types; the output field `i`
//! is nullable when either input's field `i` is.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, UInt32Array};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, Rows, SortField};

use crate::binary::normalize_floats;
use crate::error::{Error, Result};
use crate::plan::{deferred, make_batch};
use crate::source::BatchStream;

/// Which set operation a [`PhysicalPlan::SetOp`](crate::PhysicalPlan::SetOp) computes.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetOpKind {
    /// Rows of either input.
    Union,
    /// Rows of both inputs.
    Intersect,
    /// Rows of the left input that are not in the right one.
    Except,
}

/// The output schema: the left input's names, types checked equal, each
/// field nullable when either side's is.
pub(crate) fn schema(left: &Schema, right: &Schema) -> Result<SchemaRef> {
    if left.fields().len() != right.fields().len() {
        return Err(Error::internal(format!(
            "set operation over {} and {} columns",
            left.fields().len(),
            right.fields().len()
        )));
    }
    let fields: Vec<Arc<Field>> = left
        .fields()
        .iter()
        .zip(right.fields().iter())
        .map(|(l, r)| {
            if l.data_type() != r.data_type() {
                return Err(Error::internal(format!(
                    "set operation over {} and {}",
                    l.data_type(),
                    r.data_type()
                )));
            }
            Ok(Arc::new(
                l.as_ref()
                    .clone()
                    .with_nullable(l.is_nullable() || r.is_nullable()),
            ))
        })
        .collect::<Result<_>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// Runs a set operation over two started inputs.
pub(crate) fn execute(
    left: BatchStream,
    right: BatchStream,
    kind: SetOpKind,
    all: bool,
    schema: SchemaRef,
) -> BatchStream {
    if kind == SetOpKind::Union && all {
        let relabel = {
            let schema = schema.clone();
            move |b: Result<RecordBatch>| {
                b.and_then(|b| make_batch(schema.clone(), b.columns().to_vec(), b.num_rows()))
            }
        };
        return Box::new(left.chain(right).map(relabel));
    }
    deferred(move || {
        let l = gather(left, &schema)?;
        let r = gather(right, &schema)?;
        let out = match kind {
            SetOpKind::Union => union_distinct(&l, &r, &schema)?,
            SetOpKind::Intersect | SetOpKind::Except => {
                intersect_except(&l, &r, kind == SetOpKind::Intersect, all, &schema)?
            }
        };
        Ok(if out.num_rows() == 0 {
            vec![]
        } else {
            vec![out]
        })
    })
}

/// All of a stream's rows as one batch of `schema`.
fn gather(input: BatchStream, schema: &SchemaRef) -> Result<RecordBatch> {
    let batches = input
        .map(|b| b.and_then(|b| make_batch(schema.clone(), b.columns().to_vec(), b.num_rows())))
        .collect::<Result<Vec<_>>>()?;
    Ok(arrow::compute::concat_batches(schema, &batches)?)
}

/// Each row of `batch` in the row format (NULLs equal, floats normalized).
fn encode(batch: &RecordBatch) -> Result<Rows> {
    let fields = batch
        .schema()
        .fields()
        .iter()
        .map(|f| SortField::new(f.data_type().clone()))
        .collect();
    let converter = RowConverter::new(fields)?;
    let columns: Vec<ArrayRef> = batch.columns().iter().map(normalize_floats).collect();
    if columns.is_empty() {
        // No columns: every row is the same (empty) row.
        return Ok(converter.empty_rows(0, 0));
    }
    Ok(converter.convert_columns(&columns)?)
}

/// The bytes of row `i`, also for batches without columns.
fn key(rows: &Rows, i: usize) -> &[u8] {
    if rows.num_rows() == 0 {
        &[]
    } else {
        rows.row(i).data()
    }
}

fn take(batch: &RecordBatch, indices: Vec<u32>, schema: &SchemaRef) -> Result<RecordBatch> {
    let n = indices.len();
    let indices = UInt32Array::from(indices);
    let columns = batch
        .columns()
        .iter()
        .map(|c| arrow::compute::take(c.as_ref(), &indices, None))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    make_batch(schema.clone(), columns, n)
}

fn row_u32(i: usize) -> Result<u32> {
    u32::try_from(i).map_err(|_| Error::internal("set operation input over 2^32 rows"))
}

fn union_distinct(l: &RecordBatch, r: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let both = arrow::compute::concat_batches(schema, [l, r])?;
    let rows = encode(&both)?;
    let mut seen: HashMap<&[u8], ()> = HashMap::new();
    let mut keep = Vec::new();
    for i in 0..both.num_rows() {
        if seen.insert(key(&rows, i), ()).is_none() {
            keep.push(row_u32(i)?);
        }
    }
    take(&both, keep, schema)
}

/// INTERSECT [ALL] and EXCEPT [ALL]: a left row is kept according to the
/// count of equal right rows still unclaimed (ALL) or present at all.
fn intersect_except(
    l: &RecordBatch,
    r: &RecordBatch,
    intersect: bool,
    all: bool,
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    let (lrows, rrows) = (encode(l)?, encode(r)?);
    let mut right: HashMap<&[u8], usize> = HashMap::new();
    for i in 0..r.num_rows() {
        *right.entry(key(&rrows, i)).or_default() += 1;
    }
    let mut emitted: HashMap<&[u8], ()> = HashMap::new();
    let mut keep = Vec::new();
    for i in 0..l.num_rows() {
        let k = key(&lrows, i);
        let count = right.get_mut(k);
        let out = match (intersect, all, count) {
            (true, true, Some(c)) if *c > 0 => {
                *c -= 1;
                true
            }
            (true, false, Some(c)) => *c > 0 && emitted.insert(k, ()).is_none(),
            (true, _, _) => false,
            (false, true, Some(c)) if *c > 0 => {
                *c -= 1;
                false
            }
            (false, true, _) => true,
            (false, false, Some(c)) if *c > 0 => false,
            (false, false, _) => emitted.insert(k, ()).is_none(),
        };
        if out {
            keep.push(row_u32(i)?);
        }
    }
    take(l, keep, schema)
}

/// Passes its input through, failing with [`Error::MoreThanOneRow`] once a
/// second row arrives (a scalar subquery).
pub(crate) fn single_row(input: BatchStream, origin: u64) -> BatchStream {
    let mut seen = 0usize;
    Box::new(input.map(move |b| {
        let b = b?;
        seen += b.num_rows();
        if seen > 1 {
            return Err(Error::MoreThanOneRow { origin });
        }
        Ok(b)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PhysicalPlan, collect};
    use crate::test_util::{ints, nullable_batch, scan_of};

    fn table(values: &[Option<i64>]) -> Box<PhysicalPlan> {
        scan_of(vec![nullable_batch([("a", ints(values))]).unwrap()])
    }

    fn run(kind: SetOpKind, all: bool, l: &[Option<i64>], r: &[Option<i64>]) -> Vec<Option<i64>> {
        let plan = PhysicalPlan::SetOp {
            left: table(l),
            right: table(r),
            kind,
            all,
        };
        let mut out: Vec<Option<i64>> = collect(&plan)
            .unwrap()
            .iter()
            .flat_map(|b| {
                let a = b
                    .column(0)
                    .as_any()
                    .downcast_ref::<arrow::array::Int64Array>();
                a.map(|a| a.iter().collect::<Vec<_>>()).unwrap_or_default()
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn set_operations_treat_nulls_as_equal() {
        let l = [Some(1), Some(1), Some(2), None, None, Some(3)];
        let r = [Some(1), None, Some(4)];
        use SetOpKind::*;
        assert_eq!(run(Union, false, &l, &r).len(), 5);
        assert_eq!(run(Union, true, &l, &r).len(), 9);
        assert_eq!(run(Intersect, false, &l, &r), [None, Some(1)]);
        assert_eq!(run(Intersect, true, &l, &r), [None, Some(1)]);
        assert_eq!(run(Except, false, &l, &r), [Some(2), Some(3)]);
        assert_eq!(run(Except, true, &l, &r), [None, Some(1), Some(2), Some(3)]);
    }

    #[test]
    fn single_row_fails_on_the_second_row() {
        let plan = PhysicalPlan::SingleRow {
            input: table(&[Some(1), Some(2)]),
            origin: 7,
        };
        assert!(matches!(
            collect(&plan),
            Err(Error::MoreThanOneRow { origin: 7 })
        ));
        let plan = PhysicalPlan::SingleRow {
            input: table(&[]),
            origin: 7,
        };
        assert!(collect(&plan).unwrap().iter().all(|b| b.num_rows() == 0));
    }
}
