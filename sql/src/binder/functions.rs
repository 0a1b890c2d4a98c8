//! Binding of scalar functions and conditional expressions: name ->
//! signature -> argument coercions -> result type, plus CASE, COALESCE,
//! NULLIF, GREATEST/LEAST, BETWEEN, IN, LIKE, IS [NOT] DISTINCT FROM,
//! IS [NOT] TRUE/FALSE, `||` and date arithmetic.
//!
//! Rules (Hyper's, which are PostgreSQL's where the spec says nothing):
//! - the result type of CASE, COALESCE, GREATEST, LEAST, IN and BETWEEN is
//!   the common type of the operands: integers widen, integers meet NUMERIC
//!   as NUMERIC with enough digits for both, anything meets a float as a
//!   float, strings meet as TEXT; untyped literals take that type;
//! - a function whose arguments match no signature is an error naming the
//!   argument types: `function lower(integer) does not exist`; an unknown
//!   name is `function "x" does not exist`;
//! - `'a' || 1` converts the non-text side to text; `'a' || NULL` is NULL;
//! - `date ± integer` is a date, `date - date` an INTEGER of days.
//!
//! Exec computes each function's result type from the argument types
//! ([`ScalarFunction::return_type`]); the binder only picks the argument
//! casts, so the two layers cannot disagree.

use std::sync::Arc;

use hyperctl_exec::arrow::array::{Array, BooleanArray, Date32Array, StringArray};
use hyperctl_exec::{BinaryOp, BitOp, DateField, IntervalOp, ScalarFunction, TrimSide};
use hyperctl_format::SqlType;
use sqlparser::ast::{self, Expr, Spanned};
use sqlparser::tokenizer::Span;

use super::expr::{
    ExprBinder, arithmetic, binary_expr, cast, coerce, implicitly_castable, not_supported,
    object_name, type_error, unify,
};
use crate::error::{SqlError, state};
use crate::plan::BoundExpr;

type BindResult = Result<BoundExpr, SqlError>;

/// What a function parameter accepts, and the type an argument is cast to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Param {
    /// Any string type or an untyped literal, as TEXT.
    Text,
    /// An integer, as BIGINT.
    Int,
    /// Any numeric type, kept (REAL becomes DOUBLE PRECISION).
    Num,
    /// Any numeric type, as DOUBLE PRECISION.
    Double,
    /// DATE, TIMESTAMP, TIMESTAMPTZ or TIME, kept.
    Temporal,
    /// DATE, TIMESTAMP or TIMESTAMPTZ; DATE becomes TIMESTAMP.
    Timestamp,
    /// INTERVAL.
    Interval,
}

/// The signatures of the plain scalar functions (special forms such as
/// COALESCE, concat or date_part are bound by name before this).
fn signatures(name: &str) -> Option<(ScalarFunction, &'static [&'static [Param]])> {
    use Param::*;
    use ScalarFunction as F;
    const TEXT: &[&[Param]] = &[&[Text]];
    const TEXT2: &[&[Param]] = &[&[Text, Text]];
    const TEXT_INT: &[&[Param]] = &[&[Text, Int]];
    const TRIM: &[&[Param]] = &[&[Text], &[Text, Text]];
    const PAD: &[&[Param]] = &[&[Text, Int], &[Text, Int, Text]];
    const NUM: &[&[Param]] = &[&[Num]];
    const DOUBLE: &[&[Param]] = &[&[Double]];
    const ROUND: &[&[Param]] = &[&[Num], &[Num, Int]];
    const TEMPORAL: &[&[Param]] = &[&[Temporal]];
    Some(match name {
        "length" | "char_length" | "character_length" => (F::CharLength, TEXT),
        "octet_length" => (F::OctetLength, TEXT),
        "lower" => (F::Lower, TEXT),
        "upper" => (F::Upper, TEXT),
        "reverse" => (F::Reverse, TEXT),
        "substr" | "substring" => (F::Substring, &[&[Text, Int], &[Text, Int, Int]]),
        "left" => (F::Left, TEXT_INT),
        "right" => (F::Right, TEXT_INT),
        "repeat" => (F::Repeat, TEXT_INT),
        "strpos" => (F::StrPos, TEXT2),
        "starts_with" => (F::StartsWith, TEXT2),
        "ends_with" => (F::EndsWith, TEXT2),
        "btrim" => (F::Trim(TrimSide::Both), TRIM),
        "ltrim" => (F::Trim(TrimSide::Leading), TRIM),
        "rtrim" => (F::Trim(TrimSide::Trailing), TRIM),
        "lpad" => (F::Lpad, PAD),
        "rpad" => (F::Rpad, PAD),
        "replace" => (F::Replace, &[&[Text, Text, Text]]),
        "split_part" => (F::SplitPart, &[&[Text, Text, Int]]),
        "abs" => (F::Abs, NUM),
        "sign" => (F::Sign, NUM),
        "ceil" | "ceiling" => (F::Ceil, NUM),
        "floor" => (F::Floor, NUM),
        "round" => (F::Round, ROUND),
        "trunc" | "truncate" => (F::Trunc, ROUND),
        "sqrt" => (F::Sqrt, DOUBLE),
        "exp" => (F::Exp, DOUBLE),
        "ln" => (F::Ln, DOUBLE),
        "log" | "log10" => (F::Log, &[&[Double], &[Double, Double]]),
        "power" | "pow" => (F::Power, &[&[Double, Double]]),
        "cbrt" => (F::Cbrt, DOUBLE),
        "degrees" => (F::Degrees, DOUBLE),
        "radians" => (F::Radians, DOUBLE),
        "sin" => (F::Sin, DOUBLE),
        "cos" => (F::Cos, DOUBLE),
        "tan" => (F::Tan, DOUBLE),
        "cot" => (F::Cot, DOUBLE),
        "asin" => (F::Asin, DOUBLE),
        "acos" => (F::Acos, DOUBLE),
        "atan" => (F::Atan, DOUBLE),
        "atan2" => (F::Atan2, &[&[Double, Double]]),
        "pi" => (F::Pi, &[&[]]),
        "width_bucket" => (F::WidthBucket, &[&[Double, Double, Double, Int]]),
        "bit_length" => (F::BitLength, TEXT),
        "ascii" => (F::Ascii, TEXT),
        "initcap" => (F::Initcap, TEXT),
        "quote_ident" => (F::QuoteIdent, TEXT),
        "quote_literal" => (F::QuoteLiteral, TEXT),
        "md5" => (F::Md5, TEXT),
        "chr" => (F::Chr, &[&[Int]]),
        "to_hex" => (F::ToHex, &[&[Int]]),
        "factorial" => (F::Factorial, &[&[Int]]),
        "year" => (F::Extract(DateField::Year), TEMPORAL),
        "quarter" => (F::Extract(DateField::Quarter), TEMPORAL),
        "month" => (F::Extract(DateField::Month), TEMPORAL),
        "week" => (F::Extract(DateField::Week), TEMPORAL),
        "day" => (F::Extract(DateField::Day), TEMPORAL),
        "hour" => (F::Extract(DateField::Hour), TEMPORAL),
        "minute" => (F::Extract(DateField::Minute), TEMPORAL),
        "second" => (F::Extract(DateField::Second), TEMPORAL),
        "make_date" => (F::MakeDate, &[&[Int, Int, Int]]),
        "to_char" => (F::ToChar, &[&[Temporal, Text]]),
        "age" => (F::Interval(IntervalOp::Age), &[&[Timestamp, Timestamp]]),
        "justify_days" => (F::Interval(IntervalOp::JustifyDays), &[&[Interval]]),
        "justify_hours" => (F::Interval(IntervalOp::JustifyHours), &[&[Interval]]),
        "justify_interval" => (F::Interval(IntervalOp::JustifyInterval), &[&[Interval]]),
        "to_date" => (F::ToDate, TEXT2),
        "to_timestamp" => (F::ToTimestamp, &[&[Text, Text], &[Double]]),
        "make_time" => (F::MakeTime, &[&[Int, Int, Double]]),
        "make_timestamp" => (F::MakeTimestamp, &[&[Int, Int, Int, Int, Int, Double]]),
        "regexp_like" => (F::RegexpLike, &[&[Text, Text], &[Text, Text, Text]]),
        "regexp_replace" => (
            F::RegexpReplace,
            &[&[Text, Text, Text], &[Text, Text, Text, Text]],
        ),
        "regexp_substr" => (F::RegexpSubstr, TEXT2),
        "regexp_count" => (F::RegexpCount, TEXT2),
        "regexp_instr" => (F::RegexpInstr, TEXT2),
        _ => return None,
    })
}

/// A bound argument and where it came from.
pub(super) struct Arg {
    pub(super) expr: BoundExpr,
    pub(super) span: Span,
}

impl ExprBinder<'_> {
    /// Binds a call of a scalar (non-aggregate) function.
    pub(super) fn scalar_call(&mut self, f: &ast::Function, span: Span) -> BindResult {
        let name = object_name(&f.name).to_ascii_lowercase();
        if f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() {
            return Err(not_supported(
                &format!("{name} with OVER/FILTER/WITHIN GROUP"),
                span,
            ));
        }
        let exprs = match &f.args {
            ast::FunctionArguments::None => Vec::new(),
            ast::FunctionArguments::List(list) if list.duplicate_treatment.is_none() => list
                .args
                .iter()
                .map(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(e),
                    _ => Err(not_supported("named or wildcard arguments", span)),
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err(not_supported(&format!("this form of {name}()"), span)),
        };
        if let Some(bound) = self.special_form(&name, &exprs, span)? {
            return Ok(bound);
        }
        let args = self.bind_args(&exprs)?;
        let args = match super::array::array_function(&name, args, span) {
            Ok(bound) => return bound,
            Err(args) => args,
        };
        let Some((func, sigs)) = signatures(&name) else {
            return Err(SqlError::new(
                state::UNDEFINED_FUNCTION,
                format!("function \"{name}\" does not exist"),
            )
            .at(span));
        };
        resolve(&name, func, sigs, args, span)
    }

    fn bind_args(&mut self, exprs: &[&Expr]) -> Result<Vec<Arg>, SqlError> {
        exprs
            .iter()
            .map(|e| {
                Ok(Arg {
                    expr: self.bind(e)?,
                    span: e.span(),
                })
            })
            .collect()
    }

    /// Functions with their own rules; `None` when `name` is not one.
    fn special_form(&mut self, name: &str, exprs: &[&Expr], span: Span) -> BindResultOpt {
        let args = match name {
            "coalesce" | "nullif" | "greatest" | "least" | "concat" | "mod" | "position"
            | "date_part" | "date_trunc" | "current_date" | "round" | "trunc" | "quote_literal"
            | "to_hex" | "chr" | "div" | "datediff" | "now" | "current_timestamp"
            | "localtimestamp" | "version" | "current_database" | "pg_typeof" => {
                self.bind_args(exprs)?
            }
            _ => return Ok(None),
        };
        let bound = match (name, args.len()) {
            ("coalesce", 1..) => coalesce(args, span)?,
            ("nullif", 2) => nullif(args, span)?,
            ("greatest" | "least", 1..) => {
                let (ty, args) = common_args(args, name)?;
                let func = if name == "greatest" {
                    ScalarFunction::Greatest
                } else {
                    ScalarFunction::Least
                };
                function(name, func, args, Some(ty), span)?
            }
            ("concat", 1..) => {
                let args = args.into_iter().map(as_text).collect::<Result<_, _>>()?;
                function(name, ScalarFunction::Concat, args, None, span)?
            }
            // Any type, as its text.
            ("quote_literal", 1) => {
                let args = args.into_iter().map(as_text).collect::<Result<_, _>>()?;
                function(name, ScalarFunction::QuoteLiteral, args, None, span)?
            }
            // The digits of the argument's width: INTEGER and SMALLINT as 32 bits.
            ("to_hex", 1) if matches!(args[0].expr.ty(), SqlType::SmallInt | SqlType::Int) => {
                let args = args
                    .into_iter()
                    .map(|a| coerce(a.expr, SqlType::Int, a.span, name))
                    .collect::<Result<_, _>>()?;
                function(name, ScalarFunction::ToHex, args, None, span)?
            }
            ("mod", 2) => {
                let mut it = args.into_iter();
                let (Some(a), Some(b)) = (it.next(), it.next()) else {
                    return Ok(None);
                };
                arithmetic(BinaryOp::Mod, a.expr, b.expr, span)?
            }
            ("position", 2) => position(args, span)?,
            // Integer division, truncated: of integers in their type, of
            // NUMERIC as NUMERIC with scale 0.
            ("div", 2) => {
                let mut it = args.into_iter();
                let (Some(a), Some(b)) = (it.next(), it.next()) else {
                    return Ok(None);
                };
                let both_int = a.expr.ty().is_integer() && b.expr.ty().is_integer();
                let q = arithmetic(BinaryOp::Div, a.expr, b.expr, span)?;
                if both_int {
                    q
                } else {
                    let digits = BoundExpr::Literal {
                        value: Arc::new(hyperctl_exec::arrow::array::Int64Array::from(vec![0i64])),
                        ty: SqlType::BigInt,
                        untyped: false,
                    };
                    let t = function(name, ScalarFunction::Trunc, vec![q, digits], None, span)?;
                    let scale0 = match t.ty() {
                        SqlType::Numeric { precision, .. } => SqlType::numeric(precision, 0)
                            .map_err(|e| type_error(e.to_string(), span))?,
                        other => other,
                    };
                    cast(t, scale0, span)?
                }
            }
            ("datediff", 3) => date_field_call(name, args, span)?,
            ("now" | "current_timestamp" | "localtimestamp", 0) => {
                let us = self
                    .ctx
                    .map_or_else(super::context::system_time_us, |c| c.statement_time_us());
                let ty = if name == "localtimestamp" {
                    SqlType::Timestamp
                } else {
                    SqlType::TimestampTz
                };
                let tz = match ty.to_arrow() {
                    hyperctl_exec::arrow::datatypes::DataType::Timestamp(_, tz) => tz,
                    _ => None,
                };
                BoundExpr::Literal {
                    value: Arc::new(
                        hyperctl_exec::arrow::array::TimestampMicrosecondArray::from(vec![us])
                            .with_timezone_opt(tz),
                    ),
                    ty,
                    untyped: false,
                }
            }
            ("version", 0) => text_literal(concat!("hyperctl ", env!("CARGO_PKG_VERSION"))),
            // The type's name as Hyper spells it, as TEXT (Hyper's result
            // type is regtype, which we do not have).
            ("pg_typeof", 1) => text_literal(&pg_type_name(&args[0].expr)),
            ("current_database", 0) => {
                match self.ctx.map_or(Some(""), |c| c.catalog.current_database()) {
                    Some(name) => text_literal(name),
                    None => null_of(SqlType::Text),
                }
            }
            ("date_part" | "date_trunc", 2) => date_field_call(name, args, span)?,
            ("current_date", 0) => current_date(),
            ("round" | "trunc", 2) if args[0].expr.ty().is_integer() => {
                let mut args = args;
                let t = args[0].expr.ty();
                let precision = match t {
                    SqlType::SmallInt => 5,
                    SqlType::Int => 10,
                    _ => 19,
                };
                let numeric =
                    SqlType::numeric(precision, 0).map_err(|e| type_error(e.to_string(), span))?;
                args[0].expr = cast(args[0].expr.clone(), numeric, args[0].span)?;
                let (func, sigs) = signatures(name).ok_or_else(|| no_such(name, &[], span))?;
                resolve(name, func, sigs, args, span)?
            }
            // One character, typed VARCHAR(1) as in Hyper.
            ("chr", _) => {
                let (func, sigs) = signatures(name).ok_or_else(|| no_such(name, &[], span))?;
                match resolve(name, func, sigs, args, span)? {
                    BoundExpr::Function { func, args, .. } => BoundExpr::Function {
                        func,
                        args,
                        ty: SqlType::Varchar { max_length: 1 },
                    },
                    other => other,
                }
            }
            ("round" | "trunc" | "to_hex", _) => {
                let (func, sigs) = signatures(name).ok_or_else(|| no_such(name, &[], span))?;
                resolve(name, func, sigs, args, span)?
            }
            _ => return Err(no_such(name, &args, span)),
        };
        Ok(Some(bound))
    }

    /// `CASE [operand] WHEN ... THEN ... [ELSE ...] END`.
    pub(super) fn case(
        &mut self,
        operand: Option<&Expr>,
        conditions: &[ast::CaseWhen],
        else_result: Option<&Expr>,
        span: Span,
    ) -> BindResult {
        let operand = operand
            .map(|o| Ok::<_, SqlError>((self.bind(o)?, o.span())))
            .transpose()?;
        let mut conds = Vec::with_capacity(conditions.len());
        let mut results = Vec::with_capacity(conditions.len() + 1);
        for w in conditions {
            let c = self.bind(&w.condition)?;
            let c = match &operand {
                Some((x, xspan)) => {
                    let (l, r) = unify(x.clone(), c, *xspan, w.condition.span(), "=")?;
                    binary_expr(BinaryOp::Eq, l, r, SqlType::Bool)
                }
                None => coerce(c, SqlType::Bool, w.condition.span(), "CASE WHEN")?,
            };
            conds.push(c);
            results.push(Arg {
                expr: self.bind(&w.result)?,
                span: w.result.span(),
            });
        }
        let has_else = else_result.is_some();
        if let Some(e) = else_result {
            results.push(Arg {
                expr: self.bind(e)?,
                span: e.span(),
            });
        }
        // Hyper: a THEN literal that does not read as the result type is a
        // syntax error.
        let (ty, mut results) = common_args(results, "CASE").map_err(|e| {
            if e.sqlstate != state::INVALID_TEXT {
                return e;
            }
            SqlError::new(state::SYNTAX_ERROR, "'case' requires the string literals in the THEN clauses to be interpretable as the return type").at(span)
        })?;
        let else_expr = if has_else {
            results.pop().map(Box::new)
        } else {
            None
        };
        Ok(BoundExpr::Case {
            branches: conds.into_iter().zip(results).collect(),
            else_expr,
            ty,
        })
    }

    /// `x [NOT] BETWEEN [SYMMETRIC] low AND high`; SYMMETRIC is
    /// `x BETWEEN low AND high OR x BETWEEN high AND low`, as PostgreSQL
    /// expands it (the parser marks the lower bound, see
    /// [`crate::parse::extensions`]).
    pub(super) fn between(
        &mut self,
        x: &Expr,
        negated: bool,
        low: &Expr,
        high: &Expr,
    ) -> BindResult {
        if let Some(low) = crate::parse::extensions::symmetric_bound(low) {
            let up = self.between(x, negated, low, high)?;
            let down = self.between(x, negated, high, low)?;
            let join = if negated { BinaryOp::And } else { BinaryOp::Or };
            return Ok(binary_expr(join, up, down, SqlType::Bool));
        }
        let args = self.bind_args(&[x, low, high])?;
        let (_, args) = common_args(args, "BETWEEN")?;
        let [x, low, high]: [BoundExpr; 3] = args
            .try_into()
            .map_err(|_| not_supported("BETWEEN", x.span()))?;
        let (op_low, op_high, join) = if negated {
            (BinaryOp::Lt, BinaryOp::Gt, BinaryOp::Or)
        } else {
            (BinaryOp::GtEq, BinaryOp::LtEq, BinaryOp::And)
        };
        let a = binary_expr(op_low, x.clone(), low, SqlType::Bool);
        let b = binary_expr(op_high, x, high, SqlType::Bool);
        Ok(binary_expr(join, a, b, SqlType::Bool))
    }

    /// `x [NOT] IN (a, b, ...)`.
    pub(super) fn in_list(&mut self, x: &Expr, list: &[Expr], negated: bool) -> BindResult {
        let mut exprs = vec![x];
        exprs.extend(list.iter());
        let args = self.bind_args(&exprs)?;
        let (ty, mut args) = common_args(args, "IN")?;
        if ty.element().is_some() {
            return Err(not_supported(
                "IN over arrays (write a = b OR ...)",
                x.span(),
            ));
        }
        let x = args.remove(0);
        if args.is_empty() {
            return Err(not_supported("an empty IN list", exprs[0].span()));
        }
        Ok(BoundExpr::InList {
            expr: Box::new(x),
            list: args,
            negated,
        })
    }

    /// `x [NOT] LIKE | ILIKE pattern [ESCAPE 'c']`.
    pub(super) fn like(
        &mut self,
        x: &Expr,
        pattern: &Expr,
        negated: bool,
        case_insensitive: bool,
        escape: Option<&Expr>,
    ) -> BindResult {
        let op = if case_insensitive { "~~*" } else { "~~" };
        let args = self.bind_args(&[x, pattern])?;
        let mut it = args.into_iter().map(|a| text_operand(a, op));
        let (Some(x), Some(pattern)) = (it.next(), it.next()) else {
            return Err(not_supported("LIKE", x.span()));
        };
        let escape = match escape {
            None => Some('\\'),
            Some(e) => escape_char(e)?,
        };
        Ok(BoundExpr::Like {
            expr: Box::new(x?),
            pattern: Box::new(pattern?),
            negated,
            case_insensitive,
            escape,
        })
    }

    /// `x [NOT] SIMILAR TO pattern` with a constant pattern, as a regular
    /// expression match of the whole string.
    pub(super) fn similar_to(
        &mut self,
        x: &Expr,
        pattern: &Expr,
        negated: bool,
        span: Span,
    ) -> BindResult {
        let args = self.bind_args(&[x, pattern])?;
        let mut it = args.into_iter();
        let (Some(x), Some(p)) = (it.next(), it.next()) else {
            return Err(not_supported("SIMILAR TO", span));
        };
        let Some(text) = literal_text(&p.expr) else {
            return Err(not_supported(
                "SIMILAR TO with a pattern that is not a constant",
                p.span,
            ));
        };
        let regex = Arg {
            expr: text_literal(&similar_to_regex(&text)),
            span: p.span,
        };
        let sigs: &[&[Param]] = &[&[Param::Text, Param::Text]];
        let m = resolve(
            "SIMILAR TO",
            ScalarFunction::RegexpLike,
            sigs,
            vec![x, regex],
            span,
        )?;
        Ok(if negated {
            BoundExpr::Not(Box::new(m))
        } else {
            m
        })
    }

    /// `a IS [NOT] DISTINCT FROM b`.
    pub(super) fn distinct(&mut self, a: &Expr, b: &Expr, distinct: bool) -> BindResult {
        let (l, r) = (self.bind(a)?, self.bind(b)?);
        let (l, r) = unify(l, r, a.span(), b.span(), "IS DISTINCT FROM")?;
        let op = if distinct {
            BinaryOp::IsDistinctFrom
        } else {
            BinaryOp::IsNotDistinctFrom
        };
        Ok(binary_expr(op, l, r, SqlType::Bool))
    }

    /// `x IS [NOT] TRUE | FALSE`: `x IS [NOT] DISTINCT FROM value`.
    pub(super) fn is_bool(&mut self, x: &Expr, value: bool, negated: bool) -> BindResult {
        let e = coerce(self.bind(x)?, SqlType::Bool, x.span(), "IS TRUE/FALSE")?;
        let lit = BoundExpr::Literal {
            value: Arc::new(BooleanArray::from(vec![value])),
            ty: SqlType::Bool,
            untyped: false,
        };
        let op = if negated {
            BinaryOp::IsDistinctFrom
        } else {
            BinaryOp::IsNotDistinctFrom
        };
        Ok(binary_expr(op, e, lit, SqlType::Bool))
    }

    /// `x IS [NOT] UNKNOWN`: `IS [NOT] NULL` of a boolean.
    pub(super) fn is_unknown(&mut self, x: &Expr, negated: bool) -> BindResult {
        let e = Box::new(coerce(
            self.bind(x)?,
            SqlType::Bool,
            x.span(),
            "IS UNKNOWN",
        )?);
        Ok(if negated {
            BoundExpr::IsNotNull(e)
        } else {
            BoundExpr::IsNull(e)
        })
    }

    /// `position(needle IN haystack)`.
    pub(super) fn position_in(&mut self, needle: &Expr, haystack: &Expr, span: Span) -> BindResult {
        let args = self.bind_args(&[needle, haystack])?;
        position(args, span)
    }

    /// `substring(x FROM a FOR b)`, `substring(x, a, b)`, `substr(...)`.
    pub(super) fn substring(
        &mut self,
        x: &Expr,
        from: Option<&Expr>,
        count: Option<&Expr>,
        span: Span,
    ) -> BindResult {
        let one = Expr::value(ast::Value::Number("1".into(), false));
        let exprs: Vec<&Expr> = match (from, count) {
            (Some(f), Some(c)) => vec![x, f, c],
            (Some(f), None) => vec![x, f],
            (None, Some(c)) => vec![x, &one, c],
            (None, None) => return Err(not_supported("substring without FROM", span)),
        };
        let args = self.bind_args(&exprs)?;
        let (func, sigs) =
            signatures("substring").ok_or_else(|| no_such("substring", &[], span))?;
        resolve("substring", func, sigs, args, span)
    }

    /// `trim([BOTH | LEADING | TRAILING] [chars FROM] x)` and `trim(x, chars)`.
    pub(super) fn trim(
        &mut self,
        x: &Expr,
        side: Option<&ast::TrimWhereField>,
        what: Option<&Expr>,
        characters: Option<&[Expr]>,
        span: Span,
    ) -> BindResult {
        let side = match side {
            None | Some(ast::TrimWhereField::Both) => TrimSide::Both,
            Some(ast::TrimWhereField::Leading) => TrimSide::Leading,
            Some(ast::TrimWhereField::Trailing) => TrimSide::Trailing,
        };
        let mut exprs = vec![x];
        match (what, characters) {
            (Some(w), _) => exprs.push(w),
            (None, Some([c])) => exprs.push(c),
            (None, None) => {}
            (None, Some(_)) => return Err(no_such("trim", &[], span)),
        }
        let args = self.bind_args(&exprs)?;
        let sigs: &[&[Param]] = &[&[Param::Text], &[Param::Text, Param::Text]];
        resolve("trim", ScalarFunction::Trim(side), sigs, args, span)
    }

    /// `extract(field FROM x)`.
    pub(super) fn extract(
        &mut self,
        field: &ast::DateTimeField,
        x: &Expr,
        span: Span,
    ) -> BindResult {
        let name = field.to_string();
        let field = DateField::parse(&name).ok_or_else(|| unknown_field(&name, span))?;
        let args = self.bind_args(&[x])?;
        if args[0].expr.ty() == SqlType::Interval {
            if field != DateField::Epoch {
                return Err(not_supported(
                    &format!("extract({name} FROM interval)"),
                    span,
                ));
            }
            let arg = args.into_iter().map(|a| a.expr).collect();
            return function(
                "extract",
                ScalarFunction::Interval(IntervalOp::Epoch),
                arg,
                None,
                span,
            );
        }
        let sigs: &[&[Param]] = &[&[Param::Temporal]];
        resolve("extract", ScalarFunction::Extract(field), sigs, args, span)
    }

    /// `ceil(x)` / `floor(x)` (the parser's own forms).
    pub(super) fn ceil_floor(
        &mut self,
        x: &Expr,
        kind: &ast::CeilFloorKind,
        ceil: bool,
        span: Span,
    ) -> BindResult {
        let name = if ceil { "ceil" } else { "floor" };
        if !matches!(
            kind,
            ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime)
        ) {
            return Err(not_supported(&format!("this form of {name}()"), span));
        }
        let args = self.bind_args(&[x])?;
        let (func, sigs) = signatures(name).ok_or_else(|| no_such(name, &[], span))?;
        resolve(name, func, sigs, args, span)
    }

    /// `a || b`: text concatenation; a non-text side is converted to text.
    pub(super) fn string_concat(&mut self, a: &Expr, b: &Expr, span: Span) -> BindResult {
        let args = self.bind_args(&[a, b])?;
        if super::array::is_array_operation(&args[0].expr, &args[1].expr) {
            let mut it = args.into_iter();
            let (Some(l), Some(r)) = (it.next(), it.next()) else {
                return Err(type_error("|| needs two operands".into(), span));
            };
            return super::array::array_concat(l.expr, r.expr, (l.span, r.span));
        }
        let stringy = |x: &Arg| x.expr.ty().is_string() || x.expr.is_untyped_literal();
        if !args.iter().any(stringy) {
            return Err(type_error(
                format!(
                    "operator does not exist: {} || {}",
                    type_name(&args[0].expr),
                    type_name(&args[1].expr)
                ),
                span,
            ));
        }
        let args = args.into_iter().map(as_text).collect::<Result<_, _>>()?;
        function("||", ScalarFunction::StringConcat, args, None, span)
    }
}

type BindResultOpt = Result<Option<BoundExpr>, SqlError>;

/// `position(needle IN haystack)`: `strpos(haystack, needle)`.
fn position(mut args: Vec<Arg>, span: Span) -> BindResult {
    args.reverse();
    let sigs: &[&[Param]] = &[&[Param::Text, Param::Text]];
    resolve("position", ScalarFunction::StrPos, sigs, args, span)
}

/// `a ~ b`, `a ~* b`, `a !~ b`, `a !~* b`: `regexp_like`, negated for `!`.
pub(super) fn regex_operator(
    op: &ast::BinaryOperator,
    l: BoundExpr,
    r: BoundExpr,
    spans: (Span, Span),
    span: Span,
) -> BindResult {
    use ast::BinaryOperator as B;
    let insensitive = matches!(op, B::PGRegexIMatch | B::PGRegexNotIMatch);
    let negated = matches!(op, B::PGRegexNotMatch | B::PGRegexNotIMatch);
    let mut args = operands(l, r, spans);
    if insensitive {
        args.push(Arg {
            expr: text_literal("i"),
            span,
        });
    }
    let sigs: &[&[Param]] = &[
        &[Param::Text, Param::Text],
        &[Param::Text, Param::Text, Param::Text],
    ];
    let m = resolve(
        &op.to_string(),
        ScalarFunction::RegexpLike,
        sigs,
        args,
        span,
    )?;
    Ok(if negated {
        BoundExpr::Not(Box::new(m))
    } else {
        m
    })
}

/// `a & b`, `a | b`, `a # b`, `a << b`, `a >> b` on integers, in their
/// common type.
pub(super) fn bit_operator(
    op: BitOp,
    l: BoundExpr,
    r: BoundExpr,
    spans: (Span, Span),
    span: Span,
) -> BindResult {
    let symbol = match op {
        BitOp::And => "&",
        BitOp::Or => "|",
        BitOp::Xor => "#",
        BitOp::ShiftLeft => "<<",
        _ => ">>",
    };
    let int = |e: &BoundExpr| e.ty().is_integer() || e.is_untyped_literal();
    if !int(&l) || !int(&r) {
        return Err(SqlError::new(
            state::UNDEFINED_FUNCTION,
            format!(
                "operator does not exist: {} {symbol} {}",
                type_name(&l),
                type_name(&r)
            ),
        )
        .at(span));
    }
    let (l, r) = unify(l, r, spans.0, spans.1, symbol)?;
    let ty = l.ty();
    function(
        symbol,
        ScalarFunction::Bitwise(op),
        vec![l, r],
        Some(ty),
        span,
    )
}

/// The two operands of a binary operator as function arguments.
fn operands(l: BoundExpr, r: BoundExpr, spans: (Span, Span)) -> Vec<Arg> {
    vec![
        Arg {
            expr: l,
            span: spans.0,
        },
        Arg {
            expr: r,
            span: spans.1,
        },
    ]
}

/// `a ^ b`: `power(a, b)` in DOUBLE PRECISION.
pub(super) fn power_operator(
    l: BoundExpr,
    r: BoundExpr,
    spans: (Span, Span),
    span: Span,
) -> BindResult {
    let args = operands(l, r, spans);
    let sigs: &[&[Param]] = &[&[Param::Double, Param::Double]];
    resolve("^", ScalarFunction::Power, sigs, args, span)
}

/// A TEXT literal.
/// The name Hyper's `pg_typeof` gives a value's type: no modifiers, and
/// VARCHAR(n) is `text` (Hyper stores it as TEXT); an untyped NULL is
/// `unknown`, an untyped string literal `text`.
fn pg_type_name(e: &BoundExpr) -> String {
    if let BoundExpr::Literal {
        value,
        untyped: true,
        ..
    } = e
        && value.is_null(0)
    {
        return "unknown".into();
    }
    match e.ty() {
        t @ SqlType::Array(_) => super::array::pg_array_name(t),
        t => pg_type_name_of(t).into(),
    }
}

/// Hyper's name of a (non-array) type, as `pg_typeof` gives it.
pub(super) fn pg_type_name_of(ty: SqlType) -> &'static str {
    match ty {
        SqlType::Bool => "boolean",
        SqlType::SmallInt => "smallint",
        SqlType::Int => "integer",
        SqlType::BigInt => "bigint",
        SqlType::Numeric { .. } => "numeric",
        SqlType::Double => "double precision",
        SqlType::Real => "real",
        SqlType::Text | SqlType::Varchar { .. } => "text",
        SqlType::Char { .. } => "character",
        SqlType::Bytes => "bytea",
        SqlType::Json => "json",
        SqlType::Date => "date",
        SqlType::Time => "time",
        SqlType::Timestamp => "timestamp",
        SqlType::TimestampTz => "timestamptz",
        SqlType::Interval => "interval",
        SqlType::Oid => "oid",
        SqlType::Geography => "tabgeography",
        _ => "unknown",
    }
}

fn text_literal(s: &str) -> BoundExpr {
    BoundExpr::Literal {
        value: Arc::new(StringArray::from(vec![s])),
        ty: SqlType::Text,
        untyped: false,
    }
}

/// The value of a non-NULL string literal.
fn literal_text(e: &BoundExpr) -> Option<String> {
    match e {
        BoundExpr::Literal { value, .. } if value.is_valid(0) => value
            .as_any()
            .downcast_ref::<StringArray>()
            .map(|s| s.value(0).to_string()),
        _ => None,
    }
}

/// A SIMILAR TO pattern as an anchored regular expression: `%` is `.*`,
/// `_` is `.`, `\` escapes, regular-expression metacharacters that SQL
/// does not give a meaning (`.`, `^`, `$`) are literal.
fn similar_to_regex(pattern: &str) -> String {
    let mut out = String::from("^(?:");
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            '\\' => match chars.next() {
                Some(n) => out.push_str(&regex_escape(n)),
                None => out.push_str("\\\\"),
            },
            '.' | '^' | '$' => out.push_str(&regex_escape(c)),
            other => out.push(other),
        }
    }
    out.push_str(")$");
    out
}

fn regex_escape(c: char) -> String {
    if c.is_ascii_punctuation() {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

/// Casts the arguments to the first signature they all fit.
fn resolve(
    name: &str,
    func: ScalarFunction,
    sigs: &[&[Param]],
    args: Vec<Arg>,
    span: Span,
) -> BindResult {
    for sig in sigs.iter().filter(|s| s.len() == args.len()) {
        if !args
            .iter()
            .zip(sig.iter())
            .all(|(a, p)| accepts(*p, &a.expr))
        {
            continue;
        }
        let mut cast_args = Vec::with_capacity(args.len());
        for (a, p) in args.iter().zip(sig.iter()) {
            cast_args.push(convert(*p, a)?);
        }
        return function(name, func, cast_args, None, span);
    }
    Err(no_such(name, &args, span))
}

/// Whether `e` can be passed for `p`.
fn accepts(p: Param, e: &BoundExpr) -> bool {
    let t = e.ty();
    if e.is_untyped_literal() {
        // As Hyper: a string literal is no number (`abs('1')` fails).
        let null = matches!(e, BoundExpr::Literal { value, .. } if value.is_null(0));
        return null || !matches!(p, Param::Int | Param::Num | Param::Double);
    }
    match p {
        Param::Text => t.is_string(),
        Param::Int => t.is_integer(),
        Param::Num | Param::Double => t.is_numeric(),
        Param::Temporal => matches!(
            t,
            SqlType::Date | SqlType::Timestamp | SqlType::TimestampTz | SqlType::Time
        ),
        Param::Timestamp => matches!(t, SqlType::Date | SqlType::Timestamp | SqlType::TimestampTz),
        Param::Interval => t == SqlType::Interval,
    }
}

/// Casts an accepted argument to the type `p` passes to exec.
fn convert(p: Param, a: &Arg) -> BindResult {
    let e = a.expr.clone();
    let t = e.ty();
    let untyped = e.is_untyped_literal();
    let target = match p {
        Param::Text => SqlType::Text,
        Param::Int => SqlType::BigInt,
        Param::Double => SqlType::Double,
        Param::Num if untyped => SqlType::Double,
        Param::Num if t == SqlType::Real => SqlType::Double,
        Param::Num => t,
        Param::Temporal | Param::Timestamp if untyped => SqlType::Timestamp,
        Param::Timestamp if t == SqlType::Date => SqlType::Timestamp,
        Param::Temporal | Param::Timestamp => t,
        Param::Interval => SqlType::Interval,
    };
    if e.ty() == target && !untyped {
        return Ok(e);
    }
    cast(e, target, a.span)
}

/// A function call node, its type from exec (or `ty` when given and equal).
fn function(
    name: &str,
    func: ScalarFunction,
    args: Vec<BoundExpr>,
    ty: Option<SqlType>,
    span: Span,
) -> BindResult {
    let types: Vec<_> = args.iter().map(|a| a.ty().to_arrow()).collect();
    let Ok(arrow) = func.return_type(&types) else {
        let shown: Vec<String> = args.iter().map(type_name).collect();
        return Err(undefined(name, &shown, span));
    };
    let natural = SqlType::from_arrow(&arrow).map_err(|e| type_error(e.to_string(), span))?;
    let ty = match ty {
        Some(t) if t.to_arrow() == arrow => t,
        _ => natural,
    };
    Ok(BoundExpr::Function { func, args, ty })
}

fn no_such(name: &str, args: &[Arg], span: Span) -> SqlError {
    let types: Vec<String> = args.iter().map(|a| type_name(&a.expr)).collect();
    undefined(name, &types, span)
}

/// `function name(types) does not exist`.
fn undefined(name: &str, types: &[String], span: Span) -> SqlError {
    SqlError::new(
        state::UNDEFINED_FUNCTION,
        format!("function {name}({}) does not exist", types.join(", ")),
    )
    .at(span)
    .hint("No function matches the given name and argument types. You might need to add explicit type casts.")
}

/// The type as error messages show it: lower case, `unknown` for untyped
/// literals.
pub(super) fn type_name(e: &BoundExpr) -> String {
    if e.is_untyped_literal() {
        "unknown".into()
    } else {
        e.ty().to_string().to_lowercase()
    }
}

/// An argument as TEXT: untyped literals and strings as they are, other
/// types converted with an explicit cast (`'a' || 1`).
fn as_text(a: Arg) -> BindResult {
    if a.expr.ty() == SqlType::Text {
        return Ok(a.expr);
    }
    cast(a.expr, SqlType::Text, a.span)
}

/// A LIKE operand: text, or an error naming the operator.
fn text_operand(a: Arg, op: &str) -> BindResult {
    if a.expr.ty().is_string() || a.expr.is_untyped_literal() {
        return as_text(a);
    }
    Err(type_error(
        format!("operator does not exist: {} {op} text", type_name(&a.expr)),
        a.span,
    )
    .hint("LIKE needs text operands; add an explicit cast"))
}

fn escape_char(e: &Expr) -> Result<Option<char>, SqlError> {
    let text = match e {
        Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::EscapedStringLiteral(s) => Some(s),
            _ => None,
        },
        _ => None,
    };
    let Some(text) = text else {
        return Err(not_supported("a non-literal ESCAPE", e.span()));
    };
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (None, _) => Ok(None),
        (Some(c), None) => Ok(Some(c)),
        _ => Err(
            SqlError::new(state::INVALID_ESCAPE, "invalid escape string")
                .at(e.span())
                .hint("Escape string must be empty or one character."),
        ),
    }
}

/// The common type of `args` and the arguments coerced to it.
pub(super) fn common_args(
    args: Vec<Arg>,
    context: &str,
) -> Result<(SqlType, Vec<BoundExpr>), SqlError> {
    let mut acc: Option<SqlType> = None;
    for a in args.iter().filter(|a| !a.expr.is_untyped_literal()) {
        let t = a.expr.ty();
        acc = Some(match acc {
            None => t,
            Some(prev) => pair_type(prev, t).ok_or_else(|| {
                type_error(
                    format!(
                        "{context} types {} and {} cannot be matched",
                        prev.to_string().to_lowercase(),
                        t.to_string().to_lowercase()
                    ),
                    a.span,
                )
            })?,
        });
    }
    let ty = acc.unwrap_or(SqlType::Text);
    let out = args
        .into_iter()
        .map(|a| coerce(a.expr, ty, a.span, context))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((ty, out))
}

/// The type two values meet in (`None` when they do not).
fn pair_type(a: SqlType, b: SqlType) -> Option<SqlType> {
    use SqlType::*;
    if a == b {
        return Some(a);
    }
    if a.is_numeric() && b.is_numeric() {
        return Some(match (a, b) {
            (Real | Double, _) | (_, Real | Double) => {
                if a == Real && b == Real {
                    Real
                } else {
                    Double
                }
            }
            _ if a.is_integer() && b.is_integer() => {
                if integer_width(a) >= integer_width(b) {
                    a
                } else {
                    b
                }
            }
            _ => {
                let (p1, s1) = numeric_digits(a);
                let (p2, s2) = numeric_digits(b);
                let scale = s1.max(s2);
                let int_digits = (p1 - s1).max(p2 - s2);
                SqlType::numeric((int_digits + scale).min(38), scale).ok()?
            }
        });
    }
    if a.is_string() && b.is_string() {
        return Some(Text);
    }
    if implicitly_castable(a, b) {
        return Some(b);
    }
    implicitly_castable(b, a).then_some(a)
}

fn integer_width(t: SqlType) -> u8 {
    match t {
        SqlType::SmallInt => 2,
        SqlType::Int => 4,
        _ => 8,
    }
}

/// (precision, scale) of an exact numeric type; integers as NUMERIC(p, 0).
fn numeric_digits(t: SqlType) -> (u8, u8) {
    match t {
        SqlType::Numeric { precision, scale } => (precision, scale),
        SqlType::SmallInt => (5, 0),
        SqlType::Int => (10, 0),
        _ => (19, 0),
    }
}

/// `COALESCE(a, b, ...)`: `CASE WHEN a IS NOT NULL THEN a ... ELSE last END`,
/// so that later arguments are only evaluated where needed.
///
/// Constants fold first, as in Hyper: leading NULL constants drop out, the
/// arguments after the first non-NULL constant can never be reached and drop
/// out too (they take no part in the type), and a leading non-NULL constant
/// is the result with its own type: `coalesce('a', 1)` is 'a' (TEXT),
/// `coalesce(1, 2.5)` is 1 (INTEGER), `coalesce(b, 1, 2.5)` is INTEGER.
fn coalesce(mut args: Vec<Arg>, _span: Span) -> BindResult {
    let literal_null = |a: &Arg| match &a.expr {
        BoundExpr::Literal { value, .. } => Some(value.is_null(0)),
        _ => None,
    };
    while args.len() > 1 && literal_null(&args[0]) == Some(true) {
        args.remove(0);
    }
    if let Some(first_constant) = args.iter().position(|a| literal_null(a) == Some(false)) {
        args.truncate(first_constant + 1);
    }
    if args.len() == 1
        && let Some(only) = args.pop()
    {
        // An untyped NULL stays untyped (`coalesce(NULL, NULL)` is unknown).
        return Ok(if literal_null(&only) == Some(true) {
            only.expr
        } else {
            super::expr::default_literal_type(only.expr)
        });
    }
    let (ty, mut args) = common_args(args, "COALESCE")?;
    let last = args.pop().map(Box::new);
    let branches = args
        .into_iter()
        .map(|a| (BoundExpr::IsNotNull(Box::new(a.clone())), a))
        .collect::<Vec<_>>();
    match (branches.is_empty(), last) {
        (true, Some(last)) => Ok(*last),
        (_, else_expr) => Ok(BoundExpr::Case {
            branches,
            else_expr,
            ty,
        }),
    }
}

/// `NULLIF(a, b)`: `CASE WHEN a = b THEN NULL ELSE a END`, of `a`'s type.
fn nullif(args: Vec<Arg>, span: Span) -> BindResult {
    let mut it = args.into_iter();
    let (Some(a), Some(b)) = (it.next(), it.next()) else {
        return Err(no_such("nullif", &[], span));
    };
    let (l, r) = unify(a.expr, b.expr, a.span, b.span, "=")?;
    let ty = l.ty();
    Ok(BoundExpr::Case {
        branches: vec![(
            binary_expr(BinaryOp::Eq, l.clone(), r, SqlType::Bool),
            null_of(ty),
        )],
        else_expr: Some(Box::new(l)),
        ty,
    })
}

pub(crate) fn null_of(ty: SqlType) -> BoundExpr {
    BoundExpr::Literal {
        value: hyperctl_exec::arrow::array::new_null_array(&ty.to_arrow(), 1),
        ty,
        untyped: false,
    }
}

/// `date_part('field', x)` and `date_trunc('field', x)`.
fn date_field_call(name: &str, args: Vec<Arg>, span: Span) -> BindResult {
    let mut it = args.into_iter();
    let (Some(field), Some(x)) = (it.next(), it.next()) else {
        return Err(no_such(name, &[], span));
    };
    let rest: Vec<Arg> = it.collect();
    let field_name = match &field.expr {
        BoundExpr::Literal { value, .. } if field.expr.ty().is_string() => value
            .as_any()
            .downcast_ref::<StringArray>()
            .filter(|a| !a.is_empty() && a.is_valid(0))
            .map(|a| a.value(0).to_string()),
        _ => None,
    };
    let Some(field_name) = field_name else {
        return Err(not_supported(
            &format!("{name} with a non-constant field"),
            field.span,
        ));
    };
    let f = DateField::parse(&field_name).ok_or_else(|| unknown_field(&field_name, field.span))?;
    if name == "datediff" {
        let mut args = vec![x];
        args.extend(rest);
        let sigs: &[&[Param]] = &[&[Param::Timestamp, Param::Timestamp]];
        return resolve(name, ScalarFunction::DateDiff(f), sigs, args, span);
    }
    if name == "date_part" {
        resolve(
            name,
            ScalarFunction::DatePart(f),
            &[&[Param::Temporal]],
            vec![x],
            span,
        )
    } else {
        resolve(
            name,
            ScalarFunction::DateTrunc(f),
            &[&[Param::Timestamp]],
            vec![x],
            span,
        )
    }
}

fn unknown_field(name: &str, span: Span) -> SqlError {
    SqlError::new(
        state::INVALID_PARAMETER,
        format!("unit \"{}\" not recognized", name.to_lowercase()),
    )
    .at(span)
}

/// `current_date`: today in UTC (the default session time zone), fixed
/// when the statement is bound.
fn current_date() -> BoundExpr {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i32::try_from(secs / 86_400).unwrap_or(i32::MAX);
    BoundExpr::Literal {
        value: Arc::new(Date32Array::from(vec![days])),
        ty: SqlType::Date,
        untyped: false,
    }
}

/// Whether `l op r` involves an interval, or is `date + time`, `time -
/// time` or `timestamp - timestamp` (all bound by [`interval_arithmetic`]).
pub(super) fn is_interval_arithmetic(op: BinaryOp, l: &BoundExpr, r: &BoundExpr) -> bool {
    use SqlType as T;
    let (lt, rt) = (l.ty(), r.ty());
    let stamp = |t: T| matches!(t, T::Timestamp | T::TimestampTz);
    lt == T::Interval
        || rt == T::Interval
        || (op == BinaryOp::Add && matches!((lt, rt), (T::Date, T::Time) | (T::Time, T::Date)))
        || (op == BinaryOp::Sub && ((lt == T::Time && rt == T::Time) || (stamp(lt) && stamp(rt))))
}

/// Arithmetic with intervals (see [`is_interval_arithmetic`]); Hyper's
/// types: `date ± interval` is a TIMESTAMP, `timestamp - timestamp` and
/// `time - time` INTERVALs, `date + time` a TIMESTAMP.
pub(super) fn interval_arithmetic(
    op: BinaryOp,
    l: BoundExpr,
    r: BoundExpr,
    span: Span,
) -> BindResult {
    use IntervalOp as I;
    use SqlType as T;
    let call = |op: I, args: Vec<BoundExpr>, ty: T| BoundExpr::Function {
        func: ScalarFunction::Interval(op),
        args,
        ty,
    };
    let negate = |e: BoundExpr| call(I::Negate, vec![e], T::Interval);
    let as_stamp = |e: BoundExpr| -> BindResult {
        match e.ty() {
            T::Timestamp | T::TimestampTz => Ok(e),
            _ => cast(e, T::Timestamp, span),
        }
    };
    let double = |e: BoundExpr| cast(e, T::Double, span);
    let stamp_like = |t: T| matches!(t, T::Date | T::Timestamp | T::TimestampTz);
    let (lt, rt) = (l.ty(), r.ty());
    Ok(match (op, lt, rt) {
        (BinaryOp::Add | BinaryOp::Sub, t, T::Interval) if stamp_like(t) => {
            let l = as_stamp(l)?;
            let ty = l.ty();
            let r = if op == BinaryOp::Sub { negate(r) } else { r };
            call(I::AddToTimestamp, vec![l, r], ty)
        }
        (BinaryOp::Add, T::Interval, t) if stamp_like(t) => {
            let r = as_stamp(r)?;
            let ty = r.ty();
            call(I::AddToTimestamp, vec![r, l], ty)
        }
        (BinaryOp::Add | BinaryOp::Sub, T::Time, T::Interval) => {
            let r = if op == BinaryOp::Sub { negate(r) } else { r };
            call(I::AddToTime, vec![l, r], T::Time)
        }
        (BinaryOp::Add, T::Interval, T::Time) => call(I::AddToTime, vec![r, l], T::Time),
        (BinaryOp::Add | BinaryOp::Sub, T::Interval, T::Interval) => {
            let r = if op == BinaryOp::Sub { negate(r) } else { r };
            call(I::Add, vec![l, r], T::Interval)
        }
        (BinaryOp::Mul, T::Interval, n) if n.is_numeric() => {
            call(I::Multiply, vec![l, double(r)?], T::Interval)
        }
        (BinaryOp::Mul, n, T::Interval) if n.is_numeric() => {
            call(I::Multiply, vec![r, double(l)?], T::Interval)
        }
        (BinaryOp::Div, T::Interval, n) if n.is_numeric() => {
            call(I::Divide, vec![l, double(r)?], T::Interval)
        }
        (BinaryOp::Add, T::Date, T::Time) => call(I::DatePlusTime, vec![l, r], T::Timestamp),
        (BinaryOp::Add, T::Time, T::Date) => call(I::DatePlusTime, vec![r, l], T::Timestamp),
        (BinaryOp::Sub, T::Time, T::Time) => call(I::SubTimes, vec![l, r], T::Interval),
        (BinaryOp::Sub, a, b) if a != T::Interval && b != T::Interval => {
            let r = if a == b { r } else { cast(r, a, span)? };
            call(I::SubTimestamps, vec![l, r], T::Interval)
        }
        _ => {
            return Err(type_error(
                format!("operator does not exist: {lt} {} {rt}", op.symbol()),
                span,
            ));
        }
    })
}

/// Whether `l op r` is date arithmetic (`date ± integer`, `date - date`).
pub(super) fn is_date_arithmetic(op: BinaryOp, l: &BoundExpr, r: &BoundExpr) -> bool {
    let (lt, rt) = (l.ty(), r.ty());
    match op {
        BinaryOp::Add => {
            (lt == SqlType::Date && rt.is_integer()) || (lt.is_integer() && rt == SqlType::Date)
        }
        BinaryOp::Sub => lt == SqlType::Date && (rt.is_integer() || rt == SqlType::Date),
        _ => false,
    }
}

/// `date ± integer` (a DATE) and `date - date` (INTEGER days), computed on
/// the day numbers with checked INTEGER arithmetic.
pub(super) fn date_arithmetic(op: BinaryOp, l: BoundExpr, r: BoundExpr, span: Span) -> BindResult {
    let both_dates = l.ty() == SqlType::Date && r.ty() == SqlType::Date;
    let days = |e: BoundExpr| cast(e, SqlType::Int, span);
    let sum = binary_expr(op, days(l)?, days(r)?, SqlType::Int);
    if both_dates {
        return Ok(sum);
    }
    Ok(BoundExpr::Cast {
        expr: Box::new(sum),
        ty: SqlType::Date,
    })
}

/// The direct sub-expressions of the expression kinds bound here (for the
/// aggregate and grouping checks).
pub(super) fn children(expr: &Expr) -> Vec<&Expr> {
    fn boxed(e: &Option<Box<Expr>>) -> Vec<&Expr> {
        e.as_deref().into_iter().collect()
    }
    match expr {
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            let mut v = boxed(operand);
            for w in conditions {
                v.push(&w.condition);
                v.push(&w.result);
            }
            v.extend(boxed(else_result));
            v
        }
        Expr::Between {
            expr, low, high, ..
        } => vec![expr, low, high],
        Expr::In {
            expr,
            target: ast::InTarget::List(list),
            ..
        } => std::iter::once(&**expr).chain(list).collect(),
        Expr::Like { expr, pattern, .. }
        | Expr::ILike { expr, pattern, .. }
        | Expr::SimilarTo { expr, pattern, .. } => {
            vec![expr, pattern]
        }
        Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => vec![a, b],
        Expr::IsTrue(e)
        | Expr::IsFalse(e)
        | Expr::IsNotTrue(e)
        | Expr::IsNotFalse(e)
        | Expr::IsUnknown(e)
        | Expr::IsNotUnknown(e)
        | Expr::Extract { expr: e, .. }
        | Expr::Ceil { expr: e, .. }
        | Expr::Floor { expr: e, .. } => vec![e],
        Expr::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            let mut v = vec![&**expr];
            v.extend(boxed(substring_from));
            v.extend(boxed(substring_for));
            v
        }
        Expr::Trim {
            expr,
            trim_what,
            trim_characters,
            ..
        } => {
            let mut v = vec![&**expr];
            v.extend(boxed(trim_what));
            v.extend(trim_characters.iter().flatten());
            v
        }
        Expr::Position { expr, r#in } => vec![expr, r#in],
        _ => Vec::new(),
    }
}
