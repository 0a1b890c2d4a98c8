//! The binder: resolves names against the catalog, types expressions and
//! builds logical plans from sqlparser's AST. Errors carry the position of the
//! offending token.

mod aggregate;
mod array;
mod context;
mod copy;
mod cte;
mod decorrelate;
mod defaults;
mod dml;
mod expr;
mod external;
mod from;
mod functions;
mod grouping;
mod query;
mod setop;
mod statement;
mod subquery;
mod window;

pub(crate) use copy::{bind_copy, bind_copy_to, parse_copy};
pub(crate) use dml::{AddColumn, ColumnChange, ModifyPlan, ReshapeColumns};
pub(crate) use expr::{not_supported, sql_type};
pub(crate) use from::make_join;
pub(crate) use query::column_ref;
pub(crate) use statement::{BoundStatement, InsertPlan, bind_statement};

use hyperctl_storage::{DEFAULT_SCHEMA, Snapshot, TableHandle, WriteTxn};
use sqlparser::ast::{Ident, ObjectName, ObjectNamePart, Spanned};

use crate::error::{SqlError, state};
use crate::plan::{BoundExpr, ColumnInfo};

/// What the binder needs to know of the catalog: a snapshot, or the open
/// write transaction (which sees its own changes).
pub(crate) trait CatalogView {
    fn table(&self, schema: &str, name: &str) -> Option<TableHandle>;
    fn has_schema(&self, schema: &str) -> bool;
    /// The schema an unqualified table name means: the temporary schema
    /// when the session has a temporary table of that name.
    fn search(&self, _table: &str) -> &'static str {
        DEFAULT_SCHEMA
    }
    /// The catalog of the database called `alias` (three-part names).
    fn database(&self, _alias: &str) -> Option<&dyn CatalogView> {
        None
    }
    /// `current_database()`: the alias of the one database names resolve
    /// in, empty when there is none, `None` (NULL) while names without a
    /// database part resolve nowhere (more than one attached), as Hyper.
    fn current_database(&self) -> Option<&str> {
        Some("")
    }
}

/// The alias [`SessionView::main_alias`] of an in-memory database (the
/// stem of its path, `:memory:`).
const IN_MEMORY_ALIAS: &str = ":memory:";

/// The schema of temporary tables (PostgreSQL's and Hyper's name).
pub(crate) const TEMP_SCHEMA: &str = "pg_temp";

/// A connection's view: its database, and its temporary tables (schema
/// [`TEMP_SCHEMA`], kept in a store of the connection's own). Unqualified
/// names find a temporary table first, as in Hyper.
///
/// With databases attached (ATTACH DATABASE), Hyper resolves names without
/// a database part only while one database is attached: then tables are
/// reached by `database.schema.table` alone (the connection's own database
/// by its alias, the file stem).
pub(crate) struct SessionView<'a> {
    pub(crate) main: &'a dyn CatalogView,
    pub(crate) main_alias: &'a str,
    pub(crate) temp: Option<&'a dyn CatalogView>,
    pub(crate) attached: Vec<(&'a str, &'a dyn CatalogView)>,
}

impl CatalogView for SessionView<'_> {
    fn table(&self, schema: &str, name: &str) -> Option<TableHandle> {
        if schema == TEMP_SCHEMA {
            return self.temp?.table(schema, name);
        }
        if !self.attached.is_empty() {
            return None;
        }
        self.main.table(schema, name)
    }

    fn has_schema(&self, schema: &str) -> bool {
        schema == TEMP_SCHEMA || (self.attached.is_empty() && self.main.has_schema(schema))
    }

    fn database(&self, alias: &str) -> Option<&dyn CatalogView> {
        if alias == self.main_alias {
            return Some(self.main);
        }
        self.attached
            .iter()
            .find(|(a, _)| *a == alias)
            .map(|(_, c)| *c)
    }

    fn current_database(&self) -> Option<&str> {
        if !self.attached.is_empty() {
            return None;
        }
        // An in-memory database has no file, so no alias.
        Some(if self.main_alias == IN_MEMORY_ALIAS {
            ""
        } else {
            self.main_alias
        })
    }

    fn search(&self, table: &str) -> &'static str {
        match self.temp {
            Some(t) if t.table(TEMP_SCHEMA, table).is_some() => TEMP_SCHEMA,
            _ => DEFAULT_SCHEMA,
        }
    }
}

impl CatalogView for Snapshot {
    fn table(&self, schema: &str, name: &str) -> Option<TableHandle> {
        Snapshot::table(self, schema, name)
    }

    fn has_schema(&self, schema: &str) -> bool {
        self.schema_names().iter().any(|s| s == schema)
    }
}

impl CatalogView for WriteTxn {
    fn table(&self, schema: &str, name: &str) -> Option<TableHandle> {
        WriteTxn::table(self, schema, name)
    }

    fn has_schema(&self, schema: &str) -> bool {
        self.schema_names().iter().any(|s| s == schema)
    }
}

/// An identifier as SQL means it: unquoted names fold to lower case.
pub(crate) fn normalize(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

/// A resolved `[schema.]table` name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QualifiedName {
    /// The database alias of a three-part name.
    pub(crate) database: Option<String>,
    pub(crate) schema: String,
    pub(crate) table: String,
}

/// Splits an object name into schema and table, defaulting to `public`.
pub(crate) fn qualified_name(name: &ObjectName) -> Result<QualifiedName, SqlError> {
    let parts: Vec<&Ident> = name
        .0
        .iter()
        .filter_map(|p| match p {
            ObjectNamePart::Identifier(i) => Some(i),
            ObjectNamePart::Function(_) => None,
        })
        .collect();
    match parts.as_slice() {
        [table] if name.0.len() == 1 => Ok(QualifiedName {
            database: None,
            schema: DEFAULT_SCHEMA.to_string(),
            table: normalize(table),
        }),
        [schema, table] if name.0.len() == 2 => Ok(QualifiedName {
            database: None,
            schema: normalize(schema),
            table: normalize(table),
        }),
        [database, schema, table] if name.0.len() == 3 => Ok(QualifiedName {
            database: Some(normalize(database)),
            schema: normalize(schema),
            table: normalize(table),
        }),
        _ => Err(not_supported(
            &format!("the name {name} (more than three parts)"),
            name.span(),
        )),
    }
}

/// The schema and table an existing table's name means: an unqualified
/// name is looked up in the temporary schema first.
pub(crate) fn lookup_name(
    catalog: &dyn CatalogView,
    name: &ObjectName,
) -> Result<QualifiedName, SqlError> {
    let mut q = qualified_name(name)?;
    if name.0.len() == 1 {
        q.schema = catalog.search(&q.table).to_string();
    }
    Ok(q)
}

/// Looks a table up, with Hyper's error when it is missing.
pub(crate) fn resolve_table(
    catalog: &dyn CatalogView,
    name: &ObjectName,
) -> Result<TableHandle, SqlError> {
    let q = lookup_name(catalog, name)?;
    let catalog = database_of(catalog, &q, name.span())?;
    // Hyper names the schema only when the name has one.
    if !catalog.has_schema(&q.schema) && name.0.len() > 1 {
        let shown = match &q.database {
            Some(d) => format!("{d}\".\"{}", q.schema),
            None => q.schema.clone(),
        };
        return Err(missing_schema(&shown, name.span()));
    }
    catalog.table(&q.schema, &q.table).ok_or_else(|| {
        SqlError::new(
            state::UNDEFINED_TABLE,
            format!("table \"{}\" does not exist", q.table),
        )
        .at(name.span())
    })
}

/// The catalog a name's database part means (the session's, without one).
pub(crate) fn database_of<'c>(
    catalog: &'c dyn CatalogView,
    q: &QualifiedName,
    span: sqlparser::tokenizer::Span,
) -> Result<&'c dyn CatalogView, SqlError> {
    match &q.database {
        None => Ok(catalog),
        // Hyper: `schema "nope"."public" does not exist`.
        Some(d) => catalog
            .database(d)
            .ok_or_else(|| missing_schema(&format!("{d}\".\"{}", q.schema), span)),
    }
}

/// Hyper's error for a schema that does not exist (SQLSTATE 3F000,
/// invalid schema name).
pub(crate) fn missing_schema(schema: &str, span: sqlparser::tokenizer::Span) -> SqlError {
    SqlError::new(
        state::INVALID_SCHEMA_NAME,
        format!("schema \"{schema}\" does not exist"),
    )
    .at(span)
}

/// The columns visible to expressions: the FROM clause's output.
///
/// Invariant: scope position `i` is column `i` of the plan the scope
/// describes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    pub(crate) columns: Vec<ColumnInfo>,
    /// Per column (missing means `false`): reachable only by a qualified name
    /// and left out of an unqualified `*`, as the two columns that a
    /// `JOIN ... USING` merges into one.
    pub(crate) hidden: Vec<bool>,
}

impl Scope {
    /// A scope of plain columns.
    pub(crate) fn new(columns: Vec<ColumnInfo>) -> Self {
        Scope {
            columns,
            hidden: Vec::new(),
        }
    }

    /// Whether column `i` is hidden from unqualified names and `*`.
    pub(crate) fn is_hidden(&self, i: usize) -> bool {
        self.hidden.get(i).copied().unwrap_or(false)
    }

    /// Whether some column is qualified by `qualifier`.
    pub(crate) fn has_qualifier(&self, qualifier: &str) -> bool {
        self.columns
            .iter()
            .any(|c| c.qualifier.as_deref() == Some(qualifier))
    }

    /// The error for `qualifier.x` when no FROM item is called `qualifier`.
    pub(crate) fn missing_qualifier(qualifier: &str, span: sqlparser::tokenizer::Span) -> SqlError {
        SqlError::new(
            state::UNDEFINED_TABLE,
            format!("missing FROM-clause entry for table \"{qualifier}\""),
        )
        .at(span)
    }

    /// Resolves `[qualifier.]name` to a column.
    pub(crate) fn resolve(
        &self,
        qualifier: Option<&Ident>,
        name: &Ident,
    ) -> Result<BoundExpr, SqlError> {
        let wanted = normalize(name);
        let qual = qualifier.map(normalize);
        let matches: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                c.name == wanted
                    && match &qual {
                        None => !self.is_hidden(*i),
                        Some(q) => c.qualifier.as_deref() == Some(q.as_str()),
                    }
            })
            .map(|(i, _)| i)
            .collect();
        let span = match qualifier {
            Some(q) => q.span.union(&name.span),
            None => name.span,
        };
        match matches.as_slice() {
            [i] => {
                let c = &self.columns[*i];
                Ok(BoundExpr::Column {
                    index: *i,
                    ty: c.ty,
                    nullable: c.nullable,
                })
            }
            [] => match (&qual, qualifier) {
                (Some(q), Some(ident)) if !self.has_qualifier(q) => {
                    Err(Scope::missing_qualifier(q, ident.span))
                }
                _ => Err(self.unknown_column(&wanted, qual.as_deref(), span)),
            },
            _ => Err(SqlError::new(
                state::AMBIGUOUS_COLUMN,
                format!("column reference \"{wanted}\" is ambiguous"),
            )
            .at(span)),
        }
    }

    fn unknown_column(
        &self,
        wanted: &str,
        qual: Option<&str>,
        span: sqlparser::tokenizer::Span,
    ) -> SqlError {
        let shown = match qual {
            Some(q) => format!("{q}.{wanted}"),
            None => wanted.to_string(),
        };
        let err =
            SqlError::new(state::UNDEFINED_COLUMN, format!("unknown column '{shown}'")).at(span);
        let similar: Vec<String> = self
            .columns
            .iter()
            .filter(|c| c.name.eq_ignore_ascii_case(wanted))
            .map(|c| format!("\"{}\"", c.name))
            .collect();
        if similar.is_empty() {
            err
        } else {
            err.hint(format!(
                "Did you mean one of the following names: {}?",
                similar.join(", ")
            ))
        }
    }
}
