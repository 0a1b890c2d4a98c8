//! Join ordering: each cluster of inner joins in a bound plan (the comma
//! list and `JOIN ... ON` of a FROM clause, after WHERE conjuncts moved into
//! it) is rebuilt in the order that keeps intermediate results small, by
//! estimated cardinality ([`LogicalPlan::estimated_rows`]).
//!
//! The algorithm is greedy (GOO, "greedy operator ordering"): start with
//! the cluster's inputs, and repeatedly join the two connected by a join
//! predicate whose result is estimated smallest, the larger one as the probe
//! (left) side and the smaller one as the build (right) side; inputs that no
//! predicate connects are cross-joined last, smallest first. Each predicate
//! goes to the lowest join whose inputs cover it. A projection on top
//! restores the cluster's column order.
//!
//! Invariant: the rebuilt cluster computes the same rows as the original:
//! inner joins commute and associate, and every predicate is applied once,
//! above all the inputs it reads.

use hyperctl_exec::{BinaryOp, JoinType};
use hyperctl_format::SqlType;

use crate::plan::{BoundExpr, ColumnInfo, LogicalPlan};

/// Reorders the inner-join clusters of `plan`, inputs first, by estimates
/// that read what its filters keep on a sample of their tables
/// (`sample.rs`).
pub(crate) fn reorder_joins(plan: LogicalPlan) -> LogicalPlan {
    reorder(crate::sample::sample_filters(plan))
}

fn reorder(plan: LogicalPlan) -> LogicalPlan {
    match plan {
        // A whole cluster at once (its inputs are reordered inside).
        LogicalPlan::Join {
            join_type: JoinType::Inner,
            ..
        } => reorder_cluster(plan),
        other => map_inputs(other, reorder),
    }
}

/// Moves each Semi and Anti join below the inner joins, projections and
/// filters of its left input, to the input its left side reads, when that
/// input is estimated larger than the join's right side: a
/// `x IN (subquery)` on one table of a join cluster then filters that table
/// before the joins rather than their result (TPC-H Q18). An inner join
/// keeps the rows of its inputs that pair up, so filtering an input first
/// gives the same rows.
pub(crate) fn push_semi_joins(plan: LogicalPlan) -> LogicalPlan {
    match map_inputs(plan, push_semi_joins) {
        LogicalPlan::Join {
            left,
            right,
            join_type: join_type @ (JoinType::Semi | JoinType::Anti),
            on,
            filter,
            ..
        } => place_semi(
            *left,
            Semi {
                right,
                join_type,
                on,
                filter,
            },
        ),
        other => other,
    }
}

/// Semi-join reduction of grouped subqueries: when a join's right input is
/// an aggregate grouped by the join key (a decorrelated correlated
/// subquery, TPC-H Q17 and Q20), only the groups whose key the left input
/// has can join. So the aggregate's input is first cut to the rows whose
/// key occurs in the small base input the left key comes from (a table
/// with its filters, found through the left input's projections and inner
/// joins). That input is read twice, but the aggregate then sees a
/// fraction of its rows.
pub(crate) fn reduce_grouped_joins(plan: LogicalPlan) -> LogicalPlan {
    match map_inputs(plan, reduce_grouped_joins) {
        LogicalPlan::Join {
            left,
            right,
            join_type:
                join_type @ (JoinType::Inner | JoinType::Left | JoinType::Semi | JoinType::Anti),
            on,
            filter,
            columns,
        } => {
            let right = on
                .iter()
                .find_map(|(l, r)| {
                    let BoundExpr::Column { index, .. } = l else {
                        return None;
                    };
                    let (source, key) = key_source(&left, *index)?;
                    reduce_groups(&right, r, source, key)
                })
                .map_or(right, Box::new);
            LogicalPlan::Join {
                left,
                right,
                join_type,
                on,
                filter,
                columns,
            }
        }
        other => other,
    }
}

/// The base input (a table under its filters, or a semi join over one)
/// that column `column` of `plan` comes from, and the column's index there.
fn key_source(plan: &LogicalPlan, column: usize) -> Option<(&LogicalPlan, usize)> {
    match plan {
        LogicalPlan::Project { input, exprs, .. } => match exprs.get(column)? {
            BoundExpr::Column { index, .. } => key_source(input, *index),
            _ => None,
        },
        LogicalPlan::Join {
            left,
            right,
            join_type: JoinType::Inner,
            ..
        } => {
            let nl = left.columns().len();
            if column < nl {
                key_source(left, column)
            } else {
                key_source(right, column - nl)
            }
        }
        LogicalPlan::Filter { input, .. } if !base_input(input) => key_source(input, column),
        plan if base_input(plan) => Some((plan, column)),
        _ => None,
    }
}

/// A table under filters and semi joins: cheap to read a second time.
fn base_input(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Scan { .. } => true,
        LogicalPlan::Filter { input, .. } => base_input(input),
        LogicalPlan::Join {
            left,
            join_type: JoinType::Semi,
            ..
        } => base_input(left),
        _ => false,
    }
}

/// `plan` (projections and filters over an aggregate) with the aggregate's
/// input cut to the rows whose group key `key` (over `plan`) has a match in
/// column `source_key` of `source`; `None` when `key` is not a group key or
/// the cut would not pay.
fn reduce_groups(
    plan: &LogicalPlan,
    key: &BoundExpr,
    source: &LogicalPlan,
    source_key: usize,
) -> Option<LogicalPlan> {
    let BoundExpr::Column { index, .. } = key else {
        return None;
    };
    match plan {
        LogicalPlan::Project {
            input,
            exprs,
            columns,
        } => Some(LogicalPlan::Project {
            input: Box::new(reduce_groups(
                input,
                exprs.get(*index)?,
                source,
                source_key,
            )?),
            exprs: exprs.clone(),
            columns: columns.clone(),
        }),
        LogicalPlan::Filter {
            input,
            predicate,
            keeps,
        } => Some(LogicalPlan::Filter {
            input: Box::new(reduce_groups(input, key, source, source_key)?),
            predicate: predicate.clone(),
            keeps: *keeps,
        }),
        LogicalPlan::Aggregate {
            input,
            group_by,
            aggregates,
            columns,
        } => {
            let group_key = group_by.get(*index)?.clone();
            let pays = matches!(
                (source.estimated_rows(), input.estimated_rows()),
                (Some(s), Some(i)) if s.saturating_mul(10) < i
            );
            if !pays {
                return None;
            }
            let c = source.columns().get(source_key)?;
            let source_key = BoundExpr::Column {
                index: source_key,
                ty: c.ty,
                nullable: c.nullable,
            };
            let reduced = LogicalPlan::Join {
                columns: input.columns().to_vec(),
                left: input.clone(),
                right: Box::new(source.clone()),
                join_type: JoinType::Semi,
                on: vec![(group_key, source_key)],
                filter: None,
            };
            Some(LogicalPlan::Aggregate {
                input: Box::new(reduced),
                group_by: group_by.clone(),
                aggregates: aggregates.clone(),
                columns: columns.clone(),
            })
        }
        _ => None,
    }
}

/// A Semi or Anti join waiting for its left input.
struct Semi {
    right: Box<LogicalPlan>,
    join_type: JoinType,
    on: Vec<(BoundExpr, BoundExpr)>,
    /// Over the left input's columns, then the right input's.
    filter: Option<BoundExpr>,
}

impl Semi {
    /// The columns of a left input of `width` columns it reads.
    fn left_reads(&self, width: usize) -> Vec<usize> {
        let mut reads = Vec::new();
        let mut add = |c: usize| {
            if c < width && !reads.contains(&c) {
                reads.push(c);
            }
        };
        for (l, _) in &self.on {
            l.visit_columns(&mut add);
        }
        if let Some(f) = &self.filter {
            f.visit_columns(&mut add);
        }
        reads
    }

    /// The same join over a left input whose column `c` is `map(c)` of an
    /// input `new_width` wide (was `width` wide).
    fn remapped(self, width: usize, new_width: usize, map: &dyn Fn(usize) -> usize) -> Semi {
        Semi {
            on: self
                .on
                .iter()
                .map(|(l, r)| (l.map_columns(map), r.clone()))
                .collect(),
            filter: self.filter.as_ref().map(|f| {
                f.map_columns(&|c| {
                    if c < width {
                        map(c)
                    } else {
                        c - width + new_width
                    }
                })
            }),
            ..self
        }
    }

    fn over(self, left: LogicalPlan) -> LogicalPlan {
        LogicalPlan::Join {
            columns: left.columns().to_vec(),
            left: Box::new(left),
            right: self.right,
            join_type: self.join_type,
            on: self.on,
            filter: self.filter,
        }
    }
}

fn place_semi(left: LogicalPlan, semi: Semi) -> LogicalPlan {
    let width = left.columns().len();
    let reads = semi.left_reads(width);
    match left {
        LogicalPlan::Project {
            input,
            exprs,
            columns,
        } if reads
            .iter()
            .all(|&c| matches!(exprs.get(c), Some(BoundExpr::Column { .. })))
            && sinks_into(&input) =>
        {
            let inner: Vec<usize> = (0..width)
                .map(|c| match exprs.get(c) {
                    Some(BoundExpr::Column { index, .. }) => *index,
                    _ => 0,
                })
                .collect();
            let new_width = input.columns().len();
            let semi = semi.remapped(width, new_width, &|c| inner[c]);
            LogicalPlan::Project {
                input: Box::new(place_semi(*input, semi)),
                exprs,
                columns,
            }
        }
        LogicalPlan::Filter {
            input,
            predicate,
            keeps,
        } if sinks_into(&input) => LogicalPlan::Filter {
            input: Box::new(place_semi(*input, semi)),
            predicate,
            keeps,
        },
        LogicalPlan::Join {
            left: a,
            right: b,
            join_type: JoinType::Inner,
            on,
            filter,
            columns,
        } if !reads.is_empty() => {
            let na = a.columns().len();
            // Only toward an input it may shrink: one estimated larger than
            // the subquery's rows (TPC-H Q21's EXISTS over all of lineitem
            // stays above the joins that make its input small).
            let right_rows = semi.right.estimated_rows();
            let worth = |side: &LogicalPlan| matches!((right_rows, side.estimated_rows()), (Some(r), Some(s)) if r < s);
            let (a, b) = if reads.iter().all(|&c| c < na) && worth(&a) {
                let semi = semi.remapped(width, na, &|c| c);
                (Box::new(place_semi(*a, semi)), b)
            } else if reads.iter().all(|&c| c >= na) && worth(&b) {
                let nb = b.columns().len();
                let semi = semi.remapped(width, nb, &|c| c - na);
                (a, Box::new(place_semi(*b, semi)))
            } else {
                let join = LogicalPlan::Join {
                    left: a,
                    right: b,
                    join_type: JoinType::Inner,
                    on,
                    filter,
                    columns,
                };
                return semi.over(join);
            };
            LogicalPlan::Join {
                left: a,
                right: b,
                join_type: JoinType::Inner,
                on,
                filter,
                columns,
            }
        }
        other => semi.over(other),
    }
}

/// Whether a Semi join goes on below a projection or filter over `input`:
/// only toward an inner join (over a table it stays above the filter, which
/// is cheaper to run first).
fn sinks_into(input: &LogicalPlan) -> bool {
    match input {
        LogicalPlan::Join {
            join_type: JoinType::Inner,
            ..
        } => true,
        LogicalPlan::Project { input, .. } | LogicalPlan::Filter { input, .. } => sinks_into(input),
        _ => false,
    }
}

/// `plan` with `f` applied to each of its inputs.
pub(crate) fn map_inputs(plan: LogicalPlan, f: fn(LogicalPlan) -> LogicalPlan) -> LogicalPlan {
    let go = |b: Box<LogicalPlan>| Box::new(f(*b));
    match plan {
        LogicalPlan::Scan { .. }
        | LogicalPlan::Values { .. }
        | LogicalPlan::WorkScan { .. }
        | LogicalPlan::External { .. } => plan,
        LogicalPlan::Filter {
            input,
            predicate,
            keeps,
        } => LogicalPlan::Filter {
            input: go(input),
            predicate,
            keeps,
        },
        LogicalPlan::Project {
            input,
            exprs,
            columns,
        } => LogicalPlan::Project {
            input: go(input),
            exprs,
            columns,
        },
        LogicalPlan::Aggregate {
            input,
            group_by,
            aggregates,
            columns,
        } => LogicalPlan::Aggregate {
            input: go(input),
            group_by,
            aggregates,
            columns,
        },
        LogicalPlan::Sort { input, keys } => LogicalPlan::Sort {
            input: go(input),
            keys,
        },
        LogicalPlan::Limit { input, skip, fetch } => LogicalPlan::Limit {
            input: go(input),
            skip,
            fetch,
        },
        LogicalPlan::Join {
            left,
            right,
            join_type,
            on,
            filter,
            columns,
        } => LogicalPlan::Join {
            left: go(left),
            right: go(right),
            join_type,
            on,
            filter,
            columns,
        },
        LogicalPlan::SetOp {
            left,
            right,
            kind,
            all,
            columns,
        } => LogicalPlan::SetOp {
            left: go(left),
            right: go(right),
            kind,
            all,
            columns,
        },
        LogicalPlan::SingleRow { input, origin } => LogicalPlan::SingleRow {
            input: go(input),
            origin,
        },
        LogicalPlan::Window {
            input,
            partition_by,
            order_by,
            functions,
            columns,
        } => LogicalPlan::Window {
            input: go(input),
            partition_by,
            order_by,
            functions,
            columns,
        },
        LogicalPlan::RecursiveUnion {
            anchor,
            step,
            work,
            distinct,
            columns,
        } => LogicalPlan::RecursiveUnion {
            anchor: go(anchor),
            step: go(step),
            work,
            distinct,
            columns,
        },
    }
}

/// The inputs of a cluster of inner joins and its predicates, over the
/// concatenation of the inputs' columns (the cluster's output order).
struct Cluster {
    leaves: Vec<LogicalPlan>,
    predicates: Vec<BoundExpr>,
}

/// Flattens the inner joins under `plan` into `cluster`; `offset` is the
/// position of `plan`'s first column in the cluster's output.
fn flatten(plan: LogicalPlan, offset: usize, cluster: &mut Cluster) {
    match plan {
        LogicalPlan::Join {
            left,
            right,
            join_type: JoinType::Inner,
            on,
            filter,
            ..
        } => {
            let nl = left.columns().len();
            let shift = |e: &BoundExpr, by: usize| e.map_columns(&|i| i + by);
            for (l, r) in on {
                cluster.predicates.push(BoundExpr::Binary {
                    op: BinaryOp::Eq,
                    left: Box::new(shift(&l, offset)),
                    right: Box::new(shift(&r, offset + nl)),
                    ty: SqlType::Bool,
                });
            }
            if let Some(f) = filter {
                cluster.predicates.extend(shift(&f, offset).conjuncts());
            }
            flatten(*left, offset, cluster);
            flatten(*right, offset + nl, cluster);
        }
        leaf => cluster.leaves.push(leaf),
    }
}

/// A partial result of the greedy search: a plan over some leaves (in the
/// order of its columns) and its estimated rows.
struct Part {
    plan: LogicalPlan,
    leaves: Vec<usize>,
    rows: f64,
}

fn reorder_cluster(plan: LogicalPlan) -> LogicalPlan {
    let columns = plan.columns().to_vec();
    let mut cluster = Cluster {
        leaves: Vec::new(),
        predicates: Vec::new(),
    };
    flatten(plan, 0, &mut cluster);
    let Cluster { leaves, predicates } = cluster;
    let leaves: Vec<LogicalPlan> = leaves.into_iter().map(reorder).collect();
    let widths: Vec<usize> = leaves.iter().map(|l| l.columns().len()).collect();
    let starts: Vec<usize> = widths
        .iter()
        .scan(0, |acc, w| {
            let start = *acc;
            *acc += w;
            Some(start)
        })
        .collect();
    let leaf_of = |column: usize| starts.iter().rposition(|&s| s <= column).unwrap_or(0);
    // Which leaves each predicate reads.
    let reads: Vec<Vec<usize>> = predicates
        .iter()
        .map(|p| {
            let mut leaves = Vec::new();
            p.visit_columns(&mut |c| {
                let l = leaf_of(c);
                if !leaves.contains(&l) {
                    leaves.push(l);
                }
            });
            leaves
        })
        .collect();
    let mut used = vec![false; predicates.len()];
    // A predicate over one leaf (from an ON clause) filters that leaf; one
    // over none (a constant) filters the result.
    let mut leaves: Vec<LogicalPlan> = leaves;
    let mut constant = Vec::new();
    for (p, r) in reads.iter().enumerate() {
        match r.as_slice() {
            [] => constant.push(predicates[p].clone()),
            [l] => {
                let leaf = std::mem::replace(
                    &mut leaves[*l],
                    LogicalPlan::Values {
                        rows: Vec::new(),
                        columns: Vec::new(),
                    },
                );
                let start = starts[*l];
                leaves[*l] = LogicalPlan::Filter {
                    input: Box::new(leaf),
                    predicate: predicates[p].map_columns(&|c| c - start),
                    keeps: None,
                };
            }
            _ => continue,
        }
        used[p] = true;
    }
    // The distinct keys of an equality: each side has at most as many as
    // the table it reads has rows, and as its value range is wide (block
    // statistics); the join has the larger side's count, but no more than
    // the smaller table's rows (a key joins a foreign key).
    // What the filters just placed on leaves keep, measured.
    let leaves: Vec<LogicalPlan> = leaves.into_iter().map(crate::sample::measure_all).collect();
    let base: Vec<f64> = leaves.iter().map(base_rows).collect();
    let side = |e: &BoundExpr| {
        let mut rows: f64 = 1.0;
        e.visit_columns(&mut |c| rows = rows.max(base[leaf_of(c)]));
        let distinct = match e {
            BoundExpr::Column { index, .. } => {
                let l = leaf_of(*index);
                column_distinct(&leaves[l], index - starts[l]).map_or(rows, |d| d.min(rows))
            }
            _ => rows,
        };
        (rows, distinct)
    };
    let key_rows: Vec<Option<f64>> = predicates
        .iter()
        .map(|p| match p {
            BoundExpr::Binary {
                op: BinaryOp::Eq,
                left,
                right,
                ..
            } => {
                let ((lr, ld), (rr, rd)) = (side(left), side(right));
                Some(ld.max(rd).min(lr.min(rr)))
            }
            _ => None,
        })
        .collect();
    let mut parts: Vec<Part> = leaves
        .into_iter()
        .enumerate()
        .map(|(i, plan)| Part {
            rows: plan.estimated_rows().unwrap_or(1_000) as f64,
            plan,
            leaves: vec![i],
        })
        .collect();
    while parts.len() > 1 {
        // The connected pair with the smallest estimated result; none: the
        // two smallest parts, cross-joined.
        let mut best: Option<(f64, usize, usize)> = None;
        for a in 0..parts.len() {
            for b in a + 1..parts.len() {
                let connecting = connecting(&reads, &used, &parts[a].leaves, &parts[b].leaves);
                if connecting.is_empty() {
                    continue;
                }
                let est = join_estimate(&parts[a], &parts[b], &connecting, &key_rows);
                if best.is_none_or(|(e, _, _)| est < e) {
                    best = Some((est, a, b));
                }
            }
        }
        let (est, a, b) = best.unwrap_or_else(|| {
            let mut order: Vec<usize> = (0..parts.len()).collect();
            order.sort_by(|&x, &y| parts[x].rows.total_cmp(&parts[y].rows));
            let (a, b) = (order[0].min(order[1]), order[0].max(order[1]));
            (parts[a].rows * parts[b].rows, a, b)
        });
        let pb = parts.swap_remove(b);
        let pa = parts.swap_remove(a);
        // The larger input probes, the smaller one is built.
        let (probe, build) = if pa.rows >= pb.rows {
            (pa, pb)
        } else {
            (pb, pa)
        };
        let joined = join_parts(
            probe,
            build,
            &predicates,
            &reads,
            &mut used,
            &starts,
            &widths,
        );
        parts.push(Part {
            rows: est,
            ..joined
        });
    }
    let Some(top) = parts.pop() else {
        unreachable!("a join cluster has at least two leaves")
    };
    // Back to the cluster's column order.
    let position = positions(&top.leaves, &starts, &widths);
    let exprs = (0..columns.len())
        .map(|g| {
            let c = &columns[g];
            BoundExpr::Column {
                index: position[g],
                ty: c.ty,
                nullable: c.nullable,
            }
        })
        .collect();
    let plan = LogicalPlan::Project {
        input: Box::new(top.plan),
        exprs,
        columns,
    };
    match BoundExpr::and_all(constant) {
        Some(predicate) => LogicalPlan::Filter {
            input: Box::new(plan),
            predicate,
            keeps: None,
        },
        None => plan,
    }
}

/// The unused predicates that read leaves of both `a` and `b` and nothing
/// outside them.
fn connecting(reads: &[Vec<usize>], used: &[bool], a: &[usize], b: &[usize]) -> Vec<usize> {
    reads
        .iter()
        .enumerate()
        .filter(|(p, r)| {
            !used[*p]
                && r.iter().any(|l| a.contains(l))
                && r.iter().any(|l| b.contains(l))
                && r.iter().all(|l| a.contains(l) || b.contains(l))
        })
        .map(|(p, _)| p)
        .collect()
}

/// Estimated rows of joining `a` and `b` on the predicates `on`: with
/// equalities, |a| * |b| / distinct keys (`key_rows` of the most selective
/// equality); with none, a quarter of the cross product.
fn join_estimate(a: &Part, b: &Part, on: &[usize], key_rows: &[Option<f64>]) -> f64 {
    let cross = a.rows * b.rows;
    rows_over_keys(cross, on.iter().filter_map(|&p| key_rows[p])).unwrap_or(cross * 0.25)
}

/// Rows of an equi-join whose cross product has `cross` rows: `cross` over
/// the distinct values of its most selective key (the largest of `keys`),
/// at least 1; None without a key count. The join order (here) and the
/// physical planner's estimates (`plan.rs`) both use it.
pub(crate) fn rows_over_keys(cross: f64, keys: impl IntoIterator<Item = f64>) -> Option<f64> {
    let keys = keys.into_iter().reduce(f64::max)?;
    Some((cross / keys.max(1.0)).max(1.0))
}

/// At most how many distinct values `key` has when it is an output column
/// of `plan` ([`column_distinct`]); None for other expressions.
pub(crate) fn key_distinct(plan: &LogicalPlan, key: &BoundExpr) -> Option<f64> {
    match key {
        BoundExpr::Column { index, .. } => column_distinct(plan, *index),
        _ => None,
    }
}

/// At most how many distinct values output column `column` of `plan` has,
/// from the value range of the table column it comes from.
pub(crate) fn column_distinct(plan: &LogicalPlan, column: usize) -> Option<f64> {
    match plan {
        LogicalPlan::Scan {
            table, projection, ..
        } => {
            let (lo, hi) = table.int_range(*projection.get(column)?)?;
            Some((hi as f64 - lo as f64 + 1.0).max(1.0))
        }
        LogicalPlan::Filter { input, .. } => column_distinct(input, column),
        LogicalPlan::Join {
            left,
            right,
            join_type,
            ..
        } => {
            let width = left.columns().len();
            match join_type {
                _ if column < width => column_distinct(left, column),
                JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full => {
                    column_distinct(right, column - width)
                }
                _ => None,
            }
        }
        LogicalPlan::Project { input, exprs, .. } => match exprs.get(column)? {
            BoundExpr::Column { index, .. } => column_distinct(input, *index),
            _ => None,
        },
        _ => None,
    }
}

/// Rows of a plan before its filters: the size its keys come from.
fn base_rows(plan: &LogicalPlan) -> f64 {
    match plan {
        LogicalPlan::Filter { input, .. } | LogicalPlan::Project { input, .. } => base_rows(input),
        LogicalPlan::Join { left, right, .. } => base_rows(left).max(base_rows(right)),
        other => other.estimated_rows().unwrap_or(1_000) as f64,
    }
}

/// Where each column of the cluster is in a plan over `order`'s leaves.
fn positions(order: &[usize], starts: &[usize], widths: &[usize]) -> Vec<usize> {
    let total: usize = widths.iter().sum();
    let mut position = vec![0; total];
    let mut at = 0;
    for &leaf in order {
        for k in 0..widths[leaf] {
            position[starts[leaf] + k] = at + k;
        }
        at += widths[leaf];
    }
    position
}

/// Joins two parts with every unused predicate their leaves cover.
fn join_parts(
    probe: Part,
    build: Part,
    predicates: &[BoundExpr],
    reads: &[Vec<usize>],
    used: &mut [bool],
    starts: &[usize],
    widths: &[usize],
) -> Part {
    let mut leaves = probe.leaves.clone();
    leaves.extend(&build.leaves);
    let position = positions(&leaves, starts, widths);
    let mut conjuncts = Vec::new();
    for (p, r) in reads.iter().enumerate() {
        if !used[p] && r.iter().all(|l| leaves.contains(l)) {
            used[p] = true;
            conjuncts.push(predicates[p].map_columns(&|c| position[c]));
        }
    }
    let plan = crate::binder::make_join(
        probe.plan,
        build.plan,
        JoinType::Inner,
        BoundExpr::and_all(conjuncts),
    );
    Part {
        plan,
        leaves,
        rows: 0.0,
    }
}

/// Column pruning (projection push-down): each scan reads only the columns
/// some operator above it uses, and projections drop what nobody reads.
/// Output columns of `plan` itself are all kept.
pub(crate) fn prune_columns(plan: LogicalPlan) -> LogicalPlan {
    let need = vec![true; plan.columns().len()];
    prune(plan, &need).0
}

/// Marks the columns `e` reads in `need`.
fn mark(e: &BoundExpr, need: &mut [bool]) {
    e.visit_columns(&mut |c| {
        if let Some(n) = need.get_mut(c) {
            *n = true;
        }
    });
}

/// `plan` narrowed to (at least) the `need`ed output columns, and where
/// each old output column went (`None`: dropped, and no one needs it).
fn prune(plan: LogicalPlan, need: &[bool]) -> (LogicalPlan, Vec<Option<usize>>) {
    let identity = |n: usize| (0..n).map(Some).collect::<Vec<_>>();
    let remap = |e: &BoundExpr, map: &[Option<usize>]| {
        e.map_columns(&|i| map.get(i).copied().flatten().unwrap_or(i))
    };
    match plan {
        LogicalPlan::Scan {
            table,
            columns,
            projection,
        } => {
            let mut keep: Vec<usize> = (0..columns.len()).filter(|&i| need[i]).collect();
            if keep.is_empty() && !columns.is_empty() {
                keep.push(0); // the row count needs one column
            }
            let mut map = vec![None; columns.len()];
            for (new, &old) in keep.iter().enumerate() {
                map[old] = Some(new);
            }
            let plan = LogicalPlan::Scan {
                table,
                columns: keep.iter().map(|&i| columns[i].clone()).collect(),
                projection: keep.iter().map(|&i| projection[i]).collect(),
            };
            (plan, map)
        }
        // Stacked filters become one before the columns only the lower one
        // reads are dropped between them: their conjuncts share a pass, and
        // all of them reach a scan below (block skipping, row selection).
        LogicalPlan::Filter {
            input,
            predicate,
            keeps,
        } if matches!(input.as_ref(), LogicalPlan::Filter { .. }) => {
            prune(crate::plan::merge_filters(*input, predicate, keeps), need)
        }
        LogicalPlan::Filter {
            input,
            predicate,
            keeps,
        } => {
            let mut wide = need.to_vec();
            mark(&predicate, &mut wide);
            let (input, map) = prune(*input, &wide);
            let predicate = remap(&predicate, &map);
            let filter = LogicalPlan::Filter {
                input: Box::new(input),
                predicate,
                keeps,
            };
            if wide.iter().zip(need).all(|(w, n)| w == n) {
                return (filter, map);
            }
            // Columns only the predicate reads go right after it (exec's
            // filter then does not copy them; TPC-H Q13's comment).
            let kept: Vec<(usize, usize)> = (0..need.len())
                .filter(|&i| need[i])
                .filter_map(|i| map[i].map(|at| (i, at)))
                .collect();
            if kept.is_empty() {
                // No batch without columns: the filter keeps its own.
                return (filter, map);
            }
            let columns = filter.columns();
            let exprs = kept
                .iter()
                .map(|&(_, at)| crate::binder::column_ref(columns, at))
                .collect();
            let columns = kept.iter().map(|&(_, at)| columns[at].clone()).collect();
            let mut out = vec![None; map.len()];
            for (new, &(old, _)) in kept.iter().enumerate() {
                out[old] = Some(new);
            }
            let plan = LogicalPlan::Project {
                input: Box::new(filter),
                exprs,
                columns,
            };
            (plan, out)
        }
        LogicalPlan::Project {
            input,
            exprs,
            columns,
        } => {
            let mut keep: Vec<usize> = (0..exprs.len()).filter(|&i| need[i]).collect();
            if keep.is_empty() && !exprs.is_empty() {
                keep.push(0);
            }
            let mut input_need = vec![false; input.columns().len()];
            for &i in &keep {
                mark(&exprs[i], &mut input_need);
            }
            let (input, input_map) = prune(*input, &input_need);
            let mut map = vec![None; exprs.len()];
            for (new, &old) in keep.iter().enumerate() {
                map[old] = Some(new);
            }
            let plan = LogicalPlan::Project {
                input: Box::new(input),
                exprs: keep.iter().map(|&i| remap(&exprs[i], &input_map)).collect(),
                columns: keep.iter().map(|&i| columns[i].clone()).collect(),
            };
            (plan, map)
        }
        LogicalPlan::Aggregate {
            input,
            group_by,
            aggregates,
            columns,
        } => {
            let mut input_need = vec![false; input.columns().len()];
            group_by.iter().for_each(|e| mark(e, &mut input_need));
            aggregates
                .iter()
                .flat_map(crate::plan::BoundAggregate::exprs)
                .for_each(|e| mark(e, &mut input_need));
            let (input, m) = prune(*input, &input_need);
            let n = columns.len();
            let plan = LogicalPlan::Aggregate {
                input: Box::new(input),
                group_by: group_by.iter().map(|e| remap(e, &m)).collect(),
                aggregates: aggregates
                    .into_iter()
                    .map(|a| a.map_exprs(&mut |e| remap(e, &m)))
                    .collect(),
                columns,
            };
            (plan, identity(n))
        }
        LogicalPlan::Sort { input, keys } => {
            let mut need = need.to_vec();
            keys.iter().for_each(|k| mark(&k.expr, &mut need));
            let (input, map) = prune(*input, &need);
            let keys = keys
                .into_iter()
                .map(|mut k| {
                    k.expr = remap(&k.expr, &map);
                    k
                })
                .collect();
            (
                LogicalPlan::Sort {
                    input: Box::new(input),
                    keys,
                },
                map,
            )
        }
        LogicalPlan::Limit { input, skip, fetch } => {
            let (input, map) = prune(*input, need);
            (
                LogicalPlan::Limit {
                    input: Box::new(input),
                    skip,
                    fetch,
                },
                map,
            )
        }
        LogicalPlan::SingleRow { input, origin } => {
            let (input, map) = prune(*input, need);
            (
                LogicalPlan::SingleRow {
                    input: Box::new(input),
                    origin,
                },
                map,
            )
        }
        LogicalPlan::Join {
            left,
            right,
            join_type,
            on,
            filter,
            columns,
        } => {
            let (nl, nr) = (left.columns().len(), right.columns().len());
            // Over the joined row: left columns, then right columns.
            let mut joined = vec![false; nl + nr];
            match join_type {
                JoinType::Semi | JoinType::Anti | JoinType::Mark => {
                    joined[..nl].copy_from_slice(&need[..nl]);
                }
                _ => joined.copy_from_slice(&need[..nl + nr]),
            }
            if let Some(f) = &filter {
                mark(f, &mut joined);
            }
            let (mut left_need, mut right_need) = (joined[..nl].to_vec(), joined[nl..].to_vec());
            for (l, r) in &on {
                mark(l, &mut left_need);
                mark(r, &mut right_need);
            }
            let (left, lm) = prune(*left, &left_need);
            let (right, rm) = prune(*right, &right_need);
            let new_nl = left.columns().len();
            let joined_map: Vec<Option<usize>> = lm
                .iter()
                .copied()
                .chain(rm.iter().map(|m| m.map(|i| i + new_nl)))
                .collect();
            let on = on
                .iter()
                .map(|(l, r)| (remap(l, &lm), remap(r, &rm)))
                .collect();
            let filter = filter.as_ref().map(|f| remap(f, &joined_map));
            let new_columns: Vec<ColumnInfo>;
            let map: Vec<Option<usize>>;
            match join_type {
                JoinType::Semi | JoinType::Anti => {
                    new_columns = left.columns().to_vec();
                    map = lm;
                }
                JoinType::Mark => {
                    let mut c = left.columns().to_vec();
                    c.push(columns[nl].clone());
                    new_columns = c;
                    map = lm.into_iter().chain([Some(new_nl)]).collect();
                }
                _ => {
                    new_columns = (0..nl + nr)
                        .filter_map(|i| joined_map[i].map(|_| columns[i].clone()))
                        .collect();
                    map = joined_map;
                }
            }
            let plan = LogicalPlan::Join {
                left: Box::new(left),
                right: Box::new(right),
                join_type,
                on,
                filter,
                columns: new_columns,
            };
            (plan, map)
        }
        LogicalPlan::Window {
            input,
            partition_by,
            order_by,
            functions,
            columns,
        } => {
            let ni = input.columns().len();
            let mut input_need = need[..ni].to_vec();
            partition_by.iter().for_each(|e| mark(e, &mut input_need));
            order_by.iter().for_each(|k| mark(&k.expr, &mut input_need));
            functions
                .iter()
                .flat_map(|w| &w.args)
                .for_each(|e| mark(e, &mut input_need));
            let (input, im) = prune(*input, &input_need);
            let new_ni = input.columns().len();
            let map: Vec<Option<usize>> = im
                .iter()
                .copied()
                .chain((0..functions.len()).map(|k| Some(new_ni + k)))
                .collect();
            let new_columns = (0..columns.len())
                .filter_map(|i| map[i].map(|_| columns[i].clone()))
                .collect();
            let plan = LogicalPlan::Window {
                input: Box::new(input),
                partition_by: partition_by.iter().map(|e| remap(e, &im)).collect(),
                order_by: order_by
                    .into_iter()
                    .map(|mut k| {
                        k.expr = remap(&k.expr, &im);
                        k
                    })
                    .collect(),
                functions: functions
                    .into_iter()
                    .map(|mut w| {
                        w.args = w.args.iter().map(|e| remap(e, &im)).collect();
                        w
                    })
                    .collect(),
                columns: new_columns,
            };
            (plan, map)
        }
        // Set operations compare whole rows, and a recursive union's work
        // table has the union's columns: their inputs keep every column.
        other @ (LogicalPlan::SetOp { .. }
        | LogicalPlan::RecursiveUnion { .. }
        | LogicalPlan::Values { .. }
        | LogicalPlan::WorkScan { .. }
        | LogicalPlan::External { .. }) => {
            let n = other.columns().len();
            (map_inputs(other, prune_columns), identity(n))
        }
    }
}
