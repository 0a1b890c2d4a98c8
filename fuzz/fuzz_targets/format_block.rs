//! Fuzz target `format_block`: the first byte picks a SQL type, the rest is
//! decoded as an encoded block column (and read as the recipe of a column);
//! whatever decodes must be valid Arrow and round-trip through every block
//! encoding. The body lives in `hyperctl_format::fuzzing` so that `cargo test`
//! replays the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hyperctl_format::fuzzing::block_decode(data);
});
