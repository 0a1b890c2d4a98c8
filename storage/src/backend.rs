//! The file seam: all I/O of the storage layer goes through [`Backend`], so that
//! tests can run on memory and inject faults.
//!
//! Invariant: nothing in `storage` touches `std::fs` for database bytes except
//! [`FileBackend`].

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use parking_lot::Mutex;

pub(crate) mod faulty;

/// Positional I/O on one file.
#[allow(clippy::len_without_is_empty)] // reason: a file's length is a byte count, not a collection size
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// Fills `buf` from `offset`; a short file is `UnexpectedEof`.
    ///
    /// # Errors
    /// The OS error, or `UnexpectedEof`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes all of `buf` at `offset`, growing the file as needed.
    ///
    /// # Errors
    /// The OS error.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// The file's length in bytes.
    ///
    /// # Errors
    /// The OS error.
    fn len(&self) -> io::Result<u64>;
    /// Truncates or extends the file.
    ///
    /// # Errors
    /// The OS error.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Makes everything written so far durable.
    ///
    /// # Errors
    /// The OS error.
    fn sync(&self) -> io::Result<()>;
}

/// A real file.
#[derive(Debug)]
pub struct FileBackend {
    file: File,
}

impl FileBackend {
    /// Wraps an open file.
    pub fn new(file: File) -> Self {
        Self { file }
    }

    /// The file, for locking.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }
}

impl Backend for FileBackend {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(buf, offset)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// A file in memory, for tests (its fault-injecting twin is
/// `testing::FaultyBackend`).
#[derive(Debug, Default)]
pub struct MemBackend {
    bytes: Mutex<Vec<u8>>,
}

impl MemBackend {
    /// An empty in-memory file.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the current contents.
    pub fn snapshot(&self) -> Vec<u8> {
        self.bytes.lock().clone()
    }

    /// An in-memory file holding `bytes`.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self {
            bytes: Mutex::new(bytes),
        }
    }
}

fn to_usize(v: u64) -> io::Result<usize> {
    usize::try_from(v).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))
}

impl Backend for MemBackend {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let bytes = self.bytes.lock();
        let start = to_usize(offset)?;
        let end = start
            .checked_add(buf.len())
            .filter(|end| *end <= bytes.len())
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(&bytes[start..end]);
        Ok(())
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut bytes = self.bytes.lock();
        let start = to_usize(offset)?;
        let end = start + buf.len();
        if bytes.len() < end {
            bytes.resize(end, 0);
        }
        bytes[start..end].copy_from_slice(buf);
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.bytes.lock().len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.bytes.lock().resize(to_usize(len)?, 0);
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
}
