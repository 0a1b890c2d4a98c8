//! Bodies of the fuzz targets in `fuzz/fuzz_targets/sql_*.rs`, kept here so
//! that `cargo test` can replay their corpus without libFuzzer (see
//! `sql/tests/it/csv_corpus.rs`). Not part of the stable API.
//!
//! Invariant: each function panics only when it finds a bug.

use crate::load::{CsvOptions, fuzz::load_bytes};

/// Target `sql_csv`: the first byte picks the dialect (delimiter, quote,
/// escape, header, NULL string) and the read block size, the rest is a CSV
/// file. Inference and loading must return (never panic or hang); errors must
/// name a line inside the input; whatever inference accepts must load with the
/// inferred schema; the outcome must not depend on the read block size.
///
/// # Panics
/// When one of those properties fails, that is, on a bug.
pub fn csv_load(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    const DELIMITERS: [u8; 4] = [b',', b';', b'|', b'\t'];
    let mut options = CsvOptions::new()
        .delimiter(DELIMITERS[usize::from(selector & 3)])
        .header(selector & 4 != 0);
    if selector & 8 != 0 {
        options = options.escape(b'\\');
    }
    if selector & 16 != 0 {
        options = options.quote(b'\'');
    }
    if selector & 32 != 0 {
        options = options.null_string("NULL");
    }
    // Reading in small blocks exercises the refill path and must not change
    // the outcome.
    const BLOCK_BYTES: [usize; 4] = [1 << 20, 1, 7, 64];
    let block_bytes = BLOCK_BYTES[usize::from(selector >> 6)];
    let whole = load_bytes(bytes, &options, 1 << 20).map_err(|e| e.to_string());
    if block_bytes != 1 << 20 {
        let blocks = load_bytes(bytes, &options, block_bytes).map_err(|e| e.to_string());
        assert_eq!(
            whole, blocks,
            "reading {block_bytes} bytes at a time changed the outcome"
        );
    }
}
