//! The buffer pool: decoded block columns cached under a memory budget,
//! least recently used first out.
//!
//! Scans of tables larger than the budget stream through it: each column of
//! each block is decoded, used and (when the budget is full) evicted. The raw
//! bytes are read with positional reads and left to the OS page cache.
//!
//! Invariant: an entry is keyed by the extent it was decoded from, and the
//! allocator removes an extent's entry before that extent can be reused.

use std::collections::{BTreeMap, HashMap};

use hyperctl_format::arrow::array::{Array, ArrayRef};
use parking_lot::Mutex;

use crate::catalog::Extent;

#[derive(Debug)]
struct Entry {
    array: ArrayRef,
    bytes: usize,
    tick: u64,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<Extent, Entry>,
    by_tick: BTreeMap<u64, Extent>,
    used: usize,
    tick: u64,
    hits: u64,
    misses: u64,
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

    pub(crate) fn get(&self, extent: Extent) -> Option<ArrayRef> {
        let mut s = self.state.lock();
        s.tick += 1;
        let tick = s.tick;
        let Some(entry) = s.entries.get_mut(&extent) else {
            s.misses += 1;
            return None;
        };
        let old = std::mem::replace(&mut entry.tick, tick);
        let array = entry.array.clone();
        s.by_tick.remove(&old);
        s.by_tick.insert(tick, extent);
        s.hits += 1;
        Some(array)
    }

    pub(crate) fn insert(&self, extent: Extent, array: &ArrayRef) {
        let bytes = array.get_array_memory_size();
        if bytes > self.budget / 4 {
            return; // would flush everything else for one column
        }
        let mut s = self.state.lock();
        if s.entries.contains_key(&extent) {
            return;
        }
        while s.used + bytes > self.budget {
            let Some((_, victim)) = s.by_tick.pop_first() else {
                break;
            };
            if let Some(e) = s.entries.remove(&victim) {
                s.used -= e.bytes;
            }
        }
        s.tick += 1;
        let tick = s.tick;
        s.by_tick.insert(tick, extent);
        s.used += bytes;
        s.entries.insert(
            extent,
            Entry {
                array: array.clone(),
                bytes,
                tick,
            },
        );
    }

    pub(crate) fn forget(&self, extent: Extent) {
        let mut s = self.state.lock();
        if let Some(e) = s.entries.remove(&extent) {
            s.used -= e.bytes;
            s.by_tick.remove(&e.tick);
        }
    }

    /// Forgets every entry that overlaps `range`.
    pub(crate) fn forget_range(&self, range: Extent) {
        let s = self.state.lock();
        let victims: Vec<Extent> = s
            .entries
            .keys()
            .filter(|e| e.offset < range.end() && range.offset < e.end())
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
    fn evicts_least_recently_used_within_budget() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![0i64; 1000]));
        let size = a.get_array_memory_size();
        let pool = BufferPool::new(size * 4);
        let ext = |i| Extent { offset: i, len: 1 };
        for i in 0..4 {
            pool.insert(ext(i), &a);
        }
        assert!(pool.get(ext(0)).is_some());
        pool.insert(ext(9), &a);
        assert!(pool.get(ext(1)).is_none(), "1 was least recently used");
        assert!(pool.get(ext(0)).is_some());
        assert!(pool.usage().0 <= size * 4);
        pool.forget_range(Extent {
            offset: 0,
            len: 100,
        });
        assert_eq!(pool.usage().0, 0);
    }
}
