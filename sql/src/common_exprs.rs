//! Arithmetic shared by several arguments of one aggregation, computed once:
//! TPC-H Q1 sums `l_extendedprice * (1 - l_discount)` and that times
//! `(1 + l_tax)`. A projection below the aggregate computes each shared
//! subexpression as a column, and the arguments read that column.
//!
//! Only subexpressions of arithmetic (`+ - * /`, negation, casts) over
//! columns and literals are shared, and only among the arguments of
//! aggregates without a FILTER: they are deterministic, and such an
//! argument is evaluated for every input row either way, so an error (a
//! division by zero) happens in the same cases as before. An aggregate
//! with a FILTER evaluates its argument only for the rows it keeps.
//!
//! Invariant: every argument computes the same values: a column of the
//! projection equals the expression it replaced, row by row.

use hyperctl_exec::BinaryOp;

use crate::optimize::map_inputs;
use crate::plan::{BoundExpr, ColumnInfo, LogicalPlan};

/// `plan` with each aggregation's shared argument arithmetic computed once
/// below it.
pub(crate) fn share_aggregate_arithmetic(plan: LogicalPlan) -> LogicalPlan {
    let plan = map_inputs(plan, share_aggregate_arithmetic);
    let LogicalPlan::Aggregate {
        input,
        group_by,
        aggregates,
        columns,
    } = plan
    else {
        return plan;
    };
    // An aggregate with a FILTER evaluates its argument only for the rows
    // the filter keeps: its argument is left alone.
    let unfiltered_args = || {
        aggregates
            .iter()
            .filter(|a| a.filter.is_none())
            .filter_map(|a| a.arg.as_ref())
    };
    let mut counts: Vec<(BoundExpr, usize)> = Vec::new();
    for arg in unfiltered_args() {
        count_subtrees(arg, &mut counts);
    }
    let mut shared: Vec<BoundExpr> = Vec::new();
    for arg in unfiltered_args() {
        choose(arg, &counts, &mut shared);
    }
    if shared.is_empty() {
        return LogicalPlan::Aggregate {
            input,
            group_by,
            aggregates,
            columns,
        };
    }
    let width = input.columns().len();
    let mut exprs: Vec<BoundExpr> = (0..width)
        .map(|i| crate::binder::column_ref(input.columns(), i))
        .collect();
    let mut project_columns: Vec<ColumnInfo> = input.columns().to_vec();
    for (k, e) in shared.iter().enumerate() {
        project_columns.push(ColumnInfo {
            name: format!("#shared{k}"),
            ty: e.ty(),
            nullable: e.nullable(),
            qualifier: None,
        });
        exprs.push(e.clone());
    }
    let column_of = |e: &BoundExpr| {
        shared
            .iter()
            .position(|s| s == e)
            .map(|k| BoundExpr::Column {
                index: width + k,
                ty: e.ty(),
                nullable: e.nullable(),
            })
    };
    let aggregates = aggregates
        .into_iter()
        .map(|mut a| {
            if a.filter.is_none() {
                a.arg = a.arg.map(|arg| arg.rewrite(&column_of));
            }
            a
        })
        .collect();
    LogicalPlan::Aggregate {
        input: Box::new(LogicalPlan::Project {
            input,
            exprs,
            columns: project_columns,
        }),
        group_by,
        aggregates,
        columns,
    }
}

/// Whether `e` is arithmetic over columns and literals (and not a bare
/// column or literal, which there is nothing to share of).
fn is_arithmetic(e: &BoundExpr) -> bool {
    let operand = |e: &BoundExpr| {
        matches!(e, BoundExpr::Column { .. } | BoundExpr::Literal { .. }) || is_arithmetic(e)
    };
    match e {
        BoundExpr::Binary {
            op: BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div,
            left,
            right,
            ..
        } => operand(left) && operand(right),
        BoundExpr::Negate(e) | BoundExpr::Cast { expr: e, .. } => operand(e),
        _ => false,
    }
}

/// Counts every arithmetic subtree of `e` (itself included) in `counts`.
fn count_subtrees(e: &BoundExpr, counts: &mut Vec<(BoundExpr, usize)>) {
    if !is_arithmetic(e) {
        return;
    }
    match counts.iter_mut().find(|(s, _)| s == e) {
        Some((_, n)) => *n += 1,
        None => counts.push((e.clone(), 1)),
    }
    for operand in operands(e) {
        count_subtrees(operand, counts);
    }
}

/// From the top of `e` down, the largest subtrees met at least twice (a
/// chosen subtree's own parts are not looked at), added to `shared` once.
fn choose(e: &BoundExpr, counts: &[(BoundExpr, usize)], shared: &mut Vec<BoundExpr>) {
    if !is_arithmetic(e) {
        return;
    }
    if counts.iter().any(|(s, n)| s == e && *n >= 2) {
        if !shared.contains(e) {
            shared.push(e.clone());
        }
        return;
    }
    for operand in operands(e) {
        choose(operand, counts, shared);
    }
}

/// The operands of an arithmetic node (none for others).
fn operands(e: &BoundExpr) -> Vec<&BoundExpr> {
    match e {
        BoundExpr::Binary { left, right, .. } => vec![left, right],
        BoundExpr::Negate(inner) | BoundExpr::Cast { expr: inner, .. } => vec![inner],
        _ => Vec::new(),
    }
}
