//! The reference compare kernels: one branch-free loop per 64 rows that
//! the compiler vectorizes.

use super::Prim;

/// Sets bit `i` of each 64-row word where `hit(values[i])`.
#[inline(always)]
fn bits<T: Copy>(values: &[T], out: &mut [u64], hit: impl Fn(T) -> bool) {
    for (chunk, word) in values.chunks(64).zip(out.iter_mut()) {
        let mut w = 0u64;
        for (i, &x) in chunk.iter().enumerate() {
            w |= u64::from(hit(x)) << i;
        }
        *word = w;
    }
}

/// Integers: `=`, `<`, `>`; floats add `<=` (IEEE: false on NaN).
macro_rules! cmp_fn {
    ($name:ident, $t:ty) => {
        pub(crate) fn $name(values: &[$t], prim: Prim, c: $t, out: &mut [u64]) {
            match prim {
                Prim::Eq => bits(values, out, |x| x == c),
                Prim::Lt => bits(values, out, |x| x < c),
                Prim::Gt => bits(values, out, |x| x > c),
                Prim::Le => bits(values, out, |x| x <= c),
            }
        }
    };
}

cmp_fn!(cmp_i32, i32);
cmp_fn!(cmp_i64, i64);
cmp_fn!(cmp_f64, f64);
