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
use crate::expr::PhysicalExpr;
use crate::kernels::Tier;
use crate::operators::filter::FilterOp;
use crate::operators::join::{JoinOp, hash::HashProbe, nested_loop::LoopProbe};
use crate::operators::{hash_aggregate, sort};
use crate::options::{ExecOptions, MemoryPool};
use crate::plan::{JoinType, PhysicalPlan, make_batch};
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
        }
    }
}

/// Runs `plan` with `options` and returns its batches.
pub(crate) fn collect(plan: &PhysicalPlan, options: &ExecOptions) -> Result<Vec<RecordBatch>> {
    plan.schema()?;
    // A recursive CTE must be pulled lazily (an endless recursion under a
    // LIMIT stops only then); this engine materializes the subtrees it does
    // not know, so such plans run on the pull engine as a whole.
    // FIXME(issue 4): a plan walker instead of the Debug text.
    if format!("{plan:?}").contains("RecursiveUnion") {
        return plan.execute()?.collect();
    }
    materialize(plan, &Ctx::new(options), None)
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
    ops: Vec<Op>,
    schema: SchemaRef,
}

impl Pipeline {
    /// The schema of the batches the last operator produces.
    pub(crate) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Runs the operators on one morsel; `None` when no row is left.
    fn run(&self, mut batch: RecordBatch) -> Result<Option<RecordBatch>> {
        for op in &self.ops {
            batch = match op {
                Op::Filter(f) => f.apply(&batch)?,
                Op::Project { exprs, schema } => {
                    let columns = exprs
                        .iter()
                        .map(|e| e.evaluate(&batch))
                        .collect::<Result<Vec<_>>>()?;
                    make_batch(schema.clone(), columns, batch.num_rows())?
                }
                Op::Join(j) => j.probe(&batch)?,
            };
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
        },
        PhysicalPlan::Filter { input, predicate } => {
            let mut p = pipeline(input, ctx)?;
            let op = FilterOp::new(predicate, &p.schema, ctx.tier);
            p.ops.push(Op::Filter(op));
            p
        }
        PhysicalPlan::Projection { input, exprs } => {
            let mut p = pipeline(input, ctx)?;
            p.ops.push(Op::Project {
                exprs: exprs.iter().map(|(e, _)| e.clone()).collect(),
                schema: schema.clone(),
            });
            p
        }
        PhysicalPlan::HashJoin {
            left, join_type, ..
        }
        | PhysicalPlan::NestedLoopJoin {
            left, join_type, ..
        } if !emits_unmatched_build(*join_type) => {
            let op = join_op(plan, ctx)?;
            let mut p = pipeline(left, ctx)?;
            p.ops.push(Op::Join(op));
            p
        }
        plan => Pipeline {
            source: Source::Batches(materialize(plan, ctx, None)?),
            ops: Vec::new(),
            schema: schema.clone(),
        },
    };
    p.schema = schema;
    Ok(p)
}

fn emits_unmatched_build(join_type: JoinType) -> bool {
    matches!(join_type, JoinType::Right | JoinType::Full)
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
            JoinOp::try_new(
                Box::new(probe),
                &right_schema,
                build,
                *join_type,
                schema,
                reservation,
            )
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
    match plan {
        PhysicalPlan::HashAggregate {
            input,
            group_by,
            aggregates,
        } => {
            let p = pipeline(input, ctx)?;
            hash_aggregate::run_parallel(&p, group_by, aggregates, plan.schema()?, ctx)
        }
        PhysicalPlan::Sort { input, keys } => sort::run_parallel(&pipeline(input, ctx)?, keys, ctx),
        PhysicalPlan::Limit { input, skip, fetch } => {
            let cap = fetch.map(|f| f.saturating_add(*skip));
            let batches = materialize(input, ctx, cap)?;
            Ok(limit(batches, *skip, *fetch))
        }
        PhysicalPlan::HashJoin {
            left, join_type, ..
        }
        | PhysicalPlan::NestedLoopJoin {
            left, join_type, ..
        } if emits_unmatched_build(*join_type) => {
            let op = join_op(plan, ctx)?;
            let mut p = pipeline(left, ctx)?;
            p.ops.push(Op::Join(op));
            p.schema = plan.schema()?;
            let mut out = collect_pipeline(&p, ctx, None)?;
            if let Some(Op::Join(op)) = p.ops.last() {
                let unmatched = op.unmatched_build()?;
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
        plan => plan.execute()?.collect(),
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
    let work = || -> Result<L> {
        let result = (|| {
            let mut local = init()?;
            while !failed.load(Ordering::Relaxed) {
                let Some(morsel) = queue.next() else {
                    break;
                };
                let (seq, batch) = morsel?;
                if !push(&mut local, seq, p.run(batch)?)? {
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
