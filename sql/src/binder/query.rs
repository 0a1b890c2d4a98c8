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

use super::expr::{AggContext, ExprBinder, contains_aggregate, default_literal_type, object_name};
use super::from::bind_from;
use super::{CatalogView, Scope, normalize, not_supported};
use crate::error::{SqlError, state};
use crate::plan::{BoundExpr, BoundSortKey, ColumnInfo, LogicalPlan};

type BindResult<T> = Result<T, SqlError>;

/// Binds a whole query.
pub(crate) fn bind_query(catalog: &dyn CatalogView, q: &ast::Query) -> BindResult<LogicalPlan> {
    if let Some(with) = &q.with {
        return Err(not_supported("WITH", with.with_token.0.span));
    }
    if q.fetch.is_some() || !q.locks.is_empty() || q.for_clause.is_some() {
        return Err(not_supported("FETCH / FOR clauses", q.span()));
    }
    let order_by = match &q.order_by {
        None => Vec::new(),
        Some(ob) => match &ob.kind {
            ast::OrderByKind::Expressions(exprs) => exprs.clone(),
            ast::OrderByKind::All(_) => return Err(not_supported("ORDER BY ALL", q.span())),
        },
    };
    let (limit, offset) = limits(q.limit_clause.as_ref())?;
    let plan = match q.body.as_ref() {
        SetExpr::Select(select) => bind_select(catalog, select, &order_by)?,
        SetExpr::Values(values) => order_outputs(bind_values(values)?, &order_by)?,
        SetExpr::Query(inner) => order_outputs(bind_query(catalog, inner)?, &order_by)?,
        other => {
            return Err(not_supported(
                "set operations (UNION, INTERSECT, EXCEPT)",
                other.span(),
            ));
        }
    };
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

fn limits(clause: Option<&ast::LimitClause>) -> BindResult<(Option<usize>, usize)> {
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
        Some(_) => Err(SqlError::new(
            state::INVALID_PARAMETER,
            "LIMIT and OFFSET must not be negative",
        )
        .at(e.span())),
        None => Err(SqlError::new(
            state::DATATYPE_MISMATCH,
            "LIMIT and OFFSET take an integer constant",
        )
        .at(e.span())),
    }
}

/// VALUES (..), (..): every row has the same number of columns; column types
/// are those of the first row (untyped literals become TEXT).
fn bind_values(values: &ast::Values) -> BindResult<LogicalPlan> {
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
        let ty = rows
            .iter()
            .map(|r| &r[i])
            .find(|e| !e.is_untyped_literal())
            .map_or(hyperctl_format::SqlType::Text, BoundExpr::ty);
        for (row, ast_row) in rows.iter_mut().zip(&values.rows) {
            let e = std::mem::replace(&mut row[i], placeholder());
            row[i] = super::expr::coerce(e, ty, ast_row.content[i].span(), "VALUES")?;
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
fn order_outputs(plan: LogicalPlan, order_by: &[ast::OrderByExpr]) -> BindResult<LogicalPlan> {
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

fn sort_key(expr: BoundExpr, o: &ast::OrderByExpr) -> BoundSortKey {
    let descending = matches!(o.options.sort, Some(ast::OrderBySort::Desc));
    BoundSortKey {
        expr,
        descending,
        // Hyper and PostgreSQL: NULLs sort as if larger than every value.
        nulls_first: o.options.nulls_first.unwrap_or(descending),
    }
}

pub(super) fn column_ref(columns: &[ColumnInfo], i: usize) -> BoundExpr {
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
        _ => Err(SqlError::new(
            state::INVALID_PARAMETER,
            format!("position {text} is not in select list"),
        )
        .at(v.span)),
    }
}

/// One item of the select list, before binding.
struct Item<'q> {
    expr: Option<&'q Expr>,
    /// For `*` expansion: the scope column.
    column: Option<usize>,
    name: String,
    span: Span,
}

fn expand_items<'q>(select: &'q ast::Select, scope: &Scope) -> BindResult<Vec<Item<'q>>> {
    let mut items = Vec::new();
    for (i, item) in select.projection.iter().enumerate() {
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

fn bind_select(
    catalog: &dyn CatalogView,
    select: &ast::Select,
    order_by: &[ast::OrderByExpr],
) -> BindResult<LogicalPlan> {
    check_select_clauses(select)?;
    let (mut plan, scope) = bind_from(catalog, select)?;
    if let Some(w) = &select.selection {
        if contains_aggregate(w) {
            return Err(SqlError::new(
                state::GROUPING_ERROR,
                "aggregate functions are not allowed in WHERE",
            )
            .at(w.span()));
        }
        let pred = ExprBinder::plain(&scope).bind(w)?;
        let pred = super::expr::coerce(pred, hyperctl_format::SqlType::Bool, w.span(), "WHERE")?;
        plan = super::from::push_where(plan, pred);
    }
    let items = expand_items(select, &scope)?;
    let group_exprs = match &select.group_by {
        ast::GroupByExpr::Expressions(exprs, modifiers) if modifiers.is_empty() => exprs.as_slice(),
        other => {
            return Err(not_supported(
                "GROUP BY ALL / ROLLUP / CUBE modifiers",
                other_span(other, select),
            ));
        }
    };
    let grouped = !group_exprs.is_empty()
        || select.having.is_some()
        || items.iter().filter_map(|i| i.expr).any(contains_aggregate)
        || order_by.iter().any(|o| contains_aggregate(&o.expr));
    let mut agg = AggContext::default();
    if grouped {
        for g in group_exprs {
            let e = resolve_group_expr(g, &items, &scope)?;
            agg.group_by.push(default_literal_type(e));
        }
    }
    let mut select_exprs = Vec::with_capacity(items.len());
    for item in &items {
        let bound = match (item.expr, item.column) {
            (Some(e), _) => bind_in(&scope, grouped.then_some(&mut agg), e)?,
            (None, Some(c)) => {
                let e = column_ref(&scope.columns, c);
                if grouped {
                    let pos = agg.group_by.iter().position(|g| *g == e).ok_or_else(|| {
                        SqlError::new(state::GROUPING_ERROR, format!("column \"{}\" must appear in the GROUP BY clause or be used in an aggregate function", item.name)).at(item.span)
                    })?;
                    column_ref_of(&agg.group_by, pos)
                } else {
                    e
                }
            }
            (None, None) => unreachable_item(item.span)?,
        };
        select_exprs.push(default_literal_type(bound));
    }
    let having = match &select.having {
        Some(h) => {
            let e = bind_in(&scope, Some(&mut agg), h)?;
            Some(super::expr::coerce(
                e,
                hyperctl_format::SqlType::Bool,
                h.span(),
                "HAVING",
            )?)
        }
        None => None,
    };
    // ORDER BY may add hidden expressions; bind them before the aggregate is built.
    let mut keys = Vec::new();
    let mut hidden = Vec::new();
    for o in order_by {
        let expr = order_key(
            o,
            &items,
            &select_exprs,
            &mut hidden,
            &scope,
            grouped.then_some(&mut agg),
        )?;
        keys.push(sort_key(expr, o));
    }
    if grouped {
        plan = aggregate_node(plan, &scope, agg);
        if let Some(h) = having {
            plan = LogicalPlan::Filter {
                input: Box::new(plan),
                predicate: h,
            };
        }
    }
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
    if !keys.is_empty() {
        plan = LogicalPlan::Sort {
            input: Box::new(plan),
            keys,
        };
    }
    if columns.len() > visible {
        let exprs = (0..visible).map(|i| column_ref(&columns, i)).collect();
        columns.truncate(visible);
        plan = LogicalPlan::Project {
            input: Box::new(plan),
            exprs,
            columns,
        };
    }
    Ok(plan)
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
    if matches!(select.distinct, Some(ast::Distinct::On(_))) {
        return Err(not_supported("DISTINCT ON", span));
    }
    if select.top.is_some() || select.into.is_some() || !select.lateral_views.is_empty() {
        return Err(not_supported("TOP / INTO / LATERAL VIEW", span));
    }
    if select.qualify.is_some() || !select.named_window.is_empty() {
        return Err(not_supported("QUALIFY / WINDOW", span));
    }
    if !select.cluster_by.is_empty()
        || !select.distribute_by.is_empty()
        || !select.sort_by.is_empty()
    {
        return Err(not_supported("CLUSTER BY / DISTRIBUTE BY / SORT BY", span));
    }
    Ok(())
}

fn bind_in(scope: &Scope, agg: Option<&mut AggContext>, e: &Expr) -> BindResult<BoundExpr> {
    ExprBinder { scope, agg }.bind(e)
}

fn column_ref_of(group_by: &[BoundExpr], i: usize) -> BoundExpr {
    BoundExpr::Column {
        index: i,
        ty: group_by[i].ty(),
        nullable: group_by[i].nullable(),
    }
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
fn order_key(
    o: &ast::OrderByExpr,
    items: &[Item<'_>],
    select_exprs: &[BoundExpr],
    hidden: &mut Vec<BoundExpr>,
    scope: &Scope,
    agg: Option<&mut AggContext>,
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
    let bound = default_literal_type(bind_in(scope, agg, &o.expr)?);
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
