//! Integration tests of hyperctl-storage, one binary:
//! - `crash`: power loss at every write and sync of seeded workloads, on the
//!   fault-injecting backend, checked against a model of committed rows;
//! - `flips`: every single-byte flip of small files, and a seeded sample of
//!   bigger ones, is reported or harmless;
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
