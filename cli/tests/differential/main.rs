//! Differential tester: runs every `*.sql` file of this directory against an
//! in-memory hyperctl connection and against Tableau's `hyperd` (a fresh
//! database per file, on loopback) and compares, per statement: error vs no
//! error (and the SQLSTATE class of both errors), column count, column types
//! (both mapped to our type family names), values (NULLs, NUMERIC with its
//! scale, floats to 1e-9 relative), and row order where the statement has a
//! top-level ORDER BY (else the rows compare as multisets).
//!
//! Statements listed in `known_differences.toml` are cases where we differ on
//! purpose (or a known bug, reason "bug: ..."); they still run on both sides,
//! and the test fails if a listed case agrees, so the list cannot go stale.
//! A `[[type_difference]]` there maps one hyperd column type to ours for
//! every statement (values still compared), and must be met at least once.
//!
//! A statement slower than a second on either side is named on stderr (the
//! whole run should stay well under two minutes in a debug build).
//!
//! Without hyperd the test prints SKIPPED and passes, unless
//! `HYPERCTL_REQUIRE_HYPERD=1`. `HYPERCTL_DIFF_WRITE_SLT=DIR` also writes, per
//! SQL file, a `diff_<name>.slt` into DIR whose expected results are hyperd's
//! answers (only for statements where both sides agree).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use hyperctl_publish::hyperd_testing::{hyperd_or_skip, skipped};
use hyperctl_publish::{HYPER_USER, HyperdProcess};

use hyperctl_sql::arrow::array::{Array, ArrayRef, AsArray};
use hyperctl_sql::arrow::datatypes::{
    DataType, IntervalMonthDayNanoType, IntervalUnit, TimeUnit, TimestampMicrosecondType,
};
use hyperctl_sql::arrow::util::display::{ArrayFormatter, FormatOptions};
use hyperctl_sql::{Connection, Database, QueryResult, SqlType, StatementResult, split_statements};

/// The floor on agreeing queries with rows (issue 5, acceptance 2).
const MIN_AGREEING_QUERIES: usize = 400;

/// Column type families and rows of text values.
#[derive(Debug, Clone, PartialEq)]
struct Table {
    types: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
}

/// An error: its SQLSTATE when known, and the message (shown, not compared).
#[derive(Debug, Clone)]
struct Failure {
    sqlstate: Option<String>,
    message: String,
}

/// One side's answer: an error, no rows (a command), or rows.
type Answer = Result<Option<Table>, Failure>;

/// A listed difference: its reason, and whether the run saw it differ
/// (`None`: not found).
struct Known {
    reason: String,
    seen: Option<bool>,
}

fn known_differences() -> HashMap<(String, String), Known> {
    let text = include_str!("known_differences.toml");
    let doc: toml::Table = text.parse().expect("known_differences.toml parses");
    let mut map = HashMap::new();
    if let Some(toml::Value::Array(items)) = doc.get("difference") {
        for item in items {
            let field = |k: &str| {
                item.get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_else(|| panic!("known_differences.toml: entry without {k}"))
                    .trim()
                    .to_owned()
            };
            let known = Known {
                reason: field("reason"),
                seen: None,
            };
            assert!(
                !known.reason.is_empty(),
                "known difference without a reason"
            );
            map.insert((field("file"), field("sql")), known);
        }
    }
    map
}

/// A column type of hyperd's that we give as another type on purpose, in
/// every statement (the values are still compared): hyperd's type OID, our
/// type family, and whether the run met it.
struct TypeDifference {
    hyperd_oid: u32,
    hyperctl: String,
    seen: bool,
}

fn type_differences() -> Vec<TypeDifference> {
    let text = include_str!("known_differences.toml");
    let doc: toml::Table = text.parse().expect("known_differences.toml parses");
    let Some(toml::Value::Array(items)) = doc.get("type_difference") else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| {
            let reason = item.get("reason").and_then(|v| v.as_str()).unwrap_or("");
            assert!(
                reason.starts_with("deliberate:"),
                "type_difference without a deliberate: reason"
            );
            TypeDifference {
                hyperd_oid: item
                    .get("hyperd_oid")
                    .and_then(toml::Value::as_integer)
                    .and_then(|v| u32::try_from(v).ok())
                    .expect("type_difference: hyperd_oid"),
                hyperctl: item
                    .get("hyperctl")
                    .and_then(|v| v.as_str())
                    .expect("type_difference: hyperctl")
                    .to_owned(),
                seen: false,
            }
        })
        .collect()
}

/// Our type family for hyperd's column type `oid`: a listed type difference
/// maps to our type (and is marked seen), any other through [`family_of_oid`].
fn family_of_theirs(oid: u32, differences: &mut [TypeDifference]) -> String {
    match differences.iter_mut().find(|d| d.hyperd_oid == oid) {
        Some(d) => {
            d.seen = true;
            d.hyperctl.clone()
        }
        None => family_of_oid(oid),
    }
}

/// Our type family for a PostgreSQL type OID (the names of [`SqlType`]'s
/// `Display` without modifiers).
fn family_of_oid(oid: u32) -> String {
    match oid {
        16 => "BOOLEAN",
        21 => "SMALLINT",
        23 => "INTEGER",
        20 => "BIGINT",
        1700 => "NUMERIC",
        701 => "DOUBLE PRECISION",
        700 => "REAL",
        25 => "TEXT",
        1043 => "VARCHAR",
        1042 | 18 => "CHAR",
        17 => "BYTES",
        114 => "JSON",
        1082 => "DATE",
        1083 => "TIME",
        1114 => "TIMESTAMP",
        1184 => "TIMESTAMPTZ",
        1186 => "INTERVAL",
        26 => "OID",
        other => return array_family_of_oid(other).unwrap_or_else(|| format!("OID {other}")),
    }
    .to_owned()
}

/// Our type family for PostgreSQL's array type OIDs (`_int4` is
/// `INTEGER[]`).
fn array_family_of_oid(oid: u32) -> Option<String> {
    let element = match oid {
        1000 => 16,
        1005 => 21,
        1007 => 23,
        1016 => 20,
        1231 => 1700,
        1022 => 701,
        1021 => 700,
        1009 | 1015 => 25,
        1014 => 1042,
        1001 => 17,
        199 => 114,
        1182 => 1082,
        1183 => 1083,
        1115 => 1114,
        1185 => 1184,
        1187 => 1186,
        1028 => 26,
        _ => return None,
    };
    Some(format!("{}[]", family_of_oid(element)))
}

/// A type's family: its name without modifiers (`NUMERIC(5,1)[]` is
/// `NUMERIC[]`).
fn family(ty: &SqlType) -> String {
    let s = ty.to_string();
    let base = s.split('(').next().unwrap_or_default().trim();
    if s.ends_with("[]") && !base.ends_with("[]") {
        format!("{base}[]")
    } else {
        base.to_owned()
    }
}

/// Hyper's text output for booleans and timestamps, in our spelling.
fn normalize(family: &str, text: &str) -> String {
    match family {
        "BOOLEAN" => match text {
            "t" | "true" => "true".into(),
            "f" | "false" => "false".into(),
            o => o.into(),
        },
        "TIMESTAMPTZ" => {
            // The UTC offset after the time (`+00`) stays as it is.
            match text.rfind(['+', '-']).filter(|&i| i > 10) {
                Some(i) => format!("{}{}", normalize("TIMESTAMP", &text[..i]), &text[i..]),
                None => normalize("TIMESTAMP", text),
            }
        }
        "TIMESTAMP" | "TIME" => {
            // Fractions of a second without trailing zeros (Hyper's output).
            hyperctl_sql::trim_fraction_zeros(text.replacen('T', " ", 1))
        }
        _ => text.to_owned(),
    }
}

fn ours(conn: &mut Connection, sql: &str) -> Answer {
    match conn.execute(sql) {
        Err(e) => Err(Failure {
            sqlstate: e.as_sql().map(|s| s.sqlstate.to_owned()),
            message: e.to_string(),
        }),
        Ok(StatementResult::Rows(r)) => Ok(Some(render(&r))),
        Ok(_) => Ok(None),
    }
}

fn render(r: &QueryResult) -> Table {
    let types: Vec<String> = r.columns.iter().map(|c| family(&c.ty)).collect();
    let options = FormatOptions::default()
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f%:::z"));
    let mut rows = Vec::new();
    for batch in &r.batches {
        // TIMESTAMPTZ arrays name their zone "UTC", which Arrow formats
        // only with chrono-tz: give it as the same offset (the CLI does too).
        let cols: Vec<ArrayRef> = batch
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                DataType::List(_) => hyperctl_sql::arrays_as_text(c)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| Arc::clone(c)),
                DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => Arc::new(
                    c.as_primitive::<TimestampMicrosecondType>()
                        .clone()
                        .with_timezone("+00:00"),
                )
                    as ArrayRef,
                _ => Arc::clone(c),
            })
            .collect();
        let formatters: Vec<_> = cols
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).ok())
            .collect();
        for i in 0..batch.num_rows() {
            let row = cols
                .iter()
                .zip(&formatters)
                .zip(&types)
                .map(|((c, f), t)| {
                    if c.is_null(i) {
                        return None;
                    }
                    if *c.data_type() == DataType::Interval(IntervalUnit::MonthDayNano) {
                        let v = c.as_primitive::<IntervalMonthDayNanoType>().value(i);
                        return Some(hyperctl_sql::interval_text(v.months, v.days, v.nanoseconds));
                    }
                    let text = f.as_ref().map(|f| f.value(i).to_string());
                    Some(normalize(
                        t,
                        &text.unwrap_or_else(|| "<unformattable>".into()),
                    ))
                })
                .collect();
            rows.push(row);
        }
    }
    Table { types, rows }
}

/// Whether hyperd gives rows for `sql` (prepared first for the column types).
fn is_query(sql: &str) -> bool {
    let lower = sql.trim_start().to_ascii_lowercase();
    ["select", "with", "values", "(", "table "]
        .iter()
        .any(|p| lower.starts_with(p))
        || lower.contains(" returning ")
}

fn pg_failure(e: &postgres::Error) -> Failure {
    Failure {
        sqlstate: e.code().map(|c| c.code().to_owned()),
        message: e
            .as_db_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_owned()),
    }
}

fn theirs(client: &mut postgres::Client, sql: &str, differences: &mut [TypeDifference]) -> Answer {
    if !is_query(sql) {
        return client
            .batch_execute(sql)
            .map(|()| None)
            .map_err(|e| pg_failure(&e));
    }
    let stmt = client.prepare(sql).map_err(|e| pg_failure(&e))?;
    let types: Vec<String> = stmt
        .columns()
        .iter()
        .map(|c| family_of_theirs(c.type_().oid(), differences))
        .collect();
    let mut rows = Vec::new();
    for m in client.simple_query(sql).map_err(|e| pg_failure(&e))? {
        if let postgres::SimpleQueryMessage::Row(row) = m {
            rows.push(
                (0..row.len())
                    .map(|i| row.get(i).map(|v| normalize(&types[i], v)))
                    .collect(),
            );
        }
    }
    Ok(Some(Table { types, rows }))
}

fn is_float(family: &str) -> bool {
    family == "DOUBLE PRECISION" || family == "REAL"
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        "Infinity" | "inf" => Some(f64::INFINITY),
        "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

fn value_eq(family: &str, a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) if is_float(family) => match (parse_float(a), parse_float(b)) {
            (Some(x), Some(y)) => {
                x == y || (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
            }
            _ => a == b,
        },
        _ => a == b,
    }
}

/// Whether `sql` ends in an ORDER BY of its own (outside parentheses).
fn has_top_order_by(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    let mut depth = 0i32;
    let mut quoted = false;
    for (i, b) in lower.bytes().enumerate() {
        match b {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            b'o' if !quoted && depth == 0 && lower[i..].starts_with("order by") => return true,
            _ => {}
        }
    }
    false
}

/// Sort key of a row for multiset comparison: floats rounded so that
/// tolerance-equal values sort alike.
fn sort_key(types: &[String], row: &[Option<String>]) -> Vec<Option<String>> {
    row.iter()
        .zip(types)
        .map(|(v, t)| match v {
            Some(s) if is_float(t) => {
                Some(parse_float(s).map_or_else(|| s.clone(), |f| format!("{f:.6e}")))
            }
            other => other.clone(),
        })
        .collect()
}

/// Whether the answers agree; `Err` says how they differ.
fn agree(sql: &str, a: &Answer, b: &Answer) -> Result<(), String> {
    match (a, b) {
        (Err(x), Err(y)) => match (&x.sqlstate, &y.sqlstate) {
            (Some(p), Some(q)) if p.get(..2) != q.get(..2) => {
                Err(format!("SQLSTATE class differs: {p} vs {q}"))
            }
            _ => Ok(()),
        },
        (Ok(None), Ok(None)) => Ok(()),
        (Ok(Some(x)), Ok(Some(y))) => {
            if x.types != y.types {
                return Err("column types differ".into());
            }
            if x.rows.len() != y.rows.len() {
                return Err("row counts differ".into());
            }
            let (mut ra, mut rb) = (x.rows.clone(), y.rows.clone());
            if !has_top_order_by(sql) {
                ra.sort_by_cached_key(|r| sort_key(&x.types, r));
                rb.sort_by_cached_key(|r| sort_key(&y.types, r));
            }
            for (n, (p, q)) in ra.iter().zip(&rb).enumerate() {
                let same = p.len() == q.len()
                    && p.iter()
                        .zip(q)
                        .zip(&x.types)
                        .all(|((u, v), t)| value_eq(t, u, v));
                if !same {
                    return Err(format!("row {} differs", n + 1));
                }
            }
            Ok(())
        }
        (Err(_), _) => Err("only hyperctl fails".into()),
        (_, Err(_)) => Err("only hyperd fails".into()),
        _ => Err("one side gives rows, the other none".into()),
    }
}

fn show(a: &Answer) -> String {
    match a {
        Err(f) => format!(
            "ERROR [{}] {}",
            f.sqlstate.as_deref().unwrap_or("-----"),
            f.message.lines().next().unwrap_or_default()
        ),
        Ok(None) => "OK (no rows)".into(),
        Ok(Some(t)) => {
            let mut s = format!("({})", t.types.join(", "));
            for row in t.rows.iter().take(20) {
                let cells: Vec<&str> = row.iter().map(|v| v.as_deref().unwrap_or("NULL")).collect();
                let _ = write!(s, "\n      {}", cells.join(" | "));
            }
            if t.rows.len() > 20 {
                let _ = write!(s, "\n      ... {} rows", t.rows.len());
            }
            s
        }
    }
}

/// An slt record with hyperd's answer `b` for `sql` (`None` when the answer
/// cannot be written in the slt format).
fn slt_record(sql: &str, b: &Answer) -> Option<String> {
    if sql.contains('\n') {
        return None;
    }
    match b {
        Err(_) if is_query(sql) => Some(format!("query error\n{sql}\n")),
        Err(_) => Some(format!("statement error\n{sql}\n")),
        Ok(None) => Some(format!("statement ok\n{sql}\n")),
        Ok(Some(t)) => {
            let letters: String = t
                .types
                .iter()
                .map(|f| match f.as_str() {
                    "SMALLINT" | "INTEGER" | "BIGINT" => 'I',
                    f if is_float(f) => 'R',
                    _ => 'T',
                })
                .collect();
            if letters.is_empty() {
                return None;
            }
            let sort = if has_top_order_by(sql) {
                ""
            } else {
                " rowsort"
            };
            let mut out = format!("query {letters}{sort}\n{sql}\n----\n");
            for row in &t.rows {
                let mut cells = Vec::new();
                for (v, l) in row.iter().zip(letters.chars()) {
                    let cell = match (v, l) {
                        (None, _) => "NULL".to_owned(),
                        (Some(s), 'R') => format!("{:.3}", parse_float(s)?),
                        (Some(s), _) if s.is_empty() => "(empty)".to_owned(),
                        (Some(s), _) => s.clone(),
                    };
                    if cell.trim() != cell || cell.contains("  ") || cell.contains('\n') {
                        return None;
                    }
                    // The slt runner prints intervals and fractions of a
                    // second in Arrow's form, not Hyper's.
                    if matches!(
                        t.types[cells.len()].as_str(),
                        "INTERVAL" | "TIME" | "TIMESTAMP"
                    ) && (cell.contains('.') || t.types[cells.len()] == "INTERVAL")
                    {
                        return None;
                    }
                    cells.push(cell);
                }
                let _ = writeln!(out, "{}", cells.join(" "));
            }
            Some(out)
        }
    }
}

/// Line of the statement's first character in its file (1-based).
fn first_line(stmt: &hyperctl_sql::StatementText) -> u64 {
    let leading = stmt.text.len() - stmt.text.trim_start().len();
    stmt.line_offset + 1 + stmt.text[..leading].matches('\n').count() as u64
}

#[test]
fn differential_against_hyperd() {
    let Some(path) = hyperd_or_skip("differential") else {
        return;
    };
    let process = HyperdProcess::start(&path).expect("start hyperd");
    let mut known = known_differences();
    let mut type_differences = type_differences();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read tests/differential")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    let slt_dir = std::env::var_os("HYPERCTL_DIFF_WRITE_SLT");
    let tmp = tempfile::tempdir().expect("temp dir");
    let connect = |dbname: Option<&str>| {
        let mut config = postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(process.port())
            .user(HYPER_USER);
        if let Some(d) = dbname {
            config.dbname(d);
        }
        config.connect(postgres::NoTls).expect("connect to hyperd")
    };
    let mut admin = connect(None);
    let (mut compared, mut queries, mut listed, mut failures) =
        (0usize, 0usize, 0usize, Vec::new());
    let mut agreeing_queries = 0usize;
    for file in &files {
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let script = std::fs::read_to_string(file).expect("read sql file");
        let statements = split_statements(&script).expect("split statements");
        let db = tmp.path().join(format!("{name}.hyper"));
        let db = db.to_string_lossy().replace('"', "\"\"");
        admin
            .batch_execute(&format!("CREATE DATABASE \"{db}\""))
            .expect("create database");
        let mut client = connect(Some(&db));
        client
            .batch_execute("SET extra_float_digits = 3")
            .expect("set");
        let mut conn = Database::in_memory().connect();
        let mut slt = format!(
            "# Generated from cli/tests/differential/{name} by the differential tester\n\
             # (HYPERCTL_DIFF_WRITE_SLT): the expected results are hyperd's answers\n\
             # (tableauhyperapi 0.0.26963), written only where hyperctl agreed.\n"
        );
        for stmt in &statements {
            let sql = stmt.text.trim();
            let line = first_line(stmt);
            let started = std::time::Instant::now();
            let a = ours(&mut conn, sql);
            let ours_took = started.elapsed();
            let b = theirs(&mut client, sql, &mut type_differences);
            let theirs_took = started.elapsed() - ours_took;
            if (ours_took + theirs_took).as_millis() > 1000 {
                skipped(&format!(
                    "slow: {name}:{line}: hyperctl {ours_took:?}, hyperd {theirs_took:?}"
                ));
            }
            let verdict = agree(sql, &a, &b);
            compared += 1;
            if matches!(b, Ok(Some(_))) {
                queries += 1;
            }
            if let Some(k) = known.get_mut(&(name.clone(), sql.to_owned())) {
                // A statement text may occur more than once in a file: the
                // entry holds if any occurrence differs.
                k.seen = Some(k.seen.unwrap_or(false) || verdict.is_err());
                listed += 1;
                continue;
            }
            match verdict {
                Ok(()) => {
                    if matches!(b, Ok(Some(_))) {
                        agreeing_queries += 1;
                    }
                    if let Some(record) = slt_record(sql, &b) {
                        let _ = write!(slt, "\n{record}");
                    }
                }
                Err(why) => failures.push(format!(
                    "{name}:{line}: {why}\n    {sql}\n  hyperctl: {}\n  hyperd:   {}",
                    show(&a),
                    show(&b)
                )),
            }
        }
        if let Some(out) = &slt_dir {
            let stem = name.trim_end_matches(".sql");
            std::fs::write(Path::new(out).join(format!("diff_{stem}.slt")), slt)
                .expect("write slt");
        }
    }
    drop(admin);
    drop(process);
    let mut stale = Vec::new();
    for ((file, sql), k) in &known {
        match k.seen {
            Some(true) => {}
            Some(false) => stale.push(format!(
                "{file}: listed as a difference but both agree now ({}): {sql}",
                k.reason
            )),
            None => stale.push(format!("{file}: listed statement not found: {sql}")),
        }
    }
    for d in type_differences.iter().filter(|d| !d.seen) {
        stale.push(format!(
            "type_difference for hyperd's OID {} ({}) never met",
            d.hyperd_oid, d.hyperctl
        ));
    }
    let agreeing = compared - listed - failures.len();
    skipped(&format!(
        "differential: {compared} statements ({queries} queries with rows) compared with hyperd in {} files: \
         {agreeing} agree ({agreeing_queries} of them queries with rows), {listed} known differences, {} disagree",
        files.len(),
        failures.len()
    ));
    failures.extend(stale);
    if agreeing_queries < MIN_AGREEING_QUERIES {
        failures.push(format!(
            "only {agreeing_queries} queries with rows agree; issue 5 asks for {MIN_AGREEING_QUERIES}"
        ));
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
