//! Subqueries in expressions: scalar `(SELECT ...)`, `[NOT] EXISTS`, and
//! `x [NOT] IN (SELECT ...)`, planned as joins that add one column each.
//!
//! - Uncorrelated scalar: LEFT JOIN (no condition) with the subquery under a
//!   `SingleRow` check (error 21000 on a second row; no row gives NULL).
//! - EXISTS: a Mark join, read as `mark IS TRUE`; at the top of WHERE a
//!   Semi (EXISTS) or Anti (NOT EXISTS) join.
//! - IN: a Mark join on `x = y`, whose TRUE / FALSE / NULL is exactly SQL's
//!   `x IN (...)`; at the top of WHERE (not negated) a Semi join.
//! - Correlated subqueries are decorrelated: the correlated conjuncts of the
//!   subquery's WHERE become the join condition (EXISTS, IN), or, for a
//!   scalar aggregate whose correlated conjuncts are all `inner = outer`,
//!   the aggregate is grouped by the inner sides and LEFT JOINed on the
//!   outer sides, with the value over no rows (`count` gives 0) filled in
//!   for outer rows without a group.
//!
//! - `x op ANY (subquery)` for `op` other than `=`: a nested-loop Mark join
//!   on `x op y` (the mark is the three-valued OR over the rows the
//!   correlation selects); `x op ALL (...)` is `NOT (x negated-op ANY ...)`.
//! - A correlated scalar subquery over rows (not one aggregate): see
//!   `decorrelate`. In a grouped query, a correlated scalar subquery's outer
//!   keys are read from the aggregate's output, so they must be GROUP BY keys.
//!
//! Anything else correlated is a "not supported" error at the reference.

use std::collections::HashMap;
use std::sync::Arc;

use hyperctl_exec::arrow::array::BooleanArray;
use hyperctl_exec::{BinaryOp, JoinType, ScalarFunction};
use hyperctl_format::SqlType;
use sqlparser::ast;
use sqlparser::tokenizer::Span;

use super::Scope;
use super::context::not_decorrelatable;
use super::context::{BindCtx, Correlation, PendingSubquery, SubJoin, SubKind, plan_has_outer};
use super::expr::unify;
use super::from::make_join;
use super::query::{bind_query_ctx, column_ref};
use crate::error::{SqlError, pack_position, state};
use crate::plan::{BoundExpr, ColumnInfo, LogicalPlan};

type BindResult<T> = Result<T, SqlError>;

/// Binds a subquery found in an expression over `outer` (the scope of the
/// query around it). `lhs` is IN's left operand, bound over `outer` (or over
/// the aggregate's output when `grouped`).
pub(crate) fn bind(
    ctx: &BindCtx<'_>,
    outer: &Scope,
    q: &ast::Query,
    kind: SubKind,
    lhs: Option<BoundExpr>,
    grouped: bool,
    span: Span,
) -> BindResult<(SubJoin, SqlType)> {
    let child = BindCtx::child(ctx, Some(outer));
    if matches!(q.body.as_ref(), ast::SetExpr::Select(_)) {
        child.sub_kind.set(Some(kind));
    }
    let plan = bind_query_ctx(&child, q)?;
    let correlation = child.correlation.borrow_mut().take();
    let first_outer = child.outer_refs.borrow().first().copied();
    // WHERE is bound before the select list, so a reference left over
    // outside WHERE is most likely the last one made.
    let last_outer = child.outer_refs.borrow().last().copied();
    let w = outer.columns.len();
    let Some(correlation) = correlation else {
        if let Some(at) = first_outer {
            return Err(not_decorrelatable(
                "a correlated reference outside the subquery's WHERE clause",
                at,
            ));
        }
        return uncorrelated(plan, kind, lhs, span);
    };
    if grouped
        && matches!(
            correlation,
            Correlation::Exists { .. } | Correlation::In { .. }
        )
    {
        return Err(not_decorrelatable(
            "a correlated EXISTS, IN, ANY or ALL subquery in the select list or HAVING of a grouped query",
            span,
        ));
    }
    let leftover = |p: &LogicalPlan| -> BindResult<()> {
        if plan_has_outer(p) {
            return Err(not_decorrelatable(
                "a correlated reference outside the subquery's WHERE clause",
                last_outer.unwrap_or(span),
            ));
        }
        Ok(())
    };
    match correlation {
        Correlation::Exists { source, preds } => {
            leftover(&source)?;
            let condition = BoundExpr::and_all(preds.iter().map(|p| to_joined(p, w)).collect());
            Ok((
                SubJoin::Exists {
                    plan: source,
                    condition,
                },
                SqlType::Bool,
            ))
        }
        Correlation::In {
            source,
            preds,
            inner,
        } => {
            leftover(&source)?;
            if inner.has_outer() {
                return Err(not_decorrelatable(
                    "a correlated reference in the select list of an IN subquery",
                    last_outer.unwrap_or(span),
                ));
            }
            let lhs = lhs.ok_or_else(|| internal("IN without its left operand", span))?;
            let (outer_e, inner_e) = unify(lhs, inner, span, span, "IN")?;
            let filter = BoundExpr::and_all(preds.iter().map(|p| to_joined(p, w)).collect());
            Ok((
                SubJoin::In {
                    plan: source,
                    outer: outer_e,
                    inner: inner_e,
                    filter,
                },
                SqlType::Bool,
            ))
        }
        Correlation::Rows {
            plan, outer_keys, ..
        } => {
            leftover(&plan)?;
            if kind != SubKind::Scalar {
                return Err(internal("rows of a subquery that is not scalar", span));
            }
            let ty = plan.columns().first().map_or(SqlType::Text, |c| c.ty);
            let outer_keys = outer_keys.iter().map(|k| to_joined(k, w)).collect();
            Ok((
                SubJoin::ScalarRows {
                    plan,
                    outer_keys,
                    origin: pack_position(span),
                },
                ty,
            ))
        }
        Correlation::Scalar {
            plan,
            outer_keys,
            empty,
        } => {
            leftover(&plan)?;
            let ty = plan.columns().first().map_or(SqlType::Text, |c| c.ty);
            let outer_keys = outer_keys.iter().map(|k| to_joined(k, w)).collect();
            Ok((
                SubJoin::ScalarGrouped {
                    plan,
                    outer_keys,
                    empty,
                },
                ty,
            ))
        }
    }
}

fn uncorrelated(
    plan: LogicalPlan,
    kind: SubKind,
    lhs: Option<BoundExpr>,
    span: Span,
) -> BindResult<(SubJoin, SqlType)> {
    let one_column = |plan: &LogicalPlan| -> BindResult<ColumnInfo> {
        match plan.columns() {
            [c] => Ok(c.clone()),
            _ => Err(
                SqlError::new(state::SYNTAX_ERROR, "subquery must return only one column").at(span),
            ),
        }
    };
    match kind {
        SubKind::Scalar => {
            let c = one_column(&plan)?;
            let plan = LogicalPlan::SingleRow {
                input: Box::new(plan),
                origin: pack_position(span),
            };
            Ok((SubJoin::Scalar { plan }, c.ty))
        }
        SubKind::Exists => Ok((
            SubJoin::Exists {
                plan,
                condition: None,
            },
            SqlType::Bool,
        )),
        SubKind::Lateral => Err(internal("LATERAL bound as an expression", span)),
        SubKind::In => {
            one_column(&plan)?;
            let inner = column_ref(plan.columns(), 0);
            let lhs = lhs.ok_or_else(|| internal("IN without its left operand", span))?;
            let (outer, inner) = unify(lhs, inner, span, span, "IN")?;
            Ok((
                SubJoin::In {
                    plan,
                    outer,
                    inner,
                    filter: None,
                },
                SqlType::Bool,
            ))
        }
    }
}

/// Turns IN's join into `outer op ANY (...)`'s.
pub(crate) fn compare_join(join: SubJoin, op: BinaryOp, span: Span) -> BindResult<SubJoin> {
    match join {
        SubJoin::In {
            plan,
            outer,
            inner,
            filter,
        } => Ok(SubJoin::Compare {
            plan,
            outer,
            inner,
            op,
            filter,
        }),
        _ => Err(internal("ANY / ALL bound as something else than IN", span)),
    }
}

fn internal(what: &str, span: Span) -> SqlError {
    SqlError::new(
        "XX000",
        format!("internal error: {what}; please report this as a bug"),
    )
    .at(span)
}

/// A correlated expression over the subquery's columns and outer references
/// as an expression over a join's row: outer columns first (`0..w`), then
/// the subquery's.
pub(crate) fn to_joined(e: &BoundExpr, w: usize) -> BoundExpr {
    e.map_columns(&|i| i + w).rewrite(&|x| match x {
        BoundExpr::Outer {
            index,
            ty,
            nullable,
        } => Some(BoundExpr::Column {
            index: *index,
            ty: *ty,
            nullable: *nullable,
        }),
        _ => None,
    })
}

fn true_literal(value: bool) -> BoundExpr {
    BoundExpr::Literal {
        value: Arc::new(BooleanArray::from(vec![value])),
        ty: SqlType::Bool,
        untyped: false,
    }
}

/// `e IS TRUE`, for Mark columns read as EXISTS.
fn is_true(e: BoundExpr) -> BoundExpr {
    BoundExpr::Case {
        branches: vec![(e, true_literal(true))],
        else_expr: Some(Box::new(true_literal(false))),
        ty: SqlType::Bool,
    }
}

/// Joins each subquery to `plan`; returns the plan and, per placeholder
/// id, the column that holds its value.
pub(crate) fn attach(
    plan: LogicalPlan,
    subs: Vec<PendingSubquery>,
) -> (LogicalPlan, HashMap<usize, usize>) {
    let mut plan = plan;
    let mut map = HashMap::new();
    let base = plan.columns().len();
    for s in subs {
        let w = plan.columns().len();
        plan = attach_one(plan, shift_join(s.join, base, w - base), s.ty);
        map.insert(s.id, w);
    }
    (plan, map)
}

/// A correlated condition over (query columns, subquery columns) was bound
/// with `base` query columns; the subqueries attached before it added
/// `extra`: moves the subquery's columns past them.
fn shift_join(join: SubJoin, base: usize, extra: usize) -> SubJoin {
    if extra == 0 {
        return join;
    }
    let shift =
        |e: Option<BoundExpr>| e.map(|e| e.map_columns(&|i| if i >= base { i + extra } else { i }));
    match join {
        SubJoin::Exists { plan, condition } => SubJoin::Exists {
            plan,
            condition: shift(condition),
        },
        SubJoin::In {
            plan,
            outer,
            inner,
            filter,
        } => SubJoin::In {
            plan,
            outer,
            inner,
            filter: shift(filter),
        },
        SubJoin::Compare {
            plan,
            outer,
            inner,
            op,
            filter,
        } => SubJoin::Compare {
            plan,
            outer,
            inner,
            op,
            filter: shift(filter),
        },
        other => other,
    }
}

/// Keeps the first `w` columns of `plan` and adds `extra`.
fn project_plus(plan: LogicalPlan, w: usize, extra: BoundExpr, name: &str) -> LogicalPlan {
    let cols = plan.columns().to_vec();
    let mut exprs: Vec<BoundExpr> = (0..w).map(|i| column_ref(&cols, i)).collect();
    let mut columns: Vec<ColumnInfo> = cols[..w].to_vec();
    columns.push(ColumnInfo {
        name: name.to_string(),
        ty: extra.ty(),
        nullable: true,
        qualifier: None,
    });
    exprs.push(extra);
    LogicalPlan::Project {
        input: Box::new(plan),
        exprs,
        columns,
    }
}

/// `input` plus the column of a correlated scalar subquery (LATERAL).
pub(crate) fn attach_join(input: LogicalPlan, join: SubJoin) -> LogicalPlan {
    let ty = match &join {
        SubJoin::ScalarGrouped { plan, .. } | SubJoin::ScalarRows { plan, .. } => {
            plan.columns().first().map_or(SqlType::Text, |c| c.ty)
        }
        _ => SqlType::Bool,
    };
    attach_one(input, join, ty)
}

/// `outer_keys[i] = column first + i` for each key (the subquery's key
/// columns follow its value, after the outer row's columns).
fn keys_equal(outer_keys: Vec<BoundExpr>, first: usize) -> Vec<BoundExpr> {
    outer_keys
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            let key_ty = k.ty();
            BoundExpr::Binary {
                op: BinaryOp::Eq,
                left: Box::new(k),
                right: Box::new(BoundExpr::Column {
                    index: first + i,
                    ty: key_ty,
                    nullable: true,
                }),
                ty: SqlType::Bool,
            }
        })
        .collect()
}

fn attach_one(input: LogicalPlan, join: SubJoin, ty: SqlType) -> LogicalPlan {
    let w = input.columns().len();
    match join {
        SubJoin::ScalarRows {
            plan,
            outer_keys,
            origin,
        } => {
            let m = outer_keys.len();
            let keys = keys_equal(outer_keys, w + 1);
            let joined = make_join(input, plan, JoinType::Left, BoundExpr::and_all(keys));
            // Rows whose key has more than one row fail the check; the value
            // is only read after it.
            let check = BoundExpr::Function {
                func: ScalarFunction::SubqueryRowCheck { origin },
                args: vec![BoundExpr::Column {
                    index: w + 1 + m,
                    ty: SqlType::BigInt,
                    nullable: true,
                }],
                ty: SqlType::Bool,
            };
            let value = BoundExpr::Case {
                branches: vec![(check, super::functions::null_of(ty))],
                else_expr: Some(Box::new(BoundExpr::Column {
                    index: w,
                    ty,
                    nullable: true,
                })),
                ty,
            };
            project_plus(joined, w, value, "#subquery")
        }
        SubJoin::Scalar { plan } => {
            let joined = make_join(input, plan, JoinType::Left, None);
            let value = column_ref(joined.columns(), w);
            project_plus(joined, w, value, "#subquery")
        }
        SubJoin::ScalarGrouped {
            plan,
            outer_keys,
            empty,
        } => {
            let m = outer_keys.len();
            let keys = keys_equal(outer_keys, w + 1);
            let mut joined = make_join(input, plan, JoinType::Left, BoundExpr::and_all(keys));
            let value = BoundExpr::Column {
                index: w,
                ty,
                nullable: true,
            };
            let value = match empty {
                None => value,
                Some(empty) => {
                    joined = make_join(joined, empty, JoinType::Left, None);
                    let matched = BoundExpr::Column {
                        index: w + 1 + m,
                        ty: SqlType::Bool,
                        nullable: true,
                    };
                    let fallback = BoundExpr::Column {
                        index: w + 2 + m,
                        ty,
                        nullable: true,
                    };
                    BoundExpr::Case {
                        branches: vec![(BoundExpr::IsNull(Box::new(matched)), fallback)],
                        else_expr: Some(Box::new(value)),
                        ty,
                    }
                }
            };
            project_plus(joined, w, value, "#subquery")
        }
        SubJoin::Exists { plan, condition } => {
            let joined = make_join(input, plan, JoinType::Mark, condition);
            let mark = BoundExpr::Column {
                index: w,
                ty: SqlType::Bool,
                nullable: true,
            };
            project_plus(joined, w, is_true(mark), "#exists")
        }
        SubJoin::In {
            plan,
            outer,
            inner,
            filter,
        } => mark_in(input, plan, outer, inner, filter, JoinType::Mark),
        SubJoin::Compare {
            plan,
            outer,
            inner,
            op,
            filter,
        } => {
            // The mark is the three-valued OR of `outer op inner` over the
            // rows the correlation selects (a row it does not select counts
            // as FALSE, not NULL).
            let cmp = BoundExpr::Binary {
                op,
                left: Box::new(outer),
                right: Box::new(inner.map_columns(&|i| i + w)),
                ty: SqlType::Bool,
            };
            let condition = match filter {
                None => cmp,
                Some(f) => BoundExpr::Binary {
                    op: BinaryOp::And,
                    left: Box::new(is_true(f)),
                    right: Box::new(cmp),
                    ty: SqlType::Bool,
                },
            };
            let columns = with_marker(&input, "#any");
            LogicalPlan::Join {
                left: Box::new(input),
                right: Box::new(plan),
                join_type: JoinType::Mark,
                on: Vec::new(),
                filter: Some(condition),
                columns,
            }
        }
    }
}

/// The columns of a mark join over `input`: its own, then the boolean
/// marker `name`.
fn with_marker(input: &LogicalPlan, name: &str) -> Vec<ColumnInfo> {
    let mut columns = input.columns().to_vec();
    columns.push(ColumnInfo {
        name: name.into(),
        ty: SqlType::Bool,
        nullable: true,
        qualifier: None,
    });
    columns
}

/// A join on `outer = inner` with `filter` selecting the rows compared.
fn mark_in(
    input: LogicalPlan,
    plan: LogicalPlan,
    outer: BoundExpr,
    inner: BoundExpr,
    filter: Option<BoundExpr>,
    join_type: JoinType,
) -> LogicalPlan {
    let columns = if join_type == JoinType::Mark {
        with_marker(&input, "#in")
    } else {
        input.columns().to_vec()
    };
    LogicalPlan::Join {
        left: Box::new(input),
        right: Box::new(plan),
        join_type,
        on: vec![(outer, inner)],
        filter,
        columns,
    }
}

/// A top-level WHERE conjunct `[NOT] EXISTS (...)` or `x IN (...)` as a
/// Semi or Anti join, which keeps `input`'s columns.
pub(crate) fn filter_join(input: LogicalPlan, join: SubJoin, negated: bool) -> LogicalPlan {
    let join_type = if negated {
        JoinType::Anti
    } else {
        JoinType::Semi
    };
    match join {
        SubJoin::Exists { plan, condition } => make_join(input, plan, join_type, condition),
        SubJoin::In {
            plan,
            outer,
            inner,
            filter,
        } => mark_in(input, plan, outer, inner, filter, join_type),
        // Callers only pass EXISTS and IN.
        other => attach_one(input, other, SqlType::Bool),
    }
}
