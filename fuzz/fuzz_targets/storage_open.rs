//! Fuzz target `storage_open`: the input is a database file; it is opened
//! read-only from memory, every table is scanned and the file verified, once
//! as given and once with its checksums fixed up. No panics, no internal
//! errors, and whatever does not open or scan must fail `verify`. The body
//! lives in `hyperctl_storage::fuzzing` so that `cargo test` replays the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hyperctl_storage::fuzzing::open_arbitrary(data);
});
