//! Physical plans: the operator tree the SQL layer builds and exec runs.
//!
//! `execute` turns a plan into a pull-based [`BatchStream`]: each operator is
//! an iterator that pulls from its input's iterator. Pipeline breakers
//! (aggregate, sort) consume their whole input on the first pull.
//!
//! Invariant: `execute` checks the plan's types (through `schema`) before it
//! returns, so an ill-typed plan fails early with [`Error::Internal`].

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::aggregate::AggregateExpr;
use crate::error::{Error, Result};
use crate::expr::PhysicalExpr;
use crate::operators::{filter, hash_aggregate, limit, project, scan, sort, values};
use crate::source::{BatchStream, ScanSource};

/// One key of a [`PhysicalPlan::Sort`].
#[derive(Debug, Clone)]
pub struct SortKey {
    /// The value to sort by, evaluated over the sort's input.
    pub expr: PhysicalExpr,
    /// Descending instead of ascending.
    pub descending: bool,
    /// NULLs before non-NULLs (the SQL layer picks the default: NULLS LAST
    /// for ASC, NULLS FIRST for DESC).
    pub nulls_first: bool,
}

/// A tree of operators over record batches.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum PhysicalPlan {
    /// Reads the columns at `projection` from a table.
    Scan {
        /// The table.
        source: Arc<dyn ScanSource>,
        /// Column positions in the table schema, in output order.
        projection: Vec<usize>,
    },
    /// Rows of constant expressions (`INSERT ... VALUES`, `SELECT` without
    /// `FROM`): each row's expressions are evaluated over a batch of one row
    /// and no columns.
    Values {
        /// The output schema; each row has one expression per field.
        schema: SchemaRef,
        /// The rows.
        rows: Vec<Vec<PhysicalExpr>>,
    },
    /// Keeps the rows where `predicate` is TRUE (not FALSE, not NULL).
    Filter {
        /// The input.
        input: Box<PhysicalPlan>,
        /// A boolean expression over the input.
        predicate: PhysicalExpr,
    },
    /// Computes one output column per expression.
    Projection {
        /// The input.
        input: Box<PhysicalPlan>,
        /// Expressions over the input, with their output names.
        exprs: Vec<(PhysicalExpr, String)>,
    },
    /// Groups by `group_by` and computes `aggregates` per group. Output:
    /// group-by columns first (in order), then aggregates (in order); groups
    /// in first-seen order. NULL keys form one group. With no `group_by`,
    /// exactly one row, even on empty input (`count` 0, the others NULL).
    HashAggregate {
        /// The input.
        input: Box<PhysicalPlan>,
        /// Group keys over the input, with their output names.
        group_by: Vec<(PhysicalExpr, String)>,
        /// The aggregates.
        aggregates: Vec<AggregateExpr>,
    },
    /// A stable sort by `keys`.
    Sort {
        /// The input.
        input: Box<PhysicalPlan>,
        /// Sort keys, most significant first.
        keys: Vec<SortKey>,
    },
    /// Skips `skip` rows, then yields at most `fetch` rows.
    Limit {
        /// The input.
        input: Box<PhysicalPlan>,
        /// Rows to skip (`OFFSET`).
        skip: usize,
        /// Rows to yield after skipping (`LIMIT`); `None` for all.
        fetch: Option<usize>,
    },
}

impl PhysicalPlan {
    /// The schema of the batches this plan produces.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] when the plan is ill-typed.
    pub fn schema(&self) -> Result<SchemaRef> {
        match self {
            PhysicalPlan::Scan { source, projection } => scan::schema(source.as_ref(), projection),
            PhysicalPlan::Values { schema, rows } => values::schema(schema, rows),
            PhysicalPlan::Filter { input, predicate } => {
                filter::schema(&input.schema()?, predicate)
            }
            PhysicalPlan::Projection { input, exprs } => {
                project::schema(input.schema()?.as_ref(), exprs)
            }
            PhysicalPlan::HashAggregate {
                input,
                group_by,
                aggregates,
            } => hash_aggregate::schema(input.schema()?.as_ref(), group_by, aggregates),
            PhysicalPlan::Sort { input, keys } => sort::schema(&input.schema()?, keys),
            PhysicalPlan::Limit { input, .. } => input.schema(),
        }
    }

    /// Starts the plan and returns its output stream.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] for an ill-typed plan, or the scan source's error.
    /// Errors in the data (overflow, bad casts, ...) come out of the stream.
    pub fn execute(&self) -> Result<BatchStream> {
        let schema = self.schema()?;
        match self {
            PhysicalPlan::Scan { source, projection } => {
                scan::execute(source.as_ref(), projection, schema)
            }
            PhysicalPlan::Values { rows, .. } => Ok(values::execute(schema, rows.clone())),
            PhysicalPlan::Filter { input, predicate } => {
                Ok(filter::execute(input.execute()?, predicate.clone()))
            }
            PhysicalPlan::Projection { input, exprs } => {
                let exprs = exprs.iter().map(|(e, _)| e.clone()).collect();
                Ok(project::execute(input.execute()?, exprs, schema))
            }
            PhysicalPlan::HashAggregate {
                input,
                group_by,
                aggregates,
            } => {
                let spec = hash_aggregate::Spec::new(
                    input.schema()?.as_ref(),
                    group_by,
                    aggregates,
                    schema,
                )?;
                Ok(hash_aggregate::execute(input.execute()?, spec))
            }
            PhysicalPlan::Sort { input, keys } => {
                Ok(sort::execute(input.execute()?, keys.clone(), schema))
            }
            PhysicalPlan::Limit { input, skip, fetch } => {
                Ok(limit::execute(input.execute()?, *skip, *fetch))
            }
        }
    }
}

/// Runs `plan` to completion and returns all its batches.
///
/// # Errors
///
/// The first error of [`PhysicalPlan::execute`] or of the stream.
pub fn collect(plan: &PhysicalPlan) -> Result<Vec<RecordBatch>> {
    plan.execute()?.collect()
}

/// A stream that runs `f` on the first pull and yields its batches.
pub(crate) fn deferred(
    f: impl FnOnce() -> Result<Vec<RecordBatch>> + Send + 'static,
) -> BatchStream {
    Box::new(std::iter::once_with(f).flat_map(|r| match r {
        Ok(batches) => batches.into_iter().map(Ok).collect::<Vec<_>>(),
        Err(e) => vec![Err(e)],
    }))
}

/// Builds a batch, also when it has no columns.
pub(crate) fn make_batch(
    schema: SchemaRef,
    columns: Vec<arrow::array::ArrayRef>,
    rows: usize,
) -> Result<RecordBatch> {
    let options = arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(schema, columns, &options)
        .map_err(|e| Error::internal(format!("cannot build an output batch: {e}")))
}
