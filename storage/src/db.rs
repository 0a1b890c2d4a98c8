//! The database handle: open and lock the file, read consistent snapshots, and
//! run one write transaction at a time.
//!
//! Commit protocol (shadow paging; the WAL of issue 3 replaces it for small
//! commits): a transaction appends its column chunks and then the whole new
//! catalog past the committed end of the file, syncs, and only then writes the
//! header slot that points to the new catalog, and syncs again. Until that
//! header write is durable the previous commit is what every reader and every
//! crash recovery sees.
//!
//! Recovery ([`recover`]) reads both slots and uses the valid one with the
//! larger sequence number; a slot that fails its checksum is a torn header
//! write and is ignored. It never falls back past a valid newest header whose
//! catalog is damaged or lies past the end of the file: that commit may have
//! returned to its caller, so using the older one would silently lose it; the
//! open fails with `Corrupt` instead. (A bit flip inside the newest slot looks
//! exactly like a torn write and does fall back; [`Database::verify`] reports
//! it. The WAL will close that gap.)
//!
//! Creating (or replacing) a database truncates the file and syncs before the
//! first commit, so a crash leaves the old file, an empty one, or the new one.
//! An error while writing or syncing a commit poisons the handle: whether the
//! commit is durable is unknown, and a later commit could overwrite what it
//! wrote, so writes fail with `Poisoned` until the database is reopened.
//!
//! Invariant: readers only read extents below the committed `file_end` of
//! their snapshot; the writer only writes at or past it.

use std::fs::{File, OpenOptions as FsOpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hyperctl_format::arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use hyperctl_format::arrow::datatypes::{Schema, SchemaRef};
use hyperctl_format::{crc32c, decode_column, encode_column};
use parking_lot::{Mutex, RawMutex, RwLock, lock_api::ArcMutexGuard};

use crate::backend::{Backend, FileBackend, MemBackend};
use crate::catalog::{CHUNK_ROWS_MAX, Catalog, Chunk, Extent, TableDef, TableEntry};
use crate::error::{Error, Result};
use crate::header::{
    DATA_START, FORMAT_VERSION, Header, SLOT_LEN, SLOT_OFFSETS, SlotError, SlotState, choose_slot,
    read_slot,
};
use crate::verify::{self, VerifyReport};

/// What to do about a database file that does or does not exist (as the Hyper
/// API's `CreateMode`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CreateMode {
    /// Open an existing database; fail if it is missing.
    #[default]
    None,
    /// Create a new database; fail if it exists.
    Create,
    /// Open the database, creating it if it is missing.
    CreateIfNotExists,
    /// Replace any existing database with a new, empty one.
    CreateAndReplace,
}

/// How to open a database.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    create_mode: CreateMode,
    read_only: bool,
}

impl OpenOptions {
    /// Open an existing database for reading and writing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the create mode.
    pub fn create_mode(mut self, mode: CreateMode) -> Self {
        self.create_mode = mode;
        self
    }

    /// Opens read-only with a shared lock: several readers may share the file,
    /// but not with a writer.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }
}

#[derive(Debug)]
struct Committed {
    catalog: Arc<Catalog>,
    header: Header,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    backend: Box<dyn Backend>,
    read_only: bool,
    committed: RwLock<Committed>,
    writer: Arc<Mutex<()>>,
    /// Set when writing or syncing a commit failed (see the module docs).
    poisoned: AtomicBool,
}

impl Inner {
    fn io(&self, op: &'static str) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Io {
            path: self.path.clone(),
            op,
            source,
        }
    }

    /// Reads `buf.len()` bytes of committed data at `offset`; a file that ends
    /// before them is damaged (truncated), not an OS error.
    fn read_committed(&self, buf: &mut [u8], offset: u64, what: &str) -> Result<()> {
        self.backend.read_exact_at(buf, offset).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                corrupt_at(
                    &self.path,
                    Some(what.to_string()),
                    offset,
                    "the file ends inside it (truncated?)",
                )
            } else {
                self.io("reading")(e)
            }
        })
    }
}

/// A `Corrupt` error at file offset `offset`.
pub(crate) fn corrupt_at(
    path: &Path,
    context: Option<String>,
    offset: u64,
    what: impl Into<String>,
) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        context,
        source: hyperctl_format::ByteReader::new(&[], offset).error(what),
    }
}

/// An open database file. Cheap to clone; the file stays locked until the last
/// clone (and every snapshot and transaction of it) is dropped.
#[derive(Debug, Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

impl Database {
    /// Opens (or creates) the database at `path` and locks it: exclusively for
    /// writing, shared when read-only.
    ///
    /// # Errors
    /// `NotFound`, `AlreadyExists` as the create mode demands; `ReadOnly` for a
    /// read-only open that would replace the file; `Locked` when
    /// another process holds the file; `NotADatabase`, `UnsupportedVersion`,
    /// `Corrupt` for files we cannot read; `Io` otherwise.
    pub fn open(path: impl AsRef<Path>, options: &OpenOptions) -> Result<Database> {
        let path = path.as_ref().to_path_buf();
        let (file, created) = open_file(&path, options)?;
        let backend = FileBackend::new(file);
        lock(&path, backend.file(), options.read_only)?;
        let replace = created || options.create_mode == CreateMode::CreateAndReplace;
        if replace && options.read_only {
            return Err(Error::ReadOnly { path });
        }
        let db = Self::from_backend(path.clone(), Box::new(backend), options.read_only, replace)?;
        if created {
            sync_parent_dir(&path)?;
        }
        Ok(db)
    }

    /// A new, empty database in memory (for tests and scratch work).
    pub fn in_memory() -> Database {
        let backend = Box::new(MemBackend::new());
        Self::from_backend(PathBuf::from(":memory:"), backend, false, true)
            .expect("initialising an in-memory database cannot fail")
    }

    /// Opens a database on any backend; `init` replaces whatever the backend
    /// holds with a new empty database (truncate, sync, first commit).
    ///
    /// # Errors
    /// As [`Database::open`].
    pub fn from_backend(
        path: PathBuf,
        backend: Box<dyn Backend>,
        read_only: bool,
        init: bool,
    ) -> Result<Database> {
        let mut inner = Inner {
            path,
            backend,
            read_only,
            committed: RwLock::new(Committed {
                catalog: Arc::new(Catalog::default()),
                header: empty_header(),
            }),
            writer: Arc::new(Mutex::new(())),
            poisoned: AtomicBool::new(false),
        };
        if init {
            // Durably empty before the first commit: a crash must not leave
            // the old headers pointing into half-overwritten old data.
            inner.backend.set_len(0).map_err(inner.io("truncating"))?;
            inner.backend.sync().map_err(inner.io("syncing"))?;
            write_commit(&inner, &Catalog::default(), DATA_START, 0)?;
        }
        let committed = recover(&inner)?;
        inner.committed = RwLock::new(committed);
        Ok(Database {
            inner: Arc::new(inner),
        })
    }

    /// The file this database lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// A consistent view of the last commit.
    pub fn snapshot(&self) -> Snapshot {
        let catalog = self.inner.committed.read().catalog.clone();
        Snapshot {
            inner: self.inner.clone(),
            catalog,
        }
    }

    /// Starts the write transaction, waiting while another one is running in
    /// this process.
    ///
    /// # Errors
    /// `ReadOnly` on a read-only handle; `Poisoned` after a commit of this
    /// handle failed with an I/O error (reopen the database).
    pub fn begin_write(&self) -> Result<WriteTxn> {
        if self.inner.read_only {
            return Err(Error::ReadOnly {
                path: self.inner.path.clone(),
            });
        }
        let guard = self.inner.writer.lock_arc();
        if self.inner.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned {
                path: self.inner.path.clone(),
            });
        }
        let committed = self.inner.committed.read();
        Ok(WriteTxn {
            inner: self.inner.clone(),
            _guard: guard,
            catalog: (*committed.catalog).clone(),
            end: committed.header.file_end,
            sequence: committed.header.sequence,
            dirty: false,
        })
    }

    /// Checks the whole file as it is on disk: both header slots, the catalog
    /// of the current commit and every column chunk of every table (checksums
    /// and decoding). Problems are reported, not returned as errors; see
    /// [`VerifyReport`]. A commit of this handle that runs at the same time is
    /// either seen whole or not at all.
    pub fn verify(&self) -> VerifyReport {
        verify::verify_backend(&self.inner.path, self.inner.backend.as_ref())
    }

    /// Checks the database in `backend` without opening it, like
    /// [`Database::verify_file`] (for in-memory images and tests).
    pub fn verify_backend(path: impl AsRef<Path>, backend: &dyn Backend) -> VerifyReport {
        verify::verify_backend(path.as_ref(), backend)
    }

    /// Checks the database file at `path` without opening it as a database
    /// (so it also reports on files that do not open), under a shared lock.
    ///
    /// # Errors
    /// `NotFound`; `Locked` while a writer has the file open; `Io`.
    pub fn verify_file(path: impl AsRef<Path>) -> Result<VerifyReport> {
        let path = path.as_ref().to_path_buf();
        let options = OpenOptions::new().read_only(true);
        let (file, _) = open_file(&path, &options)?;
        let backend = FileBackend::new(file);
        lock(&path, backend.file(), true)?;
        Ok(verify::verify_backend(&path, &backend))
    }

    /// Every byte range that the current commit needs, with what it holds
    /// (for corruption tests: a damaged byte anywhere else must not matter).
    pub(crate) fn live_extents(&self) -> Vec<(std::ops::Range<u64>, String)> {
        let committed = self.inner.committed.read();
        let header = committed.header;
        let slot = SLOT_OFFSETS[Header::slot_of(header.sequence)];
        let mut out = vec![
            (
                slot..slot + SLOT_LEN as u64,
                "current header slot".to_string(),
            ),
            (
                header.catalog_offset..header.catalog_offset + header.catalog_len,
                "catalog".to_string(),
            ),
        ];
        for table in &committed.catalog.tables {
            for (i, chunk) in table.chunks.iter().enumerate() {
                for (extent, column) in chunk.columns.iter().zip(&table.def.columns) {
                    let what = format!(
                        "{}.{} chunk {i} column {}",
                        table.def.schema, table.def.name, column.name
                    );
                    out.push((extent.offset..extent.offset + u64::from(extent.len), what));
                }
            }
        }
        out
    }
}

fn empty_header() -> Header {
    Header {
        version: FORMAT_VERSION,
        sequence: 0,
        catalog_offset: DATA_START,
        catalog_len: 0,
        file_end: DATA_START,
        catalog_crc: 0,
    }
}

fn open_file(path: &Path, options: &OpenOptions) -> Result<(File, bool)> {
    let mut fs = FsOpenOptions::new();
    fs.read(true).write(!options.read_only);
    let io = |op| {
        move |source| Error::Io {
            path: path.to_path_buf(),
            op,
            source,
        }
    };
    let exists = path.try_exists().map_err(io("checking"))?;
    match (options.create_mode, exists) {
        (CreateMode::None, false) => Err(Error::NotFound {
            path: path.to_path_buf(),
        }),
        (CreateMode::Create, true) => Err(Error::AlreadyExists {
            path: path.to_path_buf(),
        }),
        (CreateMode::None | CreateMode::CreateIfNotExists | CreateMode::CreateAndReplace, true) => {
            Ok((fs.open(path).map_err(io("opening"))?, false))
        }
        (_, false) if options.read_only => Err(Error::NotFound {
            path: path.to_path_buf(),
        }),
        (_, false) => {
            let file = fs.create_new(true).open(path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    Error::AlreadyExists {
                        path: path.to_path_buf(),
                    }
                } else {
                    io("creating")(e)
                }
            })?;
            Ok((file, true))
        }
    }
}

fn lock(path: &Path, file: &File, shared: bool) -> Result<()> {
    let result = if shared {
        file.try_lock_shared()
    } else {
        file.try_lock()
    };
    match result {
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => Err(Error::Locked {
            path: path.to_path_buf(),
        }),
        Err(TryLockError::Error(source)) => Err(Error::Io {
            path: path.to_path_buf(),
            op: "locking",
            source,
        }),
    }
}

fn sync_parent_dir(path: &Path) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(|source| Error::Io {
            path: parent.to_path_buf(),
            op: "syncing directory",
            source,
        })
}

/// Reads both header slots and loads the newest commit (rules: module docs).
fn recover(inner: &Inner) -> Result<Committed> {
    let mut slots = [SlotState::Unused, SlotState::Unused];
    for (slot, state) in slots.iter_mut().enumerate() {
        *state = read_slot(inner.backend.as_ref(), slot).map_err(inner.io("reading header"))?;
    }
    let (slot, header) = match choose_slot(&slots) {
        Ok(chosen) => chosen,
        Err(Some((slot, reason))) => {
            return Err(corrupt_at(
                &inner.path,
                Some(format!("header slot {}", slot_name(slot))),
                SLOT_OFFSETS[slot],
                reason,
            ));
        }
        Err(None) => {
            let all_foreign = slots
                .iter()
                .all(|s| !matches!(s, SlotState::Bad(e) if *e != SlotError::BadMagic));
            return Err(Error::NotADatabase {
                path: inner.path.clone(),
                reason: if all_foreign {
                    "no hyperctl header (wrong magic bytes)".into()
                } else {
                    format!("both header slots are damaged: {slots:?}")
                },
            });
        }
    };
    if header.version > FORMAT_VERSION {
        return Err(Error::UnsupportedVersion {
            path: inner.path.clone(),
            version: header.version,
            supported: FORMAT_VERSION,
        });
    }
    let catalog = load_catalog(inner, &header).map_err(|e| match e {
        Error::Corrupt {
            path,
            context,
            source,
        } => Error::Corrupt {
            path,
            context: Some(format!(
                "{} of the commit in header slot {}",
                context.as_deref().unwrap_or("catalog"),
                slot_name(slot)
            )),
            source,
        },
        other => other,
    })?;
    Ok(Committed {
        catalog: Arc::new(catalog),
        header,
    })
}

/// "A" or "B".
pub(crate) fn slot_name(slot: usize) -> &'static str {
    if slot == 0 { "A" } else { "B" }
}

fn load_catalog(inner: &Inner, header: &Header) -> Result<Catalog> {
    load_catalog_from(&inner.path, inner.backend.as_ref(), header)
}

/// Reads, checks and decodes the catalog `header` points to.
pub(crate) fn load_catalog_from(
    path: &Path,
    backend: &dyn Backend,
    header: &Header,
) -> Result<Catalog> {
    let context = || Some("catalog".to_string());
    let io = |op| {
        move |source| Error::Io {
            path: path.to_path_buf(),
            op,
            source,
        }
    };
    let file_len = backend.len().map_err(io("reading"))?;
    if header.file_end > file_len {
        return Err(corrupt_at(
            path,
            context(),
            file_len,
            format!(
                "file ends at {file_len}, the header says {} (truncated?)",
                header.file_end
            ),
        ));
    }
    read_catalog(path, backend, header)
}

/// Reads, checks and decodes the catalog `header` points to, without checking
/// the file's length first (`verify` reports that on its own).
pub(crate) fn read_catalog(path: &Path, backend: &dyn Backend, header: &Header) -> Result<Catalog> {
    let context = || Some("catalog".to_string());
    let io = |op| {
        move |source| Error::Io {
            path: path.to_path_buf(),
            op,
            source,
        }
    };
    // Header::check put the catalog below file_end (and load_catalog_from
    // file_end below the file's length), so this allocation is bounded.
    let len = usize::try_from(header.catalog_len)
        .map_err(|_| corrupt_at(path, context(), header.catalog_offset, "catalog too large"))?;
    let mut buf = vec![0u8; len];
    backend
        .read_exact_at(&mut buf, header.catalog_offset)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                corrupt_at(
                    path,
                    context(),
                    header.catalog_offset,
                    "the file ends inside the catalog",
                )
            } else {
                io("reading catalog")(e)
            }
        })?;
    if crc32c(&buf) != header.catalog_crc {
        return Err(corrupt_at(
            path,
            context(),
            header.catalog_offset,
            "catalog checksum mismatch",
        ));
    }
    Catalog::decode(&buf, header.catalog_offset, header.file_end).map_err(|source| Error::Corrupt {
        path: path.to_path_buf(),
        context: context(),
        source,
    })
}

/// Appends the catalog at `end`, syncs, then writes and syncs header `sequence + 1`.
fn write_commit(inner: &Inner, catalog: &Catalog, end: u64, sequence: u64) -> Result<Header> {
    let blob = catalog.encode();
    let sequence_next = sequence.checked_add(1).ok_or_else(|| Error::Internal {
        what: "commit sequence number overflow".into(),
    })?;
    let file_end = end
        .checked_add(blob.len() as u64)
        .ok_or_else(|| Error::Internal {
            what: "file offset overflow".into(),
        })?;
    inner
        .backend
        .write_all_at(&blob, end)
        .map_err(inner.io("writing catalog"))?;
    inner.backend.sync().map_err(inner.io("syncing"))?;
    let header = Header {
        version: FORMAT_VERSION,
        sequence: sequence_next,
        catalog_offset: end,
        catalog_len: blob.len() as u64,
        file_end,
        catalog_crc: crc32c(&blob),
    };
    let slot = SLOT_OFFSETS[Header::slot_of(header.sequence)];
    inner
        .backend
        .write_all_at(&header.encode(), slot)
        .map_err(inner.io("writing header"))?;
    inner.backend.sync().map_err(inner.io("syncing"))?;
    Ok(header)
}

/// A consistent, read-only view of one commit.
#[derive(Debug, Clone)]
pub struct Snapshot {
    inner: Arc<Inner>,
    catalog: Arc<Catalog>,
}

impl Snapshot {
    /// The schema names, `public` first.
    pub fn schema_names(&self) -> Vec<String> {
        self.catalog.schemas.clone()
    }

    /// The names of the tables in `schema`.
    pub fn table_names(&self, schema: &str) -> Vec<String> {
        table_names(&self.catalog, schema)
    }

    /// Every table of this snapshot, also those of schemas the catalog does
    /// not list (only a damaged file has those).
    pub(crate) fn all_tables(&self) -> Vec<TableHandle> {
        self.catalog
            .tables
            .iter()
            .map(|entry| TableHandle {
                inner: self.inner.clone(),
                entry: entry.clone(),
            })
            .collect()
    }

    /// A table of this snapshot.
    pub fn table(&self, schema: &str, name: &str) -> Option<TableHandle> {
        let entry = self.catalog.table(schema, name)?.clone();
        Some(TableHandle {
            inner: self.inner.clone(),
            entry,
        })
    }
}

fn table_names(catalog: &Catalog, schema: &str) -> Vec<String> {
    catalog
        .tables
        .iter()
        .filter(|t| t.def.schema == schema)
        .map(|t| t.def.name.clone())
        .collect()
}

/// One table as of a snapshot or a transaction.
#[derive(Debug, Clone)]
pub struct TableHandle {
    inner: Arc<Inner>,
    entry: Arc<TableEntry>,
}

impl TableHandle {
    /// Name and columns.
    pub fn def(&self) -> &TableDef {
        &self.entry.def
    }

    /// Number of rows.
    pub fn row_count(&self) -> u64 {
        self.entry.rows
    }

    /// The rows, as batches of the columns in `projection` (indexes into the
    /// table's columns), in insertion order.
    ///
    /// # Errors
    /// `Internal` for a projection index past the table's columns.
    pub fn scan(&self, projection: &[usize]) -> Result<TableScan> {
        let columns = &self.entry.def.columns;
        if let Some(bad) = projection.iter().find(|i| **i >= columns.len()) {
            return Err(Error::Internal {
                what: format!("projection index {bad} of table {}", self.entry.def.name),
            });
        }
        let full = self.entry.def.arrow_schema();
        let schema = Arc::new(full.project(projection).map_err(|e| Error::Internal {
            what: e.to_string(),
        })?);
        Ok(TableScan {
            table: self.clone(),
            projection: projection.to_vec(),
            schema,
            next_chunk: 0,
        })
    }
}

/// An iterator over a table's rows, one chunk per batch.
#[derive(Debug)]
pub struct TableScan {
    table: TableHandle,
    projection: Vec<usize>,
    schema: SchemaRef,
    next_chunk: usize,
}

impl TableScan {
    /// The schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn read_chunk(&self, chunk: &Chunk) -> Result<RecordBatch> {
        let inner = &self.table.inner;
        let def = &self.table.entry.def;
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.projection.len());
        for &col in &self.projection {
            let column = &def.columns[col];
            let corrupt = |source| Error::Corrupt {
                path: inner.path.clone(),
                context: Some(format!(
                    "table \"{}\", column \"{}\"",
                    def.name, column.name
                )),
                source,
            };
            let extent = chunk.columns[col];
            let mut buf = vec![0u8; extent.len as usize];
            let context = format!("table \"{}\", column \"{}\"", def.name, column.name);
            inner.read_committed(&mut buf, extent.offset, &context)?;
            let array = decode_column(column.ty, &buf, extent.offset).map_err(corrupt)?;
            if let Some(what) = chunk_mismatch(column, array.as_ref(), chunk.rows) {
                return Err(corrupt(
                    hyperctl_format::ByteReader::new(&[], extent.offset).error(what),
                ));
            }
            arrays.push(array);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(chunk.rows as usize));
        RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options).map_err(|e| {
            Error::Internal {
                what: format!("building a batch of table {}: {e}", def.name),
            }
        })
    }
}

impl Iterator for TableScan {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let chunk = self.table.entry.chunks.get(self.next_chunk)?;
        self.next_chunk += 1;
        Some(self.read_chunk(chunk))
    }
}

/// Why a decoded column chunk does not fit its catalog entry, if it does not.
pub(crate) fn chunk_mismatch(
    column: &crate::catalog::ColumnDef,
    array: &dyn hyperctl_format::arrow::array::Array,
    rows: u32,
) -> Option<String> {
    if array.len() != rows as usize {
        return Some(format!(
            "column chunk holds {} rows, the catalog says {rows}",
            array.len()
        ));
    }
    if !column.nullable && array.null_count() > 0 {
        return Some(format!(
            "column chunk holds {} NULLs in a NOT NULL column",
            array.null_count()
        ));
    }
    None
}

/// The one write transaction. Changes are invisible to others until
/// [`WriteTxn::commit`]; dropping it rolls back.
pub struct WriteTxn {
    inner: Arc<Inner>,
    _guard: ArcMutexGuard<RawMutex, ()>,
    catalog: Catalog,
    end: u64,
    sequence: u64,
    dirty: bool,
}

impl std::fmt::Debug for WriteTxn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTxn")
            .field("path", &self.inner.path)
            .field("end", &self.end)
            .field("sequence", &self.sequence)
            .field("dirty", &self.dirty)
            .finish_non_exhaustive()
    }
}

impl WriteTxn {
    /// The schema names as this transaction sees them.
    pub fn schema_names(&self) -> Vec<String> {
        self.catalog.schemas.clone()
    }

    /// The tables of `schema` as this transaction sees them.
    pub fn table_names(&self, schema: &str) -> Vec<String> {
        table_names(&self.catalog, schema)
    }

    /// A table as this transaction sees it (with its own uncommitted rows).
    pub fn table(&self, schema: &str, name: &str) -> Option<TableHandle> {
        let entry = self.catalog.table(schema, name)?.clone();
        Some(TableHandle {
            inner: self.inner.clone(),
            entry,
        })
    }

    /// Creates a table.
    ///
    /// # Errors
    /// `SchemaNotFound`, `TableExists`, `InvalidTable` (duplicate column names).
    pub fn create_table(&mut self, def: TableDef) -> Result<()> {
        if !self.catalog.schemas.contains(&def.schema) {
            return Err(Error::SchemaNotFound { schema: def.schema });
        }
        if self.catalog.table(&def.schema, &def.name).is_some() {
            return Err(Error::TableExists {
                schema: def.schema,
                table: def.name,
            });
        }
        for (i, c) in def.columns.iter().enumerate() {
            if def.columns[..i].iter().any(|o| o.name == c.name) {
                return Err(Error::InvalidTable {
                    table: def.name.clone(),
                    reason: format!("column \"{}\" specified more than once", c.name),
                });
            }
        }
        self.catalog.tables.push(Arc::new(TableEntry {
            def,
            rows: 0,
            chunks: Vec::new(),
        }));
        self.dirty = true;
        Ok(())
    }

    /// Drops a table. Its space is reclaimed by a later VACUUM (issue 3).
    ///
    /// # Errors
    /// `TableNotFound`.
    pub fn drop_table(&mut self, schema: &str, name: &str) -> Result<()> {
        let index = self
            .catalog
            .table_index(schema, name)
            .ok_or_else(|| Error::TableNotFound {
                schema: schema.into(),
                table: name.into(),
            })?;
        self.catalog.tables.remove(index);
        self.dirty = true;
        Ok(())
    }

    /// Appends rows to a table. The batch's columns must be the table's, in
    /// order, with the Arrow types of their SQL types.
    ///
    /// # Errors
    /// `TableNotFound`, `SchemaMismatch`, `NullViolation`, `Io`.
    pub fn append(&mut self, schema: &str, name: &str, batch: &RecordBatch) -> Result<u64> {
        let index = self
            .catalog
            .table_index(schema, name)
            .ok_or_else(|| Error::TableNotFound {
                schema: schema.into(),
                table: name.into(),
            })?;
        let def = self.catalog.tables[index].def.clone();
        check_batch(&def, batch)?;
        let mut chunks = Vec::new();
        let mut start = 0;
        while start < batch.num_rows() {
            let len = CHUNK_ROWS_MAX.min(batch.num_rows() - start);
            chunks.push(self.write_chunk(&def, &batch.slice(start, len))?);
            start += len;
        }
        let entry = Arc::make_mut(&mut self.catalog.tables[index]);
        entry.rows += batch.num_rows() as u64;
        entry.chunks.extend(chunks);
        self.dirty = true;
        Ok(batch.num_rows() as u64)
    }

    fn write_chunk(&mut self, def: &TableDef, batch: &RecordBatch) -> Result<Chunk> {
        let mut extents = Vec::with_capacity(def.columns.len());
        for (column, array) in def.columns.iter().zip(batch.columns()) {
            let bytes =
                encode_column(column.ty, array.as_ref()).map_err(|source| Error::Encode {
                    table: def.name.clone(),
                    source,
                })?;
            let len = u32::try_from(bytes.len()).map_err(|_| Error::Internal {
                what: format!("column chunk of {} bytes", bytes.len()),
            })?;
            self.inner
                .backend
                .write_all_at(&bytes, self.end)
                .map_err(self.inner.io("writing"))?;
            extents.push(Extent {
                offset: self.end,
                len,
            });
            self.end += u64::from(len);
        }
        Ok(Chunk {
            rows: batch.num_rows() as u32,
            columns: extents,
        })
    }

    /// Makes the transaction's changes durable and visible. When it returns
    /// `Ok`, the changes survive a crash.
    ///
    /// # Errors
    /// `Io` when the file cannot be written or synced. The changes are then not
    /// visible to this handle, but may or may not be durable (a reopen shows
    /// them whole or not at all), and the handle is poisoned: later writes fail
    /// with `Poisoned` until the database is reopened.
    pub fn commit(self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let header = match write_commit(&self.inner, &self.catalog, self.end, self.sequence) {
            Ok(header) => header,
            Err(e) => {
                self.inner.poisoned.store(true, Ordering::Release);
                return Err(e);
            }
        };
        let mut committed = self.inner.committed.write();
        committed.catalog = Arc::new(self.catalog);
        committed.header = header;
        Ok(())
    }

    /// Discards the transaction's changes.
    pub fn rollback(self) {}
}

fn check_batch(def: &TableDef, batch: &RecordBatch) -> Result<()> {
    let mismatch = |reason: String| Error::SchemaMismatch {
        table: def.name.clone(),
        reason,
    };
    if batch.num_columns() != def.columns.len() {
        return Err(mismatch(format!(
            "{} columns given, the table has {}",
            batch.num_columns(),
            def.columns.len()
        )));
    }
    for (column, array) in def.columns.iter().zip(batch.columns()) {
        if array.data_type() != &column.ty.to_arrow() {
            return Err(mismatch(format!(
                "column \"{}\" is {} but got Arrow {}",
                column.name,
                column.ty,
                array.data_type()
            )));
        }
        if !column.nullable && array.null_count() > 0 {
            return Err(Error::NullViolation {
                table: def.name.clone(),
                column: column.name.clone(),
            });
        }
    }
    Ok(())
}

/// The schema of a projection of `def` (for callers that need it before scanning).
pub fn projected_schema(def: &TableDef, projection: &[usize]) -> SchemaRef {
    let full = def.arrow_schema();
    let fields: Vec<_> = projection
        .iter()
        .filter_map(|i| full.fields().get(*i).cloned())
        .collect();
    Arc::new(Schema::new(fields))
}
