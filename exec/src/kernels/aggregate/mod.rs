//! `sum`, `min` and `max` of an `i64` or `f64` column with a null mask:
//! the hot loop of an aggregate without GROUP BY.
//!
//! - `sum` of `i64` is exact: each value splits into its unsigned low and
//!   high 32 bits and its sign, summed separately in `u64` lanes (no lane
//!   can overflow within [`BLOCK_ROWS`] rows) and recombined in `i128`, so
//!   the caller can report overflow the way SQL wants.
//! - `sum` of `f64` keeps 8 partial sums (row `i` goes to sum `i % 8`) and
//!   adds them in one fixed order, so every tier rounds alike.
//! - `min`/`max` of `f64` order like Arrow's row format (`f64::total_cmp`:
//!   `-0.0 < 0.0`, NaN above infinity): the values map to `i64` keys with
//!   that order, and the `i64` kernel runs on the keys.
//!
//! NULL rows add 0 and never win a `min`/`max`; all-NULL gives `None`.
//! Invariant: every tier returns the portable kernel's result exactly (for
//! a NaN sum, a NaN: IEEE leaves its sign to operand order).

mod portable;
#[cfg(target_arch = "x86_64")]
mod x86_64;

use std::sync::OnceLock;

use arrow::buffer::NullBuffer;

use super::{Tier, detected, validity_words};

/// Rows per call of the `i64` sum kernel: the lanes cannot overflow, and a
/// block ends on a 64-row word.
pub(crate) const BLOCK_ROWS: usize = 1 << 31;

/// The `i64` sum kernel: `[low halves, high halves, negatives]`.
type SumI64 = fn(&[i64], Option<&[u64]>) -> [u64; 3];
/// The `i64` min (`false`) / max (`true`) kernel; the identity when no row
/// is valid.
type MinMaxI64 = fn(&[i64], Option<&[u64]>, bool) -> i64;
/// The `f64` sum kernel over whole groups of 8 rows: the 8 partial sums.
type SumF64 = fn(&[f64], Option<&[u64]>) -> [f64; 8];

/// The kernels of one tier.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Aggregates {
    sum_i64: SumI64,
    min_max_i64: MinMaxI64,
    sum_f64: SumF64,
}

impl Aggregates {
    /// The kernels of `tier` (or of the best tier below it this CPU runs).
    pub(crate) fn for_tier(tier: Tier) -> Aggregates {
        match tier.min(detected()) {
            #[cfg(target_arch = "x86_64")]
            Tier::Sse42 => Aggregates {
                sum_i64: x86_64::sum_i64_sse42,
                min_max_i64: x86_64::min_max_i64_sse42,
                sum_f64: x86_64::sum_f64_sse42,
            },
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => Aggregates {
                sum_i64: x86_64::sum_i64_avx2,
                min_max_i64: x86_64::min_max_i64_avx2,
                sum_f64: x86_64::sum_f64_avx2,
            },
            _ => Aggregates {
                sum_i64: portable::sum_i64,
                min_max_i64: portable::min_max_i64,
                sum_f64: portable::sum_f64,
            },
        }
    }

    /// The kernels of [`tier()`](super::tier), resolved once.
    pub(crate) fn current() -> Aggregates {
        static CURRENT: OnceLock<Aggregates> = OnceLock::new();
        *CURRENT.get_or_init(|| Aggregates::for_tier(super::tier()))
    }

    /// The exact sum of the valid values.
    pub(crate) fn sum_i64(&self, values: &[i64], nulls: Option<&NullBuffer>) -> i128 {
        let words = nulls.map(validity_words);
        let mut sum = 0i128;
        for (b, block) in values.chunks(BLOCK_ROWS).enumerate() {
            let valid = words.as_deref().map(|w| &w[b * (BLOCK_ROWS / 64)..]);
            let [lo, hi, neg] = (self.sum_i64)(block, valid);
            sum += (i128::from(hi) << 32) + i128::from(lo) - (i128::from(neg) << 64);
        }
        sum
    }

    /// The smallest (`max == false`) or largest valid value.
    pub(crate) fn min_max_i64(
        &self,
        values: &[i64],
        nulls: Option<&NullBuffer>,
        max: bool,
    ) -> Option<i64> {
        if nulls.map_or(values.len(), |n| n.len() - n.null_count()) == 0 {
            return None;
        }
        let words = nulls.map(validity_words);
        Some((self.min_max_i64)(values, words.as_deref(), max))
    }

    /// The sum of the valid values (see the module docs for the order).
    pub(crate) fn sum_f64(&self, values: &[f64], nulls: Option<&NullBuffer>) -> f64 {
        let words = nulls.map(validity_words);
        let body = values.len() / 8 * 8;
        let mut acc = (self.sum_f64)(&values[..body], words.as_deref());
        for (j, &x) in values[body..].iter().enumerate() {
            let valid = words
                .as_deref()
                .is_none_or(|w| (w[(body + j) / 64] >> ((body + j) % 64)) & 1 == 1);
            acc[j] += if valid { x } else { 0.0 };
        }
        let s = [
            acc[0] + acc[4],
            acc[1] + acc[5],
            acc[2] + acc[6],
            acc[3] + acc[7],
        ];
        (s[0] + s[2]) + (s[1] + s[3])
    }

    /// The smallest or largest valid value in `f64::total_cmp` order.
    pub(crate) fn min_max_f64(
        &self,
        values: &[f64],
        nulls: Option<&NullBuffer>,
        max: bool,
    ) -> Option<f64> {
        let keys: Vec<i64> = values.iter().map(|&x| f64_key(x)).collect();
        self.min_max_i64(&keys, nulls, max).map(f64_from_key)
    }
}

/// An `i64` whose order is `f64::total_cmp`'s.
pub(crate) fn f64_key(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ (((b >> 63) as u64) >> 1) as i64
}

/// The inverse of [`f64_key`].
pub(crate) fn f64_from_key(k: i64) -> f64 {
    f64::from_bits((k ^ (((k >> 63) as u64) >> 1) as i64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::available;
    use proptest::prelude::*;

    fn nulls_of(valid: &[bool]) -> NullBuffer {
        NullBuffer::from(valid.to_vec())
    }

    /// Every tier equals portable on every offset of the first 9 rows.
    fn check_i64(values: &[i64], valid: Option<&[bool]>) {
        let nulls = valid.map(nulls_of);
        let p = Aggregates::for_tier(Tier::Portable);
        for start in 0..values.len().clamp(1, 9) {
            let v = &values[start.min(values.len())..];
            let n = nulls
                .as_ref()
                .map(|n| n.slice(start.min(values.len()), v.len()));
            let want_sum: i128 = v
                .iter()
                .enumerate()
                .filter(|(i, _)| n.as_ref().is_none_or(|n| n.is_valid(*i)))
                .map(|(_, &x)| i128::from(x))
                .sum();
            let valid: Vec<i64> = v
                .iter()
                .enumerate()
                .filter(|(i, _)| n.as_ref().is_none_or(|n| n.is_valid(*i)))
                .map(|(_, &x)| x)
                .collect();
            assert_eq!(p.sum_i64(v, n.as_ref()), want_sum);
            assert_eq!(
                p.min_max_i64(v, n.as_ref(), false),
                valid.iter().copied().min()
            );
            assert_eq!(
                p.min_max_i64(v, n.as_ref(), true),
                valid.iter().copied().max()
            );
            for tier in available() {
                let k = Aggregates::for_tier(tier);
                assert_eq!(k.sum_i64(v, n.as_ref()), want_sum, "{tier:?}");
                for max in [false, true] {
                    assert_eq!(
                        k.min_max_i64(v, n.as_ref(), max),
                        p.min_max_i64(v, n.as_ref(), max),
                        "{tier:?}"
                    );
                }
            }
        }
    }

    fn check_f64(values: &[f64], valid: Option<&[bool]>) {
        let nulls = valid.map(nulls_of);
        let p = Aggregates::for_tier(Tier::Portable);
        for start in 0..values.len().clamp(1, 9) {
            let v = &values[start.min(values.len())..];
            let n = nulls
                .as_ref()
                .map(|n| n.slice(start.min(values.len()), v.len()));
            let valid: Vec<f64> = v
                .iter()
                .enumerate()
                .filter(|(i, _)| n.as_ref().is_none_or(|n| n.is_valid(*i)))
                .map(|(_, &x)| x)
                .collect();
            let want_min = valid.iter().copied().min_by(f64::total_cmp);
            let want_max = valid.iter().copied().max_by(f64::total_cmp);
            let bits = |x: Option<f64>| x.map(f64::to_bits);
            assert_eq!(bits(p.min_max_f64(v, n.as_ref(), false)), bits(want_min));
            assert_eq!(bits(p.min_max_f64(v, n.as_ref(), true)), bits(want_max));
            let s = p.sum_f64(v, n.as_ref());
            let naive: f64 = valid.iter().sum();
            assert!(
                s.to_bits() == naive.to_bits()
                    || (s - naive).abs() <= 1e-9 * naive.abs().max(1.0)
                    || !naive.is_finite(),
                "{s} vs {naive}"
            );
            for tier in available() {
                let k = Aggregates::for_tier(tier);
                // NaN's sign and payload follow operand order, which the
                // compiler may swap: any NaN matches any NaN.
                let t = k.sum_f64(v, n.as_ref());
                assert!(
                    t.to_bits() == s.to_bits() || (t.is_nan() && s.is_nan()),
                    "{tier:?}: {t} vs {s}"
                );
                for max in [false, true] {
                    assert_eq!(
                        bits(k.min_max_f64(v, n.as_ref(), max)),
                        bits(p.min_max_f64(v, n.as_ref(), max)),
                        "{tier:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn edge_lengths_all_null_and_extremes() {
        for n in [0usize, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65, 200] {
            let v: Vec<i64> = (0..n as i64)
                .map(|i| [i64::MAX, i64::MIN, -1, 0, 1 << 40][(i % 5) as usize])
                .collect();
            let valid: Vec<bool> = (0..n).map(|i| i % 3 != 2).collect();
            check_i64(&v, None);
            check_i64(&v, Some(&valid));
            check_i64(&v, Some(&vec![false; n]));
            let f: Vec<f64> = (0..n)
                .map(|i| [0.5, -0.0, 0.0, f64::NAN, -1e300, 1e300, -f64::NAN][i % 7])
                .collect();
            check_f64(&f, None);
            check_f64(&f, Some(&valid));
            check_f64(&f, Some(&vec![false; n]));
        }
    }

    #[test]
    fn sum_i64_is_exact_past_i64() {
        let p = Aggregates::current();
        assert_eq!(p.sum_i64(&[i64::MAX, 1], None), i128::from(i64::MAX) + 1);
        assert_eq!(p.sum_i64(&[i64::MIN; 3], None), 3 * i128::from(i64::MIN));
        assert_eq!(p.min_max_i64(&[5], Some(&nulls_of(&[false])), true), None);
        assert_eq!(f64_from_key(f64_key(-0.0)).to_bits(), (-0.0f64).to_bits());
    }

    proptest! {
        #![proptest_config(crate::test_util::proptest_config())]

        #[test]
        fn tiers_match_portable_i64(rows in prop::collection::vec((any::<i64>(), any::<bool>()), 0..300), nulls in any::<bool>()) {
            let v: Vec<i64> = rows.iter().map(|r| r.0).collect();
            let valid: Vec<bool> = rows.iter().map(|r| r.1).collect();
            check_i64(&v, nulls.then_some(&valid[..]));
        }

        #[test]
        fn tiers_match_portable_f64(rows in prop::collection::vec((-1e6f64..1e6, any::<bool>()), 0..300), nulls in any::<bool>()) {
            let v: Vec<f64> = rows.iter().map(|r| r.0).collect();
            let valid: Vec<bool> = rows.iter().map(|r| r.1).collect();
            check_f64(&v, nulls.then_some(&valid[..]));
        }
    }
}
