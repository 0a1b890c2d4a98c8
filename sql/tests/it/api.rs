//! The Hyper-style API: names, TableDefinition, Catalog, scalar and list
//! queries, and the Inserter (rows, batches, mappings, transactions).

use std::sync::Arc;

use hyperctl_sql::arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray};
use hyperctl_sql::arrow::datatypes::{DataType, Field, Schema};
use hyperctl_sql::{
    Column, ColumnMapping, Connection, CreateMode, Database, Error, Inserter, Interval, Numeric,
    Persistence, SchemaName, SqlType, TableDefinition, TableName, Value,
};

use crate::util::{query, run};

fn sqlstate(e: &Error) -> &'static str {
    e.as_sql().map_or("(not a SQL error)", |s| s.sqlstate)
}

fn extract_def() -> TableDefinition {
    TableDefinition::new(TableName::new("Extract", "Extract"))
        .add_column(Column::not_null("id", SqlType::BigInt))
        .add_column(Column::new("name", SqlType::Text).with_collation("en_US_CI"))
}

#[test]
fn catalog_round_trip_on_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mydb.hxe");
    {
        let mut conn = Connection::open(&path, CreateMode::CreateAndReplace).unwrap();
        let mut catalog = conn.catalog();
        catalog.create_schema("Extract").unwrap();
        let e = catalog.create_schema("Extract").unwrap_err();
        assert_eq!(e.to_string(), "schema 'Extract' already exists");
        catalog.create_schema_if_not_exists("Extract").unwrap();
        catalog.create_table(&extract_def()).unwrap();
        assert_eq!(
            sqlstate(&catalog.create_table(&extract_def()).unwrap_err()),
            "42P07"
        );
        catalog.create_table_if_not_exists(&extract_def()).unwrap();
    }
    let mut conn = Connection::open(&path, CreateMode::None).unwrap();
    let catalog = conn.catalog();
    let back = catalog
        .get_table_definition(TableName::new("Extract", "Extract"))
        .unwrap();
    assert_eq!(back, extract_def());
    assert_eq!(
        catalog.get_schema_names().unwrap(),
        vec![SchemaName::new("Extract"), SchemaName::new("public")]
    );
    let fq = SchemaName::with_database("mydb", "Extract");
    assert_eq!(
        catalog.get_table_names(fq.clone()).unwrap(),
        vec![TableName::new(fq, "Extract")]
    );
    assert!(
        catalog
            .has_table(TableName::fully_qualified("mydb", "Extract", "Extract"))
            .unwrap()
    );
    assert!(!catalog.has_table("Extract").unwrap());
    let e = catalog
        .has_table(TableName::fully_qualified("other", "Extract", "Extract"))
        .unwrap_err();
    assert_eq!(sqlstate(&e), "3D000");
}

#[test]
fn catalog_errors() {
    let mut conn = Database::in_memory().connect();
    let mut catalog = conn.catalog();
    let e = catalog.create_table(&extract_def()).unwrap_err();
    assert_eq!(e.to_string(), "schema \"Extract\" does not exist");
    assert_eq!(sqlstate(&e), "3F000");
    let e = catalog.get_table_names("nope").unwrap_err();
    assert_eq!(e.to_string(), "schema \"nope\" does not exist");
    let e = catalog.get_table_definition("nope").unwrap_err();
    assert_eq!(e.to_string(), "table \"nope\" does not exist");
    let temp = TableDefinition::new("tmp")
        .add_column(Column::new("a", SqlType::Int))
        .with_persistence(Persistence::Temporary);
    // Issue 5: temporary tables and attached databases exist now
    // (tests/it/databases.rs); a missing file and alias are errors.
    catalog.create_table(&temp).unwrap();
    let e = catalog.attach_database("x.hxe", None).unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert_eq!(
        sqlstate(&catalog.detach_database("x").unwrap_err()),
        "3D000"
    );
    let dup = TableDefinition::new("d")
        .add_column(Column::new("a", SqlType::Int))
        .add_column(Column::new("a", SqlType::Int));
    assert!(catalog.create_table(&dup).is_err());
}

#[test]
fn create_and_drop_database_files() {
    let dir = tempfile::tempdir().unwrap();
    let own = dir.path().join("own.hxe");
    let other = dir.path().join("other.hxe");
    let conn = &mut Connection::open(&own, CreateMode::Create).unwrap();
    let catalog = conn.catalog();
    catalog.create_database(&other).unwrap();
    assert!(catalog.create_database(&other).is_err());
    catalog.create_database_if_not_exists(&other).unwrap();
    let e = catalog.drop_database(&own).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the database cannot be dropped, as it is currently in use"
    );
    {
        let _held = Database::open(&other, CreateMode::None).unwrap();
        assert_eq!(
            sqlstate(&catalog.drop_database(&other).unwrap_err()),
            "55006"
        );
    }
    catalog.drop_database(&other).unwrap();
    assert!(!other.exists());
    assert!(catalog.drop_database(&other).is_err());
    catalog.drop_database_if_exists(&other).unwrap();
}

#[test]
fn scalar_and_list_queries() {
    let mut c = Database::in_memory().connect();
    run(&mut c, "CREATE TABLE t (a int, b text)");
    assert_eq!(
        c.execute_command("INSERT INTO t VALUES (1, 'x'), (2, NULL)")
            .unwrap(),
        Some(2)
    );
    assert_eq!(
        c.execute_scalar_query("SELECT count(*) FROM t").unwrap(),
        Value::BigInt(2)
    );
    assert_eq!(
        c.execute_scalar_query("SELECT b FROM t WHERE a = 2")
            .unwrap(),
        Value::Null
    );
    let e = c
        .execute_scalar_query("SELECT a FROM t WHERE a > 5")
        .unwrap_err();
    assert_eq!(e.to_string(), "Query returned zero rows");
    let e = c.execute_scalar_query("SELECT a FROM t").unwrap_err();
    assert_eq!(e.to_string(), "Query returned more than one row");
    let e = c.execute_scalar_query("SELECT a, b FROM t").unwrap_err();
    assert_eq!(e.to_string(), "Query result must have exactly one column");
    assert!(c.execute_scalar_query("SELECT nope FROM t").is_err());
    assert_eq!(
        c.execute_list_query("SELECT a, b FROM t ORDER BY a")
            .unwrap(),
        vec![
            vec![Value::Int(1), Value::from("x")],
            vec![Value::Int(2), Value::Null]
        ]
    );
}

/// Arrays come back as `Value::Array`, NULL elements as `Value::Null`.
#[test]
fn array_values() {
    let mut c = Database::in_memory().connect();
    assert_eq!(
        c.execute_scalar_query("SELECT ARRAY[1, NULL, 3]").unwrap(),
        Value::Array(vec![Value::Int(1), Value::Null, Value::Int(3)])
    );
    assert_eq!(
        c.execute_scalar_query("SELECT ARRAY['a']").unwrap(),
        Value::Array(vec![Value::from("a")])
    );
    assert_eq!(
        c.execute_scalar_query("SELECT NULL::int[]").unwrap(),
        Value::Null
    );
}

/// One column of every type, through the Inserter and back through a query.
#[test]
fn inserter_round_trips_every_type() {
    let mut c = Database::in_memory().connect();
    run(
        &mut c,
        "CREATE TABLE t (b bool, s smallint, i int, g bigint, n numeric(10,2), r real, \
         d double precision, t text, v varchar(3), ch char(2), y bytea, dt date, tm time, \
         ts timestamp, tz timestamptz, iv interval, o oid)",
    );
    let row = vec![
        Value::Bool(true),
        Value::SmallInt(-3),
        Value::Int(7),
        Value::BigInt(1 << 40),
        Value::Numeric(Numeric::new(12345, 2)),
        Value::Real(1.5),
        Value::Double(-2.25),
        Value::from("text"),
        Value::from("abc"),
        Value::from("zz"),
        Value::from(vec![0xde_u8, 0xad]),
        Value::Date(19_000),
        Value::Time(3_600_000_000),
        Value::Timestamp(1_700_000_000_000_000),
        Value::TimestampTz(1_700_000_000_000_001),
        Value::Interval(Interval {
            months: 1,
            days: 2,
            microseconds: 3,
        }),
        Value::Oid(42),
    ];
    let nulls = vec![Value::Null; row.len()];
    let mut ins = Inserter::new(&mut c, "t").unwrap();
    ins.add_row(&row).unwrap();
    ins.add_row(&nulls).unwrap();
    assert_eq!(ins.execute().unwrap(), 2);
    let mut got = c.execute_list_query("SELECT * FROM t ORDER BY i").unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got.remove(0), row);
    assert_eq!(got.remove(0), nulls);
}

#[test]
fn inserter_widens_and_checks() {
    let mut c = Database::in_memory().connect();
    run(
        &mut c,
        "CREATE TABLE t (id int NOT NULL, n numeric(4,1), d double precision, v varchar(5))",
    );
    let mut ins = Inserter::new(&mut c, "t").unwrap();
    ins.add_row(&[
        Value::BigInt(5),
        Value::Int(12),
        Value::Int(3),
        "héllo".into(),
    ])
    .unwrap();
    ins.add_row(&[
        Value::SmallInt(6),
        "1.25".parse::<Numeric>().unwrap().into(),
        Value::Null,
        Value::Null,
    ])
    .unwrap();
    ins.execute().unwrap();
    assert_eq!(
        query(&mut c, "SELECT id, n, d, v FROM t ORDER BY id"),
        ["5|12.0|3.0|héllo", "6|1.3|NULL|NULL"]
    );
    let cases: [(Vec<Value>, &str, &str); 6] = [
        (
            vec![Value::Null, Value::Null, Value::Null, Value::Null],
            "23502",
            "Got NULL for a non-nullable column \"id\"",
        ),
        (
            vec![
                Value::BigInt(1 << 40),
                Value::Null,
                Value::Null,
                Value::Null,
            ],
            "22003",
            "",
        ),
        (
            vec!["x".into(), Value::Null, Value::Null, Value::Null],
            "42804",
            "",
        ),
        (
            vec![
                Value::Int(1),
                Value::Numeric(Numeric::new(10000, 0)),
                Value::Null,
                Value::Null,
            ],
            "22003",
            "numeric overflow",
        ),
        (
            vec![Value::Int(1), Value::Null, Value::Null, "abcdef".into()],
            "22001",
            "string too large for target string type",
        ),
        (vec![Value::Int(1)], "22023", ""),
    ];
    for (row, state, message) in cases {
        let mut ins = Inserter::new(&mut c, "t").unwrap();
        ins.add_row(&[Value::Int(99), Value::Null, Value::Null, Value::Null])
            .unwrap();
        let e = ins.add_row(&row).unwrap_err();
        assert_eq!(sqlstate(&e), state, "{row:?}: {e}");
        if !message.is_empty() {
            assert!(e.to_string().starts_with(message), "{e}");
        }
        // Any error closes the inserter and discards its rows.
        assert!(
            ins.add_row(&[Value::Int(100), Value::Null, Value::Null, Value::Null])
                .is_err()
        );
        assert!(ins.execute().is_err());
    }
    assert_eq!(
        c.execute_scalar_query("SELECT count(*) FROM t").unwrap(),
        Value::BigInt(2)
    );
    assert!(!c.in_transaction());
}

#[test]
fn inserter_dropped_discards_and_column_subset() {
    let mut c = Database::in_memory().connect();
    run(&mut c, "CREATE TABLE t (a int, b text NOT NULL, c int)");
    {
        let mut ins = Inserter::builder("t")
            .columns(["b", "a"])
            .build(&mut c)
            .unwrap();
        ins.add_row(&["x".into(), Value::Int(1)]).unwrap();
    }
    assert!(!c.in_transaction());
    assert_eq!(
        c.execute_scalar_query("SELECT count(*) FROM t").unwrap(),
        Value::BigInt(0)
    );
    let mut ins = Inserter::builder("t")
        .columns(["b", "a"])
        .build(&mut c)
        .unwrap();
    ins.add_row(&["x".into(), Value::Int(1)]).unwrap();
    ins.execute().unwrap();
    assert_eq!(query(&mut c, "SELECT a, b, c FROM t"), ["1|x|NULL"]);
    // A NOT NULL column left out, an unknown column, a duplicate.
    assert_eq!(
        sqlstate(
            &Inserter::builder("t")
                .columns(["a"])
                .build(&mut c)
                .unwrap_err()
        ),
        "23502"
    );
    assert_eq!(
        sqlstate(
            &Inserter::builder("t")
                .columns(["b", "zz"])
                .build(&mut c)
                .unwrap_err()
        ),
        "42703"
    );
    assert!(
        Inserter::builder("t")
            .columns(["b", "b"])
            .build(&mut c)
            .is_err()
    );
    assert_eq!(
        sqlstate(&Inserter::new(&mut c, "missing").unwrap_err()),
        "42P01"
    );
    // An expression without an inserter definition.
    let e = Inserter::builder("t")
        .columns([
            ColumnMapping::new("b"),
            ColumnMapping::with_expression("a", "1"),
        ])
        .build(&mut c)
        .unwrap_err();
    assert_eq!(sqlstate(&e), "22023");
}

#[test]
fn inserter_inside_user_transaction() {
    let mut c = Database::in_memory().connect();
    run(&mut c, "CREATE TABLE t (a int)");
    run(&mut c, "BEGIN");
    let mut ins = Inserter::new(&mut c, "t").unwrap();
    ins.add_rows((0..10).map(|i| [Value::Int(i)])).unwrap();
    assert_eq!(ins.execute().unwrap(), 10);
    assert!(c.in_transaction());
    run(&mut c, "ROLLBACK");
    assert_eq!(
        c.execute_scalar_query("SELECT count(*) FROM t").unwrap(),
        Value::BigInt(0)
    );
    run(&mut c, "BEGIN");
    let mut ins = Inserter::new(&mut c, "t").unwrap();
    ins.add_row(&[Value::Int(1)]).unwrap();
    drop(ins);
    run(&mut c, "COMMIT");
    assert_eq!(
        c.execute_scalar_query("SELECT count(*) FROM t").unwrap(),
        Value::BigInt(0)
    );
}

#[test]
fn inserter_batches_and_many_rows() {
    let mut c = Database::in_memory().connect();
    run(&mut c, "CREATE TABLE t (a int NOT NULL, s varchar(4))");
    let n = hyperctl_sql::BATCH_ROWS as i32 * 2 + 5;
    let mut ins = Inserter::new(&mut c, "t").unwrap();
    ins.add_rows((0..n).map(|i| [Value::Int(i), Value::Null]))
        .unwrap();
    let batch = |a: Vec<Option<i32>>, s: Vec<Option<&str>>| {
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("x", DataType::Int32, true),
                Field::new("y", DataType::Utf8, true),
            ])),
            vec![
                Arc::new(Int32Array::from(a)) as ArrayRef,
                Arc::new(StringArray::from(s)) as ArrayRef,
            ],
        )
        .unwrap()
    };
    ins.add_batch(batch(vec![Some(-1), Some(-2)], vec![Some("ok"), None]))
        .unwrap();
    assert_eq!(ins.execute().unwrap(), n as u64 + 2);
    assert_eq!(
        c.execute_list_query("SELECT count(*), min(a), max(a), count(s) FROM t")
            .unwrap(),
        vec![vec![
            Value::BigInt(i64::from(n) + 2),
            Value::Int(-2),
            Value::Int(n - 1),
            Value::BigInt(1)
        ]]
    );
    for (bad, state) in [
        (batch(vec![None], vec![None]), "23502"),
        (batch(vec![Some(1)], vec![Some("toolong")]), "22001"),
    ] {
        let mut ins = Inserter::new(&mut c, "t").unwrap();
        assert_eq!(sqlstate(&ins.add_batch(bad).unwrap_err()), state);
    }
    let wrong = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)])),
        vec![Arc::new(hyperctl_sql::arrow::array::Int64Array::from(vec![1])) as ArrayRef],
    )
    .unwrap();
    let mut ins = Inserter::new(&mut c, "t").unwrap();
    assert_eq!(sqlstate(&ins.add_batch(wrong).unwrap_err()), "22023");
}

#[test]
fn inserter_mapping_expressions() {
    let mut c = Database::in_memory().connect();
    run(&mut c, "CREATE SCHEMA s");
    run(&mut c, "CREATE TABLE s.t (a int, b text, c int NOT NULL)");
    let mut ins = Inserter::builder(TableName::new("s", "t"))
        .columns([
            ColumnMapping::new("a"),
            ColumnMapping::with_expression("b", "upper(raw)"),
            ColumnMapping::with_expression("c", "a * 10"),
        ])
        .inserter_definition([
            Column::new("a", SqlType::Int),
            Column::new("raw", SqlType::Text),
        ])
        .build(&mut c)
        .unwrap();
    ins.add_row(&[Value::Int(1), "hello".into()]).unwrap();
    ins.add_row(&[Value::Int(2), Value::Null]).unwrap();
    assert_eq!(ins.execute().unwrap(), 2);
    assert_eq!(
        query(&mut c, "SELECT a, b, c FROM s.t ORDER BY a"),
        ["1|HELLO|10", "2|NULL|20"]
    );
    // The scratch table is gone.
    assert_eq!(c.table_names("s"), ["t"]);
    // An expression that fails at execute: nothing is inserted.
    let mut ins = Inserter::builder(TableName::new("s", "t"))
        .columns([ColumnMapping::with_expression("c", "a / 0")])
        .inserter_definition([Column::new("a", SqlType::Int)])
        .build(&mut c)
        .unwrap();
    ins.add_row(&[Value::Int(1)]).unwrap();
    assert!(ins.execute().is_err());
    assert!(!c.in_transaction());
    assert_eq!(c.table_names("s"), ["t"]);
    assert_eq!(
        c.execute_scalar_query("SELECT count(*) FROM s.t").unwrap(),
        Value::BigInt(2)
    );
}
