//! Loading CSV files: schema inference and parsing into Arrow batches.
//!
//! This is the walking skeleton's load path (single-threaded, whole-file type
//! inference); the parallel chunked loader of the bulk-loading issue replaces
//! its insides, not its interface.
//!
//! Inference: each column starts as "could be any of INTEGER, BIGINT, DOUBLE
//! PRECISION, DATE, TIMESTAMP, BOOLEAN" and every non-empty value strikes the
//! types it does not parse as; the first type left wins, TEXT if none. Empty
//! unquoted fields are NULL (as in Hyper's CSV COPY) and make the column
//! nullable. Integers stay integers and dates stay dates.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use hyperctl_exec::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int32Builder,
    Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use hyperctl_exec::arrow::compute::kernels::cast_utils::Parser;
use hyperctl_exec::arrow::datatypes::{Date32Type, TimestampMicrosecondType};
use hyperctl_format::SqlType;
use hyperctl_storage::{ColumnDef, TableDef};

use crate::error::{Error, Result};

/// Rows per batch handed to storage.
const BATCH_ROWS: usize = 65_536;

/// How a CSV file is written.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    delimiter: u8,
    quote: u8,
    header: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            delimiter: b',',
            quote: b'"',
            header: true,
        }
    }
}

impl CsvOptions {
    /// Comma-separated, `"`-quoted, with a header row.
    pub fn new() -> Self {
        Self::default()
    }

    /// The field delimiter.
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// The quote character.
    pub fn quote(mut self, quote: u8) -> Self {
        self.quote = quote;
        self
    }

    /// Whether the first row holds column names.
    pub fn header(mut self, header: bool) -> Self {
        self.header = header;
        self
    }

    fn reader(&self, path: &Path) -> Result<csv::Reader<BufReader<File>>> {
        let file = File::open(path).map_err(|source| Error::Io {
            op: "opening",
            path: path.display().to_string(),
            source,
        })?;
        Ok(csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .quote(self.quote)
            .has_headers(false)
            .flexible(true)
            .from_reader(BufReader::new(file)))
    }
}

/// The columns of a CSV file, as inferred or given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvSchema {
    /// One column per field, in file order.
    pub columns: Vec<ColumnDef>,
}

impl CsvSchema {
    /// A table definition with these columns.
    pub fn table_def(&self, schema: &str, table: &str) -> TableDef {
        TableDef {
            schema: schema.to_string(),
            name: table.to_string(),
            columns: self.columns.clone(),
        }
    }
}

const CANDIDATES: [SqlType; 6] = [
    SqlType::Int,
    SqlType::BigInt,
    SqlType::Double,
    SqlType::Date,
    SqlType::Timestamp,
    SqlType::Bool,
];

fn parses_as(ty: SqlType, v: &str) -> bool {
    match ty {
        SqlType::Int => v.trim().parse::<i32>().is_ok(),
        SqlType::BigInt => v.trim().parse::<i64>().is_ok(),
        SqlType::Double => parse_double(v).is_some(),
        SqlType::Date => Date32Type::parse(v).is_some(),
        SqlType::Timestamp => TimestampMicrosecondType::parse(v).is_some(),
        SqlType::Bool => parse_bool(v).is_some(),
        _ => true,
    }
}

fn parse_double(v: &str) -> Option<f64> {
    let t = v.trim();
    // Rust accepts "inf"/"nan" spellings that are not numbers in a CSV column
    // of text; only digits, sign, point and exponent count.
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        return None;
    }
    t.parse().ok()
}

/// Hyper's boolean spellings.
fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "on" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// Infers column names and types from the whole file.
///
/// # Errors
/// `Io` when the file cannot be read; `Csv` for malformed records (with line
/// and column).
pub fn infer_csv_schema(path: impl AsRef<Path>, options: &CsvOptions) -> Result<CsvSchema> {
    let path = path.as_ref();
    let mut reader = options.reader(path)?;
    let mut names: Vec<String> = Vec::new();
    let mut possible: Vec<[bool; CANDIDATES.len()]> = Vec::new();
    let mut nullable: Vec<bool> = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut first = true;
    while read_record(&mut reader, &mut record, path)? {
        if first && options.header {
            names = unique_names(record.iter());
            possible = vec![[true; CANDIDATES.len()]; names.len()];
            nullable = vec![false; names.len()];
            first = false;
            continue;
        }
        if first {
            names = (1..=record.len()).map(|i| format!("column{i}")).collect();
            possible = vec![[true; CANDIDATES.len()]; names.len()];
            nullable = vec![false; names.len()];
            first = false;
        }
        check_width(&record, names.len(), path)?;
        for (i, field) in record.iter().enumerate() {
            if field.is_empty() {
                nullable[i] = true;
                continue;
            }
            for (c, ty) in CANDIDATES.iter().enumerate() {
                if possible[i][c] && !parses_as(*ty, field) {
                    possible[i][c] = false;
                }
            }
        }
    }
    let columns = names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let ty = CANDIDATES
                .iter()
                .zip(possible[i])
                .find(|(_, ok)| *ok)
                .map_or(SqlType::Text, |(t, _)| *t);
            // A column with no values at all says nothing about its type.
            let ty = if possible[i].iter().all(|p| *p) {
                SqlType::Text
            } else {
                ty
            };
            ColumnDef::new(name, ty, nullable[i])
        })
        .collect();
    Ok(CsvSchema { columns })
}

/// Header names, trimmed, empty ones named by position, duplicates suffixed.
fn unique_names<'a>(header: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, raw) in header.enumerate() {
        let base = match raw.trim().trim_start_matches('\u{feff}') {
            "" => format!("column{}", i + 1),
            s => s.to_string(),
        };
        let mut name = base.clone();
        let mut n = 2;
        while out.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        out.push(name);
    }
    out
}

fn read_record(
    reader: &mut csv::Reader<BufReader<File>>,
    record: &mut csv::StringRecord,
    path: &Path,
) -> Result<bool> {
    reader.read_record(record).map_err(|e| csv_error(path, &e))
}

fn csv_error(path: &Path, e: &csv::Error) -> Error {
    let (line, reason) = match e.kind() {
        csv::ErrorKind::Utf8 { pos, err } => (
            pos.as_ref().map_or(0, csv::Position::line),
            format!("invalid UTF-8 in field {}", err.field() + 1),
        ),
        csv::ErrorKind::Io(io) => (0, io.to_string()),
        _ => (e.position().map_or(0, csv::Position::line), e.to_string()),
    };
    Error::Csv {
        path: path.display().to_string(),
        line,
        column: 0,
        reason,
    }
}

fn check_width(record: &csv::StringRecord, width: usize, path: &Path) -> Result<()> {
    if record.len() == width {
        return Ok(());
    }
    let line = record.position().map_or(0, csv::Position::line);
    let reason = if record.len() > width {
        format!(
            "too many columns in input file: expected {width}, found {}",
            record.len()
        )
    } else {
        format!(
            "too few columns in input file: expected {width}, found {}",
            record.len()
        )
    };
    Err(Error::Csv {
        path: path.display().to_string(),
        line,
        column: record.len().min(width) as u64 + 1,
        reason,
    })
}

/// Reads a CSV file as batches of `schema`'s columns.
///
/// # Errors
/// `Io` when the file cannot be opened. Each batch is `Err(Csv)` at the first
/// malformed record or value that does not parse as its column's type, with
/// line and column.
pub fn read_csv(
    path: &Path,
    options: &CsvOptions,
    schema: &CsvSchema,
) -> Result<impl Iterator<Item = Result<RecordBatch>> + use<>> {
    let path = path.to_path_buf();
    let mut reader = options.reader(&path)?;
    if options.header {
        let mut header = csv::StringRecord::new();
        read_record(&mut reader, &mut header, &path)?;
    }
    let table = schema.table_def("public", "csv");
    Ok(CsvBatches {
        reader,
        path,
        arrow_schema: table.arrow_schema(),
        columns: schema.columns.clone(),
        done: false,
    })
}

struct CsvBatches {
    reader: csv::Reader<BufReader<File>>,
    path: PathBuf,
    arrow_schema: hyperctl_exec::arrow::datatypes::SchemaRef,
    columns: Vec<ColumnDef>,
    done: bool,
}

impl Iterator for CsvBatches {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_batch() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl CsvBatches {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let mut builders: Vec<Box<dyn ArrayBuilder>> =
            self.columns.iter().map(|c| builder(c.ty)).collect();
        let mut record = csv::StringRecord::new();
        let mut rows = 0;
        while rows < BATCH_ROWS && read_record(&mut self.reader, &mut record, &self.path)? {
            check_width(&record, self.columns.len(), &self.path)?;
            for (i, field) in record.iter().enumerate() {
                let column = &self.columns[i];
                append(builders[i].as_mut(), column.ty, field).map_err(|reason| Error::Csv {
                    path: self.path.display().to_string(),
                    line: record.position().map_or(0, csv::Position::line),
                    column: i as u64 + 1,
                    reason: format!("column \"{}\": {reason}", column.name),
                })?;
            }
            rows += 1;
        }
        if rows == 0 {
            return Ok(None);
        }
        let arrays: Vec<ArrayRef> = builders.iter_mut().map(|b| b.finish()).collect();
        RecordBatch::try_new(self.arrow_schema.clone(), arrays)
            .map(Some)
            .map_err(|e| Error::Internal {
                what: format!("CSV batch: {e}"),
            })
    }
}

fn builder(ty: SqlType) -> Box<dyn ArrayBuilder> {
    match ty {
        SqlType::Int => Box::new(Int32Builder::new()),
        SqlType::BigInt => Box::new(Int64Builder::new()),
        SqlType::Double => Box::new(Float64Builder::new()),
        SqlType::Date => Box::new(Date32Builder::new()),
        SqlType::Timestamp => Box::new(TimestampMicrosecondBuilder::new()),
        SqlType::Bool => Box::new(BooleanBuilder::new()),
        _ => Box::new(StringBuilder::new()),
    }
}

fn downcast<T: 'static>(b: &mut dyn ArrayBuilder) -> &mut T {
    b.as_any_mut()
        .downcast_mut::<T>()
        .expect("builders are made by `builder` for the same type")
}

/// Appends one field; empty is NULL.
fn append(b: &mut dyn ArrayBuilder, ty: SqlType, field: &str) -> Result<(), String> {
    let bad = || {
        format!(
            "invalid input syntax for type {}: \"{field}\"",
            ty.to_string().to_lowercase()
        )
    };
    let null = field.is_empty();
    match ty {
        SqlType::Int => {
            let v = if null {
                None
            } else {
                Some(field.trim().parse::<i32>().map_err(|_| bad())?)
            };
            downcast::<Int32Builder>(b).append_option(v);
        }
        SqlType::BigInt => {
            let v = if null {
                None
            } else {
                Some(field.trim().parse::<i64>().map_err(|_| bad())?)
            };
            downcast::<Int64Builder>(b).append_option(v);
        }
        SqlType::Double => {
            let v = if null {
                None
            } else {
                Some(parse_double(field).ok_or_else(bad)?)
            };
            downcast::<Float64Builder>(b).append_option(v);
        }
        SqlType::Date => {
            let v = if null {
                None
            } else {
                Some(Date32Type::parse(field).ok_or_else(bad)?)
            };
            downcast::<Date32Builder>(b).append_option(v);
        }
        SqlType::Timestamp => {
            let v = if null {
                None
            } else {
                Some(TimestampMicrosecondType::parse(field).ok_or_else(bad)?)
            };
            downcast::<TimestampMicrosecondBuilder>(b).append_option(v);
        }
        SqlType::Bool => {
            let v = if null {
                None
            } else {
                Some(parse_bool(field).ok_or_else(bad)?)
            };
            downcast::<BooleanBuilder>(b).append_option(v);
        }
        _ => {
            let sb = downcast::<StringBuilder>(b);
            if null {
                sb.append_null()
            } else {
                sb.append_value(field)
            }
        }
    }
    Ok(())
}
