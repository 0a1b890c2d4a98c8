//! Bodies of the fuzz targets in `fuzz/fuzz_targets/storage_*.rs`, kept here
//! so that `cargo test` replays their corpus without libFuzzer (see
//! `storage/tests/it/corpus.rs`). Not part of the stable API.
//!
//! Invariant: each function panics only when it finds a bug.

use std::path::{Path, PathBuf};

use hyperctl_format::crc32c;

use crate::backend::MemBackend;
use crate::catalog::Catalog;
use crate::db::Database;
use crate::error::Error;
use crate::header::{DATA_START, SLOT_LEN, SLOT_OFFSETS};
use crate::verify::verify_backend;

/// Target `storage_open`: `data` is a database file. Opens it read-only,
/// scans every column of every table and verifies it, once as given and once
/// with its checksums fixed up (header slots, the catalog and the
/// block columns it names), so that the fuzzer gets past the checksums to the
/// structure behind them.
///
/// Checked: nothing panics; no `Internal` error; a file that does not open,
/// or has a table that does not scan, is reported damaged by `verify`.
///
/// # Panics
/// When one of those properties fails, that is, on a bug.
pub fn open_arbitrary(data: &[u8]) {
    check_image(data);
    let resealed = reseal(data);
    if resealed != data {
        check_image(&resealed);
    }
}

fn check_image(bytes: &[u8]) {
    let path = Path::new("fuzz.hxe");
    let report = verify_backend(path, &MemBackend::from_bytes(bytes.to_vec()));
    let backend = Box::new(MemBackend::from_bytes(bytes.to_vec()));
    let options = crate::OpenOptions::new().read_only(true);
    let wal = Box::new(MemBackend::new());
    let db = match Database::from_backends(PathBuf::from(path), backend, wal, &options, false) {
        Ok(db) => db,
        Err(e) => {
            assert!(!matches!(e, Error::Internal { .. }), "open: {e}");
            assert!(
                !report.is_ok(),
                "open failed ({e}) but verify passed:\n{report}"
            );
            return;
        }
    };
    let mut damaged = None;
    for table in db.snapshot().all_tables() {
        let projection: Vec<usize> = (0..table.def().columns.len()).collect();
        let scan = match table.scan(&projection) {
            Ok(scan) => scan,
            Err(e) => panic!("scan of {}: {e}", table.def().name),
        };
        let mut rows = 0u64;
        for batch in scan {
            match batch {
                Ok(batch) => rows += batch.num_rows() as u64,
                Err(e) => {
                    assert!(!matches!(e, Error::Internal { .. }), "scan: {e}");
                    damaged = Some(e);
                    break;
                }
            }
        }
        if damaged.is_none() {
            assert_eq!(rows, table.row_count(), "rows of {}", table.def().name);
        }
    }
    if let Some(e) = damaged {
        assert!(
            !report.is_ok(),
            "scan failed ({e}) but verify passed:\n{report}"
        );
    }
    assert_eq!(db.verify(), report, "verify through the handle differs");
}

/// `data` with every checksum that it has a place for made right.
fn reseal(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    for slot_offset in SLOT_OFFSETS {
        let slot = slot_offset as usize;
        let Some(header) = out.get(slot..slot + SLOT_LEN) else {
            continue;
        };
        let field = |at: usize| u64::from_le_bytes(header[at..at + 8].try_into().unwrap_or([0; 8]));
        let (catalog_offset, catalog_len, file_end) = (field(24), field(32), field(40));
        let catalog_range = usize::try_from(catalog_offset)
            .ok()
            .zip(usize::try_from(catalog_len).ok())
            .and_then(|(start, len)| Some(start..start.checked_add(len)?))
            .filter(|r| r.start as u64 >= DATA_START && r.end <= out.len());
        if let Some(range) = catalog_range {
            if let Ok(catalog) = Catalog::decode(&out[range.clone()], catalog_offset, file_end) {
                reseal_columns(&mut out, &catalog, &range);
            }
            let crc = crc32c(&out[range]);
            out[slot + 48..slot + 52].copy_from_slice(&crc.to_le_bytes());
        }
        let crc = crc32c(&out[slot..slot + 52]);
        out[slot + 52..slot + 56].copy_from_slice(&crc.to_le_bytes());
    }
    out
}

fn reseal_columns(out: &mut [u8], catalog: &Catalog, catalog_range: &std::ops::Range<usize>) {
    for table in &catalog.tables {
        for block in &table.blocks {
            for extent in block.columns.iter().map(|c| &c.extent) {
                let Ok(start) = usize::try_from(extent.offset) else {
                    continue;
                };
                let end = start + extent.len as usize;
                let overlaps = start < catalog_range.end && catalog_range.start < end;
                if extent.len < 4 || end > out.len() || overlaps {
                    continue;
                }
                let crc = crc32c(&out[start..end - 4]);
                out[end - 4..end].copy_from_slice(&crc.to_le_bytes());
            }
        }
    }
}

/// Target `storage_wal`: `data` is the record stream of a write-ahead log
/// (each record as a u16 length and a payload) beside a valid database with
/// one table. The records are framed with the right salt, sequence numbers
/// and checksums so that the fuzzer reaches the op decoder and the replay.
///
/// Checked: opening read-only never panics and never fails with `Internal`;
/// when it opens, every table scans without panic.
///
/// # Panics
/// On a bug, as above.
pub fn replay_arbitrary_wal(data: &[u8]) {
    use hyperctl_format::arrow::array::{Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;

    use crate::backend::Backend;
    use crate::catalog::{ColumnDef, TableDef};

    // A database with table id 1 (two columns, a few rows) after a
    // checkpoint, so that its log salt is the header's sequence.
    let main = Arc::new(MemBackend::new());
    let def = TableDef {
        schema: crate::DEFAULT_SCHEMA.into(),
        name: "t".into(),
        columns: vec![
            ColumnDef::new("a", hyperctl_format::SqlType::BigInt, false),
            ColumnDef::new("s", hyperctl_format::SqlType::Text, true),
        ],
    };
    let image = {
        let db = Database::from_backends(
            PathBuf::from("fuzz.hxe"),
            Box::new(SharedMem(main.clone())),
            Box::new(MemBackend::new()),
            &crate::OpenOptions::new(),
            true,
        )
        .expect("a new in-memory database");
        let mut txn = db.begin_write().expect("writer");
        txn.create_table(def.clone()).expect("create");
        let batch = RecordBatch::try_new(
            def.arrow_schema(),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![Some("x"), None, Some("z")])),
            ],
        )
        .expect("batch");
        txn.append("public", "t", &batch).expect("append");
        txn.commit().expect("commit");
        db.checkpoint().expect("checkpoint");
        let salt = db.inner.writer.lock().header.sequence;
        (main.snapshot(), salt)
    };
    let (bytes, salt) = image;
    let wal = MemBackend::new();
    let mut at = 0u64;
    let header = crate::wal::encode_header(salt);
    wal.write_all_at(&header, 0).expect("memory");
    at += header.len() as u64;
    let mut rest = data;
    let mut lsn = 1;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let payload = &rest[2..2 + len];
        let record = crate::wal::encode_record(salt, lsn, payload);
        wal.write_all_at(&record, at).expect("memory");
        at += record.len() as u64;
        lsn += 1;
        rest = &rest[2 + len..];
    }
    let options = crate::OpenOptions::new().read_only(true);
    let db = match Database::from_backends(
        PathBuf::from("fuzz.hxe"),
        Box::new(MemBackend::from_bytes(bytes)),
        Box::new(wal),
        &options,
        false,
    ) {
        Ok(db) => db,
        Err(e) => {
            assert!(!matches!(e, Error::Internal { .. }), "open: {e}");
            return;
        }
    };
    for table in db.snapshot().all_tables() {
        let projection: Vec<usize> = (0..table.def().columns.len()).collect();
        if let Ok(scan) = table.scan(&projection) {
            for batch in scan {
                if let Err(e) = batch {
                    assert!(!matches!(e, Error::Internal { .. }), "scan: {e}");
                }
            }
        }
    }
}

/// A `MemBackend` shared with the caller (to take its image afterwards).
#[derive(Debug)]
struct SharedMem(std::sync::Arc<MemBackend>);

impl crate::backend::Backend for SharedMem {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.0.read_exact_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        self.0.write_all_at(buf, offset)
    }
    fn len(&self) -> std::io::Result<u64> {
        self.0.len()
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.0.set_len(len)
    }
    fn sync(&self) -> std::io::Result<()> {
        self.0.sync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::{Op, encode_ops};

    /// Seeds of `storage_wal` (also written to `fuzz/corpus/storage_wal/`
    /// when `HYPERCTL_WRITE_CORPUS=1`), replayed here.
    fn seeds() -> Vec<Vec<u8>> {
        let frame = |ops: &[Op]| {
            let p = encode_ops(ops);
            let mut out = (p.len() as u16).to_le_bytes().to_vec();
            out.extend_from_slice(&p);
            out
        };
        let mut rows = crate::rowset::RowSet::default();
        rows.insert(1);
        vec![
            frame(&[Op::Delete {
                table: 1,
                block: 0,
                rows: rows.clone(),
            }]),
            frame(&[Op::Delete {
                table: 1,
                block: 7,
                rows,
            }]),
            [
                frame(&[Op::Truncate { table: 1 }]),
                frame(&[Op::DropTable { id: 1 }]),
            ]
            .concat(),
            frame(&[Op::DropTable { id: 9 }]),
            frame(&[Op::AppendTail {
                table: 1,
                rows: 1,
                columns: vec![vec![1, 2, 3], vec![]],
                deleted: Default::default(),
            }]),
            vec![0xff, 0xff, 1, 2, 3],
        ]
    }

    #[test]
    fn wal_seeds_replay_without_panics() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/storage_wal");
        let write = std::env::var("HYPERCTL_WRITE_CORPUS").as_deref() == Ok("1");
        if write {
            std::fs::create_dir_all(&dir).unwrap();
        }
        for (i, seed) in seeds().iter().enumerate() {
            replay_arbitrary_wal(seed);
            if write {
                std::fs::write(dir.join(format!("seed-{i}")), seed).unwrap();
            }
        }
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                replay_arbitrary_wal(&std::fs::read(e.path()).unwrap());
            }
        }
    }
}
