//! Compare a primitive column against a constant (`col op literal`), giving
//! a bitmask: bit `i % 64` of word `i / 64` is set when row `i` compares TRUE.
//! The Filter operator uses it for the conjuncts of a predicate that have
//! this shape.
//!
//! The kernels compute three primitives per type (integers: `=`, `<`, `>`;
//! floats: `=`, `<`, `<=`); the other operators are their negations,
//! applied here, once, for every tier. Float semantics are SQL's (Hyper's):
//! `-0.0 = 0.0`, and NaN equals NaN and is above every other value, which
//! IEEE comparisons give for a non-NaN constant once `>` is written as
//! `NOT <=` and `>=` as `NOT <`. A NaN constant has no kernel.
//!
//! Invariant: NULL rows are the caller's business (it ANDs the validity);
//! bits past the end of the column are 0.

mod portable;
#[cfg(target_arch = "x86_64")]
mod x86_64;

use super::{Tier, detected};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl CmpOp {
    /// The operator with its operands swapped (`c < x` is `x > c`).
    pub(crate) fn flip(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::LtEq => CmpOp::GtEq,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::GtEq => CmpOp::LtEq,
            op => op,
        }
    }
}

/// What a kernel computes; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prim {
    Eq,
    Lt,
    Gt,
    Le,
}

/// A compare kernel: writes `values.len().div_ceil(64)` words to `out`.
pub(crate) type Kernel<T> = fn(&[T], Prim, T, &mut [u64]);

/// A column type with compare kernels.
pub(crate) trait Element: Copy + Send + Sync + 'static {
    /// The kernel of `tier`, or of the best tier below it this CPU runs.
    fn kernel(tier: Tier) -> Kernel<Self>;
    /// The primitive and whether to negate it, or `None` when no kernel
    /// computes `x op c`.
    fn plan(op: CmpOp, c: Self) -> Option<(Prim, bool)>;
}

fn int_plan(op: CmpOp) -> (Prim, bool) {
    match op {
        CmpOp::Eq => (Prim::Eq, false),
        CmpOp::NotEq => (Prim::Eq, true),
        CmpOp::Lt => (Prim::Lt, false),
        CmpOp::GtEq => (Prim::Lt, true),
        CmpOp::Gt => (Prim::Gt, false),
        CmpOp::LtEq => (Prim::Gt, true),
    }
}

impl Element for i32 {
    fn kernel(tier: Tier) -> Kernel<i32> {
        match tier.min(detected()) {
            Tier::Portable => portable::cmp_i32,
            #[cfg(target_arch = "x86_64")]
            Tier::Sse42 => x86_64::cmp_i32_sse42,
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => x86_64::cmp_i32_avx2,
            #[cfg(not(target_arch = "x86_64"))]
            _ => portable::cmp_i32,
        }
    }
    fn plan(op: CmpOp, _: i32) -> Option<(Prim, bool)> {
        Some(int_plan(op))
    }
}

impl Element for i64 {
    fn kernel(tier: Tier) -> Kernel<i64> {
        match tier.min(detected()) {
            Tier::Portable => portable::cmp_i64,
            #[cfg(target_arch = "x86_64")]
            Tier::Sse42 => x86_64::cmp_i64_sse42,
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => x86_64::cmp_i64_avx2,
            #[cfg(not(target_arch = "x86_64"))]
            _ => portable::cmp_i64,
        }
    }
    fn plan(op: CmpOp, _: i64) -> Option<(Prim, bool)> {
        Some(int_plan(op))
    }
}

impl Element for f64 {
    fn kernel(tier: Tier) -> Kernel<f64> {
        match tier.min(detected()) {
            Tier::Portable => portable::cmp_f64,
            #[cfg(target_arch = "x86_64")]
            Tier::Sse42 => x86_64::cmp_f64_sse42,
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => x86_64::cmp_f64_avx2,
            #[cfg(not(target_arch = "x86_64"))]
            _ => portable::cmp_f64,
        }
    }
    fn plan(op: CmpOp, c: f64) -> Option<(Prim, bool)> {
        if c.is_nan() {
            return None;
        }
        Some(match op {
            CmpOp::Eq => (Prim::Eq, false),
            CmpOp::NotEq => (Prim::Eq, true),
            CmpOp::Lt => (Prim::Lt, false),
            CmpOp::GtEq => (Prim::Lt, true),
            CmpOp::LtEq => (Prim::Le, false),
            CmpOp::Gt => (Prim::Le, true),
        })
    }
}

/// A compare kernel resolved for one tier, operator and constant: resolve
/// once per pipeline, run once per batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resolved<T: Element> {
    kernel: Kernel<T>,
    prim: Prim,
    negate: bool,
    c: T,
}

impl<T: Element> Resolved<T> {
    /// `None` when no kernel computes `x op c` (a NaN constant).
    pub(crate) fn new(tier: Tier, op: CmpOp, c: T) -> Option<Self> {
        let (prim, negate) = T::plan(op, c)?;
        Some(Resolved {
            kernel: T::kernel(tier),
            prim,
            negate,
            c,
        })
    }

    /// The bitmask of `values op c`.
    pub(crate) fn run(&self, values: &[T]) -> Vec<u64> {
        let mut out = vec![0u64; values.len().div_ceil(64)];
        (self.kernel)(values, self.prim, self.c, &mut out);
        if self.negate {
            for w in &mut out {
                *w = !*w;
            }
            if let Some(last) = out.last_mut()
                && !values.len().is_multiple_of(64)
            {
                *last &= (1u64 << (values.len() % 64)) - 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::available;
    use proptest::prelude::*;

    const OPS: [CmpOp; 6] = [
        CmpOp::Eq,
        CmpOp::NotEq,
        CmpOp::Lt,
        CmpOp::LtEq,
        CmpOp::Gt,
        CmpOp::GtEq,
    ];

    /// The SQL answer, row by row.
    fn naive<T: PartialOrd + Copy>(
        values: &[T],
        op: CmpOp,
        c: T,
        total: impl Fn(T, T) -> std::cmp::Ordering,
    ) -> Vec<u64> {
        use std::cmp::Ordering::*;
        let mut out = vec![0u64; values.len().div_ceil(64)];
        for (i, &x) in values.iter().enumerate() {
            let o = total(x, c);
            let hit = match op {
                CmpOp::Eq => o == Equal,
                CmpOp::NotEq => o != Equal,
                CmpOp::Lt => o == Less,
                CmpOp::LtEq => o != Greater,
                CmpOp::Gt => o == Greater,
                CmpOp::GtEq => o != Less,
            };
            out[i / 64] |= u64::from(hit) << (i % 64);
        }
        out
    }

    /// SQL float order: -0.0 = 0.0, NaN = NaN, NaN above everything.
    fn sql_f64(a: f64, b: f64) -> std::cmp::Ordering {
        let norm = |x: f64| if x.is_nan() { f64::NAN } else { x + 0.0 };
        norm(a).total_cmp(&norm(b))
    }

    /// Every tier against the naive answer, for every operator, on the
    /// whole slice and on every offset of the first 9 rows (unaligned).
    fn check<T: Element + PartialOrd + std::fmt::Debug>(
        values: &[T],
        c: T,
        total: impl Fn(T, T) -> std::cmp::Ordering + Copy,
    ) {
        for tier in available() {
            for op in OPS {
                let Some(k) = Resolved::new(tier, op, c) else {
                    continue;
                };
                for start in 0..values.len().min(9) {
                    let v = &values[start..];
                    assert_eq!(
                        k.run(v),
                        naive(v, op, c, total),
                        "{tier:?} {op:?} {c:?} from {start}"
                    );
                }
                assert_eq!(k.run(&[]), Vec::<u64>::new());
            }
        }
    }

    /// Lengths around each tier's lane counts and the 64-row word.
    const LENGTHS: [usize; 14] = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 64, 131];

    #[test]
    fn edge_lengths() {
        for n in LENGTHS {
            let i: Vec<i32> = (0..n as i32).map(|x| x % 5 - 2).collect();
            check(&i, 0, |a, b| a.cmp(&b));
            check(&i, i32::MIN, |a, b| a.cmp(&b));
            let l: Vec<i64> = (0..n as i64).map(|x| (x % 7 - 3) * (1 << 40)).collect();
            check(&l, 1 << 40, |a, b| a.cmp(&b));
            check(&l, i64::MAX, |a, b| a.cmp(&b));
            let specials = [
                0.0,
                -0.0,
                f64::NAN,
                -f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                1.5,
            ];
            let f: Vec<f64> = (0..n).map(|x| specials[x % specials.len()]).collect();
            for c in specials {
                check(&f, c, sql_f64);
            }
        }
    }

    #[test]
    fn nan_constant_has_no_kernel() {
        assert!(Resolved::new(Tier::Portable, CmpOp::Eq, f64::NAN).is_none());
    }

    proptest! {
        #![proptest_config(crate::test_util::proptest_config())]

        #[test]
        fn tiers_match_naive_i32(v in prop::collection::vec(-4i32..4, 0..300), c in -4i32..4) {
            check(&v, c, |a, b| a.cmp(&b));
        }

        #[test]
        fn tiers_match_naive_i64(v in prop::collection::vec(any::<i64>(), 0..300), c in any::<i64>(), pick in any::<prop::sample::Index>()) {
            check(&v, c, |a, b| a.cmp(&b));
            if !v.is_empty() {
                check(&v, v[pick.index(v.len())], |a, b| a.cmp(&b));
            }
        }

        #[test]
        fn tiers_match_naive_f64(v in prop::collection::vec(prop_oneof![any::<f64>(), Just(0.0), Just(-0.0), Just(f64::NAN)], 0..300), c in any::<f64>()) {
            check(&v, c, sql_f64);
        }
    }
}
