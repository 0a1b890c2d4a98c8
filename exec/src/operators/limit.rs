//! Limit: skips `skip` rows, yields at most `fetch`, and stops pulling from
//! its input as soon as `fetch` rows have been yielded.

use arrow::record_batch::RecordBatch;

use crate::error::Result;
use crate::source::BatchStream;

pub(crate) fn execute(input: BatchStream, skip: usize, fetch: Option<usize>) -> BatchStream {
    Box::new(Limit {
        input,
        skip,
        remaining: fetch,
    })
}

struct Limit {
    input: BatchStream,
    skip: usize,
    remaining: Option<usize>,
}

impl Iterator for Limit {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.remaining == Some(0) {
                return None;
            }
            let batch = match self.input.next()? {
                Ok(b) => b,
                Err(e) => return Some(Err(e)),
            };
            let rows = batch.num_rows();
            if self.skip >= rows {
                self.skip -= rows;
                continue;
            }
            let start = std::mem::take(&mut self.skip);
            let len = self.remaining.map_or(rows - start, |r| r.min(rows - start));
            if let Some(r) = &mut self.remaining {
                *r -= len;
            }
            return Some(Ok(batch.slice(start, len)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::test_util::ints;
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Batches of `sizes` rows numbering the rows 0, 1, 2, ..., counting pulls.
    fn numbered(sizes: &[usize], pulls: Arc<AtomicUsize>) -> BatchStream {
        let mut next = 0i64;
        let batches: Vec<_> = sizes
            .iter()
            .map(|&n| {
                let v: Vec<_> = (next..next + n as i64).map(Some).collect();
                next += n as i64;
                crate::test_util::nullable_batch([("x", ints(&v))]).unwrap()
            })
            .collect();
        Box::new(batches.into_iter().map(move |b| {
            pulls.fetch_add(1, Ordering::SeqCst);
            Ok(b)
        }))
    }

    fn run(sizes: &[usize], skip: usize, fetch: Option<usize>) -> (Vec<i64>, usize) {
        let pulls = Arc::new(AtomicUsize::new(0));
        let out: Vec<_> = execute(numbered(sizes, pulls.clone()), skip, fetch)
            .collect::<Result<_>>()
            .unwrap();
        let rows = out
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect();
        (rows, pulls.load(Ordering::SeqCst))
    }

    #[test]
    fn across_batch_boundaries() {
        assert_eq!(run(&[3, 3, 3], 2, Some(5)).0, vec![2, 3, 4, 5, 6]);
        assert_eq!(run(&[3, 3, 3], 3, Some(3)).0, vec![3, 4, 5]);
        assert_eq!(run(&[3, 0, 3, 3], 4, None).0, vec![4, 5, 6, 7, 8]);
        assert_eq!(run(&[3, 3], 6, None).0, Vec::<i64>::new());
        assert_eq!(run(&[3, 3], 10, Some(1)).0, Vec::<i64>::new());
        assert_eq!(run(&[1, 1, 1, 1], 0, Some(2)).0, vec![0, 1]);
    }

    #[test]
    fn stops_pulling_when_satisfied() {
        assert_eq!(run(&[3, 3, 3], 0, Some(3)).1, 1);
        assert_eq!(run(&[3, 3, 3], 1, Some(3)).1, 2);
        assert_eq!(run(&[3, 3, 3], 0, Some(0)).1, 0);
        assert_eq!(run(&[3, 3, 3], 0, None).1, 3);
    }

    #[test]
    fn passes_errors() {
        let input: BatchStream = Box::new(vec![Err(Error::DivisionByZero)].into_iter());
        let out: Result<Vec<_>> = execute(input, 0, Some(1)).collect();
        assert!(matches!(out, Err(Error::DivisionByZero)));
    }
}
