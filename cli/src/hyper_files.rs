//! Tables between a `.hxe` database and Tableau `.hyper` files, through the
//! `hyperd` bridge of `hyperctl-publish`.
//!
//! Types map by their SQL spelling: `HyperType::parse(&sql_type.to_string())`
//! one way and `SqlType::parse(&hyper_type.to_string())` the other, so every
//! type keeps its exact parameters (`NUMERIC(38,10)`, `VARCHAR(20)`, ...).
//!
//! Invariant: `.hxe` tables live in the `public` schema; a `.hyper` table of
//! any schema is imported into `public` under its own name.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use hyperctl_publish::{
    HyperColumn, HyperTable, HyperTableDef, HyperType, HyperWriteOutcome, HyperdPath,
    HyperdProcess, read_hyper_file, write_hyper_file,
};
use hyperctl_sql::arrow::record_batch::RecordBatch;
use hyperctl_sql::{
    ColumnDef, Connection, CreateMode, DEFAULT_SCHEMA, Database, SqlType, TableDef,
};

use crate::import::{create_table_sql, quote_ident};

/// Finds and starts Tableau's `hyperd`, or says how to get it.
pub(crate) fn start_hyperd() -> Result<HyperdProcess> {
    let path = HyperdPath::discover().context(
        "Tableau .hyper files are written and read by Tableau's hyperd: install it with \
         `python3 -m pip install tableauhyperapi`, or set HYPERD_PATH to hyperd or its directory",
    )?;
    Ok(HyperdProcess::start(&path)?)
}

/// The `.hyper` definition of a `.hxe` table, type by type through the SQL spelling.
pub(crate) fn hyper_def(def: &TableDef) -> Result<HyperTableDef> {
    let columns = def
        .columns
        .iter()
        .map(|c| {
            let ty = HyperType::parse(&c.ty.to_string()).with_context(|| {
                format!(
                    "table {}, column {}: type {} has no .hyper equivalent",
                    quote_ident(&def.name),
                    quote_ident(&c.name),
                    c.ty
                )
            })?;
            Ok(HyperColumn::new(c.name.clone(), ty, c.nullable))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(HyperTableDef::new(
        def.schema.clone(),
        def.name.clone(),
        columns,
    ))
}

/// The `.hxe` definition (in `public`) of a `.hyper` table.
pub(crate) fn hxe_def(def: &HyperTableDef) -> Result<TableDef> {
    let columns = def
        .columns
        .iter()
        .map(|c| {
            let ty = SqlType::parse(&c.sql_type.to_string()).with_context(|| {
                format!(
                    "{}, column {}: type {} has no .hxe equivalent",
                    def.sql_name(),
                    quote_ident(&c.name),
                    c.sql_type
                )
            })?;
            Ok(ColumnDef::new(c.name.clone(), ty, c.nullable))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TableDef {
        schema: DEFAULT_SCHEMA.to_owned(),
        name: def.name.clone(),
        columns,
    })
}

/// The tables of `db` to export: all of them, or the ones named, in that order.
fn chosen_tables(db: &Database, file: &Path, names: &[String]) -> Result<Vec<TableDef>> {
    let snapshot = db.storage().snapshot();
    let mut all = Vec::new();
    for schema in snapshot.schema_names() {
        for name in snapshot.table_names(&schema) {
            if let Some(handle) = snapshot.table(&schema, &name) {
                all.push(handle.def().clone());
            }
        }
    }
    if all.is_empty() {
        bail!("{} has no tables to export", file.display());
    }
    if names.is_empty() {
        return Ok(all);
    }
    names
        .iter()
        .map(|n| {
            all.iter().find(|d| d.name == *n).cloned().ok_or_else(|| {
                let known: Vec<&str> = all.iter().map(|d| d.name.as_str()).collect();
                anyhow::anyhow!(
                    "no table {} in {}; its tables: {}",
                    quote_ident(n),
                    file.display(),
                    known.join(", ")
                )
            })
        })
        .collect()
}

/// Writes tables of the `.hxe` file `file` into the new `.hyper` file `out`.
pub(crate) fn export(
    hyperd: &HyperdProcess,
    file: &Path,
    tables: &[String],
    out: &Path,
) -> Result<HyperWriteOutcome> {
    if out.exists() {
        bail!(
            "{} already exists; remove it or choose another file name",
            out.display()
        );
    }
    let db = Database::open_read_only(file)?;
    let defs = chosen_tables(&db, file, tables)?;
    let snapshot = db.storage().snapshot();
    // The bridge pulls plain batches; a read error stops the table's rows
    // here and is reported after the write, whose file is then removed.
    let failure: Rc<RefCell<Option<anyhow::Error>>> = Rc::default();
    let mut hyper_tables = Vec::with_capacity(defs.len());
    for def in &defs {
        let handle = snapshot
            .table(&def.schema, &def.name)
            .with_context(|| format!("table {} vanished", quote_ident(&def.name)))?;
        let projection: Vec<usize> = (0..def.columns.len()).collect();
        let scan = handle
            .scan(&projection)
            .map_err(hyperctl_sql::Error::from)?;
        let cell = Rc::clone(&failure);
        let name = def.name.clone();
        let batches = scan.map_while(move |batch| match batch {
            Ok(b) => Some(b),
            Err(e) => {
                *cell.borrow_mut() = Some(
                    anyhow::Error::from(hyperctl_sql::Error::from(e))
                        .context(format!("reading table {}", quote_ident(&name))),
                );
                None
            }
        });
        hyper_tables.push(HyperTable::new(hyper_def(def)?, batches));
    }
    let outcome = write_hyper_file(hyperd, out, hyper_tables)
        .with_context(|| format!("writing {}", out.display()))?;
    if let Some(e) = failure.borrow_mut().take() {
        let _ = std::fs::remove_file(out);
        return Err(e);
    }
    Ok(outcome)
}

/// Tells the user what went into a `.hyper` file and which file version, and why.
pub(crate) fn report_written(outcome: &HyperWriteOutcome, started: Instant) {
    let rows: u64 = outcome.rows.iter().sum();
    eprintln!(
        "wrote {} ({} table{}, {rows} rows) in {:.2} s",
        outcome.path.display(),
        outcome.rows.len(),
        if outcome.rows.len() == 1 { "" } else { "s" },
        started.elapsed().as_secs_f64()
    );
    eprintln!("{}", outcome.file_version);
}

/// What `hyperctl import FILE.hxe data.hyper` is asked to do.
#[derive(Debug)]
pub(crate) struct ImportArgs<'a> {
    pub(crate) file: &'a Path,
    pub(crate) source: &'a Path,
    pub(crate) tables: &'a [String],
    pub(crate) replace: bool,
    pub(crate) append: bool,
    pub(crate) dry_run: bool,
}

/// Reads every table (or the ones named) of a `.hyper` file into the `.hxe`
/// file, creating the tables and appending the rows in one transaction.
pub(crate) fn run_import(args: &ImportArgs<'_>) -> Result<()> {
    let started = Instant::now();
    if !args.source.exists() {
        bail!("{} does not exist", args.source.display());
    }
    let hyperd = start_hyperd()?;
    let mut tables = read_hyper_file(&hyperd, args.source)
        .with_context(|| format!("reading {}", args.source.display()))?;
    drop(hyperd);
    if !args.tables.is_empty() {
        for wanted in args.tables {
            if !tables.iter().any(|(d, _)| matches_name(d, wanted)) {
                let known: Vec<String> = tables.iter().map(|(d, _)| d.sql_name()).collect();
                bail!(
                    "no table {wanted:?} in {}; its tables: {}",
                    args.source.display(),
                    known.join(", ")
                );
            }
        }
        tables.retain(|(d, _)| args.tables.iter().any(|w| matches_name(d, w)));
    }
    if tables.is_empty() {
        bail!("{} has no tables", args.source.display());
    }
    let mut loads = Vec::with_capacity(tables.len());
    for (def, batches) in tables {
        let target = hxe_def(&def)?;
        if loads
            .iter()
            .any(|(t, _): &(TableDef, _)| t.name == target.name)
        {
            bail!(
                "{} has two tables named {} (in different schemas); pick one with --table SCHEMA.NAME",
                args.source.display(),
                quote_ident(&target.name)
            );
        }
        loads.push((target, batches));
    }
    if args.dry_run {
        for (def, _) in &loads {
            println!("{}", create_table_sql(def));
        }
        return Ok(());
    }
    load(args, loads, started)
}

fn matches_name(def: &HyperTableDef, wanted: &str) -> bool {
    def.name == wanted || format!("{}.{}", def.schema, def.name) == wanted
}

fn load(
    args: &ImportArgs<'_>,
    loads: Vec<(TableDef, Vec<RecordBatch>)>,
    started: Instant,
) -> Result<()> {
    let mut conn = Connection::open(args.file, CreateMode::CreateIfNotExists)?;
    conn.execute("BEGIN")?;
    let mut done = Vec::with_capacity(loads.len());
    for (def, batches) in loads {
        prepare_table(&mut conn, args, &def)?;
        let rows = conn.append_batches(DEFAULT_SCHEMA, &def.name, batches.into_iter().map(Ok))?;
        done.push((def, rows));
    }
    conn.execute("COMMIT")?;
    let seconds = started.elapsed().as_secs_f64();
    for (def, rows) in done {
        eprintln!(
            "imported {rows} rows into {} ({} columns) from {} in {seconds:.2} s",
            def.name,
            def.columns.len(),
            args.source.display()
        );
    }
    Ok(())
}

/// Creates the table, or replaces or checks an existing one as asked.
fn prepare_table(conn: &mut Connection, args: &ImportArgs<'_>, def: &TableDef) -> Result<()> {
    crate::import::prepare_table(conn, def, args.replace, args.append, args.file, args.source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_maps_both_ways_by_spelling() {
        let columns: Vec<ColumnDef> = SqlType::examples()
            .into_iter()
            .enumerate()
            .map(|(i, ty)| ColumnDef::new(format!("c{i}"), ty, i % 2 == 0))
            .collect();
        let def = TableDef {
            schema: DEFAULT_SCHEMA.to_owned(),
            name: "t".to_owned(),
            columns,
        };
        let hyper = hyper_def(&def).unwrap();
        for (h, c) in hyper.columns.iter().zip(&def.columns) {
            assert_eq!(h.sql_type.to_string(), c.ty.to_string());
            assert_eq!(h.sql_type.arrow_type(), c.ty.to_arrow(), "{}", c.ty);
            assert_eq!(h.nullable, c.nullable);
        }
        assert_eq!(hxe_def(&hyper).unwrap(), def);
    }

    #[test]
    fn any_schema_lands_in_public() {
        let hyper = HyperTableDef::new(
            "Extract",
            "Extract",
            vec![HyperColumn::new("a", HyperType::Int, false)],
        );
        let def = hxe_def(&hyper).unwrap();
        assert_eq!(
            (def.schema.as_str(), def.name.as_str()),
            ("public", "Extract")
        );
        assert!(matches_name(&hyper, "Extract.Extract"));
        assert!(matches_name(&hyper, "Extract"));
        assert!(!matches_name(&hyper, "public.Extract"));
    }
}
