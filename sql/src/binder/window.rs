//! Window function calls (`f(...) OVER (PARTITION BY ... ORDER BY ...
//! frame)` and `OVER name` with a `WINDOW` clause): bound as placeholders
//! while the select list and ORDER BY are bound, then planned as one
//! `Window` node per distinct (PARTITION BY, ORDER BY) above the aggregate.
//!
//! Frames follow PostgreSQL: the default is `RANGE BETWEEN UNBOUNDED
//! PRECEDING AND CURRENT ROW` (the whole partition without ORDER BY); `RANGE`
//! with an offset needs exactly one numeric ORDER BY key; `GROUPS` and
//! `EXCLUDE` are not supported (Hyper rejects `GROUPS` too).

use std::collections::HashMap;

use hyperctl_exec::arrow::array::{Array, AsArray};
use hyperctl_exec::arrow::datatypes::{Decimal128Type, Float64Type, Int32Type, Int64Type};
use hyperctl_exec::{
    AggregateFunction, FrameBound, FrameExclusion, FrameUnits, WindowFrame, WindowFunction,
};
use hyperctl_format::SqlType;
use sqlparser::ast::{self, Expr, Spanned};
use sqlparser::tokenizer::Span;

use super::context::{PendingWindow, placeholder, resolve_placeholders};
use super::expr::{ExprBinder, aggregate_function, coerce, default_literal_type, not_supported};
use super::query::sort_key;
use crate::error::{SqlError, state};
use crate::plan::{BoundExpr, BoundWindow, ColumnInfo, LogicalPlan};

type BindResult<T> = Result<T, SqlError>;

fn window_function(name: &str) -> Option<WindowFunction> {
    Some(match name {
        "row_number" => WindowFunction::RowNumber,
        "rank" => WindowFunction::Rank,
        "dense_rank" => WindowFunction::DenseRank,
        "percent_rank" => WindowFunction::PercentRank,
        "cume_dist" => WindowFunction::CumeDist,
        "ntile" => WindowFunction::Ntile,
        "lag" => WindowFunction::Lag,
        "lead" => WindowFunction::Lead,
        "first_value" => WindowFunction::FirstValue,
        "last_value" => WindowFunction::LastValue,
        "nth_value" => WindowFunction::NthValue,
        _ => return aggregate_function(name).map(WindowFunction::Aggregate),
    })
}

/// Binds `name(args) OVER ...` in the binder's context and returns the
/// placeholder of its value.
pub(super) fn bind_call(
    b: &mut ExprBinder<'_>,
    f: &ast::Function,
    over: &ast::WindowType,
    name: &str,
    span: Span,
) -> BindResult<BoundExpr> {
    let Some(ctx) = b.ctx.filter(|c| c.windows_allowed.get()) else {
        return Err(SqlError::new(
            state::WINDOWING_ERROR,
            "window functions are not allowed here",
        )
        .at(span)
        .hint("window functions may appear in the select list and ORDER BY only"));
    };
    let Some(func) = window_function(name) else {
        return Err(SqlError::new(
            state::WRONG_OBJECT_TYPE,
            format!(
                "OVER specified, but {name} is not a window function nor an aggregate function"
            ),
        )
        .at(span));
    };
    if f.filter.is_some() || !f.within_group.is_empty() {
        return Err(not_supported("FILTER in window calls", span));
    }
    // IGNORE NULLS: Hyper has it for last_value; first_value is its mirror.
    if f.null_treatment == Some(ast::NullTreatment::IgnoreNulls)
        && !matches!(func, WindowFunction::FirstValue | WindowFunction::LastValue)
    {
        return Err(not_supported(&format!("IGNORE NULLS with {name}"), span));
    }
    // The collecting aggregates (string_agg, percentiles) need a parameter
    // that window calls do not carry yet.
    if matches!(func, WindowFunction::Aggregate(a) if a.is_collecting()) {
        return Err(not_supported(&format!("{name} as a window function"), span));
    }
    ctx.windows_allowed.set(false);
    let bound = bind_parts(b, f, over, func, name, span);
    ctx.windows_allowed.set(true);
    let (partition_by, order_by, window) = bound?;
    let id = ctx.next_id();
    let ty = window.ty;
    ctx.windows.borrow_mut().push(PendingWindow {
        id,
        partition_by,
        order_by,
        window,
    });
    Ok(placeholder(id, ty))
}

type Parts = (Vec<BoundExpr>, Vec<crate::plan::BoundSortKey>, BoundWindow);

fn bind_parts(
    b: &mut ExprBinder<'_>,
    f: &ast::Function,
    over: &ast::WindowType,
    func: WindowFunction,
    name: &str,
    span: Span,
) -> BindResult<Parts> {
    let (spec, exclude) = window_spec(b, over, span)?;
    let args = bind_args(b, f, func, name, span)?;
    let func = match func {
        WindowFunction::Aggregate(AggregateFunction::Count) if args.is_empty() => {
            WindowFunction::Aggregate(AggregateFunction::CountStar)
        }
        other => other,
    };
    let mut partition_by = Vec::new();
    for p in &spec.partition_by {
        partition_by.push(default_literal_type(b.bind(p)?));
    }
    let mut order_by = Vec::new();
    for o in &spec.order_by {
        order_by.push(sort_key(default_literal_type(b.bind(&o.expr)?), o));
    }
    let mut frame = frame(b, spec.window_frame.as_ref(), &order_by, span)?;
    frame.exclude = exclude;
    let ty = result_type(func, &args, span)?;
    let window = BoundWindow {
        func,
        args,
        frame,
        ignore_nulls: f.null_treatment == Some(ast::NullTreatment::IgnoreNulls),
        ty,
        name: name.to_string(),
    };
    Ok((partition_by, order_by, window))
}

/// The EXCLUDE clause of `spec`'s frame, taken out of its ORDER BY keys
/// where the parser put it (see [`crate::parse::extensions`]).
fn take_exclusion(spec: &mut ast::WindowSpec) -> FrameExclusion {
    let words = spec
        .order_by
        .last()
        .and_then(|o| crate::parse::extensions::exclusion_of(&o.expr));
    let Some(words) = words else {
        return FrameExclusion::NoOthers;
    };
    spec.order_by.pop();
    match words {
        "CURRENT ROW" => FrameExclusion::CurrentRow,
        "GROUP" => FrameExclusion::Group,
        "TIES" => FrameExclusion::Ties,
        _ => FrameExclusion::NoOthers,
    }
}

/// The window's spec and its frame's EXCLUDE clause; `OVER w` and
/// `OVER (w ...)` look `w` up in the WINDOW clause.
fn window_spec(
    b: &ExprBinder<'_>,
    over: &ast::WindowType,
    span: Span,
) -> BindResult<(ast::WindowSpec, FrameExclusion)> {
    let lookup = |ident: &ast::Ident| -> BindResult<ast::WindowSpec> {
        let wanted = super::normalize(ident);
        let named = b
            .ctx
            .map(|c| c.named_windows.borrow().clone())
            .unwrap_or_default();
        let found = named.iter().find(|d| super::normalize(&d.0) == wanted);
        match found.map(|d| &d.1) {
            Some(ast::NamedWindowExpr::WindowSpec(spec)) => Ok(spec.clone()),
            Some(ast::NamedWindowExpr::NamedWindow(_)) => Err(not_supported(
                "a window defined by another window name",
                ident.span,
            )),
            None => Err(SqlError::new(
                state::UNDEFINED_OBJECT,
                format!("window \"{wanted}\" does not exist"),
            )
            .at(ident.span)),
        }
    };
    match over {
        ast::WindowType::NamedWindow(ident) => {
            let mut spec = lookup(ident)?;
            let exclude = take_exclusion(&mut spec);
            Ok((spec, exclude))
        }
        ast::WindowType::WindowSpec(spec) => match &spec.window_name {
            None => {
                let mut spec = spec.clone();
                let exclude = take_exclusion(&mut spec);
                Ok((spec, exclude))
            }
            Some(ident) => {
                let mut spec = spec.clone();
                let exclude = take_exclusion(&mut spec);
                let mut base = lookup(ident)?;
                // The frame (and so its EXCLUDE) is the referring window's.
                take_exclusion(&mut base);
                if !spec.partition_by.is_empty() {
                    return Err(SqlError::new(
                        state::WINDOWING_ERROR,
                        format!(
                            "cannot override PARTITION BY clause of window \"{}\"",
                            ident.value
                        ),
                    )
                    .at(span));
                }
                if !spec.order_by.is_empty() {
                    base.order_by.clone_from(&spec.order_by);
                }
                base.window_frame.clone_from(&spec.window_frame);
                Ok((base, exclude))
            }
        },
    }
}

fn bind_args(
    b: &mut ExprBinder<'_>,
    f: &ast::Function,
    func: WindowFunction,
    name: &str,
    span: Span,
) -> BindResult<Vec<BoundExpr>> {
    let list = match &f.args {
        ast::FunctionArguments::List(l) => {
            if l.duplicate_treatment == Some(ast::DuplicateTreatment::Distinct) {
                return Err(not_supported("DISTINCT in window functions", span));
            }
            l.args.as_slice()
        }
        ast::FunctionArguments::None => &[],
        ast::FunctionArguments::Subquery(_) => {
            return Err(not_supported("subquery arguments", span));
        }
    };
    let mut star = false;
    let mut exprs = Vec::new();
    for a in list {
        match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => star = true,
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => exprs.push(e),
            _ => return Err(not_supported("named or qualified-wildcard arguments", span)),
        }
    }
    let wrong = || {
        SqlError::new(
            state::UNDEFINED_FUNCTION,
            format!("function {name} does not take these arguments"),
        )
        .at(span)
    };
    let (min, max) = match func {
        WindowFunction::RowNumber
        | WindowFunction::Rank
        | WindowFunction::DenseRank
        | WindowFunction::PercentRank
        | WindowFunction::CumeDist => (0, 0),
        WindowFunction::Ntile | WindowFunction::FirstValue | WindowFunction::LastValue => (1, 1),
        WindowFunction::NthValue => (2, 2),
        WindowFunction::Lag | WindowFunction::Lead => (1, 3),
        WindowFunction::Aggregate(AggregateFunction::Count) if star => (0, 0),
        _ => (1, 1),
    };
    if (star && !matches!(func, WindowFunction::Aggregate(AggregateFunction::Count)))
        || exprs.len() < min
        || exprs.len() > max
    {
        return Err(wrong());
    }
    let mut bound = Vec::with_capacity(exprs.len());
    for e in &exprs {
        let x = b.bind(e)?;
        bound.push(x);
    }
    let mut out = Vec::with_capacity(bound.len());
    for (i, (x, e)) in bound.into_iter().zip(&exprs).enumerate() {
        let x = match (func, i) {
            (WindowFunction::Ntile, 0) | (WindowFunction::NthValue, 1) | (_, 1) => {
                coerce_int(x, e.span(), name)?
            }
            (_, 2) => {
                let value_ty = out.first().map_or(SqlType::Text, BoundExpr::ty);
                coerce(x, value_ty, e.span(), name)?
            }
            _ => default_literal_type(x),
        };
        out.push(x);
    }
    if let (WindowFunction::Aggregate(a), Some(arg)) = (func, out.first())
        && matches!(a, AggregateFunction::Sum | AggregateFunction::Avg)
        && !arg.ty().is_numeric()
    {
        return Err(SqlError::new(
            state::UNDEFINED_FUNCTION,
            format!("function {name}({}) does not exist", arg.ty()),
        )
        .at(span));
    }
    if matches!(func, WindowFunction::Aggregate(AggregateFunction::Count)) && star {
        return Ok(Vec::new());
    }
    Ok(out)
}

fn coerce_int(x: BoundExpr, span: Span, name: &str) -> BindResult<BoundExpr> {
    if !matches!(x.ty(), SqlType::SmallInt | SqlType::Int | SqlType::BigInt)
        && !x.is_untyped_literal()
    {
        return Err(SqlError::new(
            state::UNDEFINED_FUNCTION,
            format!("function {name} takes an integer here, not {}", x.ty()),
        )
        .at(span));
    }
    coerce(x, SqlType::BigInt, span, name)
}

fn result_type(func: WindowFunction, args: &[BoundExpr], span: Span) -> BindResult<SqlType> {
    Ok(match func {
        WindowFunction::RowNumber | WindowFunction::Rank | WindowFunction::DenseRank => {
            SqlType::BigInt
        }
        WindowFunction::Ntile => SqlType::Int,
        WindowFunction::PercentRank | WindowFunction::CumeDist => SqlType::Double,
        WindowFunction::Aggregate(AggregateFunction::Count) if args.is_empty() => SqlType::BigInt,
        WindowFunction::Aggregate(a) => {
            let a = if a == AggregateFunction::Count && args.is_empty() {
                AggregateFunction::CountStar
            } else {
                a
            };
            let t = args.first().map(|x| x.ty().to_arrow());
            let arrow = a
                .return_type(t.as_ref())
                .map_err(|e| SqlError::new(state::UNDEFINED_FUNCTION, e.to_string()).at(span))?;
            SqlType::from_arrow(&arrow)
                .map_err(|e| SqlError::new(state::UNDEFINED_FUNCTION, e.to_string()).at(span))?
        }
        _ => args.first().map_or(SqlType::Text, BoundExpr::ty),
    })
}

fn frame(
    b: &mut ExprBinder<'_>,
    frame: Option<&ast::WindowFrame>,
    order_by: &[crate::plan::BoundSortKey],
    span: Span,
) -> BindResult<WindowFrame> {
    let Some(f) = frame else {
        return Ok(WindowFrame::default());
    };
    let units = match f.units {
        ast::WindowFrameUnits::Rows => FrameUnits::Rows,
        ast::WindowFrameUnits::Range => FrameUnits::Range,
        // Hyper documents GROUPS but refuses it, as a syntax error.
        ast::WindowFrameUnits::Groups => {
            return Err(
                SqlError::new(state::SYNTAX_ERROR, "GROUPS frame extent not supported").at(span),
            );
        }
    };
    let start = bound(b, &f.start_bound, units, order_by, span)?;
    let end = match &f.end_bound {
        Some(e) => bound(b, e, units, order_by, span)?,
        None => FrameBound::CurrentRow,
    };
    let frame_error = |msg: &str| Err(SqlError::new(state::WINDOWING_ERROR, msg).at(span));
    match (start, end) {
        (FrameBound::UnboundedFollowing, _) => {
            return frame_error("frame start cannot be UNBOUNDED FOLLOWING");
        }
        (_, FrameBound::UnboundedPreceding) => {
            return frame_error("frame end cannot be UNBOUNDED PRECEDING");
        }
        (FrameBound::CurrentRow, FrameBound::Preceding(_)) => {
            return frame_error("frame starting from current row cannot have preceding rows");
        }
        (FrameBound::Following(_), FrameBound::Preceding(_) | FrameBound::CurrentRow) => {
            return frame_error("frame starting from following row cannot have preceding rows");
        }
        _ => {}
    }
    Ok(WindowFrame {
        units,
        start,
        end,
        exclude: FrameExclusion::NoOthers,
    })
}

fn bound(
    b: &mut ExprBinder<'_>,
    bound: &ast::WindowFrameBound,
    units: FrameUnits,
    order_by: &[crate::plan::BoundSortKey],
    span: Span,
) -> BindResult<FrameBound> {
    let offset = |e: &Expr, b: &mut ExprBinder<'_>| -> BindResult<f64> {
        if units == FrameUnits::Range {
            match order_by {
                [k] if k.expr.ty().is_numeric() => {}
                _ => {
                    return Err(SqlError::new(
                        state::WINDOWING_ERROR,
                        "RANGE with offset PRECEDING/FOLLOWING requires exactly one numeric ORDER BY column",
                    )
                    .at(e.span()));
                }
            }
        }
        let x = b.bind(e)?;
        let value = constant(&x);
        match value {
            Some(v) if v < 0.0 => Err(SqlError::new(
                state::INVALID_PRECEDING_OR_FOLLOWING,
                "frame starting or ending offset must not be negative",
            )
            .at(e.span())),
            Some(v) if units == FrameUnits::Rows && v.fract() != 0.0 => Err(SqlError::new(
                state::DATATYPE_MISMATCH,
                "ROWS frame offsets must be integers",
            )
            .at(e.span())),
            Some(v) => Ok(v),
            None => Err(not_supported(
                "a frame offset that is not a numeric constant",
                e.span(),
            )),
        }
    };
    let _ = span;
    Ok(match bound {
        ast::WindowFrameBound::CurrentRow => FrameBound::CurrentRow,
        ast::WindowFrameBound::Preceding(None) => FrameBound::UnboundedPreceding,
        ast::WindowFrameBound::Following(None) => FrameBound::UnboundedFollowing,
        ast::WindowFrameBound::Preceding(Some(e)) => FrameBound::Preceding(offset(e, b)?),
        ast::WindowFrameBound::Following(Some(e)) => FrameBound::Following(offset(e, b)?),
    })
}

/// A numeric literal's value.
pub(super) fn constant(e: &BoundExpr) -> Option<f64> {
    let BoundExpr::Literal { value, .. } = e else {
        return None;
    };
    if !value.is_valid(0) {
        return None;
    }
    if let Some(a) = value.as_primitive_opt::<Int32Type>() {
        return Some(f64::from(a.value(0)));
    }
    if let Some(a) = value.as_primitive_opt::<Int64Type>() {
        return Some(a.value(0) as f64);
    }
    if let Some(a) = value.as_primitive_opt::<Float64Type>() {
        return Some(a.value(0));
    }
    if let Some(a) = value.as_primitive_opt::<Decimal128Type>() {
        let scale = a.scale();
        return Some(a.value(0) as f64 / 10f64.powi(i32::from(scale)));
    }
    None
}

/// Adds one Window node per distinct (PARTITION BY, ORDER BY) over `plan`;
/// returns the plan and each window placeholder's column.
pub(super) fn plan_windows(
    plan: LogicalPlan,
    windows: Vec<PendingWindow>,
    subquery_columns: &HashMap<usize, usize>,
) -> BindResult<(LogicalPlan, HashMap<usize, usize>)> {
    let mut plan = plan;
    let mut map = HashMap::new();
    let mut rest = windows;
    while let Some(first) = rest.first().cloned() {
        let (same, other): (Vec<PendingWindow>, Vec<PendingWindow>) = rest
            .into_iter()
            .partition(|w| w.partition_by == first.partition_by && w.order_by == first.order_by);
        rest = other;
        let resolve = |e: &BoundExpr| resolve_placeholders(e, subquery_columns);
        let partition_by = first
            .partition_by
            .iter()
            .map(resolve)
            .collect::<BindResult<Vec<_>>>()?;
        let mut order_by = Vec::new();
        for k in &first.order_by {
            let mut k = k.clone();
            k.expr = resolve(&k.expr)?;
            order_by.push(k);
        }
        let mut columns = plan.columns().to_vec();
        let mut functions = Vec::new();
        for w in same {
            let mut window = w.window.clone();
            window.args = window
                .args
                .iter()
                .map(resolve)
                .collect::<BindResult<Vec<_>>>()?;
            map.insert(w.id, columns.len());
            columns.push(ColumnInfo {
                name: window.name.clone(),
                ty: window.ty,
                nullable: true,
                qualifier: None,
            });
            functions.push(window);
        }
        plan = LogicalPlan::Window {
            input: Box::new(plan),
            partition_by,
            order_by,
            functions,
            columns,
        };
    }
    Ok((plan, map))
}
