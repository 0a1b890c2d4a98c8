//! Execution options (threads, morsel size, memory limit) and the memory
//! accounting that enforces the limit.
//!
//! Invariant: a [`Reservation`] gives back what it holds when dropped, so the
//! pool's `used` count is the sum of the live reservations.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};
use crate::kernels::Tier;

/// Rows per morsel unless [`ExecOptionsBuilder::morsel_rows`] says otherwise.
pub const DEFAULT_MORSEL_ROWS: usize = 16_384;

/// How [`collect_with`](crate::collect_with) runs a plan: the number of
/// worker threads, the morsel size and the memory limit. Build one with
/// [`ExecOptions::builder`]; [`Default`] uses every core, morsels of
/// [`DEFAULT_MORSEL_ROWS`] rows and no memory limit.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ExecOptions {
    threads: NonZeroUsize,
    morsel_rows: NonZeroUsize,
    memory_limit_bytes: Option<usize>,
    /// Set by another thread to stop the query (`Error::Cancelled`).
    pub(crate) cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// Tests: caps the SIMD tier of the filter kernels.
    pub(crate) tier: Option<Tier>,
    /// Tests: every hash key gets the same hash.
    pub(crate) force_hash_collisions: bool,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions::builder().build()
    }
}

impl ExecOptions {
    /// A builder that starts from the defaults.
    pub fn builder() -> ExecOptionsBuilder {
        ExecOptionsBuilder {
            threads: None,
            morsel_rows: DEFAULT_MORSEL_ROWS,
            memory_limit_bytes: None,
            cancel: None,
        }
    }

    /// Worker threads per pipeline.
    pub fn threads(&self) -> usize {
        self.threads.get()
    }

    /// Rows per morsel: scan batches are cut into pieces of at most this many
    /// rows, and each worker takes one piece at a time.
    pub fn morsel_rows(&self) -> usize {
        self.morsel_rows.get()
    }

    /// The memory limit of the hash aggregate, hash join build and sort
    /// state of one query, if any.
    pub fn memory_limit_bytes(&self) -> Option<usize> {
        self.memory_limit_bytes
    }
}

/// Builds [`ExecOptions`].
#[derive(Debug, Clone)]
pub struct ExecOptionsBuilder {
    threads: Option<usize>,
    morsel_rows: usize,
    memory_limit_bytes: Option<usize>,
    cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl ExecOptionsBuilder {
    /// Worker threads per pipeline; 0 means one per core
    /// (`std::thread::available_parallelism`, the default).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = (threads > 0).then_some(threads);
        self
    }

    /// Rows per morsel (0 is taken as 1).
    pub fn morsel_rows(mut self, rows: usize) -> Self {
        self.morsel_rows = rows;
        self
    }

    /// Fails a query with [`Error::MemoryLimit`] when its hash tables and
    /// sort buffers need more than `bytes`; `None` (the default) for no limit.
    pub fn memory_limit_bytes(mut self, bytes: Option<usize>) -> Self {
        self.memory_limit_bytes = bytes;
        self
    }

    /// A flag another thread sets to stop the running query: workers check
    /// it between morsels, and the query fails with
    /// [`Error::Cancelled`](crate::Error::Cancelled) (SQL's 57014).
    pub fn cancel_flag(mut self, flag: Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// The options.
    pub fn build(self) -> ExecOptions {
        // Asking the OS reads cgroup files: once per process is enough.
        static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        let cores = *CORES
            .get_or_init(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get));
        let threads = self.threads.unwrap_or(cores);
        ExecOptions {
            threads: NonZeroUsize::new(threads).unwrap_or(NonZeroUsize::MIN),
            morsel_rows: NonZeroUsize::new(self.morsel_rows).unwrap_or(NonZeroUsize::MIN),
            memory_limit_bytes: self.memory_limit_bytes,
            cancel: self.cancel,
            tier: None,
            force_hash_collisions: false,
        }
    }
}

/// The memory of one query's operators, against an optional limit.
#[derive(Debug)]
pub(crate) struct MemoryPool {
    limit: Option<usize>,
    used: AtomicUsize,
}

impl MemoryPool {
    pub(crate) fn new(limit: Option<usize>) -> Arc<Self> {
        Arc::new(MemoryPool {
            limit,
            used: AtomicUsize::new(0),
        })
    }

    /// An empty reservation charged to `operator`.
    pub(crate) fn reserve(self: &Arc<Self>, operator: &'static str) -> Reservation {
        Reservation {
            pool: self.clone(),
            operator,
            bytes: 0,
        }
    }

    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

/// Bytes one operator instance holds from a [`MemoryPool`].
#[derive(Debug)]
pub(crate) struct Reservation {
    pool: Arc<MemoryPool>,
    operator: &'static str,
    bytes: usize,
}

impl Reservation {
    /// Sets the reservation to `bytes`.
    ///
    /// # Errors
    ///
    /// [`Error::MemoryLimit`] when growing would pass the pool's limit; the
    /// reservation then keeps its old size.
    pub(crate) fn resize(&mut self, bytes: usize) -> Result<()> {
        if bytes <= self.bytes {
            self.pool
                .used
                .fetch_sub(self.bytes - bytes, Ordering::Relaxed);
            self.bytes = bytes;
            return Ok(());
        }
        let grow = bytes - self.bytes;
        let before = self.pool.used.fetch_add(grow, Ordering::Relaxed);
        if let Some(limit) = self.pool.limit
            && before.saturating_add(grow) > limit
        {
            self.pool.used.fetch_sub(grow, Ordering::Relaxed);
            return Err(Error::MemoryLimit {
                operator: self.operator,
                limit_bytes: limit,
            });
        }
        self.bytes = bytes;
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.pool.used.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_defaults_and_clamps() {
        let d = ExecOptions::default();
        assert!(d.threads() >= 1);
        assert_eq!(d.morsel_rows(), DEFAULT_MORSEL_ROWS);
        assert_eq!(d.memory_limit_bytes(), None);
        let o = ExecOptions::builder()
            .threads(3)
            .morsel_rows(0)
            .memory_limit_bytes(Some(10))
            .build();
        assert_eq!((o.threads(), o.morsel_rows()), (3, 1));
        assert_eq!(o.memory_limit_bytes(), Some(10));
        assert_eq!(
            ExecOptions::builder().threads(0).build().threads(),
            d.threads()
        );
    }

    #[test]
    fn reservations_account_and_fail_at_the_limit() {
        let pool = MemoryPool::new(Some(100));
        let mut a = pool.reserve("sort");
        a.resize(60).unwrap();
        let mut b = pool.reserve("hash aggregate");
        let e = b.resize(41).unwrap_err();
        assert!(matches!(
            e,
            Error::MemoryLimit {
                operator: "hash aggregate",
                limit_bytes: 100
            }
        ));
        assert_eq!(pool.used(), 60);
        b.resize(40).unwrap();
        a.resize(10).unwrap();
        assert_eq!(pool.used(), 50);
        drop(a);
        drop(b);
        assert_eq!(pool.used(), 0);
    }
}
