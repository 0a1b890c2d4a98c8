//! The 22 TPC-H queries at scale factor 0.1 against checked-in reference
//! answers (issue 4, acceptance 1), and EXPLAIN ANALYZE on each (item 5).
//!
//! Data: the `tpchgen` crate (the generator behind `tpchgen-cli`, which
//! makes the same rows as the TPC's dbgen) through `tpchgen-arrow`, appended
//! to an in-memory database with the schema of the benches
//! (`benches/compare/tpch.py`: text for the character columns, the spec's
//! types otherwise). Queries: `benches/compare/queries/qNN.sql`, the
//! validation parameters of the spec.
//!
//! Reference answers: `answers/qNN.csv`, made once with DuckDB from
//! `tpchgen-cli csv -s 0.1` output by `make_answers.py` (its header says
//! how). Numbers compare with a relative tolerance of 1e-6 (or the rounding
//! of our printed digits: DuckDB gives averages as doubles, we as numeric),
//! the rest as text; rows in order (every query has an ORDER BY, and its
//! keys are unique on this data).
//!
//! `HYPERCTL_TPCH_SF` runs another scale factor: then only EXPLAIN ANALYZE
//! and a run without answers are checked.

use std::sync::OnceLock;

use hyperctl_sql::arrow::array::{ArrayRef, RecordBatch};
use hyperctl_sql::arrow::compute::cast;
use hyperctl_sql::arrow::error::ArrowError;
use hyperctl_sql::arrow::util::display::{ArrayFormatter, FormatOptions};
use hyperctl_sql::{Connection, DEFAULT_SCHEMA, Database};

/// The tables with hyperctl's column types (as the benches create them).
const TABLES: &[(&str, &str)] = &[
    ("region", "r_regionkey integer, r_name text, r_comment text"),
    (
        "nation",
        "n_nationkey integer, n_name text, n_regionkey integer, n_comment text",
    ),
    (
        "part",
        "p_partkey integer, p_name text, p_mfgr text, p_brand text, p_type text, \
         p_size integer, p_container text, p_retailprice decimal(15,2), p_comment text",
    ),
    (
        "supplier",
        "s_suppkey integer, s_name text, s_address text, s_nationkey integer, \
         s_phone text, s_acctbal decimal(15,2), s_comment text",
    ),
    (
        "partsupp",
        "ps_partkey integer, ps_suppkey integer, ps_availqty integer, \
         ps_supplycost decimal(15,2), ps_comment text",
    ),
    (
        "customer",
        "c_custkey integer, c_name text, c_address text, c_nationkey integer, \
         c_phone text, c_acctbal decimal(15,2), c_mktsegment text, c_comment text",
    ),
    (
        "orders",
        "o_orderkey bigint, o_custkey integer, o_orderstatus text, \
         o_totalprice decimal(15,2), o_orderdate date, o_orderpriority text, \
         o_clerk text, o_shippriority integer, o_comment text",
    ),
    (
        "lineitem",
        "l_orderkey bigint, l_partkey integer, l_suppkey integer, l_linenumber integer, \
         l_quantity decimal(15,2), l_extendedprice decimal(15,2), l_discount decimal(15,2), \
         l_tax decimal(15,2), l_returnflag text, l_linestatus text, l_shipdate date, \
         l_commitdate date, l_receiptdate date, l_shipinstruct text, l_shipmode text, \
         l_comment text",
    ),
];

fn scale_factor() -> f64 {
    std::env::var("HYPERCTL_TPCH_SF")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.1)
}

/// The generated batches of `table` at `sf`.
fn generate(table: &str, sf: f64) -> Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>>> {
    use tpchgen::generators as g;
    use tpchgen_arrow as a;
    const ROWS: usize = 65_536;
    match table {
        "region" => Box::new(a::RegionArrow::new(g::RegionGenerator::new(sf, 1, 1))),
        "nation" => Box::new(a::NationArrow::new(g::NationGenerator::new(sf, 1, 1))),
        "part" => {
            Box::new(a::PartArrow::new(g::PartGenerator::new(sf, 1, 1)).with_batch_size(ROWS))
        }
        "supplier" => Box::new(
            a::SupplierArrow::new(g::SupplierGenerator::new(sf, 1, 1)).with_batch_size(ROWS),
        ),
        "partsupp" => Box::new(
            a::PartSuppArrow::new(g::PartSuppGenerator::new(sf, 1, 1)).with_batch_size(ROWS),
        ),
        "customer" => Box::new(
            a::CustomerArrow::new(g::CustomerGenerator::new(sf, 1, 1)).with_batch_size(ROWS),
        ),
        "orders" => {
            Box::new(a::OrderArrow::new(g::OrderGenerator::new(sf, 1, 1)).with_batch_size(ROWS))
        }
        "lineitem" => Box::new(
            a::LineItemArrow::new(g::LineItemGenerator::new(sf, 1, 1)).with_batch_size(ROWS),
        ),
        other => panic!("no generator for {other}"),
    }
}

/// The database with all eight tables, built once per test process.
fn database() -> &'static Database {
    static DB: OnceLock<Database> = OnceLock::new();
    DB.get_or_init(|| {
        let sf = scale_factor();
        let db = Database::in_memory();
        let mut conn = db.connect();
        for (table, columns) in TABLES {
            conn.execute_command(&format!("CREATE TABLE {table} ({columns})"))
                .unwrap();
            let schema = conn
                .table_definition(DEFAULT_SCHEMA, table)
                .unwrap()
                .arrow_schema();
            let batches = generate(table, sf).map(|b| {
                let b = b.unwrap();
                // tpchgen-arrow's types (Int64 keys, Utf8View) cast to ours.
                let columns: Vec<ArrayRef> = b
                    .columns()
                    .iter()
                    .zip(schema.fields())
                    .map(|(c, f)| cast(c, f.data_type()).unwrap())
                    .collect();
                Ok(RecordBatch::try_new(schema.clone(), columns).unwrap())
            });
            conn.append_batches(DEFAULT_SCHEMA, table, batches).unwrap();
        }
        db
    })
}

fn query_text(n: usize) -> String {
    let path = format!(
        "{}/../benches/compare/queries/q{n:02}.sql",
        env!("CARGO_MANIFEST_DIR")
    );
    let sql = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    sql.trim().trim_end_matches(';').to_string()
}

/// The rows of a result as text cells (NULL as "").
fn cells(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let options = FormatOptions::default().with_null("");
    let mut rows = Vec::new();
    for b in batches {
        let formatters: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            rows.push(formatters.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    rows
}

fn answer(n: usize) -> (Vec<String>, Vec<Vec<String>>) {
    let path = format!(
        "{}/tests/tpch/answers/q{n:02}.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut reader = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// Whether two cells agree: numbers within a relative 1e-6 or the rounding
/// of the digits we print (a numeric average of scale 6 against DuckDB's
/// double), text exactly.
fn same(expected: &str, actual: &str) -> bool {
    match (expected.parse::<f64>(), actual.parse::<f64>()) {
        (Ok(e), Ok(a)) => {
            let decimals = actual.split_once('.').map_or(0, |(_, f)| f.len());
            let rounding = 0.5 * 10f64.powi(-(decimals as i32)) + 1e-12;
            (e - a).abs() <= (1e-6 * e.abs()).max(rounding)
        }
        _ => expected == actual,
    }
}

fn check(n: usize) {
    let mut conn: Connection = database().connect();
    let sql = query_text(n);
    let result = conn
        .execute_query(&sql)
        .unwrap_or_else(|e| panic!("Q{n} failed: {e}"));
    // EXPLAIN ANALYZE runs the query too and shows a plan with row counts.
    let explained = conn
        .execute_query(&format!("EXPLAIN ANALYZE {sql}"))
        .unwrap_or_else(|e| panic!("EXPLAIN ANALYZE of Q{n} failed: {e}"));
    let text: Vec<String> = cells(&explained.batches)
        .into_iter()
        .map(|r| r.join(" "))
        .collect();
    assert!(
        text.iter().any(|l| l.contains("rows=")),
        "EXPLAIN ANALYZE of Q{n} shows no row counts:\n{}",
        text.join("\n")
    );
    if scale_factor() != 0.1 {
        return;
    }
    let (header, expected) = answer(n);
    // An unnamed aggregate is `sum` in Hyper and PostgreSQL (and here),
    // `sum(l_quantity)` in DuckDB.
    let names: Vec<&str> = result.columns.iter().map(|c| c.name.as_str()).collect();
    let duckdb_names: Vec<&str> = header
        .iter()
        .map(|h| h.split_once('(').map_or(h.as_str(), |(f, _)| f))
        .collect();
    assert_eq!(names, duckdb_names, "Q{n}: column names");
    let actual = cells(&result.batches);
    assert_eq!(
        actual.len(),
        expected.len(),
        "Q{n}: row count; first rows {:?}",
        &actual[..actual.len().min(3)]
    );
    for (i, (e, a)) in expected.iter().zip(&actual).enumerate() {
        let agree = e.len() == a.len() && e.iter().zip(a).all(|(e, a)| same(e, a));
        assert!(agree, "Q{n} row {}: expected {e:?}, got {a:?}", i + 1);
    }
}

macro_rules! tpch_tests {
    ($($name:ident = $n:expr),* $(,)?) => {
        $(#[test] fn $name() { check($n); })*
    };
}

tpch_tests! {
    q01 = 1, q02 = 2, q03 = 3, q04 = 4, q05 = 5, q06 = 6, q07 = 7, q08 = 8,
    q09 = 9, q10 = 10, q11 = 11, q12 = 12, q13 = 13, q14 = 14, q15 = 15, q16 = 16,
    q17 = 17, q18 = 18, q19 = 19, q20 = 20, q21 = 21, q22 = 22,
}
