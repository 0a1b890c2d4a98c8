//! Freezing blocks on several threads while a transaction appends: the
//! parallel half of [`WriteTxn::append_all`].
//!
//! The appending thread fills the table's tail as a serial append does;
//! each full tail is cut off and sent to an encoder thread, which joins its
//! batches and compresses the columns. The appending thread writes the
//! encoded blocks into free space and logs them strictly in cut order, so
//! the blocks are the ones a serial append makes, in the same order.
//!
//! Invariants:
//! - At most `threads + 1` blocks are cut but not yet written (the
//!   appending thread waits for the oldest one beyond that), so memory is
//!   bounded whatever the input size.
//! - Between a cut and its install the table lacks the cut rows; nobody can
//!   look, as the transaction is borrowed mutably until every cut block is
//!   installed or the handle is poisoned.

use std::collections::{BTreeMap, VecDeque};
use std::sync::mpsc::{Receiver, channel, sync_channel};

use hyperctl_format::EncodedColumn;
use hyperctl_format::arrow::array::RecordBatch;
use parking_lot::Mutex;

use crate::checkpoint::encode_batches;
use crate::error::{Error, Result};
use crate::txn::{CutTail, WriteTxn};

type Encoded = Result<Vec<EncodedColumn>>;

/// See [`WriteTxn::append_all`]; `threads >= 2`.
pub(crate) fn append_parallel<E: From<Error>>(
    txn: &mut WriteTxn,
    index: usize,
    batches: impl Iterator<Item = std::result::Result<RecordBatch, E>>,
    threads: usize,
) -> std::result::Result<u64, E> {
    let def = txn.def_at(index).clone();
    let (job_tx, job_rx) = sync_channel::<(u64, Vec<RecordBatch>)>(threads);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = channel::<(u64, Encoded)>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (job_rx, done_tx, def) = (&job_rx, done_tx.clone(), &def);
            scope.spawn(move || {
                loop {
                    let job = job_rx.lock().recv();
                    let Ok((seq, batches)) = job else {
                        return; // no more blocks
                    };
                    if done_tx.send((seq, encode_batches(def, &batches))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let mut order = InOrder {
            cut: VecDeque::new(),
            next_cut: 0,
            ready: BTreeMap::new(),
            done: done_rx,
            limit: threads + 1,
        };
        let appended = feed(txn, index, batches, &job_tx, &mut order);
        // Closing the job channel ends the encoders once the queue is empty.
        drop(job_tx);
        let installed = order.install(txn, index, usize::MAX);
        if installed.is_err() || (appended.is_err() && !order.cut.is_empty()) {
            // Rows were cut from the tail and are not in a block.
            txn.poison();
        }
        let rows = appended?;
        installed?;
        Ok(rows)
    })
}

/// Appends every batch, sending each full tail to the encoders.
fn feed<E: From<Error>>(
    txn: &mut WriteTxn,
    index: usize,
    batches: impl Iterator<Item = std::result::Result<RecordBatch, E>>,
    jobs: &std::sync::mpsc::SyncSender<(u64, Vec<RecordBatch>)>,
    order: &mut InOrder,
) -> std::result::Result<u64, E> {
    let mut rows = 0u64;
    for batch in batches {
        let batch = txn.conform(index, &batch?)?;
        let n = batch.num_rows();
        let mut start = 0;
        while start < n {
            start += txn.fill_tail(index, &batch.slice(start, n - start));
            if txn.tail_full(index) {
                let mut cut = txn.cut_tail(index);
                let parts = std::mem::take(&mut cut.batches);
                let seq = order.next_cut;
                order.next_cut += 1;
                order.cut.push_back(cut);
                if jobs.send((seq, parts)).is_err() {
                    return Err(Error::Internal {
                        what: "the block encoder threads stopped early".into(),
                    }
                    .into());
                }
                order.install(txn, index, order.limit)?;
            }
        }
        rows += n as u64;
    }
    Ok(rows)
}

/// The blocks cut and not yet installed, and the encoders' answers.
struct InOrder {
    /// Cut tails, oldest first; the first has sequence number `next_cut - cut.len()`.
    cut: VecDeque<CutTail>,
    next_cut: u64,
    ready: BTreeMap<u64, Encoded>,
    done: Receiver<(u64, Encoded)>,
    limit: usize,
}

impl InOrder {
    /// Installs the blocks that are encoded, in order, waiting while more
    /// than `keep` are outstanding.
    fn install(&mut self, txn: &mut WriteTxn, index: usize, keep: usize) -> Result<()> {
        let keep = if keep == usize::MAX { 0 } else { keep };
        while let Some(seq) = self.oldest() {
            let encoded = match self.ready.remove(&seq) {
                Some(e) => e,
                None if self.cut.len() > keep => match self.done.recv() {
                    Ok((s, e)) => {
                        self.ready.insert(s, e);
                        continue;
                    }
                    Err(_) => {
                        return Err(Error::Internal {
                            what: "the block encoder threads stopped early".into(),
                        });
                    }
                },
                None => match self.done.try_recv() {
                    Ok((s, e)) => {
                        self.ready.insert(s, e);
                        continue;
                    }
                    Err(_) => return Ok(()),
                },
            };
            let Some(cut) = self.cut.pop_front() else {
                break;
            };
            txn.install_block(index, cut, encoded?)?;
        }
        Ok(())
    }

    fn oldest(&self) -> Option<u64> {
        (!self.cut.is_empty()).then(|| self.next_cut - self.cut.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hyperctl_format::SqlType;
    use hyperctl_format::arrow::array::{Array, AsArray, Int64Array, StringArray};
    use hyperctl_format::arrow::datatypes::Int64Type;

    use crate::catalog::{BLOCK_ROWS_MAX, ColumnDef, DEFAULT_SCHEMA, TableDef};
    use crate::db::Database;

    use super::*;

    fn def() -> TableDef {
        TableDef {
            schema: DEFAULT_SCHEMA.into(),
            name: "t".into(),
            columns: vec![
                ColumnDef::new("id", SqlType::BigInt, false),
                ColumnDef::new("note", SqlType::Text, true),
            ],
        }
    }

    fn batch(from: i64, rows: usize) -> RecordBatch {
        let ids: Vec<i64> = (from..from + rows as i64).collect();
        let notes: Vec<Option<String>> = ids
            .iter()
            .map(|i| (i % 7 != 0).then(|| format!("n{}", i % 1000)))
            .collect();
        RecordBatch::try_new(
            def().arrow_schema(),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(notes)),
            ],
        )
        .expect("a valid batch")
    }

    /// Batches of uneven sizes (some larger than a block) after a committed
    /// partial tail and a deleted row of the transaction's own tail.
    fn load(threads: usize) -> (Vec<(u32, u32)>, Vec<i64>) {
        let db = Database::in_memory();
        let mut txn = db.begin_write().expect("begin");
        txn.create_table(def()).expect("create");
        txn.append(DEFAULT_SCHEMA, "t", &batch(0, 1000))
            .expect("append");
        txn.commit().expect("commit");
        let mut txn = db.begin_write().expect("begin");
        txn.append(DEFAULT_SCHEMA, "t", &batch(1000, 10))
            .expect("append");
        txn.delete(DEFAULT_SCHEMA, "t", &[1003]).expect("delete");
        let sizes = [1, 70_000, 5, BLOCK_ROWS_MAX, 30_000, 200_000, 17];
        let mut from = 1010;
        let batches: Vec<Result<RecordBatch>> = sizes
            .iter()
            .map(|&n| {
                let b = batch(from, n);
                from += n as i64;
                Ok(b)
            })
            .collect();
        let rows = txn
            .append_all(DEFAULT_SCHEMA, "t", batches, threads)
            .expect("append_all");
        assert_eq!(rows, sizes.iter().sum::<usize>() as u64);
        txn.commit().expect("commit");
        let table = db.snapshot().table(DEFAULT_SCHEMA, "t").expect("table");
        let blocks = table
            .block_info()
            .expect("blocks")
            .iter()
            .map(|b| (b.rows, b.deleted))
            .collect();
        let mut ids = Vec::new();
        for b in table.scan(&[0]).expect("scan") {
            let b = b.expect("batch");
            let column = b.column(0).as_primitive::<Int64Type>();
            assert_eq!(column.null_count(), 0);
            ids.extend(column.values().iter().copied());
        }
        (blocks, ids)
    }

    #[test]
    fn parallel_freezing_makes_the_serial_blocks_in_order() {
        let (blocks, ids) = load(1);
        let expected: Vec<i64> = (0..1010 + 365_559).filter(|&i| i != 1003).collect();
        assert_eq!(ids, expected);
        assert!(blocks.len() >= 5, "{blocks:?}");
        assert!(blocks.contains(&(BLOCK_ROWS_MAX as u32, 1)), "{blocks:?}");
        for threads in [2, 3, 8] {
            assert_eq!(
                load(threads),
                (blocks.clone(), ids.clone()),
                "threads {threads}"
            );
        }
    }

    #[test]
    fn an_error_of_the_input_stops_it_and_blocks_cut_so_far_are_written() {
        let db = Database::in_memory();
        let mut txn = db.begin_write().expect("begin");
        txn.create_table(def()).expect("create");
        txn.commit().expect("commit");
        let mut txn = db.begin_write().expect("begin");
        let batches: Vec<Result<RecordBatch>> = vec![
            Ok(batch(0, 3 * BLOCK_ROWS_MAX)),
            Err(Error::Internal {
                what: "the input failed".into(),
            }),
            Ok(batch(0, 10)),
        ];
        let err = txn
            .append_all(DEFAULT_SCHEMA, "t", batches, 2)
            .expect_err("the input's error");
        assert!(err.to_string().contains("the input failed"), "{err}");
        // The transaction is consistent (all cut blocks installed): its own
        // view has the rows of the first batch.
        let table = txn.table(DEFAULT_SCHEMA, "t").expect("table");
        assert_eq!(table.row_count(), 3 * BLOCK_ROWS_MAX as u64);
        drop(txn);
        // Not poisoned: a new transaction works.
        let mut txn = db.begin_write().expect("begin");
        txn.append(DEFAULT_SCHEMA, "t", &batch(0, 5))
            .expect("append");
        txn.commit().expect("commit");
        let table = db.snapshot().table(DEFAULT_SCHEMA, "t").expect("table");
        assert_eq!(table.row_count(), 5);
    }

    #[test]
    fn a_bad_batch_is_an_error_on_every_path() {
        for threads in [1, 2] {
            let db = Database::in_memory();
            let mut txn = db.begin_write().expect("begin");
            txn.create_table(def()).expect("create");
            let ids = Int64Array::from(vec![Some(1), None]);
            let notes = StringArray::from(vec![Some("a"), None]);
            let schema = Arc::new(hyperctl_format::arrow::datatypes::Schema::new(vec![
                hyperctl_format::arrow::datatypes::Field::new(
                    "id",
                    hyperctl_format::arrow::datatypes::DataType::Int64,
                    true,
                ),
                hyperctl_format::arrow::datatypes::Field::new(
                    "note",
                    hyperctl_format::arrow::datatypes::DataType::Utf8,
                    true,
                ),
            ]));
            let bad =
                RecordBatch::try_new(schema, vec![Arc::new(ids), Arc::new(notes)]).expect("batch");
            let batches: Vec<Result<RecordBatch>> = vec![Ok(batch(0, 70_000)), Ok(bad)];
            let err = txn
                .append_all(DEFAULT_SCHEMA, "t", batches, threads)
                .expect_err("a NULL id");
            assert!(matches!(err, Error::NullViolation { .. }), "{err:?}");
        }
    }
}
