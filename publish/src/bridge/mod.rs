//! The Tableau `.hyper` bridge: writes and reads Tableau-readable `.hyper` files
//! through Tableau's own `hyperd`, with tables as Arrow batches.
//!
//! [`HyperdPath::discover`] finds `hyperd` (`HYPERD_PATH`, or the `tableauhyperapi`
//! Python package), [`HyperdProcess::start`] runs it on 127.0.0.1 as the
//! `tableau_internal_user` role (files owned by another role are refused by the
//! Hyper API and by Tableau), [`write_hyper_file`] creates a file and streams
//! tables into it with `COPY ... FROM STDIN` over the PostgreSQL wire protocol,
//! and [`read_hyper_file`] reads every table back with `COPY ... TO STDOUT`.
//!
//! File format version: the lowest that holds the data's types, so older
//! Tableau releases open the file: 2 by default, 3 when a NUMERIC has precision
//! above 18, 4 when a REAL column is present. [`HyperWriteOutcome::file_version`]
//! says which and why; [`hyper_file_version`] reads it back from hyperd's
//! catalog (`pg_catalog.hyper_database.database_version`).
//!
//! Layer: part of `publish`; it knows Arrow and hyperd, no engine crate.
//!
//! Invariant: hyperd listens on loopback only. Row values never reach a log
//! line, an error message or hyperd's query log (they travel in the COPY data
//! stream, never in SQL text).

mod copy;
mod discover;
mod process;
mod text;
mod types;

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};

pub use self::discover::{HYPERD_PATH_ENV, HyperdPath};
pub use self::process::{HYPER_USER, HyperdProcess};
pub use self::types::{FileVersionChoice, HyperColumn, HyperTableDef, HyperType};

use self::types::{choose_file_version, quote_ident};

/// The alias of the file being written, inside the bridge's own session.
const WRITE_ALIAS: &str = "hyperctl_target";

/// Bytes of CSV buffered before they go to hyperd.
const COPY_CHUNK_BYTES: usize = 1 << 20;

/// A table to write: its definition and its rows as Arrow batches whose schema
/// matches [`HyperTableDef::arrow_schema`] (field names may differ).
pub struct HyperTable<'a> {
    /// The table.
    pub def: HyperTableDef,
    /// Its rows.
    pub batches: Box<dyn Iterator<Item = RecordBatch> + 'a>,
}

impl<'a> HyperTable<'a> {
    /// A table with its batches.
    pub fn new(def: HyperTableDef, batches: impl IntoIterator<Item = RecordBatch> + 'a) -> Self {
        Self {
            def,
            batches: Box::new(batches.into_iter()),
        }
    }
}

impl std::fmt::Debug for HyperTable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperTable")
            .field("def", &self.def)
            .finish_non_exhaustive()
    }
}

/// What [`write_hyper_file`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HyperWriteOutcome {
    /// The file (absolute).
    pub path: PathBuf,
    /// The file format version chosen, and why; its `Display` is a sentence for the user.
    pub file_version: FileVersionChoice,
    /// Rows written per table, in the order given.
    pub rows: Vec<u64>,
}

/// Creates the `.hyper` file `path` (which must not exist) holding `tables`.
///
/// Schemas other than `public` are created. Each table is created with its
/// columns' types and nullability, then loaded with `COPY FROM STDIN` in CSV.
/// On failure the half-written file is dropped.
///
/// # Errors
///
/// [`Error::BatchSchema`] for a batch whose columns do not match the
/// definition, [`Error::HyperValue`] for a value that cannot cross exactly
/// (NULL in a NOT NULL column, too many NUMERIC digits, a fraction of a
/// microsecond, a TIME past 24:00, non-UTF-8 geography), [`Error::Hyper`] for
/// what hyperd refuses (the file exists, a duplicate table, ...).
pub fn write_hyper_file(
    process: &HyperdProcess,
    path: &Path,
    tables: Vec<HyperTable<'_>>,
) -> Result<HyperWriteOutcome> {
    let path = absolute(path)?;
    let db = path_text(&path)?;
    let file_version = choose_file_version(tables.iter().flat_map(|t| {
        let name = t.def.sql_name();
        t.def
            .columns
            .iter()
            .map(move |c| (name.clone(), c.name.as_str(), c.sql_type))
    }));
    let create = format!(
        "CREATE DATABASE {} WITH VERSION {}",
        quote_ident(db),
        file_version.version
    );
    let mut client = process.connect(None)?;
    client
        .batch_execute(&create)
        .map_err(|e| hyper_error("creating the database", &e))?;
    // One session from create to detach: a database still attached to a closing
    // session cannot be dropped, and a failed write must not leave a file behind.
    let alias = quote_ident(WRITE_ALIAS);
    let written = client
        .batch_execute(&format!("ATTACH DATABASE {} AS {alias}", quote_ident(db)))
        .map_err(|e| hyper_error("attaching the new database", &e))
        .and_then(|()| {
            tables
                .into_iter()
                .map(|table| write_table(&mut client, table))
                .collect::<Result<Vec<u64>>>()
        });
    let detached = client
        .batch_execute(&format!("DETACH DATABASE {alias}"))
        .map_err(|e| hyper_error("detaching the new database", &e));
    match written.and_then(|rows| detached.map(|()| rows)) {
        Ok(rows) => Ok(HyperWriteOutcome {
            path,
            file_version,
            rows,
        }),
        Err(e) => {
            // Best effort: the first error is the one to report.
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {}", quote_ident(db)));
            Err(e)
        }
    }
}

fn write_table(client: &mut postgres::Client, table: HyperTable<'_>) -> Result<u64> {
    let def = &table.def;
    let name = def.sql_name();
    if def.schema != "public" {
        let sql = format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(&def.schema));
        client
            .batch_execute(&sql)
            .map_err(|e| hyper_error(&format!("creating schema of {name}"), &e))?;
    }
    let columns: Vec<String> = def
        .columns
        .iter()
        .map(|c| {
            let null = if c.nullable { "" } else { " NOT NULL" };
            format!("{} {}{null}", quote_ident(&c.name), c.sql_type)
        })
        .collect();
    let sql = format!("CREATE TABLE {name} ({})", columns.join(", "));
    client
        .batch_execute(&sql)
        .map_err(|e| hyper_error(&format!("creating {name}"), &e))?;
    let context = format!("loading {name}");
    let mut writer = client
        .copy_in(&format!("COPY {name} FROM STDIN WITH (FORMAT csv)"))
        .map_err(|e| hyper_error(&context, &e))?;
    let mut buffer = String::new();
    let mut rows: u64 = 0;
    for batch in table.batches {
        copy::check_batch(def, &batch)?;
        copy::encode_batch(def, &batch, rows, &mut buffer)?;
        rows += batch.num_rows() as u64;
        if buffer.len() >= COPY_CHUNK_BYTES {
            writer
                .write_all(buffer.as_bytes())
                .map_err(|e| io_error(&context, e))?;
            buffer.clear();
        }
    }
    writer
        .write_all(buffer.as_bytes())
        .map_err(|e| io_error(&context, e))?;
    let copied = writer.finish().map_err(|e| hyper_error(&context, &e))?;
    if copied != rows {
        return Err(Error::Internal {
            what: format!("{name}: sent {rows} rows but hyperd loaded {copied}"),
        });
    }
    Ok(copied)
}

/// Reads every table of the `.hyper` file `path`, ordered by schema and name.
///
/// # Errors
///
/// [`Error::Hyper`] if hyperd cannot open the file (missing, locked, owned by
/// another role), [`Error::HyperUnsupportedColumn`] for a column type the bridge
/// does not carry (arrays, ...), [`Error::HyperValue`] for text from hyperd that
/// does not parse.
pub fn read_hyper_file(
    process: &HyperdProcess,
    path: &Path,
) -> Result<Vec<(HyperTableDef, Vec<RecordBatch>)>> {
    let path = absolute(path)?;
    let mut client = process.connect(Some(path_text(&path)?))?;
    client
        .batch_execute("SET extra_float_digits = 3")
        .map_err(|e| hyper_error("setting extra_float_digits", &e))?;
    let defs = read_catalog(&mut client)?;
    let mut out = Vec::with_capacity(defs.len());
    for def in defs {
        let context = format!("reading {}", def.sql_name());
        let reader = client
            .copy_out(&format!(
                "COPY {} TO STDOUT WITH (FORMAT csv)",
                def.sql_name()
            ))
            .map_err(|e| hyper_error(&context, &e))?;
        let batches = copy::decode_table(&def, BufReader::with_capacity(1 << 16, reader))?;
        out.push((def, batches));
    }
    Ok(out)
}

/// The file format version of the `.hyper` file `path`, as hyperd reports it.
///
/// # Errors
///
/// [`Error::Hyper`] if hyperd cannot open the file or does not report a version.
pub fn hyper_file_version(process: &HyperdProcess, path: &Path) -> Result<u8> {
    let path = absolute(path)?;
    let mut client = process.connect(Some(path_text(&path)?))?;
    let rows = simple_rows(
        &mut client,
        "SELECT database_version FROM pg_catalog.hyper_database",
        "reading the file version",
    )?;
    match rows.as_slice() {
        [row] => row[0].as_deref().and_then(|v| v.parse().ok()),
        _ => None,
    }
    .ok_or_else(|| Error::Hyper {
        context: "reading the file version".to_owned(),
        sqlstate: None,
        message: format!("pg_catalog.hyper_database returned {} rows", rows.len()),
        detail: None,
        hint: None,
    })
}

/// The user tables and their columns, from hyperd's `pg_catalog`.
fn read_catalog(client: &mut postgres::Client) -> Result<Vec<HyperTableDef>> {
    const SQL: &str = "SELECT n.nspname, c.relname, a.attname, a.atttypid, a.atttypmod, a.attnotnull \
         FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_class c ON a.attrelid = c.oid \
         JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid \
         WHERE c.relkind = 'r' AND a.attnum > 0 \
         AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_temp%' \
         ORDER BY n.nspname, c.relname, a.attnum";
    let rows = simple_rows(client, SQL, "reading the catalog")?;
    let mut defs: Vec<HyperTableDef> = Vec::new();
    for row in rows {
        let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        let (schema, table, column) = (field(0), field(1), field(2));
        let oid: u32 = field(3).parse().unwrap_or(0);
        let typmod: i32 = field(4).parse().unwrap_or(-1);
        let not_null = field(5) == "t";
        let sql_type = types::HyperType::from_catalog(oid, typmod).ok_or_else(|| {
            Error::HyperUnsupportedColumn {
                table: format!("{}.{}", quote_ident(&schema), quote_ident(&table)),
                column: column.clone(),
                type_oid: oid,
            }
        })?;
        let col = HyperColumn::new(column, sql_type, !not_null);
        match defs.last_mut() {
            Some(d) if d.schema == schema && d.name == table => d.columns.push(col),
            _ => defs.push(HyperTableDef::new(schema, table, vec![col])),
        }
    }
    Ok(defs)
}

/// Runs `sql` with the simple protocol; rows of text fields (`None` = NULL).
fn simple_rows(
    client: &mut postgres::Client,
    sql: &str,
    context: &str,
) -> Result<Vec<Vec<Option<String>>>> {
    let messages = client
        .simple_query(sql)
        .map_err(|e| hyper_error(context, &e))?;
    Ok(messages
        .iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        })
        .collect())
}

/// An error from hyperd (or the connection to it), with SQLSTATE and texts.
pub(crate) fn hyper_error(context: &str, e: &postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => Error::Hyper {
            context: context.to_owned(),
            sqlstate: Some(db.code().code().to_owned()),
            message: db.message().to_owned(),
            detail: db
                .detail()
                .map(str::to_owned)
                .filter(|d| !d.trim().is_empty()),
            hint: db.hint().map(str::to_owned),
        },
        None => Error::Hyper {
            context: context.to_owned(),
            sqlstate: None,
            message: e.to_string(),
            detail: None,
            hint: None,
        },
    }
}

fn io_error(context: &str, e: std::io::Error) -> Error {
    Error::Hyper {
        context: context.to_owned(),
        sqlstate: None,
        message: format!("sending data to hyperd failed: {e}"),
        detail: None,
        hint: None,
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The path as hyperd takes it (a database is named by its path, in UTF-8).
fn path_text(path: &Path) -> Result<&str> {
    path.to_str().ok_or_else(|| Error::HyperPath {
        path: path.to_path_buf(),
        reason: "the path is not valid UTF-8",
    })
}
