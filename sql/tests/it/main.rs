//! Integration tests of hyperctl-sql: one binary, one module per area.

mod api;
mod bulk_load;
mod columnar;
mod csv_corpus;
mod csv_parallel;
mod databases;
mod errors;
mod joins;
mod persistence;
mod queries;
mod subqueries;
mod util;
