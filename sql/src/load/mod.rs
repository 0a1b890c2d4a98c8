//! Loading CSV files: the record parser, schema inference, and parsing into
//! Arrow batches for `hyperctl import`, the bench and `COPY ... FROM`.
//!
//! - `csv`: the byte-level state machine (quotes, escapes, line breaks), over
//!   a byte slice so that the parallel chunked loader can reuse it.
//! - `infer`: column type inference and the text parsers loading shares.
//! - `convert`: fields to Arrow columns of the target types.
//! - `copy`: running a bound `COPY ... FROM` into a table.
//!
//! Reading follows Hyper's CSV COPY: an unquoted field equal to the NULL
//! string (default: empty) is NULL, a quoted one is a value (`""` is the empty
//! string); UTF-8 only, with a byte order mark skipped when there is a header
//! (and kept as data without one, as Hyper does); LF or CR LF line breaks.
//! Errors name the file, the physical line a record starts on, and the field.
//!
//! This is still a single-threaded, streaming loader: it reads the file in
//! blocks of [`READ_BLOCK_BYTES`] and hands storage batches of [`BATCH_ROWS`]
//! rows; see `csv` for how chunks will be cut for parallel parsing.

mod convert;
mod copy;
mod csv;
mod infer;

pub(crate) use copy::{CopyFrom, copy_from};

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use hyperctl_exec::arrow::array::RecordBatch;
use hyperctl_exec::arrow::datatypes::SchemaRef;
use hyperctl_storage::{ColumnDef, TableDef};

use self::convert::{BatchBuilder, FinishError};
use self::csv::{Dialect, Parsed, Record};
use self::infer::{Inference, unique_names};
use crate::error::{Error, Result, SqlError, state};

/// Rows per batch handed to storage.
const BATCH_ROWS: usize = 65_536;

/// Bytes read from the file at a time (more when one record is longer).
const READ_BLOCK_BYTES: usize = 1 << 20;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How a CSV file is written (the options of `COPY ... WITH (FORMAT csv)`).
#[derive(Debug, Clone)]
pub struct CsvOptions {
    delimiter: u8,
    quote: u8,
    escape: Option<u8>,
    header: bool,
    null: String,
    force_not_null: Vec<String>,
    force_null: Vec<String>,
    sanitize: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            delimiter: b',',
            quote: b'"',
            escape: None,
            header: true,
            null: String::new(),
            force_not_null: Vec::new(),
            force_null: Vec::new(),
            sanitize: false,
        }
    }
}

impl CsvOptions {
    /// Comma-separated, `"`-quoted (doubled to escape), with a header row;
    /// unquoted empty fields are NULL.
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

    /// The escape character inside quoted fields (default: the quote, that
    /// is, a doubled quote is one quote).
    pub fn escape(mut self, escape: u8) -> Self {
        self.escape = Some(escape);
        self
    }

    /// Whether the first row holds column names (it is skipped when loading).
    pub fn header(mut self, header: bool) -> Self {
        self.header = header;
        self
    }

    /// The text of an unquoted field that means NULL (default: empty).
    pub fn null_string(mut self, null: impl Into<String>) -> Self {
        self.null = null.into();
        self
    }

    /// Columns whose fields are never NULL (an unquoted empty field is then
    /// the empty string).
    pub fn force_not_null(mut self, columns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.force_not_null = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Columns where a quoted field equal to the NULL string is NULL too.
    pub fn force_null(mut self, columns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.force_null = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Replace invalid UTF-8 with U+FFFD instead of failing (Hyper's `SANITIZE`).
    pub fn sanitize(mut self, sanitize: bool) -> Self {
        self.sanitize = sanitize;
        self
    }

    /// The parser's dialect, once the options are known to be consistent.
    fn dialect(&self) -> Result<Dialect> {
        let escape = self.escape.unwrap_or(self.quote);
        let bad =
            |message: &str| -> Error { SqlError::new(state::INVALID_PARAMETER, message).into() };
        for (what, b) in [
            ("delimiter", self.delimiter),
            ("quote", self.quote),
            ("escape", escape),
        ] {
            if b == b'\n' || b == b'\r' {
                return Err(bad(&format!(
                    "COPY {what} cannot be newline or carriage return"
                )));
            }
        }
        if self.delimiter == self.quote {
            return Err(bad("COPY delimiter and quote must be different"));
        }
        if self.delimiter == escape {
            return Err(bad("COPY delimiter and escape must be different"));
        }
        if self.null.as_bytes().contains(&self.delimiter) {
            return Err(bad(
                "COPY delimiter must not appear in the NULL specification",
            ));
        }
        Ok(Dialect {
            delimiter: self.delimiter,
            quote: self.quote,
            escape,
        })
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

/// Reads records from a byte source, refilling its buffer as needed.
struct RecordReader {
    source: Box<dyn Read + Send>,
    path: String,
    dialect: Dialect,
    skip_bom: bool,
    block_bytes: usize,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
    started: bool,
    line: u64,
    record: Record,
}

impl RecordReader {
    fn open(path: &Path, options: &CsvOptions) -> Result<RecordReader> {
        let dialect = options.dialect()?;
        let file = File::open(path).map_err(|source| Error::Io {
            op: "could not read from external source",
            path: path.display().to_string(),
            source,
        })?;
        Ok(Self::new(
            Box::new(file),
            path.display().to_string(),
            dialect,
            options,
        ))
    }

    fn new(
        source: Box<dyn Read + Send>,
        path: String,
        dialect: Dialect,
        options: &CsvOptions,
    ) -> RecordReader {
        RecordReader {
            source,
            path,
            dialect,
            skip_bom: options.header,
            block_bytes: READ_BLOCK_BYTES,
            buf: Vec::new(),
            pos: 0,
            eof: false,
            started: false,
            line: 1,
            record: Record::default(),
        }
    }

    /// The next record, `None` at the end of the file.
    fn next_record(&mut self) -> Result<Option<&Record>> {
        if !self.started {
            self.started = true;
            while self.buf.len() < UTF8_BOM.len() && !self.eof {
                self.fill()?;
            }
            if self.skip_bom && self.buf.starts_with(UTF8_BOM) {
                self.pos = UTF8_BOM.len();
            }
        }
        loop {
            let parsed = self
                .dialect
                .parse_record(&self.buf[self.pos..], self.eof, self.line, &mut self.record)
                .map_err(|e| Error::Csv {
                    path: self.path.clone(),
                    line: e.line,
                    column: e.field,
                    reason: e.kind.message().to_string(),
                })?;
            match parsed {
                Parsed::Record { len } => {
                    self.pos += len;
                    self.line += self.record.line_breaks;
                    return Ok(Some(&self.record));
                }
                Parsed::End => return Ok(None),
                Parsed::Incomplete => self.fill()?,
            }
        }
    }

    /// Drops consumed bytes and reads at least a block more (as much again as
    /// is buffered, so that a long record is re-parsed O(log n) times).
    fn fill(&mut self) -> Result<()> {
        self.buf.drain(..self.pos);
        self.pos = 0;
        let want = self.block_bytes.max(self.buf.len());
        let start = self.buf.len();
        self.buf.resize(start + want, 0);
        let mut filled = start;
        while filled < self.buf.len() {
            match self.source.read(&mut self.buf[filled..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::Io {
                        op: "could not read from external source",
                        path: self.path.clone(),
                        source,
                    });
                }
            }
        }
        self.buf.truncate(filled);
        Ok(())
    }
}

/// Per column: how its fields are read (from the options and the schema).
#[derive(Debug, Clone)]
struct FieldRules {
    null: String,
    sanitize: bool,
    force_not_null: Vec<bool>,
    force_null: Vec<bool>,
}

impl FieldRules {
    fn new(options: &CsvOptions, names: &[String]) -> Result<FieldRules> {
        let flags = |wanted: &[String], what: &str| -> Result<Vec<bool>> {
            if let Some(missing) = wanted.iter().find(|w| !names.contains(w)) {
                return Err(SqlError::new(
                    state::UNDEFINED_COLUMN,
                    format!("{what} column \"{missing}\" is not a column of the CSV file"),
                )
                .into());
            }
            Ok(names.iter().map(|n| wanted.contains(n)).collect())
        };
        Ok(FieldRules {
            null: options.null.clone(),
            sanitize: options.sanitize,
            force_not_null: flags(&options.force_not_null, "FORCE_NOT_NULL")?,
            force_null: flags(&options.force_null, "FORCE_NULL")?,
        })
    }

    /// Field `i` of `record` as text; `None` is NULL.
    fn value<'r>(&self, record: &'r Record, i: usize, path: &str) -> Result<Option<Cow<'r, str>>> {
        let bytes = record.field(i);
        let quoted = record.quoted[i];
        let forced_not_null = self.force_not_null.get(i).copied().unwrap_or(false);
        let forced_null = self.force_null.get(i).copied().unwrap_or(false);
        if !forced_not_null && (!quoted || forced_null) && bytes == self.null.as_bytes() {
            return Ok(None);
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Some(Cow::Borrowed(s))),
            Err(_) if self.sanitize => Ok(Some(String::from_utf8_lossy(bytes))),
            Err(_) => Err(Error::Csv {
                path: path.to_string(),
                line: record.line,
                column: i as u64 + 1,
                reason: format!(
                    "invalid UTF-8 sequence in line {}; the file must be UTF-8 \
                     (or use SANITIZE to replace bad bytes)",
                    record.line
                ),
            }),
        }
    }
}

fn check_width(record: &Record, width: usize, path: &str) -> Result<()> {
    let found = record.len();
    if found == width {
        return Ok(());
    }
    let (what, column) = if found > width {
        ("many", width + 1)
    } else {
        ("few", found + 1)
    };
    Err(Error::Csv {
        path: path.to_string(),
        line: record.line,
        column: column as u64,
        reason: format!("too {what} columns in input file: expected {width} fields, found {found}"),
    })
}

/// Infers column names and types from the whole file.
///
/// # Errors
/// `Io` ("could not read from external source") when the file cannot be read;
/// `Csv` for malformed records (with line and column); `Sql` for inconsistent
/// options.
pub fn infer_csv_schema(path: impl AsRef<Path>, options: &CsvOptions) -> Result<CsvSchema> {
    let path = path.as_ref();
    let mut reader = RecordReader::open(path, options)?;
    infer_records(&mut reader, options)
}

fn infer_records(reader: &mut RecordReader, options: &CsvOptions) -> Result<CsvSchema> {
    let path = reader.path.clone();
    let Some(first) = reader.next_record()? else {
        return Ok(CsvSchema {
            columns: Vec::new(),
        });
    };
    let (mut inference, rules) = if options.header {
        let raw: Vec<Cow<'_, str>> = (0..first.len())
            .map(|i| String::from_utf8_lossy(first.field(i)))
            .collect();
        let names = unique_names(raw.iter().map(AsRef::as_ref));
        let rules = FieldRules::new(options, &names)?;
        (Inference::new(names), rules)
    } else {
        let names: Vec<String> = (1..=first.len()).map(|i| format!("column{i}")).collect();
        let rules = FieldRules::new(options, &names)?;
        let mut inference = Inference::new(names);
        observe(&mut inference, &rules, first, &path)?;
        (inference, rules)
    };
    while let Some(record) = reader.next_record()? {
        observe(&mut inference, &rules, record, &path)?;
    }
    Ok(CsvSchema {
        columns: inference.finish(),
    })
}

fn observe(
    inference: &mut Inference,
    rules: &FieldRules,
    record: &Record,
    path: &str,
) -> Result<()> {
    check_width(record, inference.width(), path)?;
    for i in 0..record.len() {
        let value = rules.value(record, i, path)?;
        inference.observe(i, value.as_deref());
    }
    Ok(())
}

/// Reads a CSV file as batches of `schema`'s columns.
///
/// # Errors
/// `Io` ("could not read from external source") when the file cannot be
/// opened; `Sql` for inconsistent options. Each batch is `Err(Csv)` at the
/// first malformed record or value that does not parse as its column's type,
/// with line and column; iteration stops after an error.
pub fn read_csv(
    path: &Path,
    options: &CsvOptions,
    schema: &CsvSchema,
) -> Result<impl Iterator<Item = Result<RecordBatch>> + use<>> {
    let reader = RecordReader::open(path, options)?;
    CsvBatches::new(reader, options, schema)
}

/// The batches of one CSV file.
struct CsvBatches {
    reader: RecordReader,
    rules: FieldRules,
    columns: Vec<ColumnDef>,
    arrow_schema: SchemaRef,
    builder: BatchBuilder,
    lines: Vec<u64>,
    skip_header: bool,
    done: bool,
}

impl CsvBatches {
    fn new(reader: RecordReader, options: &CsvOptions, schema: &CsvSchema) -> Result<CsvBatches> {
        let names: Vec<String> = schema.columns.iter().map(|c| c.name.clone()).collect();
        Ok(CsvBatches {
            reader,
            rules: FieldRules::new(options, &names)?,
            columns: schema.columns.clone(),
            arrow_schema: schema.table_def("public", "csv").arrow_schema(),
            builder: BatchBuilder::new(&schema.columns),
            lines: Vec::new(),
            skip_header: options.header,
            done: false,
        })
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        if std::mem::take(&mut self.skip_header) {
            self.reader.next_record()?;
        }
        let path = self.reader.path.clone();
        self.lines.clear();
        while self.builder.rows() < BATCH_ROWS {
            let Some(record) = self.reader.next_record()? else {
                break;
            };
            check_width(record, self.columns.len(), &path)?;
            for i in 0..record.len() {
                let value = self.rules.value(record, i, &path)?;
                let column = &self.columns[i];
                let at = |reason: String| Error::Csv {
                    path: path.clone(),
                    line: record.line,
                    column: i as u64 + 1,
                    reason,
                };
                if value.is_none() && !column.nullable {
                    return Err(at(format!(
                        "non-NULL value required: column \"{}\" is NOT NULL",
                        column.name
                    )));
                }
                self.builder
                    .append(i, value.as_deref())
                    .map_err(|reason| at(format!("{reason} (column \"{}\")", column.name)))?;
            }
            self.builder.end_row();
            self.lines.push(record.line);
        }
        if self.builder.rows() == 0 {
            return Ok(None);
        }
        match self.builder.finish(&self.arrow_schema) {
            Ok(batch) => Ok(Some(batch)),
            Err(FinishError::Value(e)) => Err(Error::Csv {
                path,
                line: self.lines.get(e.row).copied().unwrap_or(0),
                column: e.column as u64 + 1,
                reason: format!("{} (column \"{}\")", e.reason, self.columns[e.column].name),
            }),
            Err(FinishError::Internal(what)) => Err(Error::Internal {
                what: format!("CSV batch: {what}"),
            }),
        }
    }
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

/// Fuzz target bodies (see `crate::fuzzing`).
pub(crate) mod fuzz {
    use super::*;

    /// Parses `data` as a CSV file with `options`, read `block_bytes` at a
    /// time (small blocks exercise the refill path): inference, then loading
    /// with the inferred schema. Errors are fine; they must name a line
    /// within the input.
    pub(crate) fn load_bytes(data: &[u8], options: &CsvOptions, block_bytes: usize) -> Result<u64> {
        let Ok(dialect) = options.dialect() else {
            return Ok(0);
        };
        let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        let reader = |d: &[u8]| {
            let mut r = RecordReader::new(
                Box::new(std::io::Cursor::new(d.to_vec())),
                "fuzz".into(),
                dialect,
                options,
            );
            r.block_bytes = block_bytes.max(1);
            r
        };
        let check_line = |e: Error| -> Error {
            if let Error::Csv { line, .. } = &e {
                assert!(
                    (1..=lines).contains(line),
                    "error line {line} outside 1..={lines}: {e}"
                );
            }
            e
        };
        let schema = infer_records(&mut reader(data), options).map_err(check_line)?;
        if schema.columns.is_empty() {
            return Ok(0);
        }
        // Invariant: what inference accepted loads with the inferred schema.
        let mut rows = 0;
        for batch in CsvBatches::new(reader(data), options, &schema)? {
            match batch {
                Ok(b) => rows += b.num_rows() as u64,
                Err(e) => panic!("inference accepted the input but loading failed: {e}"),
            }
        }
        Ok(rows)
    }
}
