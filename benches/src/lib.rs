//! Benchmarks of hyperctl and the data they run on.
//!
//! - [`orders`]: the deterministic generator of the sample "orders" CSV that
//!   ships in `examples/orders.csv` (regenerate it with
//!   `cargo run -p hyperctl-benches --example gen_orders > examples/orders.csv`).
//! - `benches/`: criterion benches (`cargo bench -p hyperctl-benches`).
#![forbid(unsafe_code)]

pub mod orders;
