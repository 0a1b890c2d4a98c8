//! Recursive union (`WITH RECURSIVE`): the anchor's rows, then the step's
//! rows run again and again over the previous round's rows, until a round
//! yields none.
//!
//! The step reads the previous round through a [`WorkTable`], a
//! [`ScanSource`] that the caller puts both into the plan node and into a
//! scan inside the step. With `distinct` (SQL `UNION`), rows already
//! produced are dropped (NULLs equal), so a cycle ends.
//!
//! The operator is lazy: each pull runs at most one round, so a `LIMIT`
//! above stops an otherwise endless recursion, as in PostgreSQL.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, UInt32Array};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};

use crate::binary::normalize_floats;
use crate::error::{Error, Result};
use crate::plan::{PhysicalPlan, make_batch};
use crate::source::{BatchStream, ScanSource};

/// The rows of the previous round of a recursive union, as a scan source.
#[derive(Debug)]
pub struct WorkTable {
    schema: SchemaRef,
    rows: Mutex<Vec<RecordBatch>>,
}

impl WorkTable {
    /// An empty work table of `schema`.
    pub fn new(schema: SchemaRef) -> Self {
        WorkTable {
            schema,
            rows: Mutex::new(Vec::new()),
        }
    }

    fn set(&self, batches: Vec<RecordBatch>) -> Result<()> {
        let mut rows = self
            .rows
            .lock()
            .map_err(|_| Error::internal("work table lock poisoned"))?;
        *rows = batches;
        Ok(())
    }
}

impl ScanSource for WorkTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn scan(&self, projection: &[usize]) -> Result<BatchStream> {
        let rows = self
            .rows
            .lock()
            .map_err(|_| Error::internal("work table lock poisoned"))?;
        let batches = rows
            .iter()
            .map(|b| b.project(projection).map_err(Error::from))
            .collect::<Vec<_>>();
        Ok(Box::new(batches.into_iter()))
    }
}

/// The recursive union's stream.
pub(crate) fn execute(
    anchor: BatchStream,
    step: PhysicalPlan,
    work: Arc<WorkTable>,
    distinct: bool,
    schema: SchemaRef,
) -> Result<BatchStream> {
    let fields = schema
        .fields()
        .iter()
        .map(|f| SortField::new(f.data_type().clone()))
        .collect();
    let converter = if distinct && !schema.fields().is_empty() {
        Some(RowConverter::new(fields)?)
    } else {
        None
    };
    Ok(Box::new(Recursive {
        anchor: Some(anchor),
        step,
        work,
        schema,
        converter,
        seen: HashSet::new(),
        pending: Vec::new(),
        done: false,
    }))
}

struct Recursive {
    anchor: Option<BatchStream>,
    step: PhysicalPlan,
    work: Arc<WorkTable>,
    schema: SchemaRef,
    /// For `distinct`: the row encoding and the rows produced so far.
    converter: Option<RowConverter>,
    seen: HashSet<Box<[u8]>>,
    /// Batches of the current round not yet yielded.
    pending: Vec<RecordBatch>,
    done: bool,
}

impl Recursive {
    /// The new rows of one round (all of them, or those not seen before).
    fn keep_new(&mut self, batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
        let mut out = Vec::with_capacity(batches.len());
        for b in batches {
            let b = make_batch(self.schema.clone(), b.columns().to_vec(), b.num_rows())?;
            let Some(converter) = &self.converter else {
                if b.num_rows() > 0 {
                    out.push(b);
                }
                continue;
            };
            let columns: Vec<ArrayRef> = b.columns().iter().map(normalize_floats).collect();
            let rows = converter.convert_columns(&columns)?;
            let mut keep = Vec::new();
            for i in 0..b.num_rows() {
                if self.seen.insert(rows.row(i).data().into()) {
                    keep.push(
                        u32::try_from(i).map_err(|_| Error::internal("batch over 2^32 rows"))?,
                    );
                }
            }
            if !keep.is_empty() {
                out.push(arrow::compute::take_record_batch(
                    &b,
                    &UInt32Array::from(keep),
                )?);
            }
        }
        Ok(out)
    }

    fn round(&mut self) -> Result<Vec<RecordBatch>> {
        let batches = match self.anchor.take() {
            Some(anchor) => anchor.collect::<Result<Vec<_>>>()?,
            None => self.step.execute()?.collect::<Result<Vec<_>>>()?,
        };
        let new = self.keep_new(batches)?;
        self.work.set(new.clone())?;
        Ok(new)
    }
}

impl Iterator for Recursive {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(b) = self.pending.pop() {
                return Some(Ok(b));
            }
            if self.done {
                return None;
            }
            match self.round() {
                Ok(new) if new.is_empty() => self.done = true,
                Ok(mut new) => {
                    new.reverse();
                    self.pending = new;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{BinaryOp, PhysicalExpr};
    use crate::plan::collect;
    use crate::test_util::{col, ints, lit_i64, nullable_batch, scan_of};
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;

    #[test]
    fn counts_to_five_and_stops() {
        let anchor = scan_of(vec![nullable_batch([("n", ints(&[Some(1)]))]).unwrap()]);
        let work = Arc::new(WorkTable::new(anchor.schema().unwrap()));
        let scan = PhysicalPlan::Scan {
            source: work.clone(),
            projection: vec![0],
        };
        let lt = PhysicalExpr::Binary {
            op: BinaryOp::Lt,
            left: Box::new(col(0)),
            right: Box::new(lit_i64(5)),
        };
        let plus = PhysicalExpr::Binary {
            op: BinaryOp::Add,
            left: Box::new(col(0)),
            right: Box::new(lit_i64(1)),
        };
        let step = PhysicalPlan::Projection {
            input: Box::new(PhysicalPlan::Filter {
                input: Box::new(scan),
                predicate: lt,
            }),
            exprs: vec![(plus, "n".into())],
        };
        let plan = PhysicalPlan::RecursiveUnion {
            anchor,
            step: Box::new(step),
            work,
            distinct: true,
        };
        let out: Vec<i64> = collect(&plan)
            .unwrap()
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect();
        assert_eq!(out, [1, 2, 3, 4, 5]);
    }
}
