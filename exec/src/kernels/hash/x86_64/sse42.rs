//! SSE4.2 hash kernels: the `crc32` instruction, 8 or 4 bytes per step
//! instead of the portable kernel's byte table. Bench: `kernels/hash` in
//! `benches/benches/kernels.rs`.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::{_mm_crc32_u32, _mm_crc32_u64};

use super::super::{HIGH_SALT, NULL_KEY};

#[inline(always)]
fn valid_mask(valid: Option<&[u64]>, i: usize) -> u64 {
    valid.map_or(u64::MAX, |w| ((w[i / 64] >> (i % 64)) & 1).wrapping_neg())
}

/// # Safety
///
/// The CPU must support SSE4.2.
#[target_feature(enable = "sse4.2")]
pub(crate) unsafe fn hash_u64_sse42(values: &[u64], valid: Option<&[u64]>, hashes: &mut [u64]) {
    for (i, (&x, h)) in values.iter().zip(hashes.iter_mut()).enumerate() {
        let m = valid_mask(valid, i);
        let k = (x & m) | (NULL_KEY & !m);
        let lo = _mm_crc32_u64(*h & 0xffff_ffff, k);
        let hi = _mm_crc32_u64(*h >> 32, k ^ HIGH_SALT);
        *h = lo | (hi << 32);
    }
}

/// # Safety
///
/// The CPU must support SSE4.2.
#[target_feature(enable = "sse4.2")]
pub(crate) unsafe fn hash_u32_sse42(values: &[u32], valid: Option<&[u64]>, hashes: &mut [u64]) {
    for (i, (&x, h)) in values.iter().zip(hashes.iter_mut()).enumerate() {
        let m = valid_mask(valid, i) as u32;
        let k = (x & m) | (NULL_KEY as u32 & !m);
        let lo = _mm_crc32_u32(*h as u32, k);
        let hi = _mm_crc32_u32((*h >> 32) as u32, k ^ HIGH_SALT as u32);
        *h = u64::from(lo) | (u64::from(hi) << 32);
    }
}
