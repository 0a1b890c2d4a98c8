//! Reading: snapshots, table handles and scans.
//!
//! A scan walks a table's parts (its blocks, then its tail) and yields one
//! batch per part with the projected columns, deleted rows removed. Blocks
//! whose statistics rule out a caller's range predicates are skipped
//! without reading them. Decoded columns come from the buffer pool.
//!
//! Invariant: a snapshot holds its state (an `Arc<Catalog>`), so the
//! allocator cannot reuse any extent it reads (see `alloc.rs`).

use std::sync::Arc;

use hyperctl_format::arrow::array::{
    Array, ArrayRef, RecordBatch, RecordBatchOptions, UInt32Array, UInt64Array,
};
use hyperctl_format::arrow::compute::{concat_batches, filter_record_batch, take};
use hyperctl_format::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use std::ops::Bound;

use hyperctl_format::{
    BlockEncoding, ColumnRange, ColumnStats, PackedColumn, StatValue, block_encoding_of,
    decode_block_column,
};

use crate::catalog::{Block, Catalog, ColumnDef, TableDef, TableEntry};
use crate::db::{Inner, corrupt_at};
use crate::error::{Error, Result};

/// Name of the row-position column a scan adds when asked
/// ([`ScanOptions::with_row_positions`]).
pub const ROW_POSITION_COLUMN: &str = "__hyperctl_row_position";

/// A consistent, read-only view of one commit.
#[derive(Debug, Clone)]
pub struct Snapshot {
    inner: Arc<Inner>,
    catalog: Arc<Catalog>,
}

impl Snapshot {
    pub(crate) fn new(inner: Arc<Inner>, catalog: Arc<Catalog>) -> Self {
        Self { inner, catalog }
    }

    /// The schema names, `public` first.
    pub fn schema_names(&self) -> Vec<String> {
        self.catalog.schemas.clone()
    }

    /// The names of the tables in `schema`.
    pub fn table_names(&self, schema: &str) -> Vec<String> {
        table_names(&self.catalog, schema)
    }

    /// Every table of this snapshot.
    pub fn all_tables(&self) -> Vec<TableHandle> {
        (0..self.catalog.tables.len())
            .map(|i| TableHandle::new(self.inner.clone(), self.catalog.clone(), i))
            .collect()
    }

    /// A table of this snapshot.
    pub fn table(&self, schema: &str, name: &str) -> Option<TableHandle> {
        let index = self.catalog.table_index(schema, name)?;
        Some(TableHandle::new(
            self.inner.clone(),
            self.catalog.clone(),
            index,
        ))
    }
}

pub(crate) fn table_names(catalog: &Catalog, schema: &str) -> Vec<String> {
    catalog
        .tables
        .iter()
        .filter(|t| t.def.schema == schema)
        .map(|t| t.def.name.clone())
        .collect()
}

/// What to read: columns, range predicates for block skipping, and whether
/// to add each row's position (for DELETE and UPDATE).
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    projection: Vec<usize>,
    ranges: Vec<(usize, ColumnRange)>,
    in_lists: Vec<(usize, Vec<StatValue>)>,
    row_positions: bool,
    select_rows: bool,
}

impl ScanOptions {
    /// Reads the columns at `projection` (indexes into the table's columns).
    pub fn new(projection: &[usize]) -> Self {
        Self {
            projection: projection.to_vec(),
            ..Self::default()
        }
    }

    /// Lets the scan skip blocks in which no non-NULL value of column
    /// `column` lies in `range` (the caller still filters rows: a block
    /// that may match is returned whole).
    pub fn with_range(mut self, column: usize, range: ColumnRange) -> Self {
        self.ranges.push((column, range));
        self
    }

    /// Lets the scan skip blocks in which no non-NULL value of column
    /// `column` is one of `values` (`column IN (values)`; the caller still
    /// filters rows), and, with [`with_row_selection`](Self::with_row_selection),
    /// drop rows as it does for a range.
    pub fn with_in_list(mut self, column: usize, values: Vec<StatValue>) -> Self {
        self.in_lists.push((column, values));
        self
    }

    /// Lets the scan drop rows, not only blocks, that the ranges rule out.
    ///
    /// Per block, the ranges expected (from the block's statistics) to keep
    /// at most half of its rows are evaluated on their columns' packed form
    /// ([`PackedColumn`]), most selective first, each on the rows the ones
    /// before kept, when together they are expected to keep at most a
    /// quarter and their columns take at least 8 bytes a row (a filter pass
    /// over narrower values costs less than gathering rows). When at most a
    /// quarter of the rows are left, only those are gathered, from the
    /// columns' packed forms or else their decoded arrays; otherwise the
    /// block is returned whole. As with block skipping, the caller still
    /// filters.
    pub fn with_row_selection(mut self, yes: bool) -> Self {
        self.select_rows = yes;
        self
    }

    /// Adds a last column [`ROW_POSITION_COLUMN`] (UInt64) with each row's
    /// position, for [`crate::WriteTxn::delete`].
    pub fn with_row_positions(mut self, yes: bool) -> Self {
        self.row_positions = yes;
        self
    }
}

/// How one column of one block is stored (for `hyperctl info`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BlockColumnInfo {
    /// The encoding.
    pub encoding: BlockEncoding,
    /// Bytes on disk.
    pub bytes: u64,
    /// Min, max, NULL count.
    pub stats: ColumnStats,
}

/// One block of a table (for `hyperctl info`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BlockInfo {
    /// Rows, deleted ones included.
    pub rows: u32,
    /// Deleted rows.
    pub deleted: u32,
    /// Per column.
    pub columns: Vec<BlockColumnInfo>,
}

/// One table as of a snapshot or a transaction.
#[derive(Debug, Clone)]
pub struct TableHandle {
    inner: Arc<Inner>,
    catalog: Arc<Catalog>,
    index: usize,
}

impl TableHandle {
    pub(crate) fn new(inner: Arc<Inner>, catalog: Arc<Catalog>, index: usize) -> Self {
        Self {
            inner,
            catalog,
            index,
        }
    }

    fn entry(&self) -> &TableEntry {
        &self.catalog.tables[self.index]
    }

    /// Name and columns.
    pub fn def(&self) -> &TableDef {
        &self.entry().def
    }

    /// Whether this is a table of `db` (of any of its snapshots or
    /// transactions): for a layer above that works on several databases.
    pub fn is_of(&self, db: &crate::Database) -> bool {
        Arc::ptr_eq(&self.inner, &db.inner)
    }

    /// Number of rows (deleted ones not counted).
    pub fn row_count(&self) -> u64 {
        self.entry().live_rows()
    }

    /// The smallest and largest value of an integer-like column over the
    /// frozen blocks, from their statistics (no I/O); `None` when a block
    /// has no integer statistics for it or the hot tail holds rows. The
    /// planner bounds a column's distinct values with it.
    pub fn int_range(&self, column: usize) -> Option<(i64, i64)> {
        let entry = self.entry();
        if entry.tail.rows > 0 {
            return None;
        }
        let mut range: Option<(i64, i64)> = None;
        for b in &entry.blocks {
            let stats = &b.columns.get(column)?.stats;
            if stats.null_count == stats.rows {
                continue;
            }
            let (
                Some(hyperctl_format::StatValue::Int(lo)),
                Some(hyperctl_format::StatValue::Int(hi)),
            ) = (&stats.min, &stats.max)
            else {
                return None;
            };
            range = Some(range.map_or((*lo, *hi), |(a, b)| (a.min(*lo), b.max(*hi))));
        }
        range
    }

    /// Number of parts a scan walks: the blocks, then the tail (for
    /// parallel scans, see [`TableHandle::scan_parts`]).
    pub fn part_count(&self) -> usize {
        self.entry().blocks.len() + 1
    }

    /// Frozen blocks and their storage (reads each column's encoding tag).
    ///
    /// # Errors
    /// `Io`, `Corrupt`.
    pub fn block_info(&self) -> Result<Vec<BlockInfo>> {
        let entry = self.entry();
        let mut out = Vec::with_capacity(entry.blocks.len());
        for b in &entry.blocks {
            let mut columns = Vec::new();
            for (c, def) in b.columns.iter().zip(&entry.def.columns) {
                let bytes = read_extent(&self.inner, c.extent, &entry.def, def)?;
                let encoding = block_encoding_of(&bytes).map_err(|source| Error::Corrupt {
                    path: self.inner.path.clone(),
                    context: Some(context(&entry.def, def)),
                    source,
                })?;
                columns.push(BlockColumnInfo {
                    encoding,
                    bytes: u64::from(c.extent.len),
                    stats: c.stats.clone(),
                });
            }
            out.push(BlockInfo {
                rows: b.rows,
                deleted: b.deleted.len(),
                columns,
            });
        }
        Ok(out)
    }

    /// The rows, as batches of the columns in `projection` (indexes into the
    /// table's columns), in insertion order.
    ///
    /// # Errors
    /// `Internal` for a projection index past the table's columns.
    pub fn scan(&self, projection: &[usize]) -> Result<TableScan> {
        self.scan_with(&ScanOptions::new(projection))
    }

    /// A scan as `options` say (all parts).
    ///
    /// # Errors
    /// `Internal` for a column index past the table's columns.
    pub fn scan_with(&self, options: &ScanOptions) -> Result<TableScan> {
        self.scan_parts(options, 0..self.part_count())
    }

    /// A scan of parts `parts` only (see [`TableHandle::part_count`]); scans
    /// of disjoint part ranges together see every row once, and row positions
    /// stay those of the whole table.
    ///
    /// # Errors
    /// `Internal` for a column index past the table's columns.
    pub fn scan_parts(
        &self,
        options: &ScanOptions,
        parts: std::ops::Range<usize>,
    ) -> Result<TableScan> {
        let def = self.def();
        let columns = &def.columns;
        if let Some(bad) = options
            .projection
            .iter()
            .chain(options.ranges.iter().map(|(c, _)| c))
            .chain(options.in_lists.iter().map(|(c, _)| c))
            .find(|i| **i >= columns.len())
        {
            return Err(Error::Internal {
                what: format!("column index {bad} of table {}", def.name),
            });
        }
        let mut schema = projected_schema(def, &options.projection);
        if options.row_positions {
            let mut fields: Vec<Field> = schema.fields().iter().map(|f| (**f).clone()).collect();
            fields.push(Field::new(ROW_POSITION_COLUMN, DataType::UInt64, false));
            schema = Arc::new(Schema::new(fields));
        }
        let entry = self.entry();
        let mut starts = Vec::with_capacity(entry.blocks.len() + 1);
        let mut at = 0u64;
        for b in &entry.blocks {
            starts.push(at);
            at += u64::from(b.rows);
        }
        starts.push(at);
        let end = parts.end.min(self.part_count());
        Ok(TableScan {
            table: self.clone(),
            options: options.clone(),
            schema,
            starts,
            next: parts.start.min(end),
            end,
            skipped: 0,
        })
    }
}

fn context(table: &TableDef, column: &ColumnDef) -> String {
    format!("table \"{}\", column \"{}\"", table.name, column.name)
}

/// An iterator over a table's rows, one part (block or tail) per batch.
#[derive(Debug)]
pub struct TableScan {
    table: TableHandle,
    options: ScanOptions,
    schema: SchemaRef,
    /// First row position of each block, then of the tail.
    starts: Vec<u64>,
    next: usize,
    end: usize,
    skipped: u64,
}

impl TableScan {
    /// The schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Blocks skipped so far by their statistics.
    pub fn blocks_skipped(&self) -> u64 {
        self.skipped
    }

    fn skip_block(&self, block: &Block) -> bool {
        block.live_rows() == 0
            || self
                .options
                .ranges
                .iter()
                .any(|(c, range)| !block.columns[*c].stats.may_match(range))
            || self.options.in_lists.iter().any(|(c, values)| {
                let stats = &block.columns[*c].stats;
                !values
                    .iter()
                    .any(|v| stats.may_match(&ColumnRange::eq(v.clone())))
            })
    }

    fn read_block(&self, block: &Block, start: u64) -> Result<RecordBatch> {
        let selected = if self.options.select_rows {
            self.select_rows(block)?
        } else {
            None
        };
        if let Some(rows) = selected {
            return self.read_selected(block, rows, start);
        }
        let arrays = read_block_columns(
            &self.table.inner,
            self.table.def(),
            block,
            &self.options.projection,
        )?;
        self.finish(arrays, block.rows, &block.deleted, start)
    }

    /// The rows of `block` that its selective ranges and IN lists keep, or
    /// `None` to read it whole ([`ScanOptions::with_row_selection`]).
    fn select_rows(&self, block: &Block) -> Result<Option<Vec<u32>>> {
        // One range per column: `a >= x AND a < y` is selective where
        // each half alone is not.
        let mut merged: Vec<(usize, ColumnRange)> = Vec::new();
        for (c, range) in &self.options.ranges {
            match merged.iter_mut().find(|(m, _)| m == c) {
                Some((_, r)) => *r = r.intersect(range),
                None => merged.push((*c, range.clone())),
            }
        }
        let predicates = merged.iter().map(|(c, r)| (*c, Predicate::Range(r))).chain(
            self.options
                .in_lists
                .iter()
                .map(|(c, v)| (*c, Predicate::In(v))),
        );
        let def = self.table.def();
        let mut selective: Vec<(f64, usize, Predicate<'_>)> = predicates
            .filter_map(|(c, p)| {
                let share = p.share(&block.columns[c].stats)?;
                (share <= 0.5).then_some((share, c, p))
            })
            .collect();
        // Rows are gathered only when at most a quarter is left: if the
        // estimates together leave more, the block is read whole anyway.
        let left: f64 = selective.iter().map(|s| s.0).product();
        // Gathering a few rows costs a cache miss each; it pays for the
        // caller's filter passes it spares only when those read wide values
        // (measured: one DATE range alone, as TPC-H Q14, is faster with
        // exec's SIMD comparison of the decoded column; Q6's DATE and two
        // NUMERIC ranges are faster here). Text counts as wide.
        let spared: usize = selective
            .iter()
            .map(|(_, c, _)| {
                let ty = def.columns[*c].ty.to_arrow();
                ty.primitive_width().unwrap_or(16)
            })
            .sum();
        if selective.is_empty() || left > 0.25 || spared < 8 {
            return Ok(None);
        }
        selective.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut selected: Option<Vec<u32>> = None;
        for (_, column, predicate) in selective {
            let Some(packed) = packed_column(&self.table.inner, def, block, column)? else {
                continue;
            };
            let rows = match predicate {
                Predicate::Range(range) => packed.select(range, selected.as_deref()),
                Predicate::In(values) => packed.select_in(values, selected.as_deref()),
            };
            if let Some(rows) = rows {
                let none_left = rows.is_empty();
                selected = Some(rows);
                if none_left {
                    break;
                }
            }
        }
        // Gathering many rows costs more than the caller's filter would.
        Ok(selected.filter(|rows| rows.len() * 4 <= block.rows as usize))
    }

    /// The batch of rows `rows` (ascending) of a block, deleted ones
    /// dropped: each column gathered from its packed form where it has one
    /// (small, and cached), else from the decoded column.
    fn read_selected(&self, block: &Block, mut rows: Vec<u32>, start: u64) -> Result<RecordBatch> {
        if !block.deleted.is_empty() {
            rows.retain(|&r| !block.deleted.contains(r));
        }
        if rows.is_empty() {
            return Ok(RecordBatch::new_empty(self.schema.clone()));
        }
        let internal = |e: hyperctl_format::arrow::error::ArrowError| Error::Internal {
            what: format!("gathering rows of table {}: {e}", self.table.def().name),
        };
        let (inner, def) = (&self.table.inner, self.table.def());
        let indices = UInt32Array::from(rows);
        let mut columns = Vec::with_capacity(self.options.projection.len() + 1);
        for &col in &self.options.projection {
            let column = match packed_column(inner, def, block, col)? {
                Some(packed) => packed.take(indices.values()),
                None => {
                    let decoded = read_block_columns(inner, def, block, &[col])?;
                    let decoded = decoded.first().ok_or_else(|| Error::Internal {
                        what: "reading one block column gave none".into(),
                    })?;
                    take(decoded.as_ref(), &indices, None).map_err(internal)?
                }
            };
            columns.push(column);
        }
        if self.options.row_positions {
            columns.push(Arc::new(UInt64Array::from_iter_values(
                indices.values().iter().map(|&r| start + u64::from(r)),
            )));
        }
        let options = RecordBatchOptions::new().with_row_count(Some(indices.len()));
        RecordBatch::try_new_with_options(self.schema.clone(), columns, &options).map_err(internal)
    }

    fn read_tail(&self, start: u64) -> Result<Option<RecordBatch>> {
        let entry = self.table.entry();
        let tail = &entry.tail;
        if tail.live_rows() == 0 {
            return Ok(None);
        }
        let data = concat_batches(&entry.def.arrow_schema(), &tail.batches).map_err(|e| {
            Error::Internal {
                what: format!("joining tail rows: {e}"),
            }
        })?;
        let arrays = self
            .options
            .projection
            .iter()
            .map(|&i| data.column(i).clone())
            .collect();
        self.finish(arrays, tail.rows, &tail.deleted, start)
            .map(Some)
    }

    fn finish(
        &self,
        mut arrays: Vec<ArrayRef>,
        rows: u32,
        deleted: &crate::rowset::RowSet,
        start: u64,
    ) -> Result<RecordBatch> {
        if self.options.row_positions {
            arrays.push(Arc::new(UInt64Array::from_iter_values(
                start..start + u64::from(rows),
            )));
        }
        let options = RecordBatchOptions::new().with_row_count(Some(rows as usize));
        let internal = |e: hyperctl_format::arrow::error::ArrowError| Error::Internal {
            what: format!("building a batch of table {}: {e}", self.table.def().name),
        };
        let batch = RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)
            .map_err(internal)?;
        if deleted.is_empty() {
            return Ok(batch);
        }
        let keep = deleted.keep_mask(0, rows);
        if batch.num_columns() == 0 {
            let options =
                RecordBatchOptions::new().with_row_count(Some((rows - deleted.len()) as usize));
            return RecordBatch::try_new_with_options(self.schema.clone(), vec![], &options)
                .map_err(internal);
        }
        filter_record_batch(&batch, &keep).map_err(internal)
    }
}

/// The columns at `projection` of a block, through the buffer pool, all
/// rows (deleted ones too).
pub(crate) fn read_block_columns(
    inner: &Inner,
    def: &TableDef,
    block: &Block,
    projection: &[usize],
) -> Result<Vec<ArrayRef>> {
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(projection.len() + 1);
    for &col in projection {
        let column = &def.columns[col];
        let extent = block.columns[col].extent;
        let array = match inner.pool.get(extent) {
            Some(a) => a,
            None => {
                let buf = read_extent(inner, extent, def, column)?;
                let corrupt = |source| Error::Corrupt {
                    path: inner.path.clone(),
                    context: Some(context(def, column)),
                    source,
                };
                let array = decode_block_column(&column.ty, &buf, block.rows as usize)
                    .map_err(|e| corrupt(rebase(e, extent.offset)))?;
                if let Some(what) = column_mismatch(column, array.as_ref(), block.rows) {
                    return Err(corrupt_at(
                        &inner.path,
                        Some(context(def, column)),
                        extent.offset,
                        what,
                    ));
                }
                inner.pool.insert(extent, &array);
                array
            }
        };
        arrays.push(array);
    }
    Ok(arrays)
}

/// A predicate the scan may select rows by.
#[derive(Debug, Clone, Copy)]
enum Predicate<'a> {
    Range(&'a ColumnRange),
    In(&'a [StatValue]),
}

impl Predicate<'_> {
    /// The share of a block's rows it is expected to keep, from the block's
    /// statistics: for integers as [`ColumnStats::fraction_in`] says; for
    /// text, whose statistics give no spread, a guess of 10% a value for an
    /// equality or IN list; `None` (not evaluated) for other text ranges
    /// and other types.
    fn share(&self, stats: &ColumnStats) -> Option<f64> {
        let text_guess = |n: usize| (0.1 * n as f64).min(1.0);
        match self {
            Predicate::Range(range) => {
                stats
                    .fraction_in(range)
                    .or_else(|| match (&range.lower, &range.upper) {
                        (Bound::Included(l @ StatValue::Bytes(_)), Bound::Included(u))
                            if l == u =>
                        {
                            Some(text_guess(1))
                        }
                        _ => None,
                    })
            }
            Predicate::In(values) => {
                let mut share = 0.0;
                for v in values.iter() {
                    share += match v {
                        StatValue::Bytes(_) => text_guess(1),
                        _ => stats.fraction_in(&ColumnRange::eq(v.clone()))?,
                    };
                }
                Some(share.min(1.0))
            }
        }
    }
}

/// The packed form of a block column ([`PackedColumn`]), through the
/// buffer pool; `None` when its type or encoding has none.
fn packed_column(
    inner: &Inner,
    def: &TableDef,
    block: &Block,
    col: usize,
) -> Result<Option<Arc<PackedColumn>>> {
    let extent = block.columns[col].extent;
    if let Some(packed) = inner.pool.get_packed(extent) {
        return Ok(packed);
    }
    let column = &def.columns[col];
    let buf = read_extent(inner, extent, def, column)?;
    let packed = PackedColumn::parse(&column.ty, &buf, block.rows as usize)
        .map_err(|e| Error::Corrupt {
            path: inner.path.clone(),
            context: Some(context(def, column)),
            source: rebase(e, extent.offset),
        })?
        .map(Arc::new);
    if !column.nullable && packed.as_ref().is_some_and(|p| p.has_nulls()) {
        return Err(corrupt_at(
            &inner.path,
            Some(context(def, column)),
            extent.offset,
            "block column holds NULLs in a NOT NULL column".to_string(),
        ));
    }
    inner.pool.insert_packed(extent, packed.clone());
    Ok(packed)
}

fn read_extent(
    inner: &Inner,
    extent: crate::catalog::Extent,
    table: &TableDef,
    column: &ColumnDef,
) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; extent.len as usize];
    inner.read_main(&mut buf, extent.offset, &context(table, column))?;
    Ok(buf)
}

/// Moves a decoder error's offsets from "within the extent" to the file.
fn rebase(e: hyperctl_format::Error, offset: u64) -> hyperctl_format::Error {
    match e {
        hyperctl_format::Error::Corrupt { offset: o, what } => hyperctl_format::Error::Corrupt {
            offset: o + offset,
            what,
        },
        other => other,
    }
}

impl Iterator for TableScan {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let blocks = self.table.entry().blocks.len();
        while self.next < self.end {
            let part = self.next;
            self.next += 1;
            let start = self.starts[part];
            if part < blocks {
                let block = self.table.entry().blocks[part].clone();
                if self.skip_block(&block) {
                    self.skipped += 1;
                    continue;
                }
                match self.read_block(&block, start) {
                    // Row selection left none.
                    Ok(b) if b.num_rows() == 0 => continue,
                    other => return Some(other),
                }
            }
            match self.read_tail(start) {
                Ok(Some(b)) => return Some(Ok(b)),
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
        None
    }
}

/// Why a decoded block column does not fit its catalog entry, if it does not.
pub(crate) fn column_mismatch(column: &ColumnDef, array: &dyn Array, rows: u32) -> Option<String> {
    if array.len() != rows as usize {
        return Some(format!(
            "block column holds {} rows, the catalog says {rows}",
            array.len()
        ));
    }
    if array.data_type() != &column.ty.to_arrow() {
        return Some(format!(
            "block column decodes to {}, the column is {}",
            array.data_type(),
            column.ty
        ));
    }
    if !column.nullable && array.null_count() > 0 {
        return Some(format!(
            "block column holds {} NULLs in a NOT NULL column",
            array.null_count()
        ));
    }
    None
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

#[cfg(test)]
mod tests {
    use std::ops::Bound;
    use std::sync::Arc;

    use hyperctl_format::arrow::array::{AsArray, Int32Array, Int64Array};
    use hyperctl_format::arrow::datatypes::{Int64Type, UInt64Type};
    use hyperctl_format::{SqlType, StatValue};

    use super::*;
    use crate::Database;

    #[test]
    fn ranges_skip_blocks_by_their_statistics() {
        let db = Database::in_memory();
        let def = TableDef {
            schema: "public".into(),
            name: "t".into(),
            columns: vec![ColumnDef::new("a", SqlType::BigInt, false)],
        };
        let mut txn = db.begin_write().unwrap();
        txn.create_table(def.clone()).unwrap();
        let rows = 3 * 65_536;
        let batch = RecordBatch::try_new(
            def.arrow_schema(),
            vec![Arc::new(Int64Array::from_iter_values(0..rows))],
        )
        .unwrap();
        txn.append("public", "t", &batch).unwrap();
        txn.commit().unwrap();
        let table = db.snapshot().table("public", "t").unwrap();
        assert_eq!(table.part_count(), 4, "three blocks and the tail");
        let range = ColumnRange::new(Bound::Included(StatValue::Int(140_000)), Bound::Unbounded);
        let mut scan = table
            .scan_with(&ScanOptions::new(&[0]).with_range(0, range))
            .unwrap();
        let mut seen = 0;
        for b in scan.by_ref() {
            seen += b.unwrap().num_rows();
        }
        assert_eq!(seen, 65_536, "only the last block is read");
        assert_eq!(scan.blocks_skipped(), 2);
        let none = ColumnRange::new(Bound::Excluded(StatValue::Int(rows)), Bound::Unbounded);
        let mut scan = table
            .scan_with(&ScanOptions::new(&[0]).with_range(0, none))
            .unwrap();
        assert!(scan.next().is_none());
        assert_eq!(scan.blocks_skipped(), 3);
    }

    /// (a, position) of every row a scan returns.
    fn rows_and_positions(table: &TableHandle, options: &ScanOptions) -> Vec<(i64, u64)> {
        let mut out = Vec::new();
        for b in table.scan_with(options).unwrap() {
            let b = b.unwrap();
            let a = b.column(0).as_primitive::<Int64Type>();
            let p = b.column(b.num_columns() - 1).as_primitive::<UInt64Type>();
            out.extend(a.values().iter().copied().zip(p.values().iter().copied()));
        }
        out
    }

    #[test]
    fn row_selection_returns_the_rows_in_selective_ranges_with_their_positions() {
        let db = Database::in_memory();
        let def = TableDef {
            schema: "public".into(),
            name: "t".into(),
            columns: vec![
                ColumnDef::new("a", SqlType::BigInt, false),
                ColumnDef::new("b", SqlType::Int, true),
            ],
        };
        let mut txn = db.begin_write().unwrap();
        txn.create_table(def.clone()).unwrap();
        let rows = 2 * 65_536 + 100;
        let b = Int32Array::from_iter((0..rows).map(|i| (i % 7 != 3).then_some((i % 100) as i32)));
        let batch = RecordBatch::try_new(
            def.arrow_schema(),
            vec![Arc::new(Int64Array::from_iter_values(0..rows)), Arc::new(b)],
        )
        .unwrap();
        txn.append("public", "t", &batch).unwrap();
        let deleted: Vec<u64> = (0..rows as u64).filter(|i| i % 1000 == 5).collect();
        txn.delete("public", "t", &deleted).unwrap();
        txn.commit().unwrap();
        let table = db.snapshot().table("public", "t").unwrap();
        let live = |i: &i64| i % 1000 != 5;
        let b_of = |i: i64| (i % 7 != 3).then_some(i % 100);

        // a in [10000, 20000) keeps 15% of the first block, b in [0, 9] 10%
        // of each: both are evaluated, and exactly their rows come back
        // from the blocks. The hot tail has no statistics: read whole.
        let in_blocks = |i: &i64| *i < 2 * 65_536;
        let a_range = ColumnRange::new(
            Bound::Included(StatValue::Int(10_000)),
            Bound::Excluded(StatValue::Int(20_000)),
        );
        let b_range = ColumnRange::new(Bound::Unbounded, Bound::Included(StatValue::Int(9)));
        let options = ScanOptions::new(&[0])
            .with_range(0, a_range)
            .with_range(1, b_range.clone())
            .with_row_positions(true)
            .with_row_selection(true);
        let expected: Vec<(i64, u64)> = (10_000..20_000)
            .filter(|i| live(i) && b_of(*i).is_some_and(|b| b <= 9))
            .chain((2 * 65_536..rows).filter(live))
            .map(|i| (i, i as u64))
            .collect();
        assert!(rows_and_positions(&table, &options) == expected);

        // a alone (BIGINT, 8 bytes a row): selected in the first block.
        let a_alone = ColumnRange::new(Bound::Unbounded, Bound::Excluded(StatValue::Int(5_000)));
        let options = ScanOptions::new(&[0])
            .with_range(0, a_alone)
            .with_row_positions(true)
            .with_row_selection(true);
        let got = rows_and_positions(&table, &options);
        let expected: Vec<(i64, u64)> = (0..rows)
            .filter(|i| live(i) && (*i < 5_000 || !in_blocks(i)))
            .map(|i| (i, i as u64))
            .collect();
        assert!(got == expected);

        // b alone (INTEGER, 4 bytes a row): the caller's filter compares
        // those more cheaply than rows are gathered; whole blocks.
        let options = ScanOptions::new(&[0])
            .with_range(1, b_range)
            .with_row_positions(true)
            .with_row_selection(true);
        let expected: Vec<(i64, u64)> = (0..rows).filter(live).map(|i| (i, i as u64)).collect();
        assert!(rows_and_positions(&table, &options) == expected);

        // A range that keeps most rows is not evaluated: whole blocks.
        let wide = ColumnRange::new(Bound::Included(StatValue::Int(1_000)), Bound::Unbounded);
        let options = ScanOptions::new(&[0])
            .with_range(0, wide)
            .with_row_positions(true)
            .with_row_selection(true);
        let expected: Vec<(i64, u64)> = (0..rows).filter(live).map(|i| (i, i as u64)).collect();
        assert!(rows_and_positions(&table, &options) == expected);
    }
}
