//! The x86-64 aggregate tiers and their safe entry points.

mod avx2;
mod sse42;

macro_rules! safe_entry {
    ($name:ident, $module:ident, ($($arg:ident: $t:ty),*) -> $ret:ty) => {
        pub(crate) fn $name($($arg: $t),*) -> $ret {
            // SAFETY: `Aggregates::for_tier` hands this fn out only for a
            // tier at or below `detected()`, so the CPU has the feature.
            unsafe { $module::$name($($arg),*) }
        }
    };
}

safe_entry!(sum_i64_sse42, sse42, (v: &[i64], valid: Option<&[u64]>) -> [u64; 3]);
safe_entry!(min_max_i64_sse42, sse42, (v: &[i64], valid: Option<&[u64]>, max: bool) -> i64);
safe_entry!(sum_f64_sse42, sse42, (v: &[f64], valid: Option<&[u64]>) -> [f64; 8]);
safe_entry!(sum_i64_avx2, avx2, (v: &[i64], valid: Option<&[u64]>) -> [u64; 3]);
safe_entry!(min_max_i64_avx2, avx2, (v: &[i64], valid: Option<&[u64]>, max: bool) -> i64);
safe_entry!(sum_f64_avx2, avx2, (v: &[f64], valid: Option<&[u64]>) -> [f64; 8]);
