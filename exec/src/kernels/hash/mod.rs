//! Hashing fixed-width keys (the columns of a hash aggregate's or hash
//! join's key, as `u32` or `u64` values) into one 64-bit hash per row.
//!
//! A row's hash starts at [`SEED`]; each key column folds in with two
//! CRC32C steps, one per 32-bit half of the state (the SSE4.2 `crc32`
//! instruction, or a table in the portable kernel: the same function). A
//! NULL folds in [`NULL_KEY`]. [`finish`] spreads the bits for bucket
//! selection. AVX2 has no wider CRC, so the AVX2 tier is the SSE4.2 one.
//!
//! Invariant: every tier gives the portable kernel's hashes, bit for bit.

mod portable;
#[cfg(target_arch = "x86_64")]
mod x86_64;

use super::{Tier, detected};

/// The hash of a row before any key column.
pub(crate) const SEED: u64 = 0x243f_6a88_85a3_08d3;
/// What a NULL key folds in.
pub(crate) const NULL_KEY: u64 = 0x9e37_79b9_7f4a_7c15;
/// XORed into the key for the high half's CRC, so the halves differ.
const HIGH_SALT: u64 = 0xc2b2_ae3d_27d4_eb4f;

/// Folds one key column into `hashes` (one per row; `valid` is the
/// validity as 64-row words, `None` for no NULLs).
pub(crate) type Kernel<T> = fn(&[T], Option<&[u64]>, &mut [u64]);

/// The `u64` column kernel of `tier` (or the best one below it this CPU runs).
pub(crate) fn u64_kernel(tier: Tier) -> Kernel<u64> {
    match tier.min(detected()) {
        Tier::Portable => portable::hash_u64,
        #[cfg(target_arch = "x86_64")]
        Tier::Sse42 | Tier::Avx2 => x86_64::hash_u64_sse42,
        #[cfg(not(target_arch = "x86_64"))]
        _ => portable::hash_u64,
    }
}

/// The `u32` column kernel of `tier`.
pub(crate) fn u32_kernel(tier: Tier) -> Kernel<u32> {
    match tier.min(detected()) {
        Tier::Portable => portable::hash_u32,
        #[cfg(target_arch = "x86_64")]
        Tier::Sse42 | Tier::Avx2 => x86_64::hash_u32_sse42,
        #[cfg(not(target_arch = "x86_64"))]
        _ => portable::hash_u32,
    }
}

/// Spreads a folded hash over all 64 bits (the CRC halves are linear).
pub(crate) fn finish(h: u64) -> u64 {
    let h = (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^ (h >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::available;
    use proptest::prelude::*;

    fn valid_words(valid: &[bool]) -> Vec<u64> {
        let mut w = vec![0u64; valid.len().div_ceil(64)];
        for (i, &v) in valid.iter().enumerate() {
            w[i / 64] |= u64::from(v) << (i % 64);
        }
        w
    }

    /// Two columns folded in, by every tier, equal the portable hashes;
    /// NULL rows hash alike whatever their value.
    fn check(a: &[u64], b: &[u32], valid: Option<&[bool]>) {
        let words = valid.map(valid_words);
        let run = |tier: Tier| {
            let mut h = vec![SEED; a.len()];
            u64_kernel(tier)(a, words.as_deref(), &mut h);
            u32_kernel(tier)(&b[..a.len()], None, &mut h);
            h
        };
        let want = run(Tier::Portable);
        for tier in available() {
            assert_eq!(run(tier), want, "{tier:?}");
        }
        if let Some(valid) = valid {
            for i in 0..a.len() {
                for j in 0..a.len() {
                    if !valid[i] && !valid[j] && b[i] == b[j] {
                        assert_eq!(want[i], want[j]);
                    }
                }
            }
        }
    }

    #[test]
    fn crc_matches_known_value() {
        // CRC32C("123456789") = 0xE3069283 (init and final XOR with !0).
        let mut crc = !0u32;
        for b in b"123456789" {
            crc = portable::crc_u8(crc, *b);
        }
        assert_eq!(!crc, 0xe306_9283);
    }

    #[test]
    fn edge_lengths_and_offsets() {
        let a: Vec<u64> = (0..70u64)
            .map(|x| x.wrapping_mul(0x1234_5678_9abc_def1))
            .collect();
        let b: Vec<u32> = (0..70u32).map(|x| x % 3).collect();
        let valid: Vec<bool> = (0..70).map(|i| i % 4 != 1).collect();
        for n in [0, 1, 2, 3, 4, 5, 63, 64, 65] {
            for start in 0..3.min(70 - n) {
                check(&a[start..start + n], &b[start..start + n], None);
                check(
                    &a[start..start + n],
                    &b[start..start + n],
                    Some(&valid[start..start + n]),
                );
            }
        }
        check(&a, &b, Some(&[false; 70]));
    }

    #[test]
    fn columns_and_nulls_change_the_hash() {
        let mut h = vec![SEED; 3];
        u64_kernel(Tier::Portable)(&[1, 2, 1], Some(&[0b011]), &mut h);
        assert_ne!(h[0], h[1]);
        assert_ne!(h[0], h[2]);
        assert_ne!(finish(h[0]), finish(h[1]));
    }

    proptest! {
        #![proptest_config(crate::test_util::proptest_config())]

        #[test]
        fn tiers_match_portable(
            rows in prop::collection::vec((any::<u64>(), any::<u32>(), any::<bool>()), 0..200),
            nulls in any::<bool>(),
        ) {
            let a: Vec<u64> = rows.iter().map(|r| r.0).collect();
            let b: Vec<u32> = rows.iter().map(|r| r.1).collect();
            let v: Vec<bool> = rows.iter().map(|r| r.2).collect();
            check(&a, &b, nulls.then_some(&v[..]));
        }
    }
}
