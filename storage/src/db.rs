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
//! Invariant: readers only read extents below the committed `file_end` of
//! their snapshot; the writer only writes at or past it.

use std::fs::{File, OpenOptions as FsOpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyperctl_format::arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use hyperctl_format::arrow::datatypes::{Schema, SchemaRef};
use hyperctl_format::{crc32c, decode_column, encode_column};
use parking_lot::{Mutex, RawMutex, RwLock, lock_api::ArcMutexGuard};

use crate::backend::{Backend, FileBackend, MemBackend};
use crate::catalog::{CHUNK_ROWS_MAX, Catalog, Chunk, Extent, TableDef, TableEntry};
use crate::error::{Error, Result};
use crate::header::{DATA_START, FORMAT_VERSION, Header, SLOT_LEN, SLOT_OFFSETS, SlotError};

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
}

impl Inner {
    fn io(&self, op: &'static str) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Io {
            path: self.path.clone(),
            op,
            source,
        }
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
    /// `NotFound`, `AlreadyExists` as the create mode demands; `Locked` when
    /// another process holds the file; `NotADatabase`, `UnsupportedVersion`,
    /// `Corrupt` for files we cannot read; `Io` otherwise.
    pub fn open(path: impl AsRef<Path>, options: &OpenOptions) -> Result<Database> {
        let path = path.as_ref().to_path_buf();
        let (file, created) = open_file(&path, options)?;
        let backend = FileBackend::new(file);
        lock(&path, backend.file(), options.read_only)?;
        let replace = created || options.create_mode == CreateMode::CreateAndReplace;
        let io = |op| {
            let path = path.clone();
            move |source| Error::Io { path, op, source }
        };
        if replace {
            backend.set_len(0).map_err(io("truncating"))?;
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

    /// Opens a database on any backend; `init` writes a new empty database.
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
        };
        if init {
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
    /// `ReadOnly` on a read-only handle.
    pub fn begin_write(&self) -> Result<WriteTxn> {
        if self.inner.read_only {
            return Err(Error::ReadOnly {
                path: self.inner.path.clone(),
            });
        }
        let guard = self.inner.writer.lock_arc();
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

/// Reads both header slots and loads the newest commit whose catalog is intact.
fn recover(inner: &Inner) -> Result<Committed> {
    let mut candidates = Vec::new();
    let mut errors = Vec::new();
    for (slot, offset) in SLOT_OFFSETS.iter().enumerate() {
        let mut buf = [0u8; SLOT_LEN];
        match inner.backend.read_exact_at(&mut buf, *offset) {
            Ok(()) => match Header::decode(&buf) {
                Ok(h) => candidates.push(h),
                Err(e) => errors.push((slot, e)),
            },
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                errors.push((slot, SlotError::BadMagic))
            }
            Err(e) => return Err(inner.io("reading header")(e)),
        }
    }
    if candidates.is_empty() {
        let all_foreign = errors.iter().all(|(_, e)| *e == SlotError::BadMagic);
        return Err(Error::NotADatabase {
            path: inner.path.clone(),
            reason: if all_foreign {
                "no hyperctl header (wrong magic bytes)".into()
            } else {
                format!("both header slots are damaged: {errors:?}")
            },
        });
    }
    candidates.sort_by_key(|h| std::cmp::Reverse(h.sequence));
    let mut last_err = None;
    for header in candidates {
        if header.version > FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                path: inner.path.clone(),
                version: header.version,
                supported: FORMAT_VERSION,
            });
        }
        match load_catalog(inner, &header) {
            Ok(catalog) => {
                return Ok(Committed {
                    catalog: Arc::new(catalog),
                    header,
                });
            }
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| Error::Internal {
        what: "no header candidate and no error".into(),
    }))
}

fn load_catalog(inner: &Inner, header: &Header) -> Result<Catalog> {
    let corrupt = |source| Error::Corrupt {
        path: inner.path.clone(),
        context: Some("catalog".into()),
        source,
    };
    let len = usize::try_from(header.catalog_len).map_err(|_| {
        corrupt(
            hyperctl_format::ByteReader::new(&[], header.catalog_offset).error("catalog too large"),
        )
    })?;
    let file_len = inner.backend.len().map_err(inner.io("reading"))?;
    if header.file_end > file_len {
        return Err(corrupt(
            hyperctl_format::ByteReader::new(&[], file_len).error(format!(
                "file ends at {file_len}, the header says {}",
                header.file_end
            )),
        ));
    }
    let mut buf = vec![0u8; len];
    inner
        .backend
        .read_exact_at(&mut buf, header.catalog_offset)
        .map_err(inner.io("reading catalog"))?;
    if crc32c(&buf) != header.catalog_crc {
        return Err(corrupt(
            hyperctl_format::ByteReader::new(&[], header.catalog_offset)
                .error("catalog checksum mismatch"),
        ));
    }
    Catalog::decode(&buf, header.catalog_offset, header.file_end).map_err(corrupt)
}

/// Appends the catalog at `end`, syncs, then writes and syncs header `sequence + 1`.
fn write_commit(inner: &Inner, catalog: &Catalog, end: u64, sequence: u64) -> Result<Header> {
    let blob = catalog.encode();
    inner
        .backend
        .write_all_at(&blob, end)
        .map_err(inner.io("writing catalog"))?;
    inner.backend.sync().map_err(inner.io("syncing"))?;
    let header = Header {
        version: FORMAT_VERSION,
        sequence: sequence + 1,
        catalog_offset: end,
        catalog_len: blob.len() as u64,
        file_end: end + blob.len() as u64,
        catalog_crc: crc32c(&blob),
    };
    let slot = SLOT_OFFSETS[(header.sequence % 2) as usize];
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
            inner
                .backend
                .read_exact_at(&mut buf, extent.offset)
                .map_err(inner.io("reading"))?;
            let array = decode_column(column.ty, &buf, extent.offset).map_err(corrupt)?;
            if array.len() != chunk.rows as usize {
                return Err(corrupt(
                    hyperctl_format::ByteReader::new(&[], extent.offset).error(format!(
                        "column chunk holds {} rows, the catalog says {}",
                        array.len(),
                        chunk.rows
                    )),
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
    /// `Io` when the file cannot be written or synced; the changes are then not
    /// committed (and after a crash, not visible).
    pub fn commit(self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let header = write_commit(&self.inner, &self.catalog, self.end, self.sequence)?;
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
