//! Loading CSV files: the record parser, schema inference, and parsing into
//! Arrow batches for `hyperctl import`, the bench and `COPY ... FROM`.
//!
//! - `csv`: the byte-level state machine (quotes, escapes, line breaks), over
//!   a byte slice so that the parallel chunked loader can reuse it.
//! - `infer`: column type inference and the text parsers loading shares.
//! - `convert`: fields to Arrow columns of the target types.
//! - `copy`: running a bound `COPY ... FROM` into a table.
//! - `external`: a file as a relation, `external('file.csv')` in FROM.
//!
//! Reading follows Hyper's CSV COPY: an unquoted field equal to the NULL
//! string (default: empty) is NULL, a quoted one is a value (`""` is the empty
//! string); UTF-8 only, with a byte order mark skipped when there is a header
//! (and kept as data without one, as Hyper does); LF or CR LF line breaks.
//! Errors name the file, the physical line a record starts on, and the field.
//!
//! - `chunks`: the splitter (a quote-aware memchr scan cuts the stream into
//!   chunks at record ends) and the worker threads, results in file order.
//! - `source`: plain, `.gz` and `.zst` files.
//!
//! Loading is parallel and streaming: the splitter reads [`CHUNK_BYTES`] at a
//! time, `threads` workers parse chunks straight into Arrow builders, and
//! storage gets batches of up to [`BATCH_ROWS`] rows in file order. The
//! outcome (rows, rejects, the first error) does not depend on the thread
//! count or chunk size; `tests/it/csv_parallel.rs` and the
//! `sql_csv_parallel` fuzz target check that.

mod chunks;
mod columnar;
mod convert;
mod copy;
mod csv;
mod external;
mod fastparse;
mod infer;
mod postgres;
mod source;

pub use columnar::{ColumnarBatches, ColumnarFormat, read_columnar, write_columnar};
pub(crate) use copy::{CopyFormat, CopyFrom, copy_from};
pub(crate) use external::{ExternalFormat, ExternalSource};
pub use postgres::{PgBatches, PgSource, Secret, read_postgres};

use std::borrow::Cow;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hyperctl_exec::arrow::array::{BooleanArray, RecordBatch};
use hyperctl_exec::arrow::compute::filter_record_batch;
use hyperctl_exec::arrow::datatypes::SchemaRef;
use hyperctl_storage::{ColumnDef, TableDef};

use self::chunks::{
    Buffered, Chunk, OrderedResults, Splitter, csv_error, parallel_chunks, record_end,
};
use self::convert::{BatchBuilder, STRING_TOO_LARGE, ValueError, deferred};
use self::csv::{Dialect, Parsed, Record};
use self::infer::{Inference, unique_names};
use crate::error::{Error, Result, SqlError, state};

/// Rows per batch handed to storage (at most; a chunk's last batch is shorter).
const BATCH_ROWS: usize = 65_536;

/// Bytes per chunk of the parallel parser (more when one record is longer).
const CHUNK_BYTES: usize = 8 << 20;

/// The smallest chunk a memory budget makes.
const MIN_BUDGET_CHUNK_BYTES: usize = 64 << 10;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// What loading does with a malformed record or a value that does not fit
/// its column.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Fail with the first such record (line and column); nothing is loaded.
    #[default]
    Abort,
    /// Load the other records and hand the bad ones to the reject sink.
    Skip,
}

/// Receives rejected records in file order (see [`CsvOptions::on_error`]).
#[derive(Clone)]
pub struct RejectSink(Arc<RejectFn>);

type RejectFn = dyn Fn(&Reject) -> Result<()> + Send + Sync;

impl RejectSink {
    /// A sink calling `f` for each rejected record; an `Err` stops the load.
    pub fn new(f: impl Fn(&Reject) -> Result<()> + Send + Sync + 'static) -> RejectSink {
        RejectSink(Arc::new(f))
    }
}

impl std::fmt::Debug for RejectSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RejectSink")
    }
}

/// Counters a loader updates as it goes (for progress bars), shared with
/// the caller.
#[derive(Debug, Default)]
pub struct LoadProgress {
    bytes_read: Arc<AtomicU64>,
    rows: AtomicU64,
    rejected: AtomicU64,
    buffered: Arc<Buffered>,
}

impl LoadProgress {
    /// New counters at zero.
    pub fn new() -> Arc<LoadProgress> {
        Arc::default()
    }

    /// Bytes read from the source so far (after decompression).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    /// Rows handed on so far.
    pub fn rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    /// Records rejected so far.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// The most bytes of the file the CSV loader held at once (read and not
    /// yet handed on as batches): about `CsvOptions::memory_budget` at most.
    pub fn peak_buffered_bytes(&self) -> u64 {
        self.buffered.peak()
    }

    /// Counts rows and bytes that a source other than the CSV loader
    /// (Parquet, PostgreSQL) handed on.
    pub fn add_rows(&self, rows: u64, bytes: u64) {
        self.rows.fetch_add(rows, Ordering::Relaxed);
        self.bytes_read.fetch_add(bytes, Ordering::Relaxed);
    }
}

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
    threads: usize,
    chunk_bytes: usize,
    memory_budget: Option<usize>,
    on_error: OnError,
    rejects: Option<RejectSink>,
    progress: Option<Arc<LoadProgress>>,
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
            threads: 0,
            chunk_bytes: CHUNK_BYTES,
            memory_budget: None,
            on_error: OnError::Abort,
            rejects: None,
            progress: None,
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

    /// Worker threads that parse chunks; 0 (the default) is one per core.
    /// The result, including the error reported, does not depend on it.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Bytes per chunk (default 8 MiB); memory use is about
    /// `(2 * threads + 1) * chunk_bytes`. Small values are for tests.
    pub fn chunk_bytes(mut self, chunk_bytes: usize) -> Self {
        self.chunk_bytes = chunk_bytes.max(1);
        self
    }

    /// Bytes of the file the loader may hold at once (chunks being read,
    /// parsed or waiting to be handed on); chunks get smaller to fit
    /// (down to 64 KiB; a record longer than its chunk makes that chunk
    /// longer). Default: none, chunks of `chunk_bytes`. What storage holds
    /// (`threads + 1` blocks being compressed) comes on top.
    pub fn memory_budget(mut self, bytes: usize) -> Self {
        self.memory_budget = Some(bytes);
        self
    }

    /// What to do with bad records (default: abort).
    pub fn on_error(mut self, on_error: OnError) -> Self {
        self.on_error = on_error;
        self
    }

    /// Where rejected records go with [`OnError::Skip`] (default: dropped,
    /// only counted).
    pub fn reject_sink(mut self, sink: RejectSink) -> Self {
        self.rejects = Some(sink);
        self
    }

    /// Counters to update while loading.
    pub fn progress(mut self, progress: Arc<LoadProgress>) -> Self {
        self.progress = Some(progress);
        self
    }

    fn thread_count(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
    }

    /// The chunk size: `chunk_bytes`, smaller under a memory budget. The
    /// loader holds at most `in_flight` chunks read and not handed on, plus
    /// up to two chunks' worth in the splitter's buffer, and a chunk's
    /// batches take about as much again as its bytes while it is parsed.
    fn effective_chunk_bytes(&self) -> usize {
        let Some(budget) = self.memory_budget else {
            return self.chunk_bytes;
        };
        let threads = self.thread_count();
        let in_flight = if threads <= 1 { 1 } else { 2 * threads + 1 };
        let fit = budget / (2 * in_flight + 4);
        self.chunk_bytes.min(fit.max(MIN_BUDGET_CHUNK_BYTES))
    }

    fn buffered(&self) -> Arc<Buffered> {
        self.progress
            .as_ref()
            .map_or_else(Arc::default, |p| Arc::clone(&p.buffered))
    }

    fn bytes_counter(&self) -> Arc<AtomicU64> {
        self.progress
            .as_ref()
            .map_or_else(Arc::default, |p| Arc::clone(&p.bytes_read))
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
        if self.is_null(i, bytes, record.quoted[i]) {
            return Ok(None);
        }
        self.text(bytes, record.line, i, path).map(Some)
    }

    /// Whether field `i`, `bytes` (`quoted` or not), is NULL.
    #[inline]
    fn is_null(&self, i: usize, bytes: &[u8], quoted: bool) -> bool {
        let forced_not_null = self.force_not_null.get(i).copied().unwrap_or(false);
        let forced_null = self.force_null.get(i).copied().unwrap_or(false);
        !forced_not_null && (!quoted || forced_null) && bytes == self.null.as_bytes()
    }

    /// A non-NULL field `i` (on line `line`) as text.
    fn text<'r>(&self, bytes: &'r [u8], line: u64, i: usize, path: &str) -> Result<Cow<'r, str>> {
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Cow::Borrowed(s)),
            Err(_) if self.sanitize => Ok(String::from_utf8_lossy(bytes)),
            Err(_) => Err(Error::Csv {
                path: path.to_string(),
                line,
                column: i as u64 + 1,
                reason: format!(
                    "invalid UTF-8 sequence in line {line}; the file must be UTF-8 \
                     (or use SANITIZE to replace bad bytes)"
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

/// Opens the source and its splitter (the reading half of both passes).
fn open_splitter(path: &Path, options: &CsvOptions) -> Result<Splitter> {
    let dialect = options.dialect()?;
    let source = source::open(path)?;
    Ok(Splitter::new(
        source,
        path.display().to_string(),
        dialect,
        options.effective_chunk_bytes(),
        options.bytes_counter(),
    )
    .with_buffered(options.buffered()))
}

/// Infers column names and types from the whole file, in parallel.
///
/// # Errors
/// `Io` ("could not read from external source") when the file cannot be read;
/// `Csv` for malformed records (with line and column) unless the options skip
/// them; `Sql` for inconsistent options.
pub fn infer_csv_schema(path: impl AsRef<Path>, options: &CsvOptions) -> Result<CsvSchema> {
    let splitter = open_splitter(path.as_ref(), options)?;
    infer_records(splitter, options)
}

fn infer_records(mut splitter: Splitter, options: &CsvOptions) -> Result<CsvSchema> {
    let path = splitter.path().to_string();
    let Some(first) = splitter.first_record(options.header, options.header)? else {
        return Ok(CsvSchema {
            columns: Vec::new(),
        });
    };
    let names = if options.header {
        let raw: Vec<Cow<'_, str>> = (0..first.len())
            .map(|i| String::from_utf8_lossy(first.field(i)))
            .collect();
        unique_names(raw.iter().map(AsRef::as_ref))
    } else {
        (1..=first.len()).map(|i| format!("column{i}")).collect()
    };
    let rules = Arc::new(FieldRules::new(options, &names)?);
    let dialect = options.dialect()?;
    let skip = options.on_error == OnError::Skip;
    let width = names.len();
    let work = Arc::new(move |chunk: Chunk| -> Result<Inference> {
        let mut inference = Inference::new(width);
        let mut record = Record::default();
        let (mut pos, mut line) = (0, chunk.first_line);
        let bytes = &chunk.bytes;
        loop {
            let len = match dialect.parse_record(&bytes[pos..], true, line, &mut record) {
                Ok(Parsed::Record { len }) => len,
                Ok(Parsed::End) => return Ok(inference),
                Ok(Parsed::Incomplete) => return Err(incomplete()),
                Err(e) if skip => {
                    let end = pos + record_end(dialect, &bytes[pos..]);
                    line += memchr::memchr_iter(b'\n', &bytes[pos..end]).count() as u64;
                    pos = end;
                    let _ = e;
                    continue;
                }
                Err(e) => return Err(csv_error(&path, e)),
            };
            match observe(&mut inference, &rules, &record, &path, skip) {
                Ok(()) => {}
                Err(_) if skip => {}
                Err(e) => return Err(e),
            }
            pos += len;
            line += record.line_breaks;
        }
    });
    let mut total = Inference::new(width);
    for part in parallel_chunks(splitter, options.thread_count(), work) {
        total.merge(part?);
    }
    Ok(CsvSchema {
        columns: total.finish(names),
    })
}

fn incomplete() -> Error {
    Error::Internal {
        what: "CSV chunk ends inside a record".into(),
    }
}

/// Observes one record; in skip mode a record with a bad field is observed
/// not at all.
fn observe(
    inference: &mut Inference,
    rules: &FieldRules,
    record: &Record,
    path: &str,
    skip: bool,
) -> Result<()> {
    check_width(record, inference.width(), path)?;
    if skip {
        for i in 0..record.len() {
            rules.value(record, i, path)?;
        }
    }
    for i in 0..record.len() {
        let value = rules.value(record, i, path)?;
        inference.observe(i, value.as_deref());
    }
    Ok(())
}

/// A record that was not loaded (`OnError::Skip`): where, why, and its raw
/// bytes (without the line break).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The line the record starts on (1-based).
    pub line: u64,
    /// The field (1-based) that is wrong.
    pub column: u64,
    /// What is wrong and what was expected.
    pub reason: String,
    /// The record as it is in the file.
    pub record: Vec<u8>,
}

impl Reject {
    fn new(error: Error, raw: &[u8]) -> Reject {
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let (line, column, reason) = match error {
            Error::Csv {
                line,
                column,
                reason,
                ..
            } => (line, column, reason),
            other => (0, 0, other.to_string()),
        };
        Reject {
            line,
            column,
            reason,
            record: raw.to_vec(),
        }
    }
}

/// Reads a CSV file as batches of `schema`'s columns, parsing chunks of the
/// file on `options.threads` threads; batches come in file order.
///
/// # Errors
/// `Io` ("could not read from external source") when the file cannot be
/// opened; `Sql` for inconsistent options. With `OnError::Abort`, a batch is
/// `Err(Csv)` at the first malformed record or value that does not parse as
/// its column's type (the first in the file, whatever the thread count), with
/// line and column, and iteration stops there. With `OnError::Skip`, such
/// records go to the reject sink and the others load.
pub fn read_csv(
    path: &Path,
    options: &CsvOptions,
    schema: &CsvSchema,
) -> Result<impl Iterator<Item = Result<RecordBatch>> + use<>> {
    let splitter = open_splitter(path, options)?;
    CsvBatches::new(splitter, options, schema)
}

/// The batches of one CSV file.
struct CsvBatches {
    results: OrderedResults<Loaded>,
    queue: VecDeque<RecordBatch>,
    rejects: Option<RejectSink>,
    progress: Option<Arc<LoadProgress>>,
    buffered: Arc<Buffered>,
    done: bool,
}

/// What one chunk gave.
#[derive(Debug, Default)]
struct Loaded {
    batches: Vec<RecordBatch>,
    rejects: Vec<Reject>,
    /// The size of the chunk they come from.
    chunk_bytes: usize,
}

impl CsvBatches {
    fn new(mut splitter: Splitter, options: &CsvOptions, schema: &CsvSchema) -> Result<CsvBatches> {
        let names: Vec<String> = schema.columns.iter().map(|c| c.name.clone()).collect();
        let loader = ChunkLoader {
            dialect: options.dialect()?,
            path: splitter.path().to_string(),
            rules: FieldRules::new(options, &names)?,
            columns: schema.columns.clone(),
            arrow_schema: schema.table_def("public", "csv").arrow_schema(),
            skip: options.on_error == OnError::Skip,
        };
        if options.header {
            splitter.first_record(true, true)?;
        }
        let work = Arc::new(move |chunk: Chunk| loader.load(&chunk));
        Ok(CsvBatches {
            results: parallel_chunks(splitter, options.thread_count(), work),
            queue: VecDeque::new(),
            rejects: options.rejects.clone(),
            progress: options.progress.clone(),
            buffered: options.buffered(),
            done: false,
        })
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if let Some(batch) = self.queue.pop_front() {
                if let Some(p) = &self.progress {
                    p.rows.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
                }
                return Ok(Some(batch));
            }
            let Some(loaded) = self.results.next() else {
                return Ok(None);
            };
            let loaded = loaded?;
            self.buffered.release(loaded.chunk_bytes);
            for reject in &loaded.rejects {
                if let Some(p) = &self.progress {
                    p.rejected.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(sink) = &self.rejects {
                    (sink.0)(reject)?;
                }
            }
            self.queue.extend(loaded.batches);
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

/// Parses chunks into batches (one per worker call; shared read-only).
struct ChunkLoader {
    dialect: Dialect,
    path: String,
    rules: FieldRules,
    columns: Vec<ColumnDef>,
    arrow_schema: SchemaRef,
    skip: bool,
}

/// Per row of the batch being built: its line and its bytes in the chunk.
type RowSpans = Vec<(u64, std::ops::Range<usize>)>;

impl ChunkLoader {
    fn load(&self, chunk: &Chunk) -> Result<Loaded> {
        let mut out = Loaded {
            chunk_bytes: chunk.bytes.len(),
            ..Loaded::default()
        };
        // Builders sized for the chunk's records (a batch at most): no
        // regrowing while they fill.
        let mut records_left = usize::try_from(chunk.lines).unwrap_or(usize::MAX) + 1;
        let capacity = |left: usize| left.clamp(1, BATCH_ROWS);
        let mut builder = BatchBuilder::new(&self.columns, capacity(records_left));
        let mut rows: RowSpans = Vec::new();
        // Row spans serve rejects and the errors of deferred casts only.
        let track_rows = self.skip || self.columns.iter().any(|c| deferred(c.ty));
        let bytes = &chunk.bytes;
        let mut record = Record::default();
        let (mut pos, mut line) = (0, chunk.first_line);
        loop {
            if builder.rows() >= BATCH_ROWS {
                records_left = records_left.saturating_sub(builder.rows());
                let next = capacity(records_left);
                self.flush(&mut builder, &mut rows, bytes, &mut out, next)?;
            }
            let parsed = self
                .dialect
                .parse_record(&bytes[pos..], true, line, &mut record);
            let len = match parsed {
                Ok(Parsed::Record { len }) => len,
                Ok(Parsed::End) => break,
                Ok(Parsed::Incomplete) => return Err(incomplete()),
                Err(e) => {
                    let error = csv_error(&self.path, e);
                    if !self.skip {
                        return Err(self.earlier_error(&builder, &rows, line).unwrap_or(error));
                    }
                    let end = pos + record_end(self.dialect, &bytes[pos..]);
                    out.rejects.push(Reject::new(error, &bytes[pos..end]));
                    line += memchr::memchr_iter(b'\n', &bytes[pos..end]).count() as u64;
                    pos = end;
                    continue;
                }
            };
            match self.row(&mut builder, &record) {
                Ok(()) => {
                    builder.end_row();
                    if track_rows {
                        rows.push((record.line, pos..pos + len));
                    }
                }
                Err(error) if self.skip => {
                    out.rejects.push(Reject::new(error, &bytes[pos..pos + len]));
                }
                Err(error) => {
                    return Err(self
                        .earlier_error(&builder, &rows, record.line)
                        .unwrap_or(error));
                }
            }
            pos += len;
            line += record.line_breaks;
        }
        self.flush(&mut builder, &mut rows, bytes, &mut out, 0)?;
        out.rejects.sort_by_key(|r| r.line);
        Ok(out)
    }

    /// Appends the fields of `record` (in skip mode, only when all of them fit).
    fn row(&self, builder: &mut BatchBuilder, record: &Record) -> Result<()> {
        check_width(record, self.columns.len(), &self.path)?;
        if self.skip {
            for i in 0..record.len() {
                let value = self.rules.value(record, i, &self.path)?;
                self.not_null(record, i, value.is_some())?;
                builder
                    .check(i, value.as_deref())
                    .map_err(|reason| self.field_error(record, i, reason))?;
            }
        }
        for i in 0..record.len() {
            let bytes = record.field(i);
            if self.rules.is_null(i, bytes, record.quoted[i]) {
                self.not_null(record, i, false)?;
                builder.append_null(i);
                continue;
            }
            if builder.append_fast(i, bytes) {
                continue;
            }
            let value = self.rules.text(bytes, record.line, i, &self.path)?;
            builder
                .append(i, Some(&value))
                .map_err(|reason| self.field_error(record, i, reason))?;
        }
        Ok(())
    }

    /// `Err` when field `i` is NULL (`present` false) in a NOT NULL column.
    fn not_null(&self, record: &Record, i: usize, present: bool) -> Result<()> {
        let column = &self.columns[i];
        if present || column.nullable {
            return Ok(());
        }
        Err(self.csv_at(
            record,
            i,
            format!(
                "non-NULL value required: column \"{}\" is NOT NULL",
                column.name
            ),
        ))
    }

    /// The error of a value of field `i` of `record`: `reason` and the column.
    fn field_error(&self, record: &Record, i: usize, reason: String) -> Error {
        let column = &self.columns[i];
        let reason = if reason == STRING_TOO_LARGE {
            // Hyper's text, then the column and its type.
            format!("{reason} (column \"{}\" is {})", column.name, column.ty)
        } else {
            format!("{reason} (column \"{}\")", column.name)
        };
        self.csv_at(record, i, reason)
    }

    fn csv_at(&self, record: &Record, i: usize, reason: String) -> Error {
        Error::Csv {
            path: self.path.clone(),
            line: record.line,
            column: i as u64 + 1,
            reason,
        }
    }

    /// In abort mode, a value before the failing field that a deferred cast
    /// rejects comes first in the file and so is the error to report.
    fn earlier_error(&self, builder: &BatchBuilder, rows: &RowSpans, line: u64) -> Option<Error> {
        let e = builder.first_deferred_error()?;
        Some(self.value_error(&e, rows.get(e.row).map_or(line, |r| r.0)))
    }

    fn value_error(&self, e: &ValueError, line: u64) -> Error {
        Error::Csv {
            path: self.path.clone(),
            line,
            column: e.column as u64 + 1,
            reason: format!("{} (column \"{}\")", e.reason, self.columns[e.column].name),
        }
    }

    /// Ends the batch being built; its bad rows fail the load or are rejected.
    fn flush(
        &self,
        builder: &mut BatchBuilder,
        rows: &mut RowSpans,
        bytes: &[u8],
        out: &mut Loaded,
        next_capacity: usize,
    ) -> Result<()> {
        if builder.rows() == 0 {
            return Ok(());
        }
        let (batch, bad) = builder
            .finish(&self.arrow_schema, next_capacity)
            .map_err(|what| Error::Internal {
                what: format!("CSV batch: {what}"),
            })?;
        let batch = if bad.is_empty() {
            batch
        } else if !self.skip {
            let e = &bad[0];
            return Err(self.value_error(e, rows.get(e.row).map_or(0, |r| r.0)));
        } else {
            let mut keep = vec![true; batch.num_rows()];
            for e in &bad {
                if std::mem::replace(&mut keep[e.row], false) {
                    let (line, span) = rows[e.row].clone();
                    out.rejects
                        .push(Reject::new(self.value_error(e, line), &bytes[span]));
                }
            }
            filter_record_batch(&batch, &BooleanArray::from(keep)).map_err(|e| Error::Internal {
                what: format!("CSV batch filter: {e}"),
            })?
        };
        rows.clear();
        if batch.num_rows() > 0 {
            out.batches.push(batch);
        }
        Ok(())
    }
}

/// Fuzz target bodies (see `crate::fuzzing`).
pub(crate) mod fuzz {
    use super::*;

    /// Parses `data` as a CSV file with `options` (its threads and chunk size
    /// included): inference, then loading with the inferred schema. Errors
    /// are fine; they must name a line within the input. Returns the rows.
    pub(crate) fn load_bytes(data: &[u8], options: &CsvOptions) -> Result<u64> {
        let Ok(dialect) = options.dialect() else {
            return Ok(0);
        };
        let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        let splitter = |d: &[u8]| {
            Splitter::new(
                Box::new(std::io::Cursor::new(d.to_vec())),
                "fuzz".into(),
                dialect,
                options.chunk_bytes,
                Arc::default(),
            )
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
        let schema = infer_records(splitter(data), options).map_err(check_line)?;
        if schema.columns.is_empty() {
            return Ok(0);
        }
        // Invariant: what inference accepted loads with the inferred schema.
        let mut rows = 0;
        for batch in CsvBatches::new(splitter(data), options, &schema)? {
            match batch {
                Ok(b) => rows += b.num_rows() as u64,
                Err(e) => panic!("inference accepted the input but loading failed: {e}"),
            }
        }
        Ok(rows)
    }

    /// Infers and loads `data`, collecting the batches.
    pub(crate) fn load_batches(
        data: &[u8],
        options: &CsvOptions,
    ) -> Result<(CsvSchema, Vec<RecordBatch>)> {
        let dialect = options.dialect()?;
        let splitter = |d: &[u8]| {
            Splitter::new(
                Box::new(std::io::Cursor::new(d.to_vec())),
                "data.csv".into(),
                dialect,
                options.chunk_bytes,
                Arc::default(),
            )
        };
        let schema = infer_records(splitter(data), options)?;
        let batches = CsvBatches::new(splitter(data), options, &schema)?.collect::<Result<_>>()?;
        Ok((schema, batches))
    }
}
