//! Arrays in expressions, as Hyper has them: the `ARRAY[...]` constructor,
//! subscripts `a[i]` and slices `a[lo:hi]` (1-based), `array_length(a)`,
//! `array_to_string(a, sep [, null_text])`, `||` with an array, `=` and
//! `<>` of arrays, and `x op ANY (array)`.
//!
//! Rules (Hyper's): one dimension only ("Multi-dimensional arrays are not
//! supported"); the elements meet in one type as `greatest`'s arguments do;
//! an array of untyped NULLs has no type; VARCHAR elements are TEXT.
//! Arrays are not persisted (see `check_persistable`).

use std::sync::Arc;

use hyperctl_exec::ScalarFunction;
use hyperctl_exec::arrow::array::{Array, ListArray, new_empty_array};
use hyperctl_exec::arrow::buffer::OffsetBuffer;
use hyperctl_exec::arrow::datatypes::Field;
use hyperctl_format::SqlType;
use sqlparser::ast::{self, Expr, Spanned};
use sqlparser::tokenizer::Span;

use super::expr::{ExprBinder, cast, coerce, not_supported, type_error};
use super::functions::{Arg, common_args};
use crate::error::{SqlError, state};
type BindResult = Result<BoundExpr, SqlError>;
use crate::plan::BoundExpr;

/// The error for an array of arrays.
pub(crate) fn multi_dimensional(span: Span) -> SqlError {
    SqlError::new(
        state::FEATURE_NOT_SUPPORTED,
        "Multi-dimensional arrays are not supported",
    )
    .at(span)
}

impl ExprBinder<'_> {
    /// `ARRAY[a, b, ...]`.
    pub(super) fn array_constructor(&mut self, array: &ast::Array, span: Span) -> BindResult {
        if array.elem.is_empty() {
            return Err(SqlError::new(
                state::INDETERMINATE_DATATYPE,
                "cannot determine the type of an empty array",
            )
            .at(span)
            .hint("give its type: ARRAY[]::int[]"));
        }
        let mut args = Vec::with_capacity(array.elem.len());
        for e in &array.elem {
            if matches!(e, Expr::Array(_)) {
                return Err(multi_dimensional(e.span()));
            }
            let expr = self.bind(e)?;
            if expr.ty().element().is_some() {
                return Err(multi_dimensional(e.span()));
            }
            args.push(Arg {
                expr,
                span: e.span(),
            });
        }
        if args.iter().all(|a| is_untyped_null(&a.expr)) {
            return Err(SqlError::new(
                state::INDETERMINATE_DATATYPE,
                "could not deduce expression type, use 'NULL::<type>' to specify the type",
            )
            .at(span));
        }
        let (element, exprs) = common_args(args, "ARRAY")?;
        let ty = array_type(element, span)?;
        let element = ty.element().unwrap_or(element);
        let exprs = exprs
            .into_iter()
            .map(|e| {
                if e.ty() == element {
                    Ok(e)
                } else {
                    cast(e, element, span)
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(BoundExpr::Function {
            func: ScalarFunction::MakeArray,
            args: exprs,
            ty,
        })
    }

    /// `CAST(ARRAY[] AS t[])`: an empty array of that type.
    pub(super) fn empty_array(&self, ty: SqlType, span: Span) -> BindResult {
        let Some(element) = ty.element() else {
            return Err(type_error(
                format!("cannot cast an empty array to {ty}"),
                span,
            ));
        };
        let list = ListArray::try_new(
            Arc::new(Field::new_list_field(element.to_arrow(), true)),
            OffsetBuffer::new_zeroed(1),
            new_empty_array(&element.to_arrow()),
            None,
        )
        .map_err(|e| type_error(e.to_string(), span))?;
        Ok(BoundExpr::Literal {
            value: Arc::new(list),
            ty,
            untyped: false,
        })
    }

    /// `a[i]`, `a[lo:hi]` (one subscript: arrays have one dimension).
    pub(super) fn subscript(
        &mut self,
        root: &Expr,
        chain: &[ast::AccessExpr],
        span: Span,
    ) -> BindResult {
        let [ast::AccessExpr::Subscript(sub)] = chain else {
            return Err(not_supported("this field access", span));
        };
        let array = self.bind(root)?;
        let ty = array.ty();
        let Some(element) = ty.element() else {
            return Err(type_error(
                format!("cannot subscript type {} because it is not an array", ty),
                root.span(),
            ));
        };
        let mut index = |e: &Expr| -> BindResult {
            let b = self.bind(e)?;
            if !(b.ty().is_integer() || b.is_untyped_literal()) {
                return Err(type_error(
                    format!("array subscript must have type integer, not {}", b.ty()),
                    e.span(),
                ));
            }
            coerce(b, SqlType::BigInt, e.span(), "array subscript")
        };
        match sub {
            ast::Subscript::Index { index: i } => Ok(BoundExpr::Function {
                func: ScalarFunction::ArrayElement,
                args: vec![array, index(i)?],
                ty: element,
            }),
            ast::Subscript::Slice {
                lower_bound: Some(lo),
                upper_bound: Some(hi),
                stride: None,
            } => Ok(BoundExpr::Function {
                func: ScalarFunction::ArraySlice,
                args: vec![array, index(lo)?, index(hi)?],
                ty,
            }),
            _ => Err(not_supported(
                "array slices without both bounds or with a stride",
                span,
            )),
        }
    }
}

/// `FROM unnest(a) [WITH ORDINALITY]` of a constant array: its elements as
/// rows (column `unnest`, and `ordinality`, BIGINT from 1). The array is
/// computed while binding; an array that reads columns (LATERAL) is not
/// supported.
pub(super) fn unnest_rows(
    scope: &super::Scope,
    array_exprs: &[Expr],
    with_ordinality: bool,
    span: Span,
) -> Result<crate::plan::LogicalPlan, SqlError> {
    use crate::plan::{ColumnInfo, LogicalPlan};
    use hyperctl_exec::arrow::record_batch::{RecordBatch, RecordBatchOptions};
    let [e] = array_exprs else {
        return Err(not_supported("unnest of more than one array", span));
    };
    let bound = ExprBinder::plain(scope).bind(e)?;
    let Some(element) = bound.ty().element() else {
        return Err(SqlError::new(
            state::UNDEFINED_FUNCTION,
            format!(
                "function unnest({}) does not exist",
                bound.ty().to_string().to_lowercase()
            ),
        )
        .at(e.span()));
    };
    let mut reads = false;
    bound.visit_columns(&mut |_| reads = true);
    if reads || bound.has_outer() {
        return Err(not_supported(
            "unnest of an array that reads columns (LATERAL)",
            e.span(),
        ));
    }
    let one_row = RecordBatch::try_new_with_options(
        Arc::new(hyperctl_exec::arrow::datatypes::Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .map_err(|err| type_error(err.to_string(), span))?;
    let array = bound
        .to_physical()
        .evaluate(&one_row)
        .map_err(|err| SqlError::new(state::INVALID_PARAMETER, err.to_string()).at(e.span()))?;
    let (values, rows) =
        hyperctl_exec::unnest(&array).map_err(|err| type_error(err.to_string(), e.span()))?;
    let ordinals = hyperctl_exec::ordinality(&rows);
    let mut out = Vec::with_capacity(values.len());
    for i in 0..values.len() {
        let mut row = vec![BoundExpr::Literal {
            value: values.slice(i, 1),
            ty: element,
            untyped: false,
        }];
        if with_ordinality {
            row.push(BoundExpr::Literal {
                value: ordinals.slice(i, 1),
                ty: SqlType::BigInt,
                untyped: false,
            });
        }
        out.push(row);
    }
    let mut columns = vec![ColumnInfo {
        name: "unnest".into(),
        ty: element,
        nullable: true,
        qualifier: None,
    }];
    if with_ordinality {
        columns.push(ColumnInfo {
            name: "ordinality".into(),
            ty: SqlType::BigInt,
            nullable: false,
            qualifier: None,
        });
    }
    if out.is_empty() {
        return Ok(LogicalPlan::Filter {
            input: Box::new(LogicalPlan::Values {
                rows: vec![columns.iter().map(|c| null_literal(c.ty)).collect()],
                columns,
            }),
            predicate: BoundExpr::Literal {
                value: Arc::new(hyperctl_exec::arrow::array::BooleanArray::from(vec![false])),
                ty: SqlType::Bool,
                untyped: false,
            },
            keeps: None,
        });
    }
    Ok(LogicalPlan::Values { rows: out, columns })
}

fn null_literal(ty: SqlType) -> BoundExpr {
    BoundExpr::Literal {
        value: hyperctl_exec::arrow::array::new_null_array(&ty.to_arrow(), 1),
        ty,
        untyped: false,
    }
}

/// `SELECT unnest(a) [AS x], <constants>` without FROM, as `SELECT unnest
/// [AS x], ... FROM unnest(a)`; `None` for any other SELECT. Other uses of
/// `unnest` in the select list are not supported (the function binder
/// says so).
pub(super) fn select_list_unnest(select: &ast::Select) -> Option<ast::Select> {
    if !select.from.is_empty() {
        return None;
    }
    let unnest_arg = |e: &Expr| -> Option<Expr> {
        let Expr::Function(f) = e else { return None };
        if !f.name.to_string().eq_ignore_ascii_case("unnest") {
            return None;
        }
        let ast::FunctionArguments::List(list) = &f.args else {
            return None;
        };
        match list.args.as_slice() {
            [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a))] => Some(a.clone()),
            _ => None,
        }
    };
    let mut found = None;
    let mut projection = Vec::with_capacity(select.projection.len());
    for item in &select.projection {
        let (expr, alias) = match item {
            ast::SelectItem::UnnamedExpr(e) => (e, None),
            ast::SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias)),
            other => {
                projection.push(other.clone());
                continue;
            }
        };
        match unnest_arg(expr) {
            Some(arg) if found.is_none() => {
                found = Some(arg);
                let column = Expr::Identifier(ast::Ident::new("unnest"));
                projection.push(match alias {
                    None => ast::SelectItem::ExprWithAlias {
                        expr: column,
                        alias: ast::Ident::new("unnest"),
                    },
                    Some(a) => ast::SelectItem::ExprWithAlias {
                        expr: column,
                        alias: a.clone(),
                    },
                });
            }
            _ => projection.push(item.clone()),
        }
    }
    let arg = found?;
    let mut out = select.clone();
    out.projection = projection;
    out.from = vec![ast::TableWithJoins {
        relation: ast::TableFactor::UNNEST {
            alias: None,
            array_exprs: vec![arg],
            with_offset: false,
            with_offset_alias: None,
            with_ordinality: false,
        },
        joins: Vec::new(),
    }];
    Some(out)
}

/// The array type of `element`s, or the error for an array of arrays.
pub(crate) fn array_type(element: SqlType, span: Span) -> Result<SqlType, SqlError> {
    SqlType::array_of(element).map_err(|_| multi_dimensional(span))
}

/// `array_length(a)`, `array_to_string(a, sep [, null_text])`; the
/// arguments back when `name` is not an array function.
pub(super) fn array_function(
    name: &str,
    args: Vec<Arg>,
    span: Span,
) -> Result<BindResult, Vec<Arg>> {
    let wrong_count = |expected: &str, got: usize| {
        Err(SqlError::new(
            state::UNDEFINED_FUNCTION,
            format!(
                "wrong number of arguments when calling \"{name}\": Expected {expected}, received {got}."
            ),
        )
        .at(span))
    };
    match name {
        "array_length" if args.len() != 1 => Ok(wrong_count("1", args.len())),
        "array_to_string" if !(2..=3).contains(&args.len()) => {
            Ok(wrong_count("2 or 3", args.len()))
        }
        "array_length" | "array_to_string" => Ok(bind_array_function(name, args, span)),
        "unnest" => Ok(Err(not_supported(
            "unnest here (it is supported alone in a select list without FROM, and as \
             FROM unnest(...))",
            span,
        ))),
        _ => Err(args),
    }
}

/// Whether `e` is an untyped NULL literal.
fn is_untyped_null(e: &BoundExpr) -> bool {
    matches!(e, BoundExpr::Literal { value, untyped: true, .. } if value.is_null(0))
}

fn bind_array_function(name: &str, args: Vec<Arg>, span: Span) -> BindResult {
    let mut it = args.into_iter();
    let Some(first) = it.next() else {
        return Err(not_supported(&format!("{name}()"), span));
    };
    let array = as_array(first, name)?;
    if name == "array_length" {
        return Ok(BoundExpr::Function {
            func: ScalarFunction::ArrayLength,
            args: vec![array],
            ty: SqlType::Int,
        });
    }
    let mut out = vec![array];
    for a in it {
        let t = a.expr.ty();
        if !(t.is_string() || a.expr.is_untyped_literal()) {
            return Err(type_error(
                format!("function {name} takes text separators, not {t}"),
                a.span,
            ));
        }
        out.push(if t == SqlType::Text {
            a.expr
        } else {
            cast(a.expr, SqlType::Text, a.span)?
        });
    }
    Ok(BoundExpr::Function {
        func: ScalarFunction::ArrayToString,
        args: out,
        ty: SqlType::Text,
    })
}

/// An argument that must be an array (an untyped NULL is not one).
fn as_array(a: Arg, name: &str) -> BindResult {
    if a.expr.ty().element().is_some() {
        return Ok(a.expr);
    }
    Err(SqlError::new(
        state::UNDEFINED_FUNCTION,
        format!(
            "function {name}({}) does not exist",
            a.expr.ty().to_string().to_lowercase()
        ),
    )
    .at(a.span)
    .hint("the first argument must be an array"))
}

/// Whether `||` or a comparison has an array operand (and so is an array
/// operation).
pub(super) fn is_array_operation(l: &BoundExpr, r: &BoundExpr) -> bool {
    l.ty().element().is_some() || r.ty().element().is_some()
}

/// `a || b` where one side is an array: concatenation, or an element
/// appended or prepended (converted to the array's element type).
pub(super) fn array_concat(l: BoundExpr, r: BoundExpr, spans: (Span, Span)) -> BindResult {
    let (lt, rt) = (l.ty(), r.ty());
    match (lt.element(), rt.element()) {
        (Some(a), Some(b)) => {
            let (l, r, ty) = meet_arrays(l, r, a, b, spans)?;
            Ok(BoundExpr::Function {
                func: ScalarFunction::ArrayConcat,
                args: vec![l, r],
                ty,
            })
        }
        (Some(a), None) => {
            let (l, r, ty) = meet_element(l, r, a, spans.0, spans.1)?;
            Ok(BoundExpr::Function {
                func: ScalarFunction::ArrayAppend,
                args: vec![l, r],
                ty,
            })
        }
        (None, Some(b)) => {
            let (r, l, ty) = meet_element(r, l, b, spans.1, spans.0)?;
            Ok(BoundExpr::Function {
                func: ScalarFunction::ArrayPrepend,
                args: vec![l, r],
                ty,
            })
        }
        (None, None) => Err(type_error("|| of two non-arrays".into(), spans.0)),
    }
}

/// Two arrays brought to one element type.
fn meet_arrays(
    l: BoundExpr,
    r: BoundExpr,
    a: SqlType,
    b: SqlType,
    spans: (Span, Span),
) -> Result<(BoundExpr, BoundExpr, SqlType), SqlError> {
    if a == b {
        let ty = l.ty();
        return Ok((l, r, ty));
    }
    let probe = |t: SqlType, span| Arg {
        expr: BoundExpr::Literal {
            value: hyperctl_exec::arrow::array::new_null_array(&t.to_arrow(), 1),
            ty: t,
            untyped: false,
        },
        span,
    };
    let (element, _) = common_args(vec![probe(a, spans.0), probe(b, spans.1)], "ARRAY")?;
    let ty = array_type(element, spans.0)?;
    let l = if l.ty() == ty {
        l
    } else {
        cast(l, ty, spans.0)?
    };
    let r = if r.ty() == ty {
        r
    } else {
        cast(r, ty, spans.1)?
    };
    Ok((l, r, ty))
}

/// An array and an element brought to one element type.
fn meet_element(
    array: BoundExpr,
    elem: BoundExpr,
    a: SqlType,
    aspan: Span,
    espan: Span,
) -> Result<(BoundExpr, BoundExpr, SqlType), SqlError> {
    if elem.is_untyped_literal() {
        let elem = coerce(elem, a, espan, "||")?;
        let ty = array.ty();
        return Ok((array, elem, ty));
    }
    let args = vec![
        Arg {
            expr: BoundExpr::Literal {
                value: hyperctl_exec::arrow::array::new_null_array(&a.to_arrow(), 1),
                ty: a,
                untyped: false,
            },
            span: aspan,
        },
        Arg {
            expr: elem,
            span: espan,
        },
    ];
    let (element, mut exprs) = common_args(args, "ARRAY")?;
    let ty = array_type(element, aspan)?;
    let element = ty.element().unwrap_or(element);
    let elem = exprs
        .pop()
        .ok_or_else(|| type_error("|| without operand".into(), espan))?;
    let elem = if elem.ty() == element {
        elem
    } else {
        cast(elem, element, espan)?
    };
    let array = if array.ty() == ty {
        array
    } else {
        cast(array, ty, aspan)?
    };
    Ok((array, elem, ty))
}

/// `a = b`, `a <> b` of arrays (other comparisons are not supported).
pub(super) fn array_compare(
    op: &ast::BinaryOperator,
    l: BoundExpr,
    r: BoundExpr,
    spans: (Span, Span),
    span: Span,
) -> BindResult {
    let negated = match op {
        ast::BinaryOperator::Eq => false,
        ast::BinaryOperator::NotEq => true,
        other => return Err(not_supported(&format!("operator {other} on arrays"), span)),
    };
    let l = if l.is_untyped_literal() {
        cast(l, r.ty(), spans.0)?
    } else {
        l
    };
    let r = if r.is_untyped_literal() {
        cast(r, l.ty(), spans.1)?
    } else {
        r
    };
    let (Some(a), Some(b)) = (l.ty().element(), r.ty().element()) else {
        return Err(type_error(
            format!("operator does not exist: {} {op} {}", l.ty(), r.ty()),
            span,
        ));
    };
    let (l, r, _) = meet_arrays(l, r, a, b, spans)?;
    Ok(BoundExpr::Function {
        func: ScalarFunction::ArrayEquals { negated },
        args: vec![l, r],
        ty: SqlType::Bool,
    })
}

/// Hyper does not persist arrays: the error for a table column of an array
/// type (`Data type not allowed for persisted tables.`).
pub(crate) fn check_persistable(column: &str, ty: SqlType) -> Result<(), SqlError> {
    if ty.element().is_none() {
        return Ok(());
    }
    Err(SqlError::new(
        state::FEATURE_NOT_SUPPORTED,
        "Data type not allowed for persisted tables.",
    )
    .hint(format!(
        "Persistence of data type '{}' not allowed (column \"{column}\").",
        pg_array_name(ty)
    )))
}

/// Hyper's name of an array type: `array(integer)`.
pub(crate) fn pg_array_name(ty: SqlType) -> String {
    let element = ty.element().unwrap_or(ty);
    format!("array({})", super::functions::pg_type_name_of(element))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persisted_arrays_are_rejected_with_hypers_message() {
        let ints = SqlType::array_of(SqlType::Int).unwrap();
        let e = check_persistable("a", ints).unwrap_err();
        assert!(
            e.to_string()
                .contains("Data type not allowed for persisted tables.")
        );
        assert!(check_persistable("a", SqlType::Int).is_ok());
        assert_eq!(pg_array_name(ints), "array(integer)");
    }
}
