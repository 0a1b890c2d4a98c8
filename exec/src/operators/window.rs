//! Window functions over one window specification (PARTITION BY, ORDER BY):
//! ranking (`row_number`, `rank`, `dense_rank`, `percent_rank`,
//! `cume_dist`, `ntile`), offsets (`lag`, `lead`), frame values
//! (`first_value`, `last_value`, `nth_value`) and aggregates over frames.
//!
//! The operator reads its whole input, sorts it by partition keys then order
//! keys (stable, through Arrow's row format), and appends one column per
//! function. Rows come out in that sorted order.
//!
//! Frames follow PostgreSQL: `ROWS` counts rows, `RANGE` works on peer
//! groups (rows with equal order keys), and `RANGE` with an offset compares
//! the value of the single order key (as a double). A frame is the rows
//! between its start and end bound within the partition, less the rows its
//! `EXCLUDE` clause leaves out (the current row, its peer group, or its
//! peers but itself); it may be empty. `first_value` and `last_value` may
//! skip NULLs (`IGNORE NULLS`).
//! Aggregates over frames reuse the grouped aggregates' accumulators, fed
//! incrementally while the frame start stays put.
//!
//! Invariant: function results are computed partition by partition over the
//! sorted rows; a result never reads a row of another partition.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, UInt32Array};
use arrow::compute::SortOptions;
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, Rows, SortField};

use crate::accumulator::Accumulator;
use crate::aggregate::AggregateFunction;
use crate::binary::normalize_floats;
use crate::error::{Error, Result};
use crate::expr::PhysicalExpr;
use crate::plan::{SortKey, deferred, make_batch};
use crate::source::BatchStream;

/// Rows per output batch.
const BATCH_ROWS: usize = 8192;

/// A window function of [`WindowExpr`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WindowFunction {
    /// `row_number()`: 1, 2, ... within the partition (BIGINT).
    RowNumber,
    /// `rank()`: the row number of the first peer (BIGINT).
    Rank,
    /// `dense_rank()`: the number of the peer group (BIGINT).
    DenseRank,
    /// `percent_rank()`: `(rank - 1) / (rows - 1)`, 0 for one row.
    PercentRank,
    /// `cume_dist()`: rows up to the last peer divided by rows.
    CumeDist,
    /// `ntile(n)`: bucket 1..n, earlier buckets one row larger.
    Ntile,
    /// `lag(v [, offset [, default]])`.
    Lag,
    /// `lead(v [, offset [, default]])`.
    Lead,
    /// `first_value(v)` of the frame.
    FirstValue,
    /// `last_value(v)` of the frame.
    LastValue,
    /// `nth_value(v, n)` of the frame.
    NthValue,
    /// An aggregate over the frame.
    Aggregate(AggregateFunction),
}

/// `ROWS` or `RANGE`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameUnits {
    /// Bounds count rows.
    Rows,
    /// Bounds are peer groups or order-key distances.
    Range,
}

/// One end of a frame.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FrameBound {
    /// The partition's first row.
    UnboundedPreceding,
    /// `n PRECEDING`: rows (ROWS) or order-key distance (RANGE).
    Preceding(f64),
    /// The current row (RANGE: its first or last peer).
    CurrentRow,
    /// `n FOLLOWING`.
    Following(f64),
    /// The partition's last row.
    UnboundedFollowing,
}

/// The rows a frame leaves out: `EXCLUDE CURRENT ROW | GROUP | TIES | NO
/// OTHERS`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FrameExclusion {
    /// `NO OTHERS` (the default): none.
    #[default]
    NoOthers,
    /// The current row.
    CurrentRow,
    /// The current row and its peers.
    Group,
    /// The current row's peers, but not the row itself.
    Ties,
}

/// A window frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowFrame {
    /// ROWS or RANGE.
    pub units: FrameUnits,
    /// The first row.
    pub start: FrameBound,
    /// The last row.
    pub end: FrameBound,
    /// The rows left out.
    pub exclude: FrameExclusion,
}

impl Default for WindowFrame {
    /// `RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`, SQL's default.
    fn default() -> Self {
        WindowFrame {
            units: FrameUnits::Range,
            start: FrameBound::UnboundedPreceding,
            end: FrameBound::CurrentRow,
            exclude: FrameExclusion::NoOthers,
        }
    }
}

/// One function of a [`PhysicalPlan::Window`](crate::PhysicalPlan::Window).
#[derive(Debug, Clone)]
pub struct WindowExpr {
    /// The function.
    pub func: WindowFunction,
    /// Its arguments over the window's input (none for ranking functions
    /// and `count(*)`).
    pub args: Vec<PhysicalExpr>,
    /// The frame (read by frame-value functions and aggregates).
    pub frame: WindowFrame,
    /// `IGNORE NULLS` (`first_value` and `last_value` only): the first or
    /// last non-NULL value of the frame.
    pub ignore_nulls: bool,
    /// The output column name.
    pub name: String,
}

impl WindowExpr {
    /// The result type over `input`.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] for missing or ill-typed arguments.
    pub fn data_type(&self, input: &Schema) -> Result<DataType> {
        let arg = |i: usize| -> Result<DataType> {
            self.args
                .get(i)
                .ok_or_else(|| Error::internal(format!("{:?} without argument {i}", self.func)))?
                .data_type(input)
        };
        Ok(match self.func {
            WindowFunction::RowNumber | WindowFunction::Rank | WindowFunction::DenseRank => {
                DataType::Int64
            }
            WindowFunction::Ntile => DataType::Int32,
            WindowFunction::PercentRank | WindowFunction::CumeDist => DataType::Float64,
            WindowFunction::Lag
            | WindowFunction::Lead
            | WindowFunction::FirstValue
            | WindowFunction::LastValue
            | WindowFunction::NthValue => arg(0)?,
            WindowFunction::Aggregate(f) => {
                let t = self.args.first().map(|a| a.data_type(input)).transpose()?;
                f.return_type(t.as_ref())?
            }
        })
    }
}

/// The output schema: input fields, then one nullable field per function.
pub(crate) fn schema(
    input: &Schema,
    partition_by: &[PhysicalExpr],
    order_by: &[SortKey],
    functions: &[WindowExpr],
) -> Result<SchemaRef> {
    for p in partition_by {
        p.data_type(input)?;
    }
    for o in order_by {
        o.expr.data_type(input)?;
    }
    let mut fields: Vec<Arc<Field>> = input.fields().iter().cloned().collect();
    for f in functions {
        let t = f.data_type(input)?;
        let nullable = !matches!(
            f.func,
            WindowFunction::RowNumber
                | WindowFunction::Rank
                | WindowFunction::DenseRank
                | WindowFunction::PercentRank
                | WindowFunction::CumeDist
                | WindowFunction::Aggregate(
                    AggregateFunction::Count | AggregateFunction::CountStar
                )
        );
        fields.push(Arc::new(Field::new(&f.name, t, nullable)));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// What the window operator needs besides its input.
#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) input_schema: SchemaRef,
    pub(crate) partition_by: Vec<PhysicalExpr>,
    pub(crate) order_by: Vec<SortKey>,
    pub(crate) functions: Vec<WindowExpr>,
    pub(crate) schema: SchemaRef,
}

pub(crate) fn execute(input: BatchStream, spec: Spec) -> BatchStream {
    deferred(move || {
        let batches = input.collect::<Result<Vec<_>>>()?;
        let all = arrow::compute::concat_batches(&spec.input_schema, &batches)?;
        if all.num_rows() == 0 {
            return Ok(vec![]);
        }
        let out = run(&all, &spec)?;
        let n = out.num_rows();
        Ok((0..n)
            .step_by(BATCH_ROWS)
            .map(|start| out.slice(start, BATCH_ROWS.min(n - start)))
            .collect())
    })
}

/// The sorted rows and where their partitions and peer groups start.
struct Layout {
    sorted: RecordBatch,
    /// `(start, end)` of each partition.
    partitions: Vec<(usize, usize)>,
    /// Per row: `(start, end)` of its peer group.
    peers: Vec<(usize, usize)>,
    /// The single order key as doubles (RANGE with an offset), and whether
    /// it sorts descending.
    range_key: Option<(Vec<Option<f64>>, bool)>,
}

fn run(all: &RecordBatch, spec: &Spec) -> Result<RecordBatch> {
    let layout = lay_out(all, spec)?;
    let mut columns = layout.sorted.columns().to_vec();
    for f in &spec.functions {
        columns.push(compute(f, &layout)?);
    }
    make_batch(spec.schema.clone(), columns, layout.sorted.num_rows())
}

fn to_u32(i: usize) -> Result<u32> {
    u32::try_from(i).map_err(|_| Error::internal("window input over 2^32 rows"))
}

fn encode(columns: &[ArrayRef], options: &[SortOptions]) -> Result<Option<Rows>> {
    if columns.is_empty() {
        return Ok(None);
    }
    let fields = columns
        .iter()
        .zip(options)
        .map(|(c, o)| SortField::new_with_options(c.data_type().clone(), *o))
        .collect();
    Ok(Some(RowConverter::new(fields)?.convert_columns(columns)?))
}

fn lay_out(all: &RecordBatch, spec: &Spec) -> Result<Layout> {
    let n = all.num_rows();
    let mut keys = Vec::new();
    let mut options = Vec::new();
    for p in &spec.partition_by {
        keys.push(normalize_floats(&p.evaluate(all)?));
        options.push(SortOptions::default());
    }
    let np = keys.len();
    for o in &spec.order_by {
        keys.push(normalize_floats(&o.expr.evaluate(all)?));
        options.push(SortOptions {
            descending: o.descending,
            nulls_first: o.nulls_first,
        });
    }
    let rows = encode(&keys, &options)?;
    let mut indices: Vec<u32> = (0..to_u32(n)?).collect();
    if let Some(rows) = &rows {
        indices.sort_by(|&a, &b| rows.row(a as usize).cmp(&rows.row(b as usize)));
    }
    let indices = UInt32Array::from(indices);
    let sorted = arrow::compute::take_record_batch(all, &indices)?;
    let keys = keys
        .iter()
        .map(|k| arrow::compute::take(k.as_ref(), &indices, None))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let part_rows = encode(&keys[..np], &options[..np])?;
    let all_rows = encode(&keys, &options)?;
    let boundaries = |rows: &Option<Rows>| -> Vec<usize> {
        let mut starts = vec![0];
        if let Some(rows) = rows {
            starts.extend((1..n).filter(|&i| rows.row(i) != rows.row(i - 1)));
        }
        starts.push(n);
        starts
    };
    let part_starts = boundaries(&part_rows);
    let partitions: Vec<(usize, usize)> = part_starts.windows(2).map(|w| (w[0], w[1])).collect();
    let mut peer_starts = boundaries(&all_rows);
    // Partitions also end peer groups (they already do when there is an
    // ORDER BY; without one, every partition is one peer group).
    peer_starts.extend(part_starts.iter().copied());
    peer_starts.sort_unstable();
    peer_starts.dedup();
    let mut peers = vec![(0, 0); n];
    for w in peer_starts.windows(2) {
        for p in &mut peers[w[0]..w[1]] {
            *p = (w[0], w[1]);
        }
    }
    let range_key = match (spec.order_by.as_slice(), keys.get(np)) {
        ([o], Some(k)) if k.data_type().is_numeric() => {
            let doubles = crate::cast::cast(k, &DataType::Float64)?;
            let doubles = doubles
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(|| Error::internal("window order key as double"))?;
            Some((doubles.iter().collect(), o.descending))
        }
        _ => None,
    };
    Ok(Layout {
        sorted,
        partitions,
        peers,
        range_key,
    })
}

fn compute(f: &WindowExpr, layout: &Layout) -> Result<ArrayRef> {
    let batch = &layout.sorted;
    let args = f
        .args
        .iter()
        .map(|a| a.evaluate(batch))
        .collect::<Result<Vec<_>>>()?;
    match f.func {
        WindowFunction::RowNumber
        | WindowFunction::Rank
        | WindowFunction::DenseRank
        | WindowFunction::PercentRank
        | WindowFunction::CumeDist
        | WindowFunction::Ntile => ranking(f.func, &args, layout),
        WindowFunction::Lag | WindowFunction::Lead => {
            offset(f.func == WindowFunction::Lag, &args, layout)
        }
        WindowFunction::FirstValue | WindowFunction::LastValue | WindowFunction::NthValue => {
            frame_value(f, &args, layout)
        }
        WindowFunction::Aggregate(func) => aggregate(func, f, &args, layout),
    }
}

/// An integer argument per row (offsets, `ntile`'s and `nth_value`'s n).
fn int_arg(args: &[ArrayRef], i: usize, default: i64, rows: usize) -> Result<Vec<Option<i64>>> {
    match args.get(i) {
        None => Ok(vec![Some(default); rows]),
        Some(a) => {
            let a = crate::cast::cast(a, &DataType::Int64)?;
            let a = a
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| Error::internal("integer window argument"))?;
            Ok(a.iter().collect())
        }
    }
}

fn ranking(func: WindowFunction, args: &[ArrayRef], layout: &Layout) -> Result<ArrayRef> {
    let n = layout.sorted.num_rows();
    let buckets = if func == WindowFunction::Ntile {
        int_arg(args, 0, 1, n)?
    } else {
        Vec::new()
    };
    let mut ints: Vec<Option<i64>> = Vec::with_capacity(n);
    let mut buckets_out: Vec<Option<i32>> = Vec::new();
    let mut doubles: Vec<f64> = Vec::with_capacity(n);
    for &(ps, pe) in &layout.partitions {
        let size = pe - ps;
        let mut dense = 0i64;
        for i in ps..pe {
            let (peer_s, peer_e) = layout.peers[i];
            if peer_s == i {
                dense += 1;
            }
            let rank = (peer_s - ps + 1) as i64;
            match func {
                WindowFunction::RowNumber => ints.push(Some((i - ps + 1) as i64)),
                WindowFunction::Rank => ints.push(Some(rank)),
                WindowFunction::DenseRank => ints.push(Some(dense)),
                WindowFunction::PercentRank => doubles.push(if size <= 1 {
                    0.0
                } else {
                    (rank - 1) as f64 / (size - 1) as f64
                }),
                WindowFunction::CumeDist => doubles.push((peer_e - ps) as f64 / size as f64),
                _ => buckets_out.push(
                    ntile(buckets[ps], i - ps, size)?.map(|b| i32::try_from(b).unwrap_or(i32::MAX)),
                ),
            }
        }
    }
    Ok(match func {
        WindowFunction::PercentRank | WindowFunction::CumeDist => {
            Arc::new(Float64Array::from(doubles))
        }
        WindowFunction::Ntile => Arc::new(arrow::array::Int32Array::from(buckets_out)),
        _ => Arc::new(Int64Array::from(ints)),
    })
}

/// The bucket of row `r` (0-based) of `size` rows cut into `k` buckets.
fn ntile(k: Option<i64>, r: usize, size: usize) -> Result<Option<i64>> {
    let Some(k) = k else { return Ok(None) };
    if k <= 0 {
        return Err(Error::InvalidArgument {
            function: "ntile".into(),
            reason: "argument of ntile must be greater than zero".into(),
        });
    }
    let k = usize::try_from(k).unwrap_or(usize::MAX);
    let (q, rem) = (size / k, size % k);
    let bucket = if r < rem * (q + 1) {
        r / (q + 1)
    } else {
        rem + (r - rem * (q + 1)) / q.max(1)
    };
    Ok(Some(bucket as i64 + 1))
}

/// `lag` / `lead`: the value `offset` rows back / ahead in the partition,
/// else the default (NULL without one).
fn offset(lag: bool, args: &[ArrayRef], layout: &Layout) -> Result<ArrayRef> {
    let n = layout.sorted.num_rows();
    let values = args
        .first()
        .ok_or_else(|| Error::internal("lag/lead without argument"))?;
    let offsets = int_arg(args, 1, 1, n)?;
    let source = match args.get(2) {
        Some(d) => arrow::compute::concat(&[values.as_ref(), d.as_ref()])?,
        None => values.clone(),
    };
    let mut indices: Vec<Option<u32>> = Vec::with_capacity(n);
    for &(ps, pe) in &layout.partitions {
        for (i, off) in offsets.iter().enumerate().take(pe).skip(ps) {
            let Some(off) = *off else {
                indices.push(None);
                continue;
            };
            let target = if lag {
                (i as i64).checked_sub(off)
            } else {
                (i as i64).checked_add(off)
            };
            let inside = target.filter(|&t| t >= ps as i64 && t < pe as i64);
            indices.push(match (inside, args.len() > 2) {
                (Some(t), _) => Some(to_u32(t as usize)?),
                (None, true) => Some(to_u32(n + i)?),
                (None, false) => None,
            });
        }
    }
    Ok(arrow::compute::take(
        source.as_ref(),
        &UInt32Array::from(indices),
        None,
    )?)
}

/// The frame `[start, end)` of row `i` in partition `[ps, pe)`.
fn frame_of(
    frame: &WindowFrame,
    i: usize,
    (ps, pe): (usize, usize),
    layout: &Layout,
) -> (usize, usize) {
    let (peer_s, peer_e) = layout.peers[i];
    let rows = frame.units == FrameUnits::Rows;
    let back = |n: f64| i.saturating_sub(n as usize).max(ps);
    let start = match frame.start {
        FrameBound::UnboundedPreceding => ps,
        FrameBound::CurrentRow if rows => i,
        FrameBound::CurrentRow => peer_s,
        FrameBound::Preceding(n) if rows => back(n),
        FrameBound::Following(n) if rows => i.saturating_add(n as usize).min(pe),
        FrameBound::Preceding(n) => range_bound(layout, i, (ps, pe), -n, false),
        FrameBound::Following(n) => range_bound(layout, i, (ps, pe), n, false),
        FrameBound::UnboundedFollowing => pe,
    };
    let end = match frame.end {
        FrameBound::UnboundedPreceding => ps,
        FrameBound::CurrentRow if rows => i + 1,
        FrameBound::CurrentRow => peer_e,
        FrameBound::Preceding(n) if rows => (i + 1).saturating_sub(n as usize).max(ps),
        FrameBound::Following(n) if rows => i.saturating_add(n as usize).saturating_add(1).min(pe),
        FrameBound::Preceding(n) => range_bound(layout, i, (ps, pe), -n, true),
        FrameBound::Following(n) => range_bound(layout, i, (ps, pe), n, true),
        FrameBound::UnboundedFollowing => pe,
    };
    (start, end)
}

/// The rows of row `i`'s frame as three ascending ranges `[start, end)`
/// (empty where `end <= start`): the frame of [`frame_of`] less the rows its
/// EXCLUDE clause leaves out.
fn frame_ranges(
    frame: &WindowFrame,
    i: usize,
    part: (usize, usize),
    layout: &Layout,
) -> [(usize, usize); 3] {
    let (s, e) = frame_of(frame, i, part, layout);
    let (xs, xe) = match frame.exclude {
        FrameExclusion::NoOthers => return [(s, e), (e, e), (e, e)],
        FrameExclusion::CurrentRow => (i, i + 1),
        FrameExclusion::Group | FrameExclusion::Ties => layout.peers[i],
    };
    let own = if frame.exclude == FrameExclusion::Ties && s <= i && i < e {
        (i, i + 1)
    } else {
        (e, e)
    };
    [(s, e.min(xs)), own, (s.max(xe), e)]
}

/// The rows of `ranges` in order.
fn range_rows(ranges: &[(usize, usize); 3]) -> impl DoubleEndedIterator<Item = usize> + '_ {
    ranges.iter().flat_map(|&(s, e)| s..e.max(s))
}

/// RANGE with an offset: the first row of the partition whose key is at or
/// past (`strict`: past) the current key moved by `delta` in the sort
/// direction. A NULL current key gives its peer group's bound.
fn range_bound(
    layout: &Layout,
    i: usize,
    (ps, pe): (usize, usize),
    delta: f64,
    strict: bool,
) -> usize {
    let Some((keys, descending)) = &layout.range_key else {
        let (s, e) = layout.peers[i];
        return if strict { e } else { s };
    };
    let Some(v) = keys[i] else {
        let (s, e) = layout.peers[i];
        return if strict { e } else { s };
    };
    // Non-NULL keys sit together at one end of the partition.
    let lo = ps + keys[ps..pe].iter().take_while(|k| k.is_none()).count();
    let hi = pe
        - keys[ps..pe]
            .iter()
            .rev()
            .take_while(|k| k.is_none())
            .count();
    let target = if *descending { v - delta } else { v + delta };
    let before = |k: f64| match (*descending, strict) {
        (false, false) => k < target,
        (false, true) => k <= target,
        (true, false) => k > target,
        (true, true) => k >= target,
    };
    lo + keys[lo..hi].partition_point(|k| k.is_some_and(before))
}

fn frame_value(f: &WindowExpr, args: &[ArrayRef], layout: &Layout) -> Result<ArrayRef> {
    let n = layout.sorted.num_rows();
    let values = args
        .first()
        .ok_or_else(|| Error::internal("frame value without argument"))?;
    let nth = int_arg(args, 1, 1, n)?;
    // With IGNORE NULLS: per row, the nearest non-NULL row at or before it
    // and at or after it, so that each frame is answered in constant time.
    let (before, after) = if f.ignore_nulls {
        nearest_valid(values.as_ref())
    } else {
        (Vec::new(), Vec::new())
    };
    let mut indices: Vec<Option<u32>> = Vec::with_capacity(n);
    for &part in &layout.partitions {
        for (i, nth_i) in nth.iter().enumerate().take(part.1).skip(part.0) {
            let ranges = frame_ranges(&f.frame, i, part, layout);
            let live = ranges.iter().filter(|(s, e)| s < e);
            let pick = match f.func {
                WindowFunction::FirstValue if f.ignore_nulls => live
                    .filter_map(|&(s, e)| after[s].filter(|&j| j < e))
                    .next(),
                WindowFunction::LastValue if f.ignore_nulls => live
                    .rev()
                    .filter_map(|&(s, e)| before[e - 1].filter(|&j| j >= s))
                    .next(),
                WindowFunction::FirstValue => range_rows(&ranges).next(),
                WindowFunction::LastValue => range_rows(&ranges).next_back(),
                _ => match *nth_i {
                    None => None,
                    Some(k) if k <= 0 => {
                        return Err(Error::InvalidArgument {
                            function: "nth_value".into(),
                            reason: "argument of nth_value must be greater than zero".into(),
                        });
                    }
                    Some(k) => range_rows(&ranges).nth(k as usize - 1),
                },
            };
            indices.push(pick.map(to_u32).transpose()?);
        }
    }
    Ok(arrow::compute::take(
        values.as_ref(),
        &UInt32Array::from(indices),
        None,
    )?)
}

/// Per row: the last non-NULL row at or before it, and the first at or
/// after it.
fn nearest_valid(values: &dyn Array) -> (Vec<Option<usize>>, Vec<Option<usize>>) {
    let n = values.len();
    let mut before = Vec::with_capacity(n);
    let mut last = None;
    for i in 0..n {
        if values.is_valid(i) {
            last = Some(i);
        }
        before.push(last);
    }
    let mut after = vec![None; n];
    let mut next = None;
    for (i, slot) in after.iter_mut().enumerate().rev() {
        if values.is_valid(i) {
            next = Some(i);
        }
        *slot = next;
    }
    (before, after)
}

/// An aggregate over each row's frame. `count` is computed from prefix
/// counts; the others feed an accumulator while the frame start stays put
/// (running and whole-partition frames cost one pass), and start over when
/// it moves.
fn aggregate(
    func: AggregateFunction,
    f: &WindowExpr,
    args: &[ArrayRef],
    layout: &Layout,
) -> Result<ArrayRef> {
    let n = layout.sorted.num_rows();
    let arg = args.first();
    if matches!(
        func,
        AggregateFunction::Count | AggregateFunction::CountStar
    ) {
        let mut prefix = vec![0i64; n + 1];
        for i in 0..n {
            let counted = match (func, arg) {
                (AggregateFunction::Count, Some(a)) => a.is_valid(i),
                _ => true,
            };
            prefix[i + 1] = prefix[i] + i64::from(counted);
        }
        let mut out: Vec<i64> = Vec::with_capacity(n);
        for &part in &layout.partitions {
            for i in part.0..part.1 {
                let ranges = frame_ranges(&f.frame, i, part, layout);
                out.push(
                    ranges
                        .iter()
                        .filter(|(s, e)| e > s)
                        .map(|&(s, e)| prefix[e] - prefix[s])
                        .sum(),
                );
            }
        }
        return Ok(Arc::new(Int64Array::from(out)));
    }
    let arg_type = arg.map(|a| a.data_type().clone());
    let mut results: Vec<ArrayRef> = Vec::new();
    let mut picks: Vec<u32> = Vec::with_capacity(n);
    let empty = func.accumulator(arg_type.as_ref())?.finish(1)?;
    results.push(empty);
    if f.frame.exclude != FrameExclusion::NoOthers {
        // A frame with a hole: each row's accumulator starts over.
        for &part in &layout.partitions {
            for i in part.0..part.1 {
                let ranges = frame_ranges(&f.frame, i, part, layout);
                let mut a = func.accumulator(arg_type.as_ref())?;
                let mut any = false;
                for &(s, e) in ranges.iter().filter(|(s, e)| e > s) {
                    let values = arg.map(|v| v.slice(s, e - s));
                    a.update(values.as_ref(), &vec![0; e - s], 1)?;
                    any = true;
                }
                if !any {
                    picks.push(0);
                    continue;
                }
                results.push(a.finish(1)?);
                picks.push(to_u32(results.len() - 1)?);
            }
        }
    } else {
        running(func, f, arg, layout, &mut results, &mut picks)?;
    }
    let refs: Vec<&dyn Array> = results.iter().map(|a| a.as_ref()).collect();
    let all = arrow::compute::concat(&refs)?;
    Ok(arrow::compute::take(
        all.as_ref(),
        &UInt32Array::from(picks),
        None,
    )?)
}

/// An aggregate over frames without holes: the accumulator is fed
/// incrementally while the frame start stays put.
fn running(
    func: AggregateFunction,
    f: &WindowExpr,
    arg: Option<&ArrayRef>,
    layout: &Layout,
    results: &mut Vec<ArrayRef>,
    picks: &mut Vec<u32>,
) -> Result<()> {
    let arg_type = arg.map(|a| a.data_type().clone());
    for &part in &layout.partitions {
        let mut acc: Option<(Box<dyn Accumulator>, usize, usize)> = None;
        let mut last: Option<((usize, usize), u32)> = None;
        for i in part.0..part.1 {
            let (s, e) = frame_of(&f.frame, i, part, layout);
            if e <= s {
                picks.push(0);
                continue;
            }
            if let Some((bounds, r)) = last
                && bounds == (s, e)
            {
                picks.push(r);
                continue;
            }
            let (mut a, from) = match acc.take() {
                Some((a, cs, ce)) if cs == s && ce <= e => (a, ce),
                _ => (func.accumulator(arg_type.as_ref())?, s),
            };
            if e > from {
                let values = arg.map(|v| v.slice(from, e - from));
                a.update(values.as_ref(), &vec![0; e - from], 1)?;
            }
            results.push(a.finish(1)?);
            let r = to_u32(results.len() - 1)?;
            picks.push(r);
            last = Some(((s, e), r));
            acc = Some((a, s, e));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PhysicalPlan, collect};
    use crate::test_util::{col, ints, nullable_batch, scan_of};

    fn window(frame: WindowFrame, func: WindowFunction, args: Vec<PhysicalExpr>) -> Vec<String> {
        let batch = nullable_batch([
            ("p", ints(&[Some(1), Some(1), Some(1), Some(2), Some(1)])),
            ("o", ints(&[Some(3), Some(1), Some(1), Some(5), None])),
        ])
        .unwrap();
        let plan = PhysicalPlan::Window {
            input: scan_of(vec![batch]),
            partition_by: vec![col(0)],
            order_by: vec![SortKey {
                expr: col(1),
                descending: false,
                nulls_first: false,
            }],
            functions: vec![WindowExpr {
                func,
                args,
                frame,
                ignore_nulls: false,
                name: "w".into(),
            }],
        };
        let out = collect(&plan).unwrap();
        let options = arrow::util::display::FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for b in &out {
            let f = arrow::util::display::ArrayFormatter::try_new(b.column(2).as_ref(), &options)
                .unwrap();
            for i in 0..b.num_rows() {
                rows.push(f.value(i).to_string());
            }
        }
        rows
    }

    #[test]
    fn ranking_follows_peers() {
        let f = WindowFrame::default();
        assert_eq!(
            window(f, WindowFunction::RowNumber, vec![]),
            ["1", "2", "3", "4", "1"]
        );
        assert_eq!(
            window(f, WindowFunction::Rank, vec![]),
            ["1", "1", "3", "4", "1"]
        );
        assert_eq!(
            window(f, WindowFunction::DenseRank, vec![]),
            ["1", "1", "2", "3", "1"]
        );
        assert_eq!(
            window(
                f,
                WindowFunction::Aggregate(AggregateFunction::Sum),
                vec![col(1)]
            ),
            ["2", "2", "5", "5", "5"]
        );
        let rows = WindowFrame {
            units: FrameUnits::Rows,
            start: FrameBound::Preceding(1.0),
            end: FrameBound::CurrentRow,
            exclude: FrameExclusion::NoOthers,
        };
        assert_eq!(
            window(
                rows,
                WindowFunction::Aggregate(AggregateFunction::Sum),
                vec![col(1)]
            ),
            ["1", "2", "4", "3", "5"]
        );
        assert_eq!(
            window(
                rows,
                WindowFunction::Aggregate(AggregateFunction::Count),
                vec![col(1)]
            ),
            ["1", "2", "2", "1", "1"]
        );
    }

    #[test]
    fn exclusions_leave_rows_out() {
        let whole = |exclude| WindowFrame {
            units: FrameUnits::Rows,
            start: FrameBound::UnboundedPreceding,
            end: FrameBound::UnboundedFollowing,
            exclude,
        };
        let sum = WindowFunction::Aggregate(AggregateFunction::Sum);
        // Sorted rows: partition 1 has o = 1, 1, 3, NULL; partition 2 has 5.
        let cases = [
            (FrameExclusion::NoOthers, ["5", "5", "5", "5", "5"]),
            (FrameExclusion::CurrentRow, ["4", "4", "2", "5", "NULL"]),
            (FrameExclusion::Group, ["3", "3", "2", "5", "NULL"]),
            (FrameExclusion::Ties, ["4", "4", "5", "5", "5"]),
        ];
        for (exclude, want) in cases {
            assert_eq!(
                window(whole(exclude), sum, vec![col(1)]),
                want,
                "{exclude:?}"
            );
        }
        let count = WindowFunction::Aggregate(AggregateFunction::CountStar);
        assert_eq!(
            window(whole(FrameExclusion::Group), count, vec![]),
            ["2", "2", "3", "3", "0"]
        );
        assert_eq!(
            window(
                whole(FrameExclusion::CurrentRow),
                WindowFunction::LastValue,
                vec![col(1)]
            ),
            ["NULL", "NULL", "NULL", "3", "NULL"]
        );
        assert_eq!(
            window(
                whole(FrameExclusion::Ties),
                WindowFunction::FirstValue,
                vec![col(1)]
            ),
            ["1", "1", "1", "1", "5"]
        );
    }

    #[test]
    fn ignore_nulls_skips_null_values() {
        let batch = nullable_batch([
            ("p", ints(&[Some(1), Some(1), Some(1), Some(1)])),
            ("o", ints(&[Some(1), Some(2), Some(3), Some(4)])),
            ("v", ints(&[Some(10), None, Some(30), None])),
        ])
        .unwrap();
        let plan = |func| PhysicalPlan::Window {
            input: scan_of(vec![batch.clone()]),
            partition_by: vec![col(0)],
            order_by: vec![SortKey {
                expr: col(1),
                descending: false,
                nulls_first: false,
            }],
            functions: vec![WindowExpr {
                func,
                args: vec![col(2)],
                frame: WindowFrame::default(),
                ignore_nulls: true,
                name: "w".into(),
            }],
        };
        let last = collect(&plan(WindowFunction::LastValue)).unwrap();
        let got: Vec<Option<i64>> = last[0]
            .column(3)
            .as_primitive::<Int64Type>()
            .iter()
            .collect();
        assert_eq!(got, [Some(10), Some(10), Some(30), Some(30)]);
        let first = collect(&plan(WindowFunction::FirstValue)).unwrap();
        let got: Vec<Option<i64>> = first[0]
            .column(3)
            .as_primitive::<Int64Type>()
            .iter()
            .collect();
        assert_eq!(got, [Some(10), Some(10), Some(10), Some(10)]);
    }

    #[test]
    fn ntile_cuts_larger_buckets_first() {
        let got: Vec<Option<i64>> = (0..7).map(|r| ntile(Some(3), r, 7).unwrap()).collect();
        assert_eq!(got, [1, 1, 1, 2, 2, 3, 3].map(Some));
        assert_eq!(ntile(Some(10), 2, 3).unwrap(), Some(3));
        assert!(ntile(Some(0), 0, 3).is_err());
    }
}
