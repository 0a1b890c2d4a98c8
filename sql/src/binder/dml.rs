//! Binding of DELETE, UPDATE, TRUNCATE, VACUUM, ALTER TABLE ... RENAME /
//! ADD COLUMN and CREATE SCHEMA.
//!
//! DELETE and UPDATE scan their table with each row's position (a hidden
//! last column, see `plan::ROW_POSITION`), filter by WHERE, and hand the
//! positions (and, for UPDATE, the new rows) to the connection, which
//! deletes and appends through the write transaction. The scan reads the
//! transaction's state as of the statement's start, so rows the statement
//! appends are never seen by it again.

use hyperctl_format::SqlType;
use hyperctl_storage::TableHandle;
use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use super::expr::{ExprBinder, coerce};
use super::{
    CatalogView, QualifiedName, Scope, normalize, not_supported, qualified_name, resolve_table,
};
use crate::error::{SqlError, state};
use crate::plan::{BoundExpr, ColumnInfo, LogicalPlan, ROW_POSITION};

type BindResult<T> = Result<T, SqlError>;

/// DELETE or UPDATE, ready to run: `plan` yields, per affected row, the new
/// values of every table column (UPDATE only) and then the row's position.
#[derive(Debug)]
pub(crate) struct ModifyPlan {
    pub(crate) table: TableHandle,
    pub(crate) plan: LogicalPlan,
    /// UPDATE (new rows are appended) or DELETE.
    pub(crate) update: bool,
}

/// The table's scan with positions, and the scope its columns are bound in.
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
    let scope = Scope::new(columns.clone());
    columns.push(ColumnInfo {
        name: ROW_POSITION.into(),
        ty: SqlType::BigInt,
        nullable: false,
        qualifier: None,
    });
    Ok((
        LogicalPlan::Scan {
            table: table.clone(),
            projection: (0..columns.len()).collect(),
            columns,
        },
        scope,
    ))
}

fn bind_where(
    plan: LogicalPlan,
    scope: &Scope,
    selection: Option<&ast::Expr>,
) -> BindResult<LogicalPlan> {
    let Some(e) = selection else {
        return Ok(plan);
    };
    let predicate = ExprBinder::plain(scope).bind(e)?;
    let predicate =
        coerce(predicate, SqlType::Bool, e.span(), "argument of WHERE").map_err(|mut err| {
            if err.sqlstate == state::DATATYPE_MISMATCH {
                err.message = "argument of WHERE must be type boolean".into();
            }
            err
        })?;
    Ok(LogicalPlan::Filter {
        input: Box::new(plan),
        predicate,
    })
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

pub(crate) fn bind_delete(
    catalog: &dyn CatalogView,
    delete: &ast::Delete,
) -> BindResult<ModifyPlan> {
    let span = delete.delete_token.0.span;
    if !delete.tables.is_empty()
        || delete.using.is_some()
        || delete.returning.is_some()
        || !delete.order_by.is_empty()
        || delete.limit.is_some()
    {
        return Err(not_supported(
            "DELETE ... USING / RETURNING / ORDER BY / LIMIT",
            span,
        ));
    }
    let from = match &delete.from {
        ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
    };
    let [relation] = from.as_slice() else {
        return Err(not_supported("DELETE from several tables", span));
    };
    let (name, alias) = single_table(relation, "DELETE")?;
    let table = resolve_table(catalog, &name)?;
    let (scan, scope) = scan_with_positions(&table, alias.as_ref())?;
    let position = scope.columns.len();
    let filtered = bind_where(scan, &scope, delete.selection.as_ref())?;
    let plan = LogicalPlan::Project {
        input: Box::new(filtered),
        exprs: vec![BoundExpr::Column {
            index: position,
            ty: SqlType::BigInt,
            nullable: false,
        }],
        columns: vec![position_column()],
    };
    Ok(ModifyPlan {
        table,
        plan,
        update: false,
    })
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
    if update.from.is_some() || update.returning.is_some() || update.limit.is_some() {
        return Err(not_supported("UPDATE ... FROM / RETURNING / LIMIT", span));
    }
    let (name, alias) = single_table(&update.table, "UPDATE")?;
    let table = resolve_table(catalog, &name)?;
    let def = table.def().clone();
    let (scan, scope) = scan_with_positions(&table, alias.as_ref())?;
    let position = scope.columns.len();
    let filtered = bind_where(scan, &scope, update.selection.as_ref())?;
    let mut exprs: Vec<BoundExpr> = def
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| BoundExpr::Column {
            index: i,
            ty: c.ty,
            nullable: c.nullable,
        })
        .collect();
    let mut assigned = vec![false; def.columns.len()];
    for a in &update.assignments {
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
        if std::mem::replace(&mut assigned[i], true) {
            return Err(SqlError::new(
                state::SYNTAX_ERROR,
                format!("multiple assignments to same column \"{wanted}\""),
            )
            .at(ident.span));
        }
        let value = match &a.value {
            ast::Expr::Identifier(id)
                if id.value.eq_ignore_ascii_case("default") && id.quote_style.is_none() =>
            {
                super::expr::literal(&ast::Value::Null, a.value.span())?
            }
            e => ExprBinder::plain(&scope).bind(e)?,
        };
        let column = &def.columns[i];
        exprs[i] = coerce(
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
    }
    exprs.push(BoundExpr::Column {
        index: position,
        ty: SqlType::BigInt,
        nullable: false,
    });
    let mut columns: Vec<ColumnInfo> = def
        .columns
        .iter()
        .map(|c| ColumnInfo {
            name: c.name.clone(),
            ty: c.ty,
            nullable: true,
            qualifier: None,
        })
        .collect();
    columns.push(position_column());
    Ok(ModifyPlan {
        table,
        plan: LogicalPlan::Project {
            input: Box::new(filtered),
            exprs,
            columns,
        },
        update: true,
    })
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
            "this ALTER TABLE operation (RENAME TO is supported)",
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
}

/// ALTER TABLE with only ADD COLUMN operations, or `None` for other
/// operations. Existing rows get NULL in the new columns. A DEFAULT other
/// than NULL is not supported: the catalog does not store column defaults
/// yet, so later INSERTs could not apply it.
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
        let ty = super::sql_type(&column_def.data_type, column_def.name.span)?;
        let mut nullable = true;
        let mut collation = None;
        for opt in &column_def.options {
            match &opt.option {
                ast::ColumnOption::NotNull => nullable = false,
                ast::ColumnOption::Null => nullable = true,
                ast::ColumnOption::Default(ast::Expr::Value(v))
                    if matches!(v.value, ast::Value::Null) => {}
                ast::ColumnOption::Default(e) => {
                    return Err(not_supported(
                        "ADD COLUMN ... DEFAULT (column defaults are not stored yet; add the column, then UPDATE it)",
                        e.span(),
                    ));
                }
                ast::ColumnOption::Collation(c) => {
                    collation = Some(super::expr::object_name(c));
                }
                other => {
                    return Err(not_supported(
                        &format!("column option {other} in ADD COLUMN"),
                        column_def.name.span,
                    ));
                }
            }
        }
        out.push(AddColumn {
            def: hyperctl_storage::ColumnDef::new(normalize(&column_def.name), ty, nullable)
                .with_collation(collation),
            if_not_exists: *if_not_exists,
            span: column_def.name.span,
        });
    }
    Ok(Some((super::lookup_name(catalog, name)?, out, name.span())))
}
