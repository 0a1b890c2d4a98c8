//! `WITH` and `WITH RECURSIVE`: each CTE is bound once and planned again at
//! each reference (so a CTE used twice is computed twice, with the same
//! result). A recursive CTE must be `anchor UNION [ALL] step`, where only
//! the step reads the CTE, once; it becomes a recursive union whose step
//! reads the previous round through a work table. As in PostgreSQL there
//! is no iteration cap: a recursion that never ends runs until a `LIMIT`
//! above it stops pulling, or forever.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use hyperctl_exec::WorkTable;
use sqlparser::ast::{self, SetExpr, Spanned};

use super::context::{BindCtx, CteBody};
use super::query::bind_query_ctx;
use super::setop::{bind_set_expr, cast_columns, combine, null_column, unify};
use super::{normalize, not_supported};
use crate::error::{SqlError, state};
use crate::plan::{ColumnInfo, LogicalPlan, arrow_schema};

type BindResult<T> = Result<T, SqlError>;

/// How often the step is bound again while its types widen (NUMERIC scales
/// can grow each round; after this the step is cast to the last types).
const MAX_TYPE_ROUNDS: usize = 4;

/// Binds the CTEs of a WITH clause into `ctx`, in order (each sees the
/// ones before it).
pub(super) fn bind_with(ctx: &BindCtx<'_>, with: &ast::With) -> BindResult<()> {
    let mut names: Vec<String> = Vec::new();
    for cte in &with.cte_tables {
        if let Some(from) = &cte.from {
            return Err(not_supported("WITH ... FROM", from.span));
        }
        let name = normalize(&cte.alias.name);
        if names.contains(&name) {
            return Err(SqlError::new(
                state::DUPLICATE_ALIAS,
                format!("WITH query name \"{name}\" specified more than once"),
            )
            .at(cte.alias.name.span));
        }
        names.push(name.clone());
        let plan = match (with.recursive, recursive_parts(&cte.query)) {
            (true, Some((left, quantifier, right))) => {
                bind_recursive(ctx, cte, &name, left, quantifier, right)?
            }
            _ => {
                let child = BindCtx::child(ctx, None);
                rename(bind_query_ctx(&child, &cte.query)?, &cte.alias)?
            }
        };
        ctx.add_cte(name, CteBody::Plan(plan));
    }
    Ok(())
}

/// `left UNION [ALL] right` without ORDER BY / LIMIT around it.
fn recursive_parts(q: &ast::Query) -> Option<(&SetExpr, ast::SetQuantifier, &SetExpr)> {
    if q.order_by.is_some() || q.limit_clause.is_some() || q.with.is_some() || q.fetch.is_some() {
        return None;
    }
    match q.body.as_ref() {
        SetExpr::SetOperation {
            left,
            op: ast::SetOperator::Union,
            set_quantifier,
            right,
        } => Some((left, *set_quantifier, right)),
        _ => None,
    }
}

fn bind_recursive(
    ctx: &BindCtx<'_>,
    cte: &ast::Cte,
    name: &str,
    left: &SetExpr,
    quantifier: ast::SetQuantifier,
    right: &SetExpr,
) -> BindResult<LogicalPlan> {
    let anchor_ctx = BindCtx::child(ctx, None);
    let anchor = rename(bind_set_expr(&anchor_ctx, left)?, &cte.alias)?;
    let mut types: Vec<_> = anchor.columns().iter().map(|c| c.ty).collect();
    // Like Hyper, the CTE's column types are those of the anchor and the
    // step unified; the step is bound again until they settle.
    let mut round = 0;
    let (columns, work, step) = loop {
        let columns: Vec<ColumnInfo> = anchor
            .columns()
            .iter()
            .zip(&types)
            .map(|(c, ty)| ColumnInfo {
                ty: *ty,
                nullable: true,
                qualifier: None,
                ..c.clone()
            })
            .collect();
        let work = Arc::new(WorkTable::new(arrow_schema(&columns)));
        let used = Rc::new(Cell::new(false));
        let step_ctx = BindCtx::child(ctx, None);
        step_ctx.add_cte(
            name.to_string(),
            CteBody::Work {
                work: work.clone(),
                columns: columns.clone(),
                used: used.clone(),
            },
        );
        let step = bind_set_expr(&step_ctx, right)?;
        if !used.get() {
            // Not recursive after all: a plain UNION.
            return combine(
                anchor,
                step,
                ast::SetOperator::Union,
                quantifier,
                right.span(),
            );
        }
        let step_columns = step.columns().to_vec();
        if step_columns.len() != columns.len() {
            return Err(SqlError::new(
                state::SYNTAX_ERROR,
                "each UNION query must have the same number of columns",
            )
            .at(right.span()));
        }
        let mut unified = Vec::with_capacity(types.len());
        for (i, (c, s)) in columns.iter().zip(&step_columns).enumerate() {
            let anchor_null = round == 0 && null_column(&anchor, i);
            let ty = unify(c.ty, anchor_null, s.ty, null_column(&step, i)).ok_or_else(|| {
                SqlError::new(
                    state::DATATYPE_MISMATCH,
                    format!(
                        "recursive query \"{name}\" column {} has type {} in non-recursive term but type {} overall",
                        i + 1,
                        c.ty.to_string().to_lowercase(),
                        s.ty.to_string().to_lowercase()
                    ),
                )
                .at(right.span())
                .hint("Cast the output of the non-recursive term to the correct type.")
            })?;
            unified.push(ty);
        }
        round += 1;
        if unified == types || round >= MAX_TYPE_ROUNDS {
            break (columns, work, step);
        }
        types = unified;
    };
    let distinct = match quantifier {
        ast::SetQuantifier::All => false,
        ast::SetQuantifier::Distinct | ast::SetQuantifier::None => true,
        _ => return Err(not_supported("BY NAME", right.span())),
    };
    let anchor = cast_columns(anchor, &types);
    Ok(LogicalPlan::RecursiveUnion {
        anchor: Box::new(anchor),
        step: Box::new(cast_columns(step, &types)),
        work,
        distinct,
        columns,
    })
}

/// `name (a, b)`: the plan's first columns renamed.
fn rename(plan: LogicalPlan, alias: &ast::TableAlias) -> BindResult<LogicalPlan> {
    if alias.columns.is_empty() {
        return Ok(plan);
    }
    let mut columns = plan.columns().to_vec();
    if alias.columns.len() > columns.len() {
        return Err(SqlError::new(
            state::SYNTAX_ERROR,
            format!(
                "WITH query \"{}\" has {} columns available but {} columns specified",
                normalize(&alias.name),
                columns.len(),
                alias.columns.len()
            ),
        )
        .at(alias.name.span));
    }
    for (c, a) in columns.iter_mut().zip(&alias.columns) {
        c.name = normalize(&a.name);
    }
    let exprs = (0..columns.len())
        .map(|i| super::query::column_ref(&columns, i))
        .collect();
    Ok(LogicalPlan::Project {
        input: Box::new(plan),
        exprs,
        columns,
    })
}
