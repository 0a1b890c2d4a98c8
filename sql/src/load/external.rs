//! `external('file', FORMAT => 'csv', HEADER => true, ...)` in FROM: a file
//! read through the load path as a relation, as an exec scan source.
//!
//! CSV files go through the parallel chunked loader ([`read_csv`]) and
//! Parquet / Arrow IPC files through [`read_columnar`]. The columns are
//! inferred when the statement is bound (CSV: from the whole file, as
//! `hyperctl import` does; Hyper itself wants `COLUMNS => DESCRIPTOR(...)`
//! for CSV), and each scan reads the file again.
//!
//! Invariant: a scan yields batches of exactly [`ExternalSource::columns`]
//! (CSV batches are built with them; columnar batches are conformed).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyperctl_exec::arrow::array::{RecordBatch, RecordBatchOptions};
use hyperctl_exec::arrow::datatypes::SchemaRef;
use hyperctl_exec::{BatchStream, ScanSource};
use hyperctl_storage::ColumnDef;

use super::{ColumnarFormat, CsvOptions, CsvSchema, infer_csv_schema, read_columnar, read_csv};
use crate::error::{Error, Result};

/// How the file of an `external(...)` is read.
#[derive(Debug, Clone)]
pub(crate) enum ExternalFormat {
    Csv(CsvOptions),
    /// Parquet or Arrow IPC (by extension).
    Columnar,
}

impl ExternalFormat {
    /// The format a file name implies: columnar for `.parquet`, `.arrow`, ...,
    /// else CSV with Hyper's defaults (no header row).
    pub(crate) fn of(path: &Path) -> ExternalFormat {
        match ColumnarFormat::of(path) {
            Some(_) => ExternalFormat::Columnar,
            None => ExternalFormat::Csv(CsvOptions::new().header(false)),
        }
    }
}

/// A file as a scan source.
#[derive(Debug)]
pub(crate) struct ExternalSource {
    path: PathBuf,
    format: ExternalFormat,
    columns: Vec<ColumnDef>,
    schema: SchemaRef,
}

impl ExternalSource {
    /// Opens `path` and infers its columns.
    ///
    /// # Errors
    /// `Io` when the file cannot be read; `Csv` for a malformed CSV record;
    /// `File` for a columnar file that is not valid or has a type with no
    /// SQL type.
    pub(crate) fn open(path: &Path, format: ExternalFormat) -> Result<ExternalSource> {
        let columns = match &format {
            ExternalFormat::Csv(options) => infer_csv_schema(path, options)?.columns,
            ExternalFormat::Columnar => read_columnar(path)?.0.columns,
        };
        let schema = CsvSchema {
            columns: columns.clone(),
        }
        .table_def("public", "external")
        .arrow_schema();
        Ok(ExternalSource {
            path: path.to_path_buf(),
            format,
            columns,
            schema,
        })
    }

    /// The file's columns.
    pub(crate) fn columns(&self) -> &[ColumnDef] {
        &self.columns
    }

    fn batches(&self) -> Result<Box<dyn Iterator<Item = Result<RecordBatch>> + Send>> {
        match &self.format {
            ExternalFormat::Csv(options) => {
                let schema = CsvSchema {
                    columns: self.columns.clone(),
                };
                Ok(Box::new(read_csv(&self.path, options, &schema)?))
            }
            ExternalFormat::Columnar => {
                let (file, batches) = read_columnar(&self.path)?;
                if file.columns != self.columns {
                    return Err(Error::File {
                        path: self.path.display().to_string(),
                        reason: "the file changed since the statement was planned".into(),
                    });
                }
                Ok(batches)
            }
        }
    }
}

impl ScanSource for ExternalSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn scan(&self, projection: &[usize]) -> hyperctl_exec::Result<BatchStream> {
        let to_exec = |e: Error| hyperctl_exec::Error::Source {
            source: Box::new(e),
        };
        let batches = self.batches().map_err(to_exec)?;
        let projected = Arc::new(self.schema.project(projection)?);
        let projection = projection.to_vec();
        Ok(Box::new(batches.map(move |b| {
            let b = b.map_err(to_exec)?;
            let columns = projection.iter().map(|&i| b.column(i).clone()).collect();
            let options = RecordBatchOptions::new().with_row_count(Some(b.num_rows()));
            Ok(RecordBatch::try_new_with_options(
                Arc::clone(&projected),
                columns,
                &options,
            )?)
        })))
    }

    fn describe(&self) -> String {
        format!("external('{}')", self.path.display())
    }
}
