//! The Hyper API's object model on top of [`Connection`](crate::Connection):
//! names and quoting, [`TableDefinition`](crate::TableDefinition),
//! [`Catalog`](crate::Catalog), [`Inserter`](crate::Inserter), and query
//! results as [`Value`](crate::Value)s.
//!
//! Invariant: everything here goes through `Connection`'s public operations
//! (statements, `create_table`, `append_batches`) and a few `pub(crate)`
//! accessors; nothing here touches storage transactions directly.

pub(crate) mod catalog;
pub(crate) mod inserter;
pub(crate) mod names;
pub(crate) mod query;
pub(crate) mod table_definition;
pub(crate) mod value;
