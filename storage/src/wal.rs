//! The write-ahead log `NAME.hxe-wal`: what committed since the last
//! checkpoint.
//!
//! A commit appends one record holding all its changes and returns once the
//! record is synced (commits that wait at the same time share one sync: group
//! commit). Large inserts do not pass through the log: their blocks are
//! written straight into free space of the main file and synced before the
//! record that names them. A checkpoint writes the state into the main file,
//! then starts the log afresh with the new checkpoint's sequence number as
//! its salt, so records of an older generation can never be replayed.
//!
//! Layout, little-endian:
//!
//! ```text
//! header (WAL_HEADER_LEN bytes)
//!  0  magic     [u8; 8]  WAL_MAGIC
//!  8  version   u32      WAL_VERSION
//! 12  flags     u32      0
//! 16  salt      u64      the sequence number of the checkpoint this log continues
//! 24  crc       u32      crc32c of bytes 0..24
//! 28  reserved  u32      0
//! records, back to back from offset 32:
//!  0  len       u32      payload length
//!  4  crc       u32      crc32c of salt (u64) ++ lsn (u64) ++ payload
//!  8  lsn       u64      1 for the first record after the header, then +1
//! 16  payload   [u8; len]: u32 op count, then each op (tag u8, fields; see `Op`)
//! ```
//!
//! Recovery replays records in order and stops at the first one that is
//! short, fails its checksum or breaks the lsn sequence: that is where the
//! last (unacknowledged) write was torn. Everything after it is garbage.
//!
//! Invariant: a record is replayed only if its salt equals the sequence
//! number of the header slot recovery chose, so a log that a checkpoint has
//! already absorbed is never applied twice.

use hyperctl_format::{ByteReader, ByteWriter, crc32c};

use crate::backend::Backend;
use crate::catalog::{BLOCK_ROWS_MAX, Block, TableDef, decode_def, encode_def};
use crate::rowset::RowSet;

pub(crate) const WAL_MAGIC: [u8; 8] = *b"\x89HXEWAL\n";
const WAL_VERSION: u32 = 1;
const MAGIC_OFFSET: usize = 0;
const VERSION_OFFSET: usize = MAGIC_OFFSET + 8;
const FLAGS_OFFSET: usize = VERSION_OFFSET + 4;
const SALT_OFFSET: usize = FLAGS_OFFSET + 4;
const CRC_OFFSET: usize = SALT_OFFSET + 8;
const RESERVED_OFFSET: usize = CRC_OFFSET + 4;
/// Bytes of the log's header; the first record starts here.
pub(crate) const WAL_HEADER_LEN: u64 = (RESERVED_OFFSET + 4) as u64;
const RECORD_HEADER_LEN: usize = 16;

/// Position of the tail in [`Op::Delete`].
pub(crate) const TAIL: u32 = u32::MAX;

/// One change, as logged and replayed.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    CreateSchema {
        name: String,
    },
    CreateTable {
        id: u64,
        def: TableDef,
    },
    /// Drops an empty schema.
    DropSchema {
        name: String,
    },
    DropTable {
        id: u64,
    },
    RenameTable {
        id: u64,
        schema: String,
        name: String,
    },
    /// A block written into the main file; it consumed the first `consumed`
    /// rows of the table's logged tail.
    AddBlock {
        table: u64,
        consumed: u32,
        block: Block,
    },
    /// Rows for the tail, one `encode_column` buffer per column.
    AppendTail {
        table: u64,
        rows: u32,
        columns: Vec<Vec<u8>>,
        deleted: RowSet,
    },
    /// Deleted rows of block `block` (or of the tail, `TAIL`).
    Delete {
        table: u64,
        block: u32,
        rows: RowSet,
    },
    Truncate {
        table: u64,
    },
}

const TAG_CREATE_SCHEMA: u8 = 1;
/// CREATE TABLE without column defaults (written before tag 9; still read).
const TAG_CREATE_TABLE: u8 = 2;
const TAG_DROP_TABLE: u8 = 3;
const TAG_RENAME_TABLE: u8 = 4;
const TAG_ADD_BLOCK: u8 = 5;
const TAG_APPEND_TAIL: u8 = 6;
const TAG_DELETE: u8 = 7;
const TAG_TRUNCATE: u8 = 8;
/// CREATE TABLE whose columns carry their DEFAULT.
const TAG_CREATE_TABLE_DEFAULTS: u8 = 9;
const TAG_DROP_SCHEMA: u8 = 10;

pub(crate) fn encode_ops(ops: &[Op]) -> Vec<u8> {
    let mut w = ByteWriter::new();
    w.put_u32(ops.len() as u32);
    for op in ops {
        match op {
            Op::CreateSchema { name } => {
                w.put_u8(TAG_CREATE_SCHEMA);
                w.put_str(name);
            }
            Op::CreateTable { id, def } => {
                w.put_u8(TAG_CREATE_TABLE_DEFAULTS);
                w.put_u64(*id);
                encode_def(def, &mut w);
            }
            Op::DropSchema { name } => {
                w.put_u8(TAG_DROP_SCHEMA);
                w.put_str(name);
            }
            Op::DropTable { id } => {
                w.put_u8(TAG_DROP_TABLE);
                w.put_u64(*id);
            }
            Op::RenameTable { id, schema, name } => {
                w.put_u8(TAG_RENAME_TABLE);
                w.put_u64(*id);
                w.put_str(schema);
                w.put_str(name);
            }
            Op::AddBlock {
                table,
                consumed,
                block,
            } => {
                w.put_u8(TAG_ADD_BLOCK);
                w.put_u64(*table);
                w.put_u32(*consumed);
                w.put_u32(block.columns.len() as u32);
                block.encode(&mut w);
            }
            Op::AppendTail {
                table,
                rows,
                columns,
                deleted,
            } => {
                w.put_u8(TAG_APPEND_TAIL);
                w.put_u64(*table);
                w.put_u32(*rows);
                deleted.encode(&mut w);
                w.put_u32(columns.len() as u32);
                for c in columns {
                    w.put_bytes(c);
                }
            }
            Op::Delete { table, block, rows } => {
                w.put_u8(TAG_DELETE);
                w.put_u64(*table);
                w.put_u32(*block);
                rows.encode(&mut w);
            }
            Op::Truncate { table } => {
                w.put_u8(TAG_TRUNCATE);
                w.put_u64(*table);
            }
        }
    }
    w.into_inner()
}

/// Decodes a record's payload (found at `base_offset` of the log) whose
/// blocks must lie in a main file of `file_len` bytes.
pub(crate) fn decode_ops(
    payload: &[u8],
    base_offset: u64,
    file_len: u64,
) -> hyperctl_format::Result<Vec<Op>> {
    let mut r = ByteReader::new(payload, base_offset);
    let count = r.u32("op count")?;
    let mut ops = Vec::new();
    for _ in 0..count {
        let tag = r.u8("op tag")?;
        let op = match tag {
            TAG_CREATE_SCHEMA => Op::CreateSchema {
                name: r.str("schema name")?.to_string(),
            },
            TAG_CREATE_TABLE | TAG_CREATE_TABLE_DEFAULTS => Op::CreateTable {
                id: r.u64("table id")?,
                def: decode_def(&mut r, tag == TAG_CREATE_TABLE_DEFAULTS)?,
            },
            TAG_DROP_SCHEMA => Op::DropSchema {
                name: r.str("schema name")?.to_string(),
            },
            TAG_DROP_TABLE => Op::DropTable {
                id: r.u64("table id")?,
            },
            TAG_RENAME_TABLE => Op::RenameTable {
                id: r.u64("table id")?,
                schema: r.str("schema name")?.to_string(),
                name: r.str("table name")?.to_string(),
            },
            TAG_ADD_BLOCK => {
                let table = r.u64("table id")?;
                let consumed = r.u32("consumed rows")?;
                let columns = r.u32("column count")? as usize;
                let block = Block::decode(&mut r, columns, file_len)?;
                Op::AddBlock {
                    table,
                    consumed,
                    block,
                }
            }
            TAG_APPEND_TAIL => {
                let table = r.u64("table id")?;
                let rows = r.u32("row count")?;
                if rows as usize > BLOCK_ROWS_MAX {
                    return Err(r.error(format!("{rows} tail rows in one record")));
                }
                let deleted = RowSet::decode(&mut r, rows)?;
                let n = r.u32("column count")?;
                let mut columns = Vec::new();
                for _ in 0..n {
                    columns.push(r.bytes("column")?.to_vec());
                }
                Op::AppendTail {
                    table,
                    rows,
                    columns,
                    deleted,
                }
            }
            TAG_DELETE => {
                let table = r.u64("table id")?;
                let block = r.u32("block index")?;
                let rows = RowSet::decode(&mut r, BLOCK_ROWS_MAX as u32)?;
                Op::Delete { table, block, rows }
            }
            TAG_TRUNCATE => Op::Truncate {
                table: r.u64("table id")?,
            },
            other => return Err(r.error(format!("unknown log op tag {other}"))),
        };
        ops.push(op);
    }
    r.finish("log record")?;
    Ok(ops)
}

pub(crate) fn encode_header(salt: u64) -> Vec<u8> {
    let mut w = ByteWriter::new();
    w.put_raw(&WAL_MAGIC);
    w.put_u32(WAL_VERSION);
    w.put_u32(0);
    w.put_u64(salt);
    let crc = crc32c(w.as_slice());
    w.put_u32(crc);
    w.put_u32(0);
    w.into_inner()
}

fn record_crc(salt: u64, lsn: u64, payload: &[u8]) -> u32 {
    let mut prefix = [0u8; 16];
    prefix[..8].copy_from_slice(&salt.to_le_bytes());
    prefix[8..].copy_from_slice(&lsn.to_le_bytes());
    hyperctl_format::crc32c_append(crc32c(&prefix), payload)
}

pub(crate) fn encode_record(salt: u64, lsn: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(RECORD_HEADER_LEN + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&record_crc(salt, lsn, payload).to_le_bytes());
    out.extend_from_slice(&lsn.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// What a log file holds.
#[derive(Debug, Default)]
pub(crate) struct WalScan {
    /// The salt of a valid header; `None` for an empty, foreign or torn one.
    pub(crate) salt: Option<u64>,
    /// The valid records in order: (lsn, offset of the payload, payload).
    pub(crate) records: Vec<(u64, u64, Vec<u8>)>,
    /// Where the valid records end (the next record goes here).
    pub(crate) end: u64,
    /// Bytes past `end` (a torn or unacknowledged write).
    pub(crate) garbage: u64,
}

/// Reads the log: its header and every valid record up to the first torn one.
///
/// # Errors
/// The backend's I/O error.
pub(crate) fn scan(backend: &dyn Backend) -> std::io::Result<WalScan> {
    let len = backend.len()?;
    let mut out = WalScan::default();
    if len < WAL_HEADER_LEN {
        out.garbage = len;
        return Ok(out);
    }
    let mut header = [0u8; WAL_HEADER_LEN as usize];
    backend.read_exact_at(&mut header, 0)?;
    let crc = u32::from_le_bytes(
        header[CRC_OFFSET..CRC_OFFSET + 4]
            .try_into()
            .expect("4 bytes"),
    );
    let version = u32::from_le_bytes(
        header[VERSION_OFFSET..VERSION_OFFSET + 4]
            .try_into()
            .expect("4 bytes"),
    );
    if header[..8] != WAL_MAGIC || crc32c(&header[..CRC_OFFSET]) != crc || version != WAL_VERSION {
        out.garbage = len;
        return Ok(out);
    }
    let salt = u64::from_le_bytes(
        header[SALT_OFFSET..SALT_OFFSET + 8]
            .try_into()
            .expect("8 bytes"),
    );
    out.salt = Some(salt);
    let mut at = WAL_HEADER_LEN;
    let mut lsn_expected = 1u64;
    loop {
        if len - at < RECORD_HEADER_LEN as u64 {
            break;
        }
        let mut head = [0u8; RECORD_HEADER_LEN];
        backend.read_exact_at(&mut head, at)?;
        let plen = u64::from(u32::from_le_bytes(head[..4].try_into().expect("4 bytes")));
        let crc = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
        let lsn = u64::from_le_bytes(head[8..16].try_into().expect("8 bytes"));
        let body_at = at + RECORD_HEADER_LEN as u64;
        if lsn != lsn_expected || plen > len - body_at {
            break;
        }
        let mut payload = vec![0u8; plen as usize];
        backend.read_exact_at(&mut payload, body_at)?;
        if record_crc(salt, lsn, &payload) != crc {
            break;
        }
        out.records.push((lsn, body_at, payload));
        at = body_at + plen;
        lsn_expected += 1;
    }
    out.end = at;
    out.garbage = len - at;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::MemBackend;

    #[test]
    fn records_round_trip_and_stop_at_a_tear() {
        let wal = MemBackend::new();
        wal.write_all_at(&encode_header(7), 0).unwrap();
        let ops = vec![Op::DropTable { id: 3 }, Op::Truncate { table: 4 }];
        let payload = encode_ops(&ops);
        let r1 = encode_record(7, 1, &payload);
        let r2 = encode_record(7, 2, &payload);
        wal.write_all_at(&r1, WAL_HEADER_LEN).unwrap();
        wal.write_all_at(&r2, WAL_HEADER_LEN + r1.len() as u64)
            .unwrap();
        let s = scan(&wal).unwrap();
        assert_eq!(s.salt, Some(7));
        assert_eq!(s.records.len(), 2);
        assert_eq!(s.garbage, 0);
        let back = decode_ops(&s.records[1].2, 0, 1 << 20).unwrap();
        assert!(matches!(back[1], Op::Truncate { table: 4 }));
        // Tear the second record anywhere: only the first survives.
        let full = wal.snapshot();
        for cut in (WAL_HEADER_LEN as usize + r1.len())..full.len() {
            let torn = MemBackend::from_bytes(full[..cut].to_vec());
            let s = scan(&torn).unwrap();
            assert_eq!(s.records.len(), 1, "cut at {cut}");
            assert_eq!(s.end, WAL_HEADER_LEN + r1.len() as u64);
        }
        // A record of another generation (salt) is not replayed.
        let other = MemBackend::new();
        other.write_all_at(&encode_header(8), 0).unwrap();
        other.write_all_at(&r1, WAL_HEADER_LEN).unwrap();
        assert!(scan(&other).unwrap().records.is_empty());
    }

    #[test]
    fn column_defaults_and_drop_schema_round_trip() {
        let def = TableDef {
            schema: "s".into(),
            name: "t".into(),
            columns: vec![
                crate::ColumnDef::new("a", hyperctl_format::SqlType::Int, true)
                    .with_default(Some("1 + 2".into())),
            ],
        };
        let payload = encode_ops(&[
            Op::CreateTable {
                id: 1,
                def: def.clone(),
            },
            Op::DropSchema { name: "s".into() },
        ]);
        let back = decode_ops(&payload, 0, 1 << 20).unwrap();
        assert!(matches!(&back[0], Op::CreateTable { def: d, .. } if *d == def));
        assert!(matches!(&back[1], Op::DropSchema { name } if name == "s"));
    }

    #[test]
    fn truncated_ops_are_errors() {
        let payload = encode_ops(&[Op::RenameTable {
            id: 1,
            schema: "public".into(),
            name: "x".into(),
        }]);
        for n in 0..payload.len() {
            assert!(decode_ops(&payload[..n], 0, 1 << 20).is_err());
        }
    }
}
