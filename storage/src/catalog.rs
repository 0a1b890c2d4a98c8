//! The catalog: schemas, tables, their columns, their blocks and where the
//! blocks' bytes live. It is also the in-memory state of a database version:
//! a table's hot tail (rows not yet frozen into a block) lives here, in
//! memory and in the WAL, until a checkpoint freezes it.
//!
//! A checkpoint writes the whole catalog as one blob (its location and
//! checksum are in the header); tails are empty then. Blob layout,
//! little-endian, strings as u32 length + UTF-8:
//!
//! ```text
//! u32 CATALOG_VERSION
//! u64 next table id
//! u32 schema count, then each schema name
//! u32 table count, then each table:
//!     u64 id, str schema, str name
//!     u32 column count, then each column: str name, SqlType (format's encoding),
//!         u8 nullable, str collation ("" for none),
//!         u8 has default (0 or 1), then the default's SQL text (version 3+)
//!     u32 block count, then each block (see `Block::encode`):
//!         u32 rows, deletion vector (rowset.rs),
//!         per column: u64 offset, u32 length, ColumnStats (format's encoding)
//! ```
//!
//! Invariant: a decoded catalog only points inside the file, at or past the
//! data region; blocks hold 1..=BLOCK_ROWS_MAX rows.

use std::sync::Arc;

use hyperctl_format::arrow::array::RecordBatch;
use hyperctl_format::arrow::datatypes::{Schema, SchemaRef};
use hyperctl_format::{ByteReader, ByteWriter, ColumnStats, SqlType};

use crate::header::DATA_START;
use crate::rowset::RowSet;

const CATALOG_VERSION: u32 = 3;
/// The catalog version before column defaults (still read).
const CATALOG_VERSION_NO_DEFAULTS: u32 = 2;
/// The most rows one block holds.
pub(crate) const BLOCK_ROWS_MAX: usize = 65_536;
/// The default schema every database has.
pub const DEFAULT_SCHEMA: &str = "public";

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    /// Column name, as stored (case-sensitive).
    pub name: String,
    /// Its SQL type.
    pub ty: SqlType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The collation of a text column (`None`: binary, Hyper's default).
    /// Stored and reported; comparisons are binary today.
    pub collation: Option<String>,
    /// The column's DEFAULT, as SQL text (the SQL layer binds it on each
    /// INSERT); `None`: NULL.
    pub default: Option<String>,
}

impl ColumnDef {
    /// A column definition.
    pub fn new(name: impl Into<String>, ty: SqlType, nullable: bool) -> Self {
        Self {
            name: name.into(),
            ty,
            nullable,
            collation: None,
            default: None,
        }
    }

    /// The same column with a collation.
    pub fn with_collation(mut self, collation: Option<String>) -> Self {
        self.collation = collation;
        self
    }

    /// The same column with a DEFAULT (SQL text).
    pub fn with_default(mut self, default: Option<String>) -> Self {
        self.default = default;
        self
    }
}

/// A table's name and columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// The columns, in order.
    pub columns: Vec<ColumnDef>,
}

impl TableDef {
    /// The Arrow schema of the table's rows (SQL types in the field metadata).
    pub fn arrow_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| c.ty.arrow_field(&c.name, c.nullable))
                .collect::<Vec<_>>(),
        ))
    }
}

/// Where some bytes of the file are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Extent {
    pub(crate) offset: u64,
    pub(crate) len: u32,
}

impl Extent {
    pub(crate) fn end(&self) -> u64 {
        self.offset + u64::from(self.len)
    }
}

/// One column of one block: its bytes and its statistics.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BlockColumn {
    pub(crate) extent: Extent,
    pub(crate) stats: ColumnStats,
}

/// A frozen block: up to `BLOCK_ROWS_MAX` rows of a table, compressed, one
/// extent per column, with the positions of its deleted rows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Block {
    pub(crate) rows: u32,
    pub(crate) columns: Vec<BlockColumn>,
    pub(crate) deleted: RowSet,
}

impl Block {
    pub(crate) fn live_rows(&self) -> u32 {
        self.rows - self.deleted.len()
    }

    pub(crate) fn encode(&self, w: &mut ByteWriter) {
        w.put_u32(self.rows);
        self.deleted.encode(w);
        for c in &self.columns {
            w.put_u64(c.extent.offset);
            w.put_u32(c.extent.len);
            c.stats.write_to(w);
        }
    }

    /// Decodes a block of a table with `columns` columns in a file of
    /// `file_len` bytes.
    pub(crate) fn decode(
        r: &mut ByteReader<'_>,
        columns: usize,
        file_len: u64,
    ) -> hyperctl_format::Result<Block> {
        let rows = r.u32("block rows")?;
        if rows == 0 || rows as usize > BLOCK_ROWS_MAX {
            return Err(r.error(format!(
                "block of {rows} rows (a block holds 1 to {BLOCK_ROWS_MAX})"
            )));
        }
        let deleted = RowSet::decode(r, rows)?;
        let mut out = Vec::with_capacity(columns.min(r.remaining() / 12 + 1));
        for _ in 0..columns {
            let at = r.offset();
            let offset = r.u64("extent offset")?;
            let len = r.u32("extent length")?;
            let inside = offset >= DATA_START
                && offset
                    .checked_add(u64::from(len))
                    .is_some_and(|end| end <= file_len);
            if !inside {
                return Err(ByteReader::new(&[], at).error(format!(
                    "column extent {offset}+{len} lies outside the data region ending at {file_len}"
                )));
            }
            let stats = ColumnStats::read_from(r)?;
            out.push(BlockColumn {
                extent: Extent { offset, len },
                stats,
            });
        }
        Ok(Block {
            rows,
            columns: out,
            deleted,
        })
    }
}

/// A table's hot tail: rows appended since its last frozen block, in memory
/// (and in the WAL), with the positions of the deleted ones.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tail {
    pub(crate) batches: Vec<RecordBatch>,
    pub(crate) rows: u32,
    pub(crate) deleted: RowSet,
    /// How many of the first rows are in the WAL already (all of them in a
    /// committed state; a write transaction's own rows follow).
    pub(crate) logged: u32,
}

impl Tail {
    pub(crate) fn live_rows(&self) -> u32 {
        self.rows - self.deleted.len()
    }
}

/// A table in the catalog.
#[derive(Debug, Clone)]
pub(crate) struct TableEntry {
    /// Stable identity (names change with ALTER TABLE RENAME).
    pub(crate) id: u64,
    pub(crate) def: TableDef,
    pub(crate) blocks: Vec<Arc<Block>>,
    pub(crate) tail: Arc<Tail>,
}

impl TableEntry {
    pub(crate) fn new(id: u64, def: TableDef) -> Self {
        Self {
            id,
            def,
            blocks: Vec::new(),
            tail: Arc::new(Tail::default()),
        }
    }

    /// Rows not deleted.
    pub(crate) fn live_rows(&self) -> u64 {
        self.blocks
            .iter()
            .map(|b| u64::from(b.live_rows()))
            .sum::<u64>()
            + u64::from(self.tail.live_rows())
    }
}

/// Everything a snapshot knows: one version of the database.
#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    /// Grows with every commit and checkpoint of this process (not stored).
    pub(crate) version: u64,
    pub(crate) next_table_id: u64,
    pub(crate) schemas: Vec<String>,
    pub(crate) tables: Vec<Arc<TableEntry>>,
}

impl Default for Catalog {
    fn default() -> Self {
        Self {
            version: 0,
            next_table_id: 1,
            schemas: vec![DEFAULT_SCHEMA.to_string()],
            tables: Vec::new(),
        }
    }
}

impl Catalog {
    pub(crate) fn table(&self, schema: &str, name: &str) -> Option<&Arc<TableEntry>> {
        self.tables
            .iter()
            .find(|t| t.def.schema == schema && t.def.name == name)
    }

    pub(crate) fn table_index(&self, schema: &str, name: &str) -> Option<usize> {
        self.tables
            .iter()
            .position(|t| t.def.schema == schema && t.def.name == name)
    }

    pub(crate) fn table_index_by_id(&self, id: u64) -> Option<usize> {
        self.tables.iter().position(|t| t.id == id)
    }

    /// Every extent the blocks of this version use.
    pub(crate) fn block_extents(&self) -> impl Iterator<Item = Extent> + '_ {
        self.tables.iter().flat_map(|t| {
            t.blocks
                .iter()
                .flat_map(|b| b.columns.iter().map(|c| c.extent))
        })
    }

    /// The blob of a checkpoint (tails must be frozen first; they are not
    /// written).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = ByteWriter::new();
        w.put_u32(CATALOG_VERSION);
        w.put_u64(self.next_table_id);
        w.put_u32(self.schemas.len() as u32);
        for s in &self.schemas {
            w.put_str(s);
        }
        w.put_u32(self.tables.len() as u32);
        for t in &self.tables {
            w.put_u64(t.id);
            encode_def(&t.def, &mut w);
            w.put_u32(t.blocks.len() as u32);
            for b in &t.blocks {
                b.encode(&mut w);
            }
        }
        w.into_inner()
    }

    /// Decodes a catalog blob found at `base_offset` of a file of `file_len`
    /// bytes.
    pub(crate) fn decode(
        bytes: &[u8],
        base_offset: u64,
        file_len: u64,
    ) -> hyperctl_format::Result<Catalog> {
        let mut r = ByteReader::new(bytes, base_offset);
        let version = r.u32("catalog version")?;
        if version != CATALOG_VERSION && version != CATALOG_VERSION_NO_DEFAULTS {
            return Err(r.error(format!("unknown catalog version {version}")));
        }
        let defaults = version != CATALOG_VERSION_NO_DEFAULTS;
        let next_table_id = r.u64("next table id")?;
        let schema_count = r.u32("schema count")?;
        let mut schemas = Vec::new();
        for _ in 0..schema_count {
            schemas.push(r.str("schema name")?.to_string());
        }
        let table_count = r.u32("table count")?;
        let mut tables: Vec<Arc<TableEntry>> = Vec::new();
        for _ in 0..table_count {
            let at = r.offset();
            let id = r.u64("table id")?;
            let def = decode_def(&mut r, defaults)?;
            if id >= next_table_id || tables.iter().any(|t| t.id == id) {
                return Err(ByteReader::new(&[], at).error(format!(
                    "table {} has id {id}, which is taken or not below the next id {next_table_id}",
                    def.name
                )));
            }
            let block_count = r.u32("block count")?;
            let mut blocks = Vec::new();
            for _ in 0..block_count {
                blocks.push(Arc::new(Block::decode(
                    &mut r,
                    def.columns.len(),
                    file_len,
                )?));
            }
            let mut entry = TableEntry::new(id, def);
            entry.blocks = blocks;
            tables.push(Arc::new(entry));
        }
        r.finish("catalog")?;
        Ok(Catalog {
            version: 0,
            next_table_id,
            schemas,
            tables,
        })
    }
}

pub(crate) fn encode_def(def: &TableDef, w: &mut ByteWriter) {
    w.put_str(&def.schema);
    w.put_str(&def.name);
    w.put_u32(def.columns.len() as u32);
    for c in &def.columns {
        w.put_str(&c.name);
        c.ty.encode(w);
        w.put_u8(u8::from(c.nullable));
        w.put_str(c.collation.as_deref().unwrap_or(""));
        w.put_u8(u8::from(c.default.is_some()));
        if let Some(d) = &c.default {
            w.put_str(d);
        }
    }
}

/// Decodes a table definition; `defaults`: whether columns carry their
/// DEFAULT (catalog version 3, the log's `TAG_CREATE_TABLE_DEFAULTS`).
pub(crate) fn decode_def(
    r: &mut ByteReader<'_>,
    defaults: bool,
) -> hyperctl_format::Result<TableDef> {
    let schema = r.str("table schema")?.to_string();
    let name = r.str("table name")?.to_string();
    let column_count = r.u32("column count")?;
    let mut columns = Vec::new();
    for _ in 0..column_count {
        let col_name = r.str("column name")?.to_string();
        let ty = SqlType::decode(r)?;
        let nullable = match r.u8("nullable flag")? {
            0 => false,
            1 => true,
            other => return Err(r.error(format!("nullable flag {other} is not 0 or 1"))),
        };
        let collation = r.str("collation")?;
        let collation = (!collation.is_empty()).then(|| collation.to_string());
        let default = if defaults {
            match r.u8("default flag")? {
                0 => None,
                1 => Some(r.str("column default")?.to_string()),
                other => return Err(r.error(format!("default flag {other} is not 0 or 1"))),
            }
        } else {
            None
        };
        columns.push(
            ColumnDef::new(col_name, ty, nullable)
                .with_collation(collation)
                .with_default(default),
        );
    }
    Ok(TableDef {
        schema,
        name,
        columns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Catalog {
        let def = TableDef {
            schema: DEFAULT_SCHEMA.into(),
            name: "t".into(),
            columns: vec![
                ColumnDef::new("a", SqlType::Int, false),
                ColumnDef::new("b", SqlType::numeric(10, 2).unwrap(), true)
                    .with_default(Some("1.5".into())),
            ],
        };
        let stats = |rows| ColumnStats {
            rows,
            null_count: 0,
            min: None,
            max: None,
        };
        let mut deleted = RowSet::default();
        deleted.insert(1);
        let block = Block {
            rows: 3,
            columns: vec![
                BlockColumn {
                    extent: Extent {
                        offset: DATA_START,
                        len: 10,
                    },
                    stats: stats(3),
                },
                BlockColumn {
                    extent: Extent {
                        offset: DATA_START + 10,
                        len: 20,
                    },
                    stats: stats(3),
                },
            ],
            deleted,
        };
        let mut entry = TableEntry::new(1, def);
        entry.blocks.push(Arc::new(block));
        Catalog {
            version: 0,
            next_table_id: 2,
            schemas: vec![DEFAULT_SCHEMA.into()],
            tables: vec![Arc::new(entry)],
        }
    }

    #[test]
    fn round_trip() {
        let c = sample();
        let bytes = c.encode();
        let back = Catalog::decode(&bytes, 0, DATA_START + 30).unwrap();
        assert_eq!(back.encode(), bytes);
        assert_eq!(back.tables[0].live_rows(), 2);
    }

    #[test]
    fn version_2_without_defaults_still_reads() {
        let mut c = sample();
        Arc::make_mut(&mut c.tables[0]).def.columns[1].default = None;
        let mut w = ByteWriter::new();
        w.put_u32(CATALOG_VERSION_NO_DEFAULTS);
        w.put_u64(c.next_table_id);
        w.put_u32(1);
        w.put_str(DEFAULT_SCHEMA);
        w.put_u32(1);
        let t = &c.tables[0];
        w.put_u64(t.id);
        w.put_str(&t.def.schema);
        w.put_str(&t.def.name);
        w.put_u32(t.def.columns.len() as u32);
        for col in &t.def.columns {
            w.put_str(&col.name);
            col.ty.encode(&mut w);
            w.put_u8(u8::from(col.nullable));
            w.put_str("");
        }
        w.put_u32(t.blocks.len() as u32);
        for b in &t.blocks {
            b.encode(&mut w);
        }
        let back = Catalog::decode(&w.into_inner(), 0, DATA_START + 30).unwrap();
        assert_eq!(back.tables[0].def, c.tables[0].def);
    }

    #[test]
    fn truncations_and_bad_extents_are_errors() {
        let bytes = sample().encode();
        for n in 0..bytes.len() {
            assert!(Catalog::decode(&bytes[..n], 0, DATA_START + 30).is_err());
        }
        assert!(Catalog::decode(&bytes, 0, DATA_START + 29).is_err());
    }
}
