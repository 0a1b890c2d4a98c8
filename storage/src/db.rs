//! The database handle: open and lock the file, recover, hand out snapshots
//! and the one write transaction, and make commits durable.
//!
//! Durability: a commit appends one record to the write-ahead log
//! (`wal.rs`) and returns after that record is synced; blocks of large
//! inserts were written to free space of the main file and synced before
//! it. Commits waiting at the same time share one sync (group commit): the
//! writer lock is released as soon as the record is written, and the first
//! waiter syncs for all. Readers see a commit only once it is durable.
//!
//! Checkpoint (`checkpoint.rs`): on close and when the log passes a size
//! threshold the state is written into the main file (tails frozen into
//! blocks, then the catalog) and a header slot is written (slots A/B
//! alternate, so a torn header write leaves the previous checkpoint); then
//! the log restarts. A clean close writes the last header into both slots
//! and removes the log, so a closed database is exactly one file.
//!
//! Recovery ([`recover`]): the valid header slot with the larger sequence
//! number, its catalog, then every valid record of the log whose salt is
//! that sequence number. Falling back to the older slot is right only after
//! a torn checkpoint, and that leaves the log of the older checkpoint
//! behind; a log of a *newer* checkpoint proves damage, and the open fails
//! with `Corrupt` instead of silently losing commits.
//!
//! An error while writing or syncing poisons the handle: whether the commit
//! is durable is unknown, so writes fail with `Poisoned` until a reopen.
//!
//! Invariant: only the writer (holding the writer lock) writes the main file
//! or the log; it writes the main file only into extents the allocator gave
//! it, which no durable state and no live snapshot uses.

use std::fs::{File, OpenOptions as FsOpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use hyperctl_format::crc32c;
use parking_lot::{Mutex, RwLock};

use crate::alloc::Allocator;
use crate::backend::{Backend, FileBackend, MemBackend};
use crate::catalog::{Catalog, Extent, TableEntry, Tail};
use crate::error::{Error, Result};
use crate::header::{
    DATA_START, FORMAT_VERSION, Header, SLOT_OFFSETS, SlotError, SlotState, choose_slot, read_slot,
};
use crate::pool::BufferPool;
use crate::scan::Snapshot;
use crate::txn::WriteTxn;
use crate::verify::{self, VerifyReport};
use crate::wal::{self, Op, TAIL, WAL_HEADER_LEN};

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

/// The smallest default memory budget of the buffer pool (decoded blocks);
/// the default is a quarter of the machine's memory when that is more
/// ([`OpenOptions::memory_budget`]).
pub const DEFAULT_MEMORY_BUDGET: usize = 512 << 20;

/// A quarter of physical memory (Linux: `MemTotal` of `/proc/meminfo`),
/// at least [`DEFAULT_MEMORY_BUDGET`] but at most half of it; the floor
/// where the size is unknown.
fn default_memory_budget() -> usize {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| mem_total_bytes(&m));
    budget_for(total)
}

/// The default budget on a machine of `total` bytes of memory.
fn budget_for(total: Option<usize>) -> usize {
    match total {
        Some(total) => (total / 4).max(DEFAULT_MEMORY_BUDGET.min(total / 2)),
        None => DEFAULT_MEMORY_BUDGET,
    }
}

/// `MemTotal:  24586412 kB` in `/proc/meminfo`, in bytes.
fn mem_total_bytes(meminfo: &str) -> Option<usize> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}
/// The default log size past which a commit triggers a checkpoint.
pub const DEFAULT_CHECKPOINT_WAL_BYTES: u64 = 64 << 20;

/// How to open a database.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    pub(crate) create_mode: CreateMode,
    pub(crate) read_only: bool,
    pub(crate) memory_budget: usize,
    pub(crate) checkpoint_wal_bytes: u64,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            create_mode: CreateMode::None,
            read_only: false,
            memory_budget: default_memory_budget(),
            checkpoint_wal_bytes: DEFAULT_CHECKPOINT_WAL_BYTES,
        }
    }
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

    /// Bytes of decoded blocks the buffer pool may hold (default: a quarter
    /// of the machine's memory, at least 512 MiB or half of it).
    /// Tables larger than this (and than RAM) still work: their blocks are
    /// read, used and evicted.
    pub fn memory_budget(mut self, bytes: usize) -> Self {
        self.memory_budget = bytes;
        self
    }

    /// Log size in bytes past which a commit checkpoints (default 64 MiB).
    pub fn checkpoint_wal_bytes(mut self, bytes: u64) -> Self {
        self.checkpoint_wal_bytes = bytes;
        self
    }
}

/// The writer's state, behind the writer lock.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The newest state: committed to the log, maybe not yet synced.
    pub(crate) head: Arc<Catalog>,
    pub(crate) alloc: Allocator,
    /// The header of the last checkpoint (its sequence is the log's salt and
    /// the allocator's generation).
    pub(crate) header: Header,
    /// Where the next log record goes.
    pub(crate) wal_end: u64,
    pub(crate) next_lsn: u64,
    pub(crate) next_version: u64,
}

impl Shared {
    pub(crate) fn new_version(&mut self) -> u64 {
        self.next_version += 1;
        self.next_version
    }
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) path: PathBuf,
    /// The log's path when it is a real file (removed on clean close).
    pub(crate) wal_path: Option<PathBuf>,
    pub(crate) main: Box<dyn Backend>,
    pub(crate) wal: Box<dyn Backend>,
    pub(crate) read_only: bool,
    pub(crate) options: OpenOptions,
    /// What readers see: the newest durable state.
    pub(crate) published: RwLock<Arc<Catalog>>,
    pub(crate) writer: Arc<Mutex<Shared>>,
    /// End of what has been written to the log.
    pub(crate) wal_written: AtomicU64,
    /// End of what has been synced (and the group-commit leader lock).
    pub(crate) wal_durable: Mutex<u64>,
    /// States written to the log and waiting for their sync: (log end, state).
    pub(crate) unsynced: Mutex<Vec<(u64, Arc<Catalog>)>>,
    /// Every state handed out, to know the oldest one still alive.
    pub(crate) versions: Mutex<Vec<Weak<Catalog>>>,
    pub(crate) pool: BufferPool,
    pub(crate) poisoned: AtomicBool,
}

impl Inner {
    pub(crate) fn io(&self, op: &'static str) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Io {
            path: self.path.clone(),
            op,
            source,
        }
    }

    pub(crate) fn poison(&self) {
        self.poisoned.store(true, Ordering::Release);
    }

    /// Reads `buf.len()` bytes of the main file at `offset`; a file that ends
    /// before them is damaged (truncated), not an OS error.
    pub(crate) fn read_main(&self, buf: &mut [u8], offset: u64, what: &str) -> Result<()> {
        self.main.read_exact_at(buf, offset).map_err(|e| {
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

    /// Remembers a new state for [`Inner::min_live_version`].
    pub(crate) fn register(&self, state: &Arc<Catalog>) {
        let mut v = self.versions.lock();
        v.retain(|w| w.strong_count() > 0);
        v.push(Arc::downgrade(state));
    }

    /// The oldest version any snapshot, scan or the writer still holds.
    pub(crate) fn min_live_version(&self) -> u64 {
        let mut v = self.versions.lock();
        v.retain(|w| w.strong_count() > 0);
        v.iter()
            .filter_map(|w| w.upgrade().map(|s| s.version))
            .min()
            .unwrap_or(u64::MAX)
    }

    /// Returns once the log is durable up to `end` (group commit: one
    /// sync for every record written so far), then publishes the newest
    /// durable state to readers.
    pub(crate) fn sync_wal_to(&self, end: u64) -> Result<()> {
        let mut durable = self.wal_durable.lock();
        if *durable >= end {
            return Ok(());
        }
        let target = self.wal_written.load(Ordering::Acquire);
        if let Err(e) = self.wal.sync() {
            self.poison();
            return Err(self.io("syncing the log")(e));
        }
        *durable = target;
        let newest = {
            let mut unsynced = self.unsynced.lock();
            let split = unsynced.partition_point(|(e, _)| *e <= target);
            unsynced.drain(..split).next_back().map(|(_, s)| s)
        };
        if let Some(state) = newest {
            *self.published.write() = state;
        }
        Ok(())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.read_only || self.poisoned.load(Ordering::Acquire) {
            return;
        }
        let writer = self.writer.clone();
        let mut shared = writer.lock();
        if crate::checkpoint::close(self, &mut shared).is_ok()
            && let Some(wal_path) = &self.wal_path
            && std::fs::remove_file(wal_path).is_ok()
        {
            let _ = sync_parent_dir(wal_path);
        }
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

/// The log's path beside a database file: `NAME.hxe-wal`.
pub fn wal_path_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// An open database file. Cheap to clone; the file stays locked until the last
/// clone (and every snapshot and transaction of it) is dropped, and then it is
/// checkpointed and its log removed.
#[derive(Debug, Clone)]
pub struct Database {
    pub(crate) inner: Arc<Inner>,
}

impl Database {
    /// Opens (or creates) the database at `path` and locks it: exclusively for
    /// writing, shared when read-only. A log left by a crash is replayed.
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
        // A creation that was interrupted (a crash or a kill before the
        // first header was written) left a file that never held a
        // database: it is created again rather than refused.
        let unborn = !created
            && !options.read_only
            && interrupted_creation(&backend).map_err(|source| Error::Io {
                path: path.clone(),
                op: "reading",
                source,
            })?;
        let created = created || unborn;
        let replace = created || options.create_mode == CreateMode::CreateAndReplace;
        if replace && options.read_only {
            return Err(Error::ReadOnly { path });
        }
        let wal_path = wal_path_of(&path);
        let io = |op| {
            let p = wal_path.clone();
            move |source| Error::Io {
                path: p,
                op,
                source,
            }
        };
        let wal: Box<dyn Backend> = if options.read_only {
            match File::open(&wal_path) {
                Ok(f) => Box::new(FileBackend::new(f)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Box::new(MemBackend::new()),
                Err(e) => return Err(io("opening the log")(e)),
            }
        } else {
            let existed = wal_path.try_exists().map_err(io("checking the log"))?;
            let f = FsOpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&wal_path)
                .map_err(io("opening the log"))?;
            if !existed {
                sync_parent_dir(&wal_path)?;
            }
            Box::new(FileBackend::new(f))
        };
        let db = Self::open_backends(
            path.clone(),
            Box::new(backend),
            wal,
            Some(wal_path).filter(|_| !options.read_only),
            options,
            replace,
        )?;
        if created {
            sync_parent_dir(&path)?;
        }
        Ok(db)
    }

    /// A new, empty database in memory (for tests and scratch work).
    pub fn in_memory() -> Database {
        Self::from_backends(
            PathBuf::from(":memory:"),
            Box::new(MemBackend::new()),
            Box::new(MemBackend::new()),
            &OpenOptions::new(),
            true,
        )
        .expect("initialising an in-memory database cannot fail")
    }

    /// Opens a database whose main file and log are `main` and `wal`; `init`
    /// replaces whatever they hold with a new empty database.
    ///
    /// # Errors
    /// As [`Database::open`].
    pub fn from_backends(
        path: PathBuf,
        main: Box<dyn Backend>,
        wal: Box<dyn Backend>,
        options: &OpenOptions,
        init: bool,
    ) -> Result<Database> {
        Self::open_backends(path, main, wal, None, options, init)
    }

    fn open_backends(
        path: PathBuf,
        main: Box<dyn Backend>,
        wal: Box<dyn Backend>,
        wal_path: Option<PathBuf>,
        options: &OpenOptions,
        init: bool,
    ) -> Result<Database> {
        let empty = Arc::new(Catalog::default());
        let inner = Inner {
            path,
            wal_path,
            main,
            wal,
            read_only: options.read_only,
            options: *options,
            published: RwLock::new(empty.clone()),
            writer: Arc::new(Mutex::new(Shared {
                head: empty,
                alloc: Allocator::default(),
                header: empty_header(),
                wal_end: WAL_HEADER_LEN,
                next_lsn: 1,
                next_version: 0,
            })),
            wal_written: AtomicU64::new(WAL_HEADER_LEN),
            wal_durable: Mutex::new(WAL_HEADER_LEN),
            unsynced: Mutex::new(Vec::new()),
            versions: Mutex::new(Vec::new()),
            pool: BufferPool::new(options.memory_budget),
            poisoned: AtomicBool::new(false),
        };
        if init {
            crate::checkpoint::initialize(&inner)?;
        }
        let shared = match recover(&inner) {
            Ok(shared) => shared,
            Err(e) => {
                // Nothing to checkpoint on the way out.
                inner.poison();
                return Err(e);
            }
        };
        let head = shared.head.clone();
        inner.register(&head);
        *inner.published.write() = head;
        inner.wal_written.store(shared.wal_end, Ordering::Release);
        *inner.wal_durable.lock() = shared.wal_end;
        *inner.writer.lock() = shared;
        Ok(Database {
            inner: Arc::new(inner),
        })
    }

    /// The file this database lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// A consistent view of the last durable commit.
    pub fn snapshot(&self) -> Snapshot {
        let catalog = self.inner.published.read().clone();
        Snapshot::new(self.inner.clone(), catalog)
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
        let mut guard = self.inner.writer.lock_arc();
        if self.inner.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned {
                path: self.inner.path.clone(),
            });
        }
        let generation = guard.header.sequence;
        let min_live = self.inner.min_live_version();
        for e in guard.alloc.reclaim(generation, min_live) {
            self.inner.pool.forget_range(e);
        }
        Ok(WriteTxn::new(self.inner.clone(), guard))
    }

    /// Writes everything committed into the main file and restarts the log
    /// (done on close and when the log grows past its threshold anyway).
    ///
    /// # Errors
    /// `ReadOnly`, `Poisoned`, `Io`.
    pub fn checkpoint(&self) -> Result<()> {
        let txn = self.begin_write()?;
        let (inner, mut guard) = txn.into_parts();
        crate::checkpoint::checkpoint(&inner, &mut guard)
    }

    /// Rewrites blocks with deleted rows, drops emptied ones, moves blocks
    /// into the holes that dropped tables and deleted rows left, and cuts
    /// the file. Space that an older snapshot still reads is kept.
    ///
    /// # Errors
    /// `ReadOnly`, `Poisoned`, `Io`, `Corrupt` (a damaged block cannot be
    /// rewritten).
    pub fn vacuum(&self) -> Result<VacuumReport> {
        let txn = self.begin_write()?;
        let (inner, mut guard) = txn.into_parts();
        crate::checkpoint::vacuum(&inner, &mut guard)
    }

    /// Sizes and state of the file, its log and its buffer pool. Waits for
    /// a running write transaction of this handle to end (so do not call it
    /// on the thread that holds one).
    ///
    /// # Errors
    /// `Io`.
    pub fn stats(&self) -> Result<DatabaseStats> {
        let shared = self.inner.writer.lock();
        let (pool_bytes, pool_budget, pool_hits, pool_misses) = self.inner.pool.usage();
        Ok(DatabaseStats {
            file_bytes: self.inner.main.len().map_err(self.inner.io("reading"))?,
            wal_bytes: self
                .inner
                .wal
                .len()
                .map_err(self.inner.io("reading the log"))?,
            wal_records: shared.next_lsn - 1,
            checkpoint_sequence: shared.header.sequence,
            free_bytes: shared.alloc.free_bytes(),
            pending_free_bytes: shared.alloc.pending_bytes(),
            pool_bytes,
            pool_budget,
            pool_hits,
            pool_misses,
        })
    }

    /// Checks the whole file as it is on disk (see [`VerifyReport`]). Run it
    /// after a checkpoint to check what a close would leave.
    pub fn verify(&self) -> VerifyReport {
        verify::verify_backend(&self.inner.path, self.inner.main.as_ref())
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
        let mut report = verify::verify_backend(&path, &backend);
        let wal_path = wal_path_of(&path);
        if let Ok(f) = File::open(&wal_path) {
            verify::check_wal(&mut report, &FileBackend::new(f));
        }
        Ok(report)
    }

    /// Every byte range that the current checkpoint needs, with what it holds
    /// (for corruption tests: a damaged byte anywhere else must not matter).
    pub(crate) fn live_extents(&self) -> Vec<(std::ops::Range<u64>, String)> {
        let shared = self.inner.writer.lock();
        let header = shared.header;
        let mut out = Vec::new();
        for (slot, &o) in SLOT_OFFSETS.iter().enumerate() {
            out.push((
                o..o + crate::header::SLOT_LEN as u64,
                format!("header slot {}", slot_name(slot)),
            ));
        }
        out.push((
            header.catalog_offset..header.catalog_offset + header.catalog_len,
            "catalog".to_string(),
        ));
        for table in &shared.head.tables {
            for (i, block) in table.blocks.iter().enumerate() {
                for (c, column) in block.columns.iter().zip(&table.def.columns) {
                    let what = format!(
                        "{}.{} block {i} column {}",
                        table.def.schema, table.def.name, column.name
                    );
                    out.push((c.extent.offset..c.extent.end(), what));
                }
            }
        }
        out
    }
}

/// What [`Database::vacuum`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct VacuumReport {
    /// File size before.
    pub bytes_before: u64,
    /// File size after.
    pub bytes_after: u64,
    /// Blocks rewritten (they had deleted rows).
    pub blocks_rewritten: u64,
    /// Blocks dropped (all their rows were deleted).
    pub blocks_dropped: u64,
    /// Column extents moved towards the start of the file.
    pub extents_moved: u64,
}

/// Sizes and state (for `hyperctl info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatabaseStats {
    /// Main file size.
    pub file_bytes: u64,
    /// Log size (0 when there is none).
    pub wal_bytes: u64,
    /// Commits in the log since the last checkpoint.
    pub wal_records: u64,
    /// Sequence number of the last checkpoint.
    pub checkpoint_sequence: u64,
    /// Free bytes inside the file (VACUUM returns them).
    pub free_bytes: u64,
    /// Bytes that become free after the next checkpoint.
    pub pending_free_bytes: u64,
    /// Bytes of decoded blocks in the buffer pool.
    pub pool_bytes: usize,
    /// The pool's budget.
    pub pool_budget: usize,
    /// Pool lookups that found their block.
    pub pool_hits: u64,
    /// Pool lookups that decoded it.
    pub pool_misses: u64,
}

pub(crate) fn empty_header() -> Header {
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

/// Whether a file is what an interrupted creation leaves: empty, or zeros
/// where the header slots go and at most an empty catalog after them
/// (`initialize` truncates, writes the catalog, then the header slots).
fn interrupted_creation(backend: &FileBackend) -> std::io::Result<bool> {
    /// Room for the catalog blob of an empty database.
    const EMPTY_CATALOG_MAX: u64 = 64;
    let len = backend.len()?;
    if len > DATA_START + EMPTY_CATALOG_MAX {
        return Ok(false);
    }
    let mut head = vec![0u8; len.min(DATA_START) as usize];
    backend.read_exact_at(&mut head, 0)?;
    Ok(head.iter().all(|b| *b == 0))
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

pub(crate) fn sync_parent_dir(path: &Path) -> Result<()> {
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

/// Reads the header slots, the catalog and the log (rules: module docs).
fn recover(inner: &Inner) -> Result<Shared> {
    let mut slots = [SlotState::Unused, SlotState::Unused];
    for (slot, state) in slots.iter_mut().enumerate() {
        *state = read_slot(inner.main.as_ref(), slot).map_err(inner.io("reading header"))?;
    }
    let wal_scan = wal::scan(inner.wal.as_ref()).map_err(|e| Error::Io {
        path: wal_path_of(&inner.path),
        op: "reading the log",
        source: e,
    })?;
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
    if wal_scan.salt.is_some_and(|salt| salt > header.sequence) {
        let other = 1 - slot;
        return Err(corrupt_at(
            &inner.path,
            Some(format!("header slot {}", slot_name(other))),
            SLOT_OFFSETS[other],
            format!(
                "the newest checkpoint ({}) is unreadable: its header slot is damaged \
                 (the log continues checkpoint {}); restore from a backup or run \
                 `hyperctl check`",
                header.sequence + 1,
                wal_scan.salt.unwrap_or_default()
            ),
        ));
    }
    let file_len = inner.main.len().map_err(inner.io("reading"))?;
    let mut catalog =
        load_catalog_from(&inner.path, inner.main.as_ref(), &header).map_err(|e| match e {
            Error::Corrupt {
                path,
                context,
                source,
            } => Error::Corrupt {
                path,
                context: Some(format!(
                    "{} of the checkpoint in header slot {}",
                    context.as_deref().unwrap_or("catalog"),
                    slot_name(slot)
                )),
                source,
            },
            other => other,
        })?;
    let mut used: Vec<Extent> = catalog.block_extents().collect();
    used.push(Extent {
        offset: header.catalog_offset,
        len: u32::try_from(header.catalog_len).unwrap_or(u32::MAX),
    });
    let mut wal_blocks: Vec<Extent> = Vec::new();
    let replay = wal_scan.salt == Some(header.sequence);
    let mut wal_end = WAL_HEADER_LEN;
    let mut next_lsn = 1;
    if replay {
        for (lsn, at, payload) in &wal_scan.records {
            let wal_corrupt = |what: String| Error::Corrupt {
                path: wal_path_of(&inner.path),
                context: Some(format!("log record {lsn}")),
                source: hyperctl_format::ByteReader::new(&[], *at).error(what),
            };
            let ops = wal::decode_ops(payload, *at, file_len).map_err(|e| Error::Corrupt {
                path: wal_path_of(&inner.path),
                context: Some(format!("log record {lsn}")),
                source: e,
            })?;
            for op in ops {
                if let Op::AddBlock { block, .. } = &op {
                    wal_blocks.extend(block.columns.iter().map(|c| c.extent));
                }
                apply(&mut catalog, op).map_err(wal_corrupt)?;
            }
            next_lsn = lsn + 1;
        }
        wal_end = wal_scan.end;
    }
    used.extend(wal_blocks.iter().copied());
    let mut alloc = Allocator::from_used(DATA_START, used);
    // Blocks that the log added and then dropped again stay reserved until
    // the next checkpoint (a replay of the log names them).
    let live: std::collections::HashSet<Extent> = catalog.block_extents().collect();
    catalog.version = 1;
    for e in wal_blocks.into_iter().filter(|e| !live.contains(e)) {
        alloc.defer(e, 1, header.sequence);
    }
    if !inner.read_only {
        let wal_io = |op| {
            move |source| Error::Io {
                path: wal_path_of(&inner.path),
                op,
                source,
            }
        };
        if !replay {
            inner
                .wal
                .write_all_at(&wal::encode_header(header.sequence), 0)
                .map_err(wal_io("writing the log"))?;
            inner
                .wal
                .set_len(WAL_HEADER_LEN)
                .map_err(wal_io("truncating the log"))?;
            inner.wal.sync().map_err(wal_io("syncing the log"))?;
        } else if wal_scan.garbage > 0 {
            inner
                .wal
                .set_len(wal_end)
                .map_err(wal_io("truncating the log"))?;
            inner.wal.sync().map_err(wal_io("syncing the log"))?;
        }
    }
    Ok(Shared {
        head: Arc::new(catalog),
        alloc,
        header,
        wal_end,
        next_lsn,
        next_version: 1,
    })
}

/// Applies one logged change to a state (recovery; and the write
/// transaction for the changes it logs as they are).
///
/// # Errors
/// What does not fit the state (a damaged or foreign log).
pub(crate) fn apply(catalog: &mut Catalog, op: Op) -> std::result::Result<(), String> {
    let table = |catalog: &mut Catalog, id: u64| -> std::result::Result<usize, String> {
        catalog
            .table_index_by_id(id)
            .ok_or_else(|| format!("the log names table id {id}, which does not exist"))
    };
    match op {
        Op::CreateSchema { name } => {
            if !catalog.schemas.contains(&name) {
                catalog.schemas.push(name);
            }
        }
        Op::DropSchema { name } => {
            if catalog.tables.iter().any(|t| t.def.schema == name) {
                return Err(format!("the log drops schema {name}, which has tables"));
            }
            catalog.schemas.retain(|s| *s != name);
        }
        Op::CreateTable { id, def } => {
            if catalog.table_index_by_id(id).is_some() {
                return Err(format!("the log creates table id {id} twice"));
            }
            catalog.next_table_id = catalog.next_table_id.max(id + 1);
            catalog.tables.push(Arc::new(TableEntry::new(id, def)));
        }
        Op::DropTable { id } => {
            let i = table(catalog, id)?;
            catalog.tables.remove(i);
        }
        Op::RenameTable { id, schema, name } => {
            let i = table(catalog, id)?;
            let t = Arc::make_mut(&mut catalog.tables[i]);
            t.def.schema = schema;
            t.def.name = name;
        }
        Op::AddBlock {
            table: id,
            consumed,
            block,
        } => {
            let i = table(catalog, id)?;
            let t = Arc::make_mut(&mut catalog.tables[i]);
            if block.columns.len() != t.def.columns.len() {
                return Err(format!(
                    "a block of {} columns for table {} of {}",
                    block.columns.len(),
                    t.def.name,
                    t.def.columns.len()
                ));
            }
            if consumed > t.tail.rows || consumed > block.rows {
                return Err(format!(
                    "a block consumes {consumed} tail rows of table {}, which has {}",
                    t.def.name, t.tail.rows
                ));
            }
            let tail = Arc::make_mut(&mut t.tail);
            drop_tail_prefix(tail, consumed);
            tail.logged = tail.rows;
            t.blocks.push(Arc::new(block));
        }
        Op::AppendTail {
            table: id,
            rows,
            columns,
            deleted,
        } => {
            let i = table(catalog, id)?;
            let t = Arc::make_mut(&mut catalog.tables[i]);
            if columns.len() != t.def.columns.len() {
                return Err(format!("tail rows of {} columns", columns.len()));
            }
            let mut arrays = Vec::with_capacity(columns.len());
            for (bytes, column) in columns.iter().zip(&t.def.columns) {
                let a = hyperctl_format::decode_column(column.ty, bytes, 0)
                    .map_err(|e| format!("tail column {}: {e}", column.name))?;
                if a.len() != rows as usize || (!column.nullable && a.null_count() > 0) {
                    return Err(format!("tail column {} does not fit", column.name));
                }
                arrays.push(a);
            }
            let options = hyperctl_format::arrow::array::RecordBatchOptions::new()
                .with_row_count(Some(rows as usize));
            let batch = hyperctl_format::arrow::array::RecordBatch::try_new_with_options(
                t.def.arrow_schema(),
                arrays,
                &options,
            )
            .map_err(|e| e.to_string())?;
            let tail = Arc::make_mut(&mut t.tail);
            if u64::from(tail.rows) + u64::from(rows) > u64::from(u32::MAX) {
                return Err("tail too long".into());
            }
            tail.deleted.union_with(&deleted.shifted(tail.rows));
            tail.batches.push(batch);
            tail.rows += rows;
            tail.logged = tail.rows;
        }
        Op::Delete {
            table: id,
            block,
            rows,
        } => {
            let i = table(catalog, id)?;
            let t = Arc::make_mut(&mut catalog.tables[i]);
            if block == TAIL {
                let tail = Arc::make_mut(&mut t.tail);
                if rows.iter().any(|r| r >= tail.rows) {
                    return Err("deleted tail rows past the tail".into());
                }
                tail.deleted.union_with(&rows);
            } else {
                let b = t.blocks.get_mut(block as usize).ok_or_else(|| {
                    format!("deleted rows of block {block}, which does not exist")
                })?;
                if rows.iter().any(|r| r >= b.rows) {
                    return Err(format!("deleted rows past the end of block {block}"));
                }
                Arc::make_mut(b).deleted.union_with(&rows);
            }
        }
        Op::Truncate { table: id } => {
            let i = table(catalog, id)?;
            let t = Arc::make_mut(&mut catalog.tables[i]);
            t.blocks.clear();
            t.tail = Arc::new(Tail::default());
        }
    }
    Ok(())
}

/// Removes the first `n` rows (and their deletion marks) from a tail.
pub(crate) fn drop_tail_prefix(tail: &mut Tail, n: u32) {
    if n == 0 {
        return;
    }
    let mut skip = n as usize;
    let mut kept = Vec::with_capacity(tail.batches.len());
    for b in tail.batches.drain(..) {
        if skip >= b.num_rows() {
            skip -= b.num_rows();
        } else {
            kept.push(b.slice(skip, b.num_rows() - skip));
            skip = 0;
        }
    }
    tail.batches = kept;
    tail.rows -= n;
    tail.deleted = tail.deleted.slice(n, tail.rows);
    tail.logged = tail.logged.saturating_sub(n);
}

/// "A" or "B".
pub(crate) fn slot_name(slot: usize) -> &'static str {
    if slot == 0 { "A" } else { "B" }
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
    let file_len = backend.len().map_err(io("reading"))?;
    if header.catalog_offset.saturating_add(header.catalog_len) > file_len {
        return Err(corrupt_at(
            path,
            context(),
            header.catalog_offset,
            "the file ends inside the catalog",
        ));
    }
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
    Catalog::decode(&buf, header.catalog_offset, file_len).map_err(|source| Error::Corrupt {
        path: path.to_path_buf(),
        context: context(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_budget_is_a_quarter_of_memory_total() {
        let meminfo = "MemTotal:       24586412 kB\nMemFree:        1 kB\n";
        assert_eq!(mem_total_bytes(meminfo), Some(24_586_412 * 1024));
        assert_eq!(mem_total_bytes("MemFree: 1 kB\n"), None);
        assert_eq!(mem_total_bytes("MemTotal: lots kB\n"), None);
        let gib = 1usize << 30;
        assert_eq!(budget_for(Some(24 * gib)), 6 * gib);
        // Small machines: 512 MiB, but never more than half of memory.
        assert_eq!(budget_for(Some(gib)), DEFAULT_MEMORY_BUDGET);
        assert_eq!(budget_for(Some(gib / 2)), gib / 4);
        assert_eq!(budget_for(None), DEFAULT_MEMORY_BUDGET);
    }
}
