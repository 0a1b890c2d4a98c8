//! Binding of queries: SELECT ... FROM ... WHERE ... GROUP BY ... HAVING ...
//! ORDER BY ... LIMIT ... OFFSET, and VALUES.
//!
//! Plan shape: source -> Filter(WHERE) -> [Aggregate -> Filter(HAVING)] ->
//! Project(select list + hidden sort keys) -> [Aggregate for DISTINCT] ->
//! Sort -> Limit -> [Project dropping the hidden sort keys].

use hyperctl_exec::arrow::array::{Array, AsArray};
use hyperctl_exec::arrow::datatypes::{Int32Type, Int64Type};
use sqlparser::ast::{self, Expr, SelectItem, SetExpr, Spanned};
use sqlparser::tokenizer::Span;

use super::context::{BindCtx, Correlation, SubKind, not_decorrelatable, resolve_placeholders};
use super::expr::{AggContext, ExprBinder, contains_aggregate, default_literal_type, object_name};
use super::from::bind_from;
use super::{CatalogView, Scope, normalize, not_supported};
use crate::error::{SqlError, state};
use crate::plan::{BoundAggregate, BoundExpr, BoundSortKey, ColumnInfo, LogicalPlan};

type BindResult<T> = Result<T, SqlError>;

/// Binds a whole query (a statement's, or one with no enclosing query).
pub(crate) fn bind_query(catalog: &dyn CatalogView, q: &ast::Query) -> BindResult<LogicalPlan> {
    let ctx = BindCtx::root(catalog);
    let plan = crate::optimize::reorder_joins(bind_query_ctx(&ctx, q)?);
    let plan = crate::optimize::push_semi_joins(plan);
    let plan = crate::optimize::reduce_grouped_joins(plan);
    let plan = crate::join_filters::push_join_filters(plan);
    let plan = crate::common_exprs::share_aggregate_arithmetic(plan);
    Ok(crate::optimize::prune_columns(plan))
}

/// Binds a query at the level `ctx` describes.
pub(crate) fn bind_query_ctx(ctx: &BindCtx<'_>, q: &ast::Query) -> BindResult<LogicalPlan> {
    if let Some(with) = &q.with {
        super::cte::bind_with(ctx, with)?;
    }
    if !q.locks.is_empty() || q.for_clause.is_some() {
        return Err(not_supported("FOR clauses", q.span()));
    }
    let order_by = match &q.order_by {
        None => Vec::new(),
        Some(ob) => match &ob.kind {
            ast::OrderByKind::Expressions(exprs) => exprs.clone(),
            ast::OrderByKind::All(_) => return Err(not_supported("ORDER BY ALL", q.span())),
        },
    };
    let (limit, offset) = limits(q.limit_clause.as_ref(), q.fetch.as_ref())?;
    ctx.sub_limit.set(limit);
    let plan = match q.body.as_ref() {
        SetExpr::Select(select) => bind_select(ctx, select, &order_by)?,
        SetExpr::Values(values) => order_outputs(bind_values(values)?, &order_by)?,
        SetExpr::Query(inner) => order_outputs(bind_query_ctx(ctx, inner)?, &order_by)?,
        body @ SetExpr::SetOperation { .. } => {
            order_outputs(super::setop::bind_set_expr(ctx, body)?, &order_by)?
        }
        other => return Err(not_supported("this kind of query", other.span())),
    };
    let correlated = ctx.correlation.borrow().is_some();
    if correlated && (offset > 0 || limit == Some(0)) {
        return Err(not_decorrelatable(
            "LIMIT 0 or OFFSET in a correlated subquery",
            q.span(),
        ));
    }
    if correlated {
        // A correlated subquery's plan is its source; LIMIT n >= 1 does not
        // change EXISTS, IN, or a scalar aggregate's one row.
        return Ok(plan);
    }
    Ok(apply_limit(plan, limit, offset))
}

fn apply_limit(plan: LogicalPlan, fetch: Option<usize>, skip: usize) -> LogicalPlan {
    if fetch.is_none() && skip == 0 {
        return plan;
    }
    // A hidden-key projection stays on top of the limit.
    if let LogicalPlan::Project {
        input,
        exprs,
        columns,
    } = plan
    {
        if matches!(input.as_ref(), LogicalPlan::Sort { .. }) {
            return LogicalPlan::Project {
                input: Box::new(LogicalPlan::Limit { input, skip, fetch }),
                exprs,
                columns,
            };
        }
        return LogicalPlan::Limit {
            input: Box::new(LogicalPlan::Project {
                input,
                exprs,
                columns,
            }),
            skip,
            fetch,
        };
    }
    LogicalPlan::Limit {
        input: Box::new(plan),
        skip,
        fetch,
    }
}

fn limits(
    clause: Option<&ast::LimitClause>,
    fetch: Option<&ast::Fetch>,
) -> BindResult<(Option<usize>, usize)> {
    if let Some(f) = fetch {
        if f.with_ties || f.percent {
            return Err(not_supported(
                "FETCH ... WITH TIES / PERCENT",
                Span::empty(),
            ));
        }
        let (_, skip) = limits(clause, None)?;
        let n = f.quantity.as_ref().map(constant_count).transpose()?;
        return Ok((Some(n.unwrap_or(1)), skip));
    }
    match clause {
        None => Ok((None, 0)),
        Some(ast::LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        }) => {
            if let Some(e) = limit_by.first() {
                return Err(not_supported("LIMIT BY", e.span()));
            }
            let fetch = limit.as_ref().map(constant_count).transpose()?;
            let skip = offset
                .as_ref()
                .map(|o| constant_count(&o.value))
                .transpose()?;
            Ok((fetch, skip.unwrap_or(0)))
        }
        Some(ast::LimitClause::OffsetCommaLimit { offset, .. }) => {
            Err(not_supported("LIMIT offset, count", offset.span()))
        }
    }
}

/// A LIMIT or OFFSET value: a non-negative integer constant.
fn constant_count(e: &Expr) -> BindResult<usize> {
    let bound = ExprBinder::plain(&Scope::default()).bind(e)?;
    let value = match &bound {
        BoundExpr::Literal { value, .. } if value.is_valid(0) => {
            if let Some(a) = value.as_primitive_opt::<Int32Type>() {
                Some(i64::from(a.value(0)))
            } else {
                value.as_primitive_opt::<Int64Type>().map(|a| a.value(0))
            }
        }
        _ => None,
    };
    match value {
        Some(v) if v >= 0 => Ok(v as usize),
        // Hyper: "the limit clause must not be negative", a syntax error.
        Some(_) => Err(
            SqlError::new(state::SYNTAX_ERROR, "LIMIT and OFFSET must not be negative")
                .at(e.span()),
        ),
        None => Err(SqlError::new(
            state::DATATYPE_MISMATCH,
            "LIMIT and OFFSET take an integer constant",
        )
        .at(e.span())),
    }
}

/// VALUES (..), (..): every row has the same number of columns; column types
/// are the common types of the rows (untyped literals alone become TEXT).
pub(super) fn bind_values(values: &ast::Values) -> BindResult<LogicalPlan> {
    let scope = Scope::default();
    let mut rows = Vec::with_capacity(values.rows.len());
    for row in &values.rows {
        let mut bound = Vec::with_capacity(row.content.len());
        for e in &row.content {
            bound.push(ExprBinder::plain(&scope).bind(e)?);
        }
        rows.push(bound);
    }
    let width = rows.first().map_or(0, Vec::len);
    for (row, ast_row) in rows.iter().zip(&values.rows) {
        if row.len() != width {
            return Err(SqlError::new(
                state::SYNTAX_ERROR,
                "VALUES lists must all be the same length",
            )
            .at(ast_row.opening_token.0.span));
        }
    }
    let mut columns = Vec::with_capacity(width);
    for i in 0..width {
        // The common type of the typed rows (`VALUES (1.5), (2.25)` is
        // NUMERIC(3,2), as in Hyper), else the first typed row's.
        let ty = rows
            .iter()
            .map(|r| &r[i])
            .filter(|e| !e.is_untyped_literal())
            .map(BoundExpr::ty)
            .reduce(|acc, t| super::setop::unify(acc, false, t, false).unwrap_or(acc))
            .unwrap_or(hyperctl_format::SqlType::Text);
        for (row, ast_row) in rows.iter_mut().zip(&values.rows) {
            let e = std::mem::replace(&mut row[i], placeholder());
            let span = ast_row.content[i].span();
            row[i] = super::expr::coerce(e, ty, span, "VALUES").map_err(|err| {
                // As Hyper: a literal of another type is a syntax error.
                if err.sqlstate == state::INVALID_TEXT {
                    SqlError::new(
                        state::SYNTAX_ERROR,
                        "'values' elements must have identical types",
                    )
                    .at(span)
                } else {
                    err
                }
            })?;
        }
        columns.push(ColumnInfo {
            name: format!("column{}", i + 1),
            ty,
            nullable: rows.iter().any(|r| r[i].nullable()),
            qualifier: None,
        });
    }
    Ok(LogicalPlan::Values { rows, columns })
}

fn placeholder() -> BoundExpr {
    BoundExpr::Literal {
        value: hyperctl_exec::arrow::array::new_null_array(
            &hyperctl_exec::arrow::datatypes::DataType::Utf8,
            1,
        ),
        ty: hyperctl_format::SqlType::Text,
        untyped: true,
    }
}

/// ORDER BY over the output of a VALUES or nested query: names and ordinals.
pub(super) fn order_outputs(
    plan: LogicalPlan,
    order_by: &[ast::OrderByExpr],
) -> BindResult<LogicalPlan> {
    if order_by.is_empty() {
        return Ok(plan);
    }
    let scope = Scope::new(plan.columns().to_vec());
    let mut keys = Vec::new();
    for o in order_by {
        let expr = match ordinal(&o.expr, scope.columns.len())? {
            Some(i) => column_ref(&scope.columns, i),
            None => ExprBinder::plain(&scope).bind(&o.expr)?,
        };
        keys.push(sort_key(expr, o));
    }
    Ok(LogicalPlan::Sort {
        input: Box::new(plan),
        keys,
    })
}

pub(super) fn sort_key(expr: BoundExpr, o: &ast::OrderByExpr) -> BoundSortKey {
    let descending = matches!(o.options.sort, Some(ast::OrderBySort::Desc));
    BoundSortKey {
        expr,
        descending,
        // Hyper and PostgreSQL: NULLs sort as if larger than every value.
        nulls_first: o.options.nulls_first.unwrap_or(descending),
    }
}

pub(crate) fn column_ref(columns: &[ColumnInfo], i: usize) -> BoundExpr {
    BoundExpr::Column {
        index: i,
        ty: columns[i].ty,
        nullable: columns[i].nullable,
    }
}

/// `ORDER BY 2` / `GROUP BY 1`: a 1-based position in the select list.
fn ordinal(e: &Expr, len: usize) -> BindResult<Option<usize>> {
    let Expr::Value(v) = e else { return Ok(None) };
    let ast::Value::Number(text, _) = &v.value else {
        return Ok(None);
    };
    match text.parse::<usize>() {
        Ok(n) if (1..=len).contains(&n) => Ok(Some(n - 1)),
        // Hyper: "invalid column number in order-by", a syntax error.
        _ => Err(SqlError::new(
            state::SYNTAX_ERROR,
            format!("position {text} is not in select list"),
        )
        .at(v.span)),
    }
}

/// One item of the select list, before binding.
pub(super) struct Item<'q> {
    pub(super) expr: Option<&'q Expr>,
    /// For `*` expansion: the scope column.
    pub(super) column: Option<usize>,
    pub(super) name: String,
    pub(super) span: Span,
}

pub(super) fn expand_items<'q>(
    projection: &'q [SelectItem],
    scope: &Scope,
) -> BindResult<Vec<Item<'q>>> {
    let mut items = Vec::new();
    for (i, item) in projection.iter().enumerate() {
        match item {
            SelectItem::UnnamedExpr(e) => items.push(Item {
                expr: Some(e),
                column: None,
                name: output_name(e, i + 1),
                span: e.span(),
            }),
            SelectItem::ExprWithAlias { expr, alias } => items.push(Item {
                expr: Some(expr),
                column: None,
                name: normalize(alias),
                span: expr.span(),
            }),
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                let qualifier = match item {
                    SelectItem::QualifiedWildcard(
                        ast::SelectItemQualifiedWildcardKind::ObjectName(n),
                        _,
                    ) => Some(object_name(n).to_lowercase()),
                    SelectItem::QualifiedWildcard(..) => {
                        return Err(not_supported("this wildcard", item.span()));
                    }
                    _ => None,
                };
                if scope.columns.is_empty() {
                    return Err(SqlError::new(
                        state::SYNTAX_ERROR,
                        "SELECT * with no tables specified is not valid",
                    )
                    .at(item.span()));
                }
                if let Some(q) = qualifier.as_deref().filter(|q| !scope.has_qualifier(q)) {
                    return Err(Scope::missing_qualifier(q, item.span()));
                }
                for (c, col) in scope.columns.iter().enumerate() {
                    let shown = match &qualifier {
                        None => !scope.is_hidden(c),
                        Some(q) => col.qualifier.as_ref() == Some(q),
                    };
                    if shown {
                        items.push(Item {
                            expr: None,
                            column: Some(c),
                            name: col.name.clone(),
                            span: item.span(),
                        });
                    }
                }
            }
            other => return Err(not_supported("this select item", other.span())),
        }
    }
    Ok(items)
}

/// Hyper's names for unnamed select items: column names stay, functions keep
/// their name, anything else is named by its position.
fn output_name(e: &Expr, position: usize) -> String {
    match e {
        Expr::Identifier(i) => normalize(i),
        Expr::CompoundIdentifier(parts) => parts.last().map(normalize).unwrap_or_default(),
        Expr::Function(f) => object_name(&f.name).to_lowercase(),
        Expr::Nested(inner) => output_name(inner, position),
        Expr::Cast { expr, .. } => match expr.as_ref() {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Function(_) => {
                output_name(expr, position)
            }
            _ => position.to_string(),
        },
        _ => position.to_string(),
    }
}

/// A SELECT without ORDER BY (a set operation's operand).
pub(super) fn bind_select_body(ctx: &BindCtx<'_>, select: &ast::Select) -> BindResult<LogicalPlan> {
    bind_select(ctx, select, &[])
}

fn bind_select(
    ctx: &BindCtx<'_>,
    select: &ast::Select,
    order_by: &[ast::OrderByExpr],
) -> BindResult<LogicalPlan> {
    if let Some(rewritten) = super::array::select_list_unnest(select) {
        return bind_select(ctx, &rewritten, order_by);
    }
    let sub_kind = ctx.sub_kind.take();
    check_select_clauses(select)?;
    ctx.named_windows
        .borrow_mut()
        .clone_from(&select.named_window);
    let (mut plan, scope) = bind_from(ctx, select)?;
    let mut corr_preds = Vec::new();
    if let Some(w) = &select.selection {
        if contains_aggregate(w) {
            return Err(SqlError::new(
                state::GROUPING_ERROR,
                "aggregate functions are not allowed in WHERE",
            )
            .at(w.span()));
        }
        plan = bind_where(ctx, plan, &scope, w, &mut corr_preds)?;
    }
    let items = expand_items(&select.projection, &scope)?;
    let group_exprs = match &select.group_by {
        ast::GroupByExpr::Expressions(exprs, modifiers) if modifiers.is_empty() => exprs.as_slice(),
        other => {
            return Err(not_supported(
                "GROUP BY ALL and WITH ROLLUP / WITH CUBE / WITH TOTALS modifiers",
                other_span(other, select),
            ));
        }
    };
    let grouped = !group_exprs.is_empty()
        || select.having.is_some()
        || items.iter().filter_map(|i| i.expr).any(contains_aggregate)
        || order_by.iter().any(|o| contains_aggregate(&o.expr));
    let mut scalar_keys = None;
    let mut rows_keys = None;
    let mut residual = Vec::new();
    if !corr_preds.is_empty() {
        let where_span = select
            .selection
            .as_ref()
            .map_or(select.select_token.0.span, |w| w.span());
        match sub_kind {
            None => {
                let at = ctx
                    .outer_refs
                    .borrow()
                    .first()
                    .copied()
                    .unwrap_or(where_span);
                return Err(not_decorrelatable(
                    "a correlated reference inside a set operation or nested query of a subquery",
                    at,
                ));
            }
            Some(SubKind::Exists) | Some(SubKind::In) if grouped => {
                return Err(not_decorrelatable(
                    "a correlated EXISTS or IN subquery with GROUP BY or aggregates",
                    select.select_token.0.span,
                ));
            }
            Some(SubKind::Exists) => {
                *ctx.correlation.borrow_mut() = Some(Correlation::Exists {
                    source: plan.clone(),
                    preds: corr_preds,
                });
                return Ok(plan);
            }
            Some(SubKind::In) => {
                let inner = match items.as_slice() {
                    [item] => match (item.expr, item.column) {
                        (Some(e), _) => bind_in(ctx, &scope, None, e)?,
                        (None, Some(c)) => column_ref(&scope.columns, c),
                        (None, None) => unreachable_item(item.span)?,
                    },
                    _ => {
                        return Err(SqlError::new(
                            state::SYNTAX_ERROR,
                            "subquery has too many columns",
                        )
                        .at(select.select_token.0.span));
                    }
                };
                if inner.has_placeholder() {
                    return Err(not_supported(
                        "a subquery in the select list of a correlated IN subquery",
                        select.select_token.0.span,
                    ));
                }
                *ctx.correlation.borrow_mut() = Some(Correlation::In {
                    source: plan.clone(),
                    preds: corr_preds,
                    inner: default_literal_type(inner),
                });
                return Ok(plan);
            }
            Some(SubKind::Scalar | SubKind::Lateral) => {
                if !group_exprs.is_empty() {
                    return Err(not_decorrelatable(
                        "a correlated subquery with GROUP BY",
                        select.select_token.0.span,
                    ));
                }
                if grouped {
                    scalar_keys = Some(split_keys(corr_preds, where_span)?);
                } else if sub_kind == Some(SubKind::Lateral) && ctx.sub_limit.get().is_none() {
                    // Other conditions join the LATERAL rows to the outer row.
                    let (keys, rest): (Vec<_>, Vec<_>) = corr_preds
                        .into_iter()
                        .partition(|p| split_keys(vec![p.clone()], where_span).is_ok());
                    let (inner, outer) = split_keys(keys, where_span)?;
                    rows_keys = Some((inner, outer));
                    residual = rest;
                } else {
                    rows_keys = Some(split_keys(corr_preds, where_span)?);
                }
            }
        }
    }
    let mut agg = AggContext::default();
    if let Some((inner_keys, _)) = &scalar_keys {
        agg.group_by.extend(inner_keys.iter().cloned());
    }
    let pre_aggregate = plan.clone();
    if grouped {
        let group_by = super::grouping::bind_group_by(group_exprs, &mut |g| {
            resolve_group_expr(g, &items, &scope)
        })?;
        if group_by.is_plain() {
            agg.group_by.extend(group_by.keys);
        } else {
            super::grouping::install(&mut agg, group_by, &scope);
        }
    }
    ctx.windows_allowed.set(true);
    let mut select_exprs = Vec::with_capacity(items.len());
    for item in &items {
        let bound = match (item.expr, item.column) {
            (Some(e), _) => bind_in(ctx, &scope, grouped.then_some(&mut agg), e),
            (None, Some(c)) => {
                let e = column_ref(&scope.columns, c);
                if grouped {
                    match agg.group_by.iter().position(|g| *g == e) {
                        Some(pos) => Ok(agg.group_ref(pos)),
                        None => Err(SqlError::new(state::GROUPING_ERROR, format!("column \"{}\" must appear in the GROUP BY clause or be used in an aggregate function", item.name)).at(item.span)),
                    }
                } else {
                    Ok(e)
                }
            }
            (None, None) => unreachable_item(item.span),
        };
        match bound {
            Ok(b) => select_exprs.push(default_literal_type(b)),
            Err(e) => {
                ctx.windows_allowed.set(false);
                return Err(e);
            }
        }
    }
    ctx.windows_allowed.set(false);
    let having = match &select.having {
        Some(h) => {
            let e = bind_in(ctx, &scope, Some(&mut agg), h)?;
            Some(super::expr::coerce(
                e,
                hyperctl_format::SqlType::Bool,
                h.span(),
                "HAVING",
            )?)
        }
        None => None,
    };
    // ORDER BY (and DISTINCT ON) may add hidden expressions; bind them
    // before the aggregate is built.
    let mut keys = Vec::new();
    let mut hidden = Vec::new();
    let mut distinct_on = Vec::new();
    ctx.windows_allowed.set(true);
    let bound_keys = (|| -> BindResult<()> {
        for o in order_by {
            let expr = order_key(
                ctx,
                o,
                &items,
                &select_exprs,
                &mut hidden,
                &scope,
                grouped.then_some(&mut agg),
            )?;
            keys.push(sort_key(expr, o));
        }
        if let Some(ast::Distinct::On(on)) = &select.distinct {
            for e in on {
                let o = ast::OrderByExpr {
                    expr: e.clone(),
                    options: ast::OrderByOptions {
                        sort: None,
                        nulls_first: None,
                    },
                    with_fill: None,
                };
                let expr = order_key(
                    ctx,
                    &o,
                    &items,
                    &select_exprs,
                    &mut hidden,
                    &scope,
                    grouped.then_some(&mut agg),
                )?;
                distinct_on.push(expr);
            }
        }
        Ok(())
    })();
    ctx.windows_allowed.set(false);
    bound_keys?;
    if let Some(ast::Distinct::On(on)) = &select.distinct {
        check_distinct_on(&distinct_on, &keys, on, select)?;
    }
    if let Some((inner_keys, outer_keys)) = rows_keys {
        let parts = RowsParts {
            plan,
            select_exprs,
            hidden,
            keys,
            inner_keys,
            outer_keys,
            residual,
            names: items.iter().map(|i| i.name.clone()).collect(),
        };
        return super::decorrelate::finish_rows(ctx, parts, sub_kind, select);
    }
    let aggregates = agg.aggregates.clone();
    if grouped && !agg.grouping_sets.is_empty() {
        plan = super::grouping::aggregate_sets(plan, &scope, agg);
    } else if grouped {
        plan = aggregate_node(plan, &scope, agg);
    }
    let (attached, sub_map) = super::subquery::attach(plan, ctx.take_subqueries());
    plan = attached;
    let having = having
        .map(|h| resolve_placeholders(&h, &sub_map))
        .transpose()?;
    if let Some(h) = &having {
        plan = LogicalPlan::Filter {
            input: Box::new(plan),
            predicate: h.clone(),
            keeps: None,
        };
    }
    if let Some((inner_keys, outer_keys)) = scalar_keys {
        return finish_scalar(
            ctx,
            ScalarParts {
                plan,
                pre_aggregate,
                select_exprs,
                sub_map,
                m: inner_keys.len(),
                outer_keys,
                aggregates,
                having,
                name: match sub_kind {
                    Some(SubKind::Lateral) => {
                        items.first().map_or("#value".into(), |i| i.name.clone())
                    }
                    _ => "#value".into(),
                },
            },
            select,
        );
    }
    let (windowed, win_map) = super::window::plan_windows(plan, ctx.take_windows(), &sub_map)?;
    plan = windowed;
    let mut map = sub_map;
    map.extend(win_map);
    let select_exprs = select_exprs
        .iter()
        .map(|e| resolve_placeholders(e, &map))
        .collect::<BindResult<Vec<_>>>()?;
    let hidden = hidden
        .iter()
        .map(|e| resolve_placeholders(e, &map))
        .collect::<BindResult<Vec<_>>>()?;
    let visible = items.len();
    let mut columns: Vec<ColumnInfo> = items
        .iter()
        .zip(&select_exprs)
        .map(|(i, e)| ColumnInfo {
            name: i.name.clone(),
            ty: e.ty(),
            nullable: e.nullable(),
            qualifier: None,
        })
        .collect();
    let mut exprs = select_exprs;
    for (n, h) in hidden.into_iter().enumerate() {
        columns.push(ColumnInfo {
            name: format!("#sort{n}"),
            ty: h.ty(),
            nullable: h.nullable(),
            qualifier: None,
        });
        exprs.push(h);
    }
    plan = LogicalPlan::Project {
        input: Box::new(plan),
        exprs,
        columns: columns.clone(),
    };
    if matches!(select.distinct, Some(ast::Distinct::Distinct)) {
        if columns.len() > visible {
            return Err(SqlError::new(
                state::INVALID_PARAMETER,
                "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
            )
            .at(select.select_token.0.span));
        }
        let group_by = (0..columns.len())
            .map(|i| column_ref(&columns, i))
            .collect();
        plan = LogicalPlan::Aggregate {
            input: Box::new(plan),
            group_by,
            aggregates: Vec::new(),
            columns: columns.clone(),
        };
    }
    if !distinct_on.is_empty() {
        plan = first_per_key(plan, distinct_on, keys.clone());
    }
    if !keys.is_empty() {
        plan = LogicalPlan::Sort {
            input: Box::new(plan),
            keys,
        };
    }
    if plan.columns().len() > visible {
        let all = plan.columns().to_vec();
        let exprs = (0..visible).map(|i| column_ref(&all, i)).collect();
        columns.truncate(visible);
        plan = LogicalPlan::Project {
            input: Box::new(plan),
            exprs,
            columns,
        };
    }
    Ok(plan)
}

/// DISTINCT ON: the first row (in ORDER BY order) of each key.
fn first_per_key(
    plan: LogicalPlan,
    on: Vec<BoundExpr>,
    order_by: Vec<BoundSortKey>,
) -> LogicalPlan {
    use hyperctl_exec::{WindowFrame, WindowFunction};
    let mut columns = plan.columns().to_vec();
    let rn = columns.len();
    columns.push(ColumnInfo {
        name: "#rn".into(),
        ty: hyperctl_format::SqlType::BigInt,
        nullable: false,
        qualifier: None,
    });
    let window = LogicalPlan::Window {
        input: Box::new(plan),
        partition_by: on,
        order_by,
        functions: vec![crate::plan::BoundWindow {
            func: WindowFunction::RowNumber,
            args: Vec::new(),
            frame: WindowFrame::default(),
            ignore_nulls: false,
            ty: hyperctl_format::SqlType::BigInt,
            name: "#rn".into(),
        }],
        columns,
    };
    let one = BoundExpr::Literal {
        value: std::sync::Arc::new(hyperctl_exec::arrow::array::Int64Array::from(vec![1i64])),
        ty: hyperctl_format::SqlType::BigInt,
        untyped: false,
    };
    LogicalPlan::Filter {
        input: Box::new(window),
        predicate: super::expr::binary_expr(
            hyperctl_exec::BinaryOp::Eq,
            BoundExpr::Column {
                index: rn,
                ty: hyperctl_format::SqlType::BigInt,
                nullable: false,
            },
            one,
            hyperctl_format::SqlType::Bool,
        ),
        keeps: None,
    }
}

/// PostgreSQL: the DISTINCT ON expressions must be the leftmost ORDER BY
/// keys (in any order).
fn check_distinct_on(
    on: &[BoundExpr],
    keys: &[BoundSortKey],
    on_ast: &[Expr],
    select: &ast::Select,
) -> BindResult<()> {
    let n = on.len().min(keys.len());
    let matches = keys[..n].iter().all(|k| on.contains(&k.expr));
    if matches {
        return Ok(());
    }
    let span = on_ast
        .first()
        .map_or(select.select_token.0.span, |e| e.span());
    Err(SqlError::new(
        state::INVALID_PARAMETER,
        "SELECT DISTINCT ON expressions must match initial ORDER BY expressions",
    )
    .at(span))
}

/// WHERE: correlated conjuncts go to `corr`; top-level `[NOT] EXISTS` and
/// `x IN (subquery)` become Semi / Anti joins; plain conjuncts are pushed
/// into the FROM plan; conjuncts with other subqueries filter above their
/// joins. The plan keeps the FROM scope's columns.
pub(super) fn bind_where(
    ctx: &BindCtx<'_>,
    plan: LogicalPlan,
    scope: &Scope,
    w: &Expr,
    corr: &mut Vec<BoundExpr>,
) -> BindResult<LogicalPlan> {
    let mut conjuncts = Vec::new();
    split_and(w, &mut conjuncts);
    let mut plain = Vec::new();
    let mut deferred = Vec::new();
    let mut filters = Vec::new();
    for c in conjuncts {
        match c {
            Expr::Exists { subquery, negated } => {
                let (join, _) = super::subquery::bind(
                    ctx,
                    scope,
                    subquery,
                    SubKind::Exists,
                    None,
                    false,
                    c.span(),
                )?;
                filters.push((join, *negated));
                continue;
            }
            Expr::In {
                expr: x,
                target: ast::InTarget::Subquery(q),
                negated: false,
                ..
            } => {
                if matches!(x.as_ref(), Expr::Tuple(_)) {
                    return Err(SqlError::new(
                        state::SYNTAX_ERROR,
                        "quantifiers require subqueries with one output column on the right hand side",
                    )
                    .at(x.span()));
                }
                let lhs = ExprBinder::in_ctx(scope, ctx).bind(x)?;
                if lhs.has_outer() || lhs.has_placeholder() {
                    return Err(not_decorrelatable(
                        "a correlated reference or subquery on the left of IN (subquery)",
                        x.span(),
                    ));
                }
                let (join, _) =
                    super::subquery::bind(ctx, scope, q, SubKind::In, Some(lhs), false, c.span())?;
                filters.push((join, false));
                continue;
            }
            _ => {}
        }
        let e = ExprBinder::in_ctx(scope, ctx).bind(c)?;
        let e = super::expr::coerce(e, hyperctl_format::SqlType::Bool, c.span(), "WHERE")?;
        match (e.has_outer(), e.has_placeholder()) {
            (true, true) => {
                return Err(not_decorrelatable(
                    "a WHERE condition with both a correlated reference and a subquery",
                    c.span(),
                ));
            }
            (true, false) => corr.push(e),
            (false, true) => deferred.push(e),
            (false, false) => plain.push(e),
        }
    }
    let width = plan.columns().len();
    let mut plan = match BoundExpr::and_all(plain) {
        Some(p) => super::from::push_where(plan, p),
        None => plan,
    };
    for (join, negated) in filters {
        plan = super::subquery::filter_join(plan, join, negated);
    }
    let (attached, map) = super::subquery::attach(plan, ctx.take_subqueries());
    plan = attached;
    if let Some(p) = BoundExpr::and_all(deferred) {
        plan = LogicalPlan::Filter {
            input: Box::new(plan),
            predicate: resolve_placeholders(&p, &map)?,
            keeps: None,
        };
    }
    if plan.columns().len() > width {
        let all = plan.columns().to_vec();
        plan = LogicalPlan::Project {
            input: Box::new(plan),
            exprs: (0..width).map(|i| column_ref(&all, i)).collect(),
            columns: all[..width].to_vec(),
        };
    }
    Ok(plan)
}

/// The operands of a tree of ANDs (through parentheses).
fn split_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::BinaryOp {
            left,
            op: ast::BinaryOperator::And,
            right,
        } => {
            split_and(left, out);
            split_and(right, out);
        }
        Expr::Nested(inner) => split_and(inner, out),
        other => out.push(other),
    }
}

/// A correlated scalar subquery's conjuncts as (inner key, outer key)
/// pairs; each must be `inner = outer`.
fn split_keys(preds: Vec<BoundExpr>, span: Span) -> BindResult<(Vec<BoundExpr>, Vec<BoundExpr>)> {
    let mut inner = Vec::new();
    let mut outer = Vec::new();
    let outer_only = |e: &BoundExpr| {
        let mut cols = false;
        e.visit_columns(&mut |_| cols = true);
        e.has_outer() && !cols
    };
    for p in preds {
        let BoundExpr::Binary {
            op: hyperctl_exec::BinaryOp::Eq,
            left,
            right,
            ..
        } = &p
        else {
            return Err(not_decorrelatable(
                "a correlated condition other than inner = outer in a scalar subquery or a LATERAL one with LIMIT",
                span,
            ));
        };
        if !left.has_outer() && outer_only(right) {
            inner.push(left.as_ref().clone());
            outer.push(right.as_ref().clone());
        } else if !right.has_outer() && outer_only(left) {
            inner.push(right.as_ref().clone());
            outer.push(left.as_ref().clone());
        } else {
            return Err(not_decorrelatable(
                "a correlated condition other than inner = outer in a scalar subquery or a LATERAL one with LIMIT",
                span,
            ));
        }
    }
    Ok((inner, outer))
}

/// What `finish_rows` needs of a correlated subquery's SELECT that is not
/// an aggregate.
pub(super) struct RowsParts {
    /// The source: FROM and the uncorrelated WHERE.
    pub(super) plan: LogicalPlan,
    /// Over the source (placeholders for subqueries).
    pub(super) select_exprs: Vec<BoundExpr>,
    /// ORDER BY expressions that are not in the select list.
    pub(super) hidden: Vec<BoundExpr>,
    /// ORDER BY over (select list, hidden).
    pub(super) keys: Vec<BoundSortKey>,
    /// The inner and outer sides of the correlated equalities.
    pub(super) inner_keys: Vec<BoundExpr>,
    pub(super) outer_keys: Vec<BoundExpr>,
    /// Other correlated conditions (LATERAL without LIMIT only), over the
    /// source and outer references.
    pub(super) residual: Vec<BoundExpr>,
    /// The select list's names.
    pub(super) names: Vec<String>,
}

/// What `finish_scalar` needs of a correlated scalar subquery's SELECT.
struct ScalarParts {
    /// Grouped by the inner keys, HAVING applied.
    plan: LogicalPlan,
    pre_aggregate: LogicalPlan,
    select_exprs: Vec<BoundExpr>,
    sub_map: std::collections::HashMap<usize, usize>,
    /// The number of inner keys (the first group columns).
    m: usize,
    outer_keys: Vec<BoundExpr>,
    aggregates: Vec<BoundAggregate>,
    having: Option<BoundExpr>,
    /// The value's name (a LATERAL column's).
    name: String,
}

/// A correlated scalar aggregate: (value, key..., TRUE) per group, and the
/// value over no rows when it is not simply NULL.
fn finish_scalar(
    ctx: &BindCtx<'_>,
    parts: ScalarParts,
    select: &ast::Select,
) -> BindResult<LogicalPlan> {
    let span = select.select_token.0.span;
    let ScalarParts {
        plan,
        pre_aggregate,
        select_exprs,
        sub_map,
        m,
        outer_keys,
        aggregates,
        having,
        name,
    } = parts;
    if !ctx.windows.borrow().is_empty() {
        return Err(not_decorrelatable(
            "a window function in a correlated scalar subquery",
            span,
        ));
    }
    let value = match select_exprs.as_slice() {
        [v] => resolve_placeholders(v, &sub_map)?,
        _ => {
            return Err(
                SqlError::new(state::SYNTAX_ERROR, "subquery must return only one column").at(span),
            );
        }
    };
    let mut exprs = vec![value.clone()];
    let mut columns = vec![ColumnInfo {
        name,
        ty: value.ty(),
        nullable: true,
        qualifier: None,
    }];
    let all = plan.columns().to_vec();
    for i in 0..m {
        exprs.push(column_ref(&all, i));
        columns.push(ColumnInfo {
            name: format!("#key{i}"),
            ..all[i].clone()
        });
    }
    exprs.push(BoundExpr::Literal {
        value: std::sync::Arc::new(hyperctl_exec::arrow::array::BooleanArray::from(vec![true])),
        ty: hyperctl_format::SqlType::Bool,
        untyped: false,
    });
    columns.push(ColumnInfo {
        name: "#matched".into(),
        ty: hyperctl_format::SqlType::Bool,
        nullable: false,
        qualifier: None,
    });
    let grouped = LogicalPlan::Project {
        input: Box::new(plan),
        exprs,
        columns,
    };
    let empty = if null_on_empty(&value, m, &aggregates) {
        None
    } else {
        Some(empty_value(
            pre_aggregate,
            &value,
            m,
            aggregates,
            having,
            &sub_map,
            span,
        )?)
    };
    *ctx.correlation.borrow_mut() = Some(Correlation::Scalar {
        plan: grouped.clone(),
        outer_keys,
        empty,
    });
    Ok(grouped)
}

/// Whether `value` (over the grouped aggregate's output, `m` keys first) is
/// NULL when every aggregate is over no rows.
fn null_on_empty(value: &BoundExpr, m: usize, aggregates: &[BoundAggregate]) -> bool {
    use hyperctl_exec::{AggregateFunction as F, BinaryOp as B};
    match value {
        BoundExpr::Column { index, .. } => index
            .checked_sub(m)
            .and_then(|j| aggregates.get(j))
            .is_some_and(|a| !matches!(a.func, F::Count | F::CountStar)),
        BoundExpr::Binary {
            op, left, right, ..
        } if !matches!(
            op,
            B::And | B::Or | B::IsDistinctFrom | B::IsNotDistinctFrom
        ) =>
        {
            null_on_empty(left, m, aggregates) || null_on_empty(right, m, aggregates)
        }
        BoundExpr::Cast { expr, .. } | BoundExpr::Negate(expr) => {
            null_on_empty(expr, m, aggregates)
        }
        _ => false,
    }
}

/// The one-row plan of a scalar aggregate's value over no input rows.
fn empty_value(
    source: LogicalPlan,
    value: &BoundExpr,
    m: usize,
    aggregates: Vec<BoundAggregate>,
    having: Option<BoundExpr>,
    sub_map: &std::collections::HashMap<usize, usize>,
    span: Span,
) -> BindResult<LogicalPlan> {
    let mut reads_key = false;
    value.visit_columns(&mut |i| reads_key |= i < m);
    if let Some(h) = &having {
        h.visit_columns(&mut |i| reads_key |= i < m);
    }
    if reads_key || !sub_map.is_empty() {
        return Err(not_decorrelatable(
            "this correlated scalar subquery (its value over no rows is not NULL)",
            span,
        ));
    }
    let shift = |e: &BoundExpr| e.map_columns(&|i| i - m);
    let no_rows = LogicalPlan::Filter {
        input: Box::new(source),
        predicate: BoundExpr::Literal {
            value: std::sync::Arc::new(hyperctl_exec::arrow::array::BooleanArray::from(vec![
                false,
            ])),
            ty: hyperctl_format::SqlType::Bool,
            untyped: false,
        },
        keeps: None,
    };
    let columns = aggregates
        .iter()
        .map(|a| ColumnInfo {
            name: a.name.clone(),
            ty: a.ty,
            nullable: true,
            qualifier: None,
        })
        .collect();
    let mut plan = LogicalPlan::Aggregate {
        input: Box::new(no_rows),
        group_by: Vec::new(),
        aggregates,
        columns,
    };
    if let Some(h) = having {
        plan = LogicalPlan::Filter {
            input: Box::new(plan),
            predicate: shift(&h),
            keeps: None,
        };
    }
    let value = shift(value);
    Ok(LogicalPlan::Project {
        input: Box::new(plan),
        columns: vec![ColumnInfo {
            name: "#empty".into(),
            ty: value.ty(),
            nullable: true,
            qualifier: None,
        }],
        exprs: vec![value],
    })
}

fn unreachable_item(span: Span) -> BindResult<BoundExpr> {
    Err(SqlError::new(
        "XX000",
        "internal error: empty select item; please report this as a bug",
    )
    .at(span))
}

fn other_span(_g: &ast::GroupByExpr, select: &ast::Select) -> Span {
    select.select_token.0.span
}

fn check_select_clauses(select: &ast::Select) -> BindResult<()> {
    let span = select.select_token.0.span;
    if select.top.is_some() || select.into.is_some() || !select.lateral_views.is_empty() {
        return Err(not_supported("TOP / INTO / LATERAL VIEW", span));
    }
    if select.qualify.is_some() {
        return Err(not_supported("QUALIFY", span));
    }
    if !select.cluster_by.is_empty()
        || !select.distribute_by.is_empty()
        || !select.sort_by.is_empty()
    {
        return Err(not_supported("CLUSTER BY / DISTRIBUTE BY / SORT BY", span));
    }
    Ok(())
}

fn bind_in<'a>(
    ctx: &'a BindCtx<'a>,
    scope: &'a Scope,
    agg: Option<&'a mut AggContext>,
    e: &Expr,
) -> BindResult<BoundExpr> {
    ExprBinder {
        scope,
        agg,
        ctx: Some(ctx),
    }
    .bind(e)
}

/// A GROUP BY item: an input expression, a select-list alias, or a position.
fn resolve_group_expr(g: &Expr, items: &[Item<'_>], scope: &Scope) -> BindResult<BoundExpr> {
    if let Some(i) = ordinal(g, items.len())? {
        return match (items[i].expr, items[i].column) {
            (Some(e), _) => ExprBinder::plain(scope).bind(e),
            (None, Some(c)) => Ok(column_ref(&scope.columns, c)),
            (None, None) => unreachable_item(items[i].span),
        };
    }
    if contains_aggregate(g) {
        return Err(SqlError::new(
            state::GROUPING_ERROR,
            "aggregate functions are not allowed in GROUP BY",
        )
        .at(g.span()));
    }
    match ExprBinder::plain(scope).bind(g) {
        Ok(e) => Ok(e),
        Err(err) => {
            if let Expr::Identifier(ident) = g {
                let name = normalize(ident);
                if let Some(item) = items.iter().find(|i| i.name == name && i.expr.is_some()) {
                    let e = item.expr.expect("checked");
                    if !contains_aggregate(e) {
                        return ExprBinder::plain(scope).bind(e);
                    }
                }
            }
            Err(err)
        }
    }
}

/// An ORDER BY key of a SELECT: an output name, a position, a select-list
/// expression, or a new (hidden) expression.
fn order_key<'a>(
    ctx: &'a BindCtx<'a>,
    o: &ast::OrderByExpr,
    items: &[Item<'_>],
    select_exprs: &[BoundExpr],
    hidden: &mut Vec<BoundExpr>,
    scope: &'a Scope,
    agg: Option<&'a mut AggContext>,
) -> BindResult<BoundExpr> {
    let output = |i: usize| BoundExpr::Column {
        index: i,
        ty: select_exprs[i].ty(),
        nullable: select_exprs[i].nullable(),
    };
    if let Some(i) = ordinal(&o.expr, items.len())? {
        return Ok(output(i));
    }
    if let Expr::Identifier(ident) = &o.expr {
        let name = normalize(ident);
        let named: Vec<usize> = (0..items.len())
            .filter(|i| items[*i].name == name)
            .collect();
        if let [i] = named.as_slice() {
            return Ok(output(*i));
        }
    }
    let bound = default_literal_type(bind_in(ctx, scope, agg, &o.expr)?);
    if let Some(i) = select_exprs.iter().position(|e| *e == bound) {
        return Ok(output(i));
    }
    hidden.push(bound);
    Ok(BoundExpr::Column {
        index: select_exprs.len() + hidden.len() - 1,
        ty: hidden
            .last()
            .map(BoundExpr::ty)
            .unwrap_or(hyperctl_format::SqlType::Text),
        nullable: true,
    })
}

fn aggregate_node(input: LogicalPlan, scope: &Scope, agg: AggContext) -> LogicalPlan {
    let mut columns: Vec<ColumnInfo> = agg
        .group_by
        .iter()
        .enumerate()
        .map(|(i, g)| ColumnInfo {
            name: match g {
                BoundExpr::Column { index, .. } => scope.columns[*index].name.clone(),
                _ => format!("#group{i}"),
            },
            ty: g.ty(),
            nullable: g.nullable(),
            qualifier: None,
        })
        .collect();
    columns.extend(agg.aggregates.iter().map(|a| ColumnInfo {
        name: a.name.clone(),
        ty: a.ty,
        nullable: true,
        qualifier: None,
    }));
    LogicalPlan::Aggregate {
        input: Box::new(input),
        group_by: agg.group_by,
        aggregates: agg.aggregates,
        columns,
    }
}
