//! Opening a load source: a plain file, or a gzip (`.gz`) or zstd (`.zst`)
//! compressed one, chosen by the file name's extension.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// How a file is compressed, by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub(crate) fn of(path: &Path) -> Compression {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("gz") => Compression::Gzip,
            Some(e) if e.eq_ignore_ascii_case("zst") => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

/// The decompressed bytes of `path`.
///
/// # Errors
/// `Io` ("could not read from external source") when the file cannot be
/// opened or is not valid zstd.
pub(crate) fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    let io = |source: std::io::Error| Error::Io {
        op: "could not read from external source",
        path: path.display().to_string(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    Ok(match Compression::of(path) {
        Compression::None => Box::new(file),
        // Multi-member: `cat a.gz b.gz` is one stream, as gzip reads it.
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(file).map_err(io)?),
    })
}
