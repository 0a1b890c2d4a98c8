//! Integration tests of hyperctl-sql: one binary, one module per area.

mod api;
mod csv_corpus;
mod errors;
mod joins;
mod persistence;
mod queries;
mod util;
