//! The x86-64 compare tiers and their safe entry points.

mod avx2;
mod sse42;

use super::Prim;

macro_rules! safe_entry {
    ($name:ident, $t:ty, $module:ident) => {
        pub(crate) fn $name(values: &[$t], prim: Prim, c: $t, out: &mut [u64]) {
            // SAFETY: `Element::kernel` hands this fn out only for a tier at or
            // below `detected()`, so the CPU has this feature.
            unsafe { $module::$name(values, prim, c, out) }
        }
    };
}

safe_entry!(cmp_i32_sse42, i32, sse42);
safe_entry!(cmp_i64_sse42, i64, sse42);
safe_entry!(cmp_f64_sse42, f64, sse42);
safe_entry!(cmp_i32_avx2, i32, avx2);
safe_entry!(cmp_i64_avx2, i64, avx2);
safe_entry!(cmp_f64_avx2, f64, avx2);
