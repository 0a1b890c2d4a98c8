//! Fuzz target `sql_csv_parallel`: byte 0 picks the CSV dialect, byte 1 the
//! thread count, chunk size and error mode, the rest is a CSV file. Loading in
//! parallel chunks must give the same schema, rows, rejects or error as one
//! thread and one chunk. The body lives in `hyperctl_sql::fuzzing` so that
//! `cargo test` replays the corpus (`sql/tests/it/csv_parallel.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hyperctl_sql::fuzzing::csv_parallel(data);
});
