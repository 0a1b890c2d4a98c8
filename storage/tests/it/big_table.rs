//! A table larger than the memory budget (issue 3, acceptance 7): with a
//! buffer budget of 64 MiB, write a table in one transaction, query it
//! (scan + sum), update 1% of its rows (delete + append), query it again,
//! vacuum it, and read it after a reopen; the sums and counts stay right and
//! `verify` passes. The peak RSS (`VmHWM` of /proc/self/status) is printed.
//!
//! `cargo test` writes about 200 MB (debug build). The acceptance run, a
//! 2 GB table, with the peak RSS asserted to stay below half the table size:
//!
//! ```text
//! HYPERCTL_BIG_TABLE_MB=2048 cargo test --release -p hyperctl-storage --test it -- big_table --nocapture
//! ```
//!
//! (Run it alone, as above: the RSS is the whole test process's.)

use std::sync::Arc;
use std::time::Instant;

use hyperctl_format::SqlType;
use hyperctl_format::arrow::array::{AsArray, Int64Array, RecordBatch, StringArray};
use hyperctl_format::arrow::datatypes::{Int64Type, UInt64Type};
use hyperctl_storage::{
    ColumnDef, CreateMode, DEFAULT_SCHEMA, Database, OpenOptions, ScanOptions, TableDef,
};

const DEFAULT_MB: u64 = 200;
const BUDGET: usize = 64 << 20;
const BATCH: u64 = 65_536;

fn def() -> TableDef {
    TableDef {
        schema: DEFAULT_SCHEMA.into(),
        name: "big".into(),
        columns: vec![
            ColumnDef::new("id", SqlType::BigInt, false),
            ColumnDef::new("amount", SqlType::BigInt, false),
            ColumnDef::new("note", SqlType::Text, true),
        ],
    }
}

fn amount(id: u64) -> i64 {
    (id.wrapping_mul(2_654_435_761) % 100_000) as i64 - 50_000
}

fn batch(ids: Vec<i64>, amounts: Vec<i64>) -> RecordBatch {
    let notes: Vec<Option<String>> = ids
        .iter()
        .map(|id| (id % 11 != 0).then(|| format!("order {id:012} ok")))
        .collect();
    RecordBatch::try_new(
        def().arrow_schema(),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(Int64Array::from(amounts)),
            Arc::new(StringArray::from(notes)),
        ],
    )
    .expect("a valid batch")
}

/// (rows, sum of amount) as a query reads them.
fn query(db: &Database) -> (u64, i64) {
    let table = db
        .snapshot()
        .table(DEFAULT_SCHEMA, "big")
        .expect("the table");
    let mut rows = 0u64;
    let mut sum = 0i64;
    for b in table.scan(&[1]).expect("scan") {
        let b = b.expect("a part");
        rows += b.num_rows() as u64;
        sum += b
            .column(0)
            .as_primitive::<Int64Type>()
            .values()
            .iter()
            .sum::<i64>();
    }
    assert_eq!(rows, table.row_count());
    (rows, sum)
}

/// Peak resident set size of this process in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

#[test]
fn big_table_within_a_small_memory_budget() {
    let env = std::env::var("HYPERCTL_BIG_TABLE_MB").ok();
    let mb: u64 = env.as_deref().map_or(DEFAULT_MB, |v| {
        v.parse().expect("HYPERCTL_BIG_TABLE_MB is a number")
    });
    let target = mb << 20;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.hxe");
    let options = OpenOptions::new()
        .create_mode(CreateMode::Create)
        .memory_budget(BUDGET);
    let db = Database::open(&path, &options).unwrap();
    let clock = Instant::now();
    let lap = |what: &str, db: &Database| {
        let file = std::fs::metadata(&path).map_or(0, |m| m.len());
        println!(
            "big table: {what} after {:.1} s; file {} MB; peak RSS {} MB; {:?}",
            clock.elapsed().as_secs_f64(),
            file >> 20,
            peak_rss_kib() >> 10,
            db.stats()
                .map(|s| (s.pool_bytes >> 20, s.pool_hits, s.pool_misses))
        );
    };

    // Write: one transaction, blocks frozen into the file as they fill.
    let mut w = db.begin_write().unwrap();
    w.create_table(def()).unwrap();
    let mut rows = 0u64;
    let mut sum = 0i64;
    while std::fs::metadata(&path).unwrap().len() < target {
        let ids: Vec<i64> = (rows..rows + BATCH).map(|i| i as i64).collect();
        let amounts: Vec<i64> = (rows..rows + BATCH).map(amount).collect();
        sum += amounts.iter().sum::<i64>();
        w.append(DEFAULT_SCHEMA, "big", &batch(ids, amounts))
            .unwrap();
        rows += BATCH;
    }
    w.commit().unwrap();
    let table_bytes = std::fs::metadata(&path).unwrap().len();
    lap(&format!("wrote {rows} rows"), &db);

    // Query.
    assert_eq!(query(&db), (rows, sum));
    lap("queried", &db);

    // UPDATE big SET amount = amount + 1 WHERE id % 100 = 0.
    let mut w = db.begin_write().unwrap();
    let table = w.table(DEFAULT_SCHEMA, "big").unwrap();
    let mut positions = Vec::new();
    let (mut ids, mut amounts) = (Vec::new(), Vec::new());
    for b in table
        .scan_with(&ScanOptions::new(&[0, 1]).with_row_positions(true))
        .unwrap()
    {
        let b = b.unwrap();
        let id = b.column(0).as_primitive::<Int64Type>();
        let am = b.column(1).as_primitive::<Int64Type>();
        let pos = b.column(2).as_primitive::<UInt64Type>();
        for i in 0..b.num_rows() {
            if id.value(i) % 100 == 0 {
                positions.push(pos.value(i));
                ids.push(id.value(i));
                amounts.push(am.value(i) + 1);
            }
        }
    }
    drop(table);
    let updated = positions.len() as u64;
    assert_eq!(
        w.delete(DEFAULT_SCHEMA, "big", &positions).unwrap(),
        updated
    );
    for (i, a) in ids
        .chunks(BATCH as usize)
        .zip(amounts.chunks(BATCH as usize))
    {
        w.append(DEFAULT_SCHEMA, "big", &batch(i.to_vec(), a.to_vec()))
            .unwrap();
    }
    drop((ids, amounts, positions));
    w.commit().unwrap();
    let sum = sum + updated as i64;
    lap(&format!("updated {updated} rows"), &db);
    assert_eq!(query(&db), (rows, sum));
    lap("queried", &db);

    // VACUUM rewrites every block (each has deleted rows).
    let report = db.vacuum().unwrap();
    lap(&format!("vacuumed: {report:?}"), &db);
    assert!(report.blocks_rewritten > 0, "{report:?}");
    assert_eq!(query(&db), (rows, sum));
    let verify = db.verify();
    assert!(verify.is_ok(), "{verify}");
    lap("verified", &db);
    drop(db);

    let db = Database::open(&path, &OpenOptions::new().memory_budget(BUDGET)).unwrap();
    assert_eq!(query(&db), (rows, sum));
    lap("reopened and queried", &db);
    let peak = peak_rss_kib() << 10;
    println!(
        "big table: {} MB table, {rows} rows, budget {} MB, peak RSS {} MB",
        table_bytes >> 20,
        BUDGET >> 20,
        peak >> 20
    );
    if env.is_some() {
        assert!(
            peak < table_bytes / 2,
            "peak RSS {} MB for a {} MB table",
            peak >> 20,
            table_bytes >> 20
        );
    }
}
