//! SIMD kernels: the hot loops of filter, hash and aggregate, each as a
//! portable reference kernel plus x86-64 tiers (STYLE.md 4).
//!
//! Each family lives in `<family>/`: `mod.rs` has the safe `pub(crate)` fns
//! and picks a tier, `portable.rs` is the reference, `x86_64/*.rs` hold the
//! `#[target_feature]` tiers. The tier is detected once; the environment
//! variable `HYPERCTL_SIMD=portable|sse42|avx2` caps it.
//!
//! Invariant: every tier returns exactly what the portable kernel returns
//! (the proptests in each family compare them). `unsafe` in exec lives only
//! under this directory.

pub(crate) mod aggregate;
pub(crate) mod compare;
pub(crate) mod hash;
pub(crate) mod prefetch;

use std::sync::OnceLock;

/// An instruction-set level, ordered from least to most capable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Tier {
    /// Plain Rust; the compiler vectorizes what it can.
    Portable,
    /// SSE4.2 (x86-64-v2, Nehalem and later).
    Sse42,
    /// AVX2 (Haswell and later), detected at run time.
    Avx2,
}

impl Tier {
    /// Every tier, least capable first.
    #[cfg(any(test, feature = "bench"))]
    pub(crate) const ALL: [Tier; 3] = [Tier::Portable, Tier::Sse42, Tier::Avx2];

    fn parse(s: &str) -> Option<Tier> {
        match s.trim().to_ascii_lowercase().as_str() {
            "portable" => Some(Tier::Portable),
            "sse42" | "sse4.2" => Some(Tier::Sse42),
            "avx2" => Some(Tier::Avx2),
            _ => None,
        }
    }
}

/// The best tier this CPU supports, ignoring `HYPERCTL_SIMD`.
pub(crate) fn detected() -> Tier {
    static DETECTED: OnceLock<Tier> = OnceLock::new();
    *DETECTED.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Tier {
    let sse42 = cfg!(target_feature = "sse4.2") || std::arch::is_x86_feature_detected!("sse4.2");
    if !sse42 {
        Tier::Portable
    } else if std::arch::is_x86_feature_detected!("avx2") {
        Tier::Avx2
    } else {
        Tier::Sse42
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Tier {
    Tier::Portable
}

/// The tier kernels run with: [`detected`], capped by `HYPERCTL_SIMD`
/// (an unknown value is ignored).
pub(crate) fn tier() -> Tier {
    static TIER: OnceLock<Tier> = OnceLock::new();
    *TIER.get_or_init(|| {
        let cap = std::env::var("HYPERCTL_SIMD")
            .ok()
            .and_then(|s| Tier::parse(&s));
        cap.map_or(detected(), |c| c.min(detected()))
    })
}

/// The tiers this CPU can run, for tests and benches.
#[cfg(any(test, feature = "bench"))]
pub(crate) fn available() -> Vec<Tier> {
    Tier::ALL.into_iter().filter(|&t| t <= detected()).collect()
}

/// Validity bits as 64-bit words, bit `i % 64` of word `i / 64` for row `i`
/// (a `NullBuffer` may start at any bit offset; the kernels want word 0 to
/// start at row 0). Bits past the end are 0.
pub(crate) fn validity_words(nulls: &arrow::buffer::NullBuffer) -> Vec<u64> {
    let chunks = nulls.inner().bit_chunks();
    let mut words: Vec<u64> = chunks.iter().collect();
    if chunks.remainder_len() > 0 {
        words.push(chunks.remainder_bits());
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::buffer::NullBuffer;

    #[test]
    fn parse_and_cap() {
        assert_eq!(Tier::parse(" AVX2 "), Some(Tier::Avx2));
        assert_eq!(Tier::parse("sse42"), Some(Tier::Sse42));
        assert_eq!(Tier::parse("portable"), Some(Tier::Portable));
        assert_eq!(Tier::parse("avx512"), None);
        assert!(tier() <= detected());
        assert_eq!(available()[0], Tier::Portable);
    }

    /// `.ci/nehalem` runs this binary under qemu CPU models and says which
    /// tier detection must pick there.
    #[test]
    fn detects_the_tier_ci_expects() {
        if let Ok(want) = std::env::var("HYPERCTL_EXPECT_TIER") {
            assert_eq!(
                Some(tier()),
                Tier::parse(&want),
                "HYPERCTL_EXPECT_TIER={want}"
            );
        }
    }

    #[test]
    fn validity_words_follow_the_offset() {
        let bits: Vec<bool> = (0..150).map(|i| i % 3 != 0).collect();
        let nulls = NullBuffer::from(bits.clone()).slice(5, 130);
        let words = validity_words(&nulls);
        assert_eq!(words.len(), 3);
        for i in 0..130 {
            assert_eq!((words[i / 64] >> (i % 64)) & 1 == 1, bits[i + 5], "row {i}");
        }
        assert_eq!(words[2] >> 2, 0);
    }
}
