//! SSE4.2 compare kernels: 2 (64-bit) or 4 (32-bit) lanes per compare,
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
/// The CPU must support SSE4.2.
#[target_feature(enable = "sse4.2")]
pub(crate) unsafe fn cmp_i64_sse42(values: &[i64], prim: Prim, c: i64, out: &mut [u64]) {
    let cv = _mm_set1_epi64x(c);
    macro_rules! load {
        ($p:ident) => {
            // SAFETY: `p` points at 2 in-bounds i64s (a slice of
            // `chunk` of that length); `loadu` takes any alignment.
            unsafe { _mm_loadu_si128($p.cast()) }
        };
    }
    let m = |v: __m128i| _mm_movemask_pd(_mm_castsi128_pd(v));
    match prim {
        Prim::Eq => words!(values, out, 2, |p| m(_mm_cmpeq_epi64(load!(p), cv)), |x| x
            == c),
        Prim::Lt => words!(values, out, 2, |p| m(_mm_cmpgt_epi64(cv, load!(p))), |x| x
            < c),
        Prim::Gt => words!(values, out, 2, |p| m(_mm_cmpgt_epi64(load!(p), cv)), |x| x
            > c),
        Prim::Le => words!(
            values,
            out,
            2,
            |p| m(_mm_cmpgt_epi64(load!(p), cv)) ^ 0b11,
            |x| x <= c
        ),
    }
}

/// # Safety
///
/// The CPU must support SSE4.2.
#[target_feature(enable = "sse4.2")]
pub(crate) unsafe fn cmp_i32_sse42(values: &[i32], prim: Prim, c: i32, out: &mut [u64]) {
    let cv = _mm_set1_epi32(c);
    macro_rules! load {
        ($p:ident) => {
            // SAFETY: `p` points at 4 in-bounds i32s; `loadu`
            // takes any alignment.
            unsafe { _mm_loadu_si128($p.cast()) }
        };
    }
    let m = |v: __m128i| _mm_movemask_ps(_mm_castsi128_ps(v));
    match prim {
        Prim::Eq => words!(values, out, 4, |p| m(_mm_cmpeq_epi32(load!(p), cv)), |x| x
            == c),
        Prim::Lt => words!(values, out, 4, |p| m(_mm_cmplt_epi32(load!(p), cv)), |x| x
            < c),
        Prim::Gt => words!(values, out, 4, |p| m(_mm_cmpgt_epi32(load!(p), cv)), |x| x
            > c),
        Prim::Le => words!(
            values,
            out,
            4,
            |p| m(_mm_cmpgt_epi32(load!(p), cv)) ^ 0b1111,
            |x| x <= c
        ),
    }
}

/// # Safety
///
/// The CPU must support SSE4.2.
#[target_feature(enable = "sse4.2")]
pub(crate) unsafe fn cmp_f64_sse42(values: &[f64], prim: Prim, c: f64, out: &mut [u64]) {
    let cv = _mm_set1_pd(c);
    macro_rules! load {
        ($p:ident) => {
            // SAFETY: `p` points at 2 in-bounds f64s; `loadu`
            // takes any alignment.
            unsafe { _mm_loadu_pd($p) }
        };
    }
    match prim {
        Prim::Eq => words!(
            values,
            out,
            2,
            |p| _mm_movemask_pd(_mm_cmpeq_pd(load!(p), cv)),
            |x| x == c
        ),
        Prim::Lt => words!(
            values,
            out,
            2,
            |p| _mm_movemask_pd(_mm_cmplt_pd(load!(p), cv)),
            |x| x < c
        ),
        Prim::Gt => words!(
            values,
            out,
            2,
            |p| _mm_movemask_pd(_mm_cmpgt_pd(load!(p), cv)),
            |x| x > c
        ),
        Prim::Le => words!(
            values,
            out,
            2,
            |p| _mm_movemask_pd(_mm_cmple_pd(load!(p), cv)),
            |x| x <= c
        ),
    }
}
