//! The x86-64 hash tier and its safe entry points.

mod sse42;

pub(crate) fn hash_u64_sse42(values: &[u64], valid: Option<&[u64]>, hashes: &mut [u64]) {
    // SAFETY: `u64_kernel` hands this fn out only for a tier at or above
    // SSE4.2 that `detected()` allows, so the CPU has SSE4.2.
    unsafe { sse42::hash_u64_sse42(values, valid, hashes) }
}

pub(crate) fn hash_u32_sse42(values: &[u32], valid: Option<&[u64]>, hashes: &mut [u64]) {
    // SAFETY: as for `hash_u64_sse42`.
    unsafe { sse42::hash_u32_sse42(values, valid, hashes) }
}
