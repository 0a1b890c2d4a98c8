//! Correlated subqueries that are rows rather than one aggregate: a scalar
//! subquery such as `(SELECT dept FROM e b WHERE b.id = e.boss)` and a
//! `LATERAL` derived table.
//!
//! Both are decorrelated when their correlated WHERE conjuncts are all
//! `inner = outer`: the subquery's source gives (value..., key...) and is
//! joined on `key = outer`. `ORDER BY ... LIMIT n` inside becomes a
//! `row_number()` per key, kept where it is at most `n`. A scalar subquery
//! also counts its key's rows (a window `count(*)` per key), and a count
//! above one that meets an outer row is the error "more than one row
//! returned by a subquery used as an expression", as for an uncorrelated
//! one. A LATERAL aggregate without GROUP BY (one row per outer row) is a
//! LEFT JOIN of the aggregate grouped by the keys, as a correlated scalar
//! aggregate.
//!
//! Anything else correlated is a "not supported" error at the reference.

use std::sync::Arc;

use hyperctl_exec::arrow::array::Int64Array;
use hyperctl_exec::{AggregateFunction, BinaryOp, JoinType, WindowFrame, WindowFunction};
use hyperctl_format::SqlType;
use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use super::Scope;
use super::context::{BindCtx, Correlation, SubJoin, SubKind, not_decorrelatable};
use super::context::{plan_has_outer, resolve_placeholders};
use super::from::make_join;
use super::query::{RowsParts, bind_query_ctx, column_ref};
use super::subquery::to_joined;
use crate::error::{SqlError, state};
use crate::plan::{BoundExpr, BoundSortKey, BoundWindow, ColumnInfo, LogicalPlan};

type BindResult<T> = Result<T, SqlError>;

/// A correlated SELECT that is not an aggregate, for a scalar subquery or
/// LATERAL: records [`Correlation::Rows`] and returns its plan.
pub(super) fn finish_rows(
    ctx: &BindCtx<'_>,
    parts: RowsParts,
    kind: Option<SubKind>,
    select: &ast::Select,
) -> BindResult<LogicalPlan> {
    let span = select.select_token.0.span;
    if select.distinct.is_some() {
        return Err(not_decorrelatable(
            "DISTINCT in a correlated subquery",
            span,
        ));
    }
    if !ctx.windows.borrow().is_empty() {
        return Err(not_decorrelatable(
            "a window function in a correlated subquery",
            span,
        ));
    }
    let RowsParts {
        plan,
        select_exprs,
        hidden,
        keys,
        inner_keys,
        outer_keys,
        residual,
        names,
    } = parts;
    let scalar = kind == Some(SubKind::Scalar);
    if scalar && select_exprs.len() != 1 {
        return Err(
            SqlError::new(state::SYNTAX_ERROR, "subquery must return only one column").at(span),
        );
    }
    let (plan, sub_map) = super::subquery::attach(plan, ctx.take_subqueries());
    let resolve = |v: &[BoundExpr]| {
        v.iter()
            .map(|e| resolve_placeholders(e, &sub_map))
            .collect::<BindResult<Vec<_>>>()
    };
    let (k, h, m) = (select_exprs.len(), hidden.len(), inner_keys.len());
    let mut exprs = resolve(&select_exprs)?;
    exprs.extend(resolve(&hidden)?);
    exprs.extend(inner_keys);
    let mut labels = names;
    labels.extend((0..h).map(|i| format!("#sort{i}")));
    labels.extend((0..m).map(|i| format!("#key{i}")));
    // The source columns the residual conditions read come after the keys.
    let mut read = Vec::new();
    for p in &residual {
        p.visit_columns(&mut |i| {
            if !read.contains(&i) {
                read.push(i);
            }
        });
    }
    let source = plan.columns().to_vec();
    let residual: Vec<BoundExpr> = residual
        .iter()
        .map(|p| p.map_columns(&|i| k + h + m + read.iter().position(|&r| r == i).unwrap_or(0)))
        .collect();
    for (n, &i) in read.iter().enumerate() {
        exprs.push(column_ref(&source, i));
        labels.push(format!("#read{n}"));
    }
    let mut plan = project(plan, exprs, labels);
    let partition: Vec<BoundExpr> = (k + h..k + h + m)
        .map(|i| column_ref(plan.columns(), i))
        .collect();
    if let Some(n) = ctx.sub_limit.get() {
        let rn = plan.columns().len();
        plan = window(
            plan,
            partition.clone(),
            keys,
            WindowFunction::RowNumber,
            "#rn",
        );
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        plan = LogicalPlan::Filter {
            input: Box::new(plan),
            predicate: super::expr::binary_expr(
                BinaryOp::LtEq,
                column_ref_bigint(rn),
                BoundExpr::Literal {
                    value: Arc::new(Int64Array::from(vec![n])),
                    ty: SqlType::BigInt,
                    untyped: false,
                },
                SqlType::Bool,
            ),
            keeps: None,
        };
    }
    let mut keep: Vec<usize> = (0..k).chain(k + h..k + h + m + read.len()).collect();
    let residual: Vec<BoundExpr> = residual.iter().map(|p| p.map_columns(&|i| i - h)).collect();
    if scalar {
        keep.push(plan.columns().len());
        let count = WindowFunction::Aggregate(AggregateFunction::CountStar);
        plan = window(plan, partition, Vec::new(), count, "#rows");
    }
    let all = plan.columns().to_vec();
    let exprs = keep.iter().map(|&i| column_ref(&all, i)).collect();
    let labels = keep.iter().map(|&i| all[i].name.clone()).collect();
    let plan = project(plan, exprs, labels);
    *ctx.correlation.borrow_mut() = Some(Correlation::Rows {
        plan: plan.clone(),
        outer_keys,
        residual,
        width: k,
    });
    Ok(plan)
}

fn column_ref_bigint(index: usize) -> BoundExpr {
    BoundExpr::Column {
        index,
        ty: SqlType::BigInt,
        nullable: false,
    }
}

/// `plan` projected to `exprs`, named `names`.
fn project(plan: LogicalPlan, exprs: Vec<BoundExpr>, names: Vec<String>) -> LogicalPlan {
    let columns = exprs
        .iter()
        .zip(names)
        .map(|(e, name)| ColumnInfo {
            name,
            ty: e.ty(),
            nullable: e.nullable(),
            qualifier: None,
        })
        .collect();
    LogicalPlan::Project {
        input: Box::new(plan),
        exprs,
        columns,
    }
}

/// `plan` plus one BIGINT window function without arguments.
fn window(
    plan: LogicalPlan,
    partition_by: Vec<BoundExpr>,
    order_by: Vec<BoundSortKey>,
    func: WindowFunction,
    name: &str,
) -> LogicalPlan {
    let mut columns = plan.columns().to_vec();
    columns.push(ColumnInfo {
        name: name.into(),
        ty: SqlType::BigInt,
        nullable: false,
        qualifier: None,
    });
    LogicalPlan::Window {
        input: Box::new(plan),
        partition_by,
        order_by,
        functions: vec![BoundWindow {
            func,
            args: Vec::new(),
            frame: WindowFrame::default(),
            ty: SqlType::BigInt,
            name: name.into(),
            ignore_nulls: false,
        }],
        columns,
    }
}

/// A LATERAL derived table joined to `left` (the FROM items before it):
/// `join_type` Inner (comma, CROSS JOIN, JOIN) or Left, `on` its condition
/// over the joined names.
pub(super) fn bind_lateral(
    ctx: &BindCtx<'_>,
    left: (LogicalPlan, Scope),
    q: &ast::Query,
    alias: Option<&ast::TableAlias>,
    join_type: JoinType,
    on: Option<&ast::Expr>,
) -> BindResult<(LogicalPlan, Scope)> {
    let span = q.span();
    let (left_plan, left_scope) = left;
    let child = BindCtx::child(ctx, Some(&left_scope));
    if matches!(q.body.as_ref(), ast::SetExpr::Select(_)) {
        child.sub_kind.set(Some(SubKind::Lateral));
    }
    let plan = bind_query_ctx(&child, q).map_err(|mut e| {
        if e.sqlstate == state::FEATURE_NOT_SUPPORTED && !e.message.contains("LATERAL") {
            e.message = format!("LATERAL: {}", e.message);
        }
        e
    })?;
    let correlation = child.correlation.borrow_mut().take();
    let first_outer = child.outer_refs.borrow().first().copied();
    let last_outer = child.outer_refs.borrow().last().copied();
    let w = left_scope.columns.len();
    if correlation.is_none()
        && let Some(at) = first_outer
    {
        return Err(lateral_error(
            "a correlated reference outside the WHERE clause of LATERAL",
            at,
        ));
    }
    // The LATERAL item's names: its select list, renamed by the alias's
    // column list, qualified by the alias.
    let width = match &correlation {
        Some(Correlation::Rows { width, .. }) => *width,
        Some(Correlation::Scalar { .. }) => 1,
        _ => plan.columns().len(),
    };
    let qualifier = alias.map(|a| super::normalize(&a.name));
    let mut right: Vec<ColumnInfo> = plan.columns()[..width]
        .iter()
        .map(|c| ColumnInfo {
            qualifier: qualifier.clone(),
            nullable: true,
            ..c.clone()
        })
        .collect();
    if let Some(a) = alias.filter(|a| !a.columns.is_empty()) {
        if a.columns.len() > right.len() {
            return Err(SqlError::new(
                state::SYNTAX_ERROR,
                format!(
                    "{} has {} columns available but {} columns specified",
                    a.name,
                    right.len(),
                    a.columns.len()
                ),
            )
            .at(a.name.span));
        }
        for (c, name) in right.iter_mut().zip(&a.columns) {
            c.name = super::normalize(&name.name);
        }
    }
    let mut columns = left_scope.columns.clone();
    columns.extend(right);
    let hidden = (0..w)
        .map(|i| left_scope.is_hidden(i))
        .chain((0..width).map(|_| false))
        .collect();
    let scope = Scope { columns, hidden };
    let cond = match on {
        None => None,
        Some(on) => {
            let cond = super::expr::ExprBinder::in_ctx(&scope, ctx).bind(on)?;
            let cond = super::expr::coerce(cond, SqlType::Bool, on.span(), "ON")?;
            if cond.has_placeholder() || cond.has_outer() {
                return Err(lateral_error(
                    "a subquery in the ON condition of LATERAL",
                    on.span(),
                ));
            }
            Some(cond).filter(|c| !is_true_literal(c))
        }
    };
    let joined = match correlation {
        None => make_join(left_plan, plan, join_type, cond),
        Some(Correlation::Rows {
            plan,
            outer_keys,
            residual,
            ..
        }) => {
            if plan_has_outer(&plan) {
                return Err(lateral_error(
                    "a correlated reference outside the WHERE clause of LATERAL",
                    last_outer.unwrap_or(span),
                ));
            }
            let keys = outer_keys.iter().enumerate().map(|(i, k)| {
                let k = to_joined(k, w);
                let ty = k.ty();
                let inner = BoundExpr::Column {
                    index: w + width + i,
                    ty,
                    nullable: true,
                };
                super::expr::binary_expr(BinaryOp::Eq, k, inner, SqlType::Bool)
            });
            let residual = residual.iter().map(|p| to_joined(p, w));
            let condition = BoundExpr::and_all(keys.chain(residual).chain(cond).collect());
            make_join(left_plan, plan, join_type, condition)
        }
        Some(Correlation::Scalar {
            plan,
            outer_keys,
            empty,
        }) => {
            if plan_has_outer(&plan) {
                return Err(lateral_error(
                    "a correlated reference outside the WHERE clause of LATERAL",
                    last_outer.unwrap_or(span),
                ));
            }
            let sub = SubJoin::ScalarGrouped {
                plan,
                outer_keys: outer_keys.iter().map(|k| to_joined(k, w)).collect(),
                empty,
            };
            // One row per outer row: the same for an inner and a left join.
            let joined = super::subquery::attach_join(left_plan, sub);
            match (cond, join_type) {
                (None, _) => joined,
                (Some(c), JoinType::Inner) => LogicalPlan::Filter {
                    input: Box::new(joined),
                    predicate: c,
                    keeps: None,
                },
                (Some(_), _) => {
                    return Err(lateral_error(
                        "LEFT JOIN LATERAL over an aggregate with an ON condition other than true",
                        on.map_or(span, Spanned::span),
                    ));
                }
            }
        }
        Some(_) => return Err(lateral_error("this LATERAL subquery", span)),
    };
    let exprs = (0..w + width)
        .map(|i| column_ref(joined.columns(), i))
        .collect();
    let plan = LogicalPlan::Project {
        input: Box::new(joined),
        exprs,
        columns: scope.columns.clone(),
    };
    Ok((plan, scope))
}

fn is_true_literal(e: &BoundExpr) -> bool {
    use hyperctl_exec::arrow::array::{Array, AsArray};
    match e {
        BoundExpr::Literal { value, .. } => {
            value.len() == 1
                && value.is_valid(0)
                && value.as_boolean_opt().is_some_and(|b| b.value(0))
        }
        _ => false,
    }
}

fn lateral_error(what: &str, span: Span) -> SqlError {
    SqlError::new(
        state::FEATURE_NOT_SUPPORTED,
        format!("LATERAL: {what} is not supported yet"),
    )
    .at(span)
    .hint("LATERAL subqueries are supported when their correlated WHERE conditions are inner = outer equalities")
}
