//! Times TPC-H queries in-process on an existing database: opens it once,
//! then per query file one untimed warm-up run and `--runs` timed runs.
//! Driven by `benches/compare/queries.py`; prints one JSON line per query
//! (as soon as it finishes, so that a caller's timeout keeps earlier lines):
//! `{"query": "q01", "median_ms": 12.3, "runs_ms": [...], "rows": 4}` or
//! `{"query": "q02", "error": "first line of the error"}`, then a last line
//! `{"threads": 2, "threads_requested": 2}` (the worker threads the engine
//! used; HYPERCTL_THREADS sets them, the default is one per core).
//!
//! Run: `cargo run --release -p hyperctl-benches --example tpch_queries --
//! FILE.hxe [--runs 5] q01.sql [q02.sql ...]` (HYPERCTL_THREADS=N asks for N
//! threads).

use std::path::Path;
use std::time::Instant;

use hyperctl_sql::Database;

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The allocator of the `hyperctl` binary, configured alike.
#[path = "../../cli/src/alloc.rs"]
mod alloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    alloc::configure();
    let mut args = std::env::args().skip(1);
    let db_path = args
        .next()
        .ok_or("usage: tpch_queries FILE.hxe [--runs N] QUERY.sql...")?;
    let mut runs = 5usize;
    let mut files = Vec::new();
    while let Some(a) = args.next() {
        if a == "--runs" {
            runs = args.next().ok_or("--runs needs a number")?.parse()?;
        } else {
            files.push(a);
        }
    }
    let threads_requested = std::env::var("HYPERCTL_THREADS").ok();
    let db = Database::open_read_only(&db_path)?;
    let mut conn = db.connect();
    let threads: Option<usize> = threads_requested.as_deref().and_then(|t| t.parse().ok());
    if let Some(t) = threads {
        conn.set_exec_options(hyperctl_sql::ExecOptions::builder().threads(t).build());
    }
    let threads_used = conn.exec_options().threads();
    for file in &files {
        let name = Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(file)
            .to_string();
        let sql = std::fs::read_to_string(file)?;
        let sql = sql.trim().trim_end_matches(';');
        let line = match conn.execute_query(sql) {
            Err(e) => {
                let msg = e.to_string();
                let first = msg.lines().next().unwrap_or("").to_string();
                format!(
                    "{{\"query\": {}, \"error\": {}}}",
                    json_string(&name),
                    json_string(&first)
                )
            }
            Ok(warm) => {
                let rows = warm.num_rows();
                let mut times_ms = Vec::with_capacity(runs);
                for _ in 0..runs {
                    let t = Instant::now();
                    let r = conn.execute_query(sql)?;
                    times_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                    std::hint::black_box(r.num_rows());
                }
                let mut sorted = times_ms.clone();
                sorted.sort_by(f64::total_cmp);
                let median = if sorted.is_empty() {
                    f64::NAN
                } else if sorted.len() % 2 == 1 {
                    sorted[sorted.len() / 2]
                } else {
                    (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2.0
                };
                let list: Vec<String> = times_ms.iter().map(|t| format!("{t:.3}")).collect();
                format!(
                    "{{\"query\": {}, \"median_ms\": {median:.3}, \"runs_ms\": [{}], \"rows\": {rows}}}",
                    json_string(&name),
                    list.join(", ")
                )
            }
        };
        println!("{line}");
    }
    println!(
        "{{\"threads\": {threads_used}, \"threads_requested\": {}}}",
        threads_requested.map_or("null".to_string(), |t| json_string(&t))
    );
    Ok(())
}
