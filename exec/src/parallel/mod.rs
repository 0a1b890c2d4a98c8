//! Morsel-driven parallel execution (DESIGN.md, "Execution").
//!
//! A plan is cut into pipelines at its breakers. A pipeline is a source (a
//! scan, or the materialized output of a breaker below) and a chain of
//! streaming operators (filter, projection, the probe of a join whose build
//! side is ready), ending in a sink: collection, a hash aggregate's
//! per-thread partial tables, or a sort's per-thread runs. A fixed number
//! of worker threads pull numbered morsels from the source's queue, run
//! the chain on them and feed their own sink state; the breaker merges the
//! states.
//!
//! Invariant: results do not depend on the thread count. Collection orders
//! morsels by number, the aggregate numbers groups by their first row, the
//! sort breaks ties by input position, and so the output is what one thread
//! gives (float sums excepted: they may round differently, as in any
//! parallel engine). Join types that emit unmatched build rows at the end
//! (Right, Full) are breakers too, as are Values and operators this module
//! does not know, which run on the pull-based engine of [`PhysicalPlan::execute`].

mod queue;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::explain::{Profile, key, timed};
use crate::expr::PhysicalExpr;
use crate::kernels::Tier;
use crate::operators::filter::FilterOp;
use crate::operators::join::{JoinOp, hash::HashProbe, marks_build, nested_loop::LoopProbe};
use crate::operators::{hash_aggregate, sort};
use crate::options::{ExecOptions, MemoryPool};
use crate::plan::{PhysicalPlan, make_batch};
use crate::source::{BatchStream, ScanSource};
use queue::MorselQueue;

/// What every pipeline of one query shares.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) threads: usize,
    pub(crate) morsel_rows: usize,
    pub(crate) pool: Arc<MemoryPool>,
    pub(crate) tier: Tier,
    pub(crate) force_hash_collisions: bool,
    /// Counters of EXPLAIN ANALYZE, when it runs the query.
    pub(crate) profile: Option<Arc<Profile>>,
    /// Set by another thread to stop the query.
    cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl Ctx {
    pub(crate) fn new(options: &ExecOptions) -> Ctx {
        let tier = crate::kernels::tier();
        Ctx {
            threads: options.threads(),
            morsel_rows: options.morsel_rows(),
            pool: MemoryPool::new(options.memory_limit_bytes()),
            tier: options.tier.map_or(tier, |t| t.min(tier)),
            force_hash_collisions: options.force_hash_collisions,
            profile: None,
            cancel: options.cancel.clone(),
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }

    pub(crate) fn profile(&self) -> Option<&Profile> {
        self.profile.as_deref()
    }
}

/// Runs `plan` with `options` and returns its batches.
pub(crate) fn collect(plan: &PhysicalPlan, options: &ExecOptions) -> Result<Vec<RecordBatch>> {
    plan.schema()?;
    // A recursive CTE must be pulled lazily (an endless recursion under a
    // LIMIT stops only then); this engine materializes the subtrees it does
    // not know, so such plans run on the pull engine as a whole.
    if plan.has_recursive_union() {
        return plan.execute()?.collect();
    }
    materialize(plan, &Ctx::new(options), None)
}

/// [`collect`], counting rows and time per operator into `profile`.
pub(crate) fn collect_profiled(
    plan: &PhysicalPlan,
    options: &ExecOptions,
    profile: Arc<Profile>,
) -> Result<Vec<RecordBatch>> {
    plan.schema()?;
    let ctx = Ctx {
        profile: Some(profile),
        ..Ctx::new(options)
    };
    if plan.has_recursive_union() {
        return pull(plan, &ctx);
    }
    materialize(plan, &ctx, None)
}

/// Runs `plan` on the pull-based engine (counted as one step, inputs
/// included, when profiling).
fn pull(plan: &PhysicalPlan, ctx: &Ctx) -> Result<Vec<RecordBatch>> {
    let (out, time) = timed(ctx.profile(), || {
        plan.execute()?.collect::<Result<Vec<_>>>()
    });
    if let (Some(p), Ok(batches)) = (ctx.profile(), &out) {
        p.add(key(plan), rows(batches), time);
        p.mark_inclusive(key(plan));
    }
    out
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// Where a pipeline's morsels come from.
enum Source {
    Scan {
        source: Arc<dyn ScanSource>,
        projection: Vec<usize>,
        schema: SchemaRef,
    },
    Batches(Vec<RecordBatch>),
}

/// A streaming operator of a pipeline.
enum Op {
    Filter(FilterOp),
    Project {
        exprs: Vec<PhysicalExpr>,
        schema: SchemaRef,
    },
    Join(JoinOp),
}

/// A source and the operators its morsels go through.
pub(crate) struct Pipeline {
    source: Source,
    /// Each operator with its plan node's key (for EXPLAIN ANALYZE).
    ops: Vec<(Op, usize)>,
    schema: SchemaRef,
    /// The scan's plan node key; `None` for a breaker's output, whose rows
    /// the breaker counted.
    source_key: Option<usize>,
    /// The plan node that consumes the pipeline's output (an aggregate, a
    /// sort), charged with the time of `drive`'s `push`.
    pub(crate) sink_key: Option<usize>,
}

impl Pipeline {
    /// The schema of the batches the last operator produces.
    pub(crate) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Runs the operators on one morsel; `None` when no row is left.
    fn run(
        &self,
        mut batch: RecordBatch,
        profile: Option<&Profile>,
    ) -> Result<Option<RecordBatch>> {
        for (op, node) in &self.ops {
            let (out, time) = timed(profile, || -> Result<RecordBatch> {
                Ok(match op {
                    Op::Filter(f) => f.apply(&batch)?,
                    Op::Project { exprs, schema } => {
                        let columns = exprs
                            .iter()
                            .map(|e| e.evaluate(&batch))
                            .collect::<Result<Vec<_>>>()?;
                        make_batch(schema.clone(), columns, batch.num_rows())?
                    }
                    Op::Join(j) => j.probe(&batch)?,
                })
            });
            batch = out?;
            if let Some(p) = profile {
                p.add(*node, batch.num_rows(), time);
            }
            if batch.num_rows() == 0 {
                return Ok(None);
            }
        }
        Ok((batch.num_rows() > 0).then_some(batch))
    }

    fn queue(&self, ctx: &Ctx) -> Result<MorselQueue> {
        Ok(match &self.source {
            Source::Scan {
                source,
                projection,
                schema,
            } => MorselQueue::new(
                source.scan_partitions(projection)?,
                ctx.morsel_rows,
                Some(schema.clone()),
            ),
            Source::Batches(batches) => {
                let stream: BatchStream = Box::new(batches.clone().into_iter().map(Ok));
                MorselQueue::new(vec![stream], ctx.morsel_rows, None)
            }
        })
    }
}

/// The pipeline that produces `plan`'s output, with the breakers below it
/// already run.
pub(crate) fn pipeline(plan: &PhysicalPlan, ctx: &Ctx) -> Result<Pipeline> {
    let schema = plan.schema()?;
    let mut p = match plan {
        PhysicalPlan::Scan { source, projection } => Pipeline {
            source: Source::Scan {
                source: source.clone(),
                projection: projection.clone(),
                schema: schema.clone(),
            },
            ops: Vec::new(),
            schema: schema.clone(),
            source_key: Some(key(plan)),
            sink_key: None,
        },
        PhysicalPlan::Filter { input, predicate } => {
            let mut p = pipeline(input, ctx)?;
            let op = FilterOp::new(predicate, &p.schema, ctx.tier);
            p.ops.push((Op::Filter(op), key(plan)));
            p
        }
        PhysicalPlan::Projection { input, exprs } => {
            let mut p = pipeline(input, ctx)?;
            let mut exprs: Vec<PhysicalExpr> = exprs.iter().map(|(e, _)| e.clone()).collect();
            let columns: Option<Vec<usize>> = exprs
                .iter()
                .map(|e| match e {
                    PhysicalExpr::Column { index } => Some(*index),
                    _ => None,
                })
                .collect();
            // Columns right after a filter: the filter keeps only those, and
            // does not copy the others; the projection passes them on.
            if let (Some(columns), Some((Op::Filter(f), _))) = (columns, p.ops.last_mut()) {
                exprs = (0..columns.len())
                    .map(|index| PhysicalExpr::Column { index })
                    .collect();
                f.keep_only(columns);
            }
            p.ops.push((
                Op::Project {
                    exprs,
                    schema: schema.clone(),
                },
                key(plan),
            ));
            p
        }
        PhysicalPlan::HashJoin {
            left, join_type, ..
        }
        | PhysicalPlan::NestedLoopJoin {
            left, join_type, ..
        } if !marks_build(*join_type) => {
            let op = join_op(plan, ctx)?;
            let mut p = pipeline(left, ctx)?;
            p.ops.push((Op::Join(op), key(plan)));
            p
        }
        plan => Pipeline {
            source: Source::Batches(materialize(plan, ctx, None)?),
            ops: Vec::new(),
            schema: schema.clone(),
            source_key: None,
            sink_key: None,
        },
    };
    p.schema = schema;
    Ok(p)
}

/// A join's probe operator, its build side (`right`) run and indexed.
fn join_op(plan: &PhysicalPlan, ctx: &Ctx) -> Result<JoinOp> {
    let schema = plan.schema()?;
    match plan {
        PhysicalPlan::HashJoin {
            left,
            right,
            on,
            filter,
            join_type,
        } => {
            let right_schema = right.schema()?;
            let types = crate::operators::join::hash::check(
                left.schema()?.as_ref(),
                &right_schema,
                on,
                filter.as_ref(),
            )?;
            let mut probe = HashProbe::try_new(on, filter.clone(), *join_type, &types)?;
            if ctx.force_hash_collisions {
                probe.force_hash_collisions();
            }
            let build = materialize(right, ctx, None)?;
            let reservation = ctx.pool.reserve("hash join build");
            let (op, time) = timed(ctx.profile(), || {
                JoinOp::try_new(
                    Box::new(probe),
                    &right_schema,
                    build,
                    *join_type,
                    schema,
                    reservation,
                )
            });
            if let Some(p) = ctx.profile() {
                p.add(key(plan), 0, time);
            }
            op
        }
        PhysicalPlan::NestedLoopJoin {
            right,
            condition,
            join_type,
            ..
        } => {
            let right_schema = right.schema()?;
            let build = materialize(right, ctx, None)?;
            let reservation = ctx.pool.reserve("nested-loop join build");
            let probe = LoopProbe::new(condition.clone());
            JoinOp::try_new(
                Box::new(probe),
                &right_schema,
                build,
                *join_type,
                schema,
                reservation,
            )
        }
        _ => Err(Error::internal("join_op of a plan that is not a join")),
    }
}

/// All of `plan`'s output, in order. `cap`: the caller needs only the first
/// `cap` rows (a limit), so collection may stop early.
pub(crate) fn materialize(
    plan: &PhysicalPlan,
    ctx: &Ctx,
    cap: Option<usize>,
) -> Result<Vec<RecordBatch>> {
    if ctx.cancelled() {
        return Err(Error::Cancelled);
    }
    let breaker = |batches: Vec<RecordBatch>| {
        if let Some(p) = ctx.profile() {
            p.add(key(plan), rows(&batches), std::time::Duration::ZERO);
        }
        Ok(batches)
    };
    match plan {
        PhysicalPlan::HashAggregate {
            input,
            group_by,
            aggregates,
        } => {
            let mut p = pipeline(input, ctx)?;
            p.sink_key = Some(key(plan));
            breaker(hash_aggregate::run_parallel(
                &p,
                group_by,
                aggregates,
                plan.schema()?,
                ctx,
            )?)
        }
        PhysicalPlan::Sort { input, keys } => {
            let mut p = pipeline(input, ctx)?;
            p.sink_key = Some(key(plan));
            breaker(sort::run_parallel(&p, keys, ctx)?)
        }
        PhysicalPlan::Limit { input, skip, fetch } => {
            let cap = fetch.map(|f| f.saturating_add(*skip));
            let batches = materialize(input, ctx, cap)?;
            breaker(limit(batches, *skip, *fetch))
        }
        PhysicalPlan::SingleRow { input, origin } => {
            let batches = materialize(input, ctx, Some(2))?;
            if rows(&batches) > 1 {
                return Err(Error::MoreThanOneRow { origin: *origin });
            }
            breaker(batches)
        }
        PhysicalPlan::HashJoin {
            left, join_type, ..
        }
        | PhysicalPlan::NestedLoopJoin {
            left, join_type, ..
        } if marks_build(*join_type) => {
            let op = join_op(plan, ctx)?;
            let mut p = pipeline(left, ctx)?;
            p.ops.push((Op::Join(op), key(plan)));
            p.schema = plan.schema()?;
            let mut out = collect_pipeline(&p, ctx, None)?;
            if let Some((Op::Join(op), _)) = p.ops.last() {
                let unmatched = op.build_rows_at_end()?;
                if let Some(p) = ctx.profile() {
                    p.add(key(plan), unmatched.num_rows(), std::time::Duration::ZERO);
                }
                if unmatched.num_rows() > 0 {
                    out.push(unmatched);
                }
            }
            Ok(out)
        }
        PhysicalPlan::Scan { .. }
        | PhysicalPlan::Filter { .. }
        | PhysicalPlan::Projection { .. }
        | PhysicalPlan::HashJoin { .. }
        | PhysicalPlan::NestedLoopJoin { .. } => collect_pipeline(&pipeline(plan, ctx)?, ctx, cap),
        // Values, and operators without a parallel form: the pull-based engine.
        plan => pull(plan, ctx),
    }
}

/// Skips `skip` rows, keeps `fetch`.
fn limit(batches: Vec<RecordBatch>, mut skip: usize, fetch: Option<usize>) -> Vec<RecordBatch> {
    let mut left = fetch.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for b in batches {
        if left == 0 {
            break;
        }
        let rows = b.num_rows();
        if skip >= rows {
            skip -= rows;
            continue;
        }
        let len = (rows - skip).min(left);
        out.push(b.slice(skip, len));
        left -= len;
        skip = 0;
    }
    out
}

/// Collected output of a pipeline by morsel number, and how far the
/// numbers are complete.
#[derive(Default)]
struct Collected {
    batches: std::collections::BTreeMap<u64, Option<RecordBatch>>,
    next: u64,
    prefix_rows: usize,
}

/// The pipeline's output in morsel order; with `cap`, stops once the
/// morsels up to some number are done and hold `cap` rows.
pub(crate) fn collect_pipeline(
    p: &Pipeline,
    ctx: &Ctx,
    cap: Option<usize>,
) -> Result<Vec<RecordBatch>> {
    let state = Mutex::new(Collected::default());
    drive(
        p,
        ctx,
        || Ok(()),
        |_, seq, batch| {
            let mut s = state.lock();
            s.batches.insert(seq, batch);
            let Some(cap) = cap else {
                return Ok(true);
            };
            loop {
                let next = s.next;
                let Some(rows) = s
                    .batches
                    .get(&next)
                    .map(|b| b.as_ref().map_or(0, |b| b.num_rows()))
                else {
                    break;
                };
                s.prefix_rows += rows;
                s.next += 1;
            }
            Ok(s.prefix_rows < cap)
        },
    )?;
    Ok(state.into_inner().batches.into_values().flatten().collect())
}

/// Runs pipeline `p` on `ctx.threads` workers. Each worker starts a local
/// state with `init`, and hands it each morsel's output (`None` when no row
/// is left) with the morsel's number; `push` returns `false` to stop all
/// workers. Returns the workers' states.
pub(crate) fn drive<L: Send>(
    p: &Pipeline,
    ctx: &Ctx,
    init: impl Fn() -> Result<L> + Sync,
    push: impl Fn(&mut L, u64, Option<RecordBatch>) -> Result<bool> + Sync,
) -> Result<Vec<L>> {
    let queue = p.queue(ctx)?;
    let failed = AtomicBool::new(false);
    let profile = ctx.profile();
    let work = || -> Result<L> {
        let result = (|| {
            let mut local = init()?;
            while !failed.load(Ordering::Relaxed) {
                if ctx.cancelled() {
                    return Err(Error::Cancelled);
                }
                let (morsel, time) = timed(profile, || queue.next());
                let Some(morsel) = morsel else {
                    break;
                };
                let (seq, batch) = morsel?;
                if let (Some(prof), Some(node)) = (profile, p.source_key) {
                    prof.add(node, batch.num_rows(), time);
                }
                let out = p.run(batch, profile)?;
                let (more, time) = timed(profile, || push(&mut local, seq, out));
                if let (Some(prof), Some(node)) = (profile, p.sink_key) {
                    prof.add(node, 0, time);
                }
                if !more? {
                    queue.close();
                }
            }
            Ok(local)
        })();
        if result.is_err() {
            failed.store(true, Ordering::Relaxed);
            queue.close();
        }
        result
    };
    // One morsel of batches in memory is not worth a thread.
    let small = match &p.source {
        Source::Batches(b) => b.iter().map(RecordBatch::num_rows).sum::<usize>() <= ctx.morsel_rows,
        Source::Scan { .. } => false,
    };
    if ctx.threads <= 1 || small {
        return Ok(vec![work()?]);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = (1..ctx.threads).map(|_| s.spawn(work)).collect();
        let mut results = vec![work()];
        for h in handles {
            results.push(
                h.join()
                    .unwrap_or_else(|_| Err(Error::internal("an execution worker panicked"))),
            );
        }
        // The first error in worker order; a worker stopped by another's
        // failure has no error of its own.
        results.into_iter().collect()
    })
}

/// Runs `f` on each item on up to `ctx.threads` threads; results in order.
pub(crate) fn map_parallel<T: Sync, R: Send>(
    ctx: &Ctx,
    items: &[T],
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    if ctx.threads <= 1 || items.len() <= 1 {
        return items.iter().map(f).collect();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = items.iter().map(|item| s.spawn(|| f(item))).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::internal("an execution worker panicked")))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests;
