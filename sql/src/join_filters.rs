//! Join filters pushed into the join's inputs: each conjunct of a left,
//! right, semi or anti join's ON filter (the part that is not an equi-key)
//! that reads only the input whose rows are not kept for their own sake
//! becomes a filter over that input, below the join.
//!
//! `c LEFT JOIN o ON c.k = o.k AND o.comment NOT LIKE '%x%'` then filters
//! `o` once per row, before its rows (and the comment column) go through the
//! join's hash table, rather than once per pair after it (TPC-H Q13).
//!
//! Invariant: the join computes the same rows. A right row that fails such
//! a conjunct can never be part of a matching pair, and a left join (semi,
//! anti) decides a left row's fate only by its matching pairs; likewise the
//! left input of a right join. Conjuncts that read the kept side, outer
//! references or placeholders stay in the join's filter, as do all of an
//! inner, full or mark join's (the join order places inner joins' own
//! conjuncts).

use crate::optimize::map_inputs;
use hyperctl_exec::JoinType;

use crate::plan::{BoundExpr, LogicalPlan};

/// `plan` with the conjuncts of its joins' filters moved into their inputs
/// where the module comment says they may go.
pub(crate) fn push_join_filters(plan: LogicalPlan) -> LogicalPlan {
    let plan = map_inputs(plan, push_join_filters);
    let LogicalPlan::Join {
        left,
        right,
        join_type,
        on,
        filter: Some(filter),
        columns,
    } = plan
    else {
        return plan;
    };
    let width = left.columns().len();
    let (to_left, to_right) = match join_type {
        JoinType::Left | JoinType::Semi | JoinType::Anti => (false, true),
        JoinType::Right => (true, false),
        _ => (false, false),
    };
    let (mut stay, mut lefts, mut rights) = (Vec::new(), Vec::new(), Vec::new());
    for c in filter.conjuncts() {
        let (mut reads_left, mut reads_right) = (false, false);
        c.visit_columns(&mut |i| {
            if i < width {
                reads_left = true;
            } else {
                reads_right = true;
            }
        });
        let movable = !c.has_outer() && !c.has_placeholder();
        if movable && to_right && !reads_left {
            rights.push(c.map_columns(&|i| i - width));
        } else if movable && to_left && !reads_right {
            lefts.push(c);
        } else {
            stay.push(c);
        }
    }
    let over =
        |input: Box<LogicalPlan>, conjuncts: Vec<BoundExpr>| match BoundExpr::and_all(conjuncts) {
            None => input,
            Some(predicate) => Box::new(LogicalPlan::Filter {
                input,
                predicate,
                keeps: None,
            }),
        };
    LogicalPlan::Join {
        left: over(left, lefts),
        right: over(right, rights),
        join_type,
        on,
        filter: BoundExpr::and_all(stay),
        columns,
    }
}
