//! Cutting a CSV byte stream into chunks that start at record starts, and
//! running a function over the chunks on worker threads, results in file
//! order.
//!
//! The splitter reads the source in blocks and runs a quote-aware scan over
//! the new bytes (memchr for the quote, the escape and LF): outside quotes an
//! LF ends a record, a quote opens a quoted section; inside, the quote closes
//! it (with `escape == quote` a doubled quote toggles twice and so stays
//! inside) and an escape byte takes the next byte as data. That is exactly
//! where `csv::Dialect::parse_record` ends records, so every chunk holds whole
//! records and parses the same as the file would sequentially. A record
//! longer than the chunk size makes its chunk longer; the scan state carries
//! over between blocks, so each byte is scanned once.
//!
//! Invariants:
//! - Chunk k starts on line `first_line` (1-based physical lines), the sum of
//!   the LFs of the header and chunks 0..k, plus one.
//! - At most `in_flight` chunks are read but not yet consumed, so memory is
//!   bounded by about `in_flight * chunk_bytes` whatever the file size.
//! - Results come back in chunk order, and iteration ends at the first error,
//!   so the error a caller sees is the first one in the file whatever the
//!   thread count and chunk size.

use std::collections::BTreeMap;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::UTF8_BOM;
use super::csv::{Dialect, Parsed, Record};
use crate::error::{Error, Result};

/// Whole records of the file, starting on line `first_line`.
#[derive(Debug)]
pub(crate) struct Chunk {
    pub(crate) first_line: u64,
    /// Line breaks in `bytes` (records are at most one more).
    pub(crate) lines: u64,
    pub(crate) bytes: Vec<u8>,
    /// Where the buffer goes back to once the chunk is dropped.
    recycle: Option<Sender<Vec<u8>>>,
}

impl Drop for Chunk {
    fn drop(&mut self) {
        if let Some(recycle) = &self.recycle {
            // The splitter may be gone: the buffer is then freed.
            let _ = recycle.send(std::mem::take(&mut self.bytes));
        }
    }
}

/// Bytes of the file the loader holds: read and not yet handed on as
/// batches (chunks in flight, and the splitter's buffer), and the peak.
#[derive(Debug, Default)]
pub(crate) struct Buffered {
    now: AtomicU64,
    peak: AtomicU64,
}

impl Buffered {
    fn add(&self, bytes: usize, pending: usize) {
        let now = self.now.fetch_add(bytes as u64, Ordering::Relaxed) + bytes as u64;
        self.peak.fetch_max(now + pending as u64, Ordering::Relaxed);
    }

    /// A chunk of `bytes` bytes was handed on.
    pub(crate) fn release(&self, bytes: usize) {
        self.now.fetch_sub(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

/// Where the boundary scan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    Outside,
    Inside,
    /// Inside, just after an escape byte (the next byte is data).
    AfterEscape,
}

/// Reads a source and cuts it into chunks at record ends.
pub(crate) struct Splitter {
    source: Box<dyn Read + Send>,
    path: String,
    dialect: Dialect,
    chunk_bytes: usize,
    pending: Vec<u8>,
    scanned: usize,
    state: Quote,
    /// End of the last complete record in `pending`.
    last_end: Option<usize>,
    eof: bool,
    next_line: u64,
    bytes_read: Arc<AtomicU64>,
    buffered: Arc<Buffered>,
    /// Buffers of chunks done with, to read into again: a fresh buffer a
    /// chunk would cost the kernel zeroing its pages every time.
    recycled: Receiver<Vec<u8>>,
    recycle: Sender<Vec<u8>>,
}

impl std::fmt::Debug for Splitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Splitter")
            .field("path", &self.path)
            .field("chunk_bytes", &self.chunk_bytes)
            .field("next_line", &self.next_line)
            .finish()
    }
}

impl Splitter {
    pub(crate) fn new(
        source: Box<dyn Read + Send>,
        path: String,
        dialect: Dialect,
        chunk_bytes: usize,
        bytes_read: Arc<AtomicU64>,
    ) -> Splitter {
        let (recycle, recycled) = channel();
        Splitter {
            source,
            path,
            dialect,
            chunk_bytes: chunk_bytes.max(1),
            pending: Vec::new(),
            scanned: 0,
            state: Quote::Outside,
            last_end: None,
            eof: false,
            next_line: 1,
            bytes_read,
            buffered: Arc::default(),
            recycled,
            recycle,
        }
    }

    /// Counts the bytes this splitter holds and hands out in `buffered`.
    pub(crate) fn with_buffered(mut self, buffered: Arc<Buffered>) -> Splitter {
        self.buffered = buffered;
        self
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Skips a UTF-8 byte order mark (when `skip_bom`) and parses the first
    /// record; `consume` drops it from the data (a header). `None`: the file
    /// is empty.
    ///
    /// # Errors
    /// `Io` when reading fails, `Csv` when the first record is malformed.
    pub(crate) fn first_record(&mut self, skip_bom: bool, consume: bool) -> Result<Option<Record>> {
        while self.last_end.is_none() && !self.eof {
            self.fill()?;
            self.scan();
        }
        if skip_bom && self.pending.starts_with(UTF8_BOM) {
            self.pending.drain(..UTF8_BOM.len());
            self.scanned -= UTF8_BOM.len();
            self.last_end = self.last_end.map(|e| e - UTF8_BOM.len());
        }
        let end = self.last_end.unwrap_or(self.pending.len());
        let mut record = Record::default();
        match self
            .dialect
            .parse_record(&self.pending[..end], true, 1, &mut record)
        {
            Err(e) => Err(csv_error(&self.path, e)),
            Ok(Parsed::End) => Ok(None),
            Ok(Parsed::Incomplete) => Err(Error::Internal {
                what: "CSV splitter: first record incomplete with eof".into(),
            }),
            Ok(Parsed::Record { len }) => {
                if consume {
                    self.pending.drain(..len);
                    self.scanned -= len;
                    self.last_end = self.last_end.and_then(|e| e.checked_sub(len));
                    self.last_end = self.last_end.filter(|&e| e > 0);
                    self.next_line += record.line_breaks;
                }
                Ok(Some(record))
            }
        }
    }

    /// The next chunk, `None` after the last.
    ///
    /// # Errors
    /// `Io` when reading fails.
    pub(crate) fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        loop {
            self.scan();
            let cut = if self.eof {
                Some(self.pending.len())
            } else if self.pending.len() >= self.chunk_bytes {
                self.last_end
            } else {
                None
            };
            if let Some(cut) = cut {
                if cut == 0 {
                    return Ok(None);
                }
                // The bytes after the cut start the next chunk, in a
                // buffer a chunk gave back when there is one.
                let mut rest = self.recycled.try_recv().unwrap_or_default();
                rest.clear();
                rest.extend_from_slice(&self.pending[cut..]);
                self.pending.truncate(cut);
                let bytes = std::mem::replace(&mut self.pending, rest);
                self.scanned -= cut;
                self.last_end = None;
                let first_line = self.next_line;
                let lines = memchr::memchr_iter(b'\n', &bytes).count() as u64;
                self.next_line += lines;
                self.buffered.add(bytes.len(), self.pending.len());
                return Ok(Some(Chunk {
                    first_line,
                    lines,
                    bytes,
                    recycle: Some(self.recycle.clone()),
                }));
            }
            self.fill()?;
        }
    }

    /// Scans the new bytes of `pending` for record ends.
    fn scan(&mut self) {
        let Dialect { quote, escape, .. } = self.dialect;
        let buf = &self.pending;
        let mut i = self.scanned;
        let mut state = self.state;
        while i < buf.len() {
            let rest = &buf[i..];
            match state {
                Quote::Outside => match memchr::memchr2(quote, b'\n', rest) {
                    None => i = buf.len(),
                    Some(p) => {
                        let at = i + p;
                        if buf[at] == b'\n' {
                            self.last_end = Some(at + 1);
                        } else {
                            state = Quote::Inside;
                        }
                        i = at + 1;
                    }
                },
                Quote::Inside => {
                    let found = if escape == quote {
                        memchr::memchr(quote, rest)
                    } else {
                        memchr::memchr2(quote, escape, rest)
                    };
                    match found {
                        None => i = buf.len(),
                        Some(p) => {
                            let at = i + p;
                            state = if buf[at] == quote {
                                Quote::Outside
                            } else {
                                Quote::AfterEscape
                            };
                            i = at + 1;
                        }
                    }
                }
                Quote::AfterEscape => {
                    state = Quote::Inside;
                    i += 1;
                }
            }
        }
        self.scanned = i;
        self.state = state;
    }

    /// Reads a chunk's worth of bytes more, or up to the end of the source
    /// (which is then reached). Reading into the buffer's spare capacity
    /// needs no zeroing first.
    fn fill(&mut self) -> Result<()> {
        let start = self.pending.len();
        let want = self.chunk_bytes.min(1 << 24);
        self.pending.reserve(want);
        match (&mut self.source)
            .take(want as u64)
            .read_to_end(&mut self.pending)
        {
            Ok(n) => {
                self.buffered.add(0, self.pending.len());
                self.eof = n < want;
                self.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
                Ok(())
            }
            Err(source) => {
                self.pending.truncate(start);
                Err(Error::Io {
                    op: "could not read from external source",
                    path: self.path.clone(),
                    source,
                })
            }
        }
    }
}

pub(crate) fn csv_error(path: &str, e: super::csv::ParseError) -> Error {
    Error::Csv {
        path: path.to_string(),
        line: e.line,
        column: e.field.max(1),
        reason: e.kind.message().to_string(),
    }
}

/// End (exclusive) of the record at the start of `bytes` by the boundary
/// scan: just past the first LF outside quotes, or the end of `bytes`.
pub(crate) fn record_end(dialect: Dialect, bytes: &[u8]) -> usize {
    let Dialect { quote, escape, .. } = dialect;
    let mut state = Quote::Outside;
    for (i, &b) in bytes.iter().enumerate() {
        state = match state {
            Quote::Outside if b == b'\n' => return i + 1,
            Quote::Outside if b == quote => Quote::Inside,
            Quote::Outside => Quote::Outside,
            Quote::Inside if b == quote => Quote::Outside,
            Quote::Inside if b == escape => Quote::AfterEscape,
            Quote::Inside | Quote::AfterEscape => Quote::Inside,
        };
    }
    bytes.len()
}

/// A message from the splitter or a worker, keyed by chunk index.
enum Msg<T> {
    Item(Result<T>),
    End,
}

/// The results of a function over the chunks of a source, in chunk order.
pub(crate) struct OrderedResults<T> {
    /// With one thread: the splitter and the function, run on the caller's
    /// thread (no reader or worker threads: one thread is one core).
    inline: Option<Inline<T>>,
    results: Option<Receiver<(u64, Msg<T>)>>,
    tickets: Option<SyncSender<()>>,
    ready: BTreeMap<u64, Msg<T>>,
    next: u64,
    done: bool,
    threads: Vec<JoinHandle<()>>,
}

impl<T> std::fmt::Debug for OrderedResults<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderedResults")
            .field("next", &self.next)
            .field("done", &self.done)
            .finish()
    }
}

/// A chunk function.
type Work<T> = Arc<dyn Fn(Chunk) -> Result<T> + Send + Sync>;

/// The splitter and the function of a one-thread run.
struct Inline<T> {
    splitter: Splitter,
    work: Work<T>,
}

/// Runs `work` over the chunks of `splitter` on `threads` workers (and one
/// reading thread); the results come back in order. With one thread,
/// reading and `work` run on the caller's thread as it iterates.
pub(crate) fn parallel_chunks<T: Send + 'static>(
    mut splitter: Splitter,
    threads: usize,
    work: Work<T>,
) -> OrderedResults<T> {
    if threads <= 1 {
        return OrderedResults {
            inline: Some(Inline { splitter, work }),
            results: None,
            tickets: None,
            ready: BTreeMap::new(),
            next: 0,
            done: false,
            threads: Vec::new(),
        };
    }
    let in_flight = 2 * threads + 1;
    let (result_tx, result_rx) = channel::<(u64, Msg<T>)>();
    let (ticket_tx, ticket_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        // Invariant: the channel has room for every ticket.
        let _ = ticket_tx.send(());
    }
    let (work_tx, work_rx) = sync_channel::<(u64, Chunk)>(threads);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let mut handles = Vec::with_capacity(threads + 1);
    {
        let result_tx = result_tx.clone();
        handles.push(std::thread::spawn(move || {
            let mut index = 0;
            loop {
                if ticket_rx.recv().is_err() {
                    return; // the consumer is gone
                }
                match splitter.next_chunk() {
                    Ok(Some(chunk)) => {
                        if work_tx.send((index, chunk)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => {
                        let _ = result_tx.send((index, Msg::End));
                        return;
                    }
                    Err(e) => {
                        let _ = result_tx.send((index, Msg::Item(Err(e))));
                        return;
                    }
                }
                index += 1;
            }
        }));
    }
    for _ in 0..threads {
        let work_rx = Arc::clone(&work_rx);
        let result_tx = result_tx.clone();
        let work = Arc::clone(&work);
        handles.push(std::thread::spawn(move || {
            loop {
                let next = match work_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok((index, chunk)) = next else {
                    return;
                };
                let out = catch_unwind(AssertUnwindSafe(|| work(chunk))).unwrap_or_else(|_| {
                    Err(Error::Internal {
                        what: format!("a loader thread panicked on chunk {index}"),
                    })
                });
                if result_tx.send((index, Msg::Item(out))).is_err() {
                    return;
                }
            }
        }));
    }
    OrderedResults {
        inline: None,
        results: Some(result_rx),
        tickets: Some(ticket_tx),
        ready: BTreeMap::new(),
        next: 0,
        done: false,
        threads: handles,
    }
}

impl<T> Iterator for OrderedResults<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        if self.done {
            return None;
        }
        if let Some(inline) = &mut self.inline {
            let item = match inline.splitter.next_chunk() {
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Ok(Some(chunk)) => (inline.work)(chunk),
                Err(e) => Err(e),
            };
            self.done = item.is_err();
            return Some(item);
        }
        let msg = loop {
            if let Some(msg) = self.ready.remove(&self.next) {
                break msg;
            }
            let received = self.results.as_ref().map(Receiver::recv);
            match received {
                Some(Ok((index, msg))) => {
                    self.ready.insert(index, msg);
                }
                _ => {
                    self.done = true;
                    return Some(Err(Error::Internal {
                        what: "the CSV loader's threads stopped early".into(),
                    }));
                }
            }
        };
        match msg {
            Msg::End => {
                self.done = true;
                None
            }
            Msg::Item(item) => {
                self.next += 1;
                if item.is_err() {
                    self.done = true;
                } else if let Some(t) = &self.tickets {
                    let _ = t.send(());
                }
                Some(item)
            }
        }
    }
}

impl<T> Drop for OrderedResults<T> {
    fn drop(&mut self) {
        // Closing the channels stops the reader at its next ticket and the
        // workers at their next send.
        self.tickets = None;
        self.results = None;
        self.ready.clear();
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC: Dialect = Dialect {
        delimiter: b',',
        quote: b'"',
        escape: b'"',
    };

    fn chunks(input: &[u8], d: Dialect, chunk_bytes: usize) -> Vec<(u64, Vec<u8>)> {
        let mut s = Splitter::new(
            Box::new(std::io::Cursor::new(input.to_vec())),
            "t".into(),
            d,
            chunk_bytes,
            Arc::default(),
        );
        let mut out = Vec::new();
        while let Some(mut c) = s.next_chunk().unwrap() {
            out.push((c.first_line, std::mem::take(&mut c.bytes)));
        }
        out
    }

    #[test]
    fn chunks_end_at_record_ends_outside_quotes() {
        let input = b"a,\"x\ny\"\nb,\"\"\"\n\"\nc,d\n";
        for size in 1..input.len() + 2 {
            let got = chunks(input, RFC, size);
            assert_eq!(got.concat_bytes(), input, "size {size}");
            for (_, c) in &got[..got.len() - 1] {
                assert_eq!(c.last(), Some(&b'\n'), "size {size}");
                // Never cut inside the quoted newlines.
                assert!(!c.ends_with(b"\"x\n") && !c.ends_with(b"\"\"\"\n"));
            }
            let lines: Vec<u64> = got.iter().map(|c| c.0).collect();
            assert_eq!(lines[0], 1);
        }
        assert_eq!(
            chunks(input, RFC, 1)
                .iter()
                .map(|c| c.0)
                .collect::<Vec<_>>(),
            [1, 3, 5]
        );
    }

    #[test]
    fn escape_other_than_quote() {
        let d = Dialect {
            escape: b'\\',
            ..RFC
        };
        let input = b"\"a\\\"\nb\"\nc\n";
        assert_eq!(
            chunks(input, d, 1)
                .iter()
                .map(|c| c.1.clone())
                .collect::<Vec<_>>(),
            [b"\"a\\\"\nb\"\n".to_vec(), b"c\n".to_vec()]
        );
        assert_eq!(record_end(d, input), 8);
        assert_eq!(record_end(RFC, b"\"a\nb"), 4);
    }

    trait Concat {
        fn concat_bytes(&self) -> Vec<u8>;
    }
    impl Concat for Vec<(u64, Vec<u8>)> {
        fn concat_bytes(&self) -> Vec<u8> {
            self.iter().flat_map(|c| c.1.clone()).collect()
        }
    }
}
