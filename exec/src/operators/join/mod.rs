//! Joins: the hash join (equi-keys plus an optional residual filter) and the
//! nested-loop join (any condition, or none for CROSS JOIN).
//!
//! Both materialize the right input (the build side) on the first pull, then
//! stream the left input (the probe side) batch by batch. A "probe" turns a
//! left batch into candidate pairs (left row, right row) with a three-valued
//! verdict each; this module turns the pairs into output rows for every
//! [`JoinType`], so the two joins share their output semantics exactly:
//!
//! - Inner / Left / Right / Full: a pair joins when its verdict is TRUE; outer
//!   joins add the unmatched rows of their side padded with NULLs (unmatched
//!   right rows come in one batch after the left input ends).
//! - Semi / Anti: left rows with at least one / no TRUE pair (Anti is
//!   `NOT EXISTS`: a left row with a NULL key is kept).
//! - Mark: left rows plus `mark`, the three-valued OR of their pairs'
//!   verdicts (FALSE without pairs): what `x IN (subquery)` needs.
//! - RightSemi / RightAnti: Semi / Anti with the roles swapped, so the kept
//!   side is the build side: probing only marks build rows, and the build
//!   rows with (without) a TRUE pair come in one batch after the left input
//!   ends.
//!
//! Invariant: a probe returns pairs in left-row order; pairs whose verdict is
//! FALSE may be left out.

pub(crate) mod hash;
pub(crate) mod nested_loop;
mod prefilter;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow::array::{ArrayRef, BooleanArray, UInt32Array, new_null_array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::expr::{PhysicalExpr, as_boolean, to_boolean};
use crate::options::Reservation;
use crate::plan::{JoinType, make_batch};
use crate::source::BatchStream;

/// The name of the extra column of a [`JoinType::Mark`] join.
pub(crate) const MARK_COLUMN: &str = "mark";

/// The output schema: left fields then right fields (nullable on the side an
/// outer join pads), only left fields for Semi / Anti, left fields plus a
/// nullable Boolean `mark` for Mark.
pub(crate) fn schema(left: &Schema, right: &Schema, join_type: JoinType) -> Result<SchemaRef> {
    let nullable = |f: &Arc<Field>, pad: bool| -> Arc<Field> {
        if pad {
            Arc::new(f.as_ref().clone().with_nullable(true))
        } else {
            f.clone()
        }
    };
    let (pad_left, pad_right) = match join_type {
        JoinType::Inner => (false, false),
        JoinType::Left => (false, true),
        JoinType::Right => (true, false),
        JoinType::Full => (true, true),
        JoinType::Semi | JoinType::Anti => return Ok(Arc::new(left.clone())),
        JoinType::RightSemi | JoinType::RightAnti => return Ok(Arc::new(right.clone())),
        JoinType::Mark => {
            let mut fields: Vec<Arc<Field>> = left.fields().iter().cloned().collect();
            fields.push(Arc::new(Field::new(MARK_COLUMN, DataType::Boolean, true)));
            return Ok(Arc::new(Schema::new(fields)));
        }
    };
    let fields: Vec<Arc<Field>> = left
        .fields()
        .iter()
        .map(|f| nullable(f, pad_left))
        .chain(right.fields().iter().map(|f| nullable(f, pad_right)))
        .collect();
    Ok(Arc::new(Schema::new(fields)))
}

/// The schema a filter or join condition is evaluated over: left fields then
/// right fields, as they are.
pub(crate) fn joined_schema(left: &Schema, right: &Schema) -> SchemaRef {
    let fields: Vec<Arc<Field>> = left
        .fields()
        .iter()
        .chain(right.fields().iter())
        .cloned()
        .collect();
    Arc::new(Schema::new(fields))
}

/// Checks that a condition over the joined row is a boolean.
pub(crate) fn check_condition(joined: &Schema, condition: Option<&PhysicalExpr>) -> Result<()> {
    match condition.map(|c| c.data_type(joined)).transpose()? {
        None | Some(DataType::Boolean | DataType::Null) => Ok(()),
        Some(t) => Err(Error::internal(format!("join condition of type {t}"))),
    }
}

/// Candidate pairs of one left batch, in left-row order.
#[derive(Debug, Default)]
pub(crate) struct Pairs {
    pub(crate) left: Vec<u32>,
    pub(crate) right: Vec<u32>,
    /// TRUE, FALSE or NULL (unknown) per pair.
    pub(crate) verdict: Vec<Option<bool>>,
}

/// Turns a left batch into candidate pairs against the build side.
///
/// Invariant: after `prepare`, a probe is read-only, so one probe serves
/// every worker thread.
pub(crate) trait Probe: Send + Sync + std::fmt::Debug {
    /// Called once with the whole build side before any `pairs`.
    fn prepare(&mut self, build: &RecordBatch) -> Result<()>;
    /// The candidate pairs of `left` against `build`.
    fn pairs(&self, left: &RecordBatch, build: &RecordBatch) -> Result<Pairs>;
    /// Bytes held by the probe's index, for the memory limit.
    fn memory_bytes(&self) -> usize {
        0
    }
}

/// Evaluates `condition` over the joined rows of the given pairs; NULL for
/// a NULL result.
pub(crate) fn evaluate_on_pairs(
    condition: &PhysicalExpr,
    left: &RecordBatch,
    build: &RecordBatch,
    left_rows: &[u32],
    right_rows: &[u32],
) -> Result<Vec<Option<bool>>> {
    let l = UInt32Array::from(left_rows.to_vec());
    let r = UInt32Array::from(right_rows.to_vec());
    let mut columns = take_all(left.columns(), &l)?;
    columns.extend(take_all(build.columns(), &r)?);
    let schema = joined_schema(&left.schema(), &build.schema());
    let joined = make_batch(schema, columns, left_rows.len())?;
    let value = to_boolean(&condition.evaluate(&joined)?)?;
    Ok(as_boolean(&value)?.iter().collect())
}

fn take_all(columns: &[ArrayRef], indices: &UInt32Array) -> Result<Vec<ArrayRef>> {
    columns
        .iter()
        .map(|c| Ok(arrow::compute::take(c.as_ref(), indices, None)?))
        .collect()
}

/// A row index as `u32`, the index type of the output `take`s.
pub(crate) fn row_u32(i: usize) -> Result<u32> {
    u32::try_from(i).map_err(|_| {
        Error::internal(format!(
            "a join input of more than {} rows in one batch",
            u32::MAX
        ))
    })
}

/// The join operator: builds on the first pull, then probes left batches.
pub(crate) struct JoinStream<P: Probe> {
    left: BatchStream,
    right: Option<BatchStream>,
    right_schema: SchemaRef,
    build: Option<RecordBatch>,
    probe: P,
    join_type: JoinType,
    schema: SchemaRef,
    /// Build rows that joined at least once (join types that emit build rows
    /// at the end only).
    matched: Vec<AtomicBool>,
    finished: bool,
}

impl<P: Probe> JoinStream<P> {
    pub(crate) fn new(
        left: BatchStream,
        right: BatchStream,
        right_schema: SchemaRef,
        probe: P,
        join_type: JoinType,
        schema: SchemaRef,
    ) -> Self {
        JoinStream {
            left,
            right: Some(right),
            right_schema,
            build: None,
            probe,
            join_type,
            schema,
            matched: Vec::new(),
            finished: false,
        }
    }

    /// Materializes the build side.
    fn start(&mut self) -> Result<()> {
        let Some(right) = self.right.take() else {
            return Ok(());
        };
        let batches = right.collect::<Result<Vec<_>>>()?;
        let build = arrow::compute::concat_batches(&self.right_schema, &batches)?;
        row_u32(build.num_rows())?;
        self.probe.prepare(&build)?;
        if marks_build(self.join_type) {
            self.matched = new_matched(build.num_rows());
        }
        self.build = Some(build);
        Ok(())
    }

    fn step(&mut self) -> Result<Option<RecordBatch>> {
        self.start()?;
        let Some(build) = self.build.as_ref() else {
            return Err(Error::internal("join probed before its build side"));
        };
        match self.left.next() {
            Some(batch) => {
                let batch = batch?;
                let pairs = self.probe.pairs(&batch, build)?;
                let out = emit(
                    self.join_type,
                    &self.schema,
                    &batch,
                    build,
                    &pairs,
                    &self.matched,
                )?;
                Ok(Some(out))
            }
            None => {
                self.finished = true;
                build_rows_at_end(self.join_type, &self.schema, build, &self.matched).map(Some)
            }
        }
    }
}

impl<P: Probe> Iterator for JoinStream<P> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
            match self.step() {
                Ok(Some(b)) if b.num_rows() > 0 => return Some(Ok(b)),
                Ok(_) => {}
                Err(e) => {
                    self.finished = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

/// Join types that mark the build rows that joined and emit build rows
/// after the probe side ends.
pub(crate) fn marks_build(join_type: JoinType) -> bool {
    matches!(
        join_type,
        JoinType::Right | JoinType::Full | JoinType::RightSemi | JoinType::RightAnti
    )
}

fn new_matched(rows: usize) -> Vec<AtomicBool> {
    (0..rows).map(|_| AtomicBool::new(false)).collect()
}

/// A join's probe side as a pipeline operator: the build side is indexed
/// once and shared read-only by the workers; the join types of
/// [`marks_build`] mark the build rows that joined in a shared bitmap.
#[derive(Debug)]
pub(crate) struct JoinOp {
    probe: Box<dyn Probe>,
    build: RecordBatch,
    join_type: JoinType,
    schema: SchemaRef,
    matched: Vec<AtomicBool>,
    /// Holds the build side's memory until the pipeline ends.
    _reservation: Reservation,
}

impl JoinOp {
    /// Concatenates and indexes the build side.
    ///
    /// # Errors
    ///
    /// [`Error::MemoryLimit`] when the build side does not fit.
    pub(crate) fn try_new(
        mut probe: Box<dyn Probe>,
        right_schema: &SchemaRef,
        build: Vec<RecordBatch>,
        join_type: JoinType,
        schema: SchemaRef,
        mut reservation: Reservation,
    ) -> Result<Self> {
        let input_bytes: usize = build.iter().map(RecordBatch::get_array_memory_size).sum();
        reservation.resize(input_bytes)?;
        let build = arrow::compute::concat_batches(right_schema, &build)?;
        let bytes = build.get_array_memory_size();
        reservation.resize(bytes)?;
        row_u32(build.num_rows())?;
        probe.prepare(&build)?;
        reservation.resize(bytes + probe.memory_bytes())?;
        let matched = if marks_build(join_type) {
            new_matched(build.num_rows())
        } else {
            Vec::new()
        };
        Ok(JoinOp {
            probe,
            build,
            join_type,
            schema,
            matched,
            _reservation: reservation,
        })
    }

    /// The joined rows of one probe-side morsel.
    pub(crate) fn probe(&self, left: &RecordBatch) -> Result<RecordBatch> {
        let pairs = self.probe.pairs(left, &self.build)?;
        emit(
            self.join_type,
            &self.schema,
            left,
            &self.build,
            &pairs,
            &self.matched,
        )
    }

    /// The join types of [`marks_build`], after every probe: the build rows
    /// they emit at the end.
    pub(crate) fn build_rows_at_end(&self) -> Result<RecordBatch> {
        build_rows_at_end(self.join_type, &self.schema, &self.build, &self.matched)
    }
}

/// The output rows of one left batch.
fn emit(
    join_type: JoinType,
    schema: &SchemaRef,
    left: &RecordBatch,
    build: &RecordBatch,
    pairs: &Pairs,
    matched: &[AtomicBool],
) -> Result<RecordBatch> {
    match join_type {
        JoinType::Semi | JoinType::Anti | JoinType::Mark => {
            let marks = marks(left.num_rows(), pairs);
            emit_marked(join_type, schema, left, marks)
        }
        JoinType::RightSemi | JoinType::RightAnti => {
            mark_matched(pairs, matched)?;
            Ok(RecordBatch::new_empty(schema.clone()))
        }
        _ => emit_joined(join_type, schema, left, build, pairs, matched),
    }
}

/// Marks the build rows of the pairs whose verdict is TRUE.
fn mark_matched(pairs: &Pairs, matched: &[AtomicBool]) -> Result<()> {
    for (&r, &v) in pairs.right.iter().zip(&pairs.verdict) {
        if v == Some(true) {
            matched
                .get(r as usize)
                .ok_or_else(|| Error::internal("join pair beyond the build side"))?
                .store(true, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// Per left row: the three-valued OR of its pairs' verdicts.
fn marks(rows: usize, pairs: &Pairs) -> Vec<Option<bool>> {
    let mut marks = vec![Some(false); rows];
    for (&l, &v) in pairs.left.iter().zip(&pairs.verdict) {
        let m = &mut marks[l as usize];
        *m = match (*m, v) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (None, _) | (_, None) => None,
            _ => Some(false),
        };
    }
    marks
}

fn emit_marked(
    join_type: JoinType,
    schema: &SchemaRef,
    left: &RecordBatch,
    marks: Vec<Option<bool>>,
) -> Result<RecordBatch> {
    if join_type == JoinType::Mark {
        let mut columns = left.columns().to_vec();
        columns.push(Arc::new(BooleanArray::from(marks)));
        return make_batch(schema.clone(), columns, left.num_rows());
    }
    let keep_matched = join_type == JoinType::Semi;
    let keep: BooleanArray = marks
        .iter()
        .map(|m| Some((*m == Some(true)) == keep_matched))
        .collect();
    let kept = arrow::compute::filter_record_batch(left, &keep)?;
    make_batch(schema.clone(), kept.columns().to_vec(), kept.num_rows())
}

/// Inner and outer joins: matched pairs, plus unmatched left rows for Left
/// and Full (in left-row order).
fn emit_joined(
    join_type: JoinType,
    schema: &SchemaRef,
    left: &RecordBatch,
    build: &RecordBatch,
    pairs: &Pairs,
    matched: &[AtomicBool],
) -> Result<RecordBatch> {
    let pad_left = matches!(join_type, JoinType::Left | JoinType::Full);
    let mark_right = matches!(join_type, JoinType::Right | JoinType::Full);
    let mut l_out: Vec<u32> = Vec::with_capacity(pairs.left.len());
    let mut r_out: Vec<Option<u32>> = Vec::with_capacity(pairs.left.len());
    let mut p = 0;
    for i in 0..row_u32(left.num_rows())? {
        let mut any = false;
        while p < pairs.left.len() && pairs.left[p] == i {
            if pairs.verdict[p] == Some(true) {
                l_out.push(i);
                r_out.push(Some(pairs.right[p]));
                if mark_right {
                    let m = matched
                        .get(pairs.right[p] as usize)
                        .ok_or_else(|| Error::internal("join pair beyond the build side"))?;
                    m.store(true, Ordering::Relaxed);
                }
                any = true;
            }
            p += 1;
        }
        if pad_left && !any {
            l_out.push(i);
            r_out.push(None);
        }
    }
    if p != pairs.left.len() {
        return Err(Error::internal("join pairs are not in left-row order"));
    }
    let rows = l_out.len();
    let mut columns = take_all(left.columns(), &UInt32Array::from(l_out))?;
    columns.extend(take_all(build.columns(), &UInt32Array::from(r_out))?);
    make_batch(schema.clone(), columns, rows)
}

/// After the probe side: for Right and Full, the build rows that never
/// joined, with NULL left columns; for RightAnti the same without left
/// columns; for RightSemi the build rows that joined. Other join types have
/// no `matched` rows and give an empty batch.
fn build_rows_at_end(
    join_type: JoinType,
    schema: &SchemaRef,
    build: &RecordBatch,
    matched: &[AtomicBool],
) -> Result<RecordBatch> {
    let keep_matched = join_type == JoinType::RightSemi;
    let rows: Vec<u32> = matched
        .iter()
        .enumerate()
        .filter(|(_, m)| m.load(Ordering::Relaxed) == keep_matched)
        .map(|(r, _)| r as u32)
        .collect();
    let n = rows.len();
    if n == 0 {
        return Ok(RecordBatch::new_empty(schema.clone()));
    }
    let left_width = schema
        .fields()
        .len()
        .checked_sub(build.num_columns())
        .ok_or_else(|| Error::internal("join schema narrower than its build side"))?;
    let mut columns: Vec<ArrayRef> = schema.fields()[..left_width]
        .iter()
        .map(|f| new_null_array(f.data_type(), n))
        .collect();
    columns.extend(take_all(build.columns(), &UInt32Array::from(rows))?);
    make_batch(schema.clone(), columns, n)
}

#[cfg(test)]
mod tests;
