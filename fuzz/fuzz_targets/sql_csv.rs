//! Fuzz target `sql_csv`: the first byte picks the CSV dialect, the rest is a
//! CSV file, inferred and loaded. Must never panic or hang; errors must name a
//! line of the input; what inference accepts must load. The body lives in
//! `hyperctl_sql::fuzzing` so that `cargo test` replays the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hyperctl_sql::fuzzing::csv_load(data);
});
