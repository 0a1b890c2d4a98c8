//! Set operations: `UNION`, `INTERSECT`, `EXCEPT`, each `[ALL | DISTINCT]`,
//! nested and parenthesized (sqlparser gives INTERSECT its higher
//! precedence). Column types are unified as PostgreSQL does, with Hyper's
//! NUMERIC rule (`SELECT 1 UNION ALL SELECT 1.5` is NUMERIC(11,1)): an
//! untyped NULL takes the other side's type, integers widen, integers and
//! NUMERIC meet as a NUMERIC wide enough for both, floats win, strings meet
//! as TEXT, DATE meets TIMESTAMP as TIMESTAMP. Anything else is an error.

use hyperctl_format::SqlType;
use sqlparser::ast::{self, SetExpr, Spanned};
use sqlparser::tokenizer::Span;

use super::context::BindCtx;
use super::not_supported;
use super::query::{bind_query_ctx, bind_select_body, bind_values, column_ref};
use crate::error::{SqlError, state};
use crate::plan::{BoundExpr, ColumnInfo, LogicalPlan};
use hyperctl_exec::SetOpKind;

type BindResult<T> = Result<T, SqlError>;

/// A query body that may be a set operation.
pub(super) fn bind_set_expr(ctx: &BindCtx<'_>, body: &SetExpr) -> BindResult<LogicalPlan> {
    match body {
        SetExpr::Select(s) => bind_select_body(ctx, s),
        SetExpr::Values(v) => bind_values(v),
        SetExpr::Query(q) => bind_query_ctx(ctx, q),
        SetExpr::SetOperation {
            left,
            op,
            set_quantifier,
            right,
        } => {
            let l = bind_set_expr(ctx, left)?;
            let r = bind_set_expr(ctx, right)?;
            combine(l, r, *op, *set_quantifier, right.span())
        }
        other => Err(not_supported("this kind of query", other.span())),
    }
}

/// `left op right` with unified column types.
pub(super) fn combine(
    left: LogicalPlan,
    right: LogicalPlan,
    op: ast::SetOperator,
    quantifier: ast::SetQuantifier,
    span: Span,
) -> BindResult<LogicalPlan> {
    let kind = match op {
        ast::SetOperator::Union => SetOpKind::Union,
        ast::SetOperator::Intersect => SetOpKind::Intersect,
        ast::SetOperator::Except => SetOpKind::Except,
        ast::SetOperator::Minus => return Err(not_supported("MINUS", span)),
    };
    let all = match quantifier {
        ast::SetQuantifier::All => true,
        ast::SetQuantifier::Distinct | ast::SetQuantifier::None => false,
        _ => return Err(not_supported("BY NAME", span)),
    };
    let name = op.to_string();
    let (lc, rc) = (left.columns().to_vec(), right.columns().to_vec());
    if lc.len() != rc.len() {
        return Err(SqlError::new(
            state::SYNTAX_ERROR,
            format!("each {name} query must have the same number of columns"),
        )
        .at(span));
    }
    let mut types = Vec::with_capacity(lc.len());
    for i in 0..lc.len() {
        let (a, b) = (lc[i].ty, rc[i].ty);
        let ty = unify(a, null_column(&left, i), b, null_column(&right, i)).ok_or_else(|| {
            SqlError::new(
                state::DATATYPE_MISMATCH,
                format!(
                    "{name} types {} and {} cannot be matched",
                    a.to_string().to_lowercase(),
                    b.to_string().to_lowercase()
                ),
            )
            .at(span)
        })?;
        types.push(ty);
    }
    let columns = lc
        .iter()
        .zip(&rc)
        .zip(&types)
        .map(|((l, r), ty)| ColumnInfo {
            name: l.name.clone(),
            ty: *ty,
            nullable: l.nullable || r.nullable,
            qualifier: None,
        })
        .collect();
    Ok(LogicalPlan::SetOp {
        left: Box::new(cast_columns(left, &types)),
        right: Box::new(cast_columns(right, &types)),
        kind,
        all,
        columns,
    })
}

/// Whether column `i` of `plan` is an untyped NULL (its type comes from
/// the other side).
pub(super) fn null_column(plan: &LogicalPlan, i: usize) -> bool {
    let null_literal = |e: &BoundExpr| matches!(e, BoundExpr::Literal { value, ty: SqlType::Text, .. } if value.null_count() == value.len());
    match plan {
        LogicalPlan::Project { exprs, .. } => exprs.get(i).is_some_and(null_literal),
        LogicalPlan::Values { rows, .. } => {
            !rows.is_empty() && rows.iter().all(|r| r.get(i).is_some_and(null_literal))
        }
        LogicalPlan::Filter { input, .. }
        | LogicalPlan::Sort { input, .. }
        | LogicalPlan::Limit { input, .. } => null_column(input, i),
        _ => false,
    }
}

/// The plan with column `i` cast to `types[i]` where it differs.
pub(super) fn cast_columns(plan: LogicalPlan, types: &[SqlType]) -> LogicalPlan {
    let cols = plan.columns().to_vec();
    if cols.iter().zip(types).all(|(c, t)| c.ty == *t) {
        return plan;
    }
    let exprs = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let col = column_ref(&cols, i);
            if c.ty == types[i] {
                col
            } else {
                BoundExpr::Cast {
                    expr: Box::new(col),
                    ty: types[i],
                }
            }
        })
        .collect();
    let columns = cols
        .iter()
        .zip(types)
        .map(|(c, t)| ColumnInfo {
            ty: *t,
            ..c.clone()
        })
        .collect();
    LogicalPlan::Project {
        input: Box::new(plan),
        exprs,
        columns,
    }
}

/// The common type of two set-operation columns, if there is one.
pub(super) fn unify(a: SqlType, a_null: bool, b: SqlType, b_null: bool) -> Option<SqlType> {
    if a_null && !b_null {
        return Some(b);
    }
    if b_null && !a_null {
        return Some(a);
    }
    if a == b {
        return Some(a);
    }
    if a.is_numeric() && b.is_numeric() {
        return Some(numeric(a, b));
    }
    if a.is_string() && b.is_string() {
        return Some(SqlType::Text);
    }
    match (a, b) {
        (SqlType::Date, SqlType::Timestamp) | (SqlType::Timestamp, SqlType::Date) => {
            Some(SqlType::Timestamp)
        }
        (SqlType::Date | SqlType::Timestamp, SqlType::TimestampTz)
        | (SqlType::TimestampTz, SqlType::Date | SqlType::Timestamp) => Some(SqlType::TimestampTz),
        _ => None,
    }
}

/// (integer digits, scale) of an exact numeric type.
fn digits(t: SqlType) -> (u8, u8) {
    match t {
        SqlType::SmallInt => (5, 0),
        SqlType::Int => (10, 0),
        SqlType::BigInt => (19, 0),
        SqlType::Numeric { precision, scale } => (precision.saturating_sub(scale), scale),
        _ => (0, 0),
    }
}

fn numeric(a: SqlType, b: SqlType) -> SqlType {
    let is_float = |t: SqlType| matches!(t, SqlType::Double | SqlType::Real);
    if a == SqlType::Double || b == SqlType::Double {
        return SqlType::Double;
    }
    if is_float(a) || is_float(b) {
        return SqlType::Real;
    }
    let int_rank = |t: SqlType| match t {
        SqlType::SmallInt => Some(1),
        SqlType::Int => Some(2),
        SqlType::BigInt => Some(3),
        _ => None,
    };
    if let (Some(x), Some(y)) = (int_rank(a), int_rank(b)) {
        return if x >= y { a } else { b };
    }
    let ((ia, sa), (ib, sb)) = (digits(a), digits(b));
    let scale = sa.max(sb);
    let precision = (ia.max(ib) + scale).clamp(1, 38);
    SqlType::numeric(precision, scale.min(precision)).unwrap_or(SqlType::Double)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_union_is_wide_enough_for_both() {
        assert_eq!(
            unify(SqlType::Int, false, SqlType::numeric(2, 1).unwrap(), false),
            Some(SqlType::numeric(11, 1).unwrap())
        );
        assert_eq!(
            unify(SqlType::Int, false, SqlType::BigInt, false),
            Some(SqlType::BigInt)
        );
        assert_eq!(
            unify(SqlType::Text, true, SqlType::Date, false),
            Some(SqlType::Date)
        );
        assert_eq!(unify(SqlType::Int, false, SqlType::Text, false), None);
    }
}
