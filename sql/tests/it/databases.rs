//! Issue 5: temporary tables (per connection, never in the file) and
//! ATTACH / DETACH DATABASE with three-part names. Expected behaviour was
//! checked against Tableau Hyper (tableauhyperapi 0.0.26963 hyperd).

use hyperctl_sql::{
    Column, Connection, CreateMode, Database, Persistence, SqlType, TableDefinition, TableName,
};

use crate::util::{query, run, sql_error};

#[test]
fn temporary_tables_belong_to_their_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.hxe");
    let db = Database::open(&path, CreateMode::Create).unwrap();
    let mut a = db.connect();
    let mut b = db.connect();
    run(&mut a, "CREATE TABLE t (x int)");
    run(&mut a, "INSERT INTO t VALUES (1)");
    run(&mut a, "CREATE TEMP TABLE t (y text)");
    run(&mut a, "INSERT INTO t VALUES ('mine')");
    assert_eq!(query(&mut a, "SELECT * FROM t"), ["mine"]);
    // The other connection sees the permanent table only.
    assert_eq!(query(&mut b, "SELECT * FROM t"), ["1"]);
    assert_eq!(
        sql_error(&mut b, "SELECT * FROM pg_temp.t").sqlstate,
        "42P01"
    );
    // The API sees temporary tables too (Hyper: has_table does).
    assert!(a.catalog().has_table("t").unwrap());
    let def = a.catalog().get_table_definition("t").unwrap();
    assert_eq!(def.persistence(), Persistence::Temporary);
    assert_eq!(def.column(0).map(|c| c.name.as_str()), Some("y"));
    // ... but the temporary schema is not listed.
    let schemas = a.catalog().get_schema_names().unwrap();
    assert!(schemas.iter().all(|s| s.name() != "pg_temp"), "{schemas:?}");
    drop(a);
    drop(b);
    drop(db);
    // Never written to the file: the bytes do not hold the name or value.
    let bytes = std::fs::read(&path).unwrap();
    let holds = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!holds(b"mine"));
    assert!(!holds(b"pg_temp"));
    // Gone with the connection.
    let mut c = Connection::open(&path, CreateMode::None).unwrap();
    assert_eq!(query(&mut c, "SELECT * FROM t"), ["1"]);
    assert!(c.execute_query("SELECT * FROM pg_temp.t").is_err());
}

#[test]
fn temporary_table_definition_and_inserter() {
    let mut conn = Database::in_memory().connect();
    let def = TableDefinition::new(TableName::from("scratch"))
        .add_column(Column::not_null("id", SqlType::Int))
        .with_persistence(Persistence::Temporary);
    conn.catalog().create_table(&def).unwrap();
    let mut ins = hyperctl_sql::Inserter::new(&mut conn, "scratch").unwrap();
    ins.add_row(&[1i32.into()]).unwrap();
    ins.add_row(&[2i32.into()]).unwrap();
    ins.execute().unwrap();
    assert_eq!(
        query(&mut conn, "SELECT sum(id) FROM pg_temp.scratch"),
        ["3"]
    );
    let in_public = TableDefinition::new(TableName::new("public", "x"))
        .with_persistence(Persistence::Temporary);
    let e = conn.catalog().create_table(&in_public).unwrap_err();
    assert_eq!(e.as_sql().map(|s| s.sqlstate), Some("42P16"));
}

/// A database file with `orders (id int, amount int)` holding 3 rows.
fn sales_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("sales.hxe");
    let mut c = Connection::open(&path, CreateMode::Create).unwrap();
    run(&mut c, "CREATE TABLE orders (id int, amount int)");
    run(
        &mut c,
        "INSERT INTO orders VALUES (1, 10), (2, 20), (3, 30)",
    );
    path
}

#[test]
fn attach_joins_and_copies_across_databases() {
    let dir = tempfile::tempdir().unwrap();
    let sales = sales_file(dir.path());
    let main = dir.path().join("main.hxe");
    let mut c = Connection::open(&main, CreateMode::Create).unwrap();
    run(&mut c, "CREATE TABLE customers (id int, name text)");
    run(&mut c, "INSERT INTO customers VALUES (1, 'ann'), (3, 'cy')");
    let attach = format!("ATTACH DATABASE \"{}\" AS s", sales.display());
    run(&mut c, &attach);
    // Hyper: with two databases, names need their database part.
    let e = c.execute_query("SELECT * FROM customers").unwrap_err();
    assert!(
        e.to_string().contains("table \"customers\" does not exist"),
        "{e}"
    );
    let e = c
        .execute_query("SELECT * FROM public.customers")
        .unwrap_err();
    assert!(
        e.to_string().contains("schema \"public\" does not exist"),
        "{e}"
    );
    let e = c
        .execute_query("SELECT * FROM nope.public.orders")
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("schema \"nope\".\"public\" does not exist"),
        "{e}"
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT c.name, o.amount FROM main.public.customers c JOIN s.public.orders o ON c.id = o.id ORDER BY 1"
        ),
        ["ann|10", "cy|30"]
    );
    // INSERT ... SELECT both ways, and DDL in the attached database.
    run(&mut c, "CREATE TABLE main.public.big (id int, amount int)");
    run(
        &mut c,
        "INSERT INTO main.public.big SELECT * FROM s.public.orders WHERE amount > 15",
    );
    run(
        &mut c,
        "CREATE TABLE s.public.names AS SELECT name FROM main.public.customers",
    );
    run(
        &mut c,
        "INSERT INTO s.public.orders SELECT id + 10, 1 FROM main.public.customers",
    );
    run(
        &mut c,
        "UPDATE s.public.orders SET amount = 2 WHERE id = 11",
    );
    assert_eq!(
        query(&mut c, "SELECT count(*), sum(amount) FROM main.public.big"),
        ["2|50"]
    );
    assert_eq!(
        query(&mut c, "SELECT id, amount FROM s.public.orders ORDER BY id"),
        ["1|10", "2|20", "3|30", "11|2", "13|1"]
    );
    // A transaction writes one database (Hyper's rule).
    run(&mut c, "BEGIN");
    run(&mut c, "INSERT INTO s.public.orders VALUES (99, 99)");
    let e = c
        .execute_command("INSERT INTO main.public.big VALUES (99, 99)")
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("uncommitted changes in another database"),
        "{e}"
    );
    run(&mut c, "ROLLBACK");
    assert_eq!(
        query(&mut c, "SELECT count(*) FROM s.public.orders WHERE id = 99"),
        ["0"]
    );
    run(&mut c, "BEGIN");
    run(&mut c, "INSERT INTO s.public.orders VALUES (98, 98)");
    run(&mut c, "COMMIT");
    // Errors: the same file twice, an alias in use, a missing file, DETACH.
    let e = c.execute_command(&attach.replace(" s", " s2")).unwrap_err();
    assert!(
        e.to_string()
            .contains("database already in use under alias name 's'"),
        "{e}"
    );
    let e = c
        .execute_command(&format!("ATTACH DATABASE \"{}\" AS s", main.display()))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("already in use under alias name 'main'"),
        "{e}"
    );
    let e = c
        .execute_command("ATTACH DATABASE \"/nonexistent/x.hxe\" AS x")
        .unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    let e = c.execute_command("DETACH DATABASE nope").unwrap_err();
    assert!(
        e.to_string()
            .contains("There is no database with the alias \"nope\" attached to this session."),
        "{e}"
    );
    run(&mut c, "DETACH DATABASE s");
    assert_eq!(query(&mut c, "SELECT count(*) FROM big"), ["2"]);
    drop(c);
    // The attached database's changes are durable, its lock released.
    let mut s = Connection::open(&sales, CreateMode::None).unwrap();
    assert_eq!(query(&mut s, "SELECT count(*) FROM orders"), ["6"]);
    assert_eq!(
        query(&mut s, "SELECT name FROM names ORDER BY 1"),
        ["ann", "cy"]
    );
}

#[test]
fn attach_with_a_string_literal_and_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let sales = sales_file(dir.path());
    let mut c = Database::in_memory().connect();
    // Hyper wants "path"; hyperctl also takes 'path'.
    run(
        &mut c,
        &format!("ATTACH DATABASE '{}' AS o", sales.display()),
    );
    assert_eq!(query(&mut c, "SELECT count(*) FROM o.public.orders"), ["3"]);
    run(&mut c, "DETACH DATABASE o");
    c.catalog().attach_database(&sales, None).unwrap();
    assert_eq!(
        query(&mut c, "SELECT max(id) FROM sales.public.orders"),
        ["3"]
    );
    c.catalog().detach_all_databases().unwrap();
    assert!(
        c.execute_query("SELECT * FROM sales.public.orders")
            .is_err()
    );
    assert_eq!(sql_error(&mut c, "DETACH DATABASE sales").sqlstate, "3D000");
}
