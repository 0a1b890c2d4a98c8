//! Bodies of the fuzz targets in `fuzz/fuzz_targets/sql_*.rs`, kept here so
//! that `cargo test` can replay their corpus without libFuzzer (see
//! `sql/tests/it/csv_corpus.rs`). Not part of the stable API.
//!
//! Invariant: each function panics only when it finds a bug.

use std::sync::{Arc, Mutex};

use hyperctl_exec::arrow::compute::concat_batches;

use crate::load::{CsvOptions, CsvSchema, OnError, Reject, RejectSink, fuzz, fuzz::load_bytes};

/// The dialect the selector byte picks (bits 0..6).
fn dialect_options(selector: u8) -> CsvOptions {
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
    options
}

/// Target `sql_csv`: the first byte picks the dialect (delimiter, quote,
/// escape, header, NULL string) and the chunk size, the rest is a CSV
/// file. Inference and loading must return (never panic or hang); errors must
/// name a line inside the input; whatever inference accepts must load with the
/// inferred schema; the outcome must not depend on the chunk size.
///
/// # Panics
/// When one of those properties fails, that is, on a bug.
pub fn csv_load(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let options = dialect_options(selector).threads(1);
    // Small chunks exercise the boundary scan and must not change the outcome.
    const CHUNK_BYTES: [usize; 4] = [1 << 20, 1, 7, 64];
    let chunk_bytes = CHUNK_BYTES[usize::from(selector >> 6)];
    let whole = load_bytes(bytes, &options.clone().chunk_bytes(1 << 20)).map_err(|e| e.to_string());
    if chunk_bytes != 1 << 20 {
        let chunks = load_bytes(bytes, &options.clone().threads(2).chunk_bytes(chunk_bytes))
            .map_err(|e| e.to_string());
        assert_eq!(
            whole, chunks,
            "parsing in chunks of {chunk_bytes} bytes changed the outcome"
        );
    }
}

/// Everything a load gives: the schema, the rows (as one batch, debug
/// printed), the rejected records; or the error.
pub type LoadOutcome = Result<(CsvSchema, String, Vec<Reject>), String>;

/// Infers and loads `data` with `options` (threads, chunk size and error mode
/// included); for tests that compare thread counts and chunk sizes.
pub fn csv_outcome(data: &[u8], options: &CsvOptions) -> LoadOutcome {
    let rejects = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let rejects = Arc::clone(&rejects);
        RejectSink::new(move |r| {
            if let Ok(mut v) = rejects.lock() {
                v.push(r.clone());
            }
            Ok(())
        })
    };
    let options = options.clone().reject_sink(sink);
    let (schema, batches) = fuzz::load_batches(data, &options).map_err(|e| e.to_string())?;
    let arrow_schema = schema.table_def("public", "t").arrow_schema();
    let rows = concat_batches(&arrow_schema, &batches).map_err(|e| e.to_string())?;
    let rejects = rejects.lock().map(|v| v.clone()).unwrap_or_default();
    Ok((schema, format!("{rows:?}"), rejects))
}

/// Target `sql_csv_parallel`: byte 0 picks the dialect (as in `sql_csv`),
/// byte 1 the thread count (1 to 4, bits 0..1), the chunk size (1 to 32
/// bytes, bits 2..6) and the error mode (bit 7); the rest is a CSV file.
/// Loading in parallel chunks must give the same schema, rows, rejects or
/// error as loading with one thread and one chunk.
///
/// # Panics
/// When the outcomes differ, that is, on a bug.
pub fn csv_parallel(data: &[u8]) {
    let [selector, split, bytes @ ..] = data else {
        return;
    };
    let mut options = dialect_options(*selector);
    if split & 0x80 != 0 {
        options = options.on_error(OnError::Skip);
    }
    let threads = usize::from(split & 3) + 1;
    let chunk_bytes = usize::from((split >> 2) & 31) + 1;
    let one = csv_outcome(bytes, &options.clone().threads(1).chunk_bytes(1 << 20));
    let many = csv_outcome(bytes, &options.threads(threads).chunk_bytes(chunk_bytes));
    assert_eq!(
        one, many,
        "{threads} threads with {chunk_bytes}-byte chunks changed the outcome"
    );
}
