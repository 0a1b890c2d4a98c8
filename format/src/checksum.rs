//! crc32c (Castagnoli) checksums of blocks, pages and column encodings.
//!
//! The `crc32c` crate uses the SSE4.2 `crc32` instruction when the CPU has it
//! (our x86-64-v2 baseline does) and a table-driven fallback otherwise; both give
//! the same answers.
//!
//! Invariant: the polynomial is CRC-32C (iSCSI, 0x1EDC6F41) with the usual
//! pre- and post-inversion, so `crc32c(b"123456789") == 0xE306_9283`.

/// The crc32c of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    ::crc32c::crc32c(bytes)
}

/// Extends a crc32c over more bytes: `crc32c_append(crc32c(a), b) == crc32c(a ++ b)`.
pub fn crc32c_append(crc: u32, bytes: &[u8]) -> u32 {
    ::crc32c::crc32c_append(crc, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        // RFC 3720, B.4: 32 bytes of zeros.
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
    }

    #[test]
    fn append_is_concatenation() {
        let data = b"hyperctl column block";
        for cut in 0..=data.len() {
            let (a, b) = data.split_at(cut);
            assert_eq!(crc32c_append(crc32c(a), b), crc32c(data), "cut at {cut}");
        }
    }
}
