//! Parquet and Arrow IPC files in and out: `hyperctl import/export`,
//! `COPY t FROM 'x.parquet'` and `COPY t TO 'x.parquet'`.
//!
//! Each column's SQL type travels in the Arrow field metadata key
//! `hyperctl.sql_type` (see `hyperctl_format::SQL_TYPE_METADATA_KEY`); the
//! Parquet writer embeds the Arrow schema, metadata included, in the file's
//! key-value metadata (`ARROW:schema`), so TEXT, VARCHAR(n), CHAR(n) and JSON
//! (all Utf8) and NUMERIC(p,s) come back as they left. Files from elsewhere
//! get the natural SQL type of each Arrow type, and their arrays are cast to
//! it (Timestamp(ns) to microseconds, LargeUtf8 to Utf8, dictionaries to
//! their values, ...).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Arc;

use hyperctl_exec::arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use hyperctl_exec::arrow::compute::cast;
use hyperctl_exec::arrow::datatypes::{DataType, IntervalUnit, Schema, SchemaRef};
use hyperctl_exec::arrow::ipc::reader::FileReader;
use hyperctl_exec::arrow::ipc::writer::FileWriter;
use hyperctl_format::SqlType;
use hyperctl_storage::ColumnDef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::CsvSchema;
use crate::error::{Error, Result};

/// A columnar file format, chosen by extension.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnarFormat {
    /// Apache Parquet (`.parquet`, `.pq`).
    Parquet,
    /// Arrow IPC file format (`.arrow`, `.ipc`, `.feather`).
    ArrowIpc,
}

impl ColumnarFormat {
    /// The format of a file name, if it is a columnar one.
    pub fn of(path: &Path) -> Option<ColumnarFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "parquet" | "pq" => Some(ColumnarFormat::Parquet),
            "arrow" | "ipc" | "feather" => Some(ColumnarFormat::ArrowIpc),
            _ => None,
        }
    }
}

/// Rows per batch read from Parquet.
const READ_BATCH_ROWS: usize = 65_536;

fn file_error(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::File {
        path: path.display().to_string(),
        reason: what.to_string(),
    }
}

/// The batches of a columnar file, as our columns.
pub type ColumnarBatches = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// Opens a Parquet or Arrow IPC file: its columns (SQL types from the field
/// metadata or the Arrow types) and its batches, converted to them.
///
/// # Errors
/// `Io` when the file cannot be opened; `File` when it is not a valid file
/// of its format or a column's Arrow type has no SQL type (named in the
/// message).
pub fn read_columnar(path: &Path) -> Result<(CsvSchema, ColumnarBatches)> {
    let format = ColumnarFormat::of(path).ok_or_else(|| {
        file_error(
            path,
            "not a Parquet (.parquet) or Arrow IPC (.arrow, .ipc, .feather) file name",
        )
    })?;
    let file = File::open(path).map_err(|source| Error::Io {
        op: "could not read from external source",
        path: path.display().to_string(),
        source,
    })?;
    let (schema, batches): (
        SchemaRef,
        Box<dyn Iterator<Item = Result<RecordBatch>> + Send>,
    ) = match format {
        ColumnarFormat::Parquet => {
            let builder = ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| file_error(path, format!("not a valid Parquet file: {e}")))?;
            let schema = builder.schema().clone();
            let reader = builder
                .with_batch_size(READ_BATCH_ROWS)
                .build()
                .map_err(|e| file_error(path, e))?;
            let p = path.to_path_buf();
            (
                schema,
                Box::new(reader.map(move |b| b.map_err(|e| file_error(&p, e)))),
            )
        }
        ColumnarFormat::ArrowIpc => {
            let reader = FileReader::try_new(file, None)
                .map_err(|e| file_error(path, format!("not a valid Arrow IPC file: {e}")))?;
            let schema = reader.schema();
            let p = path.to_path_buf();
            (
                schema,
                Box::new(reader.map(move |b| b.map_err(|e| file_error(&p, e)))),
            )
        }
    };
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let ty = sql_type_of(f.data_type(), f).map_err(|e| {
                file_error(
                    path,
                    format!(
                        "column \"{}\": {e}; cast it to a supported type first",
                        f.name()
                    ),
                )
            })?;
            Ok(ColumnDef::new(f.name().clone(), ty, f.is_nullable()))
        })
        .collect::<Result<Vec<_>>>()?;
    let target: SchemaRef = Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| c.ty.arrow_field(&c.name, c.nullable))
            .collect::<Vec<_>>(),
    ));
    let p = path.to_path_buf();
    let converted = batches.map(move |b| conform(&b?, &target).map_err(|e| file_error(&p, e)));
    Ok((CsvSchema { columns }, Box::new(converted)))
}

fn sql_type_of(
    data_type: &DataType,
    field: &hyperctl_exec::arrow::datatypes::Field,
) -> hyperctl_format::Result<SqlType> {
    match data_type {
        DataType::Dictionary(_, values) => SqlType::from_arrow(values),
        _ => SqlType::from_arrow_field(field),
    }
}

/// `batch` with each column cast to `target`'s type (a no-op for our own files).
pub(crate) fn conform(batch: &RecordBatch, target: &SchemaRef) -> Result<RecordBatch, String> {
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .zip(target.fields())
        .map(|(a, f)| {
            if a.data_type() == f.data_type() {
                Ok(Arc::clone(a))
            } else {
                cast(a, f.data_type())
                    .map_err(|e| format!("column \"{}\": cannot convert values: {e}", f.name()))
            }
        })
        .collect::<Result<_, String>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(Arc::clone(target), columns, &options)
        .map_err(|e| e.to_string())
}

/// Writes batches of `schema` (SQL types in its field metadata) to a new
/// Parquet (zstd-compressed) or Arrow IPC file; returns the rows written.
///
/// # Errors
/// `Io` when the file cannot be created or written; `File` for an unknown
/// extension or a type the format cannot hold; the first error of `batches`.
pub fn write_columnar(
    path: &Path,
    schema: &SchemaRef,
    batches: impl IntoIterator<Item = Result<RecordBatch>>,
) -> Result<u64> {
    let format = ColumnarFormat::of(path).ok_or_else(|| {
        file_error(
            path,
            "write to a .parquet or .arrow file (the extension picks the format)",
        )
    })?;
    let io = |source: std::io::Error| Error::Io {
        op: "could not write to",
        path: path.display().to_string(),
        source,
    };
    let file = BufWriter::new(File::create(path).map_err(io)?);
    let mut rows = 0u64;
    match format {
        ColumnarFormat::Parquet => {
            if let Some(f) = schema.fields().iter().find(|f| {
                matches!(
                    f.data_type(),
                    DataType::Interval(IntervalUnit::MonthDayNano)
                )
            }) {
                return Err(file_error(
                    path,
                    format!(
                        "column \"{}\" is an INTERVAL, which Parquet cannot hold here; \
                         write an .arrow file or cast the column to text",
                        f.name()
                    ),
                ));
            }
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::default()))
                .build();
            let mut writer = ArrowWriter::try_new(file, Arc::clone(schema), Some(props))
                .map_err(|e| file_error(path, e))?;
            for batch in batches {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch).map_err(|e| file_error(path, e))?;
            }
            writer.close().map_err(|e| file_error(path, e))?;
        }
        ColumnarFormat::ArrowIpc => {
            let mut writer = FileWriter::try_new(file, schema).map_err(|e| file_error(path, e))?;
            for batch in batches {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch).map_err(|e| file_error(path, e))?;
            }
            writer.finish().map_err(|e| file_error(path, e))?;
        }
    }
    Ok(rows)
}
