//! The SIMD kernels by tier, for `benches/benches/kernels.rs` (feature
//! `bench`; not a stable API, hidden from the docs).

use crate::kernels::aggregate::Aggregates;
use crate::kernels::compare::{CmpOp, Resolved};
use crate::kernels::{Tier, available, hash};

/// One SIMD tier this CPU runs.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct KernelTier(Tier);

#[doc(hidden)]
impl KernelTier {
    /// Every tier this CPU runs, portable first.
    pub fn available() -> Vec<KernelTier> {
        available().into_iter().map(KernelTier).collect()
    }

    /// `portable`, `sse42` or `avx2`.
    pub fn name(&self) -> &'static str {
        match self.0 {
            Tier::Portable => "portable",
            Tier::Sse42 => "sse42",
            Tier::Avx2 => "avx2",
        }
    }

    /// Bitmask of `values > c`.
    pub fn compare_i64_gt(&self, values: &[i64], c: i64) -> Vec<u64> {
        Resolved::new(self.0, CmpOp::Gt, c).map_or_else(Vec::new, |k| k.run(values))
    }

    /// Bitmask of `values <= c` (c not NaN).
    pub fn compare_f64_le(&self, values: &[f64], c: f64) -> Vec<u64> {
        Resolved::new(self.0, CmpOp::LtEq, c).map_or_else(Vec::new, |k| k.run(values))
    }

    /// Folds one `u64` key column into `hashes`.
    pub fn hash_u64(&self, values: &[u64], hashes: &mut [u64]) {
        hash::u64_kernel(self.0)(values, None, hashes);
    }

    /// Exact sum.
    pub fn sum_i64(&self, values: &[i64]) -> i128 {
        Aggregates::for_tier(self.0).sum_i64(values, None)
    }

    /// Sum in the kernels' fixed order.
    pub fn sum_f64(&self, values: &[f64]) -> f64 {
        Aggregates::for_tier(self.0).sum_f64(values, None)
    }

    /// Smallest value.
    pub fn min_i64(&self, values: &[i64]) -> Option<i64> {
        Aggregates::for_tier(self.0).min_max_i64(values, None, false)
    }
}

/// A hash index of the distinct `build` keys and a batch of `probe` keys,
/// for the `probe/*` benches of `benches/benches/kernels.rs`, which justify
/// the prefetch of batched lookups.
#[doc(hidden)]
#[derive(Debug)]
pub struct IntKeyProbe {
    index: crate::keys::KeyIndex,
    probe: crate::keys::Encoded,
}

#[doc(hidden)]
impl IntKeyProbe {
    /// Indexes `build` and encodes `probe` (BIGINT keys).
    pub fn new(build: &[i64], probe: &[i64]) -> crate::Result<Self> {
        use arrow::array::{ArrayRef, Int64Array};
        let mut index = crate::keys::KeyIndex::try_new(&[arrow::datatypes::DataType::Int64])?;
        let b: ArrayRef = std::sync::Arc::new(Int64Array::from(build.to_vec()));
        let e = index.encode(&[b], build.len())?;
        index.insert_all(&e, &mut Vec::new())?;
        let p: ArrayRef = std::sync::Arc::new(Int64Array::from(probe.to_vec()));
        let probe = index.encode_lookup(&[p], probe.len())?;
        Ok(IntKeyProbe { index, probe })
    }

    /// How many probe keys are in the index: looked up as one batch with
    /// prefetching (`batched`, what the join does) or one at a time.
    pub fn found(&self, batched: bool) -> usize {
        if batched {
            let mut found = Vec::new();
            self.index.get_all(&self.probe, &mut found);
            found.iter().filter(|&&k| k != crate::keys::ABSENT).count()
        } else {
            (0..self.probe.len())
                .filter(|&i| self.index.get(&self.probe, i).is_some())
                .count()
        }
    }
}
