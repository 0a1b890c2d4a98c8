//! The binder: resolves names against the catalog, types expressions and
//! builds logical plans from sqlparser's AST. Errors carry the position of the
//! offending token.

mod context;
mod copy;
mod cte;
mod dml;
mod expr;
mod from;
mod functions;
mod query;
mod setop;
mod statement;
mod subquery;
mod window;

pub(crate) use copy::{bind_copy, bind_copy_to, parse_copy};
pub(crate) use dml::ModifyPlan;
pub(crate) use expr::{not_supported, sql_type};
pub(crate) use from::make_join;
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
            schema: DEFAULT_SCHEMA.to_string(),
            table: normalize(table),
        }),
        [schema, table] if name.0.len() == 2 => Ok(QualifiedName {
            schema: normalize(schema),
            table: normalize(table),
        }),
        _ => Err(not_supported(
            &format!("the name {name} (database-qualified names come with ATTACH DATABASE)"),
            name.span(),
        )),
    }
}

/// Looks a table up, with Hyper's error when it is missing.
pub(crate) fn resolve_table(
    catalog: &dyn CatalogView,
    name: &ObjectName,
) -> Result<TableHandle, SqlError> {
    let q = qualified_name(name)?;
    if !catalog.has_schema(&q.schema) {
        return Err(SqlError::new(
            state::UNDEFINED_TABLE,
            format!("schema \"{}\" does not exist", q.schema),
        )
        .at(name.span()));
    }
    catalog.table(&q.schema, &q.table).ok_or_else(|| {
        SqlError::new(
            state::UNDEFINED_TABLE,
            format!("table \"{}\" does not exist", q.table),
        )
        .at(name.span())
    })
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
