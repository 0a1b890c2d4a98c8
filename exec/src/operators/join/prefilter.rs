//! A hash join's pre-filter: built with the index from the build side's
//! keys, it picks, over a whole batch of probe keys and without a branch per
//! row, the rows that may have a match, so that only those go to the hash
//! table. When the build side is small and most probe rows miss (a filtered
//! dimension table against a fact table), most rows never reach the table.
//!
//! - [`Bitmap`]: one integer-like key column whose build values span at most
//!   [`BITMAP_BITS_MAX`] values: one bit per value in `[min, max]`, exact.
//! - [`Bloom`]: other keys, when the build side has at most
//!   [`BLOOM_KEYS_MAX`] distinct keys: two bits of one 64-bit word per key,
//!   chosen by the key hash's high bits (the table's slot takes its low bits).
//!
//! Invariant: a row the filter leaves out has no equal key on the build side
//! (no false negatives), and a row with a NULL in some key column is always
//! left out (NULL keys never match).

use arrow::array::{Array, ArrayRef};
use arrow::buffer::ScalarBuffer;
use arrow::datatypes::{ArrowNativeType, DataType};

use crate::error::{Error, Result};

/// The widest span of build values a bitmap covers: 2^24 bits, 2 MiB.
pub(crate) const BITMAP_BITS_MAX: u64 = 1 << 24;

/// The most distinct build keys a bloom filter is built for: at 16 bits per
/// key, a filter of 1 MiB at most.
pub(crate) const BLOOM_KEYS_MAX: usize = 1 << 19;

/// Bloom filter bits per build key (a power of two).
const BLOOM_BITS_PER_KEY: usize = 16;

/// One exact bit per value of `[min, min + span]`.
#[derive(Debug)]
pub(crate) struct Bitmap {
    width: usize,
    min: i64,
    span: u64,
    /// Bits `0..=span + 1`; bit `span + 1` is always clear, so that an
    /// out-of-range value can read it instead of branching.
    bits: Vec<u64>,
}

/// A blocked bloom filter over key hashes.
#[derive(Debug)]
pub(crate) struct Bloom {
    /// A power of two of words.
    words: Vec<u64>,
}

/// A probe's pre-filter.
#[derive(Debug)]
pub(crate) enum PreFilter {
    Bitmap(Bitmap),
    Bloom(Bloom),
}

/// The byte width of a key type whose values compare as integers, if the
/// bitmap takes it.
fn int_width(t: &DataType) -> Option<usize> {
    use DataType::*;
    match t {
        Int8 | UInt8 => Some(1),
        Int16 | UInt16 => Some(2),
        Int32 | UInt32 | Date32 | Time32(_) => Some(4),
        Int64 | UInt64 | Date64 | Time64(_) | Timestamp(..) | Duration(_) => Some(8),
        _ => None,
    }
}

/// A native value read as a signed integer of its width, widened: a
/// bijection per width, so equal keys and only they get equal `i64`s.
trait Widen: ArrowNativeType {
    fn widen(self) -> i64;
}

impl Widen for i8 {
    fn widen(self) -> i64 {
        i64::from(self)
    }
}

impl Widen for i16 {
    fn widen(self) -> i64 {
        i64::from(self)
    }
}

impl Widen for i32 {
    fn widen(self) -> i64 {
        i64::from(self)
    }
}

impl Widen for i64 {
    fn widen(self) -> i64 {
        self
    }
}

/// The values of a column of `width` bytes, as `T` (whose width it is).
fn values<T: Widen>(c: &dyn Array) -> Result<ScalarBuffer<T>> {
    let data = c.to_data();
    let buffer = data
        .buffers()
        .first()
        .ok_or_else(|| Error::internal("integer join key without values"))?;
    if buffer.len() < (data.offset() + data.len()) * size_of::<T>() {
        return Err(Error::internal("integer join key shorter than its length"));
    }
    Ok(ScalarBuffer::new(buffer.clone(), data.offset(), data.len()))
}

/// Runs `f` over the values of an integer column of `width` bytes.
macro_rules! with_values {
    ($width:expr, $column:expr, |$v:ident| $body:expr) => {
        match $width {
            1 => {
                let $v = values::<i8>($column)?;
                $body
            }
            2 => {
                let $v = values::<i16>($column)?;
                $body
            }
            4 => {
                let $v = values::<i32>($column)?;
                $body
            }
            _ => {
                let $v = values::<i64>($column)?;
                $body
            }
        }
    };
}

impl Bitmap {
    /// The bitmap of the non-NULL values of `column`, if they span at most
    /// [`BITMAP_BITS_MAX`] values (an empty one matches nothing).
    fn try_build(column: &dyn Array) -> Result<Option<Bitmap>> {
        let Some(width) = int_width(column.data_type()) else {
            return Ok(None);
        };
        let nulls = column.logical_nulls();
        let valid = |i: usize| nulls.as_ref().is_none_or(|n| n.is_valid(i));
        let (mut min, mut max) = (i64::MAX, i64::MIN);
        with_values!(width, column, |v| {
            for (i, x) in v.iter().enumerate() {
                if valid(i) {
                    min = min.min(x.widen());
                    max = max.max(x.widen());
                }
            }
        });
        if min > max {
            (min, max) = (0, 0);
        }
        // max >= min, so the wrapping difference is the span, below 2^64.
        let span = max.wrapping_sub(min) as u64;
        if span >= BITMAP_BITS_MAX {
            return Ok(None);
        }
        let mut bits = vec![0u64; (span as usize + 2).div_ceil(64)];
        with_values!(width, column, |v| {
            for (i, x) in v.iter().enumerate() {
                if valid(i) {
                    let o = x.widen().wrapping_sub(min) as u64 as usize;
                    bits[o / 64] |= 1 << (o % 64);
                }
            }
        });
        Ok(Some(Bitmap {
            width,
            min,
            span,
            bits,
        }))
    }

    /// The rows of `column` whose value is in the bitmap, in order, NULLs
    /// left out.
    fn select(&self, column: &dyn Array, out: &mut Vec<u32>) -> Result<()> {
        if int_width(column.data_type()) != Some(self.width) {
            return Err(Error::internal("join key of another type than the build"));
        }
        with_values!(self.width, column, |v| self.select_values(&v, out));
        if let Some(nulls) = column.logical_nulls() {
            out.retain(|&i| nulls.is_valid(i as usize));
        }
        Ok(())
    }

    /// The branch-free loop: every row writes its index, and the write
    /// position moves on only for rows in the bitmap.
    fn select_values<T: Widen>(&self, values: &[T], out: &mut Vec<u32>) {
        out.clear();
        out.resize(values.len() + 1, 0);
        let (min, span, bits) = (self.min, self.span, &self.bits[..]);
        let mut n = 0;
        for (i, &x) in values.iter().enumerate() {
            let o = x.widen().wrapping_sub(min) as u64;
            // Out of range reads bit span + 1, which is clear.
            let o = if o <= span { o } else { span + 1 } as usize;
            let hit = (bits[o / 64] >> (o % 64)) & 1;
            out[n] = i as u32;
            n += hit as usize;
        }
        out.truncate(n);
    }
}

impl Bloom {
    /// A filter of the key hashes `hashes`.
    fn build(hashes: &[u64]) -> Bloom {
        let bits = (hashes.len() * BLOOM_BITS_PER_KEY)
            .next_power_of_two()
            .max(512);
        let mut words = vec![0u64; bits / 64];
        let mask = words.len() - 1;
        for &h in hashes {
            let (w, m) = Self::spot(h, mask);
            words[w] |= m;
        }
        Bloom { words }
    }

    /// The word and the two bits of hash `h`: bits 32..52 pick the word
    /// (up to 2^20 words), bits 52..58 and 58..64 the bits.
    #[inline(always)]
    fn spot(h: u64, mask: usize) -> (usize, u64) {
        let w = (h >> 32) as usize & mask;
        let m = (1u64 << ((h >> 52) & 63)) | (1u64 << (h >> 58));
        (w, m)
    }

    /// The rows whose hash may be in the filter and who have no NULL key
    /// column, in order.
    fn select(&self, hashes: &[u64], nulls: &[bool], out: &mut Vec<u32>) {
        out.clear();
        out.resize(hashes.len() + 1, 0);
        let (words, mask) = (&self.words[..], self.words.len() - 1);
        let mut n = 0;
        for (i, (&h, &null)) in hashes.iter().zip(nulls).enumerate() {
            let (w, m) = Self::spot(h, mask);
            let hit = (words[w] & m == m) & !null;
            out[n] = i as u32;
            n += usize::from(hit);
        }
        out.truncate(n);
    }
}

impl PreFilter {
    /// The pre-filter of a build side with key columns `keys` (one per key
    /// column) and distinct key hashes `key_hashes`, if one applies.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] for a malformed key column.
    pub(crate) fn try_build(keys: &[ArrayRef], key_hashes: &[u64]) -> Result<Option<PreFilter>> {
        if let [column] = keys
            && let Some(bitmap) = Bitmap::try_build(column.as_ref())?
        {
            return Ok(Some(PreFilter::Bitmap(bitmap)));
        }
        if key_hashes.len() <= BLOOM_KEYS_MAX {
            return Ok(Some(PreFilter::Bloom(Bloom::build(key_hashes))));
        }
        Ok(None)
    }

    /// Whether the filter reads key values (before any hashing) rather than
    /// hashes.
    pub(crate) fn on_values(&self) -> bool {
        matches!(self, PreFilter::Bitmap(_))
    }

    /// The candidate rows of a probe batch's key columns: the bitmap reads
    /// `keys`; the bloom filter reads `hashes` and `nulls` (per row, whether
    /// some key column is NULL).
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] for key columns unlike the build side's.
    pub(crate) fn select(
        &self,
        keys: &[ArrayRef],
        hashes: &[u64],
        nulls: &[bool],
        out: &mut Vec<u32>,
    ) -> Result<()> {
        match self {
            PreFilter::Bitmap(b) => match keys {
                [column] => b.select(column.as_ref(), out),
                _ => Err(Error::internal("bitmap pre-filter on several key columns")),
            },
            PreFilter::Bloom(b) => {
                if hashes.len() != nulls.len() {
                    return Err(Error::internal("bloom pre-filter without a hash per row"));
                }
                b.select(hashes, nulls, out);
                Ok(())
            }
        }
    }

    /// Bytes held, for the memory limit.
    pub(crate) fn memory_bytes(&self) -> usize {
        match self {
            PreFilter::Bitmap(b) => b.bits.capacity() * 8,
            PreFilter::Bloom(b) => b.words.capacity() * 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, Int64Array};
    use proptest::prelude::*;
    use std::collections::HashSet;
    use std::sync::Arc;

    use crate::kernels::hash::finish;
    use crate::test_util::proptest_config;

    fn column(keys: &[Option<i64>], narrow: bool) -> ArrayRef {
        if narrow {
            let v: Vec<Option<i32>> = keys.iter().map(|k| k.map(|k| k as i32)).collect();
            Arc::new(Int32Array::from(v))
        } else {
            Arc::new(Int64Array::from(keys.to_vec()))
        }
    }

    /// Build keys of a small span (bitmap) or a wide one (bloom), with
    /// NULLs and negative values; probe keys partly copied from them.
    fn keys() -> impl Strategy<Value = (Vec<Option<i64>>, Vec<Option<i64>>)> {
        let base = prop_oneof![
            Just(0i64),
            -(1i64 << 40)..(1i64 << 40),
            Just(i64::MIN),
            Just(i64::MAX - 300),
        ];
        let spread = prop_oneof![Just(300i64), Just(1i64 << 23), Just(i64::MAX)];
        (base, spread).prop_flat_map(|(base, spread)| {
            let key =
                prop::option::weighted(0.85, (0..=spread).prop_map(move |d| base.wrapping_add(d)));
            let build = prop::collection::vec(key.clone(), 0..80);
            let probe =
                prop::collection::vec((key, any::<prop::sample::Index>(), any::<bool>()), 0..200);
            (build, probe).prop_map(|(build, probe)| {
                let probe = probe
                    .into_iter()
                    .map(|(k, at, copy)| {
                        if copy && !build.is_empty() {
                            build[at.index(build.len())]
                        } else {
                            k
                        }
                    })
                    .collect();
                (build, probe)
            })
        })
    }

    proptest! {
        #![proptest_config(proptest_config())]

        /// Every non-NULL probe key equal to a build key is selected, no
        /// NULL is, and the bitmap selects nothing else.
        #[test]
        fn selects_every_match_and_no_null((build, probe) in keys(), narrow in any::<bool>()) {
            let narrowed = |k: &Option<i64>| k.map(|k| if narrow { i64::from(k as i32) } else { k });
            let set: HashSet<i64> = build.iter().filter_map(narrowed).collect();
            let b = column(&build, narrow);
            let p = column(&probe, narrow);
            // Distinct key hashes stand in for the index's.
            let hashes: Vec<u64> = set.iter().map(|&k| finish(k as u64)).collect();
            let filter = PreFilter::try_build(&[b], &hashes).unwrap().unwrap();
            let probe_hashes: Vec<u64> = probe.iter().map(|k| finish(narrowed(k).unwrap_or(0) as u64)).collect();
            let nulls: Vec<bool> = probe.iter().map(Option::is_none).collect();
            let mut out = Vec::new();
            filter.select(&[p], &probe_hashes, &nulls, &mut out).unwrap();
            let chosen: HashSet<u32> = out.iter().copied().collect();
            prop_assert_eq!(chosen.len(), out.len());
            prop_assert!(out.windows(2).all(|w| w[0] < w[1]));
            for (i, k) in probe.iter().enumerate() {
                let hit = narrowed(k).is_some_and(|k| set.contains(&k));
                if hit {
                    prop_assert!(chosen.contains(&(i as u32)), "row {} key {:?} missed", i, k);
                }
                if k.is_none() {
                    prop_assert!(!chosen.contains(&(i as u32)), "NULL row {} selected", i);
                }
                if filter.on_values() {
                    prop_assert_eq!(chosen.contains(&(i as u32)), hit, "row {} key {:?}", i, k);
                }
            }
        }
    }

    #[test]
    fn small_spans_get_a_bitmap_and_wide_ones_a_bloom_filter() {
        let hashes = [1u64, 2];
        let small = column(&[Some(-5), None, Some(1 << 20)], false);
        let f = PreFilter::try_build(&[small], &hashes).unwrap().unwrap();
        assert!(f.on_values());
        let wide = column(&[Some(0), Some(BITMAP_BITS_MAX as i64)], false);
        let f = PreFilter::try_build(&[wide], &hashes).unwrap().unwrap();
        assert!(!f.on_values());
        // Only NULLs: an empty bitmap.
        let nulls = column(&[None, None], true);
        let f = PreFilter::try_build(std::slice::from_ref(&nulls), &[])
            .unwrap()
            .unwrap();
        let mut out = vec![7];
        f.select(
            &[column(&[Some(0), None, Some(-1)], true)],
            &[],
            &[],
            &mut out,
        )
        .unwrap();
        assert!(out.is_empty());
        // Many distinct keys of a wide span: no filter.
        let many: Vec<u64> = (0..=BLOOM_KEYS_MAX as u64).collect();
        assert!(
            PreFilter::try_build(&[column(&[Some(0), Some(i64::MAX)], false)], &many)
                .unwrap()
                .is_none()
        );
        // A probe column of another width is an error, not a panic.
        let f = PreFilter::try_build(&[column(&[Some(1)], false)], &hashes)
            .unwrap()
            .unwrap();
        assert!(matches!(
            f.select(&[nulls], &[], &[], &mut out),
            Err(Error::Internal { .. })
        ));
    }
}
