//! The write transaction: changes against a private copy of the newest
//! state, logged as [`Op`]s and made durable by one log record at commit.
//!
//! Appended rows go to the table's tail. When a tail reaches a full block
//! the transaction freezes it at once: the block is compressed and written
//! into free space of the main file, and only its location is logged (so a
//! large import writes its data once, and memory stays bounded). The rows
//! still in a tail at commit are logged with the commit.
//!
//! Row positions: a table's rows are numbered across its blocks, then its
//! tail. Positions stay put during a transaction (freezing keeps the
//! order); checkpoints and VACUUM renumber. Deletes name positions.
//!
//! Invariant: every change to `catalog` is either logged in `ops` in the
//! order made, or is to rows the transaction appended itself (the tail
//! past `logged`), which reach the log with the block or tail record that
//! carries them.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use hyperctl_format::arrow::array::RecordBatch;
use hyperctl_format::arrow::compute::concat_batches;
use hyperctl_format::encode_column;
use parking_lot::{Mutex, RawMutex, lock_api::ArcMutexGuard};

use crate::catalog::{BLOCK_ROWS_MAX, Catalog, Extent, TableDef, TableEntry, Tail};
use crate::checkpoint;
use crate::db::{Inner, Shared, apply, drop_tail_prefix};
use crate::error::{Error, Result};
use crate::rowset::RowSet;
use crate::scan::TableHandle;
use crate::wal::{self, Op, TAIL};

/// A full tail taken off its table (see [`WriteTxn::cut_tail`]).
#[derive(Debug)]
pub(crate) struct CutTail {
    pub(crate) batches: Vec<RecordBatch>,
    pub(crate) deleted: RowSet,
    /// Rows of it that were in the log already.
    pub(crate) consumed: u32,
    pub(crate) rows: u32,
}

/// The one write transaction. Changes are invisible to others until
/// [`WriteTxn::commit`]; dropping it rolls back.
pub struct WriteTxn {
    inner: Arc<Inner>,
    guard: Option<ArcMutexGuard<RawMutex, Shared>>,
    catalog: Catalog,
    ops: Vec<Op>,
    /// Extents this transaction wrote (freed again on rollback).
    written: Vec<Extent>,
    /// Whether blocks may have left the state (drop, truncate).
    may_free: bool,
    /// The states handed out with [`WriteTxn::table`] (their handles may
    /// outlive the transaction, and read its blocks).
    views: Mutex<Vec<Weak<Catalog>>>,
    /// Whether anything changed.
    dirty: bool,
}

impl std::fmt::Debug for WriteTxn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTxn")
            .field("path", &self.inner.path)
            .field("ops", &self.ops.len())
            .field("dirty", &self.dirty)
            .finish_non_exhaustive()
    }
}

impl WriteTxn {
    pub(crate) fn new(inner: Arc<Inner>, guard: ArcMutexGuard<RawMutex, Shared>) -> Self {
        let catalog = (*guard.head).clone();
        Self {
            inner,
            guard: Some(guard),
            catalog,
            ops: Vec::new(),
            written: Vec::new(),
            may_free: false,
            views: Mutex::new(Vec::new()),
            dirty: false,
        }
    }

    /// The database and the writer lock, without a transaction (for
    /// checkpoint and vacuum).
    pub(crate) fn into_parts(mut self) -> (Arc<Inner>, ArcMutexGuard<RawMutex, Shared>) {
        let guard = self
            .guard
            .take()
            .expect("a live transaction holds the lock");
        (self.inner.clone(), guard)
    }

    fn shared(&mut self) -> &mut Shared {
        self.guard
            .as_mut()
            .expect("a live transaction holds the lock")
    }

    /// The schema names as this transaction sees them.
    pub fn schema_names(&self) -> Vec<String> {
        self.catalog.schemas.clone()
    }

    /// The tables of `schema` as this transaction sees them.
    pub fn table_names(&self, schema: &str) -> Vec<String> {
        crate::scan::table_names(&self.catalog, schema)
    }

    /// A table as this transaction sees it (with its own uncommitted rows).
    pub fn table(&self, schema: &str, name: &str) -> Option<TableHandle> {
        let index = self.catalog.table_index(schema, name)?;
        // Registered like a snapshot: a handle kept after the transaction
        // must keep the space it reads from being reused.
        let state = Arc::new(self.catalog.clone());
        self.inner.register(&state);
        self.views.lock().push(Arc::downgrade(&state));
        Some(TableHandle::new(self.inner.clone(), state, index))
    }

    fn log(&mut self, op: Op) -> Result<()> {
        apply(&mut self.catalog, op.clone()).map_err(|what| Error::Internal { what })?;
        self.ops.push(op);
        self.dirty = true;
        Ok(())
    }

    fn index(&self, schema: &str, name: &str) -> Result<usize> {
        self.catalog
            .table_index(schema, name)
            .ok_or_else(|| Error::TableNotFound {
                schema: schema.into(),
                table: name.into(),
            })
    }

    /// Creates a schema (no error if it exists).
    ///
    /// # Errors
    /// `Internal` only.
    pub fn create_schema(&mut self, name: &str) -> Result<()> {
        if self.catalog.schemas.iter().any(|s| s == name) {
            return Ok(());
        }
        self.log(Op::CreateSchema { name: name.into() })
    }

    /// Drops a schema that has no tables (the caller drops them first for
    /// CASCADE).
    ///
    /// # Errors
    /// `SchemaNotFound`; `InvalidTable` while a table is in it.
    pub fn drop_schema(&mut self, name: &str) -> Result<()> {
        if !self.catalog.schemas.iter().any(|s| s == name) {
            return Err(Error::SchemaNotFound {
                schema: name.into(),
            });
        }
        if let Some(t) = self.catalog.tables.iter().find(|t| t.def.schema == name) {
            return Err(Error::InvalidTable {
                table: t.def.name.clone(),
                reason: format!("schema \"{name}\" still holds it"),
            });
        }
        self.log(Op::DropSchema { name: name.into() })
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
        let id = self.catalog.next_table_id;
        self.log(Op::CreateTable { id, def })
    }

    /// Drops a table; its space is free after the next checkpoint.
    ///
    /// # Errors
    /// `TableNotFound`.
    pub fn drop_table(&mut self, schema: &str, name: &str) -> Result<()> {
        let index = self.index(schema, name)?;
        let id = self.catalog.tables[index].id;
        self.may_free = true;
        self.log(Op::DropTable { id })
    }

    /// Renames (or moves to another schema) a table.
    ///
    /// # Errors
    /// `TableNotFound`, `SchemaNotFound`, `TableExists`.
    pub fn rename_table(
        &mut self,
        schema: &str,
        name: &str,
        new_schema: &str,
        new_name: &str,
    ) -> Result<()> {
        let index = self.index(schema, name)?;
        if !self.catalog.schemas.iter().any(|s| s == new_schema) {
            return Err(Error::SchemaNotFound {
                schema: new_schema.into(),
            });
        }
        if self.catalog.table(new_schema, new_name).is_some() {
            return Err(Error::TableExists {
                schema: new_schema.into(),
                table: new_name.into(),
            });
        }
        let id = self.catalog.tables[index].id;
        self.log(Op::RenameTable {
            id,
            schema: new_schema.into(),
            name: new_name.into(),
        })
    }

    /// Removes every row of a table.
    ///
    /// # Errors
    /// `TableNotFound`.
    pub fn truncate(&mut self, schema: &str, name: &str) -> Result<u64> {
        let index = self.index(schema, name)?;
        let rows = self.catalog.tables[index].live_rows();
        let id = self.catalog.tables[index].id;
        self.may_free = true;
        self.log(Op::Truncate { table: id })?;
        Ok(rows)
    }

    /// Appends rows to a table. The batch's columns must be the table's, in
    /// order, with the Arrow types of their SQL types.
    ///
    /// # Errors
    /// `TableNotFound`, `SchemaMismatch`, `NullViolation`, `Io`.
    pub fn append(&mut self, schema: &str, name: &str, batch: &RecordBatch) -> Result<u64> {
        let index = self.index(schema, name)?;
        let batch = self.conform(index, batch)?;
        let n = batch.num_rows();
        let mut start = 0;
        while start < n {
            start += self.fill_tail(index, &batch.slice(start, n - start));
            if self.tail_full(index) {
                self.freeze_tail(index)?;
            }
        }
        Ok(n as u64)
    }

    /// Appends batches as [`WriteTxn::append`] does one by one, compressing
    /// full blocks on `threads` threads (compression is most of the cost of
    /// appending); the blocks, their order and the table's rows are the same
    /// as with the serial appends. With `threads <= 1` it is those appends.
    /// Memory stays bounded: at most `threads + 1` blocks are between
    /// being cut from the tail and being written.
    ///
    /// The first error stops it (of `batches` first, else of storage); the
    /// caller then rolls the transaction back, as after a failed append.
    ///
    /// # Errors
    /// Those of `batches`, and as [`WriteTxn::append`].
    pub fn append_all<E: From<Error>>(
        &mut self,
        schema: &str,
        name: &str,
        batches: impl IntoIterator<Item = std::result::Result<RecordBatch, E>>,
        threads: usize,
    ) -> std::result::Result<u64, E> {
        if threads <= 1 {
            let mut rows = 0;
            for batch in batches {
                rows += self.append(schema, name, &batch?)?;
            }
            return Ok(rows);
        }
        let index = self.index(schema, name)?;
        crate::freeze::append_parallel(self, index, batches.into_iter(), threads)
    }

    /// Appends `batch` to the tail of table `index` up to a full block;
    /// returns the rows taken (all of them, or the tail's room).
    pub(crate) fn fill_tail(&mut self, index: usize, batch: &RecordBatch) -> usize {
        let room = BLOCK_ROWS_MAX - self.catalog.tables[index].tail.rows as usize;
        let n = room.min(batch.num_rows());
        let t = Arc::make_mut(&mut self.catalog.tables[index]);
        let tail = Arc::make_mut(&mut t.tail);
        tail.batches.push(batch.slice(0, n));
        tail.rows += n as u32;
        self.dirty = true;
        n
    }

    /// Whether table `index`'s tail holds a full block.
    pub(crate) fn tail_full(&self, index: usize) -> bool {
        self.catalog.tables[index].tail.rows as usize == BLOCK_ROWS_MAX
    }

    /// The checked batch `batch` with table `index`'s schema.
    pub(crate) fn conform(&self, index: usize, batch: &RecordBatch) -> Result<RecordBatch> {
        let def = &self.catalog.tables[index].def;
        check_batch(def, batch)?;
        RecordBatch::try_new_with_options(
            def.arrow_schema(),
            batch.columns().to_vec(),
            &hyperctl_format::arrow::array::RecordBatchOptions::new()
                .with_row_count(Some(batch.num_rows())),
        )
        .map_err(|e| Error::Internal {
            what: e.to_string(),
        })
    }

    /// Takes the full tail of table `index` off the table, to be frozen
    /// elsewhere and handed back to [`WriteTxn::install_block`] in order.
    pub(crate) fn cut_tail(&mut self, index: usize) -> CutTail {
        let t = Arc::make_mut(&mut self.catalog.tables[index]);
        let tail = Arc::make_mut(&mut t.tail);
        let cut = CutTail {
            batches: tail.batches.clone(),
            deleted: tail.deleted.clone(),
            consumed: tail.logged,
            rows: tail.rows,
        };
        let rows = tail.rows;
        drop_tail_prefix(tail, rows);
        cut
    }

    /// Writes the encoded columns of a tail [`WriteTxn::cut_tail`] took as a
    /// block of table `index` (poisoning the handle when that fails, as a
    /// serial freeze does).
    pub(crate) fn install_block(
        &mut self,
        index: usize,
        cut: CutTail,
        encoded: Vec<hyperctl_format::EncodedColumn>,
    ) -> Result<()> {
        let inner = self.inner.clone();
        let block = checkpoint::write_encoded(
            &inner,
            &mut self.shared().alloc,
            encoded,
            cut.rows as usize,
            cut.deleted,
        );
        let block = match block {
            Ok(b) => b,
            Err(e) => {
                self.inner.poison();
                return Err(e);
            }
        };
        self.written.extend(block.columns.iter().map(|c| c.extent));
        let t = Arc::make_mut(&mut self.catalog.tables[index]);
        t.blocks.push(Arc::new(block.clone()));
        self.ops.push(Op::AddBlock {
            table: t.id,
            consumed: cut.consumed,
            block,
        });
        Ok(())
    }

    /// The definition of table `index`.
    pub(crate) fn def_at(&self, index: usize) -> &TableDef {
        &self.catalog.tables[index].def
    }

    /// Poisons the handle (a block was cut from a tail and not written).
    pub(crate) fn poison(&self) {
        self.inner.poison();
    }

    /// Writes a full tail of table `index` as a block.
    fn freeze_tail(&mut self, index: usize) -> Result<()> {
        let table = self.catalog.tables[index].clone();
        let encoded = match checkpoint::encode_batches(&table.def, &table.tail.batches) {
            Ok(e) => e,
            Err(e) => {
                self.inner.poison();
                return Err(e);
            }
        };
        let cut = self.cut_tail(index);
        self.install_block(index, cut, encoded)
    }

    /// Marks rows deleted by position (see the module docs); positions
    /// deleted already are skipped. Returns how many rows were newly deleted.
    ///
    /// # Errors
    /// `TableNotFound`; `Internal` for a position past the table's rows.
    pub fn delete(&mut self, schema: &str, name: &str, positions: &[u64]) -> Result<u64> {
        let index = self.index(schema, name)?;
        let table = self.catalog.tables[index].clone();
        let mut starts = Vec::with_capacity(table.blocks.len() + 1);
        let mut at = 0u64;
        for b in &table.blocks {
            starts.push(at);
            at += u64::from(b.rows);
        }
        let tail_start = at;
        let physical = tail_start + u64::from(table.tail.rows);
        let mut per_block: std::collections::BTreeMap<usize, RowSet> = Default::default();
        let mut tail_logged = RowSet::default();
        let mut tail_own = RowSet::default();
        let mut count = 0u64;
        for &p in positions {
            if p >= physical {
                return Err(Error::Internal {
                    what: format!(
                        "row position {p} of table {} which has {physical} rows",
                        table.def.name
                    ),
                });
            }
            if p >= tail_start {
                let r = (p - tail_start) as u32;
                if table.tail.deleted.contains(r) {
                    continue;
                }
                let set = if r < table.tail.logged {
                    &mut tail_logged
                } else {
                    &mut tail_own
                };
                if set.insert(r) {
                    count += 1;
                }
            } else {
                let b = starts.partition_point(|s| *s <= p) - 1;
                let r = (p - starts[b]) as u32;
                if table.blocks[b].deleted.contains(r) {
                    continue;
                }
                if per_block.entry(b).or_default().insert(r) {
                    count += 1;
                }
            }
        }
        let id = table.id;
        for (b, rows) in per_block {
            self.log(Op::Delete {
                table: id,
                block: b as u32,
                rows,
            })?;
        }
        if !tail_logged.is_empty() {
            self.log(Op::Delete {
                table: id,
                block: TAIL,
                rows: tail_logged,
            })?;
        }
        if !tail_own.is_empty() {
            let t = Arc::make_mut(&mut self.catalog.tables[index]);
            Arc::make_mut(&mut t.tail).deleted.union_with(&tail_own);
            self.dirty = true;
        }
        Ok(count)
    }

    /// Makes the transaction's changes durable and visible. When it returns
    /// `Ok`, the changes survive a crash.
    ///
    /// # Errors
    /// `Io` when a file cannot be written or synced. The changes are then not
    /// visible to this handle, but may or may not be durable (a reopen shows
    /// them whole or not at all), and the handle is poisoned: later writes fail
    /// with `Poisoned` until the database is reopened.
    pub fn commit(mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        match self.write_commit() {
            Ok(Some(end)) => {
                let inner = self.inner.clone();
                inner.sync_wal_to(end)?;
                if end > inner.options.checkpoint_wal_bytes {
                    let mut guard = inner.writer.lock();
                    if guard.wal_end > inner.options.checkpoint_wal_bytes
                        && !inner.poisoned.load(Ordering::Acquire)
                    {
                        // The commit is durable already: a failed checkpoint
                        // poisons the handle (later writes say so) but does
                        // not make this commit an error.
                        let _ = checkpoint::checkpoint(&inner, &mut guard);
                    }
                }
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => {
                self.inner.poison();
                Err(e)
            }
        }
    }

    /// Writes the log record and installs the new state; releases the
    /// writer lock. Returns the log end to sync to.
    fn write_commit(&mut self) -> Result<Option<u64>> {
        // Tail rows of this transaction go into the record.
        for i in 0..self.catalog.tables.len() {
            let t = &self.catalog.tables[i];
            if t.tail.rows == t.tail.logged {
                continue;
            }
            let (op, tail) = tail_record(t)?;
            let t = Arc::make_mut(&mut self.catalog.tables[i]);
            t.tail = Arc::new(tail);
            self.ops.push(op);
        }
        if self.ops.is_empty() {
            return Ok(None);
        }
        let inner = self.inner.clone();
        if !self.written.is_empty() {
            inner.main.sync().map_err(inner.io("syncing"))?;
        }
        let may_free = self.may_free;
        let base = self.shared().head.clone();
        let payload = wal::encode_ops(&self.ops);
        let mut guard = self
            .guard
            .take()
            .expect("a live transaction holds the lock");
        let record = wal::encode_record(guard.header.sequence, guard.next_lsn, &payload);
        let at = guard.wal_end;
        inner
            .wal
            .write_all_at(&record, at)
            .map_err(inner.io("writing the log"))?;
        let end = at + record.len() as u64;
        guard.wal_end = end;
        guard.next_lsn += 1;
        let version = guard.new_version();
        let mut catalog = std::mem::take(&mut self.catalog);
        catalog.version = version;
        if may_free {
            let kept: HashSet<Extent> = catalog.block_extents().collect();
            let generation = guard.header.sequence;
            let gone: Vec<Extent> = base
                .block_extents()
                .chain(self.written.iter().copied())
                .filter(|e| !kept.contains(e))
                .collect();
            for e in gone {
                guard.alloc.defer(e, version, generation);
            }
        }
        self.written.clear();
        let state = Arc::new(catalog);
        inner.register(&state);
        guard.head = state.clone();
        inner.unsynced.lock().push((end, state));
        inner.wal_written.store(end, Ordering::Release);
        drop(guard);
        Ok(Some(end))
    }

    /// Discards the transaction's changes.
    pub fn rollback(self) {}
}

impl Drop for WriteTxn {
    fn drop(&mut self) {
        let written = std::mem::take(&mut self.written);
        let viewed = self.views.lock().iter().any(|v| v.strong_count() > 0);
        // Release the writer lock here, before the fields (and maybe the
        // last handle on the database, whose close takes that lock) drop.
        if let Some(mut guard) = self.guard.take() {
            for e in written {
                if viewed {
                    // A handle from `table` still reads it: free it once
                    // that handle is gone (and a checkpoint passed).
                    let version = guard.new_version();
                    let generation = guard.header.sequence;
                    guard.alloc.defer(e, version, generation);
                } else {
                    // The transaction may have read its own block: the pool
                    // must not answer for the next block written here.
                    self.inner.pool.forget_range(e);
                    guard.alloc.free_now(e);
                }
            }
        }
    }
}

/// The log op for the rows a transaction added to a tail, and the tail with
/// them logged.
fn tail_record(t: &TableEntry) -> Result<(Op, Tail)> {
    let tail = &t.tail;
    let own = tail.rows - tail.logged;
    let mut skip = tail.logged as usize;
    let mut parts = Vec::new();
    for b in &tail.batches {
        if skip >= b.num_rows() {
            skip -= b.num_rows();
            continue;
        }
        parts.push(b.slice(skip, b.num_rows() - skip));
        skip = 0;
    }
    let data = concat_batches(&t.def.arrow_schema(), &parts).map_err(|e| Error::Internal {
        what: format!("joining tail rows: {e}"),
    })?;
    let mut columns = Vec::with_capacity(data.num_columns());
    for (column, array) in t.def.columns.iter().zip(data.columns()) {
        columns.push(
            encode_column(column.ty, array.as_ref()).map_err(|source| Error::Encode {
                table: t.def.name.clone(),
                source,
            })?,
        );
    }
    let op = Op::AppendTail {
        table: t.id,
        rows: own,
        columns,
        deleted: tail.deleted.slice(tail.logged, own),
    };
    let mut logged = (**tail).clone();
    logged.logged = logged.rows;
    Ok((op, logged))
}

pub(crate) fn check_batch(def: &TableDef, batch: &RecordBatch) -> Result<()> {
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
