//! Running `COPY t [(cols)] FROM 'file' WITH (...)`: the file's fields (CSV)
//! or columns (Parquet, Arrow IPC, by position) go to the listed columns (all
//! by default), converted to their types; the other columns get NULL.
//!
//! Invariant: the caller runs this inside a write transaction and discards it
//! on error, so a failed COPY appends nothing (batches already appended are
//! rolled back with the transaction).

use std::path::Path;

use hyperctl_exec::arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, new_null_array};
use hyperctl_exec::arrow::datatypes::SchemaRef;
use hyperctl_storage::{TableDef, TableHandle, WriteTxn};

use super::columnar::{conform, read_columnar};
use super::{CsvOptions, CsvSchema, read_csv};
use crate::error::{Error, Result};

/// A bound `COPY ... FROM`.
#[derive(Debug)]
pub(crate) struct CopyFrom {
    pub(crate) table: TableHandle,
    /// Table column of each field of the file, in file order.
    pub(crate) targets: Vec<usize>,
    /// The files, loaded one after the other.
    pub(crate) paths: Vec<String>,
    pub(crate) options: CsvOptions,
    pub(crate) format: CopyFormat,
}

/// The format of the files of a COPY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CopyFormat {
    Csv,
    /// Parquet or Arrow IPC, by extension.
    Columnar,
}

/// Loads the files of `plan` into its table; returns the number of rows.
///
/// # Errors
/// The first CSV, conversion or storage error; see the module invariant.
pub(crate) fn copy_from(txn: &mut WriteTxn, plan: &CopyFrom) -> Result<u64> {
    let def = plan.table.def().clone();
    let fields = CsvSchema {
        columns: plan
            .targets
            .iter()
            .map(|&t| def.columns[t].clone())
            .collect(),
    };
    let schema = def.arrow_schema();
    let mut rows = 0;
    let target = fields.table_def("public", "copy").arrow_schema();
    for path in &plan.paths {
        let batches: Box<dyn Iterator<Item = Result<RecordBatch>>> = match plan.format {
            CopyFormat::Csv => Box::new(read_csv(Path::new(path), &plan.options, &fields)?),
            CopyFormat::Columnar => {
                let (file, batches) = read_columnar(Path::new(path))?;
                if file.columns.len() != fields.columns.len() {
                    return Err(Error::File {
                        path: path.clone(),
                        reason: format!(
                            "the file has {} columns and COPY fills {}; list the columns \
                             to fill after the table name",
                            file.columns.len(),
                            fields.columns.len()
                        ),
                    });
                }
                let target = target.clone();
                let p = path.clone();
                Box::new(batches.map(move |b| {
                    conform(&b?, &target).map_err(|reason| Error::File {
                        path: p.clone(),
                        reason,
                    })
                }))
            }
        };
        // Parsing runs on the loader's threads; compressing full blocks on
        // as many more (storage's parallel append).
        let full = batches.map(|batch| widen(&batch?, &def, &schema, &plan.targets));
        rows += txn.append_all(&def.schema, &def.name, full, plan.options.thread_count())?;
    }
    Ok(rows)
}

/// A batch of the file's columns as one of all the table's columns (NULL
/// where the COPY fills nothing).
fn widen(
    batch: &RecordBatch,
    def: &TableDef,
    schema: &SchemaRef,
    targets: &[usize],
) -> Result<RecordBatch> {
    let n = batch.num_rows();
    let mut columns: Vec<Option<ArrayRef>> = vec![None; def.columns.len()];
    for (array, &target) in batch.columns().iter().zip(targets) {
        columns[target] = Some(array.clone());
    }
    // Only the columns the COPY does not fill get (allocated) NULLs.
    let columns: Vec<ArrayRef> = columns
        .into_iter()
        .zip(&def.columns)
        .map(|(a, c)| a.unwrap_or_else(|| new_null_array(&c.ty.to_arrow(), n)))
        .collect();
    let options = RecordBatchOptions::new().with_row_count(Some(n));
    RecordBatch::try_new_with_options(schema.clone(), columns, &options).map_err(|e| {
        Error::Internal {
            what: format!("COPY batch for {}: {e}", def.name),
        }
    })
}
