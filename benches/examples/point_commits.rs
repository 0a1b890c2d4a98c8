//! Point-commit latency: N single-row INSERTs, each its own autocommit
//! transaction (durable when `execute_command` returns), through the SQL
//! facade. Driven by `benches/compare/storage.py`; prints one JSON object.
//!
//! Run: `cargo run --release -p hyperctl-benches --example point_commits -- FILE.hxe N`
//! (FILE.hxe is replaced).

use std::time::Instant;

use hyperctl_sql::{Connection, CreateMode};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, n] = args.as_slice() else {
        return Err("usage: point_commits FILE.hxe N".into());
    };
    let n: usize = n.parse()?;
    let mut conn = Connection::open(path, CreateMode::CreateAndReplace)?;
    // Same table in every engine (see storage.py: POINT_TABLE).
    conn.execute_command(
        "CREATE TABLE point (id bigint NOT NULL, amount numeric(15,2) NOT NULL, note text NOT NULL)",
    )?;
    let mut latencies_us = Vec::with_capacity(n);
    let started = Instant::now();
    for i in 0..n {
        let sql = format!(
            "INSERT INTO point VALUES ({i}, {}.{:02}, 'point commit {i}')",
            i % 10_000,
            i % 100
        );
        let t = Instant::now();
        conn.execute_command(&sql)?;
        latencies_us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let total_s = started.elapsed().as_secs_f64();
    let rows = conn.execute_query("SELECT count(*) FROM point")?.num_rows();
    drop(conn);
    let mut sorted = latencies_us.clone();
    sorted.sort_by(f64::total_cmp);
    let pct = |p: f64| sorted[((sorted.len() as f64 - 1.0) * p).round() as usize] / 1000.0;
    println!(
        "{{\"commits\": {n}, \"seconds\": {total_s:.6}, \"p50_ms\": {:.4}, \"p99_ms\": {:.4}, \"max_ms\": {:.4}, \"check_rows\": {rows}}}",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    Ok(())
}
