//! The file header: two slots, so that a torn header write never loses the last
//! commit.
//!
//! File layout (format version 1), all integers little-endian:
//!
//! ```text
//! offset 0        header slot A (SLOT_LEN bytes)
//! offset 2048     header slot B (SLOT_LEN bytes; another disk sector than A)
//! offset 4096     data region: block columns and catalog blobs, in free space
//! ```
//!
//! A slot:
//!
//! ```text
//!  0  magic            [u8; 8]   MAGIC
//!  8  format_version   u32       FORMAT_VERSION
//! 12  flags            u32       0 (reserved)
//! 16  sequence         u64       commit number; the valid slot with the larger one wins
//! 24  catalog_offset   u64       where the catalog blob of this commit starts
//! 32  catalog_len      u64       its length in bytes
//! 40  file_end         u64       end of committed data; bytes past it are garbage
//! 48  catalog_crc      u32       crc32c of the catalog blob
//! 52  slot_crc         u32       crc32c of bytes 0..52 of this slot
//! 56  (end)
//! ```
//!
//! Commit n writes slot `n % 2` after the data and catalog it points to are
//! durable, so the other slot still holds commit n-1 if the write tears.

use hyperctl_format::{ByteReader, ByteWriter, crc32c};

use crate::backend::Backend;

/// First bytes of every `.hxe` file (PNG-style: catches text-mode mangling).
pub(crate) const MAGIC: [u8; 8] = *b"\x89HXE\r\n\x1a\n";
/// The file format version this code writes (and the newest it reads).
pub(crate) const FORMAT_VERSION: u32 = 1;

const MAGIC_OFFSET: usize = 0;
const VERSION_OFFSET: usize = MAGIC_OFFSET + 8;
const FLAGS_OFFSET: usize = VERSION_OFFSET + 4;
const SEQUENCE_OFFSET: usize = FLAGS_OFFSET + 4;
const CATALOG_OFFSET_OFFSET: usize = SEQUENCE_OFFSET + 8;
const CATALOG_LEN_OFFSET: usize = CATALOG_OFFSET_OFFSET + 8;
const FILE_END_OFFSET: usize = CATALOG_LEN_OFFSET + 8;
const CATALOG_CRC_OFFSET: usize = FILE_END_OFFSET + 8;
const SLOT_CRC_OFFSET: usize = CATALOG_CRC_OFFSET + 4;
/// Bytes in one header slot.
pub(crate) const SLOT_LEN: usize = SLOT_CRC_OFFSET + 4;
/// File offsets of slot A and slot B.
pub(crate) const SLOT_OFFSETS: [u64; 2] = [0, 2048];
/// Where the data region starts.
pub(crate) const DATA_START: u64 = 4096;

/// The contents of one header slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) version: u32,
    pub(crate) sequence: u64,
    pub(crate) catalog_offset: u64,
    pub(crate) catalog_len: u64,
    pub(crate) file_end: u64,
    pub(crate) catalog_crc: u32,
}

/// Why a slot could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SlotError {
    /// Not our magic: not a database (or a never-written slot).
    BadMagic,
    /// Our magic, but the checksum fails: a torn or damaged write.
    BadChecksum,
    /// Our magic and checksum, but fields that cannot be right.
    Invalid {
        /// The slot's commit number (its checksum is right, so it is what
        /// was written).
        sequence: u64,
        /// What cannot be right.
        reason: String,
    },
}

/// What one header slot of a file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SlotState {
    /// A valid header.
    Valid(Header),
    /// Never written: all zeros, or past the end of the file.
    Unused,
    /// Not a valid header (see [`SlotError`]).
    Bad(SlotError),
}

/// Reads header slot `slot` (0 = A, 1 = B).
///
/// # Errors
/// The backend's error, except that a file too short to hold the slot makes
/// it `Unused` (a slot can only be torn, never half present: the data region
/// behind it is written first).
pub(crate) fn read_slot(backend: &dyn Backend, slot: usize) -> std::io::Result<SlotState> {
    let mut buf = [0u8; SLOT_LEN];
    match backend.read_exact_at(&mut buf, SLOT_OFFSETS[slot]) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(SlotState::Unused),
        Err(e) => return Err(e),
    }
    if buf.iter().all(|b| *b == 0) {
        return Ok(SlotState::Unused);
    }
    Ok(match Header::decode(&buf) {
        Ok(h) => SlotState::Valid(h),
        Err(e) => SlotState::Bad(e),
    })
}

/// Which slot recovery uses: the valid one with the larger sequence number.
///
/// The other slot may be unused or torn (a crash during a header write) and
/// is then ignored. A slot that carries a correct checksum but impossible
/// fields cannot come from a torn write; it is damage, and recovery must not
/// fall back past it when it claims a newer commit than the valid slot.
///
/// # Errors
/// `Err(None)` when no slot is valid, `Err(Some((slot, reason)))` for a slot
/// that is damaged as above.
pub(crate) fn choose_slot(
    slots: &[SlotState; 2],
) -> Result<(usize, Header), Option<(usize, String)>> {
    let valid = slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            SlotState::Valid(h) => Some((i, *h)),
            _ => None,
        })
        .max_by_key(|(_, h)| h.sequence);
    for (i, s) in slots.iter().enumerate() {
        if let SlotState::Bad(SlotError::Invalid { sequence, reason }) = s
            && valid.is_none_or(|(_, h)| *sequence >= h.sequence)
        {
            return Err(Some((i, reason.clone())));
        }
    }
    valid.ok_or(None)
}

impl Header {
    pub(crate) fn encode(&self) -> [u8; SLOT_LEN] {
        let mut w = ByteWriter::new();
        w.put_raw(&MAGIC);
        w.put_u32(self.version);
        w.put_u32(0);
        w.put_u64(self.sequence);
        w.put_u64(self.catalog_offset);
        w.put_u64(self.catalog_len);
        w.put_u64(self.file_end);
        w.put_u32(self.catalog_crc);
        let crc = crc32c(w.as_slice());
        w.put_u32(crc);
        let mut out = [0u8; SLOT_LEN];
        out.copy_from_slice(w.as_slice());
        out
    }

    pub(crate) fn decode(bytes: &[u8; SLOT_LEN]) -> Result<Header, SlotError> {
        if bytes[..8] != MAGIC {
            return Err(SlotError::BadMagic);
        }
        let mut r = ByteReader::new(bytes, 0);
        let field = |r: &mut ByteReader<'_>, what| r.u64(what).map_err(|_| SlotError::BadChecksum);
        let stored_crc = u32::from_le_bytes(
            bytes[SLOT_CRC_OFFSET..SLOT_LEN]
                .try_into()
                .map_err(|_| SlotError::BadChecksum)?,
        );
        if crc32c(&bytes[..SLOT_CRC_OFFSET]) != stored_crc {
            return Err(SlotError::BadChecksum);
        }
        r.raw(8, "magic").map_err(|_| SlotError::BadChecksum)?;
        let version = r.u32("version").map_err(|_| SlotError::BadChecksum)?;
        let _flags = r.u32("flags").map_err(|_| SlotError::BadChecksum)?;
        let header = Header {
            version,
            sequence: field(&mut r, "sequence")?,
            catalog_offset: field(&mut r, "catalog offset")?,
            catalog_len: field(&mut r, "catalog length")?,
            file_end: field(&mut r, "file end")?,
            catalog_crc: r.u32("catalog crc").map_err(|_| SlotError::BadChecksum)?,
        };
        header.check()?;
        Ok(header)
    }

    /// The slot (0 = A, 1 = B) that commit `sequence` is written to.
    pub(crate) fn slot_of(sequence: u64) -> usize {
        (sequence % 2) as usize
    }

    fn check(&self) -> Result<(), SlotError> {
        let catalog_end = self.catalog_offset.checked_add(self.catalog_len);
        if self.catalog_offset < DATA_START || catalog_end.is_none_or(|end| end > self.file_end) {
            return Err(SlotError::Invalid {
                sequence: self.sequence,
                reason: format!(
                    "catalog at {}+{} lies outside the data region ending at {}",
                    self.catalog_offset, self.catalog_len, self.file_end
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            version: FORMAT_VERSION,
            sequence: 7,
            catalog_offset: DATA_START,
            catalog_len: 10,
            file_end: DATA_START + 10,
            catalog_crc: 0xdead_beef,
        }
    }

    #[test]
    fn round_trip() {
        let h = sample();
        assert_eq!(Header::decode(&h.encode()), Ok(h));
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let bytes = sample().encode();
        for i in 0..SLOT_LEN {
            let mut bad = bytes;
            bad[i] ^= 0x40;
            assert!(Header::decode(&bad).is_err(), "flip at {i} undetected");
        }
    }

    #[test]
    fn impossible_fields_are_rejected() {
        let mut h = sample();
        h.catalog_len = u64::MAX;
        assert!(matches!(
            Header::decode(&h.encode()),
            Err(SlotError::Invalid { .. })
        ));
    }
}
