//! `hyperctl export FILE.hxe --to out.hyper [--table T ...]`: tables of a
//! `.hxe` database written into a new Tableau `.hyper` file through hyperd,
//! with the file format version chosen and the reason told.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;

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
    let hyperd = hyper_files::start_hyperd()?;
    let outcome = hyper_files::export(&hyperd, file, tables, to)?;
    hyper_files::report_written(&outcome, started);
    Ok(())
}
