//! AVX2 aggregate kernels: 4 lanes of 64 bits, validity bits expanded to
//! lane masks. Bench: `kernels/aggregate` in `benches/benches/kernels.rs`.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

/// The 4-bit validity nibble of rows `i..i + 4` (all ones without NULLs).
#[inline(always)]
fn nibble(valid: Option<&[u64]>, i: usize) -> i64 {
    valid.map_or(0xf, |w| ((w[i / 64] >> (i % 64)) & 0xf) as i64)
}

/// Lane `j` all ones when bit `j` of `bits` is set.
#[inline]
#[target_feature(enable = "avx2")]
fn lane_mask(bits: i64) -> __m256i {
    let sel = _mm256_setr_epi64x(1, 2, 4, 8);
    _mm256_cmpeq_epi64(_mm256_and_si256(_mm256_set1_epi64x(bits), sel), sel)
}

#[inline(always)]
fn mask(valid: Option<&[u64]>, i: usize) -> u64 {
    valid.map_or(u64::MAX, |w| ((w[i / 64] >> (i % 64)) & 1).wrapping_neg())
}

/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn sum_i64_avx2(values: &[i64], valid: Option<&[u64]>) -> [u64; 3] {
    let low = _mm256_set1_epi64x(0xffff_ffff);
    let (mut lo, mut hi, mut neg) = (
        _mm256_setzero_si256(),
        _mm256_setzero_si256(),
        _mm256_setzero_si256(),
    );
    let body = values.len() / 4 * 4;
    let mut i = 0;
    while i < body {
        // SAFETY: rows `i..i + 4` are in bounds (`i + 4 <= body <= len`);
        // `loadu` takes any alignment.
        let x = unsafe { _mm256_loadu_si256(values[i..i + 4].as_ptr().cast()) };
        let x = _mm256_and_si256(x, lane_mask(nibble(valid, i)));
        lo = _mm256_add_epi64(lo, _mm256_and_si256(x, low));
        hi = _mm256_add_epi64(hi, _mm256_srli_epi64::<32>(x));
        neg = _mm256_add_epi64(neg, _mm256_srli_epi64::<63>(x));
        i += 4;
    }
    let mut out = [0u64; 3];
    for (o, v) in out.iter_mut().zip([lo, hi, neg]) {
        let mut lanes = [0u64; 4];
        // SAFETY: `lanes` is 32 writable bytes; `storeu` takes any alignment.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), v) };
        *o = lanes.iter().sum();
    }
    for (j, &x) in values[body..].iter().enumerate() {
        let x = (x as u64) & mask(valid, body + j);
        out[0] += x & 0xffff_ffff;
        out[1] += x >> 32;
        out[2] += x >> 63;
    }
    out
}

/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn min_max_i64_avx2(values: &[i64], valid: Option<&[u64]>, max: bool) -> i64 {
    let identity = if max { i64::MIN } else { i64::MAX };
    let id = _mm256_set1_epi64x(identity);
    let mut acc = id;
    let body = values.len() / 4 * 4;
    let mut i = 0;
    while i < body {
        // SAFETY: rows `i..i + 4` are in bounds; `loadu` takes any alignment.
        let x = unsafe { _mm256_loadu_si256(values[i..i + 4].as_ptr().cast()) };
        let x = _mm256_blendv_epi8(id, x, lane_mask(nibble(valid, i)));
        let take = if max {
            _mm256_cmpgt_epi64(x, acc)
        } else {
            _mm256_cmpgt_epi64(acc, x)
        };
        acc = _mm256_blendv_epi8(acc, x, take);
        i += 4;
    }
    let mut lanes = [0i64; 4];
    // SAFETY: `lanes` is 32 writable bytes; `storeu` takes any alignment.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), acc) };
    let fold = |a: i64, b: i64| if max { a.max(b) } else { a.min(b) };
    let mut best = lanes.into_iter().fold(identity, fold);
    for (j, &x) in values[body..].iter().enumerate() {
        let m = mask(valid, body + j) as i64;
        best = fold(best, (x & m) | (identity & !m));
    }
    best
}

/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn sum_f64_avx2(values: &[f64], valid: Option<&[u64]>) -> [f64; 8] {
    let (mut a, mut b) = (_mm256_setzero_pd(), _mm256_setzero_pd());
    let body = values.len() / 8 * 8;
    let mut i = 0;
    while i < body {
        // SAFETY: rows `i..i + 8` are in bounds; `loadu` takes any alignment.
        let (x, y) = unsafe {
            (
                _mm256_loadu_pd(values[i..i + 4].as_ptr()),
                _mm256_loadu_pd(values[i + 4..i + 8].as_ptr()),
            )
        };
        let mx = _mm256_castsi256_pd(lane_mask(nibble(valid, i)));
        let my = _mm256_castsi256_pd(lane_mask(nibble(valid, i + 4)));
        a = _mm256_add_pd(a, _mm256_and_pd(x, mx));
        b = _mm256_add_pd(b, _mm256_and_pd(y, my));
        i += 8;
    }
    let mut out = [0.0f64; 8];
    // SAFETY: `out` is 64 writable bytes, two stores of 32; `storeu` takes
    // any alignment.
    unsafe {
        _mm256_storeu_pd(out[..4].as_mut_ptr(), a);
        _mm256_storeu_pd(out[4..].as_mut_ptr(), b);
    }
    out
}
