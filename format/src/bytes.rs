//! Little-endian byte writer and a checked reader for untrusted bytes.
//!
//! Invariant: `ByteReader` never panics and never reads past its buffer; every
//! length it is given comes back as `Error::Corrupt` with the offset when it
//! does not fit.

use crate::error::{Error, Result};

/// Appends little-endian values to a byte vector.
#[derive(Debug, Default, Clone)]
pub struct ByteWriter {
    buf: Vec<u8>,
}

impl ByteWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    /// The bytes written, consuming the writer.
    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }

    /// Number of bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Writes one byte.
    pub fn put_u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// Writes a u16, little-endian.
    pub fn put_u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Writes a u32, little-endian.
    pub fn put_u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Writes a u64, little-endian.
    pub fn put_u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Writes raw bytes without a length.
    pub fn put_raw(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }

    /// Writes a u32 length and then the bytes.
    ///
    /// # Panics
    /// If `v` is 4 GiB or longer (callers split larger data).
    pub fn put_bytes(&mut self, v: &[u8]) {
        let len = u32::try_from(v.len()).expect("byte strings are shorter than 4 GiB");
        self.put_u32(len);
        self.put_raw(v);
    }

    /// Writes a u32 length and then the UTF-8 bytes of `s`.
    pub fn put_str(&mut self, s: &str) {
        self.put_bytes(s.as_bytes());
    }
}

/// Reads little-endian values from untrusted bytes, with checked lengths.
#[derive(Debug, Clone)]
pub struct ByteReader<'a> {
    buf: &'a [u8],
    pos: usize,
    base_offset: u64,
}

impl<'a> ByteReader<'a> {
    /// A reader over `buf`; errors report offsets as `base_offset + position`.
    pub fn new(buf: &'a [u8], base_offset: u64) -> Self {
        Self {
            buf,
            pos: 0,
            base_offset,
        }
    }

    /// The absolute offset of the next byte to read.
    pub fn offset(&self) -> u64 {
        self.base_offset.saturating_add(self.pos as u64)
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// An `Error::Corrupt` at the current position.
    pub fn error(&self, what: impl Into<String>) -> Error {
        Error::corrupt(self.offset(), what)
    }

    /// Reads `n` raw bytes.
    ///
    /// # Errors
    /// `Corrupt` when fewer than `n` bytes are left; `what` names the field.
    pub fn raw(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.error(format!(
                "{what}: needs {n} bytes, only {} left",
                self.remaining()
            )));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let raw = self.raw(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(raw);
        Ok(out)
    }

    /// Reads one byte.
    ///
    /// # Errors
    /// `Corrupt` at the end of the buffer.
    pub fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    /// Reads a little-endian u16.
    ///
    /// # Errors
    /// `Corrupt` when too few bytes are left.
    pub fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    /// Reads a little-endian u32.
    ///
    /// # Errors
    /// `Corrupt` when too few bytes are left.
    pub fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// Reads a little-endian u64.
    ///
    /// # Errors
    /// `Corrupt` when too few bytes are left.
    pub fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// Reads a u32 length, then that many bytes.
    ///
    /// # Errors
    /// `Corrupt` when the length runs past the end.
    pub fn bytes(&mut self, what: &str) -> Result<&'a [u8]> {
        let len = self.u32(what)? as usize;
        self.raw(len, what)
    }

    /// Reads a u32 length, then that many bytes of UTF-8.
    ///
    /// # Errors
    /// `Corrupt` when the length runs past the end or the bytes are not UTF-8.
    pub fn str(&mut self, what: &str) -> Result<&'a str> {
        let start = self.offset();
        let raw = self.bytes(what)?;
        std::str::from_utf8(raw).map_err(|e| Error::corrupt(start, format!("{what}: {e}")))
    }

    /// Fails unless every byte was read.
    ///
    /// # Errors
    /// `Corrupt` naming how many bytes are left over.
    pub fn finish(&self, what: &str) -> Result<()> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(self.error(format!("{what}: {} trailing bytes", self.remaining())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut w = ByteWriter::new();
        w.put_u8(7);
        w.put_u16(300);
        w.put_u32(70_000);
        w.put_u64(u64::MAX - 1);
        w.put_str("héllo");
        w.put_bytes(&[1, 2, 3]);
        let bytes = w.into_inner();
        let mut r = ByteReader::new(&bytes, 100);
        assert_eq!(r.u8("a").unwrap(), 7);
        assert_eq!(r.u16("b").unwrap(), 300);
        assert_eq!(r.u32("c").unwrap(), 70_000);
        assert_eq!(r.u64("d").unwrap(), u64::MAX - 1);
        assert_eq!(r.str("e").unwrap(), "héllo");
        assert_eq!(r.bytes("f").unwrap(), &[1, 2, 3]);
        r.finish("end").unwrap();
    }

    #[test]
    fn short_and_bad_input_is_an_error() {
        let mut r = ByteReader::new(&[5, 0, 0, 0, b'a'], 10);
        match r.str("name") {
            Err(Error::Corrupt { offset, what }) => {
                assert_eq!(offset, 14);
                assert!(what.contains("name"), "{what}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        let mut r = ByteReader::new(&[1, 0, 0, 0, 0xff], 0);
        assert!(r.str("name").is_err());
        let mut r = ByteReader::new(&[0xff, 0xff, 0xff, 0xff], 0);
        assert!(r.bytes("huge").is_err());
    }
}
