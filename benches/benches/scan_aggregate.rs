//! Scan + filter + hash aggregate over the sample orders table, in memory.
//! Run: `cargo bench -p hyperctl-benches --bench scan_aggregate`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hyperctl_sql::{Connection, CsvOptions, DEFAULT_SCHEMA, Database, infer_csv_schema, read_csv};

fn load(rows: usize) -> Connection {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("orders.csv");
    let mut file = std::fs::File::create(&csv).expect("create csv");
    hyperctl_benches::orders::write_csv(rows, &mut file).expect("write csv");
    let options = CsvOptions::new();
    let schema = infer_csv_schema(&csv, &options).expect("infer");
    let mut conn = Database::in_memory().connect();
    conn.create_table(schema.table_def(DEFAULT_SCHEMA, "orders"))
        .expect("create");
    conn.append_batches(
        DEFAULT_SCHEMA,
        "orders",
        read_csv(&csv, &options, &schema).expect("read"),
    )
    .expect("load");
    conn
}

fn scan_aggregate(c: &mut Criterion) {
    let mut conn = load(200_000);
    let mut group = c.benchmark_group("orders_200k");
    group.bench_function("sum_by_region", |b| {
        b.iter(|| {
            let r = conn
                .execute_query(
                    "SELECT region, count(*), sum(quantity * price) FROM orders \
                     WHERE discount < 0.2 GROUP BY region ORDER BY region",
                )
                .expect("query");
            black_box(r.num_rows())
        })
    });
    group.bench_function("count_star", |b| {
        b.iter(|| {
            black_box(
                conn.execute_query("SELECT count(*) FROM orders")
                    .expect("query")
                    .num_rows(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, scan_aggregate);
criterion_main!(benches);
