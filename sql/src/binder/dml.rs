//! Binding of DELETE, UPDATE (with RETURNING, UPDATE ... FROM, DELETE ...
//! USING), TRUNCATE and ALTER TABLE (RENAME TO, ADD / RENAME / DROP
//! COLUMN).
//!
//! DELETE and UPDATE scan their table with each row's position (a hidden
//! column, see `plan::ROW_POSITION`), join the FROM / USING items, filter
//! by WHERE (subqueries included, bound as a query's WHERE), and hand the
//! positions (and, for UPDATE, the new rows) to the connection, which
//! deletes and appends through the write transaction. The scan reads the
//! transaction's state as of the statement's start, so rows the statement
//! appends are never seen by it again.

use hyperctl_format::SqlType;
use hyperctl_storage::TableHandle;
use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use super::context::{BindCtx, resolve_placeholders};
use super::expr::{ExprBinder, coerce, contains_aggregate, default_literal_type};
use super::{
    CatalogView, QualifiedName, Scope, normalize, not_supported, qualified_name, resolve_table,
};
use crate::error::{SqlError, state};
use crate::plan::{BoundExpr, ColumnInfo, LogicalPlan, ROW_POSITION};

type BindResult<T> = Result<T, SqlError>;

/// DELETE or UPDATE, ready to run: `plan` yields, per affected row, the new
/// values of every table column (UPDATE only), the row's position, and
/// the RETURNING values.
#[derive(Debug)]
pub(crate) struct ModifyPlan {
    pub(crate) table: TableHandle,
    pub(crate) plan: LogicalPlan,
    /// UPDATE (new rows are appended) or DELETE.
    pub(crate) update: bool,
    /// RETURNING: the columns of the returned rows (the plan's last ones).
    pub(crate) returning: Option<Vec<ColumnInfo>>,
}

impl ModifyPlan {
    /// The plan column holding the row positions.
    pub(crate) fn position_column(&self) -> usize {
        if self.update {
            self.table.def().columns.len()
        } else {
            0
        }
    }
}

/// The table's scan with positions, and the scope its columns are bound in
/// (the position is its last column, hidden from names and `*`).
fn scan_with_positions(
    table: &TableHandle,
    alias: Option<&ast::TableAlias>,
) -> BindResult<(LogicalPlan, Scope)> {
    let qualifier = match alias {
        Some(a) if !a.columns.is_empty() => {
            return Err(not_supported("column aliases here", a.name.span));
        }
        Some(a) => normalize(&a.name),
        None => table.def().name.clone(),
    };
    let mut columns: Vec<ColumnInfo> = table
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
    columns.push(position_column());
    let mut hidden = vec![false; columns.len()];
    hidden[columns.len() - 1] = true;
    let scope = Scope {
        columns: columns.clone(),
        hidden,
    };
    Ok((
        LogicalPlan::Scan {
            table: table.clone(),
            projection: (0..columns.len()).collect(),
            columns,
        },
        scope,
    ))
}

/// The rows a DELETE or UPDATE affects: the table (with positions) joined
/// with the FROM / USING items, filtered by WHERE (subqueries allowed, as in
/// a query's WHERE).
fn bind_source(
    ctx: &BindCtx<'_>,
    table: &TableHandle,
    alias: Option<&ast::TableAlias>,
    from: &[ast::TableWithJoins],
    selection: Option<&ast::Expr>,
) -> BindResult<(LogicalPlan, Scope)> {
    let target = scan_with_positions(table, alias)?;
    let (mut plan, scope) = if from.is_empty() {
        target
    } else {
        let others = super::from::bind_from_items(ctx, from)?;
        super::from::cross(target, others)
    };
    if let Some(w) = selection {
        if contains_aggregate(w) {
            return Err(SqlError::new(
                state::GROUPING_ERROR,
                "aggregate functions are not allowed in WHERE",
            )
            .at(w.span()));
        }
        let mut correlated = Vec::new();
        plan = super::query::bind_where(ctx, plan, &scope, w, &mut correlated)
            .map_err(where_message)?;
        if !correlated.is_empty() {
            return Err(SqlError::new(
                state::INTERNAL_ERROR,
                "an outer reference in a statement's WHERE; please report this bug",
            )
            .at(w.span()));
        }
    }
    Ok((plan, scope))
}

fn where_message(mut err: SqlError) -> SqlError {
    if err.sqlstate == state::DATATYPE_MISMATCH && err.message.contains("WHERE") {
        err.message = "argument of WHERE must be type boolean".into();
    }
    err
}

/// RETURNING over `plan`, whose columns `scope` describes: a projection of
/// the plan's columns followed by the returned values, and the returned
/// values' columns.
pub(super) fn returning(
    plan: LogicalPlan,
    scope: &Scope,
    items: &[ast::SelectItem],
) -> BindResult<(LogicalPlan, Vec<ColumnInfo>)> {
    let input = plan.columns().to_vec();
    let mut exprs: Vec<BoundExpr> = (0..input.len())
        .map(|i| super::query::column_ref(&input, i))
        .collect();
    let mut columns = input.clone();
    let mut out = Vec::new();
    for item in super::query::expand_items(items, scope)? {
        let e = match (item.expr, item.column) {
            (Some(e), _) => {
                if contains_aggregate(e) {
                    return Err(SqlError::new(
                        state::GROUPING_ERROR,
                        "aggregate functions are not allowed in RETURNING",
                    )
                    .at(item.span));
                }
                default_literal_type(ExprBinder::plain(scope).bind(e)?)
            }
            (None, Some(c)) => super::query::column_ref(&scope.columns, c),
            (None, None) => {
                return Err(SqlError::new(
                    state::INTERNAL_ERROR,
                    "a RETURNING item without expression; please report this bug",
                )
                .at(item.span));
            }
        };
        let info = ColumnInfo {
            name: item.name,
            ty: e.ty(),
            nullable: e.nullable(),
            qualifier: None,
        };
        columns.push(info.clone());
        out.push(info);
        exprs.push(e);
    }
    let plan = LogicalPlan::Project {
        input: Box::new(plan),
        exprs,
        columns,
    };
    Ok((plan, out))
}

fn single_table(
    relation: &ast::TableWithJoins,
    what: &str,
) -> BindResult<(ast::ObjectName, Option<ast::TableAlias>)> {
    if !relation.joins.is_empty() {
        return Err(not_supported(
            &format!("{what} with joins"),
            relation.span(),
        ));
    }
    match &relation.relation {
        ast::TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } => Ok((name.clone(), alias.clone())),
        other => Err(not_supported(
            &format!("{what} of this kind of table"),
            other.span(),
        )),
    }
}

/// The final plan of DELETE / UPDATE: `exprs` over `plan` (the position
/// among them, at `ModifyPlan::position_column`), then RETURNING bound over
/// `returning_scope`, the scope of `exprs`'s output.
fn finish(
    table: TableHandle,
    plan: LogicalPlan,
    exprs: Vec<BoundExpr>,
    columns: Vec<ColumnInfo>,
    returning_scope: Scope,
    items: Option<&[ast::SelectItem]>,
    update: bool,
) -> BindResult<ModifyPlan> {
    let plan = LogicalPlan::Project {
        input: Box::new(plan),
        exprs,
        columns,
    };
    let (plan, returning) = match items {
        None => (plan, None),
        Some(items) => {
            let (plan, cols) = returning(plan, &returning_scope, items)?;
            (plan, Some(cols))
        }
    };
    // Keep the new values, the position and RETURNING's values.
    let kept = if update {
        table.def().columns.len() + 1
    } else {
        1
    };
    let all = plan.columns().to_vec();
    let extra = returning.as_ref().map_or(0, Vec::len);
    let keep: Vec<usize> = (0..kept).chain(all.len() - extra..all.len()).collect();
    let plan = LogicalPlan::Project {
        input: Box::new(plan),
        exprs: keep
            .iter()
            .map(|&i| super::query::column_ref(&all, i))
            .collect(),
        columns: keep.iter().map(|&i| all[i].clone()).collect(),
    };
    let plan = crate::optimize::prune_columns(crate::optimize::reorder_joins(plan));
    Ok(ModifyPlan {
        table,
        plan,
        update,
        returning,
    })
}

pub(crate) fn bind_delete(
    catalog: &dyn CatalogView,
    delete: &ast::Delete,
) -> BindResult<ModifyPlan> {
    let span = delete.delete_token.0.span;
    if !delete.tables.is_empty() || !delete.order_by.is_empty() || delete.limit.is_some() {
        return Err(not_supported("DELETE ... ORDER BY / LIMIT", span));
    }
    let from = match &delete.from {
        ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
    };
    let [relation] = from.as_slice() else {
        return Err(not_supported("DELETE from several tables", span));
    };
    let (name, alias) = single_table(relation, "DELETE")?;
    let table = resolve_table(catalog, &name)?;
    let ctx = BindCtx::root(catalog);
    let using = delete.using.as_deref().unwrap_or_default();
    let (plan, scope) = bind_source(
        &ctx,
        &table,
        alias.as_ref(),
        using,
        delete.selection.as_ref(),
    )?;
    // RETURNING sees the FROM scope: position first, then every column.
    let position = table.def().columns.len();
    let mut exprs = vec![super::query::column_ref(&scope.columns, position)];
    let mut columns = vec![position_column()];
    let mut hidden = vec![true];
    for (i, c) in scope.columns.iter().enumerate() {
        exprs.push(super::query::column_ref(&scope.columns, i));
        columns.push(c.clone());
        hidden.push(scope.is_hidden(i));
    }
    let returning_scope = Scope {
        columns: columns.clone(),
        hidden,
    };
    finish(
        table,
        plan,
        exprs,
        columns,
        returning_scope,
        delete.returning.as_deref(),
        false,
    )
}

fn position_column() -> ColumnInfo {
    ColumnInfo {
        name: ROW_POSITION.into(),
        ty: SqlType::BigInt,
        nullable: false,
        qualifier: None,
    }
}

pub(crate) fn bind_update(
    catalog: &dyn CatalogView,
    update: &ast::Update,
) -> BindResult<ModifyPlan> {
    let span = update.update_token.0.span;
    if update.limit.is_some() || !update.order_by.is_empty() || update.or.is_some() {
        return Err(not_supported("UPDATE ... ORDER BY / LIMIT", span));
    }
    let (name, alias) = single_table(&update.table, "UPDATE")?;
    let table = resolve_table(catalog, &name)?;
    let def = table.def().clone();
    let ctx = BindCtx::root(catalog);
    let from = match &update.from {
        None => &[][..],
        Some(ast::UpdateTableFromKind::BeforeSet(f) | ast::UpdateTableFromKind::AfterSet(f)) => {
            f.as_slice()
        }
    };
    let (plan, scope) = bind_source(
        &ctx,
        &table,
        alias.as_ref(),
        from,
        update.selection.as_ref(),
    )?;
    let width = def.columns.len();
    let mut exprs: Vec<BoundExpr> = (0..width)
        .map(|i| super::query::column_ref(&scope.columns, i))
        .collect();
    let mut assigned = vec![false; width];
    for a in &update.assignments {
        let (i, value) = bind_assignment(&ctx, &scope, &def, a)?;
        if std::mem::replace(&mut assigned[i], true) {
            return Err(SqlError::new(
                state::SYNTAX_ERROR,
                format!(
                    "multiple assignments to same column \"{}\"",
                    def.columns[i].name
                ),
            )
            .at(a.target.span()));
        }
        exprs[i] = value;
    }
    // Scalar subqueries of SET join the source here.
    let (plan, map) = super::subquery::attach(plan, ctx.take_subqueries());
    let mut exprs = exprs
        .iter()
        .map(|e| resolve_placeholders(e, &map))
        .collect::<BindResult<Vec<_>>>()?;
    // New values (named as the table's columns), the position, then the
    // FROM items' columns, for RETURNING.
    let mut columns: Vec<ColumnInfo> = def
        .columns
        .iter()
        .zip(&scope.columns)
        .map(|(c, s)| ColumnInfo {
            name: c.name.clone(),
            ty: c.ty,
            nullable: true,
            qualifier: s.qualifier.clone(),
        })
        .collect();
    let mut hidden = vec![false; width];
    for i in width..scope.columns.len() {
        exprs.push(super::query::column_ref(&scope.columns, i));
        columns.push(scope.columns[i].clone());
        hidden.push(scope.is_hidden(i));
    }
    let returning_scope = Scope {
        columns: columns.clone(),
        hidden,
    };
    finish(
        table,
        plan,
        exprs,
        columns,
        returning_scope,
        update.returning.as_deref(),
        true,
    )
}

/// One `SET column = value` of UPDATE: the column's position and its new
/// value, of the column's type.
fn bind_assignment(
    ctx: &BindCtx<'_>,
    scope: &Scope,
    def: &hyperctl_storage::TableDef,
    a: &ast::Assignment,
) -> BindResult<(usize, BoundExpr)> {
    let ast::AssignmentTarget::ColumnName(target) = &a.target else {
        return Err(not_supported(
            "assigning a tuple of columns",
            a.target.span(),
        ));
    };
    let ident = match target.0.as_slice() {
        [ast::ObjectNamePart::Identifier(i)] => i,
        [.., ast::ObjectNamePart::Identifier(i)] => i,
        _ => return Err(not_supported("this assignment target", target.span())),
    };
    let wanted = normalize(ident);
    let Some(i) = def.columns.iter().position(|c| c.name == wanted) else {
        return Err(SqlError::new(
            state::UNDEFINED_COLUMN,
            format!(
                "column \"{wanted}\" of relation \"{}\" does not exist",
                def.name
            ),
        )
        .at(ident.span));
    };
    let column = &def.columns[i];
    if super::defaults::is_default_keyword(&a.value) {
        return Ok((i, super::defaults::default_value(column, a.value.span())?));
    }
    let value = ExprBinder::in_ctx(scope, ctx).bind(&a.value)?;
    let value = coerce(
        value,
        column.ty,
        a.value.span(),
        &format!("column \"{}\"", column.name),
    )
    .map_err(|mut err| {
        if err.sqlstate == state::DATATYPE_MISMATCH {
            err.message = format!(
                "column \"{}\" is of type {} but expression is of another type",
                column.name, column.ty
            );
        }
        err
    })?;
    Ok((i, value))
}

/// TRUNCATE [TABLE] a, b, ...
pub(crate) fn bind_truncate(
    catalog: &dyn CatalogView,
    truncate: &ast::Truncate,
) -> BindResult<Vec<(QualifiedName, Span)>> {
    if truncate.partitions.is_some() || truncate.on_cluster.is_some() {
        return Err(not_supported(
            "TRUNCATE ... PARTITION / ON CLUSTER",
            truncate.span(),
        ));
    }
    truncate
        .table_names
        .iter()
        .map(|t| Ok((super::lookup_name(catalog, &t.name)?, t.name.span())))
        .collect()
}

/// ALTER TABLE a RENAME TO b: (from, new name).
pub(crate) fn bind_rename(
    catalog: &dyn CatalogView,
    name: &ast::ObjectName,
    operations: &[ast::AlterTableOperation],
) -> BindResult<(QualifiedName, String, Span)> {
    let from = super::lookup_name(catalog, name)?;
    match operations {
        [ast::AlterTableOperation::RenameTable { table_name }] => {
            let to = match table_name {
                ast::RenameTableNameKind::To(n) | ast::RenameTableNameKind::As(n) => n,
            };
            let to_q = qualified_name(to)?;
            Ok((from, to_q.table, name.span()))
        }
        _ => Err(not_supported(
            "this ALTER TABLE operation (RENAME TO, RENAME COLUMN, ADD COLUMN and DROP COLUMN are supported)",
            name.span(),
        )),
    }
}

/// One column of `ALTER TABLE ... ADD [COLUMN] [IF NOT EXISTS] c type ...`.
#[derive(Debug)]
pub(crate) struct AddColumn {
    pub(crate) def: hyperctl_storage::ColumnDef,
    pub(crate) if_not_exists: bool,
    pub(crate) span: Span,
    /// The value existing rows get: the DEFAULT, evaluated once (a one-row
    /// plan); `None`: NULL.
    pub(crate) fill: Option<LogicalPlan>,
}

/// ALTER TABLE with only ADD COLUMN operations, or `None` for other
/// operations. Existing rows get the column's DEFAULT, which must be a
/// constant (as in Hyper), or NULL.
pub(crate) fn bind_add_columns(
    catalog: &dyn CatalogView,
    name: &ast::ObjectName,
    operations: &[ast::AlterTableOperation],
) -> BindResult<Option<(QualifiedName, Vec<AddColumn>, Span)>> {
    let mut out = Vec::new();
    for op in operations {
        let ast::AlterTableOperation::AddColumn {
            if_not_exists,
            column_def,
            column_position,
            ..
        } = op
        else {
            if out.is_empty() {
                return Ok(None);
            }
            return Err(not_supported(
                "mixing ADD COLUMN with other ALTER TABLE operations",
                op.span(),
            ));
        };
        if column_position.is_some() {
            return Err(not_supported("ADD COLUMN ... FIRST / AFTER", op.span()));
        }
        out.push(add_column(column_def, *if_not_exists)?);
    }
    Ok(Some((super::lookup_name(catalog, name)?, out, name.span())))
}

fn add_column(column_def: &ast::ColumnDef, if_not_exists: bool) -> BindResult<AddColumn> {
    let ty = super::sql_type(&column_def.data_type, column_def.name.span)?;
    super::array::check_persistable(&column_def.name.value, ty)
        .map_err(|e| e.at(column_def.name.span))?;
    let mut def = hyperctl_storage::ColumnDef::new(normalize(&column_def.name), ty, true);
    let mut default = None;
    for opt in &column_def.options {
        match &opt.option {
            ast::ColumnOption::NotNull => def.nullable = false,
            ast::ColumnOption::Null => def.nullable = true,
            ast::ColumnOption::Default(e) => default = Some(e),
            ast::ColumnOption::Collation(c) => {
                def.collation = Some(super::expr::object_name(c));
            }
            other => {
                return Err(not_supported(
                    &format!("column option {other} in ADD COLUMN"),
                    column_def.name.span,
                ));
            }
        }
    }
    let mut fill = None;
    if let Some(e) = default {
        if !super::defaults::is_constant(e) {
            return Err(SqlError::new(
                state::SYNTAX_ERROR,
                format!("non-constant default value for column '{}'", def.name),
            )
            .at(e.span()));
        }
        def.default = super::defaults::check_default(e, &def)?;
        if def.default.is_some() {
            let value = super::defaults::default_value(&def, e.span())?;
            fill = Some(LogicalPlan::Values {
                rows: vec![vec![value]],
                columns: vec![ColumnInfo {
                    name: def.name.clone(),
                    ty: def.ty,
                    nullable: true,
                    qualifier: None,
                }],
            });
        }
    }
    Ok(AddColumn {
        def,
        if_not_exists,
        span: column_def.name.span,
        fill,
    })
}

/// ALTER TABLE t RENAME COLUMN a TO b, or DROP COLUMN a [, DROP COLUMN b]:
/// the table's new definition, with for each new column the old column it
/// takes its values from.
#[derive(Debug)]
pub(crate) struct ReshapeColumns {
    pub(crate) table: QualifiedName,
    pub(crate) span: Span,
    pub(crate) change: ColumnChange,
}

#[derive(Debug)]
pub(crate) enum ColumnChange {
    Rename { from: (String, Span), to: String },
    Drop(Vec<(String, Span)>),
}

/// RENAME COLUMN or DROP COLUMN operations, or `None` for others.
pub(crate) fn bind_reshape(
    catalog: &dyn CatalogView,
    name: &ast::ObjectName,
    operations: &[ast::AlterTableOperation],
) -> BindResult<Option<ReshapeColumns>> {
    let change = match operations {
        [
            ast::AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            },
        ] => ColumnChange::Rename {
            from: (normalize(old_column_name), old_column_name.span),
            to: normalize(new_column_name),
        },
        ops if !ops.is_empty()
            && ops
                .iter()
                .all(|o| matches!(o, ast::AlterTableOperation::DropColumn { .. })) =>
        {
            let mut names = Vec::new();
            for op in ops {
                if let ast::AlterTableOperation::DropColumn {
                    column_names,
                    if_exists,
                    drop_behavior,
                    ..
                } = op
                {
                    if *if_exists || drop_behavior.is_some() {
                        // Hyper's grammar has neither.
                        return Err(SqlError::new(
                            state::SYNTAX_ERROR,
                            "syntax error: DROP COLUMN takes neither IF EXISTS nor CASCADE / RESTRICT",
                        )
                        .at(op.span()));
                    }
                    names.extend(column_names.iter().map(|c| (normalize(c), c.span)));
                }
            }
            ColumnChange::Drop(names)
        }
        _ => return Ok(None),
    };
    Ok(Some(ReshapeColumns {
        table: super::lookup_name(catalog, name)?,
        span: name.span(),
        change,
    }))
}
