//! Binding of the FROM clause: tables, subqueries, and joins (`JOIN ... ON`,
//! `USING`, `NATURAL`, `LEFT/RIGHT/FULL [OUTER]`, `CROSS JOIN`, comma lists),
//! with the scope of names they make visible; and the rule that moves WHERE
//! conjuncts into inner joins, so that `FROM a, b WHERE a.k = b.k` is a hash
//! join.
//!
//! Invariant: a join's scope is its left scope followed by its right scope,
//! matching the join's output columns. `USING` adds a projection whose first
//! columns are the merged ones; the originals stay reachable as `t.col` but
//! are hidden from bare names and `*`, as in PostgreSQL.

use hyperctl_exec::{BinaryOp, JoinType};
use hyperctl_format::SqlType;
use sqlparser::ast::{self, Ident, Spanned};
use sqlparser::tokenizer::Span;

use super::context::{BindCtx, CteBody};
use super::expr::{ExprBinder, coerce, contains_aggregate, unify};
use super::query::{bind_query_ctx, column_ref};
use super::{Scope, normalize, not_supported, resolve_table};
use crate::error::{SqlError, state};
use crate::plan::{BoundExpr, ColumnInfo, LogicalPlan};

type BindResult<T> = Result<T, SqlError>;

/// A bound FROM item: its plan and the names it makes visible.
type Bound = (LogicalPlan, Scope);

/// The FROM clause; no FROM is one row of no columns.
pub(super) fn bind_from(ctx: &BindCtx<'_>, select: &ast::Select) -> BindResult<Bound> {
    bind_from_items(ctx, &select.from)
}

/// A FROM list (also UPDATE ... FROM and DELETE ... USING): its items cross
/// joined.
pub(super) fn bind_from_items(
    ctx: &BindCtx<'_>,
    items: &[ast::TableWithJoins],
) -> BindResult<Bound> {
    let mut from = FromBinder {
        ctx,
        seen: Vec::new(),
    };
    let mut acc: Option<Bound> = None;
    for item in items {
        if let Some((q, alias)) = lateral(&item.relation)
            && let Some(left) = acc.take()
        {
            if let Some(a) = alias {
                from.declare(&a.name)?;
            }
            let mut bound =
                super::decorrelate::bind_lateral(ctx, left, q, alias, JoinType::Inner, None)?;
            for join in &item.joins {
                bound = from.bind_join(bound, join)?;
            }
            acc = Some(bound);
            continue;
        }
        let bound = from.bind_item(item)?;
        acc = Some(match acc {
            None => bound,
            Some(left) => cross(left, bound),
        });
    }
    Ok(acc.unwrap_or_else(|| {
        let plan = LogicalPlan::Values {
            rows: vec![Vec::new()],
            columns: Vec::new(),
        };
        (plan, Scope::default())
    }))
}

struct FromBinder<'c, 'p> {
    ctx: &'c BindCtx<'p>,
    /// The table names and aliases so far, which must differ.
    seen: Vec<String>,
}

impl FromBinder<'_, '_> {
    fn bind_item(&mut self, item: &ast::TableWithJoins) -> BindResult<Bound> {
        let mut acc = self.bind_factor(&item.relation)?;
        for join in &item.joins {
            acc = self.bind_join(acc, join)?;
        }
        Ok(acc)
    }

    fn bind_factor(&mut self, factor: &ast::TableFactor) -> BindResult<Bound> {
        match factor {
            ast::TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } => self.bind_table(name, alias.as_ref()),
            ast::TableFactor::Table {
                name,
                alias,
                args: Some(args),
                ..
            } if super::external::is_external(name) => {
                let mut ident = Ident::new("external");
                ident.span = name.span();
                let qualifier = self.qualifier(alias.as_ref(), ident)?;
                let plan = super::external::bind_external(args, &qualifier, name.span())?;
                let scope = Scope::new(plan.columns().to_vec());
                Ok((plan, scope))
            }
            ast::TableFactor::Derived {
                lateral: true,
                subquery,
                ..
            } => Err(not_supported(
                "LATERAL as the first FROM item or inside parentheses",
                subquery.span(),
            )),
            ast::TableFactor::Derived {
                lateral: false,
                subquery,
                alias,
                sample: None,
            } => {
                if let Some(a) = alias {
                    self.declare(&a.name)?;
                }
                let child = BindCtx::child(self.ctx, None);
                bind_derived(&child, subquery, alias.as_ref())
            }
            ast::TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            } => self.bind_item(table_with_joins),
            ast::TableFactor::UNNEST {
                alias,
                array_exprs,
                with_offset: false,
                with_ordinality,
                ..
            } => {
                if let Some(a) = alias {
                    self.declare(&a.name)?;
                }
                let scope = Scope::default();
                let plan = super::array::unnest_rows(
                    &scope,
                    array_exprs,
                    *with_ordinality,
                    factor.span(),
                )?;
                derived_plan(plan, alias.as_ref())
            }
            other => Err(not_supported("this kind of FROM item", other.span())),
        }
    }

    /// The name that qualifies a FROM item's columns: its alias, else
    /// `default`; declared (see [`FromBinder::declare`]).
    fn qualifier(&mut self, alias: Option<&ast::TableAlias>, default: Ident) -> BindResult<String> {
        let name = match alias {
            Some(a) if !a.columns.is_empty() => {
                return Err(not_supported("column aliases in FROM", a.name.span));
            }
            Some(a) => &a.name,
            None => &default,
        };
        self.declare(name)?;
        Ok(normalize(name))
    }

    /// Records a table name or alias; a second use of one is an error.
    fn declare(&mut self, ident: &Ident) -> BindResult<()> {
        let name = normalize(ident);
        if self.seen.contains(&name) {
            return Err(SqlError::new(
                state::DUPLICATE_ALIAS,
                format!("table name \"{name}\" specified more than once"),
            )
            .at(ident.span)
            .hint("give one of them another name with AS"));
        }
        self.seen.push(name);
        Ok(())
    }

    fn bind_table(
        &mut self,
        name: &ast::ObjectName,
        alias: Option<&ast::TableAlias>,
    ) -> BindResult<Bound> {
        if let [ast::ObjectNamePart::Identifier(ident)] = name.0.as_slice()
            && let Some(cte) = self.ctx.cte(&normalize(ident))
        {
            return self.bind_cte(ident, cte, alias);
        }
        let table = resolve_table(self.ctx.catalog, name)?;
        let mut ident = Ident::new(table.def().name.clone());
        ident.quote_style = Some('"');
        ident.span = name.span();
        let qualifier = self.qualifier(alias, ident)?;
        let columns: Vec<ColumnInfo> = table
            .def()
            .columns
            .iter()
            .map(|c| ColumnInfo {
                name: c.name.clone(),
                ty: c.ty,
                nullable: c.nullable,
                qualifier: Some(qualifier.clone()),
            })
            .collect();
        let scope = Scope::new(columns.clone());
        let projection = (0..columns.len()).collect();
        Ok((
            LogicalPlan::Scan {
                table,
                columns,
                projection,
            },
            scope,
        ))
    }

    /// A reference to a CTE: its plan (planned again here), named like a
    /// derived table.
    fn bind_cte(
        &mut self,
        ident: &Ident,
        cte: CteBody,
        alias: Option<&ast::TableAlias>,
    ) -> BindResult<Bound> {
        let name = alias.map_or(ident, |a| &a.name);
        self.declare(name)?;
        let plan = match cte {
            CteBody::Plan(plan) => plan,
            CteBody::Work {
                work,
                columns,
                used,
            } => {
                if used.replace(true) {
                    return Err(SqlError::new(
                        state::INVALID_RECURSION,
                        format!(
                            "recursive reference to query \"{}\" must not appear more than once",
                            normalize(ident)
                        ),
                    )
                    .at(ident.span));
                }
                LogicalPlan::WorkScan { work, columns }
            }
        };
        let fallback = ast::TableAlias {
            explicit: false,
            name: name.clone(),
            columns: Vec::new(),
            at: None,
        };
        derived_plan(plan, Some(alias.unwrap_or(&fallback)))
    }

    fn bind_join(&mut self, left: Bound, join: &ast::Join) -> BindResult<Bound> {
        use ast::JoinOperator as J;
        let span = join.relation.span();
        let (join_type, constraint) = match &join.join_operator {
            J::Join(c) | J::Inner(c) | J::CrossJoin(c) => (JoinType::Inner, c),
            J::Left(c) | J::LeftOuter(c) => (JoinType::Left, c),
            J::Right(c) | J::RightOuter(c) => (JoinType::Right, c),
            J::FullOuter(c) => (JoinType::Full, c),
            _ => return Err(not_supported("this kind of join", span)),
        };
        if let Some((q, alias)) = lateral(&join.relation) {
            if let Some(a) = alias {
                self.declare(&a.name)?;
            }
            let on = match constraint {
                ast::JoinConstraint::On(e) => Some(e),
                ast::JoinConstraint::None if join_type == JoinType::Inner => None,
                _ => {
                    return Err(not_supported(
                        "LATERAL with USING, NATURAL, or without ON in an outer join",
                        span,
                    ));
                }
            };
            if !matches!(join_type, JoinType::Inner | JoinType::Left) {
                return Err(not_supported("RIGHT or FULL JOIN LATERAL", span));
            }
            return super::decorrelate::bind_lateral(self.ctx, left, q, alias, join_type, on);
        }
        let right = self.bind_factor(&join.relation)?;
        match constraint {
            ast::JoinConstraint::On(e) => on_join(left, right, join_type, e),
            ast::JoinConstraint::None if join_type == JoinType::Inner => Ok(cross(left, right)),
            ast::JoinConstraint::None => Err(SqlError::new(
                state::SYNTAX_ERROR,
                "an outer join needs an ON or USING condition",
            )
            .at(span)),
            ast::JoinConstraint::Using(names) => {
                let names = names
                    .iter()
                    .map(|n| match n.0.as_slice() {
                        [ast::ObjectNamePart::Identifier(i)] => Ok(i.clone()),
                        _ => Err(not_supported("qualified names in USING", n.span())),
                    })
                    .collect::<BindResult<Vec<_>>>()?;
                using_join(left, right, join_type, &names, span)
            }
            ast::JoinConstraint::Natural => {
                let names = natural_columns(&left.1, &right.1);
                if names.is_empty() {
                    return match join_type {
                        JoinType::Inner => Ok(cross(left, right)),
                        _ => Ok(join_on(left, right, join_type, None)),
                    };
                }
                using_join(left, right, join_type, &names, span)
            }
            ast::JoinConstraint::UsingAlias(_, alias) => {
                Err(not_supported("USING ... AS", alias.span))
            }
        }
    }
}

/// A `LATERAL (subquery) [alias]` FROM item.
fn lateral(factor: &ast::TableFactor) -> Option<(&ast::Query, Option<&ast::TableAlias>)> {
    match factor {
        ast::TableFactor::Derived {
            lateral: true,
            subquery,
            alias,
            sample: None,
        } => Some((subquery, alias.as_ref())),
        _ => None,
    }
}

/// A subquery in FROM: `(SELECT ...) AS alias` or `(VALUES ...) AS alias`.
pub(super) fn bind_derived(
    ctx: &BindCtx<'_>,
    subquery: &ast::Query,
    alias: Option<&ast::TableAlias>,
) -> BindResult<Bound> {
    let plan = bind_query_ctx(ctx, subquery)?;
    derived_plan(plan, alias)
}

/// A plan named as a FROM item: columns renamed by the alias's column list
/// and qualified by its name.
pub(super) fn derived_plan(
    plan: LogicalPlan,
    alias: Option<&ast::TableAlias>,
) -> BindResult<Bound> {
    let qualifier = alias.map(|a| normalize(&a.name));
    let mut columns = plan.columns().to_vec();
    if let Some(a) = alias.filter(|a| !a.columns.is_empty()) {
        if a.columns.len() > columns.len() {
            return Err(SqlError::new(
                state::SYNTAX_ERROR,
                format!(
                    "{} has {} columns available but {} columns specified",
                    a.name,
                    columns.len(),
                    a.columns.len()
                ),
            )
            .at(a.name.span));
        }
        for (c, name) in columns.iter_mut().zip(&a.columns) {
            c.name = normalize(&name.name);
        }
    }
    for c in &mut columns {
        c.qualifier.clone_from(&qualifier);
    }
    let exprs = (0..columns.len())
        .map(|i| column_ref(&columns, i))
        .collect();
    let plan = LogicalPlan::Project {
        input: Box::new(plan),
        exprs,
        columns: columns.clone(),
    };
    Ok((plan, Scope::new(columns)))
}

/// The scope of a join: left names, then right names.
fn concat_scopes(left: &Scope, right: &Scope) -> Scope {
    let hidden = (0..left.columns.len())
        .map(|i| left.is_hidden(i))
        .chain((0..right.columns.len()).map(|i| right.is_hidden(i)))
        .collect();
    let mut columns = left.columns.clone();
    columns.extend(right.columns.iter().cloned());
    Scope { columns, hidden }
}

/// CROSS JOIN and the comma.
pub(super) fn cross(left: Bound, right: Bound) -> Bound {
    join_on(left, right, JoinType::Inner, None)
}

/// A join with an already bound condition over the joined row.
fn join_on(left: Bound, right: Bound, join_type: JoinType, condition: Option<BoundExpr>) -> Bound {
    let mut scope = concat_scopes(&left.1, &right.1);
    let plan = make_join(left.0, right.0, join_type, condition);
    // An outer join pads with NULLs: references to the padded side may be
    // NULL even where its columns are NOT NULL.
    for (c, joined) in scope.columns.iter_mut().zip(plan.columns()) {
        c.nullable |= joined.nullable;
    }
    (plan, scope)
}

fn on_join(left: Bound, right: Bound, join_type: JoinType, on: &ast::Expr) -> BindResult<Bound> {
    if contains_aggregate(on) {
        return Err(SqlError::new(
            state::GROUPING_ERROR,
            "aggregate functions are not allowed in JOIN conditions",
        )
        .at(on.span()));
    }
    let scope = concat_scopes(&left.1, &right.1);
    let condition = ExprBinder::plain(&scope).bind(on)?;
    let condition = coerce(condition, SqlType::Bool, on.span(), "JOIN ... ON")?;
    Ok(join_on(left, right, join_type, Some(condition)))
}

/// The column names a NATURAL join matches: visible in both inputs.
fn natural_columns(left: &Scope, right: &Scope) -> Vec<Ident> {
    let visible = |s: &Scope, name: &str| {
        (0..s.columns.len()).any(|i| !s.is_hidden(i) && s.columns[i].name == name)
    };
    let mut names: Vec<String> = Vec::new();
    for (i, c) in left.columns.iter().enumerate() {
        if !left.is_hidden(i) && visible(right, &c.name) && !names.contains(&c.name) {
            names.push(c.name.clone());
        }
    }
    names
        .into_iter()
        .map(|n| {
            let mut ident = Ident::new(n);
            ident.quote_style = Some('"');
            ident
        })
        .collect()
}

/// The one visible column of `scope` named `name`, for USING.
fn using_column(scope: &Scope, name: &Ident, side: &str, span: Span) -> BindResult<usize> {
    let wanted = normalize(name);
    let found: Vec<usize> = (0..scope.columns.len())
        .filter(|&i| !scope.is_hidden(i) && scope.columns[i].name == wanted)
        .collect();
    let at = if name.span.start.line == 0 {
        span
    } else {
        name.span
    };
    match found.as_slice() {
        [i] => Ok(*i),
        [] => Err(SqlError::new(
            state::UNDEFINED_COLUMN,
            format!("column \"{wanted}\" specified in USING clause does not exist in {side} table"),
        )
        .at(at)),
        _ => Err(SqlError::new(
            state::AMBIGUOUS_COLUMN,
            format!("common column name \"{wanted}\" appears more than once in {side} table"),
        )
        .at(at)),
    }
}

/// `JOIN ... USING (cols)` and NATURAL JOIN: equal named columns, merged
/// into one column each, first in the output.
fn using_join(
    left: Bound,
    right: Bound,
    join_type: JoinType,
    names: &[Ident],
    span: Span,
) -> BindResult<Bound> {
    if join_type == JoinType::Full {
        // The merged column is COALESCE(l, r), which the engine lacks yet.
        return Err(not_supported("FULL JOIN with USING or NATURAL", span));
    }
    let nl = left.1.columns.len();
    let mut keys = Vec::with_capacity(names.len());
    let mut conjuncts = Vec::with_capacity(names.len());
    for name in names {
        let l = using_column(&left.1, name, "left", span)?;
        let r = using_column(&right.1, name, "right", span)?;
        let (le, re) = unify(
            column_ref(&left.1.columns, l),
            column_ref(&right.1.columns, r).map_columns(&|i| i + nl),
            span,
            span,
            "=",
        )?;
        conjuncts.push(BoundExpr::Binary {
            op: BinaryOp::Eq,
            left: Box::new(le),
            right: Box::new(re),
            ty: SqlType::Bool,
        });
        keys.push((l, nl + r));
    }
    let (plan, scope) = join_on(left, right, join_type, BoundExpr::and_all(conjuncts));
    Ok(merge_using(plan, scope, join_type, &keys, nl))
}

/// The projection of a USING join in Hyper's column order: the left
/// input's columns, the merged columns (in USING order), then the right
/// input's columns, with the merged originals hidden (so `*` and `l.*` skip
/// them, as in Hyper: `l(id, name) JOIN r(id, lid, v) USING (id)` is
/// `name, id, lid, v`).
fn merge_using(
    plan: LogicalPlan,
    scope: Scope,
    join_type: JoinType,
    keys: &[(usize, usize)],
    left_len: usize,
) -> Bound {
    let joined = plan.columns().to_vec();
    let left_len = left_len.min(joined.len());
    let merged = keys.iter().map(|&(l, r)| {
        let source = if join_type == JoinType::Right { r } else { l };
        let info = ColumnInfo {
            qualifier: None,
            ..joined[source].clone()
        };
        (source, info, false)
    });
    let original = |i: usize| {
        let hidden = scope.is_hidden(i) || keys.iter().any(|&(l, r)| i == l || i == r);
        (i, joined[i].clone(), hidden)
    };
    let order: Vec<(usize, ColumnInfo, bool)> = (0..left_len)
        .map(original)
        .chain(merged)
        .chain((left_len..joined.len()).map(original))
        .collect();
    let exprs = order
        .iter()
        .map(|(i, ..)| column_ref(&joined, *i))
        .collect();
    let hidden = order.iter().map(|(.., h)| *h).collect();
    let columns: Vec<ColumnInfo> = order.into_iter().map(|(_, c, _)| c).collect();
    let plan = LogicalPlan::Project {
        input: Box::new(plan),
        exprs,
        columns: columns.clone(),
    };
    (plan, Scope { columns, hidden })
}

/// A join node; the condition's conjuncts are split into equal keys and a
/// residual filter.
pub(crate) fn make_join(
    left: LogicalPlan,
    right: LogicalPlan,
    join_type: JoinType,
    condition: Option<BoundExpr>,
) -> LogicalPlan {
    let nl = left.columns().len();
    let (pad_left, pad_right) = match join_type {
        JoinType::Left => (false, true),
        JoinType::Right => (true, false),
        JoinType::Full => (true, true),
        _ => (false, false),
    };
    let padded = |c: &ColumnInfo, pad: bool| ColumnInfo {
        nullable: c.nullable || pad,
        ..c.clone()
    };
    let columns = match join_type {
        JoinType::Semi | JoinType::Anti => left.columns().to_vec(),
        JoinType::Mark => {
            let mut c = left.columns().to_vec();
            c.push(ColumnInfo {
                name: "#mark".into(),
                ty: SqlType::Bool,
                nullable: true,
                qualifier: None,
            });
            c
        }
        _ => left
            .columns()
            .iter()
            .map(|c| padded(c, pad_left))
            .chain(right.columns().iter().map(|c| padded(c, pad_right)))
            .collect(),
    };
    let mut on = Vec::new();
    let mut rest = Vec::new();
    for c in condition.map(BoundExpr::conjuncts).unwrap_or_default() {
        add_conjunct(c, nl, &mut on, &mut rest);
    }
    LogicalPlan::Join {
        left: Box::new(left),
        right: Box::new(right),
        join_type,
        on,
        filter: BoundExpr::and_all(rest),
        columns,
    }
}

/// Which inputs of a join an expression reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Neither,
    Left,
    Right,
    Both,
}

fn side(e: &BoundExpr, left_width: usize) -> Side {
    let (mut left, mut right) = (false, false);
    e.visit_columns(&mut |i| {
        if i < left_width {
            left = true;
        } else {
            right = true;
        }
    });
    match (left, right) {
        (false, false) => Side::Neither,
        (true, false) => Side::Left,
        (false, true) => Side::Right,
        (true, true) => Side::Both,
    }
}

/// `l = r` with each side over one input becomes a key; anything else is
/// part of the residual filter.
fn add_conjunct(
    c: BoundExpr,
    nl: usize,
    on: &mut Vec<(BoundExpr, BoundExpr)>,
    rest: &mut Vec<BoundExpr>,
) {
    if let BoundExpr::Binary {
        op: BinaryOp::Eq,
        left,
        right,
        ..
    } = &c
        && left.ty() == right.ty()
    {
        let shift = |e: &BoundExpr| e.map_columns(&|i| i - nl);
        match (side(left, nl), side(right, nl)) {
            (Side::Left, Side::Right) => return on.push((left.as_ref().clone(), shift(right))),
            (Side::Right, Side::Left) => return on.push((right.as_ref().clone(), shift(left))),
            _ => {}
        }
    }
    rest.push(c);
}

/// WHERE over a FROM clause: conjuncts that an inner join (or, through
/// column-only projections, one below) can take move into it, as keys or
/// residual filter when they read both inputs, or down to the input they
/// read; the others stay in a filter on top.
pub(super) fn push_where(plan: LogicalPlan, predicate: BoundExpr) -> LogicalPlan {
    let mut plan = plan;
    let mut kept = Vec::new();
    for c in predicate.conjuncts().into_iter().flat_map(factor_or) {
        plan = match push_conjunct(plan, c) {
            Pushed::Taken(p) => p,
            Pushed::Refused(p, c) => {
                kept.push(c);
                p
            }
        };
    }
    match BoundExpr::and_all(kept) {
        Some(predicate) => LogicalPlan::Filter {
            input: Box::new(plan),
            predicate,
            keeps: None,
        },
        None => plan,
    }
}

/// What `push_conjunct` did with a conjunct.
enum Pushed {
    /// The plan took it.
    Taken(LogicalPlan),
    /// The plan (unchanged) and the conjunct, which must be filtered above.
    Refused(LogicalPlan, BoundExpr),
}

/// Pushes `c` into `plan`, or gives both back.
fn push_conjunct(plan: LogicalPlan, c: BoundExpr) -> Pushed {
    match plan {
        LogicalPlan::Project {
            input,
            exprs,
            columns,
        } if exprs.iter().all(|e| matches!(e, BoundExpr::Column { .. })) => {
            let sources: Vec<usize> = exprs
                .iter()
                .map(|e| match e {
                    BoundExpr::Column { index, .. } => *index,
                    _ => 0,
                })
                .collect();
            let mapped = c.map_columns(&|i| sources[i]);
            let rebuild = |input| LogicalPlan::Project {
                input: Box::new(input),
                exprs,
                columns,
            };
            match push_conjunct(*input, mapped) {
                Pushed::Taken(p) => Pushed::Taken(rebuild(p)),
                Pushed::Refused(p, _) => Pushed::Refused(rebuild(p), c),
            }
        }
        LogicalPlan::Join {
            left,
            right,
            join_type: JoinType::Inner,
            mut on,
            filter,
            columns,
        } => {
            let nl = left.columns().len();
            let (mut left, mut right) = (left, right);
            let mut rest: Vec<BoundExpr> = filter.into_iter().collect();
            match side(&c, nl) {
                Side::Neither => {
                    let join = rebuild_join(left, right, on, BoundExpr::and_all(rest), columns);
                    return Pushed::Refused(join, c);
                }
                Side::Left => left = Box::new(push_or_filter(*left, c)),
                Side::Right => {
                    right = Box::new(push_or_filter(*right, c.map_columns(&|i| i - nl)));
                }
                Side::Both => {
                    // An OR over both inputs stays a residual filter, but
                    // what each branch says about one input alone, ORed,
                    // filters that input early (TPC-H Q19).
                    if let Some(d) = implied_for_side(&c, nl, Side::Left) {
                        left = Box::new(push_or_filter(*left, d));
                    }
                    if let Some(d) = implied_for_side(&c, nl, Side::Right) {
                        right = Box::new(push_or_filter(*right, d.map_columns(&|i| i - nl)));
                    }
                    add_conjunct(c, nl, &mut on, &mut rest);
                }
            }
            Pushed::Taken(rebuild_join(
                left,
                right,
                on,
                BoundExpr::and_all(rest),
                columns,
            ))
        }
        other => Pushed::Refused(other, c),
    }
}

/// `(a AND b) OR (a AND c)` is `a AND (b OR c)` (also in three-valued
/// logic): conjuncts common to every branch of an OR come out of it, so
/// that a join key repeated in each branch (TPC-H Q19) is a join key.
fn factor_or(c: BoundExpr) -> Vec<BoundExpr> {
    if !matches!(
        c,
        BoundExpr::Binary {
            op: BinaryOp::Or,
            ..
        }
    ) {
        return vec![c];
    }
    let branches: Vec<Vec<BoundExpr>> = c
        .clone()
        .disjuncts()
        .into_iter()
        .map(BoundExpr::conjuncts)
        .collect();
    let mut common: Vec<BoundExpr> = Vec::new();
    for x in &branches[0] {
        if !common.contains(x) && branches[1..].iter().all(|b| b.contains(x)) {
            common.push(x.clone());
        }
    }
    if common.is_empty() {
        return vec![c];
    }
    let rests: Vec<Option<BoundExpr>> = branches
        .into_iter()
        .map(|b| BoundExpr::and_all(b.into_iter().filter(|x| !common.contains(x)).collect()))
        .collect();
    // A branch with nothing left is TRUE, and so is the OR.
    if rests.iter().all(Option::is_some)
        && let Some(or) = BoundExpr::or_all(rests.into_iter().flatten().collect())
    {
        common.push(or);
    }
    common
}

/// For an OR over a join's row: the OR over its branches of each branch's
/// conjuncts that read only `side`, when every branch has some. The OR
/// implies it, so it may filter that input.
fn implied_for_side(c: &BoundExpr, left_width: usize, which: Side) -> Option<BoundExpr> {
    let branches = c.clone().disjuncts();
    if branches.len() < 2 {
        return None;
    }
    let mut implied = Vec::with_capacity(branches.len());
    for b in branches {
        let own: Vec<BoundExpr> = b
            .conjuncts()
            .into_iter()
            .filter(|x| side(x, left_width) == which)
            .collect();
        implied.push(BoundExpr::and_all(own)?);
    }
    BoundExpr::or_all(implied)
}

fn rebuild_join(
    left: Box<LogicalPlan>,
    right: Box<LogicalPlan>,
    on: Vec<(BoundExpr, BoundExpr)>,
    filter: Option<BoundExpr>,
    columns: Vec<ColumnInfo>,
) -> LogicalPlan {
    LogicalPlan::Join {
        left,
        right,
        join_type: JoinType::Inner,
        on,
        filter,
        columns,
    }
}

fn push_or_filter(plan: LogicalPlan, c: BoundExpr) -> LogicalPlan {
    match push_conjunct(plan, c) {
        Pushed::Taken(p) => p,
        Pushed::Refused(p, c) => LogicalPlan::Filter {
            input: Box::new(p),
            predicate: c,
            keeps: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use hyperctl_exec::{JoinType, PhysicalPlan};

    /// The first join node of a plan, depth first.
    fn first_join(plan: &PhysicalPlan) -> Option<&PhysicalPlan> {
        match plan {
            PhysicalPlan::HashJoin { .. } | PhysicalPlan::NestedLoopJoin { .. } => Some(plan),
            PhysicalPlan::Filter { input, .. }
            | PhysicalPlan::Projection { input, .. }
            | PhysicalPlan::HashAggregate { input, .. }
            | PhysicalPlan::Sort { input, .. }
            | PhysicalPlan::Limit { input, .. } => first_join(input),
            _ => None,
        }
    }

    /// Column names of a plan's output.
    fn names(plan: &PhysicalPlan) -> Vec<String> {
        let schema = plan.schema().unwrap();
        schema.fields().iter().map(|f| f.name().clone()).collect()
    }

    fn sample() -> crate::Connection {
        let mut c = crate::Database::in_memory().connect();
        for sql in [
            "CREATE TABLE a (k int, x int)",
            "CREATE TABLE b (k bigint, y int)",
            "INSERT INTO a VALUES (1, 1), (2, 2), (3, 3)",
            "INSERT INTO b VALUES (1, 1)",
        ] {
            c.execute_command(sql).unwrap();
        }
        c
    }

    #[test]
    fn where_equalities_make_comma_joins_hash_joins() {
        let c = sample();
        let plan = c
            .physical_plan("SELECT * FROM a, b WHERE a.k = b.k AND a.x > b.y AND a.x > 0")
            .unwrap();
        let Some(PhysicalPlan::HashJoin {
            left,
            on,
            filter,
            join_type,
            ..
        }) = first_join(&plan)
        else {
            panic!("not a hash join: {plan:?}");
        };
        assert_eq!(*join_type, JoinType::Inner);
        assert_eq!(on.len(), 1);
        assert!(filter.is_some(), "a.x > b.y is the residual filter");
        // a.x > 0 went below the join, onto a's scan.
        assert!(
            matches!(left.as_ref(), PhysicalPlan::Filter { .. }),
            "{left:?}"
        );
        let plan = c
            .physical_plan("SELECT * FROM a, b WHERE a.x < b.y")
            .unwrap();
        assert!(matches!(
            first_join(&plan),
            Some(PhysicalPlan::NestedLoopJoin {
                condition: Some(_),
                ..
            })
        ));
    }

    #[test]
    fn a_join_key_in_every_or_branch_makes_a_hash_join() {
        let c = sample();
        // TPC-H Q19's shape: each branch repeats the key and filters both.
        let plan = c
            .physical_plan(
                "SELECT * FROM a, b WHERE (a.k = b.k AND a.x = 1 AND b.y = 1) \
                 OR (a.k = b.k AND a.x = 2 AND b.y > 5)",
            )
            .unwrap();
        let Some(PhysicalPlan::HashJoin {
            left,
            right,
            on,
            filter,
            ..
        }) = first_join(&plan)
        else {
            panic!("not a hash join: {plan:?}");
        };
        assert_eq!(on.len(), 1);
        assert!(filter.is_some(), "the OR of the rest stays: {plan:?}");
        // Each input is filtered by what the branches say about it alone.
        for side in [left, right] {
            let PhysicalPlan::Filter { .. } = side.as_ref() else {
                panic!("unfiltered input: {side:?}");
            };
        }
        let mut conn = c;
        let rows = conn
            .execute_query(
                "SELECT count(*) FROM a, b WHERE (a.k = b.k AND a.x = 1 AND b.y = 1) \
                 OR (a.k = b.k AND a.x = 2 AND b.y > 5)",
            )
            .unwrap();
        let count = rows.batches[0]
            .column(0)
            .as_any()
            .downcast_ref::<hyperctl_exec::arrow::array::Int64Array>()
            .unwrap()
            .value(0);
        // Only a(1, 1) with b(1, 1) passes (the first branch).
        assert_eq!(count, 1);
    }

    #[test]
    fn inner_joins_build_on_the_smaller_input() {
        let c = sample();
        // a has 3 rows, b 1: b is the build (right) side either way.
        for sql in [
            "SELECT * FROM a JOIN b ON a.k = b.k",
            "SELECT * FROM b JOIN a ON a.k = b.k",
        ] {
            let plan = c.physical_plan(sql).unwrap();
            let Some(PhysicalPlan::HashJoin { right, .. }) = first_join(&plan) else {
                panic!("{sql}: {plan:?}");
            };
            assert_eq!(names(right), ["k", "y"], "{sql}");
        }
        let plan = c
            .physical_plan("SELECT * FROM b JOIN a ON a.k = b.k")
            .unwrap();
        assert_eq!(names(&plan), ["k", "y", "k", "x"]);
        // Outer joins keep their sides.
        let plan = c
            .physical_plan("SELECT * FROM b LEFT JOIN a ON a.k = b.k")
            .unwrap();
        let Some(PhysicalPlan::HashJoin { right, .. }) = first_join(&plan) else {
            panic!("{plan:?}");
        };
        assert_eq!(names(right), ["k", "x"]);
    }
}
