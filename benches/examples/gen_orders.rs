//! Writes the sample orders CSV to standard output:
//! `cargo run -p hyperctl-benches --example gen_orders > examples/orders.csv`
//! (an optional argument sets the row count; the default is the sample's).

use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let rows = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(hyperctl_benches::orders::SAMPLE_ROWS);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    hyperctl_benches::orders::write_csv(rows, &mut out)?;
    out.flush()
}
