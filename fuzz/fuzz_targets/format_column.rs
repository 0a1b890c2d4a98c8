//! Fuzz target `format_column`: the first byte picks a SQL type, the rest is
//! decoded as an encoded column; whatever decodes must re-encode to the same
//! bytes and decode again to an equal array. The body lives in
//! `hyperctl_format::fuzzing` so that `cargo test` replays the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hyperctl_format::fuzzing::column_round_trip(data);
});
