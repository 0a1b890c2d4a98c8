//! Values: rows of constant expressions, e.g. `SELECT 1 + 1` or
//! `INSERT ... VALUES (...)`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, new_empty_array};
use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::expr::PhysicalExpr;
use crate::plan::{deferred, make_batch};
use crate::source::BatchStream;

/// Checks that each row has one expression per field, of the field's type
/// (or of type `Null`, which is cast).
pub(crate) fn schema(schema: &SchemaRef, rows: &[Vec<PhysicalExpr>]) -> Result<SchemaRef> {
    let empty = Schema::empty();
    for (r, row) in rows.iter().enumerate() {
        if row.len() != schema.fields().len() {
            return Err(Error::internal(format!(
                "VALUES row {r} has {} expressions for {} columns",
                row.len(),
                schema.fields().len()
            )));
        }
        for (expr, field) in row.iter().zip(schema.fields()) {
            let t = expr.data_type(&empty)?;
            if &t != field.data_type() && t != DataType::Null {
                return Err(Error::internal(format!(
                    "VALUES row {r} gives {t} for column {} of type {}",
                    field.name(),
                    field.data_type()
                )));
            }
        }
    }
    Ok(schema.clone())
}

pub(crate) fn execute(schema: SchemaRef, rows: Vec<Vec<PhysicalExpr>>) -> BatchStream {
    deferred(move || Ok(vec![evaluate(schema, &rows)?]))
}

/// Evaluates all rows into one batch.
fn evaluate(schema: SchemaRef, rows: &[Vec<PhysicalExpr>]) -> Result<RecordBatch> {
    let one_row = make_batch(Arc::new(Schema::empty()), vec![], 1)?;
    let mut columns: Vec<Vec<ArrayRef>> =
        vec![Vec::with_capacity(rows.len()); schema.fields().len()];
    for row in rows {
        for ((expr, field), column) in row.iter().zip(schema.fields()).zip(&mut columns) {
            let value = crate::cast::cast(&expr.evaluate(&one_row)?, field.data_type())?;
            column.push(value);
        }
    }
    let columns = columns
        .iter()
        .zip(schema.fields())
        .map(|(parts, field)| {
            if parts.is_empty() {
                return Ok(new_empty_array(field.data_type()));
            }
            let parts: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
            Ok(arrow::compute::concat(&parts)?)
        })
        .collect::<Result<Vec<_>>>()?;
    make_batch(schema, columns, rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::BinaryOp;
    use crate::plan::{PhysicalPlan, collect};
    use crate::test_util::{lit_i64, lit_null};
    use arrow::array::AsArray;
    use arrow::datatypes::{Field, Int64Type};

    fn plan(fields: Vec<Field>, rows: Vec<Vec<PhysicalExpr>>) -> PhysicalPlan {
        PhysicalPlan::Values {
            schema: Arc::new(Schema::new(fields)),
            rows,
        }
    }

    #[test]
    fn select_one_plus_one() {
        let two = PhysicalExpr::Binary {
            op: BinaryOp::Add,
            left: Box::new(lit_i64(1)),
            right: Box::new(lit_i64(1)),
        };
        let out = collect(&plan(
            vec![Field::new("?column?", DataType::Int64, false)],
            vec![vec![two]],
        ))
        .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0]
                .column(0)
                .as_primitive::<Int64Type>()
                .values()
                .to_vec(),
            vec![2]
        );
    }

    #[test]
    fn several_rows_and_null() {
        let p = plan(
            vec![Field::new("x", DataType::Int64, true)],
            vec![
                vec![lit_i64(1)],
                vec![lit_null(DataType::Null)],
                vec![lit_i64(3)],
            ],
        );
        let out = collect(&p).unwrap();
        let col: Vec<_> = out[0]
            .column(0)
            .as_primitive::<Int64Type>()
            .iter()
            .collect();
        assert_eq!(col, vec![Some(1), None, Some(3)]);
    }

    #[test]
    fn zero_columns_and_zero_rows() {
        let out = collect(&plan(vec![], vec![vec![], vec![]])).unwrap();
        assert_eq!((out[0].num_rows(), out[0].num_columns()), (2, 0));
        let out = collect(&plan(vec![Field::new("x", DataType::Int64, true)], vec![])).unwrap();
        assert_eq!(out[0].num_rows(), 0);
    }

    #[test]
    fn ill_typed_rows_are_internal() {
        let p = plan(
            vec![Field::new("x", DataType::Utf8, true)],
            vec![vec![lit_i64(1)]],
        );
        assert!(matches!(p.execute(), Err(Error::Internal { .. })));
        let p = plan(
            vec![Field::new("x", DataType::Int64, true)],
            vec![vec![lit_i64(1), lit_i64(2)]],
        );
        assert!(matches!(p.schema(), Err(Error::Internal { .. })));
        let p = plan(vec![], vec![vec![PhysicalExpr::Column { index: 0 }]]);
        assert!(matches!(p.schema(), Err(Error::Internal { .. })));
    }

    #[test]
    fn errors_come_out_of_the_stream() {
        let div = PhysicalExpr::Binary {
            op: BinaryOp::Div,
            left: Box::new(lit_i64(1)),
            right: Box::new(lit_i64(0)),
        };
        let p = plan(
            vec![Field::new("x", DataType::Int64, true)],
            vec![vec![div]],
        );
        assert!(matches!(collect(&p), Err(Error::DivisionByZero)));
    }
}
