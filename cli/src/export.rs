//! `hyperctl export FILE.hxe --to out.hyper [--table T ...]`: tables of a
//! `.hxe` database written into a new Tableau `.hyper` file through hyperd,
//! with the file format version chosen and the reason told; or
//! `--to out.parquet|out.arrow|out.csv --table T`: one table into a Parquet
//! (zstd), Arrow IPC or CSV (with a header) file.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use hyperctl_sql::{ColumnarFormat, Database, write_columnar};

use crate::hyper_files;

pub(crate) fn run(file: &Path, to: &Path, tables: &[String]) -> Result<()> {
    let started = Instant::now();
    if !file.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} does not exist", file.display()),
        )
        .into());
    }
    let is_hyper = to
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("hyper"));
    if !is_hyper {
        return export_table(file, to, tables, started);
    }
    let hyperd = hyper_files::start_hyperd()?;
    let outcome = hyper_files::export(&hyperd, file, tables, to)?;
    hyper_files::report_written(&outcome, started);
    Ok(())
}

fn export_table(file: &Path, to: &Path, tables: &[String], started: Instant) -> Result<()> {
    let [table] = tables else {
        bail!(
            "an export to {} needs exactly one --table NAME",
            to.display()
        );
    };
    let mut conn = Database::open_read_only(file)?.connect();
    let query = format!("SELECT * FROM {}", crate::import::quote_ident(table));
    let result = conn.execute_query(&query)?;
    let rows = if ColumnarFormat::of(to).is_some() {
        write_columnar(to, &result.schema, result.batches.iter().cloned().map(Ok))?
    } else if to
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(to).with_context(|| format!("cannot create {}", to.display()))?,
        );
        crate::output::write_result(
            &mut out,
            &result,
            &crate::output::Render::plain(crate::output::Format::Csv),
        )?;
        std::io::Write::flush(&mut out)
            .with_context(|| format!("cannot write {}", to.display()))?;
        result.num_rows() as u64
    } else {
        bail!(
            "cannot export to {}: use a .hyper, .parquet, .arrow or .csv file name",
            to.display()
        );
    };
    eprintln!(
        "exported {rows} rows of {table} to {} in {:.2} s",
        to.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
