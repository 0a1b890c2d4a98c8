//! `hyperctl import FILE SOURCE --table NAME`: load a CSV (plain, `.gz` or
//! `.zst`), Parquet or Arrow IPC file, or a PostgreSQL query, into a table,
//! in one transaction. CSV columns are inferred unless `--schema` gives them;
//! `--column name:type` overrides single columns.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use hyperctl_sql::arrow::array::RecordBatch;
use hyperctl_sql::arrow::compute::cast;
use hyperctl_sql::arrow::datatypes::SchemaRef;
use hyperctl_sql::{
    ColumnDef, ColumnarFormat, Connection, CreateMode, CsvOptions, CsvSchema, DEFAULT_SCHEMA,
    ExecOptions, LoadProgress, OnError, RejectSink, SqlType, TableDef, infer_csv_schema,
    read_columnar, read_csv,
};

use crate::progress::ImportProgress;

#[derive(Debug)]
pub(crate) struct Args {
    pub(crate) file: PathBuf,
    pub(crate) csv: PathBuf,
    pub(crate) table: String,
    pub(crate) replace: bool,
    pub(crate) append: bool,
    pub(crate) delimiter: u8,
    pub(crate) header: bool,
    pub(crate) dry_run: bool,
    pub(crate) threads: usize,
    pub(crate) memory_budget_mib: Option<usize>,
    pub(crate) skip_errors: bool,
    pub(crate) reject_file: Option<PathBuf>,
    pub(crate) schema: Option<String>,
    pub(crate) columns: Vec<String>,
    pub(crate) quiet: bool,
    pub(crate) from: Option<String>,
    pub(crate) query: Option<String>,
}

pub(crate) fn run(args: &Args) -> Result<()> {
    if let Some(url) = &args.from {
        return crate::pg_import::run(args, url, args.query.as_deref().unwrap_or_default());
    }
    if ColumnarFormat::of(&args.csv).is_some() {
        return run_columnar(args);
    }
    let started = Instant::now();
    if args.reject_file.is_some() && !args.skip_errors {
        bail!("--reject-file needs --on-error skip (by default a bad record stops the import)");
    }
    let counters = LoadProgress::new();
    let mut options = CsvOptions::new()
        .delimiter(args.delimiter)
        .header(args.header)
        .threads(args.threads)
        .progress(Arc::clone(&counters));
    if args.skip_errors {
        options = options.on_error(OnError::Skip);
    }
    if let Some(mib) = args.memory_budget_mib {
        options = options.memory_budget(mib.saturating_mul(1 << 20));
    }
    let mut schema = match &args.schema {
        Some(spec) => parse_schema(spec)?,
        None => infer_csv_schema(&args.csv, &options)?,
    };
    override_columns(&mut schema.columns, &args.columns)?;
    let def = schema.table_def(DEFAULT_SCHEMA, &args.table);
    if args.dry_run {
        println!("{}", create_table_sql(&def));
        return Ok(());
    }
    let rejects = match &args.reject_file {
        Some(path) => Some(RejectFile::create(path)?),
        None => None,
    };
    if let Some(r) = &rejects {
        options = options.reject_sink(r.sink());
    }
    // Inference read the file once; count the loading pass only.
    let counters = LoadProgress::new();
    let options = options.progress(Arc::clone(&counters));
    let mut conn = open_connection(args)?;
    conn.execute("BEGIN")?;
    prepare_table(
        &mut conn,
        &def,
        args.replace,
        args.append,
        &args.file,
        &args.csv,
    )?;
    let bar = ImportProgress::start(Arc::clone(&counters), args.quiet);
    let rows = conn.append_batches(
        DEFAULT_SCHEMA,
        &args.table,
        read_csv(&args.csv, &options, &schema)?,
    )?;
    if let Some(r) = &rejects {
        r.flush()?;
    }
    conn.execute("COMMIT")?;
    bar.finish();
    eprintln!(
        "imported {rows} rows into {} ({} columns) in {:.2} s",
        args.table,
        def.columns.len(),
        started.elapsed().as_secs_f64()
    );
    if args.skip_errors {
        let rejected = counters.rejected();
        match &args.reject_file {
            Some(path) => eprintln!("rejected {rejected} rows (written to {})", path.display()),
            None => eprintln!("rejected {rejected} rows"),
        }
    }
    Ok(())
}

/// Imports a Parquet or Arrow IPC file (types from the file; `--column`
/// overrides cast).
fn run_columnar(args: &Args) -> Result<()> {
    let started = Instant::now();
    if args.schema.is_some() || args.skip_errors {
        bail!(
            "--schema and --on-error apply to CSV files; a Parquet or Arrow file has its own types"
        );
    }
    let (mut schema, batches) = read_columnar(&args.csv)?;
    override_columns(&mut schema.columns, &args.columns)?;
    let def = schema.table_def(DEFAULT_SCHEMA, &args.table);
    if args.dry_run {
        println!("{}", create_table_sql(&def));
        return Ok(());
    }
    load_batches(args, &def, batches, started)
}

/// Loads batches of `def`'s columns (cast when `--column` changed a type)
/// into a new or existing table, in one transaction, with progress.
pub(crate) fn load_batches(
    args: &Args,
    def: &TableDef,
    batches: impl Iterator<Item = hyperctl_sql::Result<RecordBatch>>,
    started: Instant,
) -> Result<()> {
    let counters = LoadProgress::new();
    let mut conn = open_connection(args)?;
    conn.execute("BEGIN")?;
    let source = if args.csv.as_os_str().is_empty() {
        Path::new("the query")
    } else {
        args.csv.as_path()
    };
    prepare_table(
        &mut conn,
        def,
        args.replace,
        args.append,
        &args.file,
        source,
    )?;
    let bar = ImportProgress::start(Arc::clone(&counters), args.quiet);
    let schema = def.arrow_schema();
    let rows = conn.append_batches(
        DEFAULT_SCHEMA,
        &def.name,
        batches.map(|b| {
            let b = b?;
            counters.add_rows(b.num_rows() as u64, b.get_array_memory_size() as u64);
            conform_batch(&b, &schema)
        }),
    )?;
    conn.execute("COMMIT")?;
    bar.finish();
    eprintln!(
        "imported {rows} rows into {} ({} columns) in {:.2} s",
        def.name,
        def.columns.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The target database, its connection parsing and compressing on
/// `--threads` threads (the CSV loader's own workers aside).
fn open_connection(args: &Args) -> Result<Connection> {
    let mut conn = Connection::open(&args.file, CreateMode::CreateIfNotExists)?;
    conn.set_exec_options(ExecOptions::builder().threads(args.threads).build());
    Ok(conn)
}

/// `batch` cast to `schema`'s types (a `--column` override).
fn conform_batch(batch: &RecordBatch, schema: &SchemaRef) -> hyperctl_sql::Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(a, f)| {
            if a.data_type() == f.data_type() {
                Ok(Arc::clone(a))
            } else {
                cast(a, f.data_type()).map_err(|e| hyperctl_sql::Error::Internal {
                    what: format!("--column {}: {e}", f.name()),
                })
            }
        })
        .collect::<hyperctl_sql::Result<Vec<_>>>()?;
    RecordBatch::try_new(Arc::clone(schema), columns).map_err(|e| hyperctl_sql::Error::Internal {
        what: e.to_string(),
    })
}

/// The reject file: a CSV of `line,column,reason,record` rows.
struct RejectFile {
    path: PathBuf,
    writer: Arc<Mutex<csv::Writer<std::fs::File>>>,
}

impl RejectFile {
    fn create(path: &Path) -> Result<RejectFile> {
        let mut writer = csv::Writer::from_path(path)
            .with_context(|| format!("cannot create the reject file {}", path.display()))?;
        writer.write_record(["line", "column", "reason", "record"])?;
        Ok(RejectFile {
            path: path.to_path_buf(),
            writer: Arc::new(Mutex::new(writer)),
        })
    }

    fn sink(&self) -> RejectSink {
        let writer = Arc::clone(&self.writer);
        let path = self.path.display().to_string();
        RejectSink::new(move |r| {
            let io = |e: std::io::Error| hyperctl_sql::Error::Io {
                op: "could not write the reject file",
                path: path.clone(),
                source: e,
            };
            let mut w = writer
                .lock()
                .map_err(|_| io(std::io::Error::other("a writer thread panicked")))?;
            let record = String::from_utf8_lossy(&r.record);
            w.write_record([
                r.line.to_string().as_str(),
                r.column.to_string().as_str(),
                r.reason.as_str(),
                &record,
            ])
            .map_err(|e| io(e.into()))
        })
    }

    fn flush(&self) -> Result<()> {
        let mut w = self
            .writer
            .lock()
            .map_err(|_| anyhow::anyhow!("the reject file writer panicked"))?;
        w.flush()
            .with_context(|| format!("cannot write the reject file {}", self.path.display()))
    }
}

/// `--schema "id int not null, name text, amount numeric(10,2)"`.
pub(crate) fn parse_schema(spec: &str) -> Result<CsvSchema> {
    let mut columns: Vec<ColumnDef> = Vec::new();
    for part in split_top_level(spec) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((name, rest)) = part.split_once(char::is_whitespace) else {
            bail!("--schema: {part:?} needs a name and a type, e.g. \"id int\"");
        };
        let rest = rest.trim();
        let lower = rest.to_ascii_lowercase();
        let (ty, nullable) = match lower.strip_suffix("not null") {
            Some(t) => (&rest[..t.len()], false),
            None => (rest, true),
        };
        let ty = SqlType::parse(ty.trim()).with_context(|| format!("--schema: column {name}"))?;
        if columns.iter().any(|c| c.name == name) {
            bail!("--schema: column {name} is given twice");
        }
        columns.push(ColumnDef::new(name, ty, nullable));
    }
    if columns.is_empty() {
        bail!("--schema is empty; give columns like \"id int, name text\"");
    }
    Ok(CsvSchema { columns })
}

/// Splits at commas outside parentheses (`numeric(10,2)` stays whole).
fn split_top_level(spec: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in spec.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&spec[start..]);
    out
}

/// Applies `--column name:type` overrides.
pub(crate) fn override_columns(columns: &mut [ColumnDef], overrides: &[String]) -> Result<()> {
    for o in overrides {
        let Some((name, ty)) = o.split_once(':') else {
            bail!("--column {o:?}: write it as NAME:TYPE, e.g. --column amount:numeric(10,2)");
        };
        let ty = SqlType::parse(ty).with_context(|| format!("--column {o}"))?;
        let Some(column) = columns.iter_mut().find(|c| c.name == name) else {
            let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            bail!(
                "--column {o}: no column {name:?}; the columns are {}",
                names.join(", ")
            );
        };
        column.ty = ty;
    }
    Ok(())
}

pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub(crate) fn create_table_sql(def: &hyperctl_sql::TableDef) -> String {
    let cols: Vec<String> = def
        .columns
        .iter()
        .map(|c| {
            format!(
                "  {} {}{}",
                quote_ident(&c.name),
                c.ty,
                if c.nullable { "" } else { " NOT NULL" }
            )
        })
        .collect();
    format!(
        "CREATE TABLE {} (\n{}\n);",
        quote_ident(&def.name),
        cols.join(",\n")
    )
}

/// Creates the table `def`, or replaces an existing one (`replace`), or checks
/// that an existing one has the same columns (`append`); otherwise an existing
/// table is an error that says which flag to use.
pub(crate) fn prepare_table(
    conn: &mut Connection,
    def: &TableDef,
    replace: bool,
    append: bool,
    file: &Path,
    source: &Path,
) -> Result<()> {
    match conn.table_definition(DEFAULT_SCHEMA, &def.name) {
        Some(_) if replace => {
            conn.execute(&format!("DROP TABLE {}", quote_ident(&def.name)))?;
            conn.create_table(def.clone())?;
        }
        Some(existing) if append => {
            if existing
                .columns
                .iter()
                .map(|c| (&c.name, c.ty))
                .ne(def.columns.iter().map(|c| (&c.name, c.ty)))
            {
                bail!(
                    "cannot append: table \"{}\" has other columns than {} ({})",
                    def.name,
                    source.display(),
                    create_table_sql(def)
                );
            }
        }
        Some(_) => bail!(
            "table \"{}\" already exists in {}; use --replace to replace it or --append to add rows",
            def.name,
            file.display()
        ),
        None => conn.create_table(def.clone())?,
    }
    Ok(())
}
