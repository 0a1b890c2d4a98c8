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
