//! `hyperctl-storage`: the database file. It owns the bytes on disk: the header,
//! the catalog, table data, transactions, recovery and locking.
//!
//! Place in the layers: above `format` (types and encodings), below `sql`. It
//! knows nothing of SQL or operators. All file I/O goes through the
//! [`Backend`] trait, with [`MemBackend`] as the in-memory twin for tests
//! (and `testing::FaultyBackend`, which loses power and damages reads, for
//! crash tests). [`Database::verify`] checks every byte a database needs.
//!
//! One file per database (`.hxe`), locked while open: exclusively by a writer,
//! shared by read-only handles. Commits are atomic and durable when
//! [`WriteTxn::commit`] returns; readers see consistent [`Snapshot`]s.
//!
//! ```
//! use hyperctl_storage::{ColumnDef, Database, TableDef};
//! use hyperctl_format::SqlType;
//! use hyperctl_format::arrow::array::{Int32Array, RecordBatch};
//! use std::sync::Arc;
//!
//! let db = Database::in_memory();
//! let def = TableDef {
//!     schema: "public".into(),
//!     name: "t".into(),
//!     columns: vec![ColumnDef::new("a", SqlType::Int, false)],
//! };
//! let mut txn = db.begin_write()?;
//! txn.create_table(def.clone())?;
//! let batch = RecordBatch::try_new(def.arrow_schema(), vec![Arc::new(Int32Array::from(vec![1, 2, 3]))]).unwrap();
//! txn.append("public", "t", &batch)?;
//! txn.commit()?;
//!
//! let table = db.snapshot().table("public", "t").unwrap();
//! assert_eq!(table.row_count(), 3);
//! let rows: usize = table.scan(&[0])?.map(|b| b.map(|b| b.num_rows())).sum::<Result<_, _>>()?;
//! assert_eq!(rows, 3);
//! # Ok::<(), hyperctl_storage::Error>(())
//! ```
#![forbid(unsafe_code)]

mod alloc;
mod backend;
mod catalog;
mod checkpoint;
mod db;
mod error;
mod freeze;
mod header;
mod pool;
mod rowset;
mod scan;
mod txn;
mod verify;
mod wal;

// Fuzz target bodies and test support, public so that `fuzz/`, this crate's
// `tests/` and other crates' tests can call them; not part of the API.
#[doc(hidden)]
pub mod fuzzing;
#[doc(hidden)]
pub mod testing;

pub use backend::{Backend, FileBackend, MemBackend};
pub use catalog::{ColumnDef, DEFAULT_SCHEMA, TableDef};
pub use db::{
    CreateMode, DEFAULT_CHECKPOINT_WAL_BYTES, DEFAULT_MEMORY_BUDGET, Database, DatabaseStats,
    OpenOptions, VacuumReport, wal_path_of,
};
pub use error::{Error, Result};
pub use scan::{
    BlockColumnInfo, BlockInfo, ROW_POSITION_COLUMN, ScanOptions, Snapshot, TableHandle, TableScan,
    projected_schema,
};
pub use txn::WriteTxn;
pub use verify::{Place, Problem, Severity, SlotStatus, VerifyReport};
