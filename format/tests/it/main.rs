//! Integration tests of `hyperctl-format`: column encodings round trip for
//! every SQL type, corrupt bytes come back as errors, and the fuzz corpus
//! replays without libFuzzer.

mod arb;
mod corpus;
mod corrupt;
mod round_trip;
