//! Column defaults: `DEFAULT expr` in CREATE TABLE and ADD COLUMN, and
//! their use by INSERT (omitted columns, the `DEFAULT` keyword, DEFAULT
//! VALUES) and UPDATE (`SET c = DEFAULT`).
//!
//! The catalog keeps a default as SQL text; it is parsed and bound again
//! each time a statement uses it, so a default such as `random()` is
//! evaluated per row, as in Hyper.
//!
//! Invariant: a stored default parses as one expression without column
//! references or subqueries (checked when the column is defined).

use hyperctl_storage::ColumnDef;
use sqlparser::ast::{self, Spanned};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Span;

use super::Scope;
use super::expr::{ExprBinder, coerce, literal};
use crate::error::{SqlError, state};
use crate::plan::BoundExpr;

type BindResult<T> = Result<T, SqlError>;

/// Whether `e` is the keyword DEFAULT (sqlparser reads it as an identifier).
pub(super) fn is_default_keyword(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Identifier(id)
        if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"))
}

/// Checks `DEFAULT e` of column `col` and returns the text to store (also
/// for `DEFAULT NULL`: the column then has a default, and a NOT NULL one
/// fails when it is used rather than when it is left out). As Hyper: column references are unknown columns,
/// subqueries are refused, and a value of another type family is
/// "incompatible data type in default value".
pub(super) fn check_default(e: &ast::Expr, col: &ColumnDef) -> BindResult<Option<String>> {
    // Bound without a query context, a subquery is refused; Hyper says so
    // with a syntax error.
    let bound = ExprBinder::plain(&Scope::default())
        .bind(e)
        .map_err(|err| {
            if err.sqlstate == state::FEATURE_NOT_SUPPORTED && err.message.contains("subquery") {
                SqlError::new(
                    state::SYNTAX_ERROR,
                    "subqueries are not supported in this context",
                )
                .at(e.span())
            } else {
                err
            }
        })?;
    match coerce(bound, col.ty, e.span(), "DEFAULT") {
        Ok(_) => {}
        Err(err) if err.sqlstate == state::DATATYPE_MISMATCH => {
            return Err(SqlError::new(
                state::SYNTAX_ERROR,
                format!(
                    "incompatible data type in default value for column '{}'",
                    col.name
                ),
            )
            .at(e.span()));
        }
        // A literal that does not convert (`int DEFAULT 'x'`) fails when an
        // INSERT uses it, as in Hyper.
        Err(_) => {}
    }
    Ok(Some(e.to_string()))
}

/// Whether a default is a constant (ADD COLUMN fills existing rows with
/// it once): no function calls other than casts, as Hyper refuses `now()`.
pub(super) fn is_constant(e: &ast::Expr) -> bool {
    match e {
        ast::Expr::Value(_) | ast::Expr::TypedString { .. } => true,
        ast::Expr::Nested(x) | ast::Expr::UnaryOp { expr: x, .. } => is_constant(x),
        ast::Expr::Cast { expr, .. } => is_constant(expr),
        ast::Expr::BinaryOp { left, right, .. } => is_constant(left) && is_constant(right),
        _ => false,
    }
}

/// The value column `col` gets where a statement does not give one: its
/// default converted to the column's type, or a NULL of that type.
pub(super) fn default_value(col: &ColumnDef, span: Span) -> BindResult<BoundExpr> {
    let bound = match &col.default {
        None => literal(&ast::Value::Null, span)?,
        Some(text) => {
            let parsed = Parser::new(&PostgreSqlDialect {})
                .try_with_sql(text)
                .and_then(|mut p| p.parse_expr())
                .map_err(|e| {
                    SqlError::new(
                        state::INTERNAL_ERROR,
                        format!(
                            "the stored default of column \"{}\" does not parse ({e}); please report this bug",
                            col.name
                        ),
                    )
                    .at(span)
                })?;
            ExprBinder::plain(&Scope::default())
                .bind(&parsed)
                .map_err(|e| relocate(e, span))?
        }
    };
    coerce(bound, col.ty, span, &format!("column \"{}\"", col.name)).map_err(|e| relocate(e, span))
}

/// An error inside a stored default points at the statement that used it
/// (positions inside the default's own text mean nothing there).
fn relocate(mut e: SqlError, span: Span) -> SqlError {
    e.position = None;
    e.at(span)
}
