//! Helpers: run SQL and render results as text rows for comparison.

use hyperctl_sql::arrow::array::Array;
use hyperctl_sql::arrow::util::display::{ArrayFormatter, FormatOptions};
use hyperctl_sql::{Connection, Database, QueryResult};

pub(crate) fn conn() -> Connection {
    Database::in_memory().connect()
}

pub(crate) fn run(conn: &mut Connection, sql: &str) {
    if let Err(e) = conn.execute_command(sql) {
        panic!("{sql}\nfailed: {e}");
    }
}

/// Rows as strings, NULL as "NULL", columns joined by "|".
pub(crate) fn rows(result: &QueryResult) -> Vec<String> {
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for batch in &result.batches {
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for r in 0..batch.num_rows() {
            let cells: Vec<String> = formatters.iter().map(|f| f.value(r).to_string()).collect();
            out.push(cells.join("|"));
        }
    }
    out
}

pub(crate) fn query(conn: &mut Connection, sql: &str) -> Vec<String> {
    match conn.execute_query(sql) {
        Ok(r) => rows(&r),
        Err(e) => panic!("{sql}\nfailed: {e}"),
    }
}

/// The SQL error of a statement that must fail.
pub(crate) fn sql_error(conn: &mut Connection, sql: &str) -> hyperctl_sql::SqlError {
    match conn.execute(sql) {
        Ok(r) => panic!("{sql}\nshould fail, gave {r:?}"),
        Err(hyperctl_sql::Error::Sql(e)) => *e,
        Err(other) => panic!("{sql}\nshould be a SQL error, got {other:?}"),
    }
}

#[allow(dead_code)] // reason: kept for modules that need the array API
pub(crate) fn len(a: &dyn Array) -> usize {
    a.len()
}
