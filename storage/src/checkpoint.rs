//! Writing state into the main file: new databases, blocks, checkpoints,
//! the final checkpoint of a clean close, and VACUUM.
//!
//! Checkpoint order (each step durable before the next):
//! 1. freeze every tail (merged with its table's last block when that one is
//!    not full) into blocks in free space;
//! 2. write the catalog blob into free space;
//! 3. write the header slot of the next sequence number (the other slot
//!    keeps the previous checkpoint, so a torn write loses nothing);
//! 4. restart the log with the new sequence number as its salt.
//!
//! A crash before 3 is durable leaves the previous checkpoint and its log; a
//! crash after leaves a log whose salt is older than the header, which
//! recovery ignores (its contents are in the checkpoint).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use hyperctl_format::arrow::array::RecordBatch;
use hyperctl_format::arrow::compute::{concat_batches, filter_record_batch};
use hyperctl_format::{EncodedColumn, crc32c, encode_block_column};

use crate::alloc::Allocator;
use crate::catalog::{
    BLOCK_ROWS_MAX, Block, BlockColumn, Catalog, Extent, TableDef, TableEntry, Tail,
};
use crate::db::{Inner, Shared, VacuumReport};
use crate::error::{Error, Result};
use crate::header::{DATA_START, FORMAT_VERSION, Header, SLOT_OFFSETS};
use crate::rowset::RowSet;
use crate::wal::{self, WAL_HEADER_LEN};

/// Replaces whatever the files hold with a new, empty database.
pub(crate) fn initialize(inner: &Inner) -> Result<()> {
    // Durably empty before the first header: a crash must not leave the old
    // headers pointing into half-overwritten old data.
    inner.main.set_len(0).map_err(inner.io("truncating"))?;
    inner.main.sync().map_err(inner.io("syncing"))?;
    // Then the old log (the old database is gone already, so a crash here
    // loses nothing of it that it still had): once the new header
    // (sequence 1) is durable, an old log of salt 1 would be replayed into
    // the new database, and one of a larger salt would make it refuse to
    // open.
    let wal_io = |op| {
        move |source| Error::Io {
            path: crate::db::wal_path_of(&inner.path),
            op,
            source,
        }
    };
    inner.wal.set_len(0).map_err(wal_io("truncating the log"))?;
    inner.wal.sync().map_err(wal_io("syncing the log"))?;
    let blob = Catalog::default().encode();
    inner
        .main
        .write_all_at(&blob, DATA_START)
        .map_err(inner.io("writing catalog"))?;
    inner.main.sync().map_err(inner.io("syncing"))?;
    let header = Header {
        version: FORMAT_VERSION,
        sequence: 1,
        catalog_offset: DATA_START,
        catalog_len: blob.len() as u64,
        file_end: DATA_START + blob.len() as u64,
        catalog_crc: crc32c(&blob),
    };
    for slot in SLOT_OFFSETS {
        inner
            .main
            .write_all_at(&header.encode(), slot)
            .map_err(inner.io("writing header"))?;
    }
    inner.main.sync().map_err(inner.io("syncing"))?;
    restart_wal(inner, header.sequence)
}

fn restart_wal(inner: &Inner, salt: u64) -> Result<()> {
    let io = |op| {
        move |source| Error::Io {
            path: crate::db::wal_path_of(&inner.path),
            op,
            source,
        }
    };
    inner
        .wal
        .write_all_at(&wal::encode_header(salt), 0)
        .map_err(io("writing the log"))?;
    inner
        .wal
        .set_len(WAL_HEADER_LEN)
        .map_err(io("truncating the log"))?;
    inner.wal.sync().map_err(io("syncing the log"))
}

/// Compresses `data` (at most one block of rows) and writes it into free
/// space as one block.
pub(crate) fn write_block(
    inner: &Inner,
    alloc: &mut Allocator,
    def: &TableDef,
    data: &RecordBatch,
    deleted: RowSet,
) -> Result<Block> {
    let encoded = encode_block(def, data)?;
    write_encoded(inner, alloc, encoded, data.num_rows(), deleted)
}

/// The compressed columns of `data` (at most one block of rows): the
/// costly half of [`write_block`], which touches no shared state and so may
/// run on any thread.
pub(crate) fn encode_block(def: &TableDef, data: &RecordBatch) -> Result<Vec<EncodedColumn>> {
    def.columns
        .iter()
        .zip(data.columns())
        .map(|(column, array)| {
            encode_block_column(&column.ty, array.as_ref()).map_err(|source| Error::Encode {
                table: def.name.clone(),
                source,
            })
        })
        .collect()
}

/// [`encode_block`] of the rows of `batches` (a tail's parts) joined.
pub(crate) fn encode_batches(
    def: &TableDef,
    batches: &[RecordBatch],
) -> Result<Vec<EncodedColumn>> {
    let data = concat_batches(&def.arrow_schema(), batches).map_err(|e| Error::Internal {
        what: format!("joining tail rows: {e}"),
    })?;
    encode_block(def, &data)
}

/// Writes the columns [`encode_block`] made of `rows` rows into free space
/// as one block.
pub(crate) fn write_encoded(
    inner: &Inner,
    alloc: &mut Allocator,
    encoded: Vec<EncodedColumn>,
    rows: usize,
    deleted: RowSet,
) -> Result<Block> {
    let rows = u32::try_from(rows)
        .ok()
        .filter(|&r| r as usize <= BLOCK_ROWS_MAX)
        .ok_or_else(|| Error::Internal {
            what: format!("a block of {rows} rows"),
        })?;
    let total: usize = encoded.iter().map(|e| e.bytes.len()).sum();
    let offset = alloc.alloc(total as u64);
    let mut buf = Vec::with_capacity(total);
    let mut columns = Vec::with_capacity(encoded.len());
    for e in encoded {
        let len = u32::try_from(e.bytes.len()).map_err(|_| Error::Internal {
            what: format!("block column of {} bytes", e.bytes.len()),
        })?;
        columns.push(BlockColumn {
            extent: Extent {
                offset: offset + buf.len() as u64,
                len,
            },
            stats: e.stats,
        });
        buf.extend_from_slice(&e.bytes);
    }
    inner
        .main
        .write_all_at(&buf, offset)
        .map_err(inner.io("writing"))?;
    Ok(Block {
        rows,
        columns,
        deleted,
    })
}

/// All columns of a block, deleted rows removed.
fn read_live(inner: &Inner, def: &TableDef, block: &Block) -> Result<RecordBatch> {
    let all: Vec<usize> = (0..def.columns.len()).collect();
    let arrays = crate::scan::read_block_columns(inner, def, block, &all)?;
    let batch = RecordBatch::try_new_with_options(
        def.arrow_schema(),
        arrays,
        &hyperctl_format::arrow::array::RecordBatchOptions::new()
            .with_row_count(Some(block.rows as usize)),
    )
    .map_err(|e| Error::Internal {
        what: e.to_string(),
    })?;
    live_rows(batch, &block.deleted)
}

fn live_rows(batch: RecordBatch, deleted: &RowSet) -> Result<RecordBatch> {
    if deleted.is_empty() {
        return Ok(batch);
    }
    let keep = deleted.keep_mask(0, batch.num_rows() as u32);
    filter_record_batch(&batch, &keep).map_err(|e| Error::Internal {
        what: e.to_string(),
    })
}

/// Writes `rows` as full blocks (the last one may be partial).
fn write_blocks(
    inner: &Inner,
    alloc: &mut Allocator,
    def: &TableDef,
    rows: &RecordBatch,
    out: &mut Vec<Arc<Block>>,
) -> Result<()> {
    let mut start = 0;
    while start < rows.num_rows() {
        let n = BLOCK_ROWS_MAX.min(rows.num_rows() - start);
        let block = write_block(inner, alloc, def, &rows.slice(start, n), RowSet::default())?;
        out.push(Arc::new(block));
        start += n;
    }
    Ok(())
}

fn concat(def: &TableDef, parts: &[RecordBatch]) -> Result<RecordBatch> {
    concat_batches(&def.arrow_schema(), parts).map_err(|e| Error::Internal {
        what: format!("joining rows of {}: {e}", def.name),
    })
}

/// Runs `f`, poisoning the handle if it fails (the file's state is then
/// unknown to this handle).
fn guarded<T>(inner: &Inner, f: impl FnOnce() -> Result<T>) -> Result<T> {
    if inner.poisoned.load(Ordering::Acquire) {
        return Err(Error::Poisoned {
            path: inner.path.clone(),
        });
    }
    let out = f();
    if out.is_err() {
        inner.poison();
    }
    out
}

/// Checkpoints (see the module docs). The caller holds the writer lock.
pub(crate) fn checkpoint(inner: &Inner, shared: &mut Shared) -> Result<()> {
    guarded(inner, || {
        inner.sync_wal_to(shared.wal_end)?;
        let mut cat = (*shared.head).clone();
        let version = shared.new_version();
        cat.version = version;
        let generation = shared.header.sequence;
        let mut wrote = false;
        for i in 0..cat.tables.len() {
            if cat.tables[i].tail.rows == 0 {
                continue;
            }
            let t: &TableEntry = &cat.tables[i];
            let mut blocks = t.blocks.clone();
            let mut parts = Vec::new();
            if let Some(last) = blocks.last().cloned()
                && (last.rows as usize) < BLOCK_ROWS_MAX
            {
                parts.push(read_live(inner, &t.def, &last)?);
                blocks.pop();
                for c in &last.columns {
                    shared.alloc.defer(c.extent, version, generation);
                }
            }
            let tail = concat(&t.def, &t.tail.batches)?;
            parts.push(live_rows(tail, &t.tail.deleted)?);
            let rows = concat(&t.def, &parts)?;
            let def = t.def.clone();
            write_blocks(inner, &mut shared.alloc, &def, &rows, &mut blocks)?;
            let t = Arc::make_mut(&mut cat.tables[i]);
            t.blocks = blocks;
            t.tail = Arc::new(Tail::default());
            wrote = true;
        }
        if wrote {
            inner.main.sync().map_err(inner.io("syncing"))?;
        }
        write_checkpoint(inner, shared, cat)
    })
}

/// Steps 2 to 4 of a checkpoint for state `cat` (tails frozen), then frees
/// what waited for it and cuts free space off the end of the file.
fn write_checkpoint(inner: &Inner, shared: &mut Shared, cat: Catalog) -> Result<()> {
    let generation = shared.header.sequence;
    let version = cat.version;
    let blob = cat.encode();
    let offset = shared.alloc.alloc(blob.len() as u64);
    inner
        .main
        .write_all_at(&blob, offset)
        .map_err(inner.io("writing catalog"))?;
    let old = Extent {
        offset: shared.header.catalog_offset,
        len: u32::try_from(shared.header.catalog_len).unwrap_or(u32::MAX),
    };
    shared.alloc.defer(old, version, generation);
    let file_end = cat
        .block_extents()
        .map(|e| e.end())
        .chain([offset + blob.len() as u64])
        .max()
        .unwrap_or(DATA_START);
    inner.main.sync().map_err(inner.io("syncing"))?;
    let header = Header {
        version: FORMAT_VERSION,
        sequence: generation + 1,
        catalog_offset: offset,
        catalog_len: blob.len() as u64,
        file_end,
        catalog_crc: crc32c(&blob),
    };
    inner
        .main
        .write_all_at(
            &header.encode(),
            SLOT_OFFSETS[Header::slot_of(header.sequence)],
        )
        .map_err(inner.io("writing header"))?;
    inner.main.sync().map_err(inner.io("syncing"))?;
    restart_wal(inner, header.sequence)?;
    shared.header = header;
    shared.wal_end = WAL_HEADER_LEN;
    shared.next_lsn = 1;
    inner.wal_written.store(WAL_HEADER_LEN, Ordering::Release);
    *inner.wal_durable.lock() = WAL_HEADER_LEN;
    let state = Arc::new(cat);
    inner.register(&state);
    shared.head = state.clone();
    *inner.published.write() = state;
    let min_live = inner.min_live_version();
    for e in shared.alloc.reclaim(header.sequence, min_live) {
        inner.pool.forget_range(e);
    }
    let end = shared.alloc.end().max(file_end);
    if inner.main.len().map_err(inner.io("reading"))? > end {
        inner.main.set_len(end).map_err(inner.io("truncating"))?;
        inner.main.sync().map_err(inner.io("syncing"))?;
    }
    Ok(())
}

/// The last checkpoint of a clean close, then the header into both slots,
/// so that one damaged slot of a closed file loses nothing, and zeros over
/// the free space inside the file, so that `verify` can check every byte of
/// a closed file (free space must read as zeros).
pub(crate) fn close(inner: &Inner, shared: &mut Shared) -> Result<()> {
    let dirty =
        shared.wal_end > WAL_HEADER_LEN || shared.head.tables.iter().any(|t| t.tail.rows > 0);
    if dirty {
        checkpoint(inner, shared)?;
    }
    guarded(inner, || {
        let header = shared.header;
        let other = SLOT_OFFSETS[1 - Header::slot_of(header.sequence)];
        inner
            .main
            .write_all_at(&header.encode(), other)
            .map_err(inner.io("writing header"))?;
        static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
        for (offset, len) in shared.alloc.free_ranges() {
            let mut at = offset;
            while at < offset + len {
                let n = (offset + len - at).min(ZEROS.len() as u64);
                inner
                    .main
                    .write_all_at(&ZEROS[..n as usize], at)
                    .map_err(inner.io("writing"))?;
                at += n;
            }
        }
        inner.main.sync().map_err(inner.io("syncing"))
    })
}

/// VACUUM (see [`crate::Database::vacuum`]). The caller holds the writer lock.
pub(crate) fn vacuum(inner: &Inner, shared: &mut Shared) -> Result<VacuumReport> {
    let bytes_before = inner.main.len().map_err(inner.io("reading"))?;
    checkpoint(inner, shared)?;
    let mut report = VacuumReport {
        bytes_before,
        bytes_after: bytes_before,
        blocks_rewritten: 0,
        blocks_dropped: 0,
        extents_moved: 0,
    };
    guarded(inner, || {
        // Pass 1: drop emptied blocks, rewrite those with deleted rows.
        let mut cat = (*shared.head).clone();
        let version = shared.new_version();
        cat.version = version;
        let generation = shared.header.sequence;
        for i in 0..cat.tables.len() {
            let def = cat.tables[i].def.clone();
            let old = cat.tables[i].blocks.clone();
            if old.iter().all(|b| b.deleted.is_empty()) {
                continue;
            }
            let mut blocks = Vec::with_capacity(old.len());
            let mut buffer: Vec<RecordBatch> = Vec::new();
            let mut buffered = 0usize;
            for b in old {
                let clean = b.deleted.is_empty();
                if clean && buffered == 0 {
                    blocks.push(b);
                    continue;
                }
                for c in &b.columns {
                    shared.alloc.defer(c.extent, version, generation);
                }
                if b.live_rows() == 0 {
                    report.blocks_dropped += 1;
                    continue;
                }
                report.blocks_rewritten += 1;
                let live = read_live(inner, &def, &b)?;
                buffered += live.num_rows();
                buffer.push(live);
                if buffered >= BLOCK_ROWS_MAX {
                    let rows = concat(&def, &buffer)?;
                    let full = rows.num_rows() / BLOCK_ROWS_MAX * BLOCK_ROWS_MAX;
                    write_blocks(
                        inner,
                        &mut shared.alloc,
                        &def,
                        &rows.slice(0, full),
                        &mut blocks,
                    )?;
                    buffer = vec![rows.slice(full, rows.num_rows() - full)];
                    buffered = rows.num_rows() - full;
                }
            }
            if buffered > 0 {
                let rows = concat(&def, &buffer)?;
                write_blocks(inner, &mut shared.alloc, &def, &rows, &mut blocks)?;
            }
            Arc::make_mut(&mut cat.tables[i]).blocks = blocks;
        }
        inner.main.sync().map_err(inner.io("syncing"))?;
        write_checkpoint(inner, shared, cat)?;

        // Pass 2: move extents from the end of the file into holes.
        let mut cat = (*shared.head).clone();
        let version = shared.new_version();
        cat.version = version;
        let generation = shared.header.sequence;
        let mut places: Vec<(Extent, usize, usize, usize)> = Vec::new();
        for (t, table) in cat.tables.iter().enumerate() {
            for (b, block) in table.blocks.iter().enumerate() {
                for (c, column) in block.columns.iter().enumerate() {
                    places.push((column.extent, t, b, c));
                }
            }
        }
        places.sort_by_key(|p| std::cmp::Reverse(p.0.offset));
        for (extent, t, b, c) in places {
            let Some(to) = shared
                .alloc
                .alloc_below(u64::from(extent.len), extent.offset)
            else {
                continue;
            };
            let mut buf = vec![0u8; extent.len as usize];
            inner.read_main(&mut buf, extent.offset, "a block being moved")?;
            inner
                .main
                .write_all_at(&buf, to)
                .map_err(inner.io("writing"))?;
            let table = Arc::make_mut(&mut cat.tables[t]);
            Arc::make_mut(&mut table.blocks[b]).columns[c].extent = Extent {
                offset: to,
                len: extent.len,
            };
            shared.alloc.defer(extent, version, generation);
            report.extents_moved += 1;
        }
        inner.main.sync().map_err(inner.io("syncing"))?;
        write_checkpoint(inner, shared, cat)?;
        // Once more, so that the catalog itself moves down and the space of
        // the previous one is returned.
        let mut cat = (*shared.head).clone();
        cat.version = shared.new_version();
        write_checkpoint(inner, shared, cat)?;
        report.bytes_after = inner.main.len().map_err(inner.io("reading"))?;
        Ok(report)
    })
}
