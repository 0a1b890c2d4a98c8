//! The `hyperctl` binary, run as a user would: separate processes on one file.

use std::path::Path;
use std::process::{Command, Output};

fn hyperctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hyperctl"))
        .args(args)
        .output()
        .expect("run hyperctl")
}

fn ok(args: &[&str]) -> String {
    let out = hyperctl(args);
    assert!(
        out.status.success(),
        "hyperctl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn sample_csv() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/orders.csv").to_string()
}

/// Issue 2, acceptance 2: create, insert and select in three processes; the
/// database is one file after each.
#[test]
fn three_processes_share_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.hxe");
    let db = db.to_str().unwrap();
    ok(&["sql", db, "-c", "CREATE TABLE t(a int, b text)"]);
    assert_eq!(files_in(dir.path()), ["t.hxe"]);
    ok(&[
        "sql",
        db,
        "-c",
        "INSERT INTO t VALUES (1, 'one'), (2, NULL); INSERT INTO t SELECT a + 10, b FROM t",
    ]);
    assert_eq!(files_in(dir.path()), ["t.hxe"]);
    let out = ok(&[
        "sql",
        db,
        "-c",
        "SELECT a, b FROM t ORDER BY a",
        "--format",
        "csv",
    ]);
    assert_eq!(out, "a,b\n1,one\n2,\n11,one\n12,\n");
    assert_eq!(files_in(dir.path()), ["t.hxe"]);
}

/// Issue 2, acceptance 3: writing a file that another process holds fails with
/// a clear "locked" error naming the file, and the held file is unharmed.
#[test]
fn a_held_file_is_locked_and_unharmed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("held.hxe");
    let db = path.to_str().unwrap();
    ok(&[
        "sql",
        db,
        "-c",
        "CREATE TABLE t(a int); INSERT INTO t VALUES (42)",
    ]);
    let before = std::fs::read(&path).unwrap();
    {
        // This test process holds the file for writing, as another hyperctl would.
        let _holder = hyperctl_sql::Database::open(&path, hyperctl_sql::CreateMode::None).unwrap();
        let out = hyperctl(&["sql", db, "-c", "INSERT INTO t VALUES (1)"]);
        assert_eq!(out.status.code(), Some(3), "exit code for a locked file");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("locked") && err.contains("held.hxe"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        let out = hyperctl(&["import", db, &sample_csv(), "--table", "orders"]);
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the held file is untouched"
        );
    }
    assert_eq!(
        ok(&["sql", db, "-c", "SELECT a FROM t", "--format", "csv"]),
        "a\n42\n"
    );
}

/// Issue 2, acceptance 4 at the binary: errors are one clear message with the
/// position, exit code 1, never a panic.
#[test]
fn sql_errors_exit_1_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.hxe");
    let db = db.to_str().unwrap();
    ok(&["sql", db, "-c", "CREATE TABLE t(a int)"]);
    for (sql, needle) in [
        ("SELECT FROM WHERE", "syntax error"),
        ("SELECT * FROM nope", "line 1, column 15"),
        ("SELECT zz FROM t", "unknown column 'zz'"),
        ("SELECT a + 'x' FROM t", "requires numerical arguments"),
    ] {
        let out = hyperctl(&["sql", db, "-c", sql]);
        assert_eq!(out.status.code(), Some(1), "{sql}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{sql}: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("Sql("),
            "{sql}: {err}"
        );
    }
    let out = hyperctl(&["sql", db]);
    assert_eq!(out.status.code(), Some(1));
    let out = hyperctl(&["sql", db, "--format", "yaml", "-c", "SELECT 1"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}

/// The README's first command: build an extract from the bundled sample and
/// query it.
#[test]
fn readme_quickstart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("orders.hxe");
    let db = db.to_str().unwrap();
    let out = hyperctl(&[
        "import",
        db,
        &sample_csv(),
        "--table",
        "orders",
        "--replace",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("imported 10000 rows into orders"));
    let table = ok(&[
        "sql",
        db,
        "-c",
        "SELECT region, count(*) AS orders, CAST(sum(quantity * price) AS numeric(14,2)) AS sales \
         FROM orders GROUP BY region ORDER BY sales DESC",
    ]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 7, "{table}");
    assert!(
        lines[0].contains("region") && lines[0].contains("sales"),
        "{table}"
    );
    assert!(
        lines[2].contains("West") && lines[2].contains("3138865.54"),
        "{table}"
    );
    assert_eq!(lines[6], "(4 rows)");
    // Importing again without --replace refuses; with it, replaces.
    let again = hyperctl(&["import", db, &sample_csv(), "--table", "orders"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    ok(&[
        "import",
        db,
        &sample_csv(),
        "--table",
        "orders",
        "--replace",
    ]);
    assert_eq!(
        ok(&[
            "sql",
            db,
            "-c",
            "SELECT count(*) FROM orders",
            "--format",
            "csv"
        ]),
        "count\n10000\n"
    );
}

#[test]
fn inferred_types_keep_integers_and_dates() {
    let out = ok(&[
        "import",
        "unused.hxe",
        &sample_csv(),
        "--table",
        "orders",
        "--dry-run",
    ]);
    assert!(out.contains("\"order_id\" INTEGER NOT NULL"), "{out}");
    assert!(out.contains("\"order_date\" DATE NOT NULL"), "{out}");
    // Prices are exact decimals (issue 6), not doubles.
    assert!(out.contains("\"price\" NUMERIC(18,2) NOT NULL"), "{out}");
    assert!(
        !Path::new("unused.hxe").exists(),
        "--dry-run writes nothing"
    );
}

#[test]
fn output_formats() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.hxe");
    let db = db.to_str().unwrap();
    ok(&[
        "sql",
        db,
        "-c",
        "CREATE TABLE t(n int, s text, d date, x numeric(5,2), ok bool)",
    ]);
    ok(&[
        "sql",
        db,
        "-c",
        "INSERT INTO t VALUES (1, 'a,\"b\"', '2024-01-02', 1.5, true), (NULL, NULL, NULL, NULL, NULL)",
    ]);
    let q = "SELECT * FROM t ORDER BY n";
    assert_eq!(
        ok(&["sql", db, "-c", q, "--format", "csv"]),
        "n,s,d,x,ok\n1,\"a,\"\"b\"\"\",2024-01-02,1.50,true\n,,,,\n"
    );
    assert_eq!(
        ok(&["sql", db, "-c", q, "--format", "json"]),
        "[\n  {\"n\": 1, \"s\": \"a,\\\"b\\\"\", \"d\": \"2024-01-02\", \"x\": 1.50, \"ok\": true},\n  \
         {\"n\": null, \"s\": null, \"d\": null, \"x\": null, \"ok\": null}\n]\n"
    );
    assert_eq!(
        ok(&["sql", db, "-c", q]),
        concat!(
            "  n   |   s   |     d      |  x   |  ok\n",
            "------+-------+------------+------+------\n",
            "    1 | a,\"b\" | 2024-01-02 | 1.50 | true\n",
            " NULL | NULL  | NULL       | NULL | NULL\n",
            "(2 rows)\n",
        )
    );
}

#[test]
fn scripts_run_statement_by_statement() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.hxe");
    let script = dir.path().join("s.sql");
    std::fs::write(
        &script,
        "CREATE TABLE t (a int);\n-- a comment; with a semicolon\nINSERT INTO t VALUES (1), (2);\n\nSELECT sum(a) FROM t;\nSELECT nope FROM t;\n",
    )
    .unwrap();
    let out = hyperctl(&[
        "sql",
        db.to_str().unwrap(),
        "-f",
        script.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "sum\n3\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 6, column 8"),
        "positions are script lines: {err}"
    );
    assert_eq!(out.status.code(), Some(1));
}

// Issue 8: the CLI as a daily tool.
#[path = "cli/golden.rs"]
mod golden;
#[path = "cli/tools.rs"]
mod tools;
