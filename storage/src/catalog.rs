//! The catalog: schemas, tables, their columns and where their data lives.
//!
//! A commit writes the whole catalog as one blob (its location and checksum are
//! in the header). Blob layout, little-endian, strings as u32 length + UTF-8:
//!
//! ```text
//! u32 CATALOG_VERSION
//! u32 schema count, then each schema name
//! u32 table count, then each table:
//!     str schema, str name
//!     u32 column count, then each column: str name, SqlType (format's encoding), u8 nullable
//!     u64 row count
//!     u32 chunk count, then each chunk: u32 rows, then per column: u64 offset, u32 length
//! ```
//!
//! Invariant: a decoded catalog only points inside the committed data region,
//! and each table's chunk rows add up to its row count.

use std::sync::Arc;

use hyperctl_format::arrow::datatypes::{Schema, SchemaRef};
use hyperctl_format::{ByteReader, ByteWriter, SqlType};

use crate::header::DATA_START;

const CATALOG_VERSION: u32 = 1;
/// The most rows one chunk (later: one block) holds.
pub(crate) const CHUNK_ROWS_MAX: usize = 65_536;
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
}

impl ColumnDef {
    /// A column definition.
    pub fn new(name: impl Into<String>, ty: SqlType, nullable: bool) -> Self {
        Self {
            name: name.into(),
            ty,
            nullable,
        }
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

/// Where one column chunk's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extent {
    pub(crate) offset: u64,
    pub(crate) len: u32,
}

/// Up to `CHUNK_ROWS_MAX` rows of a table, one extent per column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub(crate) rows: u32,
    pub(crate) columns: Vec<Extent>,
}

/// A table in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableEntry {
    pub(crate) def: TableDef,
    pub(crate) rows: u64,
    pub(crate) chunks: Vec<Chunk>,
}

/// Everything a snapshot knows about the database's structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Catalog {
    pub(crate) schemas: Vec<String>,
    pub(crate) tables: Vec<Arc<TableEntry>>,
}

impl Default for Catalog {
    fn default() -> Self {
        Self {
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

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = ByteWriter::new();
        w.put_u32(CATALOG_VERSION);
        w.put_u32(self.schemas.len() as u32);
        for s in &self.schemas {
            w.put_str(s);
        }
        w.put_u32(self.tables.len() as u32);
        for t in &self.tables {
            encode_table(t, &mut w);
        }
        w.into_inner()
    }

    /// Decodes a catalog blob found at `base_offset` of a file whose committed
    /// data ends at `file_end`.
    pub(crate) fn decode(
        bytes: &[u8],
        base_offset: u64,
        file_end: u64,
    ) -> hyperctl_format::Result<Catalog> {
        let mut r = ByteReader::new(bytes, base_offset);
        let version = r.u32("catalog version")?;
        if version != CATALOG_VERSION {
            return Err(r.error(format!("unknown catalog version {version}")));
        }
        let schema_count = r.u32("schema count")?;
        let mut schemas = Vec::new();
        for _ in 0..schema_count {
            schemas.push(r.str("schema name")?.to_string());
        }
        let table_count = r.u32("table count")?;
        let mut tables = Vec::new();
        for _ in 0..table_count {
            tables.push(Arc::new(decode_table(&mut r, file_end)?));
        }
        r.finish("catalog")?;
        Ok(Catalog { schemas, tables })
    }
}

fn encode_table(t: &TableEntry, w: &mut ByteWriter) {
    w.put_str(&t.def.schema);
    w.put_str(&t.def.name);
    w.put_u32(t.def.columns.len() as u32);
    for c in &t.def.columns {
        w.put_str(&c.name);
        c.ty.encode(w);
        w.put_u8(u8::from(c.nullable));
    }
    w.put_u64(t.rows);
    w.put_u32(t.chunks.len() as u32);
    for chunk in &t.chunks {
        w.put_u32(chunk.rows);
        for e in &chunk.columns {
            w.put_u64(e.offset);
            w.put_u32(e.len);
        }
    }
}

fn decode_table(r: &mut ByteReader<'_>, file_end: u64) -> hyperctl_format::Result<TableEntry> {
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
        columns.push(ColumnDef::new(col_name, ty, nullable));
    }
    let rows = r.u64("row count")?;
    let chunk_count = r.u32("chunk count")?;
    let mut chunks = Vec::new();
    let mut total = 0u64;
    for _ in 0..chunk_count {
        let chunk = decode_chunk(r, columns.len(), file_end)?;
        total += u64::from(chunk.rows);
        chunks.push(chunk);
    }
    if total != rows {
        return Err(r.error(format!(
            "table {name}: chunks hold {total} rows, the catalog says {rows}"
        )));
    }
    let def = TableDef {
        schema,
        name,
        columns,
    };
    Ok(TableEntry { def, rows, chunks })
}

fn decode_chunk(
    r: &mut ByteReader<'_>,
    columns: usize,
    file_end: u64,
) -> hyperctl_format::Result<Chunk> {
    let rows = r.u32("chunk rows")?;
    if rows as usize > CHUNK_ROWS_MAX {
        return Err(r.error(format!("chunk of {rows} rows exceeds {CHUNK_ROWS_MAX}")));
    }
    let mut extents = Vec::with_capacity(columns.min(r.remaining() / 12 + 1));
    for _ in 0..columns {
        let at = r.offset();
        let offset = r.u64("extent offset")?;
        let len = r.u32("extent length")?;
        let inside = offset >= DATA_START
            && offset
                .checked_add(u64::from(len))
                .is_some_and(|end| end <= file_end);
        if !inside {
            return Err(hyperctl_format::ByteReader::new(&[], at).error(format!(
                "column extent {offset}+{len} lies outside the data region ending at {file_end}"
            )));
        }
        extents.push(Extent { offset, len });
    }
    Ok(Chunk {
        rows,
        columns: extents,
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
                ColumnDef::new("b", SqlType::numeric(10, 2).unwrap(), true),
            ],
        };
        let chunk = Chunk {
            rows: 3,
            columns: vec![
                Extent {
                    offset: DATA_START,
                    len: 10,
                },
                Extent {
                    offset: DATA_START + 10,
                    len: 20,
                },
            ],
        };
        Catalog {
            schemas: vec![DEFAULT_SCHEMA.into()],
            tables: vec![Arc::new(TableEntry {
                def,
                rows: 3,
                chunks: vec![chunk],
            })],
        }
    }

    #[test]
    fn round_trip() {
        let c = sample();
        let bytes = c.encode();
        assert_eq!(Catalog::decode(&bytes, 0, DATA_START + 30).unwrap(), c);
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
