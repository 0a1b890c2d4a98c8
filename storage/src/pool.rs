//! The buffer pool: decoded block columns (and their packed forms, for
//! range selection) cached under a memory budget,
//! evicted by a segmented LRU that resists scans.
//!
//! A new entry starts on probation; one used again moves to the protected
//! segment, which holds at most three quarters of the budget (its least
//! recently used entries fall back to probation). While the protected
//! segment has room, the probationary entries that would be evicted move
//! there instead. So a scan of columns larger than the budget, repeated (a
//! query run again, or the next query reading the same columns), keeps
//! hitting the protected part, where plain LRU evicts each entry just
//! before the scan comes back to it and never hits. A protected entry not
//! used while twice the budget was inserted is stale and evicted first, so
//! a new set of columns in use displaces the old. The raw bytes are read
//! with positional reads and left to the OS page cache.
//!
//! Invariant: an entry is keyed by the extent it was decoded from, and the
//! allocator removes an extent's entry before that extent can be reused.

use std::collections::{BTreeMap, HashMap};

use std::sync::Arc;

use hyperctl_format::PackedColumn;
use hyperctl_format::arrow::array::{Array, ArrayRef};
use parking_lot::Mutex;

use crate::catalog::Extent;

/// What an entry caches of an extent: its decoded array, or its packed
/// form for range selection (`None` when its encoding has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Form {
    Decoded,
    Packed,
}

type Key = (Extent, Form);

#[derive(Debug, Clone)]
enum Cached {
    Array(ArrayRef),
    Packed(Option<Arc<PackedColumn>>),
}

#[derive(Debug)]
struct Entry {
    value: Cached,
    bytes: usize,
    tick: u64,
    protected: bool,
    /// `State::inserted` when it was last inserted or used.
    seen: u64,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<Key, Entry>,
    /// Least recently used first, per segment.
    probation: BTreeMap<u64, Key>,
    protected: BTreeMap<u64, Key>,
    used: usize,
    protected_bytes: usize,
    /// Bytes inserted so far: the clock of staleness.
    inserted: u64,
    tick: u64,
    hits: u64,
    misses: u64,
}

impl State {
    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// Moves the protected segment's least recently used entries to
    /// probation (most recently used there) until it fits `limit`.
    fn shrink_protected(&mut self, limit: usize) {
        while self.protected_bytes > limit {
            let Some((_, extent)) = self.protected.pop_first() else {
                break;
            };
            let tick = self.next_tick();
            if let Some(e) = self.entries.get_mut(&extent) {
                e.protected = false;
                e.tick = tick;
                self.protected_bytes -= e.bytes;
                self.probation.insert(tick, extent);
            }
        }
    }

    /// Frees one entry's bytes: a stale protected entry, else the least
    /// recently used probationary one (moved to the protected segment
    /// instead while that has room under `limit`), else the least recently
    /// used protected one. `false` when the pool is empty.
    fn evict_one(&mut self, limit: usize, stale_after: u64) -> bool {
        loop {
            let stale = self.protected.first_key_value().and_then(|(_, e)| {
                let seen = self.entries.get(e)?.seen;
                (seen.saturating_add(stale_after) < self.inserted).then_some(*e)
            });
            let victim = match stale {
                Some(e) => {
                    self.protected.pop_first();
                    e
                }
                None => match self.probation.pop_first() {
                    Some((_, e)) => {
                        let bytes = self.entries.get(&e).map_or(0, |x| x.bytes);
                        if self.protected_bytes + bytes <= limit {
                            let tick = self.next_tick();
                            if let Some(x) = self.entries.get_mut(&e) {
                                x.protected = true;
                                x.tick = tick;
                            }
                            self.protected_bytes += bytes;
                            self.protected.insert(tick, e);
                            continue;
                        }
                        e
                    }
                    None => match self.protected.pop_first() {
                        Some((_, e)) => e,
                        None => return false,
                    },
                },
            };
            if let Some(e) = self.entries.remove(&victim) {
                self.used -= e.bytes;
                if e.protected {
                    self.protected_bytes -= e.bytes;
                }
            }
            return true;
        }
    }
}

/// Decoded columns under a byte budget.
#[derive(Debug)]
pub(crate) struct BufferPool {
    budget: usize,
    state: Mutex<State>,
}

impl BufferPool {
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            budget,
            state: Mutex::new(State::default()),
        }
    }

    /// The protected segment's share of the budget.
    fn protected_limit(&self) -> usize {
        self.budget / 4 * 3
    }

    pub(crate) fn get(&self, extent: Extent) -> Option<ArrayRef> {
        match self.lookup((extent, Form::Decoded))? {
            Cached::Array(array) => Some(array),
            Cached::Packed(_) => None,
        }
    }

    pub(crate) fn insert(&self, extent: Extent, array: &ArrayRef) {
        let bytes = array.get_array_memory_size();
        self.store((extent, Form::Decoded), Cached::Array(array.clone()), bytes);
    }

    /// The packed form of an extent: `None` when not cached, `Some(None)`
    /// when the extent's encoding has none.
    pub(crate) fn get_packed(&self, extent: Extent) -> Option<Option<Arc<PackedColumn>>> {
        match self.lookup((extent, Form::Packed))? {
            Cached::Packed(packed) => Some(packed),
            Cached::Array(_) => None,
        }
    }

    pub(crate) fn insert_packed(&self, extent: Extent, packed: Option<Arc<PackedColumn>>) {
        let bytes = packed.as_ref().map_or(64, |p| p.memory_size());
        self.store((extent, Form::Packed), Cached::Packed(packed), bytes);
    }

    fn lookup(&self, key: Key) -> Option<Cached> {
        let mut s = self.state.lock();
        let tick = s.next_tick();
        let now = s.inserted;
        let Some(entry) = s.entries.get_mut(&key) else {
            s.misses += 1;
            return None;
        };
        let old = std::mem::replace(&mut entry.tick, tick);
        let was_protected = std::mem::replace(&mut entry.protected, true);
        entry.seen = now;
        let (value, bytes) = (entry.value.clone(), entry.bytes);
        if was_protected {
            s.protected.remove(&old);
        } else {
            s.probation.remove(&old);
            s.protected_bytes += bytes;
        }
        s.protected.insert(tick, key);
        s.shrink_protected(self.protected_limit());
        s.hits += 1;
        Some(value)
    }

    fn store(&self, key: Key, value: Cached, bytes: usize) {
        if bytes > self.budget / 4 {
            return; // would flush everything else for one column
        }
        let mut s = self.state.lock();
        if s.entries.contains_key(&key) {
            return;
        }
        let (limit, stale_after) = (self.protected_limit(), 2 * self.budget as u64);
        while s.used + bytes > self.budget && s.evict_one(limit, stale_after) {}
        s.inserted += bytes as u64;
        let seen = s.inserted;
        let tick = s.next_tick();
        s.probation.insert(tick, key);
        s.used += bytes;
        s.entries.insert(
            key,
            Entry {
                value,
                bytes,
                tick,
                protected: false,
                seen,
            },
        );
    }

    fn forget(&self, key: Key) {
        let mut s = self.state.lock();
        if let Some(e) = s.entries.remove(&key) {
            s.used -= e.bytes;
            if e.protected {
                s.protected_bytes -= e.bytes;
                s.protected.remove(&e.tick);
            } else {
                s.probation.remove(&e.tick);
            }
        }
    }

    /// Forgets every entry that overlaps `range`.
    pub(crate) fn forget_range(&self, range: Extent) {
        let s = self.state.lock();
        let victims: Vec<Key> = s
            .entries
            .keys()
            .filter(|(e, _)| e.offset < range.end() && range.offset < e.end())
            .copied()
            .collect();
        drop(s);
        for v in victims {
            self.forget(v);
        }
    }

    /// (bytes cached, budget, hits, misses)
    pub(crate) fn usage(&self) -> (usize, usize, u64, u64) {
        let s = self.state.lock();
        (s.used, self.budget, s.hits, s.misses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyperctl_format::arrow::array::Int64Array;
    use std::sync::Arc;

    #[test]
    fn a_repeated_scan_larger_than_the_budget_keeps_hitting() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![0i64; 1000]));
        let size = a.get_array_memory_size();
        let pool = BufferPool::new(size * 8);
        let ext = |i| Extent { offset: i, len: 1 };
        let mut hits_per_pass = Vec::new();
        for _ in 0..4 {
            let mut hits = 0;
            for i in 0..12 {
                if pool.get(ext(i)).is_some() {
                    hits += 1;
                } else {
                    pool.insert(ext(i), &a);
                }
                assert!(pool.usage().0 <= size * 8);
            }
            hits_per_pass.push(hits);
        }
        // Plain LRU would miss every time: each entry is evicted just
        // before the scan comes back to it.
        assert_eq!(hits_per_pass[0], 0);
        assert!(
            hits_per_pass[2..].iter().all(|&h| h >= 4),
            "{hits_per_pass:?}"
        );
        // Columns newly in use displace the old ones once those are stale
        // (twice the budget inserted since their last use).
        for _ in 0..4 {
            for i in 100..106 {
                if pool.get(ext(i)).is_none() {
                    pool.insert(ext(i), &a);
                }
            }
        }
        assert!((100..106).all(|i| pool.get(ext(i)).is_some()));
        assert!(pool.usage().0 <= size * 8);
    }

    #[test]
    fn keeps_what_was_used_again_within_budget() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![0i64; 1000]));
        let size = a.get_array_memory_size();
        let pool = BufferPool::new(size * 4);
        let ext = |i| Extent { offset: i, len: 1 };
        for i in 0..4 {
            pool.insert(ext(i), &a);
        }
        assert!(pool.get(ext(0)).is_some());
        pool.insert(ext(9), &a);
        // One entry went; not 0, which was used again.
        assert!(pool.get(ext(0)).is_some());
        let cached = [1, 2, 3, 9].iter().filter(|&&i| pool.get(ext(i)).is_some());
        assert_eq!(cached.count(), 3);
        assert!(pool.usage().0 <= size * 4);
        pool.forget_range(Extent {
            offset: 0,
            len: 100,
        });
        assert_eq!(pool.usage().0, 0);
    }
}
