//! Reuse of freed space never serves stale data: blocks of a rolled-back
//! transaction, of a dropped table, and blocks that a checkpoint replaced
//! are written over by later blocks (often of the very same length), and
//! the buffer pool must not answer for the new block with the old block's
//! decoded columns.

use std::sync::Arc;

use hyperctl_format::SqlType;
use hyperctl_format::arrow::array::{AsArray, Int32Array, Int64Array, RecordBatch};
use hyperctl_format::arrow::datatypes::{Int32Type, Int64Type};
use hyperctl_storage::{ColumnDef, DEFAULT_SCHEMA, Database, TableDef, TableHandle};

const ROWS: i64 = 70_000;

fn def(name: &str) -> TableDef {
    TableDef {
        schema: DEFAULT_SCHEMA.into(),
        name: name.into(),
        columns: vec![
            ColumnDef::new("id", SqlType::BigInt, false),
            ColumnDef::new("n", SqlType::Int, false),
        ],
    }
}

/// `ROWS` rows: ids `base..`, n = `tag`.
fn rows(base: i64, tag: i32) -> RecordBatch {
    RecordBatch::try_new(
        def("t").arrow_schema(),
        vec![
            Arc::new(Int64Array::from_iter_values(base..base + ROWS)),
            Arc::new(Int32Array::from(vec![tag; ROWS as usize])),
        ],
    )
    .expect("a valid batch")
}

/// Reads every row; checks ids `base..base + ROWS` in order and n = `tag`.
fn check(table: &TableHandle, base: i64, tag: i32, when: &str) {
    let mut next = base;
    for b in table.scan(&[0, 1]).expect("scan") {
        let b = b.unwrap_or_else(|e| panic!("{when}: {e}"));
        let ids = b.column(0).as_primitive::<Int64Type>();
        let n = b.column(1).as_primitive::<Int32Type>();
        for i in 0..b.num_rows() {
            assert_eq!((ids.value(i), n.value(i)), (next, tag), "{when}");
            next += 1;
        }
    }
    assert_eq!(next, base + ROWS, "{when}: row count");
}

#[test]
fn a_rolled_back_block_read_in_its_transaction_is_not_served_later() {
    let db = Database::in_memory();
    let mut w = db.begin_write().unwrap();
    w.create_table(def("t")).unwrap();
    w.commit().unwrap();
    // Freeze a block, read it (the pool caches its columns), roll back.
    let mut w = db.begin_write().unwrap();
    w.append(DEFAULT_SCHEMA, "t", &rows(0, 1)).unwrap();
    check(&w.table(DEFAULT_SCHEMA, "t").unwrap(), 0, 1, "own rows");
    w.rollback();
    // The next block of the same length goes to the same place.
    let mut w = db.begin_write().unwrap();
    w.append(DEFAULT_SCHEMA, "t", &rows(1_000_000, 2)).unwrap();
    w.commit().unwrap();
    let t = db.snapshot().table(DEFAULT_SCHEMA, "t").unwrap();
    check(&t, 1_000_000, 2, "after the rollback");
}

#[test]
fn space_of_dropped_tables_and_replaced_blocks_is_reused_cleanly() {
    let db = Database::in_memory();
    for round in 0..4i32 {
        let name = format!("t{round}");
        let mut w = db.begin_write().unwrap();
        w.create_table(def(&name)).unwrap();
        w.append(DEFAULT_SCHEMA, &name, &rows(i64::from(round) * ROWS, round))
            .unwrap();
        w.commit().unwrap();
        let t = db.snapshot().table(DEFAULT_SCHEMA, &name).unwrap();
        check(
            &t,
            i64::from(round) * ROWS,
            round,
            &format!("round {round}"),
        );
        drop(t);
        // The checkpoint replaces the partial last block and frees it.
        db.checkpoint().unwrap();
        let t = db.snapshot().table(DEFAULT_SCHEMA, &name).unwrap();
        check(
            &t,
            i64::from(round) * ROWS,
            round,
            &format!("round {round}, checkpointed"),
        );
        drop(t);
        let mut w = db.begin_write().unwrap();
        w.drop_table(DEFAULT_SCHEMA, &name).unwrap();
        w.commit().unwrap();
        db.checkpoint().unwrap();
    }
    assert!(db.verify().is_ok(), "{}", db.verify());
}

/// A table handle taken inside a write transaction and kept after it
/// ended still reads its rows, while the table is dropped and its space
/// reused.
#[test]
fn a_handle_from_a_transaction_keeps_its_space() {
    let db = Database::in_memory();
    let mut w = db.begin_write().unwrap();
    w.create_table(def("t")).unwrap();
    w.append(DEFAULT_SCHEMA, "t", &rows(0, 1)).unwrap();
    w.commit().unwrap();
    db.checkpoint().unwrap();
    let w = db.begin_write().unwrap();
    let kept = w.table(DEFAULT_SCHEMA, "t").unwrap();
    w.rollback();
    let mut w = db.begin_write().unwrap();
    w.drop_table(DEFAULT_SCHEMA, "t").unwrap();
    w.commit().unwrap();
    db.checkpoint().unwrap();
    db.checkpoint().unwrap();
    let mut w = db.begin_write().unwrap();
    w.create_table(def("u")).unwrap();
    w.append(DEFAULT_SCHEMA, "u", &rows(5_000_000, 9)).unwrap();
    w.commit().unwrap();
    db.checkpoint().unwrap();
    check(&kept, 0, 1, "a handle kept from a transaction");
}

/// The same for a handle that reads a block of a transaction that was
/// rolled back: the block's space waits for the handle.
#[test]
fn a_handle_from_a_rolled_back_transaction_keeps_its_space() {
    let db = Database::in_memory();
    let mut w = db.begin_write().unwrap();
    w.create_table(def("t")).unwrap();
    w.commit().unwrap();
    let mut w = db.begin_write().unwrap();
    w.append(DEFAULT_SCHEMA, "t", &rows(0, 1)).unwrap();
    let kept = w.table(DEFAULT_SCHEMA, "t").unwrap();
    w.rollback();
    for round in 0..3 {
        let mut w = db.begin_write().unwrap();
        w.append(DEFAULT_SCHEMA, "t", &rows(1_000_000, 2)).unwrap();
        w.commit().unwrap();
        db.checkpoint().unwrap();
        check(&kept, 0, 1, &format!("round {round}"));
        let mut w = db.begin_write().unwrap();
        w.truncate(DEFAULT_SCHEMA, "t").unwrap();
        w.commit().unwrap();
        db.checkpoint().unwrap();
    }
    drop(kept);
    db.checkpoint().unwrap();
    db.checkpoint().unwrap();
    assert!(db.verify().is_ok(), "{}", db.verify());
    let stats = db.stats().unwrap();
    assert_eq!(stats.pending_free_bytes, 0, "{stats:?}");
}
