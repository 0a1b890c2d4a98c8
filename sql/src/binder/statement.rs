//! Binding of statements other than queries: CREATE TABLE [AS] (with
//! column defaults, `defaults.rs`), DROP TABLE, CREATE / DROP SCHEMA,
//! INSERT (VALUES, query or DEFAULT VALUES, with RETURNING), ATTACH /
//! DETACH / CREATE / DROP DATABASE and transaction control.

use hyperctl_storage::{ColumnDef, TableDef, TableHandle};
use sqlparser::ast::{self, ColumnOption, Spanned, Statement};

use super::expr::{coerce, default_literal_type};
use super::query::bind_query;
use super::{
    CatalogView, QualifiedName, Scope, normalize, not_supported, qualified_name, resolve_table,
    sql_type,
};
use crate::error::{SqlError, state};
use crate::plan::{BoundExpr, ColumnInfo, LogicalPlan};

type BindResult<T> = Result<T, SqlError>;

/// A statement ready to run.
#[derive(Debug)]
pub(crate) enum BoundStatement {
    Query(LogicalPlan),
    /// EXPLAIN [ANALYZE] of a query: its plan, run too with `analyze`.
    Explain {
        plan: LogicalPlan,
        analyze: bool,
    },
    CreateTable {
        /// The database alias of a three-part name.
        database: Option<String>,
        def: TableDef,
        if_not_exists: bool,
        span: sqlparser::tokenizer::Span,
        as_query: Option<LogicalPlan>,
    },
    DropTable {
        names: Vec<(QualifiedName, sqlparser::tokenizer::Span)>,
        if_exists: bool,
    },
    Insert(InsertPlan),
    /// COPY ... FROM a file (parsed and bound in `copy.rs`).
    Copy(crate::load::CopyFrom),
    /// DELETE or UPDATE (`dml.rs`).
    Modify(super::dml::ModifyPlan),
    Truncate(Vec<(QualifiedName, sqlparser::tokenizer::Span)>),
    /// ALTER TABLE ... RENAME TO.
    Rename {
        from: QualifiedName,
        to: String,
        span: sqlparser::tokenizer::Span,
    },
    /// ALTER TABLE ... ADD COLUMN (`dml.rs`).
    AddColumns {
        table: QualifiedName,
        columns: Vec<super::dml::AddColumn>,
        span: sqlparser::tokenizer::Span,
    },
    /// ALTER TABLE ... RENAME COLUMN / DROP COLUMN (`dml.rs`).
    Reshape(super::dml::ReshapeColumns),
    CreateSchema {
        name: String,
        if_not_exists: bool,
        span: sqlparser::tokenizer::Span,
    },
    /// DROP SCHEMA [IF EXISTS] a, b [CASCADE | RESTRICT].
    DropSchema {
        /// The database alias of a two-part name, the schema and its span.
        names: Vec<(Option<String>, String, sqlparser::tokenizer::Span)>,
        if_exists: bool,
        cascade: bool,
    },
    /// ATTACH DATABASE "path" AS alias.
    Attach {
        path: String,
        alias: String,
        span: sqlparser::tokenizer::Span,
    },
    /// CREATE DATABASE [IF NOT EXISTS] "path": a new file, not attached.
    CreateDatabase {
        path: String,
        if_not_exists: bool,
    },
    /// DROP DATABASE [IF EXISTS] "path".
    DropDatabase {
        path: String,
        if_exists: bool,
    },
    /// DETACH DATABASE alias (parsed in `parse.rs`: sqlparser's PostgreSQL
    /// dialect has no DETACH).
    Detach {
        alias: String,
        span: sqlparser::tokenizer::Span,
    },
    Vacuum,
    Begin,
    Commit,
    Rollback,
}

/// INSERT: rows from `source`, whose column i goes to table column `targets[i]`
/// (already of that column's type); other columns get NULL.
#[derive(Debug)]
pub(crate) struct InsertPlan {
    pub(crate) table: TableHandle,
    pub(crate) targets: Vec<usize>,
    pub(crate) source: LogicalPlan,
    /// INSERT ... RETURNING: the columns of the returned rows, which are the
    /// source's columns after the targets'.
    pub(crate) returning: Option<Vec<ColumnInfo>>,
}

pub(crate) fn bind_statement(
    catalog: &dyn CatalogView,
    stmt: &Statement,
) -> BindResult<BoundStatement> {
    match stmt {
        Statement::Query(q) => Ok(BoundStatement::Query(bind_query(catalog, q)?)),
        Statement::Explain {
            describe_alias: ast::DescribeAlias::Explain,
            analyze,
            statement,
            options,
            query_plan: false,
            estimate: false,
            ..
        } => {
            let Statement::Query(q) = statement.as_ref() else {
                return Err(not_supported(
                    "EXPLAIN of a statement other than a query",
                    statement.span(),
                ));
            };
            // PostgreSQL's option list: EXPLAIN (ANALYZE [true]) query.
            let mut analyze = *analyze;
            for o in options.iter().flatten() {
                let on = !matches!(&o.arg, Some(ast::Expr::Value(v))
                    if matches!(v.value, ast::Value::Boolean(false)));
                match normalize(&o.name).as_str() {
                    "analyze" => analyze = on,
                    "verbose" | "costs" => {}
                    _ => return Err(not_supported("this EXPLAIN option", o.name.span)),
                }
            }
            Ok(BoundStatement::Explain {
                plan: bind_query(catalog, q)?,
                analyze,
            })
        }
        Statement::CreateTable(ct) => bind_create_table(catalog, ct),
        Statement::Drop {
            object_type: ast::ObjectType::Table,
            if_exists,
            names,
            cascade: false,
            ..
        } => Ok(BoundStatement::DropTable {
            names: names
                .iter()
                .map(|n| Ok((super::lookup_name(catalog, n)?, n.span())))
                .collect::<BindResult<_>>()?,
            if_exists: *if_exists,
        }),
        Statement::Drop {
            object_type: ast::ObjectType::Schema,
            if_exists,
            names,
            cascade,
            purge: false,
            temporary: false,
            ..
        } => Ok(BoundStatement::DropSchema {
            names: names
                .iter()
                .map(|n| {
                    let q = qualified_name(n)?;
                    // A one-part name is the schema; `db.s` names a database.
                    let database = (n.0.len() == 2).then_some(q.schema);
                    Ok((database, q.table, n.span()))
                })
                .collect::<BindResult<_>>()?,
            if_exists: *if_exists,
            cascade: *cascade,
        }),
        Statement::Insert(insert) => Ok(BoundStatement::Insert(bind_insert(catalog, insert)?)),
        Statement::Delete(delete) => Ok(BoundStatement::Modify(super::dml::bind_delete(
            catalog, delete,
        )?)),
        Statement::Update(update) => Ok(BoundStatement::Modify(super::dml::bind_update(
            catalog, update,
        )?)),
        Statement::Truncate(truncate) => Ok(BoundStatement::Truncate(super::dml::bind_truncate(
            catalog, truncate,
        )?)),
        Statement::AlterTable(alter) => {
            if let Some((table, columns, span)) =
                super::dml::bind_add_columns(catalog, &alter.name, &alter.operations)?
            {
                return Ok(BoundStatement::AddColumns {
                    table,
                    columns,
                    span,
                });
            }
            if let Some(reshape) =
                super::dml::bind_reshape(catalog, &alter.name, &alter.operations)?
            {
                return Ok(BoundStatement::Reshape(reshape));
            }
            let (from, to, span) =
                super::dml::bind_rename(catalog, &alter.name, &alter.operations)?;
            Ok(BoundStatement::Rename { from, to, span })
        }
        Statement::CreateSchema {
            schema_name: ast::SchemaName::Simple(name),
            if_not_exists,
            ..
        } => {
            let q = qualified_name(name)?;
            Ok(BoundStatement::CreateSchema {
                name: q.table,
                if_not_exists: *if_not_exists,
                span: name.span(),
            })
        }
        Statement::AttachDatabase {
            schema_name,
            database_file_name,
            ..
        } => {
            // Hyper wants the path as an identifier ("path"); a string
            // literal ('path') is accepted too.
            let path = match database_file_name {
                ast::Expr::Identifier(i) if i.quote_style.is_some() => i.value.clone(),
                ast::Expr::Value(v) => match &v.value {
                    ast::Value::SingleQuotedString(p) => p.clone(),
                    _ => return Err(attach_path_error(database_file_name)),
                },
                other => return Err(attach_path_error(other)),
            };
            Ok(BoundStatement::Attach {
                path,
                alias: normalize(schema_name),
                span: schema_name.span,
            })
        }
        Statement::CreateDatabase {
            db_name,
            if_not_exists,
            location: None,
            managed_location: None,
            or_replace: false,
            clone: None,
            ..
        } => Ok(BoundStatement::CreateDatabase {
            path: database_path(db_name)?,
            if_not_exists: *if_not_exists,
        }),
        Statement::Drop {
            object_type: ast::ObjectType::Database,
            if_exists,
            names,
            cascade: false,
            ..
        } if names.len() == 1 => Ok(BoundStatement::DropDatabase {
            path: database_path(&names[0])?,
            if_exists: *if_exists,
        }),
        Statement::Vacuum(v) if v.table_name.is_none() => Ok(BoundStatement::Vacuum),
        Statement::StartTransaction { statements, .. } if statements.is_empty() => {
            Ok(BoundStatement::Begin)
        }
        Statement::Commit { chain: false, .. } => Ok(BoundStatement::Commit),
        Statement::Rollback {
            chain: false,
            savepoint: None,
        } => Ok(BoundStatement::Rollback),
        other => {
            let text = other.to_string();
            let first: String = text
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            Err(not_supported(
                &format!("the statement {first}"),
                other.span(),
            ))
        }
    }
}

/// The path of CREATE / DROP DATABASE: one identifier, as Hyper has it
/// (`"path/file.hxe"`).
fn database_path(name: &ast::ObjectName) -> BindResult<String> {
    match name.0.as_slice() {
        [ast::ObjectNamePart::Identifier(i)] => Ok(if i.quote_style.is_some() {
            i.value.clone()
        } else {
            normalize(i)
        }),
        _ => Err(SqlError::new(
            state::SYNTAX_ERROR,
            "the database is named by the path of its file",
        )
        .at(name.span())
        .hint("Use double quotes to denote the path: \"path/file.hxe\"")),
    }
}

fn attach_path_error(e: &ast::Expr) -> SqlError {
    SqlError::new(
        state::SYNTAX_ERROR,
        "ATTACH DATABASE takes the path of the database file",
    )
    .at(e.span())
    .hint("Use double quotes to denote the path: ATTACH DATABASE \"path/file.hxe\" AS alias")
}

fn bind_create_table(
    catalog: &dyn CatalogView,
    ct: &ast::CreateTable,
) -> BindResult<BoundStatement> {
    let span = ct.name.span();
    if ct.or_replace || ct.external || ct.like.is_some() || ct.clone.is_some() {
        return Err(not_supported(
            "CREATE OR REPLACE / EXTERNAL / LIKE / CLONE TABLE",
            span,
        ));
    }
    if let Some(c) = ct.constraints.first() {
        return Err(SqlError::new(state::FEATURE_NOT_SUPPORTED, "Index support is disabled.")
            .at(c.span())
            .hint("table constraints are not supported yet; ASSUMED PRIMARY KEY comes with the SQL dialect issue"));
    }
    let mut q = qualified_name(&ct.name)?;
    if ct.temporary {
        // Temporary tables live in the connection's own store (schema
        // pg_temp), never in the file.
        if (ct.name.0.len() > 1 && q.schema != super::TEMP_SCHEMA) || q.database.is_some() {
            return Err(SqlError::new(
                state::INVALID_TABLE_DEFINITION,
                "cannot create temporary object in non-temporary schema",
            )
            .at(span));
        }
        q.schema = super::TEMP_SCHEMA.to_string();
    }
    if !super::database_of(catalog, &q, span)?.has_schema(&q.schema) {
        return Err(super::missing_schema(&q.schema, span));
    }
    let (columns, as_query) = match &ct.query {
        Some(query) => {
            if !ct.columns.is_empty() {
                return Err(not_supported("column definitions with AS", span));
            }
            let plan = bind_query(catalog, query)?;
            let cols = plan
                .columns()
                .iter()
                .map(|c| ColumnDef::new(c.name.clone(), c.ty, true))
                .collect();
            (cols, Some(plan))
        }
        None => (
            ct.columns
                .iter()
                .map(column_def)
                .collect::<BindResult<Vec<_>>>()?,
            None,
        ),
    };
    for c in &columns {
        if ct.temporary && c.ty.element().is_some() {
            return Err(not_supported(
                &format!("an array column (\"{}\") in a temporary table", c.name),
                span,
            ));
        }
        super::array::check_persistable(&c.name, c.ty).map_err(|e| e.at(span))?;
    }
    Ok(BoundStatement::CreateTable {
        database: q.database,
        def: TableDef {
            schema: q.schema,
            name: q.table,
            columns,
        },
        if_not_exists: ct.if_not_exists,
        span,
        as_query,
    })
}

fn column_def(c: &ast::ColumnDef) -> BindResult<ColumnDef> {
    let ty = sql_type(&c.data_type, c.name.span)?;
    let mut def = ColumnDef::new(normalize(&c.name), ty, true);
    let mut default = None;
    for opt in &c.options {
        match &opt.option {
            ColumnOption::NotNull => def.nullable = false,
            ColumnOption::Null => def.nullable = true,
            ColumnOption::Default(e) => default = Some(e),
            other => {
                let text = other.to_string();
                return Err(not_supported(&format!("column option {text}"), c.name.span));
            }
        }
    }
    if let Some(e) = default {
        def.default = super::defaults::check_default(e, &def)?;
    }
    Ok(def)
}

fn bind_insert(catalog: &dyn CatalogView, insert: &ast::Insert) -> BindResult<InsertPlan> {
    let ast::TableObject::TableName(name) = &insert.table else {
        return Err(not_supported(
            "INSERT INTO a table function",
            insert.insert_token.0.span,
        ));
    };
    if insert.on.is_some() || insert.overwrite || insert.or.is_some() {
        return Err(not_supported(
            "INSERT ... ON CONFLICT / OVERWRITE",
            name.span(),
        ));
    }
    let table = resolve_table(catalog, name)?;
    let def = table.def().clone();
    let mut targets = target_columns(&def, &insert.columns)?;
    let plan = match &insert.source {
        // DEFAULT VALUES: one row, every column its default.
        None => {
            targets.clear();
            LogicalPlan::Values {
                rows: vec![Vec::new()],
                columns: Vec::new(),
            }
        }
        Some(source) => bind_insert_source(catalog, insert, source, &def, &mut targets)?,
    };
    let (source, targets) =
        fill_defaults(plan, &def, targets, name.span(), insert.returning.is_some())?;
    let (source, returning) = match &insert.returning {
        None => (source, None),
        Some(items) => {
            let columns = source
                .columns()
                .iter()
                .map(|c| ColumnInfo {
                    qualifier: Some(def.name.clone()),
                    ..c.clone()
                })
                .collect();
            let (source, returning) = super::dml::returning(source, &Scope::new(columns), items)?;
            (source, Some(returning))
        }
    };
    Ok(InsertPlan {
        table,
        targets,
        source,
        returning,
    })
}

/// The rows of INSERT ... VALUES or INSERT ... query, one column per target.
fn bind_insert_source(
    catalog: &dyn CatalogView,
    insert: &ast::Insert,
    source: &ast::Query,
    def: &TableDef,
    targets: &mut Vec<usize>,
) -> BindResult<LogicalPlan> {
    // Without a column list, fewer values fill the leading columns and the
    // rest are NULL (as in Hyper and PostgreSQL).
    let fewer = |targets: &mut Vec<usize>, width: usize| {
        if insert.columns.is_empty() && width < targets.len() {
            targets.truncate(width);
        }
    };
    let plan = match source.body.as_ref() {
        ast::SetExpr::Values(values)
            if source.order_by.is_none() && source.limit_clause.is_none() =>
        {
            let width = values
                .rows
                .iter()
                .map(|r| r.content.len())
                .max()
                .unwrap_or(0);
            fewer(targets, width);
            bind_insert_values(values, def, targets)?
        }
        _ => {
            let plan = bind_query(catalog, source)?;
            fewer(targets, plan.columns().len());
            assignment_project(plan, def, targets, source.span())?
        }
    };
    if plan.columns().len() != targets.len() {
        let (what, n) = if plan.columns().len() > targets.len() {
            ("more", plan.columns().len())
        } else {
            ("fewer", plan.columns().len())
        };
        return Err(SqlError::new(
            state::SYNTAX_ERROR,
            format!(
                "INSERT has {what} expressions ({n}) than target columns ({})",
                targets.len()
            ),
        )
        .at(source.span()));
    }
    Ok(plan)
}

/// Gives the columns an INSERT leaves out their defaults: a NOT NULL
/// column without one must be given (Hyper: "attribute 'a' must be
/// specified in insert statement"). Returns the plan and its targets, all
/// the table's columns in order once any default was needed (or
/// `full_width` asks for them, for RETURNING).
fn fill_defaults(
    plan: LogicalPlan,
    def: &TableDef,
    targets: Vec<usize>,
    span: sqlparser::tokenizer::Span,
    full_width: bool,
) -> BindResult<(LogicalPlan, Vec<usize>)> {
    let omitted: Vec<usize> = (0..def.columns.len())
        .filter(|i| !targets.contains(i))
        .collect();
    for &i in &omitted {
        let c = &def.columns[i];
        if !c.nullable && c.default.is_none() {
            return Err(SqlError::new(
                state::SYNTAX_ERROR,
                format!(
                    "attribute '{}' must be specified in insert statement",
                    c.name
                ),
            )
            .at(span));
        }
    }
    let identity = targets.iter().enumerate().all(|(p, &t)| p == t);
    let needed = omitted.iter().any(|&i| def.columns[i].default.is_some());
    let complete = identity && omitted.is_empty();
    if !needed && (!full_width || complete) {
        return Ok((plan, targets));
    }
    let input = plan.columns().to_vec();
    let mut exprs = Vec::with_capacity(def.columns.len());
    let mut columns = Vec::with_capacity(def.columns.len());
    for (i, c) in def.columns.iter().enumerate() {
        let e = match targets.iter().position(|&t| t == i) {
            Some(p) => super::query::column_ref(&input, p),
            None => super::defaults::default_value(c, span)?,
        };
        columns.push(ColumnInfo {
            name: c.name.clone(),
            ty: c.ty,
            nullable: e.nullable(),
            qualifier: None,
        });
        exprs.push(e);
    }
    let plan = LogicalPlan::Project {
        input: Box::new(plan),
        exprs,
        columns,
    };
    Ok((plan, (0..def.columns.len()).collect()))
}

fn target_columns(def: &TableDef, columns: &[ast::ObjectName]) -> BindResult<Vec<usize>> {
    let idents = columns
        .iter()
        .map(|name| match name.0.as_slice() {
            [ast::ObjectNamePart::Identifier(i)] => Ok(i),
            _ => Err(not_supported("qualified target column names", name.span())),
        })
        .collect::<BindResult<Vec<_>>>()?;
    column_indexes(def, &idents)
}

/// The table's column positions of a target column list (INSERT, COPY); an
/// empty list means every column in order.
pub(crate) fn column_indexes(def: &TableDef, columns: &[&ast::Ident]) -> BindResult<Vec<usize>> {
    if columns.is_empty() {
        return Ok((0..def.columns.len()).collect());
    }
    let mut out = Vec::with_capacity(columns.len());
    for ident in columns {
        let wanted = normalize(ident);
        let i = def
            .columns
            .iter()
            .position(|c| c.name == wanted)
            .ok_or_else(|| {
                SqlError::new(
                    state::UNDEFINED_COLUMN,
                    format!(
                        "column \"{wanted}\" of table \"{}\" does not exist",
                        def.name
                    ),
                )
                .at(ident.span)
            })?;
        if out.contains(&i) {
            return Err(SqlError::new(
                state::SYNTAX_ERROR,
                format!("column \"{wanted}\" specified more than once"),
            )
            .at(ident.span));
        }
        out.push(i);
    }
    Ok(out)
}

/// INSERT ... VALUES: each value converted to its target column's type, with
/// the value's own position in errors.
fn bind_insert_values(
    values: &ast::Values,
    def: &TableDef,
    targets: &[usize],
) -> BindResult<LogicalPlan> {
    let scope = Scope::default();
    let mut rows = Vec::with_capacity(values.rows.len());
    for row in &values.rows {
        if row.content.len() != targets.len() {
            let more = row.content.len() > targets.len();
            return Err(SqlError::new(
                state::SYNTAX_ERROR,
                format!(
                    "INSERT has {} expressions than target columns",
                    if more { "more" } else { "fewer" }
                ),
            )
            .at(row.opening_token.0.span));
        }
        let mut bound = Vec::with_capacity(targets.len());
        for (e, &t) in row.content.iter().zip(targets) {
            let col = &def.columns[t];
            if super::defaults::is_default_keyword(e) {
                bound.push(super::defaults::default_value(col, e.span())?);
                continue;
            }
            let b = super::expr::ExprBinder::plain(&scope).bind(e)?;
            bound.push(assign(b, col, e.span())?);
        }
        rows.push(bound);
    }
    let columns = targets
        .iter()
        .map(|&t| {
            let c = &def.columns[t];
            ColumnInfo {
                name: c.name.clone(),
                ty: c.ty,
                nullable: true,
                qualifier: None,
            }
        })
        .collect();
    Ok(LogicalPlan::Values { rows, columns })
}

/// Assignment conversion into a column: the implicit casts, and untyped
/// literals parsed as the column's type.
fn assign(
    e: BoundExpr,
    col: &ColumnDef,
    span: sqlparser::tokenizer::Span,
) -> BindResult<BoundExpr> {
    coerce(e, col.ty, span, &format!("column \"{}\"", col.name)).map_err(|mut err| {
        if err.sqlstate == state::DATATYPE_MISMATCH {
            err.message = format!(
                "column \"{}\" is of type {} but the expression is of another type",
                col.name, col.ty
            );
        }
        err
    })
}

fn assignment_project(
    plan: LogicalPlan,
    def: &TableDef,
    targets: &[usize],
    span: sqlparser::tokenizer::Span,
) -> BindResult<LogicalPlan> {
    let input_columns = plan.columns().to_vec();
    if input_columns.len() != targets.len() {
        return Ok(plan); // reported by the caller with the counts
    }
    let mut exprs = Vec::with_capacity(targets.len());
    let mut columns = Vec::with_capacity(targets.len());
    for (i, (&t, c)) in targets.iter().zip(&input_columns).enumerate() {
        let col = &def.columns[t];
        let input = default_literal_type(BoundExpr::Column {
            index: i,
            ty: c.ty,
            nullable: c.nullable,
        });
        exprs.push(assign(input, col, span)?);
        columns.push(ColumnInfo {
            name: col.name.clone(),
            ty: col.ty,
            nullable: c.nullable,
            qualifier: None,
        });
    }
    Ok(LogicalPlan::Project {
        input: Box::new(plan),
        exprs,
        columns,
    })
}
