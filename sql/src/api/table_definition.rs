//! [`TableDefinition`]: a table's name, columns and persistence, as the Hyper
//! API has it, convertible to and from the storage layer's [`TableDef`].

use hyperctl_format::SqlType;
use hyperctl_storage::{ColumnDef, TableDef};

use super::names::{SchemaName, TableName};
use crate::binder::TEMP_SCHEMA;
use crate::error::{Error, SqlError, state};

/// Whether a column admits NULL.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Nullability {
    /// NULL allowed (the default).
    #[default]
    Nullable,
    /// `NOT NULL`.
    NotNullable,
}

/// Whether a table outlives the connection.
///
/// A temporary table (here from a [`TableDefinition`], in SQL `CREATE
/// TEMPORARY TABLE`) is seen by its connection alone and never written to
/// the file:
///
/// ```
/// use hyperctl_sql::{Column, Database, Persistence, SqlType, TableDefinition, Value};
///
/// let db = Database::in_memory();
/// let mut conn = db.connect();
/// let scratch = TableDefinition::new("scratch")
///     .add_column(Column::not_null("id", SqlType::Int))
///     .with_persistence(Persistence::Temporary);
/// conn.catalog().create_table(&scratch)?;
/// conn.execute_command("INSERT INTO scratch VALUES (1), (2)")?;
/// assert_eq!(conn.execute_scalar_query("SELECT count(*) FROM scratch")?, Value::BigInt(2));
/// let back = conn.catalog().get_table_definition("scratch")?;
/// assert_eq!(back.persistence(), Persistence::Temporary);
/// // Another connection does not see it.
/// assert!(db.connect().execute_query("SELECT * FROM scratch").is_err());
/// # Ok::<(), hyperctl_sql::Error>(())
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Persistence {
    /// Stored in the database file (the default).
    #[default]
    Permanent,
    /// Visible to its connection only and gone when it closes; never
    /// written to the file. Its schema is `pg_temp` (an unqualified name
    /// finds a temporary table before a table of `public`).
    Temporary,
}

/// One column of a [`TableDefinition`].
///
/// ```
/// use hyperctl_sql::{Column, Nullability, SqlType};
///
/// let c = Column::new("name", SqlType::Text).with_collation("en_US_CI");
/// assert_eq!(c.nullability, Nullability::Nullable);
/// assert_eq!(c.collation.as_deref(), Some("en_US_CI"));
/// let id = Column::not_null("id", SqlType::BigInt);
/// assert_eq!(id.nullability, Nullability::NotNullable);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column name, verbatim.
    pub name: String,
    /// Its SQL type.
    pub ty: SqlType,
    /// Whether NULL is allowed.
    pub nullability: Nullability,
    /// The collation of a text column; `None` is binary (Hyper's default).
    /// Stored and reported; comparisons are binary today.
    pub collation: Option<String>,
}

impl Column {
    /// A nullable column without collation.
    pub fn new(name: impl Into<String>, ty: SqlType) -> Self {
        Column {
            name: name.into(),
            ty,
            nullability: Nullability::Nullable,
            collation: None,
        }
    }

    /// A `NOT NULL` column without collation.
    pub fn not_null(name: impl Into<String>, ty: SqlType) -> Self {
        Column::new(name, ty).with_nullability(Nullability::NotNullable)
    }

    /// The same column with another nullability.
    pub fn with_nullability(mut self, nullability: Nullability) -> Self {
        self.nullability = nullability;
        self
    }

    /// The same column with a collation (such as `en_US_CI`).
    pub fn with_collation(mut self, collation: impl Into<String>) -> Self {
        self.collation = Some(collation.into());
        self
    }

    /// Whether NULL is allowed.
    pub fn is_nullable(&self) -> bool {
        self.nullability == Nullability::Nullable
    }
}

impl From<&ColumnDef> for Column {
    fn from(c: &ColumnDef) -> Self {
        Column {
            name: c.name.clone(),
            ty: c.ty,
            nullability: if c.nullable {
                Nullability::Nullable
            } else {
                Nullability::NotNullable
            },
            collation: c.collation.clone(),
        }
    }
}

impl From<&Column> for ColumnDef {
    fn from(c: &Column) -> Self {
        ColumnDef::new(c.name.clone(), c.ty, c.is_nullable()).with_collation(c.collation.clone())
    }
}

/// A table's name, columns and persistence (the Hyper API's
/// `TableDefinition`), built with [`TableDefinition::add_column`].
///
/// ```
/// use hyperctl_sql::{Column, SqlType, TableDefinition, TableName};
///
/// let def = TableDefinition::new(TableName::new("Extract", "Extract"))
///     .add_column(Column::not_null("id", SqlType::BigInt))
///     .add_column(Column::new("name", SqlType::Text).with_collation("en_US_CI"));
/// assert_eq!(def.column_count(), 2);
/// assert_eq!(def.column_position_by_name("name"), Some(1));
/// assert_eq!(def.column(0).map(|c| c.ty), Some(SqlType::BigInt));
/// assert!(def.column_by_name("missing").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    name: TableName,
    columns: Vec<Column>,
    persistence: Persistence,
}

impl TableDefinition {
    /// A permanent table without columns.
    pub fn new(name: impl Into<TableName>) -> Self {
        TableDefinition {
            name: name.into(),
            columns: Vec::new(),
            persistence: Persistence::Permanent,
        }
    }

    /// The same definition with a column appended.
    pub fn add_column(mut self, column: Column) -> Self {
        self.columns.push(column);
        self
    }

    /// Appends a column in place.
    pub fn push_column(&mut self, column: Column) {
        self.columns.push(column);
    }

    /// The same definition with another persistence.
    pub fn with_persistence(mut self, persistence: Persistence) -> Self {
        self.persistence = persistence;
        self
    }

    /// The same definition under another name.
    pub fn with_name(mut self, name: impl Into<TableName>) -> Self {
        self.name = name.into();
        self
    }

    /// The table name.
    pub fn table_name(&self) -> &TableName {
        &self.name
    }

    /// The persistence.
    pub fn persistence(&self) -> Persistence {
        self.persistence
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Number of columns.
    pub fn column_count(&self) -> usize {
        self.columns.len()
    }

    /// Column `position` (from 0), if there is one.
    pub fn column(&self, position: usize) -> Option<&Column> {
        self.columns.get(position)
    }

    /// The column called `name` (exact, case-sensitive match).
    pub fn column_by_name(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The position of the column called `name` (exact match).
    pub fn column_position_by_name(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The storage layer's definition (schema `public` when the name has
    /// none, `pg_temp` for a temporary table). A database part of the name
    /// is left out: the caller has resolved it.
    ///
    /// # Errors
    /// A temporary table named in a schema other than `pg_temp` (SQLSTATE
    /// 42P16, as Hyper).
    pub fn to_table_def(&self) -> Result<TableDef, Error> {
        let schema = match self.persistence {
            Persistence::Permanent => self.name.schema_or_default(),
            Persistence::Temporary => match self.name.schema() {
                Some(s) if s.name() != TEMP_SCHEMA => {
                    return Err(SqlError::new(
                        state::INVALID_TABLE_DEFINITION,
                        "cannot create temporary object in non-temporary schema",
                    )
                    .into());
                }
                _ => TEMP_SCHEMA,
            },
        };
        Ok(TableDef {
            schema: schema.to_string(),
            name: self.name.name().to_string(),
            columns: self.columns.iter().map(ColumnDef::from).collect(),
        })
    }
}

impl From<&TableDef> for TableDefinition {
    /// The table `"schema"."name"` with the stored columns; temporary when
    /// its schema is `pg_temp`.
    fn from(def: &TableDef) -> Self {
        TableDefinition {
            name: TableName::new(SchemaName::new(def.schema.clone()), def.name.clone()),
            columns: def.columns.iter().map(Column::from).collect(),
            persistence: if def.schema == TEMP_SCHEMA {
                Persistence::Temporary
            } else {
                Persistence::Permanent
            },
        }
    }
}

impl From<TableDef> for TableDefinition {
    fn from(def: TableDef) -> Self {
        TableDefinition::from(&def)
    }
}

impl TryFrom<&TableDefinition> for TableDef {
    type Error = Error;

    fn try_from(def: &TableDefinition) -> Result<Self, Error> {
        def.to_table_def()
    }
}

impl From<&TableDefinition> for TableName {
    fn from(def: &TableDefinition) -> Self {
        def.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_round_trip() {
        let def = TableDefinition::new(TableName::new("s", "T"))
            .add_column(Column::not_null("id", SqlType::Int))
            .add_column(Column::new("n", SqlType::Varchar { max_length: 3 }).with_collation("de"));
        let stored = def.to_table_def().unwrap();
        assert_eq!(stored.schema, "s");
        assert!(!stored.columns[0].nullable);
        assert_eq!(TableDefinition::from(&stored), def);
        // A temporary table lives in pg_temp, whatever schema it names.
        let temp = def.with_persistence(Persistence::Temporary);
        let err = temp.to_table_def().unwrap_err();
        assert_eq!(err.as_sql().unwrap().sqlstate, "42P16");
        let temp = TableDefinition::new("T").with_persistence(Persistence::Temporary);
        let stored = temp.to_table_def().unwrap();
        assert_eq!(stored.schema, "pg_temp");
        assert_eq!(
            TableDefinition::from(&stored).persistence(),
            Persistence::Temporary
        );
    }
}
