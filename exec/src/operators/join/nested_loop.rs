//! The nested-loop join's probe: every left row meets every build row, and
//! the condition (none for CROSS JOIN) is evaluated over the joined rows, a
//! few thousand pairs at a time. It serves non-equi conditions and is the
//! reference the hash join is tested against.

use std::iter::repeat_n;

use arrow::record_batch::RecordBatch;

use super::{Pairs, Probe, evaluate_on_pairs, row_u32};
use crate::error::Result;
use crate::expr::PhysicalExpr;

/// Pairs evaluated per condition call (at least one left row per call).
const PAIRS_PER_CHUNK: usize = 8192;

/// The probe state of a nested-loop join.
#[derive(Debug)]
pub(crate) struct LoopProbe {
    condition: Option<PhysicalExpr>,
}

impl LoopProbe {
    pub(crate) fn new(condition: Option<PhysicalExpr>) -> Self {
        LoopProbe { condition }
    }
}

impl Probe for LoopProbe {
    fn prepare(&mut self, _build: &RecordBatch) -> Result<()> {
        Ok(())
    }

    fn pairs(&self, left: &RecordBatch, build: &RecordBatch) -> Result<Pairs> {
        let (n, m) = (left.num_rows(), build.num_rows());
        let mut out = Pairs::default();
        if n == 0 || m == 0 {
            return Ok(out);
        }
        let m32 = row_u32(m)?;
        let chunk = (PAIRS_PER_CHUNK / m).max(1);
        for start in (0..n).step_by(chunk) {
            let end = (start + chunk).min(n);
            let (start, end) = (row_u32(start)?, row_u32(end)?);
            let l: Vec<u32> = (start..end).flat_map(|i| repeat_n(i, m)).collect();
            let r: Vec<u32> = (start..end).flat_map(|_| 0..m32).collect();
            let verdict = match &self.condition {
                Some(c) => evaluate_on_pairs(c, left, build, &l, &r)?,
                None => vec![Some(true); l.len()],
            };
            for ((l, r), v) in l.into_iter().zip(r).zip(verdict) {
                if v != Some(false) {
                    out.left.push(l);
                    out.right.push(r);
                    out.verdict.push(v);
                }
            }
        }
        Ok(out)
    }
}
