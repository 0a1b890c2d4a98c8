//! The engine facade, named after the Hyper API: [`Database`] opens a file,
//! [`Connection`] runs statements on it (`execute_command`, `execute_query`).
//!
//! Transactions: each statement runs in its own transaction (autocommit)
//! unless `BEGIN` opened one; `COMMIT` makes it durable, `ROLLBACK` (or an
//! error inside it, or dropping the connection) discards it.
//!
//! Temporary tables (`CREATE TEMPORARY TABLE`, schema `pg_temp`) live in an
//! in-memory store of the connection's own: visible to it alone, never
//! written to the file, gone when it closes. Statements that write them use
//! a transaction of that store (committed and rolled back with the
//! connection's).

use std::path::Path;

use hyperctl_exec::arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use hyperctl_exec::arrow::datatypes::SchemaRef;
use hyperctl_format::SqlType;
use hyperctl_storage::{CreateMode, OpenOptions, TableDef, WriteTxn};

use crate::binder::{BoundStatement, TEMP_SCHEMA, bind_statement};
use crate::error::{Error, Result, SqlError, state};
use crate::parse::{StatementText, parse_one};
use crate::plan::{LogicalPlan, arrow_schema};

mod databases;
mod write;

use databases::{Side, Target, same_file};
use write::{apply, pad_chars};

/// An open database file (the Hyper API's database behind a connection).
#[derive(Debug, Clone)]
pub struct Database {
    storage: hyperctl_storage::Database,
}

impl Database {
    /// Opens the database at `path` as `mode` says, locking it for writing.
    ///
    /// Spec §6.8: `CreateMode::None` on a missing file and `Create` on an
    /// existing one fail, and the messages name the path.
    ///
    /// ```
    /// use hyperctl_sql::{CreateMode, Database};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("api.hxe");
    /// let err = Database::open(&path, CreateMode::None).unwrap_err();
    /// assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    /// assert!(err.to_string().contains("does not exist"), "{err}");
    /// drop(Database::open(&path, CreateMode::Create)?);
    /// let err = Database::open(&path, CreateMode::Create).unwrap_err();
    /// assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    /// assert!(err.to_string().contains("already exists"), "{err}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As `hyperctl_storage::Database::open`: missing or existing file per the
    /// create mode, `Locked`, damaged files.
    pub fn open(path: impl AsRef<Path>, mode: CreateMode) -> Result<Database> {
        let options = OpenOptions::new().create_mode(mode);
        Ok(Database {
            storage: hyperctl_storage::Database::open(path, &options)?,
        })
    }

    /// Opens an existing database read-only (shared lock).
    ///
    /// # Errors
    /// As [`Database::open`].
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Database> {
        let options = OpenOptions::new().read_only(true);
        Ok(Database {
            storage: hyperctl_storage::Database::open(path, &options)?,
        })
    }

    /// A new empty database in memory.
    pub fn in_memory() -> Database {
        Database {
            storage: hyperctl_storage::Database::in_memory(),
        }
    }

    /// A connection to this database.
    pub fn connect(&self) -> Connection {
        Connection {
            db: self.storage.clone(),
            txn: None,
            aborted: false,
            exec: hyperctl_exec::ExecOptions::default(),
            temp: None,
            attached: Vec::new(),
            block_target: None,
        }
    }

    /// The storage handle underneath.
    pub fn storage(&self) -> &hyperctl_storage::Database {
        &self.storage
    }
}

/// A column of a query result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultColumn {
    /// Column name (Hyper's naming: unnamed expressions by position).
    pub name: String,
    /// SQL type.
    pub ty: SqlType,
    /// Whether NULLs may occur.
    pub nullable: bool,
}

/// The rows of a query.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// The columns.
    pub columns: Vec<ResultColumn>,
    /// The Arrow schema of `batches` (SQL types in the field metadata).
    pub schema: SchemaRef,
    /// The rows.
    pub batches: Vec<RecordBatch>,
}

impl QueryResult {
    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// What a statement gave back.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StatementResult {
    /// Rows of a query.
    Rows(QueryResult),
    /// Rows affected by INSERT (and later UPDATE, DELETE, COPY).
    Count(u64),
    /// DDL and transaction control.
    Done,
}

/// A session on a database.
#[derive(Debug)]
pub struct Connection {
    db: hyperctl_storage::Database,
    txn: Option<WriteTxn>,
    aborted: bool,
    /// How queries run: threads, morsel size, memory limit.
    exec: hyperctl_exec::ExecOptions,
    /// The temporary tables, once the first one is created.
    temp: Option<Side>,
    /// Databases attached with ATTACH DATABASE, by alias.
    attached: Vec<Side>,
    /// The database (not the temporary store) a BEGIN block has written:
    /// as Hyper, a transaction writes one database.
    block_target: Option<Target>,
}

impl Connection {
    /// Opens a database and connects to it.
    ///
    /// # Errors
    /// As [`Database::open`].
    pub fn open(path: impl AsRef<Path>, mode: CreateMode) -> Result<Connection> {
        Ok(Database::open(path, mode)?.connect())
    }

    /// Runs one statement; returns the affected row count for INSERT (and
    /// other DML), `None` for everything else (as the Hyper API does).
    ///
    /// Spec §6.3: `UPDATE` gives `Some(n)`, `CREATE` gives `None`.
    ///
    /// ```
    /// use hyperctl_sql::Database;
    ///
    /// let mut conn = Database::in_memory().connect();
    /// assert_eq!(conn.execute_command("CREATE TABLE t (a int)")?, None);
    /// assert_eq!(conn.execute_command("INSERT INTO t VALUES (1), (2), (3)")?, Some(3));
    /// assert_eq!(conn.execute_command("UPDATE t SET a = a + 1 WHERE a >= 2")?, Some(2));
    /// # Ok::<(), hyperctl_sql::Error>(())
    /// ```
    ///
    /// # Errors
    /// SQL errors with their position, storage and execution errors.
    pub fn execute_command(&mut self, sql: &str) -> Result<Option<u64>> {
        Ok(match self.execute(sql)? {
            StatementResult::Count(n) => Some(n),
            StatementResult::Rows(_) | StatementResult::Done => None,
        })
    }

    /// Runs one query and returns its rows.
    ///
    /// # Errors
    /// As [`Connection::execute_command`]; a statement that is not a query is
    /// an error.
    pub fn execute_query(&mut self, sql: &str) -> Result<QueryResult> {
        match self.execute(sql)? {
            StatementResult::Rows(r) => Ok(r),
            _ => Err(
                SqlError::new(state::SYNTAX_ERROR, "the statement does not return rows")
                    .hint("use execute_command for statements without results")
                    .into(),
            ),
        }
    }

    /// Runs one statement of any kind.
    ///
    /// # Errors
    /// As [`Connection::execute_command`].
    pub fn execute(&mut self, sql: &str) -> Result<StatementResult> {
        self.execute_at(&StatementText {
            text: sql.to_string(),
            line_offset: 0,
        })
    }

    /// Runs one statement cut out of a script (errors report script lines).
    ///
    /// # Errors
    /// As [`Connection::execute_command`].
    pub fn execute_at(&mut self, stmt: &StatementText) -> Result<StatementResult> {
        let result = self.run(&stmt.text);
        if result.is_err() && self.txn.is_some() {
            self.aborted = true;
        }
        result.map_err(|e| match e {
            Error::Sql(s) => Error::Sql(Box::new(s.with_sql(&stmt.text, stmt.line_offset))),
            other => other,
        })
    }

    /// The exec plan of a query, for tests of plan shapes.
    #[cfg(test)]
    pub(crate) fn physical_plan(&self, sql: &str) -> Result<hyperctl_exec::PhysicalPlan> {
        match bind_statement(&self.db.snapshot(), &parse_one(sql)?)? {
            BoundStatement::Query(plan) => Ok(plan.lower()),
            _ => Err(Error::Internal {
                what: "not a query".into(),
            }),
        }
    }

    /// Sets how this connection's queries run (threads, memory limit).
    ///
    /// ```
    /// use hyperctl_sql::{Database, ExecOptions};
    ///
    /// let mut conn = Database::in_memory().connect();
    /// conn.set_exec_options(ExecOptions::builder().threads(1).build());
    /// assert_eq!(conn.exec_options().threads(), 1);
    /// ```
    pub fn set_exec_options(&mut self, options: hyperctl_exec::ExecOptions) {
        self.exec = options;
    }

    /// How this connection's queries run.
    pub fn exec_options(&self) -> &hyperctl_exec::ExecOptions {
        &self.exec
    }

    /// Whether a transaction opened by BEGIN is running.
    pub fn in_transaction(&self) -> bool {
        self.txn.is_some()
    }

    fn run(&mut self, sql: &str) -> Result<StatementResult> {
        // COPY has its own parser (binder/copy.rs): sqlparser lacks Hyper's
        // `OPTION => value` style.
        let copy = crate::binder::parse_copy(sql)?;
        if let Some(copy) = copy.as_ref().filter(|c| c.is_to()) {
            if self.aborted {
                return Err(aborted_error());
            }
            let bound = self.with_view(|v| crate::binder::bind_copy_to(v, copy))?;
            let result = self.execute_query(&bound.query)?;
            let rows = crate::load::write_columnar(
                std::path::Path::new(&bound.path),
                &result.schema,
                result.batches.into_iter().map(Ok),
            )?;
            return Ok(StatementResult::Count(rows));
        }
        let bound = if let Some(copy) = copy {
            let mut plan = self.with_view(|v| crate::binder::bind_copy(v, &copy))?;
            // COPY parses and compresses on the connection's threads.
            plan.options = plan.options.threads(self.exec.threads());
            if let Some(limit) = self.exec.memory_limit_bytes() {
                plan.options = plan.options.memory_budget(limit);
            }
            BoundStatement::Copy(plan)
        } else if let Some((alias, span)) = crate::parse::parse_detach(sql)? {
            BoundStatement::Detach { alias, span }
        } else {
            let parsed = parse_one(sql)?;
            self.with_view(|v| bind_statement(v, &parsed))?
        };
        if self.aborted && !matches!(bound, BoundStatement::Commit | BoundStatement::Rollback) {
            return Err(aborted_error());
        }
        match bound {
            BoundStatement::Query(plan) => Ok(StatementResult::Rows(pad_chars(run_query_with(
                &plan, &self.exec,
            )?)?)),
            BoundStatement::Explain { plan, analyze } => {
                Ok(StatementResult::Rows(explain(&plan, analyze, &self.exec)?))
            }
            BoundStatement::Begin => self.begin(),
            BoundStatement::Commit => self.commit(),
            BoundStatement::Rollback => {
                self.txn = None;
                self.block_target = None;
                for side in self.temp.iter_mut().chain(&mut self.attached) {
                    side.txn = None;
                }
                self.aborted = false;
                Ok(StatementResult::Done)
            }
            BoundStatement::Attach { path, alias, span } => {
                self.attach_database(Path::new(&path), alias, span)?;
                Ok(StatementResult::Done)
            }
            BoundStatement::Detach { alias, span } => {
                self.detach_database(&alias, span)?;
                Ok(StatementResult::Done)
            }
            BoundStatement::CreateDatabase {
                path,
                if_not_exists,
            } => {
                let catalog = self.catalog();
                if if_not_exists {
                    catalog.create_database_if_not_exists(&path)?;
                } else {
                    catalog.create_database(&path)?;
                }
                Ok(StatementResult::Done)
            }
            BoundStatement::DropDatabase { path, if_exists } => {
                if self
                    .attached
                    .iter()
                    .any(|a| same_file(a.db.path(), Path::new(&path)))
                {
                    return Err(SqlError::new(
                        state::OBJECT_IN_USE,
                        "the database cannot be dropped, as it is currently in use",
                    )
                    .into());
                }
                let catalog = self.catalog();
                if if_exists {
                    catalog.drop_database_if_exists(&path)?;
                } else {
                    catalog.drop_database(&path)?;
                }
                Ok(StatementResult::Done)
            }
            other => self.write(other),
        }
    }

    fn begin(&mut self) -> Result<StatementResult> {
        if self.txn.is_some() {
            return Err(SqlError::new(
                state::ACTIVE_TRANSACTION,
                "there is already a transaction in progress",
            )
            .into());
        }
        self.txn = Some(self.db.begin_write()?);
        Ok(StatementResult::Done)
    }

    fn commit(&mut self) -> Result<StatementResult> {
        let Some(txn) = self.txn.take() else {
            return Err(SqlError::new(
                state::NO_ACTIVE_TRANSACTION,
                "there is no transaction in progress",
            )
            .into());
        };
        self.block_target = None;
        let side_txns: Vec<WriteTxn> = self
            .temp
            .iter_mut()
            .chain(&mut self.attached)
            .filter_map(|side| side.txn.take())
            .collect();
        if std::mem::take(&mut self.aborted) {
            // As PostgreSQL and Hyper: COMMIT of a failed transaction rolls back.
            return Ok(StatementResult::Done);
        }
        // One database at most has changes (see `block_target`); the
        // temporary store is in memory.
        txn.commit()?;
        for t in side_txns {
            t.commit()?;
        }
        Ok(StatementResult::Done)
    }

    /// Runs a writing statement in the open transaction, or in its own.
    fn write(&mut self, stmt: BoundStatement) -> Result<StatementResult> {
        if matches!(stmt, BoundStatement::Vacuum) {
            if self.txn.is_some() {
                return Err(SqlError::new(
                    state::ACTIVE_TRANSACTION,
                    "VACUUM cannot run inside a transaction block",
                )
                .into());
            }
            self.db.vacuum()?;
            return Ok(StatementResult::Done);
        }
        let target = self.target_of(&stmt)?;
        if self.txn.is_some() && target != Target::Temp {
            match self.block_target {
                Some(t) if t != target => {
                    return Err(SqlError::new(
                        state::ACTIVE_TRANSACTION,
                        "The database cannot be modified, as the active transaction has uncommitted changes in another database.",
                    )
                    .hint("Commit the transaction before modifying another database.")
                    .into());
                }
                _ => self.block_target = Some(target),
            }
        }
        if target != Target::Main {
            return self.with_side_txn(target, |txn| apply(txn, stmt));
        }
        match self.txn.as_mut() {
            Some(txn) => apply(txn, stmt),
            None => {
                let mut txn = self.db.begin_write()?;
                let result = apply(&mut txn, stmt)?;
                txn.commit()?;
                Ok(result)
            }
        }
    }

    /// Creates a table from a definition (the Hyper API's `catalog.create_table`).
    ///
    /// # Errors
    /// `TableExists`, `SchemaNotFound`, I/O.
    pub fn create_table(&mut self, def: TableDef) -> Result<()> {
        if def.schema == TEMP_SCHEMA {
            return self.with_side_txn(Target::Temp, |txn| Ok(txn.create_table(def)?));
        }
        self.with_txn(|txn| Ok(txn.create_table(def)?))
    }

    /// Appends Arrow batches to a table in one transaction (the bulk path of
    /// the Inserter and of `hyperctl import`). Each batch's columns must be the
    /// table's, with the Arrow types of their SQL types.
    ///
    /// # Errors
    /// `TableNotFound`, `SchemaMismatch`, `NullViolation`, I/O; nothing is
    /// appended when any batch fails.
    pub fn append_batches(
        &mut self,
        schema: &str,
        table: &str,
        batches: impl IntoIterator<Item = Result<RecordBatch>>,
    ) -> Result<u64> {
        // Full blocks compress on the connection's threads.
        let threads = self.exec.threads();
        let append = |txn: &mut WriteTxn| txn.append_all(schema, table, batches, threads);
        if schema == TEMP_SCHEMA {
            return self.with_side_txn(Target::Temp, append);
        }
        self.with_txn(append)
    }

    fn with_txn<T>(&mut self, f: impl FnOnce(&mut WriteTxn) -> Result<T>) -> Result<T> {
        match self.txn.as_mut() {
            Some(txn) => f(txn),
            None => {
                let mut txn = self.db.begin_write()?;
                let out = f(&mut txn)?;
                txn.commit()?;
                Ok(out)
            }
        }
    }

    /// The table definition, if the table exists.
    pub fn table_definition(&self, schema: &str, table: &str) -> Option<TableDef> {
        self.with_view(|v| v.table(schema, table))
            .map(|h| h.def().clone())
    }

    /// The schema an unqualified table name means: `pg_temp` when the
    /// connection has a temporary table of that name, else `public`.
    pub fn default_schema_of(&self, table: &str) -> &'static str {
        self.with_view(|v| v.search(table))
    }

    /// The names of the tables of `schema` (`pg_temp`: the temporary ones).
    pub fn table_names(&self, schema: &str) -> Vec<String> {
        if schema == TEMP_SCHEMA {
            return match &self.temp {
                None => Vec::new(),
                Some(Side { txn: Some(txn), .. }) => txn.table_names(schema),
                Some(t) => t.db.snapshot().table_names(schema),
            };
        }
        match &self.txn {
            Some(txn) => txn.table_names(schema),
            None => self.db.snapshot().table_names(schema),
        }
    }
}

fn aborted_error() -> Error {
    SqlError::new(
        "25P02",
        "current transaction is aborted, commands ignored until end of transaction block",
    )
    .into()
}

fn run_query(plan: &LogicalPlan) -> Result<QueryResult> {
    run_query_with(plan, &hyperctl_exec::ExecOptions::default())
}

fn run_query_with(plan: &LogicalPlan, options: &hyperctl_exec::ExecOptions) -> Result<QueryResult> {
    let physical = plan.lower();
    let batches = hyperctl_exec::collect_with(&physical, options)?;
    query_result(plan.columns(), batches)
}

/// Rows of `columns` as a query result: the batches re-labelled with our
/// schema (names and SQL types in the metadata).
fn query_result(
    columns: &[crate::plan::ColumnInfo],
    batches: Vec<RecordBatch>,
) -> Result<QueryResult> {
    let schema = arrow_schema(columns);
    let batches = batches
        .into_iter()
        .map(|b| relabel(&schema, b))
        .collect::<Result<Vec<_>>>()?;
    Ok(QueryResult {
        columns: columns
            .iter()
            .map(|c| ResultColumn {
                name: c.name.clone(),
                ty: c.ty,
                nullable: c.nullable,
            })
            .collect(),
        schema,
        batches,
    })
}

/// EXPLAIN [ANALYZE]: one text column `plan`, a line per operator (with
/// rows and time per operator after a run for ANALYZE).
fn explain(
    plan: &LogicalPlan,
    analyze: bool,
    options: &hyperctl_exec::ExecOptions,
) -> Result<QueryResult> {
    let physical = plan.lower();
    let lines = if analyze {
        let (_, profile) = hyperctl_exec::collect_profiled(&physical, options)?;
        hyperctl_exec::explain(&physical, Some(&profile))
    } else {
        physical.schema()?;
        hyperctl_exec::explain(&physical, None)
    };
    let columns = vec![ResultColumn {
        name: "plan".into(),
        ty: SqlType::Text,
        nullable: false,
    }];
    let schema = std::sync::Arc::new(hyperctl_exec::arrow::datatypes::Schema::new(vec![
        SqlType::Text.arrow_field("plan", false),
    ]));
    let array: ArrayRef =
        std::sync::Arc::new(hyperctl_exec::arrow::array::StringArray::from(lines));
    let batch = RecordBatch::try_new(schema.clone(), vec![array]).map_err(|e| Error::Internal {
        what: format!("EXPLAIN result: {e}"),
    })?;
    Ok(QueryResult {
        columns,
        schema,
        batches: vec![batch],
    })
}

/// An array cast to the Arrow type its column should have.
fn relabel_array(a: &ArrayRef, ty: &hyperctl_exec::arrow::datatypes::DataType) -> Result<ArrayRef> {
    hyperctl_exec::arrow::compute::cast(a, ty).map_err(|e| Error::Internal {
        what: format!("a value came out as {} instead of {ty}: {e}", a.data_type()),
    })
}

fn relabel(schema: &SchemaRef, batch: RecordBatch) -> Result<RecordBatch> {
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    let fixed = schema.fields().iter().zip(batch.columns()).map(|(f, a)| {
        if f.data_type() == a.data_type() {
            Ok(a.clone())
        } else {
            hyperctl_exec::arrow::compute::cast(a, f.data_type()).map_err(|e| Error::Internal {
                what: format!(
                    "column {} came out as {} instead of {}: {e}",
                    f.name(),
                    a.data_type(),
                    f.data_type()
                ),
            })
        }
    });
    let columns = fixed.collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new_with_options(schema.clone(), columns, &options).map_err(|e| {
        Error::Internal {
            what: format!("result batch: {e}"),
        }
    })
}

// Accessors for the Hyper-style API in `api/` (Catalog, Inserter); kept apart
// from the statement machinery above.
impl Connection {
    /// The schemas of the database, as the open transaction sees them.
    pub(crate) fn schema_names(&self) -> Vec<String> {
        match &self.txn {
            Some(txn) => txn.schema_names(),
            None => self.db.snapshot().schema_names(),
        }
    }

    /// The path of the database file (`:memory:` for one in memory).
    pub(crate) fn database_path(&self) -> &Path {
        self.db.path()
    }

    /// Marks the open transaction failed, as a failed statement does (the
    /// Inserter's errors inside a user's transaction).
    pub(crate) fn abort_transaction(&mut self) {
        if self.txn.is_some() {
            self.aborted = true;
        }
    }
}
