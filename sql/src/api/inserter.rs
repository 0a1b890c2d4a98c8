//! [`Inserter`]: appends rows to a table at the bulk path's speed (the Hyper
//! API's `Inserter`).
//!
//! Rows are checked on the client side (NULLs, types, integer range, string
//! length), buffered column by column in Arrow builders and cut into
//! batches of up to [`BATCH_ROWS`] rows; Arrow batches skip the builders.
//! Batches go to the load path's block building: storage's parallel append,
//! which compresses full blocks on the connection's threads.
//!
//! Transactions: when the connection has no open transaction, the Inserter
//! opens one (BEGIN) when it is built, writes batches into it a few
//! blocks' worth at a time (memory stays bounded), and `execute` commits; dropping the Inserter unexecuted (or any error)
//! rolls it back. Inside a transaction the caller opened, the rows stay in
//! memory until `execute`, which writes them into that transaction; an error
//! there aborts the caller's transaction.
//!
//! Column mappings with SQL expressions run as `INSERT INTO t (cols) SELECT
//! <exprs> FROM <scratch>`, where the scratch table (in the target's schema,
//! inside the same transaction, dropped before commit) holds the fed rows;
//! the expressions see the fed columns by name.
//!
//! Invariant: `builders[i]` builds `fed[i]`; all builders hold the same
//! number of rows.

use std::sync::Arc;

use hyperctl_exec::arrow::array::{
    ArrayRef, AsArray, RecordBatch, RecordBatchOptions, new_null_array,
};
use hyperctl_exec::arrow::datatypes::{Schema, SchemaRef};
use hyperctl_format::SqlType;
use hyperctl_storage::{ColumnDef, TableDef};

use super::catalog::check_database;
use super::names::{TableName, escape_name};
use super::table_definition::Column;
use super::value::{ColumnBuilder, FedColumn, Value, string_too_large};
use crate::connection::Connection;
use crate::error::{Error, SqlError, state};

/// Rows per batch handed to storage (one storage block).
pub const BATCH_ROWS: usize = 65_536;

/// Where one target column's values come from: fed by the client (no
/// expression) or computed by a SQL expression over the fed columns, which
/// are declared with [`InserterBuilder::inserter_definition`].
///
/// Spec §6.6: a mapping with expression columns.
///
/// ```
/// use hyperctl_sql::{Column, ColumnMapping, Database, Inserter, SqlType, Value};
///
/// let mut conn = Database::in_memory().connect();
/// conn.execute_command("CREATE TABLE t (a int, b text, c int)")?;
/// let mut inserter = Inserter::builder("t")
///     .columns([
///         ColumnMapping::new("a"),
///         ColumnMapping::with_expression("b", "upper(raw)"),
///         ColumnMapping::with_expression("c", "a * 10"),
///     ])
///     .inserter_definition([Column::new("a", SqlType::Int), Column::new("raw", SqlType::Text)])
///     .build(&mut conn)?;
/// inserter.add_row(&[Value::Int(1), Value::from("hello")])?;
/// inserter.execute()?;
/// assert_eq!(
///     conn.execute_list_query("SELECT a, b, c FROM t")?,
///     vec![vec![Value::Int(1), Value::from("HELLO"), Value::Int(10)]],
/// );
/// # Ok::<(), hyperctl_sql::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMapping {
    name: String,
    expression: Option<String>,
}

impl ColumnMapping {
    /// A target column fed by the client.
    pub fn new(name: impl Into<String>) -> Self {
        ColumnMapping {
            name: name.into(),
            expression: None,
        }
    }

    /// A target column computed by a SQL expression over the fed columns.
    pub fn with_expression(name: impl Into<String>, expression: impl Into<String>) -> Self {
        ColumnMapping {
            name: name.into(),
            expression: Some(expression.into()),
        }
    }

    /// The target column name (verbatim).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The SQL expression, if the column is computed.
    pub fn expression(&self) -> Option<&str> {
        self.expression.as_deref()
    }
}

impl From<&str> for ColumnMapping {
    fn from(name: &str) -> Self {
        ColumnMapping::new(name)
    }
}

impl From<String> for ColumnMapping {
    fn from(name: String) -> Self {
        ColumnMapping::new(name)
    }
}

/// How to build an [`Inserter`]: the target, an optional column list and the
/// fed columns' definition. See [`Inserter::builder`].
#[derive(Debug, Clone)]
pub struct InserterBuilder {
    table: TableName,
    columns: Option<Vec<ColumnMapping>>,
    definition: Option<Vec<Column>>,
}

impl InserterBuilder {
    /// The target columns, in the order of the values of a row (for fed
    /// columns); columns left out get NULL.
    pub fn columns<C: Into<ColumnMapping>>(mut self, columns: impl IntoIterator<Item = C>) -> Self {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// The columns the client feeds, in row order (the Hyper API's
    /// `inserter_definition`); needed once a mapping has an expression.
    pub fn inserter_definition(mut self, columns: impl IntoIterator<Item = Column>) -> Self {
        self.definition = Some(columns.into_iter().collect());
        self
    }

    /// Builds the Inserter on `conn`; opens a transaction unless one is open.
    ///
    /// # Errors
    /// The table or a named column does not exist; a NOT NULL column is left
    /// out; a mapping with an expression without an inserter definition; a
    /// fed column missing from the inserter definition; storage errors.
    pub fn build(self, conn: &mut Connection) -> Result<Inserter<'_>, Error> {
        Inserter::build(conn, self)
    }
}

/// What `execute` does with the fed rows.
#[derive(Debug)]
enum Route {
    /// Straight into the table: per table column, the fed column or NULL.
    Direct { sources: Vec<Option<usize>> },
    /// Through a scratch table and `INSERT ... SELECT`.
    Mapped {
        target_list: String,
        select_list: String,
        scratch: Option<String>,
    },
}

/// Appends rows to a table; see the module docs for transactions.
///
/// Spec §6.2: insert two rows, `execute()`, count them with
/// `execute_scalar_query`; a scalar query on zero rows is an error.
///
/// ```
/// use hyperctl_sql::{Column, Database, Inserter, SqlType, TableDefinition, TableName, Value};
///
/// let mut conn = Database::in_memory().connect();
/// let extract = TableDefinition::new(TableName::new("Extract", "Extract"))
///     .add_column(Column::not_null("id", SqlType::BigInt))
///     .add_column(Column::new("name", SqlType::Text).with_collation("en_US_CI"));
/// conn.catalog().create_schema("Extract")?;
/// conn.catalog().create_table(&extract)?;
///
/// let mut inserter = Inserter::new(&mut conn, &extract)?;
/// inserter.add_row(&[Value::BigInt(1), Value::from("Anna")])?;
/// inserter.add_rows([[Value::BigInt(2), Value::Null]])?;
/// assert_eq!(inserter.execute()?, 2);
///
/// let n = conn.execute_scalar_query(r#"SELECT count(*) FROM "Extract"."Extract""#)?;
/// assert_eq!(n, Value::BigInt(2));
/// let err = conn
///     .execute_scalar_query(r#"SELECT id FROM "Extract"."Extract" WHERE id > 2"#)
///     .unwrap_err();
/// assert_eq!(err.to_string(), "Query returned zero rows");
///
/// // Client-side checks; any error closes the Inserter and discards its rows.
/// let mut inserter = Inserter::new(&mut conn, &extract)?;
/// let err = inserter.add_row(&[Value::Null, Value::Null]).unwrap_err();
/// assert_eq!(err.to_string(), r#"Got NULL for a non-nullable column "id""#);
/// assert!(inserter.execute().is_err());
/// # Ok::<(), hyperctl_sql::Error>(())
/// ```
#[derive(Debug)]
pub struct Inserter<'c> {
    conn: &'c mut Connection,
    target: TableDef,
    fed: Vec<FedColumn>,
    fed_schema: SchemaRef,
    builders: Vec<ColumnBuilder>,
    route: Route,
    /// Whether the Inserter opened the transaction (and streams into it).
    own_txn: bool,
    /// Batches not yet appended: until `execute` inside the caller's
    /// transaction, else until a few blocks' worth are held.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    rows: u64,
    closed: bool,
}

fn usage(message: String) -> Error {
    SqlError::new(state::INVALID_PARAMETER, message).into()
}

fn closed_error() -> Error {
    usage("the inserter is closed (executed, or closed by an earlier error)".into())
}

impl<'c> Inserter<'c> {
    /// An Inserter that feeds every column of `table`, in table order.
    /// `table` is a [`TableName`] or a `&TableDefinition` (whose name is
    /// used; the columns come from the catalog).
    ///
    /// # Errors
    /// As [`InserterBuilder::build`].
    pub fn new(conn: &'c mut Connection, table: impl Into<TableName>) -> Result<Self, Error> {
        Inserter::builder(table).build(conn)
    }

    /// A builder for an Inserter with a column list or column mappings
    /// (see [`ColumnMapping`]).
    ///
    /// ```
    /// use hyperctl_sql::{Database, Inserter, Value};
    ///
    /// let mut conn = Database::in_memory().connect();
    /// conn.execute_command("CREATE TABLE t (a int, b text)")?;
    /// let mut inserter = Inserter::builder("t").columns(["b"]).build(&mut conn)?;
    /// inserter.add_row(&["x".into()])?;
    /// inserter.execute()?;
    /// assert_eq!(conn.execute_list_query("SELECT a, b FROM t")?, vec![vec![Value::Null, "x".into()]]);
    /// # Ok::<(), hyperctl_sql::Error>(())
    /// ```
    pub fn builder(table: impl Into<TableName>) -> InserterBuilder {
        InserterBuilder {
            table: table.into(),
            columns: None,
            definition: None,
        }
    }

    fn build(conn: &'c mut Connection, options: InserterBuilder) -> Result<Self, Error> {
        let name = &options.table;
        check_database(conn, name.database())?;
        let target = conn
            .table_definition(name.schema_on(conn), name.name())
            .ok_or_else(|| -> Error {
                SqlError::new(
                    state::UNDEFINED_TABLE,
                    format!("table {name} does not exist"),
                )
                .into()
            })?;
        let mappings = match options.columns {
            Some(m) => m,
            None => target
                .columns
                .iter()
                .map(|c| ColumnMapping::new(c.name.clone()))
                .collect(),
        };
        let (fed, route) = plan(&target, &mappings, options.definition)?;
        let fed_schema = Arc::new(Schema::new(
            fed.iter()
                .map(|c| c.ty.arrow_field(&c.name, true))
                .collect::<Vec<_>>(),
        ));
        let builders = fed
            .iter()
            .map(|c| ColumnBuilder::new(c.ty))
            .collect::<Result<Vec<_>, _>>()?;
        let own_txn = !conn.in_transaction();
        if own_txn {
            conn.execute_command("BEGIN")?;
        }
        Ok(Inserter {
            conn,
            target,
            fed,
            fed_schema,
            builders,
            route,
            own_txn,
            pending: Vec::new(),
            pending_rows: 0,
            rows: 0,
            closed: false,
        })
    }

    /// Adds one row: one value per fed column, in order.
    ///
    /// # Errors
    /// A closed Inserter; the wrong number of values; `Got NULL for a
    /// non-nullable column "id"`; a value of the wrong type or out of the
    /// column's range; `string too large for target string type`; storage
    /// errors of a full batch. Any error closes the Inserter.
    pub fn add_row(&mut self, row: &[Value]) -> Result<(), Error> {
        let result = self.add_row_inner(row);
        self.close_on_error(result)
    }

    fn add_row_inner(&mut self, row: &[Value]) -> Result<(), Error> {
        if self.closed {
            return Err(closed_error());
        }
        if row.len() != self.fed.len() {
            return Err(usage(format!(
                "the row has {} values, the inserter feeds {} columns",
                row.len(),
                self.fed.len()
            )));
        }
        for ((b, v), c) in self.builders.iter().zip(row).zip(&self.fed) {
            b.check(v, c)?;
        }
        for ((b, v), c) in self.builders.iter_mut().zip(row).zip(&self.fed) {
            b.append(v, c)?;
        }
        if self.builders.first().is_some_and(|b| b.len() >= BATCH_ROWS) {
            self.flush()?;
        }
        Ok(())
    }

    /// Adds rows, each as for [`Inserter::add_row`].
    ///
    /// # Errors
    /// As [`Inserter::add_row`]; rows before the failing one stay added
    /// until the Inserter is dropped (any error closes it).
    pub fn add_rows<R: AsRef<[Value]>>(
        &mut self,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<(), Error> {
        for row in rows {
            self.add_row(row.as_ref())?;
        }
        Ok(())
    }

    /// Adds an Arrow batch (the bulk path): one column per fed column, in
    /// order, each with the Arrow type of its SQL type (see
    /// `SqlType::to_arrow`); names are ignored.
    ///
    /// # Errors
    /// A closed Inserter; the wrong number or types of columns; NULLs in a
    /// NOT NULL column; strings too long for VARCHAR(n) / CHAR(n); storage
    /// errors. Any error closes the Inserter.
    pub fn add_batch(&mut self, batch: RecordBatch) -> Result<(), Error> {
        let result = self.add_batch_inner(batch);
        self.close_on_error(result)
    }

    fn add_batch_inner(&mut self, batch: RecordBatch) -> Result<(), Error> {
        if self.closed {
            return Err(closed_error());
        }
        if batch.num_columns() != self.fed.len() {
            return Err(usage(format!(
                "the batch has {} columns, the inserter feeds {}",
                batch.num_columns(),
                self.fed.len()
            )));
        }
        for (a, c) in batch.columns().iter().zip(&self.fed) {
            check_array(a, c)?;
        }
        self.flush()?;
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        let batch = RecordBatch::try_new_with_options(
            self.fed_schema.clone(),
            batch.columns().to_vec(),
            &options,
        )
        .map_err(|e| usage(format!("the batch does not fit the fed columns: {e}")))?;
        self.write(batch)
    }

    /// Writes the buffered rows and commits (when the Inserter opened the
    /// transaction); returns the number of rows inserted.
    ///
    /// # Errors
    /// A closed Inserter; storage errors such as a NULL in a NOT NULL
    /// column; errors of mapping expressions. Nothing is inserted then.
    pub fn execute(mut self) -> Result<u64, Error> {
        let result = self.execute_inner();
        self.close_on_error(result)
    }

    fn execute_inner(&mut self) -> Result<u64, Error> {
        if self.closed {
            return Err(closed_error());
        }
        self.flush()?;
        self.store_pending()?;
        if let Route::Mapped {
            target_list,
            select_list,
            scratch: Some(scratch),
        } = &self.route
        {
            let schema = escape_name(&self.target.schema);
            let sql = format!(
                "INSERT INTO {schema}.{} ({target_list}) SELECT {select_list} FROM {schema}.{}",
                escape_name(&self.target.name),
                escape_name(scratch),
            );
            self.conn.execute_command(&sql)?;
            self.conn
                .execute_command(&format!("DROP TABLE {schema}.{}", escape_name(scratch)))?;
        }
        if self.own_txn {
            self.conn.execute_command("COMMIT")?;
        }
        self.closed = true;
        Ok(self.rows)
    }

    /// Closes the Inserter after an error: rolls back its own transaction or
    /// aborts the caller's.
    fn close_on_error<T>(&mut self, result: Result<T, Error>) -> Result<T, Error> {
        if result.is_err() && !self.closed {
            self.discard();
        }
        result
    }

    fn discard(&mut self) {
        self.closed = true;
        self.pending.clear();
        self.pending_rows = 0;
        if self.own_txn {
            // Nothing to report to: a failing ROLLBACK leaves no transaction
            // behind either.
            let _ = self.conn.execute_command("ROLLBACK");
        } else {
            self.conn.abort_transaction();
        }
    }

    /// Turns the builders' rows into a batch and writes (or holds) it.
    fn flush(&mut self) -> Result<(), Error> {
        let n = self.builders.first().map_or(0, ColumnBuilder::len);
        if n == 0 {
            return Ok(());
        }
        let columns: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(ColumnBuilder::finish)
            .collect();
        let options = RecordBatchOptions::new().with_row_count(Some(n));
        let batch = RecordBatch::try_new_with_options(self.fed_schema.clone(), columns, &options)
            .map_err(|e| Error::Internal {
            what: format!("inserter batch: {e}"),
        })?;
        self.write(batch)
    }

    fn write(&mut self, batch: RecordBatch) -> Result<(), Error> {
        self.rows += batch.num_rows() as u64;
        self.pending_rows += batch.num_rows();
        self.pending.push(batch);
        // In its own transaction the Inserter streams: a few blocks' worth
        // at a time, so that storage compresses them in parallel.
        let group_rows = 2 * self.conn.exec_options().threads().max(1) * BATCH_ROWS;
        if self.own_txn && self.pending_rows >= group_rows {
            self.store_pending()?;
        }
        Ok(())
    }

    /// Appends the held batches of fed rows to the table or to the scratch
    /// table (one parallel append).
    fn store_pending(&mut self) -> Result<(), Error> {
        let batches = std::mem::take(&mut self.pending);
        self.pending_rows = 0;
        if batches.is_empty() {
            return Ok(());
        }
        let schema = self.target.schema.clone();
        match &mut self.route {
            Route::Direct { sources } => {
                let (target, sources) = (&self.target, &*sources);
                let full = batches.iter().map(|b| table_batch(target, sources, b));
                self.conn.append_batches(&schema, &self.target.name, full)?;
            }
            Route::Mapped { scratch, .. } => {
                let name = match scratch {
                    Some(name) => name.clone(),
                    None => {
                        let name = scratch_name(&*self.conn, &schema, &self.target.name);
                        self.conn.create_table(TableDef {
                            schema: schema.clone(),
                            name: name.clone(),
                            columns: self
                                .fed
                                .iter()
                                .map(|c| ColumnDef::new(c.name.clone(), c.ty, true))
                                .collect(),
                        })?;
                        *scratch = Some(name.clone());
                        name
                    }
                };
                self.conn
                    .append_batches(&schema, &name, batches.into_iter().map(Ok))?;
            }
        }
        Ok(())
    }
}

impl Drop for Inserter<'_> {
    /// Discards the rows of an Inserter that was not executed.
    fn drop(&mut self) {
        if !self.closed {
            self.discard();
        }
    }
}

/// A free name for the scratch table of a mapped Inserter.
fn scratch_name(conn: &Connection, schema: &str, table: &str) -> String {
    let mut n = 0u32;
    loop {
        let name = format!("__hyperctl_inserter_{table}_{n}");
        if conn.table_definition(schema, &name).is_none() {
            return name;
        }
        n += 1;
    }
}

/// The fed columns and the route for `mappings` onto `target`.
fn plan(
    target: &TableDef,
    mappings: &[ColumnMapping],
    definition: Option<Vec<Column>>,
) -> Result<(Vec<FedColumn>, Route), Error> {
    let mut positions = Vec::with_capacity(mappings.len());
    for (i, m) in mappings.iter().enumerate() {
        let Some(p) = target.columns.iter().position(|c| c.name == m.name) else {
            return Err(SqlError::new(
                state::UNDEFINED_COLUMN,
                format!(
                    "column \"{}\" does not exist in table \"{}\"",
                    m.name, target.name
                ),
            )
            .into());
        };
        if mappings[..i].iter().any(|o| o.name == m.name) {
            return Err(usage(format!(
                "column \"{}\" is mapped more than once",
                m.name
            )));
        }
        positions.push(p);
    }
    if let Some(c) = target
        .columns
        .iter()
        .enumerate()
        .find(|(i, c)| !c.nullable && !positions.contains(i))
        .map(|(_, c)| c)
    {
        return Err(SqlError::new(
            "23502",
            format!(
                "column \"{}\" is NOT NULL but the inserter does not fill it",
                c.name
            ),
        )
        .into());
    }
    let has_expression = mappings.iter().any(|m| m.expression.is_some());
    let Some(definition) = definition else {
        if has_expression {
            return Err(usage(
                "column mappings with expressions need an inserter definition of the fed columns"
                    .into(),
            ));
        }
        let fed = positions
            .iter()
            .map(|&p| {
                let c = &target.columns[p];
                FedColumn {
                    name: c.name.clone(),
                    ty: c.ty,
                    nullable: c.nullable,
                }
            })
            .collect();
        let mut sources = vec![None; target.columns.len()];
        for (i, &p) in positions.iter().enumerate() {
            sources[p] = Some(i);
        }
        return Ok((fed, Route::Direct { sources }));
    };
    for m in mappings.iter().filter(|m| m.expression.is_none()) {
        if !definition.iter().any(|c| c.name == m.name) {
            return Err(usage(format!(
                "column \"{}\" has no expression and is missing from the inserter definition",
                m.name
            )));
        }
    }
    let fed = definition
        .iter()
        .map(|c| FedColumn {
            name: c.name.clone(),
            ty: c.ty,
            nullable: c.is_nullable(),
        })
        .collect();
    let target_list = mappings
        .iter()
        .map(|m| escape_name(&m.name))
        .collect::<Vec<_>>()
        .join(", ");
    let select_list = mappings
        .iter()
        .map(|m| match &m.expression {
            Some(e) => format!("({e})"),
            None => escape_name(&m.name),
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok((
        fed,
        Route::Mapped {
            target_list,
            select_list,
            scratch: None,
        },
    ))
}

/// A batch of the table's columns: the fed ones from `batch`, NULL elsewhere.
fn table_batch(
    target: &TableDef,
    sources: &[Option<usize>],
    batch: &RecordBatch,
) -> Result<RecordBatch, Error> {
    let n = batch.num_rows();
    let columns = target
        .columns
        .iter()
        .zip(sources)
        .map(|(c, s)| match s {
            Some(i) => batch.column(*i).clone(),
            None => new_null_array(&c.ty.to_arrow(), n),
        })
        .collect();
    // Nullable fields on purpose: storage names the column of a NULL in a
    // NOT NULL column.
    let schema = Arc::new(Schema::new(
        target
            .columns
            .iter()
            .map(|c| c.ty.arrow_field(&c.name, true))
            .collect::<Vec<_>>(),
    ));
    let options = RecordBatchOptions::new().with_row_count(Some(n));
    RecordBatch::try_new_with_options(schema, columns, &options).map_err(|e| Error::Internal {
        what: format!("batch for table \"{}\": {e}", target.name),
    })
}

/// The checks of [`ColumnBuilder::check`] for a whole Arrow column.
fn check_array(array: &ArrayRef, c: &FedColumn) -> Result<(), Error> {
    let expected = c.ty.to_arrow();
    if array.data_type() != &expected {
        return Err(SqlError::new(
            state::DATATYPE_MISMATCH,
            format!(
                "column \"{}\" of the batch is Arrow {}, the inserter needs {expected} ({})",
                c.name,
                array.data_type(),
                c.ty
            ),
        )
        .into());
    }
    if !c.nullable && array.null_count() > 0 {
        return Err(SqlError::new(
            "23502",
            format!("Got NULL for a non-nullable column \"{}\"", c.name),
        )
        .into());
    }
    if let SqlType::Varchar { max_length: n } | SqlType::Char { length: n } = c.ty {
        let too_long = array
            .as_string_opt::<i32>()
            .is_some_and(|s| s.iter().flatten().any(|v| v.chars().count() > n as usize));
        if too_long {
            return Err(string_too_large(&c.name, c.ty));
        }
    }
    Ok(())
}
