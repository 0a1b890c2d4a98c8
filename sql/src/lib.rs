//! `hyperctl-sql`: the SQL front end (Tableau Hyper's dialect) and the engine
//! facade.
//!
//! Place in the layers: on top of `format`, `storage` and `exec`; below the
//! CLI. It parses with `sqlparser` (PostgreSQL dialect), binds names and types
//! against the catalog (errors carry the position in the statement), builds a
//! logical plan, lowers it to an `exec` plan and runs it over `storage`. It
//! knows nothing of HTTP or terminals.
//!
//! The facade follows the Hyper API's names: [`Database`], [`Connection`]
//! with `execute_command` (affected rows), `execute_query` (rows),
//! `execute_list_query` and `execute_scalar_query` ([`Value`]s); its
//! [`Catalog`] creates schemas and tables from a [`TableDefinition`]; the
//! [`Inserter`] appends rows at the bulk path's speed; [`TableName`],
//! [`escape_name`] and [`escape_string_literal`] quote names and literals.
//!
//! ```
//! use hyperctl_sql::Database;
//!
//! let mut conn = Database::in_memory().connect();
//! conn.execute_command("CREATE TABLE t (region text, sales numeric(10,2))")?;
//! let n = conn.execute_command("INSERT INTO t VALUES ('East', 10.5), ('West', 2), ('East', 1.25)")?;
//! assert_eq!(n, Some(3));
//! let result = conn.execute_query(
//!     "SELECT region, sum(sales) AS total FROM t GROUP BY region ORDER BY total DESC",
//! )?;
//! assert_eq!(result.num_rows(), 2);
//! assert_eq!(result.columns[1].name, "total");
//! # Ok::<(), hyperctl_sql::Error>(())
//! ```
#![forbid(unsafe_code)]

mod api;
mod binder;
mod common_exprs;
mod connection;
mod error;
mod join_filters;
mod load;
mod optimize;
mod parse;
mod plan;
mod pushdown;
mod sample;

// Fuzz target bodies, public so that `fuzz/` and the corpus replay test in
// `tests/` can call them; not part of the API.
#[doc(hidden)]
pub mod fuzzing;

pub use api::catalog::Catalog;
pub use api::inserter::{BATCH_ROWS, ColumnMapping, Inserter, InserterBuilder};
pub use api::names::{DatabaseName, SchemaName, TableName, escape_name, escape_string_literal};
pub use api::table_definition::{Column, Nullability, Persistence, TableDefinition};
pub use api::value::{Interval, Numeric, Value};
pub use connection::{Connection, Database, QueryResult, ResultColumn, StatementResult};
pub use error::{Error, Position, Result, SqlError};
pub use hyperctl_exec::arrow;
pub use hyperctl_exec::{
    ExecOptions, ExecOptionsBuilder, arrays_as_text, interval_text, trim_fraction_zeros,
};
pub use hyperctl_format::SqlType;
pub use hyperctl_storage::{ColumnDef, CreateMode, DEFAULT_SCHEMA, TableDef};
pub use load::{
    ColumnarBatches, ColumnarFormat, CsvOptions, CsvSchema, LoadProgress, OnError, PgBatches,
    PgSource, Reject, RejectSink, Secret, infer_csv_schema, read_columnar, read_csv, read_postgres,
    write_columnar,
};
pub use parse::{StatementText, split_statements};
pub use sqlparser;
