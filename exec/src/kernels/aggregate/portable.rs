//! The reference aggregate kernels: plain loops with separate
//! accumulators and no branches in the body.

/// All ones when row `i` (of the slice the words describe) is valid.
#[inline(always)]
fn mask(valid: Option<&[u64]>, i: usize) -> u64 {
    valid.map_or(u64::MAX, |w| ((w[i / 64] >> (i % 64)) & 1).wrapping_neg())
}

pub(crate) fn sum_i64(values: &[i64], valid: Option<&[u64]>) -> [u64; 3] {
    let (mut lo, mut hi, mut neg) = (0u64, 0u64, 0u64);
    for (i, &x) in values.iter().enumerate() {
        let x = (x as u64) & mask(valid, i);
        lo += x & 0xffff_ffff;
        hi += x >> 32;
        neg += x >> 63;
    }
    [lo, hi, neg]
}

pub(crate) fn min_max_i64(values: &[i64], valid: Option<&[u64]>, max: bool) -> i64 {
    let identity = if max { i64::MIN } else { i64::MAX };
    let mut acc = [identity; 4];
    for (i, &x) in values.iter().enumerate() {
        let m = mask(valid, i) as i64;
        let x = (x & m) | (identity & !m);
        let a = &mut acc[i % 4];
        *a = if max { (*a).max(x) } else { (*a).min(x) };
    }
    let fold = |a: i64, b: i64| if max { a.max(b) } else { a.min(b) };
    fold(fold(acc[0], acc[1]), fold(acc[2], acc[3]))
}

pub(crate) fn sum_f64(values: &[f64], valid: Option<&[u64]>) -> [f64; 8] {
    let mut acc = [0.0f64; 8];
    for (c, chunk) in values.chunks_exact(8).enumerate() {
        for (j, (&x, a)) in chunk.iter().zip(acc.iter_mut()).enumerate() {
            *a += f64::from_bits(x.to_bits() & mask(valid, c * 8 + j));
        }
    }
    acc
}
