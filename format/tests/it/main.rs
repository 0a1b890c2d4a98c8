//! Integration tests of `hyperctl-format`: column and block encodings round
//! trip for every SQL type, corrupt bytes come back as errors, and the fuzz
//! corpora replay without libFuzzer.

mod arb;
mod block;
mod block_corpus;
mod corpus;
mod corrupt;
mod round_trip;
