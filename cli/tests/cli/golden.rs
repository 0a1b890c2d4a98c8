//! Issue 8, acceptance 2: golden output of `info` and of each `--format`.
//! `HYPERCTL_BLESS=1 cargo test -p hyperctl --test cli golden` rewrites the
//! files under `tests/golden/`; the reviewer reads the diff.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Compares `actual` with the golden file `name`, or rewrites it when
/// `HYPERCTL_BLESS=1`.
fn check_golden(name: &str, actual: &str) {
    let path = golden_dir().join(name);
    if std::env::var_os("HYPERCTL_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with HYPERCTL_BLESS=1 to create it",
            path.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "output differs from {} (HYPERCTL_BLESS=1 rewrites it; read the diff)",
        path.display()
    );
}

/// Runs hyperctl in `dir`, so that printed paths are the relative ones given.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hyperctl"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run hyperctl")
}

fn ok_in(dir: &Path, args: &[&str]) -> String {
    let out = run_in(dir, args);
    assert!(
        out.status.success(),
        "hyperctl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A small database with the awkward cases: NULLs, quotes, commas, a
/// newline, numbers JSON keeps bare, a date.
fn sample_db(dir: &Path) {
    ok_in(
        dir,
        &[
            "sql",
            "g.hxe",
            "-c",
            "CREATE TABLE items (id int NOT NULL, name text, price numeric(8,2), in_stock bool, added date)",
            "-c",
            "INSERT INTO items VALUES \
             (1, 'plain', 9.99, true, DATE '2024-01-31'), \
             (2, 'with, comma', NULL, false, NULL), \
             (3, 'say \"hi\"', 0.5, NULL, DATE '1999-12-31'), \
             (4, NULL, 1234.00, true, DATE '2000-02-29'), \
             (5, 'two\nlines', -3.25, false, DATE '2024-06-01')",
        ],
    );
}

const QUERY: &str = "SELECT id, name, price, in_stock, added FROM items ORDER BY id";

#[test]
fn every_format_of_sql() {
    let dir = tempfile::tempdir().unwrap();
    sample_db(dir.path());
    for format in ["table", "csv", "json", "jsonl", "line"] {
        let out = ok_in(
            dir.path(),
            &["sql", "g.hxe", "-c", QUERY, "--format", format],
        );
        check_golden(&format!("sql.{format}"), &out);
    }
    for format in ["table", "csv"] {
        let out = ok_in(
            dir.path(),
            &[
                "sql", "g.hxe", "-c", QUERY, "--format", format, "--null", "(null)",
            ],
        );
        check_golden(&format!("sql_null.{format}"), &out);
    }
}

#[test]
fn info_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    sample_db(dir.path());
    ok_in(
        dir.path(),
        &[
            "sql",
            "g.hxe",
            "-c",
            "CREATE TABLE empty (a bigint)",
            "-c",
            "DELETE FROM items WHERE id = 2",
        ],
    );
    for format in ["table", "csv", "json", "jsonl"] {
        let out = ok_in(dir.path(), &["info", "g.hxe", "--format", format]);
        check_golden(&format!("info.{format}"), &out);
    }
}

/// Exit codes as documented: 1 for SQL and user errors, 2 for usage, 3 for
/// I/O and damage; each error is one `error:` line with its causes.
#[test]
fn exit_codes_and_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    sample_db(dir.path());
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["sql", "g.hxe", "-c", "SELECT nope FROM items"],
            1,
            "unknown column",
        ),
        (
            &["sql", "g.hxe", "--format", "xml", "-c", "SELECT 1"],
            2,
            "xml",
        ),
        (&["info", "missing.hxe"], 3, "missing.hxe"),
        (&["sql", "g.hxe", "-f", "missing.sql"], 3, "missing.sql"),
        (&["config", "set", "p", "pat_secret", "x"], 1, "refusing"),
    ];
    for (args, code, needle) in cases {
        let out = run_in(dir.path(), args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("{ "),
            "{args:?}: {err}"
        );
    }
    std::fs::write(dir.path().join("broken.hxe"), b"not a database at all").unwrap();
    let out = run_in(dir.path(), &["info", "broken.hxe"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// SQL on stdin runs as a script when no -c or -f is given.
#[test]
fn sql_from_stdin() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    sample_db(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_hyperctl"))
        .current_dir(dir.path())
        .args(["sql", "g.hxe", "--format", "csv"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SELECT id FROM items\n WHERE id < 3\n ORDER BY id;\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "id\n1\n2\n");
}

/// `check --format`: a sound file has no problem rows; a damaged one lists
/// them and exits 3.
#[test]
fn check_formats() {
    let dir = tempfile::tempdir().unwrap();
    sample_db(dir.path());
    assert_eq!(
        ok_in(dir.path(), &["check", "g.hxe", "--format", "jsonl"]),
        ""
    );
    assert_eq!(
        ok_in(dir.path(), &["check", "g.hxe", "--format", "csv"]),
        "severity,place,offset,bytes,problem\n"
    );
    std::fs::write(dir.path().join("broken.hxe"), b"not a database at all").unwrap();
    for format in ["jsonl", "csv"] {
        let out = run_in(dir.path(), &["check", "broken.hxe", "--format", format]);
        assert_eq!(out.status.code(), Some(3));
        check_golden(
            &format!("check_broken.{format}"),
            &String::from_utf8_lossy(&out.stdout),
        );
    }
}

/// `sql --read-only` reads beside another reader and refuses writes.
#[test]
fn sql_read_only() {
    let dir = tempfile::tempdir().unwrap();
    sample_db(dir.path());
    let _reader = hyperctl_sql::Database::open_read_only(dir.path().join("g.hxe")).unwrap();
    let out = ok_in(
        dir.path(),
        &[
            "sql",
            "g.hxe",
            "--read-only",
            "--format",
            "csv",
            "-c",
            "SELECT count(*) AS n FROM items",
        ],
    );
    assert_eq!(out, "n\n5\n");
    let out = run_in(
        dir.path(),
        &["sql", "g.hxe", "--read-only", "-c", "DELETE FROM items"],
    );
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("read-only"),
        "{err}"
    );
    let out = run_in(
        dir.path(),
        &["sql", "new.hxe", "--read-only", "-c", "SELECT 1"],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(!dir.path().join("new.hxe").exists());
}
