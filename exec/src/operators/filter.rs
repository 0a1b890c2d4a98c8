//! Filter: keeps the rows whose predicate is TRUE; FALSE and NULL drop a row.

use arrow::datatypes::{DataType, SchemaRef};

use crate::error::{Error, Result};
use crate::expr::{PhysicalExpr, as_boolean, to_boolean};
use crate::source::BatchStream;

pub(crate) fn schema(input: &SchemaRef, predicate: &PhysicalExpr) -> Result<SchemaRef> {
    match predicate.data_type(input)? {
        DataType::Boolean | DataType::Null => Ok(input.clone()),
        t => Err(Error::internal(format!("filter predicate of type {t}"))),
    }
}

pub(crate) fn execute(input: BatchStream, predicate: PhysicalExpr) -> BatchStream {
    Box::new(
        input
            .map(move |batch| {
                let batch = batch?;
                let mask = to_boolean(&predicate.evaluate(&batch)?)?;
                // Arrow's filter treats a NULL in the mask as FALSE.
                Ok(arrow::compute::filter_record_batch(
                    &batch,
                    as_boolean(&mask)?,
                )?)
            })
            .filter(|batch| !matches!(batch, Ok(b) if b.num_rows() == 0)),
    )
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::expr::{BinaryOp, PhysicalExpr};
    use crate::plan::{PhysicalPlan, collect};
    use crate::source::MemorySource;
    use crate::test_util::{bools, col, ints, lit_i64, lit_null};
    use arrow::array::AsArray;
    use arrow::datatypes::{DataType, Int64Type};
    use arrow::record_batch::RecordBatch;
    use std::sync::Arc;

    fn scan(batches: Vec<RecordBatch>) -> Box<PhysicalPlan> {
        let source = MemorySource::try_new(batches[0].schema(), batches).unwrap();
        Box::new(PhysicalPlan::Scan {
            source: Arc::new(source),
            projection: vec![0, 1],
        })
    }

    fn ints_of(batches: &[RecordBatch], c: usize) -> Vec<Option<i64>> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(c)
                    .as_primitive::<Int64Type>()
                    .iter()
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn keeps_only_true_rows() {
        let b = crate::test_util::nullable_batch([
            ("x", ints(&[Some(1), Some(2), Some(3), None])),
            ("p", bools(&[Some(true), Some(false), None, Some(true)])),
        ])
        .unwrap();
        let plan = PhysicalPlan::Filter {
            input: scan(vec![b.clone(), b]),
            predicate: col(1),
        };
        let out = collect(&plan).unwrap();
        assert_eq!(ints_of(&out, 0), vec![Some(1), None, Some(1), None]);
    }

    #[test]
    fn comparison_predicate_and_empty_batches_skipped() {
        let b1 = crate::test_util::nullable_batch([
            ("x", ints(&[Some(1), Some(5)])),
            ("y", ints(&[None, None])),
        ])
        .unwrap();
        let b2 = crate::test_util::nullable_batch([
            ("x", ints(&[Some(0), None])),
            ("y", ints(&[None, None])),
        ])
        .unwrap();
        let predicate = PhysicalExpr::Binary {
            op: BinaryOp::Gt,
            left: Box::new(col(0)),
            right: Box::new(lit_i64(2)),
        };
        let plan = PhysicalPlan::Filter {
            input: scan(vec![b1, b2]),
            predicate,
        };
        let out = collect(&plan).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(ints_of(&out, 0), vec![Some(5)]);
    }

    #[test]
    fn null_predicate_drops_everything() {
        let b =
            crate::test_util::nullable_batch([("x", ints(&[Some(1)])), ("y", ints(&[Some(1)]))])
                .unwrap();
        let plan = PhysicalPlan::Filter {
            input: scan(vec![b]),
            predicate: lit_null(DataType::Null),
        };
        assert!(collect(&plan).unwrap().is_empty());
    }

    #[test]
    fn non_boolean_predicate_is_internal() {
        let b =
            crate::test_util::nullable_batch([("x", ints(&[Some(1)])), ("y", ints(&[Some(1)]))])
                .unwrap();
        let plan = PhysicalPlan::Filter {
            input: scan(vec![b]),
            predicate: col(0),
        };
        assert!(matches!(plan.execute(), Err(Error::Internal { .. })));
    }
}
