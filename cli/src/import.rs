//! `hyperctl import FILE data.csv --table NAME`: infer the columns of a CSV file
//! and load it into a table, in one transaction.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};
use hyperctl_sql::{
    Connection, CreateMode, CsvOptions, DEFAULT_SCHEMA, TableDef, infer_csv_schema, read_csv,
};

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
}

pub(crate) fn run(args: &Args) -> Result<()> {
    let started = Instant::now();
    let options = CsvOptions::new()
        .delimiter(args.delimiter)
        .header(args.header);
    let schema = infer_csv_schema(&args.csv, &options)?;
    let def = schema.table_def(DEFAULT_SCHEMA, &args.table);
    if args.dry_run {
        println!("{}", create_table_sql(&def));
        return Ok(());
    }
    let mut conn = Connection::open(&args.file, CreateMode::CreateIfNotExists)?;
    conn.execute("BEGIN")?;
    prepare_table(
        &mut conn,
        &def,
        args.replace,
        args.append,
        &args.file,
        &args.csv,
    )?;
    let rows = conn.append_batches(
        DEFAULT_SCHEMA,
        &args.table,
        read_csv(&args.csv, &options, &schema)?,
    )?;
    conn.execute("COMMIT")?;
    eprintln!(
        "imported {rows} rows into {} ({} columns) in {:.2} s",
        args.table,
        def.columns.len(),
        started.elapsed().as_secs_f64()
    );
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
