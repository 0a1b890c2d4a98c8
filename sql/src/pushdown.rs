//! Block skipping: the range predicates a scan can check against each
//! block's min/max statistics before reading it.
//!
//! From a filter directly over a table scan, every conjunct of the form
//! `column <op> literal` (or `literal <op> column`) with `<op>` one of `=`,
//! `<`, `<=`, `>`, `>=`, and `column BETWEEN a AND b` (bound as two such
//! conjuncts), becomes a range on that column (the binder converts a
//! literal compared with a column of another type to the column's type);
//! `column IN (literals)` becomes an IN list. The filter itself stays: a
//! block that may match is returned whole, or the rows its selective
//! ranges and lists keep (storage's row selection), and filtered as before.
//!
//! Invariant: a range never excludes a row the predicate keeps: only
//! conjuncts (not OR branches) are used, NULL literals give no range, and
//! the literal must have the column's own type.

use std::ops::Bound;

use hyperctl_exec::BinaryOp;
use hyperctl_format::{ColumnRange, ColumnStats, StatValue};

use crate::plan::BoundExpr;

/// `column IN (literals)` conjuncts of `predicate` on scan columns
/// `0..columns`, each list's values as statistics values. Lists with a NULL,
/// a literal of another type, or a value the statistics keep only a prefix
/// of (a long string) give none: membership needs exact values.
pub(crate) fn scan_in_lists(predicate: &BoundExpr, columns: usize) -> Vec<(usize, Vec<StatValue>)> {
    let mut out = Vec::new();
    collect_in_lists(predicate, columns, &mut out);
    out
}

fn collect_in_lists(e: &BoundExpr, columns: usize, out: &mut Vec<(usize, Vec<StatValue>)>) {
    match e {
        BoundExpr::Binary {
            op: BinaryOp::And,
            left,
            right,
            ..
        } => {
            collect_in_lists(left, columns, out);
            collect_in_lists(right, columns, out);
        }
        BoundExpr::InList {
            expr,
            list,
            negated: false,
        } => {
            let BoundExpr::Column { index, ty, .. } = expr.as_ref() else {
                return;
            };
            if *index >= columns {
                return;
            }
            let mut values = Vec::with_capacity(list.len());
            for item in list {
                let BoundExpr::Literal { value, ty: lt, .. } = item else {
                    return;
                };
                if lt != ty || value.len() != 1 || value.null_count() != 0 {
                    return;
                }
                let Ok(stats) = ColumnStats::of(ty, value.as_ref()) else {
                    return;
                };
                match (stats.min, stats.max) {
                    (Some(min), Some(max)) if min == max => values.push(min),
                    _ => return,
                }
            }
            out.push((*index, values));
        }
        _ => {}
    }
}

/// Ranges on scan columns `0..columns` implied by `predicate`.
pub(crate) fn scan_ranges(predicate: &BoundExpr, columns: usize) -> Vec<(usize, ColumnRange)> {
    let mut out = Vec::new();
    collect(predicate, columns, &mut out);
    out
}

fn collect(e: &BoundExpr, columns: usize, out: &mut Vec<(usize, ColumnRange)>) {
    let BoundExpr::Binary {
        op, left, right, ..
    } = e
    else {
        return;
    };
    if *op == BinaryOp::And {
        collect(left, columns, out);
        collect(right, columns, out);
        return;
    }
    let (column, literal, op) = match (left.as_ref(), right.as_ref()) {
        (BoundExpr::Column { index, ty, .. }, BoundExpr::Literal { value, ty: lt, .. })
            if ty == lt =>
        {
            ((*index, *ty), value, *op)
        }
        (BoundExpr::Literal { value, ty: lt, .. }, BoundExpr::Column { index, ty, .. })
            if ty == lt =>
        {
            let flipped = match op {
                BinaryOp::Lt => BinaryOp::Gt,
                BinaryOp::LtEq => BinaryOp::GtEq,
                BinaryOp::Gt => BinaryOp::Lt,
                BinaryOp::GtEq => BinaryOp::LtEq,
                other => *other,
            };
            ((*index, *ty), value, flipped)
        }
        _ => return,
    };
    let (index, ty) = column;
    if index >= columns || literal.len() != 1 || literal.null_count() != 0 {
        return;
    }
    // The statistics of a one-row column: min and max bound the value
    // (a long string's min is a prefix below it, its max a bound above).
    let Ok(stats) = ColumnStats::of(&ty, literal.as_ref()) else {
        return;
    };
    let (Some(min), Some(max)) = (stats.min, stats.max) else {
        return;
    };
    let range = match op {
        BinaryOp::Eq => ColumnRange::new(Bound::Included(min), Bound::Included(max)),
        // min <= literal <= max, equal for all but long strings: each bound
        // is taken on the side that keeps the range at least as wide.
        BinaryOp::Lt => ColumnRange::new(Bound::Unbounded, Bound::Excluded(max)),
        BinaryOp::LtEq => ColumnRange::new(Bound::Unbounded, Bound::Included(max)),
        BinaryOp::Gt => ColumnRange::new(Bound::Excluded(min), Bound::Unbounded),
        BinaryOp::GtEq => ColumnRange::new(Bound::Included(min), Bound::Unbounded),
        _ => return,
    };
    out.push((index, range));
}
