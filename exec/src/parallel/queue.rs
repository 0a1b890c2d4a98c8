//! The morsel queue: the batches of a pipeline's source, cut into morsels
//! of at most `morsel_rows` rows and numbered in source order.
//!
//! Invariant: morsel numbers follow the source's order (partitions in
//! order, batches in order, slices in order) whatever thread asks, so
//! operators that order by them give the same answer on any thread count.

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parking_lot::Mutex;

use crate::error::Result;
use crate::source::BatchStream;

/// A shared queue of morsels; workers call [`next`](Self::next).
pub(crate) struct MorselQueue {
    state: Mutex<State>,
    morsel_rows: usize,
    /// Checked against each batch of a scan source.
    check: Option<SchemaRef>,
}

struct State {
    parts: std::vec::IntoIter<BatchStream>,
    current: Option<BatchStream>,
    /// A batch being cut, and the next row to cut from.
    pending: Option<(RecordBatch, usize)>,
    next_seq: u64,
    done: bool,
}

impl MorselQueue {
    /// A queue over `parts`, read in order; `check` is the schema a scan
    /// source promised.
    pub(crate) fn new(
        parts: Vec<BatchStream>,
        morsel_rows: usize,
        check: Option<SchemaRef>,
    ) -> Self {
        MorselQueue {
            state: Mutex::new(State {
                parts: parts.into_iter(),
                current: None,
                pending: None,
                next_seq: 0,
                done: false,
            }),
            morsel_rows: morsel_rows.max(1),
            check,
        }
    }

    /// The next morsel and its number; `None` when the source is exhausted
    /// or has failed (the failure is returned once).
    pub(crate) fn next(&self) -> Option<Result<(u64, RecordBatch)>> {
        let mut s = self.state.lock();
        loop {
            if s.done {
                return None;
            }
            if let Some((batch, offset)) = &mut s.pending {
                if *offset < batch.num_rows() {
                    let len = self.morsel_rows.min(batch.num_rows() - *offset);
                    let morsel = batch.slice(*offset, len);
                    *offset += len;
                    let seq = s.next_seq;
                    s.next_seq += 1;
                    return Some(Ok((seq, morsel)));
                }
                s.pending = None;
            }
            match s.current.as_mut().and_then(Iterator::next) {
                Some(Ok(batch)) => {
                    let batch = match &self.check {
                        Some(schema) => crate::operators::scan::check(schema, batch),
                        None => Ok(batch),
                    };
                    match batch {
                        Ok(b) => s.pending = Some((b, 0)),
                        Err(e) => {
                            s.done = true;
                            return Some(Err(e));
                        }
                    }
                }
                Some(Err(e)) => {
                    s.done = true;
                    return Some(Err(e));
                }
                None => {
                    s.current = s.parts.next();
                    s.done = s.current.is_none();
                }
            }
        }
    }

    /// Stops handing out morsels.
    pub(crate) fn close(&self) {
        self.state.lock().done = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{ints, nullable_batch};

    fn batch(n: i64) -> RecordBatch {
        nullable_batch([("x", ints(&(0..n).map(Some).collect::<Vec<_>>()))]).unwrap()
    }

    fn stream(batches: Vec<RecordBatch>) -> BatchStream {
        Box::new(batches.into_iter().map(Ok))
    }

    #[test]
    fn cuts_and_numbers_in_order() {
        let q = MorselQueue::new(
            vec![
                stream(vec![batch(5), batch(0), batch(2)]),
                stream(vec![]),
                stream(vec![batch(3)]),
            ],
            2,
            None,
        );
        let mut got = Vec::new();
        while let Some(m) = q.next() {
            let (seq, b) = m.unwrap();
            got.push((seq, b.num_rows()));
        }
        assert_eq!(got, vec![(0, 2), (1, 2), (2, 1), (3, 2), (4, 2), (5, 1)]);
        assert!(q.next().is_none());
    }

    #[test]
    fn errors_end_the_queue() {
        let bad: BatchStream =
            Box::new(vec![Ok(batch(1)), Err(crate::error::Error::internal("boom"))].into_iter());
        let q = MorselQueue::new(vec![bad, stream(vec![batch(1)])], 10, None);
        assert!(q.next().unwrap().is_ok());
        assert!(q.next().unwrap().is_err());
        assert!(q.next().is_none());
        let q = MorselQueue::new(vec![stream(vec![batch(1)])], 10, None);
        q.close();
        assert!(q.next().is_none());
    }
}
