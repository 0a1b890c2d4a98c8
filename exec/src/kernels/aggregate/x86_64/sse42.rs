//! SSE4.2 aggregate kernels: 2 lanes of 64 bits (`pcmpgtq` is SSE4.2),
//! validity bits expanded to lane masks. Bench: `kernels/aggregate` in
//! `benches/benches/kernels.rs`.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

/// The 2 validity bits of rows `i..i + 2` (all ones without NULLs).
#[inline(always)]
fn pair(valid: Option<&[u64]>, i: usize) -> i64 {
    valid.map_or(0b11, |w| ((w[i / 64] >> (i % 64)) & 0b11) as i64)
}

/// Lane `j` all ones when bit `j` of `bits` is set.
#[inline]
#[target_feature(enable = "sse4.2")]
fn lane_mask(bits: i64) -> __m128i {
    let sel = _mm_set_epi64x(2, 1);
    _mm_cmpeq_epi64(_mm_and_si128(_mm_set1_epi64x(bits), sel), sel)
}

#[inline(always)]
fn mask(valid: Option<&[u64]>, i: usize) -> u64 {
    valid.map_or(u64::MAX, |w| ((w[i / 64] >> (i % 64)) & 1).wrapping_neg())
}

/// # Safety
///
/// The CPU must support SSE4.2.
#[target_feature(enable = "sse4.2")]
pub(crate) unsafe fn sum_i64_sse42(values: &[i64], valid: Option<&[u64]>) -> [u64; 3] {
    let low = _mm_set1_epi64x(0xffff_ffff);
    let (mut lo, mut hi, mut neg) = (
        _mm_setzero_si128(),
        _mm_setzero_si128(),
        _mm_setzero_si128(),
    );
    let body = values.len() / 2 * 2;
    let mut i = 0;
    while i < body {
        // SAFETY: rows `i..i + 2` are in bounds; `loadu` takes any alignment.
        let x = unsafe { _mm_loadu_si128(values[i..i + 2].as_ptr().cast()) };
        let x = _mm_and_si128(x, lane_mask(pair(valid, i)));
        lo = _mm_add_epi64(lo, _mm_and_si128(x, low));
        hi = _mm_add_epi64(hi, _mm_srli_epi64::<32>(x));
        neg = _mm_add_epi64(neg, _mm_srli_epi64::<63>(x));
        i += 2;
    }
    let mut out = [0u64; 3];
    for (o, v) in out.iter_mut().zip([lo, hi, neg]) {
        let mut lanes = [0u64; 2];
        // SAFETY: `lanes` is 16 writable bytes; `storeu` takes any alignment.
        unsafe { _mm_storeu_si128(lanes.as_mut_ptr().cast(), v) };
        *o = lanes[0] + lanes[1];
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
/// The CPU must support SSE4.2.
#[target_feature(enable = "sse4.2")]
pub(crate) unsafe fn min_max_i64_sse42(values: &[i64], valid: Option<&[u64]>, max: bool) -> i64 {
    let identity = if max { i64::MIN } else { i64::MAX };
    let id = _mm_set1_epi64x(identity);
    let mut acc = id;
    let body = values.len() / 2 * 2;
    let mut i = 0;
    while i < body {
        // SAFETY: rows `i..i + 2` are in bounds; `loadu` takes any alignment.
        let x = unsafe { _mm_loadu_si128(values[i..i + 2].as_ptr().cast()) };
        let x = _mm_blendv_epi8(id, x, lane_mask(pair(valid, i)));
        let take = if max {
            _mm_cmpgt_epi64(x, acc)
        } else {
            _mm_cmpgt_epi64(acc, x)
        };
        acc = _mm_blendv_epi8(acc, x, take);
        i += 2;
    }
    let mut lanes = [0i64; 2];
    // SAFETY: `lanes` is 16 writable bytes; `storeu` takes any alignment.
    unsafe { _mm_storeu_si128(lanes.as_mut_ptr().cast(), acc) };
    let fold = |a: i64, b: i64| if max { a.max(b) } else { a.min(b) };
    let mut best = fold(lanes[0], lanes[1]);
    for (j, &x) in values[body..].iter().enumerate() {
        let m = mask(valid, body + j) as i64;
        best = fold(best, (x & m) | (identity & !m));
    }
    best
}

/// # Safety
///
/// The CPU must support SSE4.2.
#[target_feature(enable = "sse4.2")]
pub(crate) unsafe fn sum_f64_sse42(values: &[f64], valid: Option<&[u64]>) -> [f64; 8] {
    let mut acc = [_mm_setzero_pd(); 4];
    let body = values.len() / 8 * 8;
    let mut i = 0;
    while i < body {
        for (k, a) in acc.iter_mut().enumerate() {
            let r = i + 2 * k;
            // SAFETY: rows `r..r + 2` are in bounds (`r + 2 <= i + 8 <= body`);
            // `loadu` takes any alignment.
            let x = unsafe { _mm_loadu_pd(values[r..r + 2].as_ptr()) };
            let m = _mm_castsi128_pd(lane_mask(pair(valid, r)));
            *a = _mm_add_pd(*a, _mm_and_pd(x, m));
        }
        i += 8;
    }
    let mut out = [0.0f64; 8];
    for (k, a) in acc.iter().enumerate() {
        // SAFETY: `out[2k..2k + 2]` is 16 writable bytes; `storeu` takes any
        // alignment.
        unsafe { _mm_storeu_pd(out[2 * k..2 * k + 2].as_mut_ptr(), *a) };
    }
    out
}
