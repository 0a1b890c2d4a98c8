//! Physical plans: the operator tree the SQL layer builds and exec runs.
//!
//! `execute` turns a plan into a pull-based [`BatchStream`]: each operator is
//! an iterator that pulls from its input's iterator. Pipeline breakers
//! (aggregate, sort, a join's build side) consume their whole input on the
//! first pull.
//!
//! Invariant: `execute` checks the plan's types (through `schema`) before it
//! returns, so an ill-typed plan fails early with [`Error::Internal`].

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::aggregate::AggregateExpr;
use crate::error::{Error, Result};
use crate::expr::PhysicalExpr;
use crate::operators::join::{self, JoinStream, hash::HashProbe, nested_loop::LoopProbe};
use crate::operators::recursive::WorkTable;
use crate::operators::set_ops::SetOpKind;
use crate::operators::window::WindowExpr;
use crate::operators::{
    filter, hash_aggregate, limit, project, recursive, scan, set_ops, sort, values, window,
};
use crate::options::ExecOptions;
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

/// How a join combines its inputs (see [`PhysicalPlan::HashJoin`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinType {
    /// Matching pairs only.
    Inner,
    /// Matching pairs, plus each left row without a match (right side NULL).
    Left,
    /// Matching pairs, plus each right row without a match (left side NULL).
    Right,
    /// Matching pairs, plus the unmatched rows of both sides.
    Full,
    /// Each left row with at least one match, once; left columns only.
    Semi,
    /// Each left row without a match (`NOT EXISTS`: a left row with a NULL
    /// key has no match and is kept); left columns only.
    Anti,
    /// Each left row, once, plus a nullable Boolean column `mark`: TRUE when
    /// it has a match, NULL when it has none but a NULL key comparison could
    /// have been one, FALSE otherwise (SQL `x IN (subquery)`).
    Mark,
    /// Semi with the sides' roles swapped: each right (build) row with at
    /// least one match, once; right columns only, in build order. The
    /// planner picks it when the rows to keep are the smaller input.
    RightSemi,
    /// Anti with the sides' roles swapped: each right (build) row without a
    /// match (a NULL key has none); right columns only, in build order.
    RightAnti,
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
    /// Joins two inputs on equal keys, building a hash table on `right`.
    ///
    /// A pair of rows matches when every left key equals its right key
    /// (NULL equals nothing) and `filter`, if any, is TRUE. Output: left
    /// columns then right columns (outer joins make the padded side
    /// nullable); Semi and Anti give left columns only, Mark left columns
    /// and `mark` (a pair whose filter is not TRUE does not count).
    HashJoin {
        /// The probe side.
        left: Box<PhysicalPlan>,
        /// The build side, read whole on the first pull.
        right: Box<PhysicalPlan>,
        /// Key pairs: an expression over `left` and one of the same type over
        /// `right`. At least one.
        on: Vec<(PhysicalExpr, PhysicalExpr)>,
        /// A residual condition over the joined row (left columns then right
        /// columns).
        filter: Option<PhysicalExpr>,
        /// Which rows come out.
        join_type: JoinType,
    },
    /// Joins every left row with every right row for which `condition` (over
    /// left columns then right columns) is TRUE; `None` is CROSS JOIN. Output
    /// as for [`HashJoin`](Self::HashJoin); Mark's `mark` is the three-valued
    /// OR of the condition over all right rows.
    NestedLoopJoin {
        /// The outer side.
        left: Box<PhysicalPlan>,
        /// The inner side, read whole on the first pull.
        right: Box<PhysicalPlan>,
        /// The join condition.
        condition: Option<PhysicalExpr>,
        /// Which rows come out.
        join_type: JoinType,
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
    /// `UNION` / `INTERSECT` / `EXCEPT` `[ALL]` of two inputs of equal
    /// column types, comparing rows with NULLs equal.
    SetOp {
        /// The left input (its names are the output's).
        left: Box<PhysicalPlan>,
        /// The right input.
        right: Box<PhysicalPlan>,
        /// Which operation.
        kind: SetOpKind,
        /// Keep duplicates (`ALL`).
        all: bool,
    },
    /// Passes at most one row through; a second one is
    /// [`Error::MoreThanOneRow`] (scalar subqueries).
    SingleRow {
        /// The input.
        input: Box<PhysicalPlan>,
        /// A tag the caller chooses, returned in the error.
        origin: u64,
    },
    /// Window functions over one PARTITION BY / ORDER BY: the input's
    /// columns, sorted by partition then order keys, plus one column per
    /// function.
    Window {
        /// The input.
        input: Box<PhysicalPlan>,
        /// Partition keys over the input.
        partition_by: Vec<PhysicalExpr>,
        /// Order within a partition.
        order_by: Vec<SortKey>,
        /// The functions, each with its frame.
        functions: Vec<WindowExpr>,
    },
    /// `WITH RECURSIVE`: `anchor`'s rows, then `step` run over the previous
    /// round (read through `work`, which a scan in `step` uses) until a round
    /// is empty; `distinct` drops rows seen before (SQL `UNION`).
    RecursiveUnion {
        /// The non-recursive term.
        anchor: Box<PhysicalPlan>,
        /// The recursive term.
        step: Box<PhysicalPlan>,
        /// The previous round's rows.
        work: Arc<WorkTable>,
        /// `UNION` rather than `UNION ALL`.
        distinct: bool,
    },
}

impl PhysicalPlan {
    /// The inputs of this operator, left (probe, anchor) first.
    pub fn children(&self) -> Vec<&PhysicalPlan> {
        match self {
            PhysicalPlan::Scan { .. } | PhysicalPlan::Values { .. } => Vec::new(),
            PhysicalPlan::Filter { input, .. }
            | PhysicalPlan::Projection { input, .. }
            | PhysicalPlan::HashAggregate { input, .. }
            | PhysicalPlan::Sort { input, .. }
            | PhysicalPlan::Limit { input, .. }
            | PhysicalPlan::SingleRow { input, .. }
            | PhysicalPlan::Window { input, .. } => vec![input],
            PhysicalPlan::HashJoin { left, right, .. }
            | PhysicalPlan::NestedLoopJoin { left, right, .. }
            | PhysicalPlan::SetOp { left, right, .. }
            | PhysicalPlan::RecursiveUnion {
                anchor: left,
                step: right,
                ..
            } => vec![left, right],
        }
    }

    /// Whether the plan has a recursive union anywhere.
    pub(crate) fn has_recursive_union(&self) -> bool {
        matches!(self, PhysicalPlan::RecursiveUnion { .. })
            || self.children().iter().any(|c| c.has_recursive_union())
    }

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
            PhysicalPlan::HashJoin {
                left,
                right,
                on,
                filter,
                join_type,
            } => {
                let (l, r) = (left.schema()?, right.schema()?);
                join::hash::check(&l, &r, on, filter.as_ref())?;
                join::schema(&l, &r, *join_type)
            }
            PhysicalPlan::NestedLoopJoin {
                left,
                right,
                condition,
                join_type,
            } => {
                let (l, r) = (left.schema()?, right.schema()?);
                join::check_condition(&join::joined_schema(&l, &r), condition.as_ref())?;
                join::schema(&l, &r, *join_type)
            }
            PhysicalPlan::SetOp { left, right, .. }
            | PhysicalPlan::RecursiveUnion {
                anchor: left,
                step: right,
                ..
            } => set_ops::schema(left.schema()?.as_ref(), right.schema()?.as_ref()),
            PhysicalPlan::SingleRow { input, .. } => input.schema(),
            PhysicalPlan::Window {
                input,
                partition_by,
                order_by,
                functions,
            } => window::schema(input.schema()?.as_ref(), partition_by, order_by, functions),
        }
    }

    /// Starts the plan and returns its output stream, on the calling
    /// thread, pull by pull (the reference the parallel engine of
    /// [`collect_with`] is tested against).
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
            PhysicalPlan::HashJoin {
                left,
                right,
                on,
                filter,
                join_type,
            } => {
                let right_schema = right.schema()?;
                let types =
                    join::hash::check(left.schema()?.as_ref(), &right_schema, on, filter.as_ref())?;
                let probe = HashProbe::try_new(on, filter.clone(), *join_type, &types)?;
                let (l, r) = (left.execute()?, right.execute()?);
                Ok(Box::new(JoinStream::new(
                    l,
                    r,
                    right_schema,
                    probe,
                    *join_type,
                    schema,
                )))
            }
            PhysicalPlan::NestedLoopJoin {
                left,
                right,
                condition,
                join_type,
            } => {
                let probe = LoopProbe::new(condition.clone());
                let (l, r) = (left.execute()?, right.execute()?);
                Ok(Box::new(JoinStream::new(
                    l,
                    r,
                    right.schema()?,
                    probe,
                    *join_type,
                    schema,
                )))
            }
            PhysicalPlan::SetOp {
                left,
                right,
                kind,
                all,
            } => Ok(set_ops::execute(
                left.execute()?,
                right.execute()?,
                *kind,
                *all,
                schema,
            )),
            PhysicalPlan::SingleRow { input, origin } => {
                Ok(set_ops::single_row(input.execute()?, *origin))
            }
            PhysicalPlan::Window {
                input,
                partition_by,
                order_by,
                functions,
            } => {
                let spec = window::Spec {
                    input_schema: input.schema()?,
                    partition_by: partition_by.clone(),
                    order_by: order_by.clone(),
                    functions: functions.clone(),
                    schema,
                };
                Ok(window::execute(input.execute()?, spec))
            }
            PhysicalPlan::RecursiveUnion {
                anchor,
                step,
                work,
                distinct,
            } => recursive::execute(
                anchor.execute()?,
                step.as_ref().clone(),
                work.clone(),
                *distinct,
                schema,
            ),
        }
    }
}

/// Runs `plan` to completion with the default [`ExecOptions`] (one worker
/// per core, no memory limit) and returns all its batches.
///
/// # Errors
///
/// As [`collect_with`].
pub fn collect(plan: &PhysicalPlan) -> Result<Vec<RecordBatch>> {
    collect_with(plan, &ExecOptions::default())
}

/// Runs `plan` to completion on worker threads, as `options` say, and
/// returns all its batches. Rows come in the order one thread gives,
/// whatever the thread count.
///
/// # Errors
///
/// [`Error::Internal`] for an ill-typed plan, [`Error::MemoryLimit`] when a
/// hash table or sort outgrows the limit, the scan source's errors, and the
/// errors in the data (overflow, bad casts, ...).
pub fn collect_with(plan: &PhysicalPlan, options: &ExecOptions) -> Result<Vec<RecordBatch>> {
    crate::parallel::collect(plan, options)
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
