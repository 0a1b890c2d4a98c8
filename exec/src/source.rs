//! Batch streams and the scan-source trait through which storage reaches exec.
//!
//! Invariant: exec knows no files. The `sql` crate implements [`ScanSource`]
//! over `storage`; [`MemorySource`] serves tests and in-memory tables.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};

/// A pull-based stream of record batches: what every operator produces.
pub type BatchStream = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// A table that exec can scan. The `sql` crate implements it over storage.
pub trait ScanSource: Send + Sync + std::fmt::Debug {
    /// The full table schema.
    fn schema(&self) -> SchemaRef;

    /// Batches with only the columns at `projection`, in that order.
    ///
    /// # Errors
    ///
    /// Whatever the source fails with, wrapped in this crate's [`enum@Error`].
    fn scan(&self, projection: &[usize]) -> Result<BatchStream>;

    /// The same scan cut into parts that workers may read at the same
    /// time, in table order: concatenated, the parts are
    /// `scan(projection)`. exec cuts each batch into morsels of
    /// [`ExecOptions::morsel_rows`](crate::ExecOptions::morsel_rows) rows and
    /// numbers them in this order, which is what keeps results independent
    /// of the thread count.
    ///
    /// The default is one part, `scan(projection)`, whose batches the
    /// workers take in turns; a source that can read blocks independently
    /// should return one part per block range.
    ///
    /// # Errors
    ///
    /// As [`scan`](Self::scan).
    fn scan_partitions(&self, projection: &[usize]) -> Result<Vec<BatchStream>> {
        Ok(vec![self.scan(projection)?])
    }

    /// What EXPLAIN shows for the source (a table name, say).
    fn describe(&self) -> String {
        "(batches)".to_string()
    }
}

/// A [`ScanSource`] over record batches held in memory.
#[derive(Debug, Clone)]
pub struct MemorySource {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl MemorySource {
    /// A source over `batches`, which must all have `schema`.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] when a batch's schema differs from `schema`.
    pub fn try_new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Result<Self> {
        for batch in &batches {
            let fields = batch.schema_ref().fields();
            let same = fields.len() == schema.fields().len()
                && fields
                    .iter()
                    .zip(schema.fields())
                    .all(|(a, b)| a.data_type() == b.data_type());
            if !same {
                return Err(Error::internal(format!(
                    "batch schema {:?} differs from source schema {schema:?}",
                    batch.schema()
                )));
            }
        }
        Ok(MemorySource { schema, batches })
    }
}

impl ScanSource for MemorySource {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn scan(&self, projection: &[usize]) -> Result<BatchStream> {
        let schema = Arc::new(self.schema.project(projection)?);
        let projection = projection.to_vec();
        let batches = self.batches.clone();
        Ok(Box::new(
            batches
                .into_iter()
                .map(move |b| project(&schema, &projection, &b)),
        ))
    }

    /// One part per batch.
    fn scan_partitions(&self, projection: &[usize]) -> Result<Vec<BatchStream>> {
        let schema = Arc::new(self.schema.project(projection)?);
        Ok(self
            .batches
            .iter()
            .map(|b| {
                let one = project(&schema, projection, b);
                Box::new(std::iter::once(one)) as BatchStream
            })
            .collect())
    }
}

fn project(schema: &SchemaRef, projection: &[usize], b: &RecordBatch) -> Result<RecordBatch> {
    let columns = projection.iter().map(|&i| b.column(i).clone()).collect();
    let options = arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(b.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &options,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{ints, strs};
    use arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn memory_source_projects() {
        let b =
            crate::test_util::nullable_batch([("a", ints(&[Some(1)])), ("b", strs(&[Some("x")]))])
                .unwrap();
        let src = MemorySource::try_new(b.schema(), vec![b.clone(), b]).unwrap();
        let out: Vec<_> = src.scan(&[1]).unwrap().collect::<Result<_>>().unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].schema().field(0).name(), "b");
        let none: Vec<_> = src.scan(&[]).unwrap().collect::<Result<_>>().unwrap();
        assert_eq!(none[0].num_rows(), 1);
        assert!(src.scan(&[2]).is_err());
        let parts = src.scan_partitions(&[1]).unwrap();
        assert_eq!(parts.len(), 2);
        for p in parts {
            let b: Vec<_> = p.collect::<Result<_>>().unwrap();
            assert_eq!(b[0].schema().field(0).name(), "b");
        }
        assert!(src.scan_partitions(&[2]).is_err());
    }

    #[test]
    fn memory_source_checks_schema() {
        let b = crate::test_util::nullable_batch([("a", ints(&[Some(1)]))]).unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Utf8, true)]));
        assert!(matches!(
            MemorySource::try_new(schema, vec![b]),
            Err(Error::Internal { .. })
        ));
    }
}
