//! The reference hash kernels: CRC32C by table, one step per byte, the
//! same function as the SSE4.2 `crc32` instruction.

use super::{HIGH_SALT, NULL_KEY};

/// The reflected CRC32C (Castagnoli, 0x82F63B78) table.
const TABLE: [u32; 256] = table();

const fn table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = (c >> 1) ^ (0x82f6_3b78 & (c & 1).wrapping_neg());
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

/// One CRC32C step over a byte (no initial or final inversion).
pub(crate) fn crc_u8(crc: u32, b: u8) -> u32 {
    TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8)
}

fn crc_bytes(mut crc: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        crc = crc_u8(crc, b);
    }
    crc
}

/// All ones when row `i` is valid.
#[inline(always)]
fn valid_mask(valid: Option<&[u64]>, i: usize) -> u64 {
    valid.map_or(u64::MAX, |w| ((w[i / 64] >> (i % 64)) & 1).wrapping_neg())
}

pub(crate) fn hash_u64(values: &[u64], valid: Option<&[u64]>, hashes: &mut [u64]) {
    for (i, (&x, h)) in values.iter().zip(hashes.iter_mut()).enumerate() {
        let m = valid_mask(valid, i);
        let k = (x & m) | (NULL_KEY & !m);
        let lo = crc_bytes(*h as u32, &k.to_le_bytes());
        let hi = crc_bytes((*h >> 32) as u32, &(k ^ HIGH_SALT).to_le_bytes());
        *h = u64::from(lo) | (u64::from(hi) << 32);
    }
}

pub(crate) fn hash_u32(values: &[u32], valid: Option<&[u64]>, hashes: &mut [u64]) {
    for (i, (&x, h)) in values.iter().zip(hashes.iter_mut()).enumerate() {
        let m = valid_mask(valid, i) as u32;
        let k = (x & m) | (NULL_KEY as u32 & !m);
        let lo = crc_bytes(*h as u32, &k.to_le_bytes());
        let hi = crc_bytes((*h >> 32) as u32, &(k ^ HIGH_SALT as u32).to_le_bytes());
        *h = u64::from(lo) | (u64::from(hi) << 32);
    }
}
