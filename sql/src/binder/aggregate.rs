//! Binding of aggregate calls: `f(x)`, `f(DISTINCT x)`, `count(*)`,
//! `string_agg(x, sep [ORDER BY ...])`, `median(x)`,
//! `percentile_cont(f) WITHIN GROUP (ORDER BY x)` and `FILTER (WHERE ...)`.
//!
//! Rules (Hyper's): `string_agg` takes text and a constant separator;
//! `median` and `percentile_cont` take numbers, `percentile_disc` any
//! orderable type, and their fraction is a constant between 0 and 1; the
//! variances take numbers, `bool_and`/`bool_or`/`every` booleans. An
//! argument of another type is `function f(type) does not exist` (42883).
//!
//! Invariant: an aggregate becomes a column of the grouped plan's output
//! (after the GROUP BY keys); identical calls share one column.

use hyperctl_exec::{AggregateFunction, AggregateParam};
use hyperctl_format::SqlType;
use sqlparser::ast::{self, Expr, Spanned};
use sqlparser::tokenizer::Span;

use super::expr::{
    ExprBinder, FnArg, aggregate_args, coerce, contains_aggregate, default_literal_type,
    not_supported, plain_args, type_error,
};
use super::query::sort_key;
use super::window::constant;
use crate::error::{SqlError, state};
use crate::plan::{BoundAggregate, BoundExpr, BoundSortKey};

type BindResult<T = BoundExpr> = Result<T, SqlError>;

/// A bound call before it joins the aggregate context.
struct Call {
    func: AggregateFunction,
    arg: Option<BoundExpr>,
    order_by: Vec<BoundSortKey>,
    param: AggregateParam,
}

impl ExprBinder<'_> {
    /// Binds a call of the aggregate `func` (named `name`) and returns the
    /// reference to its output column.
    pub(super) fn aggregate_call(
        &mut self,
        func: AggregateFunction,
        f: &ast::Function,
        name: &str,
        span: Span,
    ) -> BindResult {
        let not_allowed = || {
            SqlError::new(
                state::GROUPING_ERROR,
                format!("aggregate function {name} is not allowed here"),
            )
            .at(span)
        };
        if self.agg.is_none() {
            return Err(not_allowed());
        }
        let distinct = name == "approx_count_distinct"
            || matches!(
                &f.args,
                ast::FunctionArguments::List(l)
                    if l.duplicate_treatment == Some(ast::DuplicateTreatment::Distinct)
            );
        let call = self.bind_call(func, f, name, distinct, span)?;
        let filter = match &f.filter {
            None => None,
            Some(e) => {
                check_not_nested(e)?;
                let bound = self.inner().bind(e)?;
                Some(coerce(bound, SqlType::Bool, e.span(), "FILTER")?)
            }
        };
        let arg_type = call.arg.as_ref().map(|a| a.ty().to_arrow());
        if let (AggregateFunction::ArrayAgg, Some(arg)) = (call.func, &call.arg)
            && arg.ty().element().is_some()
        {
            return Err(super::array::multi_dimensional(span));
        }
        let ty = call
            .func
            .return_type(arg_type.as_ref())
            .map_err(|_| wrong_types(name, call.arg.as_ref(), span))
            .and_then(|t| match (call.func, &call.arg) {
                // The element's SQL type, which its Arrow type may not tell.
                (AggregateFunction::ArrayAgg, Some(arg)) => {
                    super::array::array_type(arg.ty(), span)
                }
                _ => SqlType::from_arrow(&t)
                    .map_err(|e| type_error(format!("function {name}: {e}"), span)),
            })?;
        let bound = BoundAggregate {
            func: call.func,
            arg: call.arg,
            ty,
            name: name.to_string(),
            distinct,
            filter,
            order_by: call.order_by,
            param: call.param,
        };
        let Some(agg) = self.agg.as_deref_mut() else {
            return Err(not_allowed());
        };
        let index = match agg.aggregates.iter().position(|a| *a == bound) {
            Some(i) => i,
            None => {
                agg.aggregates.push(bound);
                agg.aggregates.len() - 1
            }
        };
        Ok(BoundExpr::Column {
            index: agg.group_by.len() + index,
            ty,
            nullable: !matches!(
                call.func,
                AggregateFunction::CountStar | AggregateFunction::Count
            ),
        })
    }

    /// The binder for arguments: same scope, no aggregate context.
    fn inner(&self) -> ExprBinder<'_> {
        ExprBinder {
            scope: self.scope,
            agg: None,
            ctx: self.ctx,
        }
    }

    /// Binds an argument (no nested aggregates, subqueries or windows).
    fn bind_arg(&self, e: &Expr) -> BindResult {
        check_not_nested(e)?;
        let arg = self.inner().bind(e)?;
        if arg.has_placeholder() {
            return Err(not_supported(
                "a subquery or window function inside an aggregate",
                e.span(),
            ));
        }
        Ok(default_literal_type(arg))
    }

    fn bind_call(
        &self,
        func: AggregateFunction,
        f: &ast::Function,
        name: &str,
        distinct: bool,
        span: Span,
    ) -> BindResult<Call> {
        use AggregateFunction as F;
        let args = match &f.args {
            ast::FunctionArguments::List(list) => plain_args(list, span)?,
            _ => aggregate_args(f, span)?,
        };
        let order = self.call_order(f, span)?;
        let percentile = name.starts_with("percentile_");
        if percentile == f.within_group.is_empty() {
            return Err(SqlError::new(
                state::WRONG_OBJECT_TYPE,
                if percentile {
                    format!("{name} needs WITHIN GROUP (ORDER BY ...)")
                } else {
                    format!("{name} is not an ordered-set aggregate, so it has no WITHIN GROUP")
                },
            )
            .at(span));
        }
        let wrong_count = || {
            SqlError::new(
                state::UNDEFINED_FUNCTION,
                format!("function {name} takes {} argument(s)", arity(func)),
            )
            .at(span)
        };
        let plain = |func, arg| Call {
            func,
            arg,
            order_by: Vec::new(),
            param: AggregateParam::None,
        };
        Ok(match (func, args.as_slice()) {
            (F::Count, [FnArg::Star]) if distinct => {
                return Err(SqlError::new(
                    state::SYNTAX_ERROR,
                    "count(DISTINCT *) is not valid; name a column",
                )
                .at(span));
            }
            (F::Count, [FnArg::Star]) => plain(F::CountStar, None),
            (F::PercentileCont | F::PercentileDisc, [FnArg::Expr(p)]) if percentile => {
                let [key] = f.within_group.as_slice() else {
                    return Err(not_supported(
                        &format!("{name} with more than one WITHIN GROUP key"),
                        span,
                    ));
                };
                let fraction = self.fraction(p, name)?;
                let arg = self.bind_arg(&key.expr)?;
                Call {
                    func,
                    arg: Some(arg.clone()),
                    order_by: vec![sort_key(arg, key)],
                    param: AggregateParam::Fraction(fraction),
                }
            }
            (F::PercentileCont, [FnArg::Expr(x)]) => {
                // median(x)
                let arg = self.bind_arg(x)?;
                Call {
                    func,
                    arg: Some(arg.clone()),
                    order_by: vec![BoundSortKey {
                        expr: arg,
                        descending: false,
                        nulls_first: false,
                    }],
                    param: AggregateParam::Fraction(0.5),
                }
            }
            (F::StringAgg, [FnArg::Expr(x), FnArg::Expr(sep)]) => {
                let arg = self.bind_arg(x)?;
                if !arg.ty().is_string() {
                    return Err(wrong_types(name, Some(&arg), span));
                }
                let arg = coerce(arg, SqlType::Text, x.span(), name)?;
                Call {
                    func,
                    arg: Some(arg),
                    order_by: order,
                    param: AggregateParam::Separator(self.separator(sep, name)?),
                }
            }
            (F::ArrayAgg, [FnArg::Expr(x)]) => Call {
                func,
                arg: Some(self.bind_arg(x)?),
                order_by: order,
                param: AggregateParam::None,
            },
            (F::StringAgg | F::PercentileCont | F::PercentileDisc, _) => {
                return Err(wrong_count());
            }
            (func, [FnArg::Expr(e)]) => plain(func, Some(self.bind_arg(e)?)),
            _ => return Err(wrong_count()),
        })
    }

    /// The ORDER BY inside the call's parentheses (`string_agg(x, ',' ORDER BY y)`).
    fn call_order(&self, f: &ast::Function, span: Span) -> BindResult<Vec<BoundSortKey>> {
        let ast::FunctionArguments::List(list) = &f.args else {
            return Ok(Vec::new());
        };
        let mut keys = Vec::new();
        for clause in &list.clauses {
            let ast::FunctionArgumentClause::OrderBy(order) = clause else {
                return Err(not_supported("this clause in an aggregate call", span));
            };
            for o in order {
                keys.push(sort_key(self.bind_arg(&o.expr)?, o));
            }
        }
        Ok(keys)
    }

    /// A percentile's fraction: a numeric constant from 0 to 1.
    fn fraction(&self, e: &Expr, name: &str) -> BindResult<f64> {
        let bound = self.bind_arg(e)?;
        let Some(v) = constant(&bound) else {
            return Err(SqlError::new(
                state::FEATURE_NOT_SUPPORTED,
                format!("ordered-set aggregate \"{name}\" expects one constant argument"),
            )
            .at(e.span()));
        };
        if !(0.0..=1.0).contains(&v) {
            return Err(SqlError::new(
                state::NUMERIC_VALUE_OUT_OF_RANGE,
                format!("percentile value {v} is not between 0 and 1"),
            )
            .at(e.span()));
        }
        Ok(v)
    }

    /// `string_agg`'s separator: a constant string.
    fn separator(&self, e: &Expr, name: &str) -> BindResult<String> {
        let bound = self.bind_arg(e)?;
        let text = match &bound {
            BoundExpr::Literal { value, .. } if value.is_valid(0) => {
                hyperctl_exec::cast_array(value, &SqlType::Text.to_arrow())
                    .ok()
                    .and_then(|t| {
                        use hyperctl_exec::arrow::array::AsArray;
                        t.as_string_opt::<i32>().map(|s| s.value(0).to_string())
                    })
            }
            _ => None,
        };
        text.ok_or_else(|| {
            SqlError::new(
                state::FEATURE_NOT_SUPPORTED,
                format!("\"{name}\" requires a constant separator"),
            )
            .at(e.span())
        })
    }
}

/// How many arguments the function takes, for the error message.
fn arity(func: AggregateFunction) -> &'static str {
    match func {
        AggregateFunction::StringAgg => "exactly two",
        _ => "exactly one",
    }
}

fn check_not_nested(e: &Expr) -> BindResult<()> {
    if contains_aggregate(e) {
        return Err(SqlError::new(
            state::GROUPING_ERROR,
            "aggregate function calls cannot be nested",
        )
        .at(e.span()));
    }
    Ok(())
}

/// `function f(type) does not exist`, as PostgreSQL says it.
fn wrong_types(name: &str, arg: Option<&BoundExpr>, span: Span) -> SqlError {
    let ty = arg.map_or_else(|| "*".to_string(), super::functions::type_name);
    SqlError::new(
        state::UNDEFINED_FUNCTION,
        format!("function {name}({ty}) does not exist"),
    )
    .at(span)
    .hint("no aggregate of that name takes this argument type; you might need an explicit cast")
}
