//! [`Catalog`]: schemas, tables and database files of a connection, as the
//! Hyper API's `connection.catalog` has them.
//!
//! Tables are created from a [`TableDefinition`] through the storage layer
//! (not through SQL), so that collations survive; schemas through SQL.
//! A database part in a name given to these methods must be the
//! connection's own database (its file stem); attached databases
//! ([`Catalog::attach_database`]) are reached through SQL's three-part names.

use std::path::Path;

use hyperctl_storage::{CreateMode, wal_path_of};

use super::names::{DatabaseName, SchemaName, TableName, escape_name};
use super::table_definition::TableDefinition;
use crate::connection::{Connection, Database};
use crate::error::{Error, SqlError, state};

const INVALID_SCHEMA: &str = "3F000";
const DUPLICATE_SCHEMA: &str = "42P06";
const UNDEFINED_DATABASE: &str = "3D000";
const OBJECT_IN_USE: &str = "55006";

/// The catalog of a connection: see [`Connection::catalog`].
///
/// Spec §6.1: create `mydb` with `CreateMode::CreateAndReplace` and the table
/// `"Extract"."Extract"` from a [`TableDefinition`] with a NOT NULL column
/// and a collated text column.
///
/// ```
/// use hyperctl_sql::{Column, Connection, CreateMode, SqlType, TableDefinition, TableName};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("mydb.hxe");
/// let mut conn = Connection::open(&path, CreateMode::CreateAndReplace)?;
/// let mut catalog = conn.catalog();
/// catalog.create_schema("Extract")?;
/// let extract = TableDefinition::new(TableName::new("Extract", "Extract"))
///     .add_column(Column::not_null("id", SqlType::BigInt))
///     .add_column(Column::new("name", SqlType::Text).with_collation("en_US_CI"));
/// catalog.create_table(&extract)?;
/// assert!(catalog.has_table(&TableName::new("Extract", "Extract"))?);
/// // Replacing starts over with an empty database.
/// drop(conn);
/// let mut conn = Connection::open(&path, CreateMode::CreateAndReplace)?;
/// assert!(!conn.catalog().has_table(&TableName::new("Extract", "Extract"))?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Catalog<'c> {
    conn: &'c mut Connection,
}

impl Connection {
    /// The catalog: schemas and tables of this connection's database.
    ///
    /// ```
    /// use hyperctl_sql::{Column, Database, SqlType, TableDefinition, TableName};
    ///
    /// let mut conn = Database::in_memory().connect();
    /// let mut catalog = conn.catalog();
    /// catalog.create_schema("Extract")?;
    /// let def = TableDefinition::new(TableName::new("Extract", "Extract"))
    ///     .add_column(Column::not_null("id", SqlType::BigInt));
    /// catalog.create_table(&def)?;
    /// assert!(catalog.has_table(&TableName::new("Extract", "Extract"))?);
    /// assert_eq!(catalog.get_table_names("Extract")?, vec![TableName::new("Extract", "Extract")]);
    /// # Ok::<(), hyperctl_sql::Error>(())
    /// ```
    pub fn catalog(&mut self) -> Catalog<'_> {
        Catalog { conn: self }
    }

    /// The name of this connection's database: its file stem.
    pub fn database_name(&self) -> DatabaseName {
        let path = self.database_path();
        DatabaseName::new(
            path.file_stem()
                .map_or_else(|| path.to_string_lossy(), |s| s.to_string_lossy())
                .into_owned(),
        )
    }
}

/// Fails unless `db` is absent or names the connection's database.
pub(crate) fn check_database(conn: &Connection, db: Option<&DatabaseName>) -> Result<(), Error> {
    match db {
        Some(d) if *d != conn.database_name() => Err(SqlError::new(
            UNDEFINED_DATABASE,
            format!("database {d} does not exist"),
        )
        .hint("tables of attached databases are reached through SQL (database.schema.table)")
        .into()),
        _ => Ok(()),
    }
}

impl Catalog<'_> {
    fn check_database(&self, db: Option<&DatabaseName>) -> Result<(), Error> {
        check_database(&*self.conn, db)
    }

    /// Whether the schema exists (`pg_temp`, of temporary tables, always).
    fn schema_exists(&self, schema: &str) -> bool {
        schema == crate::binder::TEMP_SCHEMA || self.conn.schema_names().iter().any(|s| s == schema)
    }

    fn missing_schema(schema: &str) -> Error {
        SqlError::new(
            INVALID_SCHEMA,
            format!("schema \"{schema}\" does not exist"),
        )
        .into()
    }

    /// Creates a schema.
    ///
    /// # Errors
    /// `schema 'Extract' already exists` (SQLSTATE 42P06); a database part
    /// other than the connection's database; storage errors.
    pub fn create_schema(&mut self, schema: impl Into<SchemaName>) -> Result<(), Error> {
        let schema = schema.into();
        self.check_database(schema.database())?;
        if self.schema_exists(schema.name()) {
            return Err(SqlError::new(
                DUPLICATE_SCHEMA,
                format!("schema '{}' already exists", schema.name()),
            )
            .into());
        }
        self.conn
            .execute_command(&format!("CREATE SCHEMA {}", escape_name(schema.name())))?;
        Ok(())
    }

    /// Creates a schema unless it exists.
    ///
    /// # Errors
    /// As [`Catalog::create_schema`], less the duplicate.
    pub fn create_schema_if_not_exists(
        &mut self,
        schema: impl Into<SchemaName>,
    ) -> Result<(), Error> {
        let schema = schema.into();
        self.check_database(schema.database())?;
        if self.schema_exists(schema.name()) {
            return Ok(());
        }
        self.create_schema(schema)
    }

    /// Creates a table from its definition (columns, types, nullability and
    /// collations as given). An unqualified name lands in schema `public`.
    ///
    /// # Errors
    /// `schema "Extract" does not exist` (SQLSTATE 3F000); `table "t" already
    /// exists` (42P07); temporary tables (not supported, 0A000); duplicate
    /// column names; storage errors.
    pub fn create_table(&mut self, def: &TableDefinition) -> Result<(), Error> {
        self.create(def, false)
    }

    /// Creates a table unless one of that name exists (its definition is not
    /// compared).
    ///
    /// # Errors
    /// As [`Catalog::create_table`], less the duplicate.
    pub fn create_table_if_not_exists(&mut self, def: &TableDefinition) -> Result<(), Error> {
        self.create(def, true)
    }

    fn create(&mut self, def: &TableDefinition, if_not_exists: bool) -> Result<(), Error> {
        let name = def.table_name();
        self.check_database(name.database())?;
        let stored = def.to_table_def()?;
        if !self.schema_exists(&stored.schema) {
            return Err(Self::missing_schema(&stored.schema));
        }
        if self
            .conn
            .table_definition(&stored.schema, &stored.name)
            .is_some()
        {
            if if_not_exists {
                return Ok(());
            }
            return Err(SqlError::new(
                state::DUPLICATE_TABLE,
                format!("table \"{}\" already exists", stored.name),
            )
            .into());
        }
        self.conn.create_table(stored)
    }

    /// Whether the table exists.
    ///
    /// # Errors
    /// A database part other than the connection's database.
    pub fn has_table(&self, name: impl Into<TableName>) -> Result<bool, Error> {
        let name = name.into();
        self.check_database(name.database())?;
        Ok(self
            .conn
            .table_definition(name.schema_on(self.conn), name.name())
            .is_some())
    }

    /// The definition of a table: columns with type, nullability and
    /// collation; the name as stored (`"schema"."table"`).
    ///
    /// Spec §6.4: types, nullability and collation round-trip.
    ///
    /// ```
    /// use hyperctl_sql::{Column, Database, Nullability, SqlType, TableDefinition, TableName};
    ///
    /// let mut conn = Database::in_memory().connect();
    /// let name = TableName::new("Extract", "Extract");
    /// let def = TableDefinition::new(name.clone())
    ///     .add_column(Column::not_null("id", SqlType::BigInt))
    ///     .add_column(Column::new("name", SqlType::Varchar { max_length: 20 }).with_collation("en_US_CI"))
    ///     .add_column(Column::new("price", SqlType::numeric(10, 2)?));
    /// let mut catalog = conn.catalog();
    /// catalog.create_schema("Extract")?;
    /// catalog.create_table(&def)?;
    /// let back = catalog.get_table_definition(&name)?;
    /// assert_eq!(back, def);
    /// assert_eq!(back.column(0).map(|c| c.nullability), Some(Nullability::NotNullable));
    /// assert_eq!(back.column(1).and_then(|c| c.collation.as_deref()), Some("en_US_CI"));
    /// assert_eq!(back.column(2).and_then(|c| c.collation.as_deref()), None);
    /// // Unqualified names are tables of `public`; the result says so.
    /// let err = catalog.get_table_definition("Extract").unwrap_err();
    /// assert_eq!(err.to_string(), r#"table "Extract" does not exist"#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// `table "t" does not exist` (SQLSTATE 42P01), `schema "s" does not
    /// exist` (3F000).
    pub fn get_table_definition(
        &self,
        name: impl Into<TableName>,
    ) -> Result<TableDefinition, Error> {
        let name = name.into();
        self.check_database(name.database())?;
        let schema = name.schema_on(self.conn);
        if !self.schema_exists(schema) {
            return Err(Self::missing_schema(schema));
        }
        match self.conn.table_definition(schema, name.name()) {
            Some(def) => {
                let back = TableDefinition::from(&def);
                let qualified = match name.schema() {
                    Some(s) => TableName::new(s.clone(), def.name.clone()),
                    None => back.table_name().clone(),
                };
                Ok(back.with_name(qualified))
            }
            None => Err(SqlError::new(
                state::UNDEFINED_TABLE,
                format!("table {name} does not exist"),
            )
            .into()),
        }
    }

    /// The schemas of the database, sorted by name.
    ///
    /// # Errors
    /// None today; kept for attached databases.
    pub fn get_schema_names(&self) -> Result<Vec<SchemaName>, Error> {
        let mut names = self.conn.schema_names();
        names.sort();
        Ok(names.into_iter().map(SchemaName::new).collect())
    }

    /// The tables of a schema, sorted, qualified as `schema` is.
    ///
    /// # Errors
    /// `schema "s" does not exist` (SQLSTATE 3F000).
    pub fn get_table_names(&self, schema: impl Into<SchemaName>) -> Result<Vec<TableName>, Error> {
        let schema = schema.into();
        self.check_database(schema.database())?;
        if !self.schema_exists(schema.name()) {
            return Err(Self::missing_schema(schema.name()));
        }
        let mut names = self.conn.table_names(schema.name());
        names.sort();
        Ok(names
            .into_iter()
            .map(|t| TableName::new(schema.clone(), t))
            .collect())
    }

    /// Creates an empty database file; does not attach it.
    ///
    /// # Errors
    /// The file exists (the message names the path); I/O.
    pub fn create_database(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        Database::open(path, CreateMode::Create).map(drop)
    }

    /// Creates an empty database file unless it exists.
    ///
    /// # Errors
    /// I/O; an existing file that is not a database.
    pub fn create_database_if_not_exists(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        Database::open(path, CreateMode::CreateIfNotExists).map(drop)
    }

    /// Deletes a database file (and its log).
    ///
    /// # Errors
    /// The file is missing; `the database cannot be dropped, as it is
    /// currently in use` (SQLSTATE 55006) for this connection's database or
    /// one another process holds; I/O.
    pub fn drop_database(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        self.drop_db(path.as_ref(), false)
    }

    /// Deletes a database file unless it is missing.
    ///
    /// # Errors
    /// As [`Catalog::drop_database`], less the missing file.
    pub fn drop_database_if_exists(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        self.drop_db(path.as_ref(), true)
    }

    fn drop_db(&self, path: &Path, if_exists: bool) -> Result<(), Error> {
        let in_use = || -> Error {
            SqlError::new(
                OBJECT_IN_USE,
                "the database cannot be dropped, as it is currently in use",
            )
            .into()
        };
        let own = self.conn.database_path();
        if own == path
            || (own.canonicalize().ok()).is_some_and(|p| path.canonicalize().ok() == Some(p))
        {
            return Err(in_use());
        }
        // Opening proves it is a database no one holds, and replays its log.
        match Database::open(path, CreateMode::None) {
            Ok(db) => drop(db),
            Err(Error::Storage(hyperctl_storage::Error::NotFound { .. })) if if_exists => {
                return Ok(());
            }
            Err(Error::Storage(hyperctl_storage::Error::Locked { .. })) => return Err(in_use()),
            Err(e) => return Err(e),
        }
        let io = |op: &'static str, p: &Path| {
            let path = p.display().to_string();
            move |source| Error::Io { op, path, source }
        };
        std::fs::remove_file(path).map_err(io("deleting", path))?;
        let wal = wal_path_of(path);
        match std::fs::remove_file(&wal) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("deleting", &wal)(e)),
            _ => Ok(()),
        }
    }

    /// Attaches the database file at `path` to this connection under
    /// `alias` (default: the file stem), as `ATTACH DATABASE "path" AS
    /// alias` does. Its tables are then named `alias.schema.table`; as in
    /// Hyper, names without a database part resolve only while no other
    /// database is attached (the connection's own database is then named by
    /// its file stem too).
    ///
    /// Spec §6.7: attach, cross-database `INSERT ... SELECT`, detach.
    ///
    /// ```
    /// use hyperctl_sql::{Connection, CreateMode, Value};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let other = dir.path().join("sales.hxe");
    /// let mut src = Connection::open(&other, CreateMode::Create)?;
    /// src.execute_command("CREATE TABLE orders (id int, amount int)")?;
    /// src.execute_command("INSERT INTO orders VALUES (1, 10), (2, 20), (3, 30)")?;
    /// drop(src); // closes (and unlocks) the file
    ///
    /// let mut conn = Connection::open(dir.path().join("mydb.hxe"), CreateMode::Create)?;
    /// conn.execute_command("CREATE TABLE big (id int, amount int)")?;
    /// conn.catalog().attach_database(&other, None)?; // alias "sales"
    /// let n = conn.execute_command(
    ///     "INSERT INTO mydb.public.big SELECT id, amount FROM sales.public.orders WHERE amount > 15",
    /// )?;
    /// assert_eq!(n, Some(2));
    /// let total = conn.execute_scalar_query("SELECT sum(amount) FROM mydb.public.big")?;
    /// assert_eq!(total, Value::BigInt(50));
    /// // Unqualified names need a single database.
    /// assert!(conn.execute_query("SELECT * FROM big").is_err());
    /// conn.catalog().detach_database("sales")?;
    /// assert_eq!(conn.execute_scalar_query("SELECT count(*) FROM big")?, Value::BigInt(2));
    /// assert!(conn.catalog().detach_database("sales").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The file is missing or locked; the file or the alias is in use on
    /// this connection (SQLSTATE 55006 / 42P04); inside a transaction block.
    pub fn attach_database(
        &mut self,
        path: impl AsRef<Path>,
        alias: Option<&str>,
    ) -> Result<(), Error> {
        let path = path.as_ref();
        let alias = alias.map_or_else(
            || {
                path.file_stem()
                    .map_or_else(|| path.to_string_lossy(), |s| s.to_string_lossy())
                    .into_owned()
            },
            str::to_string,
        );
        self.conn
            .attach_database(path, alias, sqlparser::tokenizer::Span::empty())
    }

    /// Detaches the database attached as `alias`.
    ///
    /// # Errors
    /// `There is no database with the alias "x" attached to this session.`
    /// (SQLSTATE 3D000); inside a transaction block.
    pub fn detach_database(&mut self, alias: impl Into<DatabaseName>) -> Result<(), Error> {
        let alias = alias.into();
        self.conn
            .detach_database(alias.name(), sqlparser::tokenizer::Span::empty())
    }

    /// Detaches every attached database.
    ///
    /// # Errors
    /// Inside a transaction block.
    pub fn detach_all_databases(&mut self) -> Result<(), Error> {
        for alias in self.conn.attached_aliases() {
            self.conn
                .detach_database(&alias, sqlparser::tokenizer::Span::empty())?;
        }
        Ok(())
    }
}
