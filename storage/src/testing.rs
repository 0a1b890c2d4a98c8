//! Test support for this crate's tests and for other crates' tests: the
//! fault-injecting backend and the live regions of a database file. Not part
//! of the stable API.
//!
//! Invariant: nothing here is used by the engine itself.

use std::ops::Range;

pub use crate::backend::faulty::{FaultyBackend, ReadFaults, Survival};
use crate::db::Database;

/// Every byte range that the current commit of `db` needs, with a label: the
/// header slots, the catalog and every block column. A damaged byte
/// anywhere else must not change what the database reads.
pub fn live_extents(db: &Database) -> Vec<(Range<u64>, String)> {
    db.live_extents()
}
