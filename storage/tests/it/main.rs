//! Integration tests of hyperctl-storage, one binary:
//! - `crash`: power loss at every write and sync of seeded workloads, on the
//!   fault-injecting backend, checked against a model of committed rows;
//! - `flips`: every single-byte flip of a small closed file, and a seeded
//!   sample of a bigger one, is reported by `verify`, and reads give the
//!   original rows or a `Corrupt` error naming the place;
//! - `faults`: read faults, failed commits, checkpoints and vacuums
//!   (poisoning), truncated files, locking, interrupted creation and
//!   replacing real files;
//! - `concurrency`: readers sum balances on snapshots while writers commit
//!   transfers and checkpoints run;
//! - `vacuum`: VACUUM after deleting every other block shrinks the file;
//! - `big_table`: a table larger than the memory budget (write, query,
//!   update, vacuum), with the peak RSS;
//! - `space`: reused space never serves stale data;
//! - `corpus`: replays the `storage_open` fuzz corpus.
//!
//! Issue 3's acceptance items: 1 `crash`; 2 `cli/tests/kill.rs`; 3 `flips`
//! (and `corpus`, the fuzz target's regressions); 4 `concurrency`; 5
//! `faults::a_second_open_is_locked_and_harms_nothing`; 7 `big_table`; 8
//! `vacuum`.
//!
//! Random tests print their seed on failure and accept `HYPERCTL_SEED`.

mod big_table;
mod concurrency;
mod corpus;
mod crash;
mod faults;
mod flips;
mod model;
mod space;
mod vacuum;
