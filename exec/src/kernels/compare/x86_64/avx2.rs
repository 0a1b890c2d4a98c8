//! AVX2 compare kernels: 4 (64-bit) or 8 (32-bit) lanes per compare,
//! `movemask` to bits. Bench: `kernels/compare` in `benches/benches/kernels.rs`.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::super::Prim;

/// Fills each 64-row word: `$lanes` rows per vector step (`$mask` gives
/// their bits, from a pointer `$p` to the first), then the rest one by one.
macro_rules! words {
    ($values:ident, $out:ident, $lanes:expr, |$p:ident| $mask:expr, |$x:ident| $hit:expr) => {
        for (chunk, word) in $values.chunks(64).zip($out.iter_mut()) {
            let mut w = 0u64;
            let full = chunk.len() / $lanes * $lanes;
            let mut i = 0;
            while i < full {
                let $p = chunk[i..i + $lanes].as_ptr();
                w |= u64::from($mask as u32) << i;
                i += $lanes;
            }
            for (j, &$x) in chunk[full..].iter().enumerate() {
                w |= u64::from($hit) << (full + j);
            }
            *word = w;
        }
    };
}

/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn cmp_i64_avx2(values: &[i64], prim: Prim, c: i64, out: &mut [u64]) {
    let cv = _mm256_set1_epi64x(c);
    macro_rules! load {
        ($p:ident) => {
            // SAFETY: `p` points at 4 in-bounds i64s (a slice of
            // `chunk` of that length); `loadu` takes any alignment.
            unsafe { _mm256_loadu_si256($p.cast()) }
        };
    }
    let m = |v: __m256i| _mm256_movemask_pd(_mm256_castsi256_pd(v));
    match prim {
        Prim::Eq => words!(
            values,
            out,
            4,
            |p| m(_mm256_cmpeq_epi64(load!(p), cv)),
            |x| x == c
        ),
        Prim::Lt => words!(
            values,
            out,
            4,
            |p| m(_mm256_cmpgt_epi64(cv, load!(p))),
            |x| x < c
        ),
        Prim::Gt => words!(
            values,
            out,
            4,
            |p| m(_mm256_cmpgt_epi64(load!(p), cv)),
            |x| x > c
        ),
        Prim::Le => words!(
            values,
            out,
            4,
            |p| m(_mm256_cmpgt_epi64(load!(p), cv)) ^ 0xf,
            |x| x <= c
        ),
    }
}

/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn cmp_i32_avx2(values: &[i32], prim: Prim, c: i32, out: &mut [u64]) {
    let cv = _mm256_set1_epi32(c);
    macro_rules! load {
        ($p:ident) => {
            // SAFETY: `p` points at 8 in-bounds i32s; `loadu`
            // takes any alignment.
            unsafe { _mm256_loadu_si256($p.cast()) }
        };
    }
    let m = |v: __m256i| _mm256_movemask_ps(_mm256_castsi256_ps(v));
    match prim {
        Prim::Eq => words!(
            values,
            out,
            8,
            |p| m(_mm256_cmpeq_epi32(load!(p), cv)),
            |x| x == c
        ),
        Prim::Lt => words!(
            values,
            out,
            8,
            |p| m(_mm256_cmpgt_epi32(cv, load!(p))),
            |x| x < c
        ),
        Prim::Gt => words!(
            values,
            out,
            8,
            |p| m(_mm256_cmpgt_epi32(load!(p), cv)),
            |x| x > c
        ),
        Prim::Le => words!(
            values,
            out,
            8,
            |p| m(_mm256_cmpgt_epi32(load!(p), cv)) ^ 0xff,
            |x| x <= c
        ),
    }
}

/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn cmp_f64_avx2(values: &[f64], prim: Prim, c: f64, out: &mut [u64]) {
    let cv = _mm256_set1_pd(c);
    macro_rules! load {
        ($p:ident) => {
            // SAFETY: `p` points at 4 in-bounds f64s; `loadu`
            // takes any alignment.
            unsafe { _mm256_loadu_pd($p) }
        };
    }
    let m = |v: __m256d| _mm256_movemask_pd(v);
    match prim {
        Prim::Eq => words!(
            values,
            out,
            4,
            |p| m(_mm256_cmp_pd::<_CMP_EQ_OQ>(load!(p), cv)),
            |x| x == c
        ),
        Prim::Lt => words!(
            values,
            out,
            4,
            |p| m(_mm256_cmp_pd::<_CMP_LT_OQ>(load!(p), cv)),
            |x| x < c
        ),
        Prim::Gt => words!(
            values,
            out,
            4,
            |p| m(_mm256_cmp_pd::<_CMP_GT_OQ>(load!(p), cv)),
            |x| x > c
        ),
        Prim::Le => words!(
            values,
            out,
            4,
            |p| m(_mm256_cmp_pd::<_CMP_LE_OQ>(load!(p), cv)),
            |x| x <= c
        ),
    }
}
