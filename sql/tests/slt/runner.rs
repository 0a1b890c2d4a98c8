//! Runs parsed sqllogictest records against a fresh in-memory database and
//! counts what passed.
//!
//! We answer to the database names `postgresql` and `hyperctl` in
//! `skipif`/`onlyif`. Result formatting follows sqllogictest: `I` columns as
//! integers, `R` as `%.3f`, `T` (and any other letter) as text, `""` as
//! `(empty)`, NULL as `NULL`. A row may be written on one line (values
//! separated by one space) or one value per line, as SQLite's files do;
//! trailing whitespace is ignored.
//!
//! Dialect rules for the SQLite corpus (see the corpus README): `CREATE
//! INDEX`, `DROP INDEX` and `REINDEX` are skipped, and `PRIMARY KEY` is
//! dropped from `CREATE TABLE`.

use hyperctl_sql::arrow::array::{Array, ArrayRef, AsArray};
use std::sync::Arc;

use hyperctl_sql::arrow::datatypes::{
    DataType, Decimal128Type, Float32Type, Float64Type, TimeUnit, TimestampMicrosecondType,
};
use hyperctl_sql::arrow::util::display::{ArrayFormatter, FormatOptions};
use hyperctl_sql::{Connection, Database, QueryResult};

use crate::md5::Md5;
use crate::parser::{Body, Expected, Record, SortMode, parse};

/// The names we answer to in `skipif`/`onlyif`.
pub(crate) const ENGINE_NAMES: &[&str] = &["postgresql", "hyperctl"];

/// How a file went.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) passed: usize,
    pub(crate) failed: usize,
    pub(crate) skipped: usize,
    /// The first few failures, for the test output.
    pub(crate) failures: Vec<String>,
    /// Result sections to rewrite: (line range, new lines).
    pub(crate) rewrites: Vec<((usize, usize), Vec<String>, bool)>,
}

impl Outcome {
    pub(crate) fn records(&self) -> usize {
        self.passed + self.failed
    }
}

/// Runs `text` (the contents of `name`); `corpus` turns on the SQLite
/// dialect rules.
pub(crate) fn run_file(name: &str, text: &str, corpus: bool) -> Outcome {
    let mut out = Outcome::default();
    let records = match parse(text) {
        Ok(r) => r,
        Err(e) => {
            out.failed += 1;
            out.failures.push(format!("{name}: {e}"));
            return out;
        }
    };
    let mut conn = Database::in_memory().connect();
    // `__TEST_DIR__` in a statement: a directory of this run's own (for
    // CREATE / ATTACH DATABASE).
    let dir = tempfile::tempdir().expect("a temporary directory");
    let test_dir = dir.path().display().to_string();
    let mut hash_threshold = 0usize;
    for record in &records {
        if !record.applies_to(ENGINE_NAMES) {
            out.skipped += 1;
            continue;
        }
        let result = match &record.body {
            Body::Halt => break,
            Body::HashThreshold(n) => {
                hash_threshold = *n;
                continue;
            }
            Body::Statement { sql, error } => {
                if corpus && skipped_statement(sql) {
                    out.skipped += 1;
                    continue;
                }
                let sql = if corpus {
                    dialect(sql)
                } else {
                    sql.replace("__TEST_DIR__", &test_dir)
                };
                statement(&mut conn, &sql, error.as_deref())
            }
            Body::Query { .. } => query(&mut conn, record, hash_threshold, &mut out),
        };
        match result {
            Ok(()) => out.passed += 1,
            Err(why) => {
                out.failed += 1;
                if out.failures.len() < 20 || std::env::var_os("HYPERCTL_SLT_VERBOSE").is_some() {
                    out.failures.push(format!("{name}:{}: {why}", record.line));
                }
            }
        }
    }
    out
}

fn skipped_statement(sql: &str) -> bool {
    let upper = sql.trim_start().to_ascii_uppercase();
    [
        "CREATE INDEX",
        "CREATE UNIQUE INDEX",
        "DROP INDEX",
        "REINDEX",
    ]
    .iter()
    .any(|p| upper.starts_with(p))
}

/// Drops `PRIMARY KEY` (indexes are disabled in Hyper; results do not change).
fn dialect(sql: &str) -> String {
    let mut out = sql.to_string();
    while let Some(at) = out.to_ascii_uppercase().find("PRIMARY KEY") {
        out.replace_range(at..at + "PRIMARY KEY".len(), "");
    }
    out
}

fn statement(conn: &mut Connection, sql: &str, error: Option<&str>) -> Result<(), String> {
    match (conn.execute(sql), error) {
        (Ok(_), None) => Ok(()),
        (Err(e), None) => Err(format!("statement failed: {sql}\n  {e}")),
        (Ok(_), Some(_)) => Err(format!("statement should fail: {sql}")),
        (Err(e), Some(want)) => check_error(sql, &e.to_string(), want),
    }
}

fn check_error(sql: &str, message: &str, want: &str) -> Result<(), String> {
    if message.contains(want) {
        Ok(())
    } else {
        Err(format!(
            "{sql}\n  error {message:?} does not contain {want:?}"
        ))
    }
}

fn query(
    conn: &mut Connection,
    record: &Record,
    hash_threshold: usize,
    out: &mut Outcome,
) -> Result<(), String> {
    let Body::Query {
        sql,
        types,
        sort,
        expected,
        results,
        has_separator,
    } = &record.body
    else {
        return Err("not a query".into());
    };
    let result = conn.execute_query(sql);
    let result = match (result, expected) {
        (Err(e), Expected::Error(want)) => return check_error(sql, &e.to_string(), want),
        (Ok(_), Expected::Error(_)) => return Err(format!("query should fail: {sql}")),
        (Err(e), _) => {
            out.rewrites
                .push((*results, vec![format!("ERROR: {e}")], *has_separator));
            return Err(format!("query failed: {sql}\n  {e}"));
        }
        (Ok(r), _) => r,
    };
    if types.chars().count() != result.columns.len() {
        return Err(format!(
            "{sql}\n  {} columns, the record says {types:?}",
            result.columns.len()
        ));
    }
    let actual = Actual::new(render(&result, types), *sort);
    let ok = match expected {
        Expected::Hash { count, md5 } => actual.values.len() == *count && actual.md5() == *md5,
        Expected::Lines(lines) => actual.matches(lines, *sort),
        Expected::Error(_) => false,
    };
    let columns = result.columns.len();
    let rewritten = if hash_threshold > 0 && actual.values.len() > hash_threshold {
        vec![format!(
            "{} values hashing to {}",
            actual.values.len(),
            actual.md5()
        )]
    } else if columns == 1 {
        actual.values.clone()
    } else {
        actual.rows.iter().map(|r| r.join(" ")).collect()
    };
    out.rewrites
        .push((*results, rewritten.clone(), *has_separator));
    if ok {
        Ok(())
    } else {
        let shown: Vec<String> = rewritten.into_iter().take(12).collect();
        Err(format!("{sql}\n  got: {}", shown.join(" | ")))
    }
}

/// A query's values after the sort mode.
struct Actual {
    rows: Vec<Vec<String>>,
    values: Vec<String>,
}

impl Actual {
    fn new(mut rows: Vec<Vec<String>>, sort: SortMode) -> Actual {
        if sort == SortMode::Rows {
            rows.sort();
        }
        let mut values: Vec<String> = rows.iter().flatten().cloned().collect();
        if sort == SortMode::Values {
            values.sort();
        }
        Actual { rows, values }
    }

    fn md5(&self) -> String {
        let mut h = Md5::new();
        for v in &self.values {
            h.update(v.as_bytes());
            h.update(b"\n");
        }
        h.hex()
    }

    /// Whether `lines` show these results, one value per line or one row
    /// per line.
    fn matches(&self, lines: &[String], sort: SortMode) -> bool {
        let norm = |s: &str| s.trim_end().to_string();
        let expected: Vec<String> = lines.iter().map(|l| norm(l)).collect();
        let values: Vec<String> = self.values.iter().map(|v| norm(v)).collect();
        if expected == values {
            return true;
        }
        let mut rows: Vec<String> = self.rows.iter().map(|r| norm(&r.join(" "))).collect();
        let mut expected = expected;
        match sort {
            SortMode::Rows => {
                rows.sort();
                expected.sort();
            }
            SortMode::Values => {
                let mut tokens: Vec<String> = expected
                    .iter()
                    .flat_map(|l| l.split(' '))
                    .map(String::from)
                    .collect();
                tokens.sort();
                let mut actual: Vec<String> = values
                    .iter()
                    .flat_map(|l| l.split(' '))
                    .map(String::from)
                    .collect();
                actual.sort();
                return tokens == actual;
            }
            SortMode::Keep => {}
        }
        rows == expected
    }
}

/// Rows of rendered values.
fn render(result: &QueryResult, types: &str) -> Vec<Vec<String>> {
    let kinds: Vec<char> = types.chars().collect();
    let mut rows = Vec::new();
    for batch in &result.batches {
        let columns: Vec<Vec<String>> = batch
            .columns()
            .iter()
            .zip(&kinds)
            .map(|(c, k)| render_column(c, *k))
            .collect();
        for r in 0..batch.num_rows() {
            rows.push(columns.iter().map(|c| c[r].clone()).collect());
        }
    }
    rows
}

fn render_column(column: &ArrayRef, kind: char) -> Vec<String> {
    let options = FormatOptions::default()
        .with_null("NULL")
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f%:::z"));
    // TIMESTAMPTZ arrays name their zone "UTC", which Arrow formats only
    // with chrono-tz: give it as the same offset (the CLI does too).
    let utc;
    let column = match column.data_type() {
        // Arrays as Hyper prints them: `[1,NULL,3]`.
        DataType::List(_) => {
            utc = hyperctl_sql::arrays_as_text(column)
                .ok()
                .flatten()
                .unwrap_or_else(|| Arc::clone(column));
            &utc
        }
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => {
            utc = Arc::new(
                column
                    .as_primitive::<TimestampMicrosecondType>()
                    .clone()
                    .with_timezone("+00:00"),
            ) as ArrayRef;
            &utc
        }
        _ => column,
    };
    let formatter = ArrayFormatter::try_new(column.as_ref(), &options).ok();
    (0..column.len())
        .map(|i| {
            if column.is_null(i) {
                return "NULL".to_string();
            }
            let text = formatter
                .as_ref()
                .map_or_else(String::new, |f| f.value(i).to_string());
            match kind {
                'I' => as_integer(column, i, &text),
                'R' => as_real(column, i, &text),
                _ if text.is_empty() => "(empty)".to_string(),
                _ => text,
            }
        })
        .collect()
}

/// An integer rendering: floats and decimals truncated toward zero.
fn as_integer(column: &ArrayRef, i: usize, text: &str) -> String {
    match column.data_type() {
        DataType::Float64 => (column.as_primitive::<Float64Type>().value(i) as i64).to_string(),
        DataType::Float32 => (column.as_primitive::<Float32Type>().value(i) as i64).to_string(),
        DataType::Decimal128(_, s) => {
            let v = column.as_primitive::<Decimal128Type>().value(i);
            (v / 10i128.pow(u32::from(*s as u8))).to_string()
        }
        DataType::Boolean => u8::from(column.as_boolean().value(i)).to_string(),
        // SQLite's runner reads text as an integer: its numeric prefix, or 0.
        DataType::Utf8 => numeric_prefix(text, false),
        _ => text.to_string(),
    }
}

/// The longest prefix of `text` that reads as a number (`atoi`/`atof`),
/// `0` when there is none.
fn numeric_prefix(text: &str, real: bool) -> String {
    let t = text.trim_start();
    let mut end = 0;
    let mut seen_dot = false;
    for (i, c) in t.char_indices() {
        let ok = c.is_ascii_digit()
            || (i == 0 && (c == '-' || c == '+'))
            || (real && c == '.' && !std::mem::replace(&mut seen_dot, true));
        if !ok {
            break;
        }
        end = i + c.len_utf8();
    }
    let prefix = &t[..end];
    if real {
        format!("{:.3}", prefix.parse::<f64>().unwrap_or(0.0))
    } else {
        prefix.parse::<i64>().unwrap_or(0).to_string()
    }
}

/// `%.3f`.
fn as_real(column: &ArrayRef, i: usize, text: &str) -> String {
    let v = match column.data_type() {
        DataType::Float64 => column.as_primitive::<Float64Type>().value(i),
        DataType::Float32 => f64::from(column.as_primitive::<Float32Type>().value(i)),
        DataType::Utf8 => return numeric_prefix(text, true),
        _ => match text.parse::<f64>() {
            Ok(v) => v,
            Err(_) => return text.to_string(),
        },
    };
    format!("{v:.3}")
}
