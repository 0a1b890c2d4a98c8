//! Reopening a database file sees what was committed; nothing else.

use hyperctl_sql::{Connection, CreateMode, Database};

use crate::util::{query, run};

#[test]
fn reopen_sees_committed_rows_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.hxe");
    {
        let mut c = Connection::open(&path, CreateMode::Create).unwrap();
        run(
            &mut c,
            "CREATE TABLE t (a int, s text, n numeric(20,4), d date, ts timestamp)",
        );
        run(
            &mut c,
            "INSERT INTO t VALUES (1, 'ä€', 12345678901234.5678, '1969-07-20', '2024-01-01 12:00:00.5')",
        );
        run(&mut c, "BEGIN");
        run(&mut c, "INSERT INTO t VALUES (2, 'never', 0, NULL, NULL)");
        // dropped without COMMIT: rolled back
    }
    let mut c = Connection::open(&path, CreateMode::None).unwrap();
    assert_eq!(
        query(&mut c, "SELECT * FROM t"),
        ["1|ä€|12345678901234.5678|1969-07-20|2024-01-01T12:00:00.500"]
    );
    let names = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(),
        ["p.hxe", "p.hxe-wal"],
        "an open database has its log"
    );
    drop(c);
    assert_eq!(names(), ["p.hxe"], "a closed database is one file");
}

#[test]
fn create_modes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.hxe");
    let missing = Database::open(&path, CreateMode::None)
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("does not exist") && missing.contains("m.hxe"),
        "{missing}"
    );
    drop(Database::open(&path, CreateMode::Create).unwrap());
    let exists = Database::open(&path, CreateMode::Create)
        .unwrap_err()
        .to_string();
    assert!(
        exists.contains("already exists") && exists.contains("m.hxe"),
        "{exists}"
    );
    {
        let mut c = Connection::open(&path, CreateMode::CreateIfNotExists).unwrap();
        run(&mut c, "CREATE TABLE t (a int)");
    }
    let mut c = Connection::open(&path, CreateMode::CreateAndReplace).unwrap();
    assert!(
        c.execute_query("SELECT * FROM t").is_err(),
        "replaced by an empty database"
    );
}

#[test]
fn a_second_writer_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.hxe");
    let mut first = Connection::open(&path, CreateMode::Create).unwrap();
    run(&mut first, "CREATE TABLE t (a int)");
    let e = Connection::open(&path, CreateMode::None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("locked") && e.contains("l.hxe"), "{e}");
    let e = Database::open_read_only(&path).unwrap_err().to_string();
    assert!(e.contains("locked"), "{e}");
    run(&mut first, "INSERT INTO t VALUES (1)");
    drop(first);
    let mut again = Connection::open(&path, CreateMode::None).unwrap();
    assert_eq!(query(&mut again, "SELECT a FROM t"), ["1"]);
}

#[test]
fn not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.hxe");
    std::fs::write(&path, b"order_id,region\n1,East\n").unwrap();
    let e = Database::open(&path, CreateMode::None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a hyperctl database"), "{e}");
}

#[test]
fn column_defaults_and_dropped_schemas_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.hxe");
    {
        let mut c = Connection::open(&path, CreateMode::Create).unwrap();
        run(
            &mut c,
            "CREATE TABLE t (a int, b text DEFAULT 'it''s', n numeric(5,2) DEFAULT 1 + 0.5)",
        );
        run(&mut c, "ALTER TABLE t ADD COLUMN c int DEFAULT 7");
        run(&mut c, "CREATE SCHEMA s");
        run(&mut c, "CREATE TABLE s.x (a int)");
        run(&mut c, "DROP SCHEMA s CASCADE");
    }
    let mut c = Connection::open(&path, CreateMode::None).unwrap();
    run(&mut c, "INSERT INTO t (a) VALUES (1)");
    assert_eq!(query(&mut c, "SELECT * FROM t"), ["1|it's|1.50|7"]);
    // The schema and its table are gone: both can be made afresh.
    run(&mut c, "CREATE SCHEMA s");
    run(&mut c, "CREATE TABLE s.x (b text)");
    assert!(query(&mut c, "SELECT * FROM s.x").is_empty());
}
