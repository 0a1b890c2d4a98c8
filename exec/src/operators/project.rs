//! Projection: one output column per expression.

use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};

use crate::error::Result;
use crate::expr::PhysicalExpr;
use crate::plan::make_batch;
use crate::source::BatchStream;

pub(crate) fn schema(input: &Schema, exprs: &[(PhysicalExpr, String)]) -> Result<SchemaRef> {
    let fields = exprs
        .iter()
        .map(|(e, name)| Ok(Field::new(name, e.data_type(input)?, e.nullable(input))))
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

pub(crate) fn execute(
    input: BatchStream,
    exprs: Vec<PhysicalExpr>,
    schema: SchemaRef,
) -> BatchStream {
    Box::new(input.map(move |batch| {
        let batch = batch?;
        let columns = exprs
            .iter()
            .map(|e| e.evaluate(&batch))
            .collect::<Result<Vec<_>>>()?;
        make_batch(schema.clone(), columns, batch.num_rows())
    }))
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::expr::{BinaryOp, PhysicalExpr};
    use crate::plan::{PhysicalPlan, collect};
    use crate::source::MemorySource;
    use crate::test_util::{col, ints, lit_i64};
    use arrow::array::AsArray;
    use arrow::datatypes::{DataType, Int64Type};
    use std::sync::Arc;

    fn scan() -> Box<PhysicalPlan> {
        let b = crate::test_util::nullable_batch([("x", ints(&[Some(1), None, Some(3)]))]).unwrap();
        let source = MemorySource::try_new(b.schema(), vec![b]).unwrap();
        Box::new(PhysicalPlan::Scan {
            source: Arc::new(source),
            projection: vec![0],
        })
    }

    #[test]
    fn computes_columns() {
        let plus = PhysicalExpr::Binary {
            op: BinaryOp::Add,
            left: Box::new(col(0)),
            right: Box::new(lit_i64(10)),
        };
        let plan = PhysicalPlan::Projection {
            input: scan(),
            exprs: vec![
                (plus, "y".into()),
                (lit_i64(7), "c".into()),
                (col(0), "x".into()),
            ],
        };
        let schema = plan.schema().unwrap();
        assert_eq!(schema.field(0).name(), "y");
        assert!(schema.field(0).is_nullable());
        assert!(!schema.field(1).is_nullable());
        assert_eq!(schema.field(1).data_type(), &DataType::Int64);
        let out = collect(&plan).unwrap();
        let y: Vec<_> = out[0]
            .column(0)
            .as_primitive::<Int64Type>()
            .iter()
            .collect();
        assert_eq!(y, vec![Some(11), None, Some(13)]);
        assert_eq!(
            out[0]
                .column(1)
                .as_primitive::<Int64Type>()
                .values()
                .to_vec(),
            vec![7, 7, 7]
        );
    }

    #[test]
    fn zero_expressions_keep_row_count() {
        let plan = PhysicalPlan::Projection {
            input: scan(),
            exprs: vec![],
        };
        let out = collect(&plan).unwrap();
        assert_eq!((out[0].num_rows(), out[0].num_columns()), (3, 0));
    }

    #[test]
    fn bad_expression_is_internal() {
        let plan = PhysicalPlan::Projection {
            input: scan(),
            exprs: vec![(col(3), "z".into())],
        };
        assert!(matches!(plan.execute(), Err(Error::Internal { .. })));
    }

    #[test]
    fn untyped_null_literal() {
        let null = crate::test_util::lit_null(DataType::Null);
        let plan = PhysicalPlan::Projection {
            input: scan(),
            exprs: vec![(null, "n".into())],
        };
        assert!(plan.schema().unwrap().field(0).is_nullable());
        let out = collect(&plan).unwrap();
        assert_eq!(
            (out[0].num_rows(), out[0].column(0).logical_null_count()),
            (3, 3)
        );
    }
}
