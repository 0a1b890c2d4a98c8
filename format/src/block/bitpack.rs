//! Bit packing: unsigned values of `bits` bits each (0 to 64), packed least
//! significant bit first into little-endian u64 words.
//!
//! Value `i` occupies bits `i * bits .. (i + 1) * bits` of the stream, where
//! stream bit `k` is bit `k % 64` of word `k / 64`. A packed run of `count`
//! values takes `ceil(count * bits / 64)` words; the bits after the last value
//! are 0.
//!
//! Invariant: [`unpack_chunks`] reads each value with at most two word loads and
//! shifts, never bit by bit; it is the hot loop of frame-of-reference,
//! dictionary and run-length decoding.

use crate::bytes::ByteWriter;

/// Bits needed to store `max` (0 for 0).
pub(crate) fn bits_needed(max: u64) -> u32 {
    u64::BITS - max.leading_zeros()
}

/// Bytes taken by `count` values of `bits` bits, or None on overflow.
pub(crate) fn packed_len(count: usize, bits: u32) -> Option<usize> {
    let total_bits = count.checked_mul(bits as usize)?;
    total_bits.div_ceil(64).checked_mul(8)
}

/// Packs `values` (each below `2^bits`) and writes the words.
pub(crate) fn pack(values: impl IntoIterator<Item = u64>, bits: u32, w: &mut ByteWriter) {
    debug_assert!(bits <= 64);
    if bits == 0 {
        return;
    }
    let mut acc = 0u64;
    let mut filled = 0u32;
    for v in values {
        debug_assert!(bits == 64 || v >> bits == 0, "{v} does not fit {bits} bits");
        acc |= v << filled;
        if filled + bits >= 64 {
            w.put_u64(acc);
            acc = if filled == 0 { 0 } else { v >> (64 - filled) };
            filled = filled + bits - 64;
        } else {
            filled += bits;
        }
    }
    if filled > 0 {
        w.put_u64(acc);
    }
}

/// Unpacks `count` values of `bits` bits from `bytes` and maps each with `f`.
///
/// # Panics
/// As [`unpack_chunks`].
pub(crate) fn unpack_with<T>(
    bytes: &[u8],
    bits: u32,
    count: usize,
    f: impl Fn(u64) -> T,
) -> Vec<T> {
    let mut out = Vec::with_capacity(count);
    unpack_chunks(bytes, bits, count, |chunk| {
        out.extend(chunk.iter().map(|&v| f(v)));
    });
    out
}

/// Unpacks `count` values of `bits` bits from `bytes` and hands them to
/// `sink` in order, 64 at a time (fewer in the last call), so that callers
/// write their output in one pass with no buffer of unpacked values.
///
/// # Panics
/// When `bits` is above 64 or `bytes` is shorter than
/// [`packed_len`]`(count, bits)`; callers check the width and take exactly
/// that many bytes from a checked reader first.
pub(crate) fn unpack_chunks(bytes: &[u8], bits: u32, count: usize, mut sink: impl FnMut(&[u64])) {
    assert!(bits <= 64, "bit width {bits} checked by the caller");
    let mut buf = [0u64; 64];
    if bits == 0 {
        for start in (0..count).step_by(64) {
            sink(&buf[..(count - start).min(64)]);
        }
        return;
    }
    let needed = packed_len(count, bits).unwrap_or(usize::MAX);
    assert!(bytes.len() >= needed, "packed length checked by the caller");
    // Whole groups of 64 values take exactly `bits` words each: unpacked by
    // a routine specialised for the width, with constant shifts, straight
    // from the bytes.
    let group = GROUPS[bits as usize - 1];
    let group_len = 8 * bits as usize;
    let groups = count / 64;
    for chunk in bytes.chunks_exact(group_len).take(groups) {
        group(chunk, &mut buf);
        sink(&buf);
    }
    let tail = count % 64;
    if tail == 0 {
        return;
    }
    // The last, partial group: at most 64 words, copied with one zero word
    // after them so that the second load of the last value needs no branch.
    let mut words = [0u64; 65];
    let rest = &bytes[groups * group_len..needed];
    for (w, le) in words.iter_mut().zip(rest.chunks_exact(8)) {
        *w = u64::from_le_bytes(le.try_into().unwrap_or_default());
    }
    let bits = bits as usize;
    let mask = u64::MAX >> (64 - bits);
    for (i, v) in buf[..tail].iter_mut().enumerate() {
        let bit = i * bits;
        let (word, shift) = (bit / 64, (bit % 64) as u32);
        let lo = words[word] >> shift;
        // `<< 1 << (63 - shift)` is `<< (64 - shift)` without overflowing at 0.
        let hi = (words[word + 1] << 1) << (63 - shift);
        *v = (lo | hi) & mask;
    }
    sink(&buf[..tail]);
}

/// The `BITS` words of a group of 64 values (`None` unless `bytes` holds
/// exactly `8 * BITS` bytes).
#[inline(always)]
fn group_words<const BITS: usize>(bytes: &[u8]) -> Option<[u64; BITS]> {
    if bytes.len() != 8 * BITS {
        return None;
    }
    let mut words = [0u64; BITS];
    for (w, le) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        *w = u64::from_le_bytes(le.try_into().unwrap_or_default());
    }
    Some(words)
}

/// Unpacks 64 values of `BITS` bits from exactly `8 * BITS` bytes.
fn unpack_group<const BITS: usize>(bytes: &[u8], out: &mut [u64; 64]) {
    let Some(words) = group_words::<BITS>(bytes) else {
        return;
    };
    let mask = u64::MAX >> (64 - BITS);
    for (j, v) in out.iter_mut().enumerate() {
        let bit = j * BITS;
        let (w, s) = (bit / 64, bit % 64);
        let mut x = words[w] >> s;
        if s + BITS > 64 {
            x |= words[w + 1] << (64 - s);
        }
        *v = x & mask;
    }
}

/// The values `v` of a group of 64 values of `BITS` bits (exactly
/// `8 * BITS` bytes) with `v - low <= span` (wrapping), as bit `j` of the
/// result for value `j`: a range test fused with unpacking, so no value is
/// stored.
fn select_group<const BITS: usize>(bytes: &[u8], low: u64, span: u64) -> u64 {
    let Some(words) = group_words::<BITS>(bytes) else {
        return 0;
    };
    let mask = u64::MAX >> (64 - BITS);
    // Four accumulators, so the ORs do not chain through one register.
    let mut hits = [0u64; 4];
    // Spelled out for each of the 64 values, so that every word index and
    // shift is a constant of the width (a loop is not unrolled this far).
    macro_rules! test {
        ($($j:literal)*) => {$(
            let bit = $j * BITS;
            let (w, s) = (bit / 64, bit % 64);
            let mut x = words[w] >> s;
            if s + BITS > 64 {
                x |= words[w + 1] << (64 - s);
            }
            hits[$j % 4] |= u64::from((x & mask).wrapping_sub(low) <= span) << $j;
        )*};
    }
    test!(
        0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
        32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60
        61 62 63
    );
    hits[0] | hits[1] | hits[2] | hits[3]
}

/// `[f::<1>, f::<2>, ..., f::<64>]`, each as a `T`: a routine per bit width.
macro_rules! by_width {
    ($f:ident as $t:ty) => {
        by_width!(@ $f as $t;
            1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
            33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62
            63 64
        )
    };
    (@ $f:ident as $t:ty; $($bits:literal)*) => { [$($f::<$bits> as $t),*] };
}

type SelectFn = fn(&[u8], u64, u64) -> u64;

/// `SELECTS[bits - 1]` tests a group of 64 values of `bits` bits.
static SELECTS: [SelectFn; 64] = by_width!(select_group as SelectFn);

/// For each run of 64 of the `count` packed values of `bits` bits in
/// `bytes` (fewer in the last), a mask of those with `v - low <= span`
/// (wrapping), bit `j` for value `j` of the run, handed to `sink` with the
/// run's first index.
///
/// # Panics
/// As [`unpack_chunks`].
pub(crate) fn select_chunks(
    bytes: &[u8],
    bits: u32,
    count: usize,
    low: u64,
    span: u64,
    mut sink: impl FnMut(usize, u64),
) {
    if bits == 0 {
        let all = u64::from(0u64.wrapping_sub(low) <= span);
        for start in (0..count).step_by(64) {
            let n = (count - start).min(64);
            sink(start, (u64::MAX >> (64 - n)) * all);
        }
        return;
    }
    let Some(test) = SELECTS.get(bits as usize - 1) else {
        return; // wider than 64: checked by the caller
    };
    let group_len = 8 * bits as usize;
    let groups = count / 64;
    for (g, chunk) in bytes.chunks_exact(group_len).take(groups).enumerate() {
        sink(g * 64, test(chunk, low, span));
    }
    if !count.is_multiple_of(64) {
        let start = groups * 64;
        let rest = bytes.get(groups * group_len..).unwrap_or_default();
        unpack_chunks(rest, bits, count - start, |values| {
            let mut hits = 0u64;
            for (j, &v) in values.iter().enumerate() {
                hits |= u64::from(v.wrapping_sub(low) <= span) << j;
            }
            sink(start, hits);
        });
    }
}

type GroupFn = fn(&[u8], &mut [u64; 64]);

/// `GROUPS[bits - 1]` unpacks a group of 64 values of `bits` bits.
static GROUPS: [GroupFn; 64] = by_width!(unpack_group as GroupFn);

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(values: &[u64], bits: u32) {
        let mut w = ByteWriter::new();
        pack(values.iter().copied(), bits, &mut w);
        let bytes = w.into_inner();
        assert_eq!(Some(bytes.len()), packed_len(values.len(), bits));
        assert_eq!(unpack_with(&bytes, bits, values.len(), |v| v), values);
    }

    #[test]
    fn every_width_round_trips() {
        for bits in 0..=64u32 {
            let max = if bits == 64 {
                u64::MAX
            } else {
                (1 << bits) - 1
            };
            for len in [0usize, 1, 2, 63, 64, 65, 127, 130, 1000] {
                let values: Vec<u64> = (0..len as u64)
                    .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) & max)
                    .collect();
                round_trip(&values, bits);
                round_trip(&vec![max; len], bits);
            }
        }
    }

    #[test]
    fn fused_selection_agrees_with_unpacking() {
        for bits in 0..=64u32 {
            let max = u64::MAX >> (64 - bits.max(1));
            let max = if bits == 0 { 0 } else { max };
            for len in [0usize, 1, 63, 64, 65, 200] {
                let values: Vec<u64> = (0..len as u64)
                    .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) & max)
                    .collect();
                let mut w = ByteWriter::new();
                pack(values.iter().copied(), bits, &mut w);
                let bytes = w.into_inner();
                for (low, span) in [(0, 0), (max / 3, max / 2), (max / 2, u64::MAX), (1, 0)] {
                    let mut got = Vec::new();
                    select_chunks(&bytes, bits, len, low, span, |start, mut hits| {
                        while hits != 0 {
                            got.push(start + hits.trailing_zeros() as usize);
                            hits &= hits - 1;
                        }
                    });
                    let expected: Vec<usize> = (0..len)
                        .filter(|&i| values[i].wrapping_sub(low) <= span)
                        .collect();
                    assert_eq!(got, expected, "{bits} bits, {len} values, {low} {span}");
                }
            }
        }
    }

    #[test]
    fn layout_is_lsb_first() {
        let mut w = ByteWriter::new();
        pack([1, 2, 3, 0], 3, &mut w);
        // 0b0_1101_0001: 1 in bits 0..3, 2 in bits 3..6, 3 in bits 6..9.
        assert_eq!(w.into_inner(), [0b1101_0001, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bits_needed(0), 0);
        assert_eq!(bits_needed(1), 1);
        assert_eq!(bits_needed(49), 6);
        assert_eq!(bits_needed(u64::MAX), 64);
    }
}
