//! The morsel queue: the batches of a pipeline's source, cut into morsels
//! of at most `morsel_rows` rows and numbered in source order.
//!
//! Invariant: morsel numbers follow the source's order (partitions in
//! order, batches in order, slices in order) whatever thread asks, so
//! operators that order by them give the same answer on any thread count.

use std::collections::{BTreeMap, VecDeque};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};
use crate::source::BatchStream;

/// A shared queue of morsels; workers call [`next`](Self::next).
///
/// With several parts (a table scan: one per block), a worker that finds no
/// batch ready takes the next part and reads it (decodes the block) outside
/// the lock, so workers decode blocks side by side; the parts' batches are
/// then cut in part order. With one part, workers read its batches in turns.
pub(crate) struct MorselQueue {
    state: Mutex<State>,
    /// Signalled when a part has been read, or the queue is done.
    read: Condvar,
    morsel_rows: usize,
    /// Checked against each batch of a scan source.
    check: Option<SchemaRef>,
}

struct State {
    /// Parts nobody has taken yet, numbered in order.
    parts: std::iter::Enumerate<std::vec::IntoIter<BatchStream>>,
    part_count: usize,
    /// One part read in turns under the lock (when there is only one).
    current: Option<BatchStream>,
    /// Parts read ahead, by number: their batches, and the error that ended
    /// the reading, if one did.
    ready: BTreeMap<usize, (Vec<RecordBatch>, Option<Error>)>,
    /// The part being cut, and its batches not cut yet.
    turn: usize,
    batches: VecDeque<RecordBatch>,
    failure: Option<Error>,
    /// A batch being cut, and the next row to cut from.
    pending: Option<(RecordBatch, usize)>,
    next_seq: u64,
    done: bool,
}

/// How many parts may wait, read, for the part whose turn it is: bounds the
/// memory held when one block is slow to read.
const READ_AHEAD: usize = 8;

/// Ends the queue if the worker reading a part unwinds, so that no worker
/// waits for that part forever.
struct ReadGuard<'a> {
    queue: &'a MorselQueue,
    armed: bool,
}

impl Drop for ReadGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.queue.close();
        }
    }
}

impl MorselQueue {
    /// A queue over `parts`, read in order; `check` is the schema a scan
    /// source promised.
    pub(crate) fn new(
        parts: Vec<BatchStream>,
        morsel_rows: usize,
        check: Option<SchemaRef>,
    ) -> Self {
        let part_count = parts.len();
        let mut parts = parts.into_iter().enumerate();
        let current = if part_count == 1 {
            parts.next().map(|(_, p)| p)
        } else {
            None
        };
        MorselQueue {
            state: Mutex::new(State {
                parts,
                part_count,
                current,
                ready: BTreeMap::new(),
                turn: 0,
                batches: VecDeque::new(),
                failure: None,
                pending: None,
                next_seq: 0,
                done: part_count == 0,
            }),
            read: Condvar::new(),
            morsel_rows: morsel_rows.max(1),
            check,
        }
    }

    /// The next morsel and its number; `None` when the source is exhausted
    /// or has failed (the failure is returned once, in its place in source
    /// order).
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
            let turn = s.turn;
            let next = if let Some(b) = s.batches.pop_front() {
                Some(Ok(b))
            } else if let Some(e) = s.failure.take() {
                Some(Err(e))
            } else if let Some(current) = s.current.as_mut() {
                let next = current.next();
                if next.is_none() {
                    s.done = true;
                }
                next
            } else if let Some((batches, failure)) = s.ready.remove(&turn) {
                s.turn += 1;
                s.batches = batches.into();
                s.failure = failure;
                continue;
            } else if s.ready.len() < READ_AHEAD
                && let Some((number, part)) = s.parts.next()
            {
                // Read the part outside the lock, while others cut or read.
                let mut guard = ReadGuard {
                    queue: self,
                    armed: true,
                };
                let read = parking_lot::MutexGuard::unlocked(&mut s, || read_part(part));
                guard.armed = false;
                s.ready.insert(number, read);
                self.read.notify_all();
                continue;
            } else if s.turn >= s.part_count {
                s.done = true;
                self.read.notify_all();
                return None;
            } else {
                // The part whose turn it is is being read by another worker
                // (and enough parts after it are read).
                self.read.wait(&mut s);
                continue;
            };
            match next {
                Some(Ok(batch)) => {
                    let batch = match &self.check {
                        Some(schema) => crate::operators::scan::check(schema, batch),
                        None => Ok(batch),
                    };
                    match batch {
                        Ok(b) => s.pending = Some((b, 0)),
                        Err(e) => {
                            s.done = true;
                            self.read.notify_all();
                            return Some(Err(e));
                        }
                    }
                }
                Some(Err(e)) => {
                    s.done = true;
                    self.read.notify_all();
                    return Some(Err(e));
                }
                None => {}
            }
        }
    }

    /// Stops handing out morsels.
    pub(crate) fn close(&self) {
        self.state.lock().done = true;
        self.read.notify_all();
    }
}

/// A part's batches, up to the error that ended it, if one did.
fn read_part(part: BatchStream) -> (Vec<RecordBatch>, Option<Error>) {
    let mut batches = Vec::new();
    for b in part {
        match b {
            Ok(b) => batches.push(b),
            Err(e) => return (batches, Some(e)),
        }
    }
    (batches, None)
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
    fn workers_reading_parts_side_by_side_keep_the_numbering() {
        let parts: Vec<BatchStream> = (0..40)
            .map(|p| stream((0..p % 4).map(|b| batch(p * 3 + b)).collect()))
            .collect();
        let sizes: Vec<usize> = (0..40i64)
            .flat_map(|p| (0..p % 4).map(move |b| (p * 3 + b) as usize))
            .collect();
        let q = MorselQueue::new(parts, 7, None);
        let mut got: Vec<(u64, usize)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        let mut mine = Vec::new();
                        while let Some(m) = q.next() {
                            let (seq, b) = m.unwrap();
                            mine.push((seq, b.num_rows()));
                        }
                        mine
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect()
        });
        got.sort_unstable();
        let want: Vec<(u64, usize)> = sizes
            .iter()
            .flat_map(|&n| (0..n.div_ceil(7)).map(move |i| (n - 7 * i).min(7)))
            .enumerate()
            .map(|(seq, n)| (seq as u64, n))
            .collect();
        assert_eq!(got, want);
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
