//! Integration tests of hyperctl-sql: one binary, one module per area.

mod errors;
mod joins;
mod persistence;
mod queries;
mod util;
