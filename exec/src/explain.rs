//! EXPLAIN and EXPLAIN ANALYZE: the physical plan as an indented tree, one
//! line per operator, and the per-operator counters a profiled run fills.
//!
//! A profiled run ([`collect_profiled`]) counts, per operator, the rows it
//! produced and the time its own work took, summed over the worker threads
//! (so on 2 threads a busy operator can show more time than the query's
//! wall clock, as DuckDB's profiler does). Inputs are not included: a
//! scan's time is reading and decoding blocks, a filter's is evaluating its
//! predicate, a hash join's is building its table plus probing, a hash
//! aggregate's is updating its per-thread tables plus merging them, a
//! sort's is buffering, sorting runs and merging them. Operators that run
//! on the pull-based engine (window, set operations, VALUES, a recursive
//! union) show their rows and the time of their whole subtree, marked
//! "incl. inputs".
//!
//! Invariant: operators are identified by their address in the plan tree,
//! which the run borrows immutably, so the ids a [`Profile`] hands out stay
//! valid for the whole run.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::error::Result;
use crate::expr::PhysicalExpr;
use crate::functions::ScalarFunction;
use crate::options::ExecOptions;
use crate::plan::{PhysicalPlan, SortKey};

/// Rows and time per operator of one profiled run.
#[derive(Debug)]
pub struct Profile {
    /// Plan node address -> index into `stats`.
    ids: HashMap<usize, usize>,
    stats: Vec<NodeStats>,
    wall: Duration,
}

#[derive(Debug, Default)]
struct NodeStats {
    rows: AtomicU64,
    nanos: AtomicU64,
    /// Whether `nanos` includes the inputs' time.
    inclusive: std::sync::atomic::AtomicBool,
    /// Whether the operator ran at all.
    ran: std::sync::atomic::AtomicBool,
}

/// A plan node's key in a [`Profile`].
pub(crate) fn key(plan: &PhysicalPlan) -> usize {
    std::ptr::from_ref(plan) as usize
}

impl Profile {
    pub(crate) fn new(plan: &PhysicalPlan) -> Profile {
        let mut ids = HashMap::new();
        let mut stack = vec![plan];
        while let Some(p) = stack.pop() {
            ids.insert(key(p), ids.len());
            stack.extend(p.children());
        }
        let stats = (0..ids.len()).map(|_| NodeStats::default()).collect();
        Profile {
            ids,
            stats,
            wall: Duration::ZERO,
        }
    }

    fn stats(&self, plan: &PhysicalPlan) -> Option<&NodeStats> {
        self.by_key(key(plan))
    }

    fn by_key(&self, key: usize) -> Option<&NodeStats> {
        self.ids.get(&key).map(|&i| &self.stats[i])
    }

    /// Adds `rows` produced and `time` spent to the counters of the plan
    /// node with `key`.
    pub(crate) fn add(&self, key: usize, rows: usize, time: Duration) {
        if let Some(s) = self.by_key(key) {
            s.rows.fetch_add(rows as u64, Ordering::Relaxed);
            s.nanos.fetch_add(
                time.as_nanos().min(u64::MAX as u128) as u64,
                Ordering::Relaxed,
            );
            s.ran.store(true, Ordering::Relaxed);
        }
    }

    /// Marks the node's time as including its inputs' (pull-engine subtrees).
    pub(crate) fn mark_inclusive(&self, key: usize) {
        if let Some(s) = self.by_key(key) {
            s.inclusive.store(true, Ordering::Relaxed);
        }
    }

    /// Rows `plan` produced in the run (`None`: not part of the plan).
    pub fn rows(&self, plan: &PhysicalPlan) -> Option<u64> {
        self.stats(plan).map(|s| s.rows.load(Ordering::Relaxed))
    }

    /// Wall-clock time of the whole run.
    pub fn wall_time(&self) -> Duration {
        self.wall
    }
}

/// Times `f` when profiling.
pub(crate) fn timed<T>(profile: Option<&Profile>, f: impl FnOnce() -> T) -> (T, Duration) {
    match profile {
        None => (f(), Duration::ZERO),
        Some(_) => {
            let start = Instant::now();
            let out = f();
            (out, start.elapsed())
        }
    }
}

/// Runs `plan` as [`collect_with`](crate::collect_with) does, counting rows
/// and time per operator.
///
/// # Errors
///
/// As [`collect_with`](crate::collect_with).
pub fn collect_profiled(
    plan: &PhysicalPlan,
    options: &ExecOptions,
) -> Result<(Vec<RecordBatch>, Profile)> {
    let profile = std::sync::Arc::new(Profile::new(plan));
    let start = Instant::now();
    let batches = crate::parallel::collect_profiled(plan, options, profile.clone())?;
    let wall = start.elapsed();
    // The workers are joined: this is the last handle.
    let mut profile = std::sync::Arc::try_unwrap(profile)
        .map_err(|_| crate::Error::internal("the profile of a finished run is still shared"))?;
    profile.wall = wall;
    Ok((batches, profile))
}

/// The plan as indented lines, one per operator; with `profile`, each line
/// ends with the operator's rows and time.
pub fn explain(plan: &PhysicalPlan, profile: Option<&Profile>) -> Vec<String> {
    let mut out = Vec::new();
    write_node(plan, 0, profile, &mut out);
    if let Some(p) = profile {
        out.push(format!(
            "total: {} rows, {}",
            p.rows(plan).unwrap_or(0),
            fmt_duration(p.wall)
        ));
    }
    out
}

fn write_node(plan: &PhysicalPlan, depth: usize, profile: Option<&Profile>, out: &mut Vec<String>) {
    write_node_in(plan, depth, profile, false, out);
}

/// `counted_above`: an ancestor's time includes this node's (it ran on the
/// pull engine inside it), so it has no counters of its own.
fn write_node_in(
    plan: &PhysicalPlan,
    depth: usize,
    profile: Option<&Profile>,
    counted_above: bool,
    out: &mut Vec<String>,
) {
    let mut line = format!("{}{}", "  ".repeat(depth), describe(plan));
    let stats = profile.and_then(|p| p.stats(plan));
    let inclusive = stats.is_some_and(|s| s.inclusive.load(Ordering::Relaxed));
    if let Some(s) = stats.filter(|_| !counted_above) {
        if s.ran.load(Ordering::Relaxed) {
            let time = Duration::from_nanos(s.nanos.load(Ordering::Relaxed));
            let _ = write!(
                line,
                "  (rows={} time={}{})",
                s.rows.load(Ordering::Relaxed),
                fmt_duration(time),
                if s.inclusive.load(Ordering::Relaxed) {
                    " incl. inputs"
                } else {
                    ""
                }
            );
        } else {
            line.push_str("  (never ran)");
        }
    }
    out.push(line);
    for child in plan.children() {
        write_node_in(child, depth + 1, profile, counted_above || inclusive, out);
    }
}

fn fmt_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{ms:.3}ms")
    }
}

/// One operator's line (without its inputs).
fn describe(plan: &PhysicalPlan) -> String {
    // Expressions are shown over their input's column names.
    let input_schema = |p: &PhysicalPlan| p.schema().ok();
    match plan {
        PhysicalPlan::Scan { source, projection } => {
            let schema = source.schema();
            let cols: Vec<&str> = projection
                .iter()
                .map(|&i| schema.fields().get(i).map_or("?", |f| f.name().as_str()))
                .collect();
            format!("Scan {} [{}]", source.describe(), cols.join(", "))
        }
        PhysicalPlan::Values { rows, .. } => format!("Values ({} rows)", rows.len()),
        PhysicalPlan::Filter { input, predicate } => {
            let s = input_schema(input);
            format!("Filter {}", fmt_expr(predicate, s.as_deref()))
        }
        PhysicalPlan::Projection { input, exprs } => {
            let s = input_schema(input);
            let items: Vec<String> = exprs
                .iter()
                .map(|(e, name)| named(fmt_expr(e, s.as_deref()), name))
                .collect();
            format!("Projection [{}]", items.join(", "))
        }
        PhysicalPlan::HashAggregate {
            input,
            group_by,
            aggregates,
        } => {
            let s = input_schema(input);
            let keys: Vec<String> = group_by
                .iter()
                .map(|(e, name)| named(fmt_expr(e, s.as_deref()), name))
                .collect();
            let aggs: Vec<String> = aggregates
                .iter()
                .map(|a| {
                    let func = match a.func {
                        crate::AggregateFunction::CountStar => "count".to_string(),
                        f => format!("{f:?}").to_lowercase(),
                    };
                    let arg = a
                        .arg
                        .as_ref()
                        .map_or("*".to_string(), |e| fmt_expr(e, s.as_deref()));
                    named(format!("{func}({arg})"), &a.name)
                })
                .collect();
            format!(
                "HashAggregate group by [{}] aggregates [{}]",
                keys.join(", "),
                aggs.join(", ")
            )
        }
        PhysicalPlan::Sort { input, keys } => {
            format!("Sort [{}]", fmt_keys(keys, input_schema(input).as_deref()))
        }
        PhysicalPlan::Limit { skip, fetch, .. } => match fetch {
            Some(f) => format!("Limit {f} offset {skip}"),
            None => format!("Limit all offset {skip}"),
        },
        PhysicalPlan::HashJoin {
            left,
            right,
            on,
            filter,
            join_type,
        } => {
            let (ls, rs) = (input_schema(left), input_schema(right));
            let keys: Vec<String> = on
                .iter()
                .map(|(l, r)| {
                    format!(
                        "{} = {}",
                        fmt_expr(l, ls.as_deref()),
                        fmt_expr(r, rs.as_deref())
                    )
                })
                .collect();
            let mut text = format!("HashJoin {join_type:?} on [{}]", keys.join(", "));
            if let Some(f) = filter {
                let joined = joined(ls.as_deref(), rs.as_deref());
                let _ = write!(text, " filter {}", fmt_expr(f, joined.as_ref()));
            }
            text.push_str(" (build: right)");
            text
        }
        PhysicalPlan::NestedLoopJoin {
            left,
            right,
            condition,
            join_type,
        } => {
            let joined = joined(
                input_schema(left).as_deref(),
                input_schema(right).as_deref(),
            );
            match condition {
                Some(c) => format!(
                    "NestedLoopJoin {join_type:?} on {}",
                    fmt_expr(c, joined.as_ref())
                ),
                None => format!("NestedLoopJoin {join_type:?} (cross)"),
            }
        }
        PhysicalPlan::SetOp { kind, all, .. } => {
            format!("SetOp {kind:?}{}", if *all { " all" } else { "" })
        }
        PhysicalPlan::SingleRow { .. } => "SingleRow".to_string(),
        PhysicalPlan::Window {
            input,
            partition_by,
            order_by,
            functions,
        } => {
            let s = input_schema(input);
            let parts: Vec<String> = partition_by
                .iter()
                .map(|e| fmt_expr(e, s.as_deref()))
                .collect();
            let funcs: Vec<String> = functions
                .iter()
                .map(|w| {
                    let args: Vec<String> =
                        w.args.iter().map(|e| fmt_expr(e, s.as_deref())).collect();
                    named(
                        format!("{:?}({})", w.func, args.join(", ")).to_lowercase(),
                        &w.name,
                    )
                })
                .collect();
            format!(
                "Window [{}] partition by [{}] order by [{}]",
                funcs.join(", "),
                parts.join(", "),
                fmt_keys(order_by, s.as_deref())
            )
        }
        PhysicalPlan::RecursiveUnion { distinct, .. } => {
            format!("RecursiveUnion{}", if *distinct { "" } else { " all" })
        }
    }
}

fn named(expr: String, name: &str) -> String {
    if expr == name {
        expr
    } else {
        format!("{expr} AS {name}")
    }
}

fn joined(left: Option<&Schema>, right: Option<&Schema>) -> Option<Schema> {
    let (l, r) = (left?, right?);
    Some(Schema::new(
        l.fields()
            .iter()
            .chain(r.fields())
            .cloned()
            .collect::<Vec<_>>(),
    ))
}

fn fmt_keys(keys: &[SortKey], schema: Option<&Schema>) -> String {
    keys.iter()
        .map(|k| {
            format!(
                "{} {}{}",
                fmt_expr(&k.expr, schema),
                if k.descending { "DESC" } else { "ASC" },
                match (k.descending, k.nulls_first) {
                    (false, true) => " NULLS FIRST",
                    (true, false) => " NULLS LAST",
                    _ => "",
                }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// An expression in SQL-like text, columns by name where `schema` has them.
pub(crate) fn fmt_expr(e: &PhysicalExpr, schema: Option<&Schema>) -> String {
    let go = |e: &PhysicalExpr| fmt_expr(e, schema);
    match e {
        PhysicalExpr::Column { index } => schema
            .and_then(|s| s.fields().get(*index))
            .map_or_else(|| format!("#{index}"), |f| f.name().clone()),
        PhysicalExpr::Literal { value } => {
            let options = FormatOptions::default().with_null("NULL");
            let text = ArrayFormatter::try_new(value.as_ref(), &options)
                .map(|f| f.value(0).to_string())
                .unwrap_or_else(|_| "?".to_string());
            if !value.is_null(0) && is_text(value.data_type()) {
                format!("'{}'", text.replace('\'', "''"))
            } else {
                text
            }
        }
        PhysicalExpr::Binary { op, left, right } => {
            format!("({} {} {})", go(left), op.symbol(), go(right))
        }
        PhysicalExpr::Not(e) => format!("NOT {}", go(e)),
        PhysicalExpr::Negate(e) => format!("-{}", go(e)),
        PhysicalExpr::IsNull(e) => format!("{} IS NULL", go(e)),
        PhysicalExpr::IsNotNull(e) => format!("{} IS NOT NULL", go(e)),
        PhysicalExpr::Cast { expr, to } => format!("CAST({} AS {to})", go(expr)),
        PhysicalExpr::ScalarFunction { func, args } => {
            let args: Vec<String> = args.iter().map(go).collect();
            let name = match func {
                ScalarFunction::SubqueryRowCheck { .. } => "subquery_row_check".to_string(),
                _ => format!("{func:?}").to_lowercase(),
            };
            format!("{name}({})", args.join(", "))
        }
        PhysicalExpr::Case {
            branches,
            else_expr,
        } => {
            let mut s = "CASE".to_string();
            for (w, t) in branches {
                let _ = write!(s, " WHEN {} THEN {}", go(w), go(t));
            }
            if let Some(e) = else_expr {
                let _ = write!(s, " ELSE {}", go(e));
            }
            s.push_str(" END");
            s
        }
        PhysicalExpr::InList {
            expr,
            list,
            negated,
        } => {
            let items: Vec<String> = list.iter().map(go).collect();
            format!(
                "{}{} IN ({})",
                go(expr),
                if *negated { " NOT" } else { "" },
                items.join(", ")
            )
        }
        PhysicalExpr::Like {
            expr,
            pattern,
            negated,
            case_insensitive,
            ..
        } => format!(
            "{}{} {} {}",
            go(expr),
            if *negated { " NOT" } else { "" },
            if *case_insensitive { "ILIKE" } else { "LIKE" },
            go(pattern)
        ),
    }
}

fn is_text(t: &arrow::datatypes::DataType) -> bool {
    use arrow::datatypes::DataType as D;
    matches!(
        t,
        D::Utf8 | D::LargeUtf8 | D::Utf8View | D::Date32 | D::Date64 | D::Timestamp(..)
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::aggregate::{AggregateExpr, AggregateFunction};
    use crate::expr::BinaryOp;
    use crate::source::MemorySource;

    fn plan() -> PhysicalPlan {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("v", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values((0..10_000).map(|i| i % 7))),
                Arc::new(Int64Array::from_iter_values(0..10_000)),
            ],
        )
        .unwrap();
        let source = Arc::new(MemorySource::try_new(schema, vec![batch]).unwrap());
        let scan = PhysicalPlan::Scan {
            source,
            projection: vec![0, 1],
        };
        let filter = PhysicalPlan::Filter {
            input: Box::new(scan),
            predicate: PhysicalExpr::Binary {
                op: BinaryOp::Lt,
                left: Box::new(PhysicalExpr::Column { index: 1 }),
                right: Box::new(PhysicalExpr::Literal {
                    value: Arc::new(Int64Array::from(vec![5_000])),
                }),
            },
        };
        PhysicalPlan::HashAggregate {
            input: Box::new(filter),
            group_by: vec![(PhysicalExpr::Column { index: 0 }, "k".into())],
            aggregates: vec![AggregateExpr::new(
                AggregateFunction::Sum,
                Some(PhysicalExpr::Column { index: 1 }),
                "s",
            )],
        }
    }

    #[test]
    fn explain_shows_operators_with_column_names() {
        let lines = explain(&plan(), None);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].starts_with("HashAggregate group by [k]"),
            "{lines:?}"
        );
        assert!(lines[0].contains("sum(v) AS s"), "{lines:?}");
        assert_eq!(lines[1], "  Filter (v < 5000)");
        assert!(lines[2].starts_with("    Scan "), "{lines:?}");
        assert!(lines[2].ends_with("[k, v]"), "{lines:?}");
    }

    #[test]
    fn profiled_runs_count_rows_per_operator_on_any_thread_count() {
        let plan = plan();
        for threads in [1, 2, 3] {
            let options = ExecOptions::builder()
                .threads(threads)
                .morsel_rows(1000)
                .build();
            let (batches, profile) = collect_profiled(&plan, &options).unwrap();
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            assert_eq!(rows, 7);
            let PhysicalPlan::HashAggregate { input: filter, .. } = &plan else {
                unreachable!()
            };
            let PhysicalPlan::Filter { input: scan, .. } = filter.as_ref() else {
                unreachable!()
            };
            assert_eq!(profile.rows(&plan), Some(7), "threads {threads}");
            assert_eq!(profile.rows(filter), Some(5_000), "threads {threads}");
            assert_eq!(profile.rows(scan), Some(10_000), "threads {threads}");
            let lines = explain(&plan, Some(&profile));
            assert!(lines[1].contains("(rows=5000 time="), "{lines:?}");
            assert!(
                lines.last().unwrap().starts_with("total: 7 rows"),
                "{lines:?}"
            );
        }
    }
}
