//! Scan: the batches of a [`ScanSource`], checked against the projected schema.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::source::{BatchStream, ScanSource};

pub(crate) fn schema(source: &dyn ScanSource, projection: &[usize]) -> Result<SchemaRef> {
    let table = source.schema();
    for &i in projection {
        crate::expr::column_field(&table, i)?;
    }
    Ok(Arc::new(table.project(projection)?))
}

/// The source's stream, with each batch checked against `schema` so that a
/// misbehaving source cannot make a later operator panic.
pub(crate) fn execute(
    source: &dyn ScanSource,
    projection: &[usize],
    schema: SchemaRef,
) -> Result<BatchStream> {
    let input = source.scan(projection)?;
    Ok(Box::new(input.map(move |batch| check(&schema, batch?))))
}

/// `batch` if its column types are `schema`'s, else [`Error::Internal`].
pub(crate) fn check(schema: &SchemaRef, batch: RecordBatch) -> Result<RecordBatch> {
    let fields = batch.schema_ref().fields();
    let same = fields.len() == schema.fields().len()
        && fields
            .iter()
            .zip(schema.fields())
            .all(|(a, b)| a.data_type() == b.data_type());
    if !same {
        return Err(Error::internal(format!(
            "scan source returned {:?}, expected {schema:?}",
            batch.schema()
        )));
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PhysicalPlan, collect};
    use crate::source::MemorySource;
    use crate::test_util::{ints, strs};

    /// A source that ignores the projection.
    #[derive(Debug)]
    struct Liar(MemorySource);

    impl ScanSource for Liar {
        fn schema(&self) -> SchemaRef {
            self.0.schema()
        }
        fn scan(&self, _: &[usize]) -> Result<BatchStream> {
            self.0.scan(&[0, 1])
        }
    }

    fn source() -> MemorySource {
        let b =
            crate::test_util::nullable_batch([("a", ints(&[Some(1)])), ("b", strs(&[Some("x")]))])
                .unwrap();
        MemorySource::try_new(b.schema(), vec![b]).unwrap()
    }

    #[test]
    fn scan_projects() {
        let plan = PhysicalPlan::Scan {
            source: Arc::new(source()),
            projection: vec![1, 0],
        };
        assert_eq!(plan.schema().unwrap().field(0).name(), "b");
        let out = collect(&plan).unwrap();
        assert_eq!(out[0].num_columns(), 2);
    }

    #[test]
    fn bad_projection_is_internal() {
        let plan = PhysicalPlan::Scan {
            source: Arc::new(source()),
            projection: vec![2],
        };
        assert!(matches!(plan.schema(), Err(Error::Internal { .. })));
        assert!(plan.execute().is_err());
    }

    #[test]
    fn lying_source_is_internal() {
        let plan = PhysicalPlan::Scan {
            source: Arc::new(Liar(source())),
            projection: vec![0],
        };
        assert!(matches!(collect(&plan), Err(Error::Internal { .. })));
    }
}
