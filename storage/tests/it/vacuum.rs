//! VACUUM (issue 3, acceptance 8): a table of 20 full blocks; every row of
//! every other block is deleted; VACUUM shrinks the file (its report and the
//! real file size) and the rows read afterwards are the remaining ones, in
//! order, before and after a reopen. A snapshot taken before the VACUUM
//! still reads its rows (their space is not reused under it).

use std::sync::Arc;

use hyperctl_format::SqlType;
use hyperctl_format::arrow::array::{
    Array, AsArray, Int32Array, Int64Array, RecordBatch, StringArray,
};
use hyperctl_format::arrow::datatypes::{Int32Type, Int64Type};
use hyperctl_storage::{
    ColumnDef, CreateMode, DEFAULT_SCHEMA, Database, OpenOptions, Snapshot, TableDef,
};

const BLOCK: u64 = 65_536;
const BLOCKS: u64 = 20;

fn def() -> TableDef {
    TableDef {
        schema: DEFAULT_SCHEMA.into(),
        name: "t".into(),
        columns: vec![
            ColumnDef::new("id", SqlType::BigInt, false),
            ColumnDef::new("v", SqlType::Int, true),
            ColumnDef::new("s", SqlType::Text, true),
        ],
    }
}

fn rows(from: u64, n: u64) -> RecordBatch {
    let ids: Vec<i64> = (from..from + n).map(|i| i as i64).collect();
    let v: Vec<Option<i32>> = ids
        .iter()
        .map(|i| (i % 7 != 0).then_some((*i % 1000) as i32))
        .collect();
    let s: Vec<Option<String>> = ids
        .iter()
        .map(|i| (i % 5 != 0).then(|| format!("row {i}")))
        .collect();
    RecordBatch::try_new(
        def().arrow_schema(),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(Int32Array::from(v)),
            Arc::new(StringArray::from(s)),
        ],
    )
    .expect("a valid batch")
}

/// Checks that the table holds exactly the rows of the even blocks (or of
/// all blocks), in order, with their values.
fn check_rows(snapshot: &Snapshot, all: bool, when: &str) {
    let table = snapshot.table(DEFAULT_SCHEMA, "t").expect("the table");
    let mut expect = (0..BLOCKS)
        .filter(|b| all || b % 2 == 0)
        .flat_map(|b| b * BLOCK..(b + 1) * BLOCK);
    let mut n = 0u64;
    for batch in table.scan(&[0, 1, 2]).expect("scan") {
        let batch = batch.unwrap_or_else(|e| panic!("{when}: {e}"));
        let ids = batch.column(0).as_primitive::<Int64Type>();
        let v = batch.column(1).as_primitive::<Int32Type>();
        let s = batch.column(2).as_string::<i32>();
        for i in 0..batch.num_rows() {
            let want = expect
                .next()
                .unwrap_or_else(|| panic!("{when}: too many rows"));
            let id = ids.value(i);
            assert_eq!(id, want as i64, "{when}: row {n}");
            assert_eq!(v.is_null(i), id % 7 == 0, "{when}: id {id}");
            if !v.is_null(i) {
                assert_eq!(i64::from(v.value(i)), id % 1000, "{when}: id {id}");
            }
            assert_eq!(s.is_null(i), id % 5 == 0, "{when}: id {id}");
            if !s.is_null(i) {
                assert_eq!(s.value(i), format!("row {id}"), "{when}: id {id}");
            }
            n += 1;
        }
    }
    assert!(expect.next().is_none(), "{when}: rows missing after {n}");
    assert_eq!(n, table.row_count(), "{when}");
}

#[test]
fn vacuum_after_deleting_every_other_block_shrinks_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.hxe");
    let db = Database::open(&path, &OpenOptions::new().create_mode(CreateMode::Create)).unwrap();
    let mut w = db.begin_write().unwrap();
    w.create_table(def()).unwrap();
    for b in 0..BLOCKS {
        w.append(DEFAULT_SCHEMA, "t", &rows(b * BLOCK, BLOCK))
            .unwrap();
    }
    w.commit().unwrap();
    // (A table handle holds its snapshot, and so the space it reads.)
    let table = db.snapshot().table(DEFAULT_SCHEMA, "t").unwrap();
    let blocks = table.block_info().unwrap();
    drop(table);
    assert_eq!(blocks.len() as u64, BLOCKS);
    assert!(blocks.iter().all(|b| u64::from(b.rows) == BLOCK));
    let before_delete = db.snapshot();

    // Block b holds positions b * BLOCK.. (full blocks, nothing deleted yet).
    let mut w = db.begin_write().unwrap();
    let positions: Vec<u64> = (0..BLOCKS)
        .filter(|b| b % 2 == 1)
        .flat_map(|b| b * BLOCK..(b + 1) * BLOCK)
        .collect();
    assert_eq!(
        w.delete(DEFAULT_SCHEMA, "t", &positions).unwrap(),
        positions.len() as u64
    );
    w.commit().unwrap();
    db.checkpoint().unwrap();
    check_rows(&db.snapshot(), false, "after the delete");

    // A snapshot from before the delete keeps its rows through a VACUUM.
    let report = db.vacuum().unwrap();
    println!("vacuum with an old snapshot alive: {report:?}");
    check_rows(&before_delete, true, "old snapshot after vacuum");
    check_rows(&db.snapshot(), false, "after the first vacuum");
    drop(before_delete);

    let file_before = std::fs::metadata(&path).unwrap().len();
    let report = db.vacuum().unwrap();
    let file_after = std::fs::metadata(&path).unwrap().len();
    println!("vacuum: {report:?}; file {file_before} -> {file_after} bytes");
    assert!(report.bytes_after < report.bytes_before, "{report:?}");
    assert!(
        file_after < file_before,
        "the file did not shrink: {file_before} -> {file_after}"
    );
    assert!(
        file_after < file_before * 3 / 4,
        "half the data is gone, the file shrank only {file_before} -> {file_after}"
    );
    check_rows(&db.snapshot(), false, "after vacuum");
    let info = db
        .snapshot()
        .table(DEFAULT_SCHEMA, "t")
        .unwrap()
        .block_info()
        .unwrap();
    assert!(info.iter().all(|b| b.deleted == 0), "deleted rows left");
    assert_eq!(info.len() as u64, BLOCKS / 2);
    let verify = db.verify();
    assert!(verify.is_ok(), "{verify}");
    drop(db);

    assert_eq!(std::fs::metadata(&path).unwrap().len(), file_after);
    let report = Database::verify_file(&path).unwrap();
    assert!(report.is_ok(), "{report}");
    let db = Database::open(&path, &OpenOptions::new()).unwrap();
    check_rows(&db.snapshot(), false, "after a reopen");
    // The file keeps working after the move: more rows, a reopen.
    let mut w = db.begin_write().unwrap();
    w.append(DEFAULT_SCHEMA, "t", &rows(BLOCKS * BLOCK, 10))
        .unwrap();
    w.commit().unwrap();
    drop(db);
    let db = Database::open(&path, &OpenOptions::new().read_only(true)).unwrap();
    let t = db.snapshot().table(DEFAULT_SCHEMA, "t").unwrap();
    assert_eq!(t.row_count(), BLOCKS / 2 * BLOCK + 10);
    assert!(db.verify().is_ok(), "{}", db.verify());
}
