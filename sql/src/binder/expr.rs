//! Binding of scalar expressions: names to columns, literals to typed arrays,
//! operators to typed exec operators with implicit casts.
//!
//! Type rules follow Hyper (PostgreSQL's with Hyper's differences): integer
//! literals are INTEGER or BIGINT by size, decimal literals NUMERIC(p,s),
//! exponent literals DOUBLE PRECISION; string and NULL literals take the type
//! their context needs; arithmetic wants numeric operands (Hyper does not
//! coerce strings there: `'1' + 2` is an error).

use std::sync::Arc;

use hyperctl_exec::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Decimal128Array, Float64Array, Int32Array, Int64Array,
    StringArray, new_null_array,
};
use hyperctl_exec::arrow::compute::{CastOptions, cast_with_options};
use hyperctl_exec::arrow::datatypes::{DataType, Int32Type, Int64Type};
use hyperctl_exec::{AggregateFunction, BinaryOp, BitOp, PhysicalExpr};
use hyperctl_format::SqlType;
use sqlparser::ast::{self, Expr, Spanned, Value};
use sqlparser::tokenizer::Span;

use super::Scope;
use super::context::{BindCtx, SubJoin, SubKind};
use super::functions;
use crate::error::{SqlError, state};
use crate::plan::{BoundAggregate, BoundExpr};

/// Aggregate context: while binding the select list, HAVING and ORDER BY of a
/// grouped query, column references must match a GROUP BY expression and
/// aggregate calls become references to the aggregate's output.
#[derive(Debug, Default)]
pub(crate) struct AggContext {
    pub(crate) group_by: Vec<BoundExpr>,
    pub(crate) aggregates: Vec<BoundAggregate>,
    /// GROUPING SETS / ROLLUP / CUBE (`grouping.rs`): a key mask per set;
    /// then the last `group_by` entry is the set id. Empty for a plain
    /// GROUP BY.
    pub(crate) grouping_sets: Vec<u64>,
}

impl AggContext {
    pub(crate) fn group_ref(&self, index: usize) -> BoundExpr {
        let e = &self.group_by[index];
        BoundExpr::Column {
            index,
            ty: e.ty(),
            // A key is NULL in the rows of the sets that leave it out.
            nullable: e.nullable() || !self.grouping_sets.is_empty(),
        }
    }
}

/// Binds expressions against one scope (the FROM clause's columns).
#[derive(Debug)]
pub(crate) struct ExprBinder<'a> {
    pub(crate) scope: &'a Scope,
    pub(crate) agg: Option<&'a mut AggContext>,
    /// The query level's context; without one, subqueries and window
    /// functions are not allowed (VALUES, LIMIT, JOIN ... ON).
    pub(crate) ctx: Option<&'a BindCtx<'a>>,
}

impl std::fmt::Debug for BindCtx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BindCtx")
    }
}

type BindResult = Result<BoundExpr, SqlError>;

impl<'a> ExprBinder<'a> {
    pub(crate) fn plain(scope: &'a Scope) -> Self {
        ExprBinder {
            scope,
            agg: None,
            ctx: None,
        }
    }

    pub(crate) fn in_ctx(scope: &'a Scope, ctx: &'a BindCtx<'a>) -> Self {
        ExprBinder {
            scope,
            agg: None,
            ctx: Some(ctx),
        }
    }

    /// The same scope and context without the aggregate context.
    fn without_agg(&self) -> ExprBinder<'a> {
        ExprBinder {
            scope: self.scope,
            agg: None,
            ctx: self.ctx,
        }
    }

    pub(crate) fn bind(&mut self, expr: &Expr) -> BindResult {
        if self.agg.is_some() && !contains_aggregate(expr) && !contains_deferred(expr) {
            let plain = self.without_agg().bind(expr)?;
            // An outer reference is a constant inside this query.
            let mut reads_columns = false;
            plain.visit_columns(&mut |_| reads_columns = true);
            if !reads_columns && plain.has_outer() {
                return Ok(plain);
            }
            let agg = self.agg.as_deref().expect("checked above");
            if let Some(i) = agg.group_by.iter().position(|g| *g == plain) {
                return Ok(agg.group_ref(i));
            }
            match expr {
                // A bare column that is not grouped: the classic error.
                Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                    let name = first_column(expr).unwrap_or_default();
                    return Err(SqlError::new(
                        state::GROUPING_ERROR,
                        format!(
                            "column \"{name}\" must appear in the GROUP BY clause or be used in an aggregate function"
                        ),
                    )
                    .at(expr.span()));
                }
                // Constants need no grouping.
                _ if first_column(expr).is_none() => return Ok(plain),
                // Otherwise its parts must each be grouped (`a + 1` with GROUP BY a).
                _ => {}
            }
        }
        self.bind_node(expr)
    }

    fn bind_node(&mut self, expr: &Expr) -> BindResult {
        match expr {
            Expr::Identifier(ident) => self.resolve(None, ident),
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [table, column] => self.resolve(Some(table), column),
                _ => Err(not_supported("names with more than two parts", expr.span())),
            },
            Expr::Value(v) => literal(&v.value, v.span),
            Expr::Nested(inner) => self.bind(inner),
            Expr::BinaryOp { left, op, right } => self.binary(left, op, right, expr.span()),
            Expr::UnaryOp { op, expr: inner } => self.unary(*op, inner, expr.span()),
            Expr::IsNull(e) => Ok(BoundExpr::IsNull(Box::new(self.bind(e)?))),
            Expr::IsNotNull(e) => Ok(BoundExpr::IsNotNull(Box::new(self.bind(e)?))),
            Expr::Cast {
                expr: inner,
                data_type,
                format: None,
                ..
            } => {
                let ty = sql_type(data_type, expr.span())?;
                if let Expr::Array(a) = inner.as_ref()
                    && a.elem.is_empty()
                {
                    return self.empty_array(ty, inner.span());
                }
                let bound = self.bind(inner)?;
                cast(bound, ty, inner.span())
            }
            Expr::Interval(iv) => interval_literal(iv, expr.span()),
            Expr::TypedString(ts) => {
                let ty = sql_type(&ts.data_type, expr.span())?;
                let bound = literal(&ts.value.value, ts.value.span)?;
                cast(bound, ty, ts.value.span)
            }
            Expr::Function(f) => self.function(f, expr.span()),
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.case(
                operand.as_deref(),
                conditions,
                else_result.as_deref(),
                expr.span(),
            ),
            Expr::Between {
                expr: x,
                negated,
                low,
                high,
            } => self.between(x, *negated, low, high),
            Expr::In {
                expr: x,
                target: ast::InTarget::List(list),
                negated,
                ..
            } => self.in_list(x, list, *negated),
            Expr::Like {
                negated,
                any: false,
                expr: x,
                pattern,
                escape_char,
            } => self.like(x, pattern, *negated, false, escape_char.as_deref()),
            Expr::ILike {
                negated,
                any: false,
                expr: x,
                pattern,
                escape_char,
            } => self.like(x, pattern, *negated, true, escape_char.as_deref()),
            Expr::SimilarTo {
                negated,
                expr: x,
                pattern,
                escape_char: None,
            } => self.similar_to(x, pattern, *negated, expr.span()),
            Expr::IsDistinctFrom(a, b) => self.distinct(a, b, true),
            Expr::IsNotDistinctFrom(a, b) => self.distinct(a, b, false),
            Expr::IsTrue(e) => self.is_bool(e, true, false),
            Expr::IsNotTrue(e) => self.is_bool(e, true, true),
            Expr::IsFalse(e) => self.is_bool(e, false, false),
            Expr::IsNotFalse(e) => self.is_bool(e, false, true),
            Expr::IsUnknown(e) => self.is_unknown(e, false),
            Expr::IsNotUnknown(e) => self.is_unknown(e, true),
            Expr::Substring {
                expr: x,
                substring_from,
                substring_for,
                ..
            } => self.substring(
                x,
                substring_from.as_deref(),
                substring_for.as_deref(),
                expr.span(),
            ),
            Expr::Trim {
                expr: x,
                trim_where,
                trim_what,
                trim_characters,
            } => self.trim(
                x,
                trim_where.as_ref(),
                trim_what.as_deref(),
                trim_characters.as_deref(),
                expr.span(),
            ),
            Expr::Position { expr: needle, r#in } => self.position_in(needle, r#in, expr.span()),
            Expr::Extract { field, expr: x, .. } => self.extract(field, x, expr.span()),
            Expr::Subquery(q) => self.subquery(q, SubKind::Scalar, None, expr.span()),
            Expr::Exists { subquery, negated } => {
                let e = self.subquery(subquery, SubKind::Exists, None, expr.span())?;
                Ok(if *negated {
                    BoundExpr::Not(Box::new(e))
                } else {
                    e
                })
            }
            Expr::In {
                expr: x,
                target: ast::InTarget::Subquery(q),
                negated,
                ..
            } => {
                let e = self.subquery(q, SubKind::In, Some(x), expr.span())?;
                Ok(if *negated {
                    BoundExpr::Not(Box::new(e))
                } else {
                    e
                })
            }
            Expr::AnyOp {
                left,
                compare_op,
                right,
                ..
            } => self.quantified(left, compare_op, right, true, expr.span()),
            Expr::AllOp {
                left,
                compare_op,
                right,
            } => self.quantified(left, compare_op, right, false, expr.span()),
            Expr::Array(a) => self.array_constructor(a, expr.span()),
            Expr::CompoundFieldAccess { root, access_chain } => {
                self.subscript(root, access_chain, expr.span())
            }
            Expr::Ceil { expr: x, field } => self.ceil_floor(x, field, true, expr.span()),
            Expr::Floor { expr: x, field } => self.ceil_floor(x, field, false, expr.span()),
            _ => Err(not_supported(&describe(expr), expr.span())),
        }
    }

    /// A column of this scope, else of the enclosing query's (a correlated
    /// reference, recorded in the context).
    fn resolve(&self, qualifier: Option<&ast::Ident>, name: &ast::Ident) -> BindResult {
        let err = match self.scope.resolve(qualifier, name) {
            Ok(e) => return Ok(e),
            Err(e) => e,
        };
        let unknown =
            err.sqlstate == state::UNDEFINED_COLUMN || err.sqlstate == state::UNDEFINED_TABLE;
        let Some(ctx) = self.ctx.filter(|_| unknown) else {
            return Err(err);
        };
        let span = qualifier.map_or(name.span, |q| q.span.union(&name.span));
        if let Some(outer) = ctx.outer
            && let Ok(BoundExpr::Column {
                index,
                ty,
                nullable,
            }) = outer.resolve(qualifier, name)
        {
            ctx.outer_refs.borrow_mut().push(span);
            return Ok(BoundExpr::Outer {
                index,
                ty,
                nullable,
            });
        }
        if ctx.deeper_outer_resolves(qualifier, name) {
            return Err(super::context::not_decorrelatable(
                "a correlated reference to a query more than one level out",
                span,
            ));
        }
        Err(err)
    }

    /// `x op ANY | ALL (subquery | ARRAY[...])` with SQL's NULL semantics.
    /// `= ANY (subquery)` is `IN`, `<> ALL (subquery)` is `NOT IN`; other
    /// operators compare through a Mark join (ANY) or as
    /// `NOT (x negated-op ANY ...)` (ALL, which is exact in three-valued
    /// logic). An array constructor expands to an OR (ANY) or AND (ALL).
    fn quantified(
        &mut self,
        left: &Expr,
        op: &ast::BinaryOperator,
        right: &Expr,
        any: bool,
        span: Span,
    ) -> BindResult {
        use ast::BinaryOperator as B;
        let negated = match op {
            B::Eq => B::NotEq,
            B::NotEq => B::Eq,
            B::Lt => B::GtEq,
            B::LtEq => B::Gt,
            B::Gt => B::LtEq,
            B::GtEq => B::Lt,
            _ => {
                return Err(not_supported(
                    &format!("operator {op} with ANY / ALL"),
                    span,
                ));
            }
        };
        let inner = match right {
            Expr::Nested(e) => e.as_ref(),
            e => e,
        };
        match inner {
            Expr::Subquery(q) => {
                let (op, negate) = if any { (op, false) } else { (&negated, true) };
                let e = if *op == B::Eq {
                    self.subquery(q, SubKind::In, Some(left), span)?
                } else {
                    self.subquery_compare(q, left, op, span)?
                };
                Ok(if negate {
                    BoundExpr::Not(Box::new(e))
                } else {
                    e
                })
            }
            Expr::Array(array) => {
                let mut out: Option<BoundExpr> = None;
                for item in &array.elem {
                    let cmp = Expr::BinaryOp {
                        left: Box::new(left.clone()),
                        op: op.clone(),
                        right: Box::new(item.clone()),
                    };
                    let b = coerce(self.bind(&cmp)?, SqlType::Bool, item.span(), "ANY / ALL")?;
                    out = Some(match out {
                        None => b,
                        Some(acc) => BoundExpr::Binary {
                            op: if any { BinaryOp::Or } else { BinaryOp::And },
                            left: Box::new(acc),
                            right: Box::new(b),
                            ty: SqlType::Bool,
                        },
                    });
                }
                // Over no element, ANY is FALSE and ALL is TRUE.
                Ok(out.unwrap_or_else(|| bool_literal(!any)))
            }
            _ => Err(not_supported(
                "ANY / ALL over anything but a subquery or an ARRAY[...] constructor",
                right.span(),
            )),
        }
    }

    /// `left op ANY (q)` for an operator other than `=`: a Mark join on the
    /// comparison.
    fn subquery_compare(
        &mut self,
        q: &ast::Query,
        left: &Expr,
        op: &ast::BinaryOperator,
        span: Span,
    ) -> BindResult {
        let Some(ctx) = self.ctx else {
            return Err(not_supported("a subquery here", span));
        };
        let lhs = self.bind(left)?;
        if lhs.has_placeholder() {
            return Err(not_supported(
                "a subquery or window function on the left of ANY / ALL (subquery)",
                left.span(),
            ));
        }
        let grouped = self.agg.is_some();
        let key = format!("{grouped}:{span:?}:{op}:{q}");
        let (join, ty) =
            super::subquery::bind(ctx, self.scope, q, SubKind::In, Some(lhs), grouped, span)?;
        let op = match op {
            ast::BinaryOperator::NotEq => BinaryOp::NotEq,
            ast::BinaryOperator::Lt => BinaryOp::Lt,
            ast::BinaryOperator::LtEq => BinaryOp::LtEq,
            ast::BinaryOperator::Gt => BinaryOp::Gt,
            _ => BinaryOp::GtEq,
        };
        let join = super::subquery::compare_join(join, op, span)?;
        Ok(ctx.add_subquery(key, join, ty))
    }

    /// A subquery: bound in a nested context, planned as a join when this
    /// level's plan is built; here, a placeholder for its value.
    fn subquery(
        &mut self,
        q: &ast::Query,
        kind: SubKind,
        lhs: Option<&Expr>,
        span: Span,
    ) -> BindResult {
        let Some(ctx) = self.ctx else {
            return Err(not_supported("a subquery here", span));
        };
        let lhs = match lhs {
            Some(x) => {
                let bound = self.bind(x)?;
                if bound.has_placeholder() {
                    return Err(not_supported(
                        "a subquery or window function on the left of IN (subquery)",
                        x.span(),
                    ));
                }
                Some(bound)
            }
            None => None,
        };
        let grouped = self.agg.is_some();
        let key = format!("{grouped}:{span:?}:{q}");
        let (mut join, ty) = super::subquery::bind(ctx, self.scope, q, kind, lhs, grouped, span)?;
        if let Some(agg) = self.agg.as_deref() {
            // Correlated over a grouped query: the outer sides of the keys
            // are read from the aggregate's output, so they must be keys.
            if let SubJoin::ScalarGrouped { outer_keys, .. }
            | SubJoin::ScalarRows { outer_keys, .. } = &mut join
            {
                for k in outer_keys.iter_mut() {
                    let Some(pos) = agg.group_by.iter().position(|g| g == k) else {
                        return Err(SqlError::new(
                            state::GROUPING_ERROR,
                            "subquery uses ungrouped column from outer query",
                        )
                        .at(span)
                        .hint("the correlated column must appear in the GROUP BY clause"));
                    };
                    *k = agg.group_ref(pos);
                }
            }
        }
        Ok(ctx.add_subquery(key, join, ty))
    }

    fn unary(&mut self, op: ast::UnaryOperator, inner: &Expr, span: Span) -> BindResult {
        // `-2147483648` is one INTEGER literal, as in Hyper (not the
        // negation of a BIGINT).
        if let (ast::UnaryOperator::Minus, Expr::Value(v)) = (op, inner)
            && let Value::Number(text, _) = &v.value
            && text.bytes().all(|b| b.is_ascii_digit())
        {
            return number_literal(&format!("-{text}"), span);
        }
        // Unary minus binds tighter than `^` (`-2 ^ 2` is 4), but the
        // parser makes it the outer operator: negate the leftmost operand.
        if op == ast::UnaryOperator::Minus
            && let Some(rewritten) = negate_power_base(inner)
        {
            return self.bind(&rewritten);
        }
        let bound = self.bind(inner)?;
        match op {
            ast::UnaryOperator::Not => Ok(BoundExpr::Not(Box::new(coerce(
                bound,
                SqlType::Bool,
                inner.span(),
                "NOT",
            )?))),
            ast::UnaryOperator::Minus if bound.ty() == SqlType::Interval => {
                Ok(BoundExpr::Function {
                    func: hyperctl_exec::ScalarFunction::Interval(
                        hyperctl_exec::IntervalOp::Negate,
                    ),
                    args: vec![bound],
                    ty: SqlType::Interval,
                })
            }
            ast::UnaryOperator::Minus => {
                if !bound.ty().is_numeric() {
                    return Err(type_error(
                        format!("operator does not exist: - {}", bound.ty()),
                        span,
                    ));
                }
                Ok(BoundExpr::Negate(Box::new(bound)))
            }
            ast::UnaryOperator::Plus if bound.ty().is_numeric() => Ok(bound),
            // ~x is x # -1.
            ast::UnaryOperator::BitwiseNot => {
                let minus_one = BoundExpr::Literal {
                    value: Arc::new(Int32Array::from(vec![-1])),
                    ty: SqlType::Int,
                    untyped: false,
                };
                functions::bit_operator(BitOp::Xor, bound, minus_one, (span, span), span)
            }
            other => Err(not_supported(&format!("operator {other}"), span)),
        }
    }

    fn binary(
        &mut self,
        left: &Expr,
        op: &ast::BinaryOperator,
        right: &Expr,
        span: Span,
    ) -> BindResult {
        use ast::BinaryOperator as B;
        if matches!(op, B::StringConcat) {
            return self.string_concat(left, right, span);
        }
        let l = self.bind(left)?;
        let r = self.bind(right)?;
        let spans = (left.span(), right.span());
        if super::array::is_array_operation(&l, &r) {
            return super::array::array_compare(op, l, r, spans, span);
        }
        let (op, kind) = match op {
            B::PGRegexMatch | B::PGRegexIMatch | B::PGRegexNotMatch | B::PGRegexNotIMatch => {
                return functions::regex_operator(op, l, r, spans, span);
            }
            B::PGExp | B::BitwiseXor => return functions::power_operator(l, r, spans, span),
            B::BitwiseAnd => return functions::bit_operator(BitOp::And, l, r, spans, span),
            B::BitwiseOr => return functions::bit_operator(BitOp::Or, l, r, spans, span),
            B::PGBitwiseXor => return functions::bit_operator(BitOp::Xor, l, r, spans, span),
            B::PGBitwiseShiftLeft => {
                return functions::bit_operator(BitOp::ShiftLeft, l, r, spans, span);
            }
            B::PGBitwiseShiftRight => {
                return functions::bit_operator(BitOp::ShiftRight, l, r, spans, span);
            }
            B::Plus => (BinaryOp::Add, OpKind::Arithmetic),
            B::Minus => (BinaryOp::Sub, OpKind::Arithmetic),
            B::Multiply => (BinaryOp::Mul, OpKind::Arithmetic),
            B::Divide => (BinaryOp::Div, OpKind::Arithmetic),
            B::Modulo => (BinaryOp::Mod, OpKind::Arithmetic),
            B::Eq => (BinaryOp::Eq, OpKind::Comparison),
            B::NotEq => (BinaryOp::NotEq, OpKind::Comparison),
            B::Lt => (BinaryOp::Lt, OpKind::Comparison),
            B::LtEq => (BinaryOp::LtEq, OpKind::Comparison),
            B::Gt => (BinaryOp::Gt, OpKind::Comparison),
            B::GtEq => (BinaryOp::GtEq, OpKind::Comparison),
            B::And => (BinaryOp::And, OpKind::Logical),
            B::Or => (BinaryOp::Or, OpKind::Logical),
            other => return Err(not_supported(&format!("operator {other}"), span)),
        };
        let symbol = op.symbol();
        match kind {
            OpKind::Logical => {
                let l = coerce(l, SqlType::Bool, left.span(), symbol)?;
                let r = coerce(r, SqlType::Bool, right.span(), symbol)?;
                Ok(binary_expr(op, l, r, SqlType::Bool))
            }
            OpKind::Comparison => {
                let (l, r) = unify(l, r, left.span(), right.span(), symbol)?;
                Ok(binary_expr(op, l, r, SqlType::Bool))
            }
            OpKind::Arithmetic if functions::is_interval_arithmetic(op, &l, &r) => {
                functions::interval_arithmetic(op, l, r, span)
            }
            OpKind::Arithmetic if functions::is_date_arithmetic(op, &l, &r) => {
                functions::date_arithmetic(op, l, r, span)
            }
            OpKind::Arithmetic => arithmetic(op, l, r, span),
        }
    }

    fn function(&mut self, f: &ast::Function, span: Span) -> BindResult {
        let name = object_name(&f.name).to_ascii_lowercase();
        if let Some(over) = &f.over {
            return super::window::bind_call(self, f, over, &name, span);
        }
        if name == "grouping" {
            return super::grouping::bind_grouping_call(self, f, span);
        }
        let Some(func) = aggregate_function(&name) else {
            return self.scalar_call(f, span);
        };
        self.aggregate_call(func, f, &name, span)
    }
}

/// `INTERVAL '1 day'`, `INTERVAL '1' DAY`.
fn interval_literal(iv: &ast::Interval, span: Span) -> BindResult {
    let text = match iv.value.as_ref() {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => Some(s.clone()),
            Value::Number(n, _) => Some(n.to_string()),
            _ => None,
        },
        _ => None,
    };
    let (Some(text), None) = (text, &iv.last_field) else {
        return Err(not_supported("this form of INTERVAL", span));
    };
    let unit = iv.leading_field.as_ref().map(ToString::to_string);
    let value = hyperctl_exec::parse_interval(&text, unit.as_deref())
        .map_err(|e| SqlError::new(state::INVALID_TEXT, e.to_string()).at(span))?;
    Ok(BoundExpr::Literal {
        value: Arc::new(hyperctl_exec::arrow::array::IntervalMonthDayNanoArray::from(vec![value])),
        ty: SqlType::Interval,
        untyped: false,
    })
}

/// `a ^ b ^ ...` with `-` applied to `a`, or `None` when `e` is no power.
fn negate_power_base(e: &Expr) -> Option<Expr> {
    let Expr::BinaryOp { left, op, right } = e else {
        return None;
    };
    if !matches!(
        op,
        ast::BinaryOperator::PGExp | ast::BinaryOperator::BitwiseXor
    ) {
        return None;
    }
    let left = negate_power_base(left).unwrap_or_else(|| Expr::UnaryOp {
        op: ast::UnaryOperator::Minus,
        expr: Box::new(Expr::Nested(left.clone())),
    });
    Some(Expr::BinaryOp {
        left: Box::new(left),
        op: op.clone(),
        right: right.clone(),
    })
}

#[derive(Debug, Clone, Copy)]
enum OpKind {
    Arithmetic,
    Comparison,
    Logical,
}

pub(super) enum FnArg<'e> {
    Star,
    Expr(&'e Expr),
}

/// The arguments of an aggregate call (DISTINCT allowed).
pub(super) fn aggregate_args(f: &ast::Function, span: Span) -> Result<Vec<FnArg<'_>>, SqlError> {
    match &f.args {
        ast::FunctionArguments::List(list)
            if list.duplicate_treatment == Some(ast::DuplicateTreatment::Distinct) =>
        {
            list_args(list, span)
        }
        _ => function_args(f, span),
    }
}

fn list_args(list: &ast::FunctionArgumentList, span: Span) -> Result<Vec<FnArg<'_>>, SqlError> {
    if !list.clauses.is_empty() {
        return Err(not_supported(
            "ORDER BY or other clauses in a function call",
            span,
        ));
    }
    plain_args(list, span)
}

/// The arguments of a list, whatever its clauses.
pub(super) fn plain_args(
    list: &ast::FunctionArgumentList,
    span: Span,
) -> Result<Vec<FnArg<'_>>, SqlError> {
    list.args
        .iter()
        .map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => Ok(FnArg::Star),
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(FnArg::Expr(e)),
            _ => Err(not_supported("named or qualified-wildcard arguments", span)),
        })
        .collect()
}

fn function_args(f: &ast::Function, span: Span) -> Result<Vec<FnArg<'_>>, SqlError> {
    let list = match &f.args {
        ast::FunctionArguments::List(list) => list,
        ast::FunctionArguments::None => return Ok(Vec::new()),
        ast::FunctionArguments::Subquery(_) => {
            return Err(not_supported("subquery arguments", span));
        }
    };
    if list.duplicate_treatment == Some(ast::DuplicateTreatment::Distinct) {
        return Err(not_supported("DISTINCT in this function call", span));
    }
    list_args(list, span)
}

pub(crate) fn aggregate_function(name: &str) -> Option<AggregateFunction> {
    Some(match name {
        // Exact: the values are few enough to count.
        "count" | "approx_count_distinct" => AggregateFunction::Count,
        "sum" => AggregateFunction::Sum,
        "min" => AggregateFunction::Min,
        "max" => AggregateFunction::Max,
        "avg" => AggregateFunction::Avg,
        "var_samp" | "variance" => AggregateFunction::VarSamp,
        "var_pop" => AggregateFunction::VarPop,
        "stddev_samp" | "stddev" => AggregateFunction::StddevSamp,
        "stddev_pop" => AggregateFunction::StddevPop,
        "bool_and" | "every" => AggregateFunction::BoolAnd,
        "bool_or" => AggregateFunction::BoolOr,
        "array_agg" => AggregateFunction::ArrayAgg,
        "string_agg" => AggregateFunction::StringAgg,
        "median" | "percentile_cont" => AggregateFunction::PercentileCont,
        "percentile_disc" => AggregateFunction::PercentileDisc,
        _ => return None,
    })
}

/// Whether an expression calls an aggregate function (outside subqueries).
pub(crate) fn contains_aggregate(expr: &Expr) -> bool {
    match expr {
        Expr::Function(f) => {
            let name = object_name(&f.name).to_ascii_lowercase();
            ((aggregate_function(&name).is_some() || name == "grouping") && f.over.is_none())
                || match &f.args {
                    ast::FunctionArguments::List(l) => l.args.iter().any(|a| match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                            contains_aggregate(e)
                        }
                        _ => false,
                    }),
                    _ => false,
                }
        }
        Expr::BinaryOp { left, right, .. } => contains_aggregate(left) || contains_aggregate(right),
        Expr::UnaryOp { expr, .. }
        | Expr::Nested(expr)
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr)
        | Expr::Cast { expr, .. } => contains_aggregate(expr),
        other => functions::children(other)
            .into_iter()
            .any(contains_aggregate),
    }
}

/// Whether an expression holds a subquery or window function, whose binding
/// has effects (planned joins and windows) and must happen once, in the
/// right context.
pub(crate) fn contains_deferred(expr: &Expr) -> bool {
    match expr {
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::AnyOp { .. } | Expr::AllOp { .. } => true,
        Expr::In {
            target: ast::InTarget::Subquery(_),
            ..
        } => true,
        Expr::Function(f) => {
            f.over.is_some()
                || match &f.args {
                    ast::FunctionArguments::List(l) => l.args.iter().any(|a| match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                            contains_deferred(e)
                        }
                        _ => false,
                    }),
                    _ => false,
                }
        }
        Expr::BinaryOp { left, right, .. } => contains_deferred(left) || contains_deferred(right),
        Expr::UnaryOp { expr, .. }
        | Expr::Nested(expr)
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr)
        | Expr::Cast { expr, .. } => contains_deferred(expr),
        other => functions::children(other)
            .into_iter()
            .any(contains_deferred),
    }
}

/// The first column name an expression mentions (for grouping errors).
fn first_column(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(i) => Some(i.value.clone()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.clone()),
        Expr::BinaryOp { left, right, .. } => first_column(left).or_else(|| first_column(right)),
        Expr::UnaryOp { expr, .. }
        | Expr::Nested(expr)
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr)
        | Expr::Cast { expr, .. } => first_column(expr),
        Expr::Function(f) => match &f.args {
            ast::FunctionArguments::List(l) => l.args.iter().find_map(|a| match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => first_column(e),
                _ => None,
            }),
            _ => None,
        },
        other => functions::children(other)
            .into_iter()
            .find_map(first_column),
    }
}

pub(crate) fn object_name(name: &ast::ObjectName) -> String {
    name.0
        .iter()
        .map(|p| match p {
            ast::ObjectNamePart::Identifier(i) => i.value.clone(),
            ast::ObjectNamePart::Function(f) => f.name.value.clone(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn describe(expr: &Expr) -> String {
    let text = expr.to_string();
    let short: String = text.chars().take(40).collect();
    format!("expression \"{short}\"")
}

pub(crate) fn not_supported(what: &str, span: Span) -> SqlError {
    SqlError::new(
        state::FEATURE_NOT_SUPPORTED,
        format!("{what} is not supported yet"),
    )
    .at(span)
}

pub(super) fn type_error(message: String, span: Span) -> SqlError {
    SqlError::new(state::DATATYPE_MISMATCH, message).at(span)
}

pub(super) fn binary_expr(op: BinaryOp, l: BoundExpr, r: BoundExpr, ty: SqlType) -> BoundExpr {
    BoundExpr::Binary {
        op,
        left: Box::new(l),
        right: Box::new(r),
        ty,
    }
}

/// The SQL type of a parser data type, via its SQL spelling.
pub(crate) fn sql_type(data_type: &ast::DataType, span: Span) -> Result<SqlType, SqlError> {
    let spelling = data_type.to_string();
    SqlType::parse(&spelling).map_err(|e| {
        SqlError::new(
            state::UNDEFINED_FUNCTION,
            format!("type \"{spelling}\" is not supported: {e}"),
        )
        .at(span)
    })
}

/// A literal from the parser.
pub(crate) fn literal(value: &Value, span: Span) -> BindResult {
    let typed = |value: ArrayRef, ty| {
        Ok(BoundExpr::Literal {
            value,
            ty,
            untyped: false,
        })
    };
    match value {
        Value::Number(text, _) => number_literal(text, span),
        Value::SingleQuotedString(s)
        | Value::EscapedStringLiteral(s)
        | Value::DoubleQuotedString(s)
        | Value::DollarQuotedString(ast::DollarQuotedString { value: s, .. }) => {
            Ok(BoundExpr::Literal {
                value: Arc::new(StringArray::from(vec![s.as_str()])),
                ty: SqlType::Text,
                untyped: true,
            })
        }
        Value::Boolean(b) => typed(Arc::new(BooleanArray::from(vec![*b])), SqlType::Bool),
        Value::Null => Ok(BoundExpr::Literal {
            value: new_null_array(&SqlType::Text.to_arrow(), 1),
            ty: SqlType::Text,
            untyped: true,
        }),
        other => Err(not_supported(&format!("literal {other}"), span)),
    }
}

fn number_literal(text: &str, span: Span) -> BindResult {
    let typed = |value: ArrayRef, ty| {
        Ok(BoundExpr::Literal {
            value,
            ty,
            untyped: false,
        })
    };
    if !text.contains(['e', 'E']) {
        let (int_part, frac_part) = text.split_once('.').unwrap_or((text, ""));
        let digits = format!("{int_part}{frac_part}");
        // `5.` is NUMERIC, as in Hyper.
        if !text.contains('.') {
            if let Ok(v) = digits.parse::<i32>() {
                return typed(Arc::new(Int32Array::from(vec![v])), SqlType::Int);
            }
            if let Ok(v) = digits.parse::<i64>() {
                return typed(Arc::new(Int64Array::from(vec![v])), SqlType::BigInt);
            }
        }
        let significant = digits
            .trim_start_matches('-')
            .trim_start_matches('0')
            .len()
            .max(1);
        let precision = significant.max(frac_part.len()).max(1);
        if precision <= 38
            && let Ok(v) = digits.parse::<i128>()
        {
            let ty = SqlType::numeric(precision as u8, frac_part.len() as u8)
                .map_err(|e| type_error(e.to_string(), span))?;
            let array = Decimal128Array::from(vec![v])
                .with_precision_and_scale(precision as u8, frac_part.len() as i8)
                .map_err(|e| type_error(e.to_string(), span))?;
            return typed(Arc::new(array), ty);
        }
    }
    match text.parse::<f64>() {
        Ok(v) => typed(Arc::new(Float64Array::from(vec![v])), SqlType::Double),
        Err(_) => {
            Err(SqlError::new(state::SYNTAX_ERROR, format!("invalid number \"{text}\"")).at(span))
        }
    }
}

/// An untyped literal that nothing gave a type gets its natural one (TEXT).
pub(crate) fn default_literal_type(e: BoundExpr) -> BoundExpr {
    match e {
        BoundExpr::Literal { value, ty, .. } => BoundExpr::Literal {
            value,
            ty,
            untyped: false,
        },
        other => other,
    }
}

/// Converts a literal's value to `ty` now, so that a bad literal is reported
/// at its position ("invalid input syntax for type integer").
fn convert_literal(value: &ArrayRef, ty: SqlType, span: Span) -> Result<ArrayRef, SqlError> {
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    let target = ty.to_arrow();
    // Arrays read their text form, and say what is wrong with it (Hyper's
    // "invalid array format: ..." messages).
    if ty.element().is_some() {
        return hyperctl_exec::cast_array(value, &target).map_err(|e| {
            let message = match e {
                hyperctl_exec::Error::InvalidCast { reason, .. } => reason,
                other => other.to_string(),
            };
            SqlError::new(state::INVALID_TEXT, message).at(span)
        });
    }
    // Numbers convert with the executor's cast (integers round as Hyper does,
    // `2.5::int` = 3; floats print as Hyper does, `1e20::text` = `1e+20`),
    // and so does text (dates and times read as Hyper reads them:
    // `'03/15/2024'::date`, `'infinity'::date`).
    let converted = if value.data_type().is_numeric()
        || *value.data_type() == hyperctl_exec::arrow::datatypes::DataType::Utf8
    {
        hyperctl_exec::cast_array(value, &target).map_err(|e| e.to_string())
    } else {
        cast_with_options(value.as_ref(), &target, &options).map_err(|e| e.to_string())
    };
    let out = converted.map_err(|_| {
        let shown = value
            .as_any()
            .downcast_ref::<StringArray>()
            .filter(|a| a.is_valid(0))
            .map_or_else(|| "value".to_string(), |a| format!("\"{}\"", a.value(0)));
        SqlError::new(
            state::INVALID_TEXT,
            format!(
                "invalid input syntax for type {}: {shown}",
                ty.to_string().to_lowercase()
            ),
        )
        .at(span)
    })?;
    Ok(out)
}

/// An explicit CAST.
pub(crate) fn cast(e: BoundExpr, ty: SqlType, span: Span) -> BindResult {
    if let BoundExpr::Literal { value, .. } = &e {
        return Ok(BoundExpr::Literal {
            value: fit_text_literal(convert_literal(value, ty, span)?, ty),
            ty,
            untyped: false,
        });
    }
    if e.ty() == ty {
        return Ok(e);
    }
    let cast = BoundExpr::Cast {
        expr: Box::new(e),
        ty,
    };
    Ok(fit_text(cast, ty))
}

/// A cast to VARCHAR(n) or CHAR(n) keeps the first n characters (Hyper:
/// `'abc'::varchar(2)` is `ab`); CHAR(n) values are kept without their
/// trailing blanks, so comparisons and `length` ignore the padding (it is
/// added back when a result is shown).
fn fit_text(e: BoundExpr, ty: SqlType) -> BoundExpr {
    let n = match ty {
        SqlType::Varchar { max_length: n } | SqlType::Char { length: n } => n,
        _ => return e,
    };
    let int = |v: u32| BoundExpr::Literal {
        value: Arc::new(Int64Array::from(vec![i64::from(v)])),
        ty: SqlType::BigInt,
        untyped: false,
    };
    let left = BoundExpr::Function {
        func: hyperctl_exec::ScalarFunction::Left,
        args: vec![e, int(n)],
        ty,
    };
    if !matches!(ty, SqlType::Char { .. }) {
        return left;
    }
    BoundExpr::Function {
        func: hyperctl_exec::ScalarFunction::Trim(hyperctl_exec::TrimSide::Trailing),
        args: vec![left],
        ty,
    }
}

fn fit_text_literal(value: ArrayRef, ty: SqlType) -> ArrayRef {
    let (n, char) = match ty {
        SqlType::Varchar { max_length: n } => (n, false),
        SqlType::Char { length: n } => (n, true),
        _ => return value,
    };
    let Some(text) = value.as_string_opt::<i32>() else {
        return value;
    };
    let fitted: StringArray = text
        .iter()
        .map(|v| {
            v.map(|s| {
                let cut = s.char_indices().nth(n as usize).map_or(s, |(i, _)| &s[..i]);
                if char { cut.trim_end_matches(' ') } else { cut }.to_string()
            })
        })
        .collect();
    Arc::new(fitted)
}

/// Whether values of `from` may be converted to `to` without an explicit cast.
pub(crate) fn implicitly_castable(from: SqlType, to: SqlType) -> bool {
    from == to
        || (from.is_numeric() && to.is_numeric())
        || (from.is_string() && to.is_string())
        || matches!(
            (from, to),
            (SqlType::Date, SqlType::Timestamp | SqlType::TimestampTz)
                | (SqlType::Timestamp, SqlType::TimestampTz)
                | (SqlType::TimestampTz, SqlType::Timestamp)
        )
}

/// Converts `e` to `ty` where the context demands it (operands, INSERT targets).
pub(crate) fn coerce(e: BoundExpr, ty: SqlType, span: Span, context: &str) -> BindResult {
    if e.ty() == ty {
        return Ok(e);
    }
    if e.is_untyped_literal() {
        return cast(e, ty, span);
    }
    if implicitly_castable(e.ty(), ty) {
        // A literal converts now, as an explicit CAST of one does: the plan
        // then compares with a value (block skipping and row selection take
        // `l_discount >= 0.05` as a range). One that does not convert keeps
        // the cast, whose error comes when it is evaluated.
        if matches!(e, BoundExpr::Literal { .. })
            && let Ok(folded) = cast(e.clone(), ty, span)
        {
            return Ok(folded);
        }
        return Ok(BoundExpr::Cast {
            expr: Box::new(e),
            ty,
        });
    }
    Err(type_error(
        format!(
            "{context} requires {ty}, but the expression is of type {}",
            e.ty()
        ),
        span,
    )
    .hint("add an explicit cast, for example CAST(x AS TEXT)"))
}

fn integer_rank(ty: SqlType) -> Option<u8> {
    match ty {
        SqlType::SmallInt => Some(1),
        SqlType::Int => Some(2),
        SqlType::BigInt => Some(3),
        _ => None,
    }
}

fn integer_as_numeric(ty: SqlType) -> SqlType {
    let precision = match ty {
        SqlType::SmallInt => 5,
        SqlType::Int => 10,
        _ => 19,
    };
    SqlType::Numeric {
        precision,
        scale: 0,
    }
}

/// The common type of two numeric types: integers widen, integers meet
/// NUMERIC as NUMERIC, anything meets a float as DOUBLE (REAL with REAL).
fn numeric_common(a: SqlType, b: SqlType) -> SqlType {
    match (a, b) {
        _ if a == b => a,
        (SqlType::Real, x) | (x, SqlType::Real) if x == SqlType::Real => SqlType::Real,
        (SqlType::Double | SqlType::Real, _) | (_, SqlType::Double | SqlType::Real) => {
            SqlType::Double
        }
        (SqlType::Numeric { .. }, SqlType::Numeric { .. }) => a,
        _ if integer_rank(a).is_some() && integer_rank(b).is_some() => {
            if integer_rank(a) > integer_rank(b) {
                a
            } else {
                b
            }
        }
        (SqlType::Numeric { .. }, int) => {
            let _ = int;
            a
        }
        (_, SqlType::Numeric { .. }) => b,
        _ => SqlType::Double,
    }
}

/// A BOOLEAN constant.
fn bool_literal(value: bool) -> BoundExpr {
    BoundExpr::Literal {
        value: Arc::new(BooleanArray::from(vec![value])),
        ty: SqlType::Bool,
        untyped: false,
    }
}

/// Brings two operands of a comparison to one type.
pub(crate) fn unify(
    l: BoundExpr,
    r: BoundExpr,
    lspan: Span,
    rspan: Span,
    symbol: &str,
) -> Result<(BoundExpr, BoundExpr), SqlError> {
    let (lt, rt) = (l.ty(), r.ty());
    let context = format!("operator {symbol}");
    if lt == rt && !(l.is_untyped_literal() && r.is_untyped_literal()) {
        return Ok((l, r));
    }
    if l.is_untyped_literal() && !r.is_untyped_literal() {
        return Ok((coerce(l, rt, lspan, &context)?, r));
    }
    if r.is_untyped_literal() && !l.is_untyped_literal() {
        return Ok((l, coerce(r, lt, rspan, &context)?));
    }
    let target = if lt.is_numeric() && rt.is_numeric() {
        match (lt, rt) {
            (SqlType::Numeric { .. }, SqlType::Numeric { .. }) => {
                SqlType::numeric(38, numeric_scale(lt).max(numeric_scale(rt)))
                    .unwrap_or(SqlType::Double)
            }
            _ => numeric_common(lt, rt),
        }
    } else if lt.is_string() && rt.is_string() {
        SqlType::Text
    } else if implicitly_castable(lt, rt) {
        rt
    } else if implicitly_castable(rt, lt) {
        lt
    } else {
        return Err(type_error(
            format!("operator does not exist: {lt} {symbol} {rt}"),
            lspan.union(&rspan),
        )
        .hint("the operands have different types; add an explicit cast"));
    };
    Ok((
        coerce(l, target, lspan, &context)?,
        coerce(r, target, rspan, &context)?,
    ))
}

fn numeric_scale(ty: SqlType) -> u8 {
    match ty {
        SqlType::Numeric { scale, .. } => scale,
        _ => 0,
    }
}

pub(super) fn arithmetic(op: BinaryOp, l: BoundExpr, r: BoundExpr, span: Span) -> BindResult {
    let (lt, rt) = (l.ty(), r.ty());
    // An untyped NULL takes the other operand's numeric type (`1 + NULL`).
    let untyped_null = |e: &BoundExpr| matches!(e, BoundExpr::Literal { value, untyped: true, .. } if value.is_null(0));
    if untyped_null(&l) && rt.is_numeric() && !r.is_untyped_literal() {
        return arithmetic(op, cast(l, rt, span)?, r, span);
    }
    if untyped_null(&r) && lt.is_numeric() && !l.is_untyped_literal() {
        return arithmetic(op, l, cast(r, lt, span)?, span);
    }
    if !lt.is_numeric() || !rt.is_numeric() || l.is_untyped_literal() || r.is_untyped_literal() {
        return Err(type_error(
            format!(
                "'{}' requires numerical arguments, got {lt} and {rt}",
                op.symbol()
            ),
            span,
        ));
    }
    let (l, r) = match (lt, rt) {
        (SqlType::Numeric { .. }, t) if integer_rank(t).is_some() => {
            let target = integer_literal_numeric(&r).unwrap_or_else(|| integer_as_numeric(t));
            (l, cast(r, target, span)?)
        }
        (t, SqlType::Numeric { .. }) if integer_rank(t).is_some() => {
            let target = integer_literal_numeric(&l).unwrap_or_else(|| integer_as_numeric(t));
            (cast(l, target, span)?, r)
        }
        (SqlType::Numeric { .. }, SqlType::Numeric { .. }) => (l, r),
        _ => {
            let target = numeric_common(lt, rt);
            (cast(l, target, span)?, cast(r, target, span)?)
        }
    };
    if let (BinaryOp::Div, SqlType::Numeric { .. }, SqlType::Numeric { .. }) = (op, l.ty(), r.ty())
    {
        return numeric_division(l, r, span);
    }
    let ty = result_type(op, &l, &r, span)?;
    Ok(binary_expr(op, l, r, ty))
}

/// An INTEGER or BIGINT literal meeting a NUMERIC is typed by its digits,
/// as in Hyper (`2` is NUMERIC(1,0), so `7.0 / 2` is NUMERIC(7,6)).
fn integer_literal_numeric(e: &BoundExpr) -> Option<SqlType> {
    let BoundExpr::Literal { value, .. } = e else {
        return None;
    };
    let v: i64 = match value.data_type() {
        DataType::Int32 => i64::from(value.as_primitive::<Int32Type>().value(0)),
        DataType::Int64 => value.as_primitive::<Int64Type>().value(0),
        _ => return None,
    };
    if value.is_null(0) {
        return None;
    }
    let digits = v.unsigned_abs().checked_ilog10().map_or(1, |d| d + 1);
    SqlType::numeric(digits as u8, 0).ok()
}

/// NUMERIC division with Hyper's result type: scale s1 + p2 + 1, cut to
/// what 38 digits leave beside the p1 - s1 + s2 integer digits, and at
/// least 6 (`1::numeric(38,10) / 3` has scale 10, `2::numeric / 3` 6);
/// rounded half away from zero. Arrow divides at scale s1 + 4 and
/// truncates, so the dividend is rescaled to give one digit more than
/// wanted, and the quotient is rounded by a cast.
fn numeric_division(l: BoundExpr, r: BoundExpr, span: Span) -> BindResult {
    let (
        SqlType::Numeric {
            precision: p1,
            scale: s1,
        },
        SqlType::Numeric {
            precision: p2,
            scale: s2,
        },
    ) = (l.ty(), r.ty())
    else {
        return Err(type_error("NUMERIC division of other types".into(), span));
    };
    let (p1, s1, p2, s2) = (u32::from(p1), u32::from(s1), u32::from(p2), u32::from(s2));
    let integer_digits = (p1 - s1 + s2).min(38);
    let scale = (s1 + p2 + 1).min(38 - integer_digits).max(6);
    let precision = (integer_digits + scale).clamp(1, 38);
    let work_scale = s1.max(scale.saturating_sub(3));
    let work = SqlType::numeric(((p1 - s1) + work_scale).min(38) as u8, work_scale as u8)
        .map_err(|e| type_error(e.to_string(), span))?;
    let l = if work == l.ty() {
        l
    } else {
        cast(l, work, span)?
    };
    let ty = result_type(BinaryOp::Div, &l, &r, span)?;
    let quotient = binary_expr(BinaryOp::Div, l, r, ty);
    let out = SqlType::numeric(precision as u8, scale as u8)
        .map_err(|e| type_error(e.to_string(), span))?;
    Ok(BoundExpr::Cast {
        expr: Box::new(quotient),
        ty: out,
    })
}

/// The result type exec will produce (asked from exec itself, so the two
/// layers cannot disagree).
fn result_type(
    op: BinaryOp,
    l: &BoundExpr,
    r: &BoundExpr,
    span: Span,
) -> Result<SqlType, SqlError> {
    let probe = PhysicalExpr::Binary {
        op,
        left: Box::new(PhysicalExpr::Literal {
            value: new_null_array(&l.ty().to_arrow(), 1),
        }),
        right: Box::new(PhysicalExpr::Literal {
            value: new_null_array(&r.ty().to_arrow(), 1),
        }),
    };
    let empty = hyperctl_exec::arrow::datatypes::Schema::empty();
    let arrow_type = probe
        .data_type(&empty)
        .map_err(|e| type_error(format!("'{}': {e}", op.symbol()), span))?;
    SqlType::from_arrow(&arrow_type).map_err(|e| type_error(e.to_string(), span))
}
