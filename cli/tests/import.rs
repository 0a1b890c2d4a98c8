//! `hyperctl import` of CSV files (issue 6): compressed input, rejects,
//! inference and overrides, threads; Parquet, Arrow IPC and CSV export round
//! trips live beside them.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

fn hyperctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hyperctl"))
        .args(args)
        .output()
        .expect("run hyperctl")
}

fn ok(args: &[&str]) -> (String, String) {
    let out = hyperctl(args);
    assert!(
        out.status.success(),
        "hyperctl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).expect("utf-8 output"),
        String::from_utf8(out.stderr).expect("utf-8 output"),
    )
}

fn query(db: &str, sql: &str) -> String {
    ok(&["sql", db, "-c", sql, "--format", "csv"]).0
}

const MIXED: &str = "id,amount,day,at,flag,name\n\
    1,12.50,2024-01-02,2024-01-02 03:04:05+02:00,true,a\n\
    2,3,2024-01-03,2024-01-03T00:00:00Z,false,\"b,\nc\"\n\
    3000000000,0.125,2024-01-04,2024-01-04 10:00:00,t,\n";

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write test file");
}

#[test]
fn dry_run_prints_the_inferred_table() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("mixed.csv");
    write(&csv, MIXED.as_bytes());
    let db = dir.path().join("t.hxe");
    let (out, _) = ok(&[
        "import",
        db.to_str().unwrap(),
        csv.to_str().unwrap(),
        "--table",
        "m",
        "--dry-run",
    ]);
    assert_eq!(
        out,
        "CREATE TABLE \"m\" (\n  \"id\" BIGINT NOT NULL,\n  \"amount\" NUMERIC(18,3) NOT NULL,\n  \
         \"day\" DATE NOT NULL,\n  \"at\" TIMESTAMPTZ NOT NULL,\n  \"flag\" BOOLEAN NOT NULL,\n  \
         \"name\" TEXT\n);\n"
    );
    assert!(!db.exists(), "a dry run creates nothing");
    let (out, _) = ok(&[
        "import",
        db.to_str().unwrap(),
        csv.to_str().unwrap(),
        "--table",
        "m",
        "--dry-run",
        "--column",
        "amount:double precision",
        "--column",
        "id:text",
    ]);
    assert!(
        out.contains("\"id\" TEXT NOT NULL") && out.contains("\"amount\" DOUBLE PRECISION"),
        "{out}"
    );
    let (out, _) = ok(&[
        "import",
        db.to_str().unwrap(),
        csv.to_str().unwrap(),
        "--table",
        "m",
        "--dry-run",
        "--schema",
        "id bigint not null, amount numeric(10,2), day date, at timestamptz, flag bool, name varchar(10)",
    ]);
    assert!(
        out.contains("\"amount\" NUMERIC(10,2),") && out.contains("VARCHAR(10)"),
        "{out}"
    );
    let bad = hyperctl(&[
        "import",
        db.to_str().unwrap(),
        csv.to_str().unwrap(),
        "--table",
        "m",
        "--column",
        "nope:int",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no column \"nope\""));
}

#[test]
fn gzip_and_zstd_inputs_load_like_plain_csv() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.hxe");
    let db = db.to_str().unwrap();
    let plain = dir.path().join("m.csv");
    write(&plain, MIXED.as_bytes());
    let gz = dir.path().join("m.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(MIXED.as_bytes()).unwrap();
    write(&gz, &enc.finish().unwrap());
    let zst = dir.path().join("m.csv.zst");
    write(&zst, &zstd::encode_all(MIXED.as_bytes(), 3).unwrap());
    for (table, path) in [("p", &plain), ("g", &gz), ("z", &zst)] {
        ok(&[
            "import",
            db,
            path.to_str().unwrap(),
            "--table",
            table,
            "--threads",
            "2",
        ]);
    }
    let expected = query(db, "SELECT * FROM p ORDER BY id");
    assert!(expected.contains("12.500"), "{expected}");
    assert_eq!(query(db, "SELECT * FROM g ORDER BY id"), expected);
    assert_eq!(query(db, "SELECT * FROM z ORDER BY id"), expected);
    // COPY reads them too.
    ok(&[
        "sql",
        db,
        "-c",
        "CREATE TABLE c (id bigint, amount numeric(18,3), day date, at timestamptz, flag bool, name text)",
    ]);
    let copy = format!(
        "COPY c FROM '{}' WITH (FORMAT csv, HEADER)",
        zst.to_str().unwrap()
    );
    ok(&["sql", db, "-c", &copy]);
    assert_eq!(query(db, "SELECT * FROM c ORDER BY id"), expected);
    // A damaged gzip file is an error naming the file, and loads nothing.
    let broken = dir.path().join("broken.csv.gz");
    let mut bytes = std::fs::read(&gz).unwrap();
    let n = bytes.len();
    bytes.truncate(n - 12);
    write(&broken, &bytes);
    let out = hyperctl(&[
        "import",
        db,
        broken.to_str().unwrap(),
        "--table",
        "b",
        "--schema",
        "a text",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.csv.gz"));
}

#[test]
fn on_error_skip_loads_good_rows_and_writes_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.hxe");
    let db = db.to_str().unwrap();
    let csv = dir.path().join("in.csv");
    write(
        &csv,
        b"id,amount,name\n1,1.50,a\nx,2,b\n3,3\n4,4,\"d\nd\"\n5,5,e,extra\n6,six,f\n",
    );
    let csv = csv.to_str().unwrap();
    // Abort (the default): the first bad line, nothing loaded.
    let out = hyperctl(&[
        "import",
        db,
        csv,
        "--table",
        "t",
        "--schema",
        "id int, amount numeric(10,2), name text",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in.csv:3:1: invalid input syntax for type integer: \"x\""),
        "{err}"
    );
    // Atomic: the import's table does not exist after the failure.
    assert!(
        !hyperctl(&["sql", db, "-c", "SELECT * FROM t"])
            .status
            .success()
    );
    let rejects = dir.path().join("bad.csv");
    let (_, err) = ok(&[
        "import",
        db,
        csv,
        "--table",
        "t",
        "--schema",
        "id int, amount numeric(10,2), name text",
        "--on-error",
        "skip",
        "--reject-file",
        rejects.to_str().unwrap(),
        "--threads",
        "3",
    ]);
    assert!(err.contains("imported 2 rows into t"), "{err}");
    assert!(err.contains("rejected 4 rows (written to"), "{err}");
    assert_eq!(
        query(db, "SELECT id, amount, name FROM t ORDER BY id"),
        "id,amount,name\n1,1.50,a\n4,4.00,\"d\nd\"\n"
    );
    let written = std::fs::read_to_string(&rejects).unwrap();
    let mut reader = csv::Reader::from_reader(written.as_bytes());
    let rows: Vec<(String, String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].to_string(), r[3].to_string())
        })
        .collect();
    let expect = |l: &str, c: &str, r: &str| (l.to_string(), c.to_string(), r.to_string());
    assert_eq!(
        rows,
        [
            expect("3", "1", "x,2,b"),
            expect("4", "3", "3,3"),
            expect("7", "4", "5,5,e,extra"),
            expect("8", "2", "6,six,f"),
        ]
    );
    assert!(
        written.contains("too few columns") && written.contains("numeric"),
        "{written}"
    );
    let bad = hyperctl(&["import", db, csv, "--table", "u", "--reject-file", "x.csv"]);
    assert_eq!(
        bad.status.code(),
        Some(1),
        "--reject-file needs --on-error skip"
    );
}

#[test]
fn export_and_import_parquet_arrow_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.hxe");
    let db = db.to_str().unwrap();
    let csv = dir.path().join("m.csv");
    write(&csv, MIXED.as_bytes());
    let (_, err) = ok(&["import", db, csv.to_str().unwrap(), "--table", "m"]);
    // Not a terminal: no progress line, no escape codes.
    assert!(!err.contains('\u{1b}') && !err.contains("MB/s"), "{err}");
    let expected = query(db, "SELECT * FROM m ORDER BY id");
    for (ext, table) in [
        ("parquet", "from_parquet"),
        ("arrow", "from_arrow"),
        ("csv", "from_csv"),
    ] {
        let out = dir.path().join(format!("m.{ext}"));
        let (_, err) = ok(&["export", db, "--table", "m", "--to", out.to_str().unwrap()]);
        assert!(err.contains("exported 3 rows of m"), "{err}");
        let (dry, _) = ok(&[
            "import",
            db,
            out.to_str().unwrap(),
            "--table",
            table,
            "--dry-run",
        ]);
        if ext != "csv" {
            // The SQL types travel with the file.
            assert!(
                dry.contains("NUMERIC(18,3)") && dry.contains("TIMESTAMPTZ"),
                "{ext}: {dry}"
            );
        }
        ok(&["import", db, out.to_str().unwrap(), "--table", table]);
        assert_eq!(
            query(db, &format!("SELECT * FROM {table} ORDER BY id")),
            expected,
            "{ext}"
        );
    }
    // SQL COPY TO / FROM.
    let pq = dir.path().join("copy.parquet");
    ok(&["sql", db, "-c", &format!("COPY m TO '{}'", pq.display())]);
    ok(&["import", db, pq.to_str().unwrap(), "--table", "again"]);
    ok(&[
        "sql",
        db,
        "-c",
        &format!("COPY again FROM '{}'", pq.display()),
    ]);
    assert_eq!(
        query(db, "SELECT count(*) AS n FROM again"),
        "n\n6\n",
        "COPY FROM appended the file again"
    );
    let bad = hyperctl(&["export", db, "--table", "m", "--to", "m.xlsx"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains(".parquet, .arrow or .csv"));
}
