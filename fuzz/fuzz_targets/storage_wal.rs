//! Fuzz target `storage_wal`: the input is the record stream of a
//! write-ahead log beside a valid database (records framed with correct
//! checksums, so the fuzzer reaches the op decoder and the replay). No
//! panics, no internal errors. The body lives in
//! `hyperctl_storage::fuzzing` so that `cargo test` replays the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hyperctl_storage::fuzzing::replay_arbitrary_wal(data);
});
