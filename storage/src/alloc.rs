//! Free space of the main file: which byte ranges new blocks and catalogs may
//! be written to.
//!
//! An extent that a version of the database stops using is not free at
//! once: the durable checkpoint (or a durable WAL record) may still name it,
//! and so may a snapshot that a reader holds. It waits in `pending` until a
//! later checkpoint is durable *and* no live version older than the one that
//! dropped it remains; only then may it be overwritten.
//!
//! Invariant: an extent is in at most one of: in use, `pending`, `free`.

use std::collections::BTreeMap;

use crate::catalog::Extent;

#[derive(Debug, Clone, Copy)]
struct Pending {
    extent: Extent,
    /// The first version that no longer uses it.
    version: u64,
    /// The checkpoint generation during which it was dropped.
    generation: u64,
}

/// The allocator (owned by the writer).
#[derive(Debug, Default)]
pub(crate) struct Allocator {
    /// Free ranges below `end`: offset -> length.
    free: BTreeMap<u64, u64>,
    /// Everything at or past here is free (the file may be longer: garbage).
    end: u64,
    pending: Vec<Pending>,
}

impl Allocator {
    /// An allocator for a file whose used ranges are `used` (sorted or
    /// not) and which has space from `start` on.
    pub(crate) fn from_used(start: u64, used: impl IntoIterator<Item = Extent>) -> Self {
        let mut used: Vec<Extent> = used.into_iter().filter(|e| e.len > 0).collect();
        used.sort();
        let mut free = BTreeMap::new();
        let mut at = start;
        for e in used {
            if e.offset > at {
                free.insert(at, e.offset - at);
            }
            at = at.max(e.end());
        }
        Self {
            free,
            end: at,
            pending: Vec::new(),
        }
    }

    /// Space for `len` bytes: the first free range that fits, else the end.
    pub(crate) fn alloc(&mut self, len: u64) -> u64 {
        let found = self
            .free
            .iter()
            .find(|(_, l)| **l >= len)
            .map(|(o, l)| (*o, *l));
        if let Some((offset, have)) = found {
            self.free.remove(&offset);
            if have > len {
                self.free.insert(offset + len, have - len);
            }
            return offset;
        }
        let offset = self.end;
        self.end += len;
        offset
    }

    /// Space for `len` bytes ending at or before `limit`, if a free range
    /// there fits (VACUUM moves extents down with it).
    pub(crate) fn alloc_below(&mut self, len: u64, limit: u64) -> Option<u64> {
        let (offset, have) = self
            .free
            .range(..limit)
            .find(|(o, l)| **l >= len && **o + len <= limit)
            .map(|(o, l)| (*o, *l))?;
        self.free.remove(&offset);
        if have > len {
            self.free.insert(offset + len, have - len);
        }
        Some(offset)
    }

    /// Returns an extent that nothing durable or live names (a rolled-back
    /// transaction's block).
    pub(crate) fn free_now(&mut self, e: Extent) {
        let (mut offset, mut len) = (e.offset, u64::from(e.len));
        if len == 0 {
            return;
        }
        if let Some((&o, &l)) = self.free.range(..offset).next_back()
            && o + l == offset
        {
            self.free.remove(&o);
            offset = o;
            len += l;
        }
        if let Some(&l) = self.free.get(&(offset + len)) {
            self.free.remove(&(offset + len));
            len += l;
        }
        if offset + len == self.end {
            self.end = offset;
        } else {
            self.free.insert(offset, len);
        }
    }

    /// An extent that version `version` (of checkpoint generation
    /// `generation`) stopped using.
    pub(crate) fn defer(&mut self, extent: Extent, version: u64, generation: u64) {
        self.pending.push(Pending {
            extent,
            version,
            generation,
        });
    }

    /// Frees what waited for a checkpoint before `generation` and for no
    /// version older than `min_live_version` to be alive. Returns the
    /// extents freed (the buffer pool forgets them).
    pub(crate) fn reclaim(&mut self, generation: u64, min_live_version: u64) -> Vec<Extent> {
        let (ready, waiting): (Vec<Pending>, Vec<Pending>) = self
            .pending
            .iter()
            .partition(|p| p.generation < generation && p.version <= min_live_version);
        self.pending = waiting;
        for p in &ready {
            self.free_now(p.extent);
        }
        ready.into_iter().map(|p| p.extent).collect()
    }

    /// Where the used part of the file ends (the file may be cut here).
    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    /// The free ranges below `end`: (offset, length).
    pub(crate) fn free_ranges(&self) -> Vec<(u64, u64)> {
        self.free.iter().map(|(o, l)| (*o, *l)).collect()
    }

    /// Bytes free below `end`.
    pub(crate) fn free_bytes(&self) -> u64 {
        self.free.values().sum()
    }

    /// Bytes waiting to become free.
    pub(crate) fn pending_bytes(&self) -> u64 {
        self.pending.iter().map(|p| u64::from(p.extent.len)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(offset: u64, len: u32) -> Extent {
        Extent { offset, len }
    }

    #[test]
    fn first_fit_coalescing_and_shrinking() {
        let mut a = Allocator::from_used(100, [e(100, 10), e(130, 10)]);
        assert_eq!(a.end(), 140);
        assert_eq!(a.free_bytes(), 20);
        assert_eq!(a.alloc(5), 110);
        assert_eq!(a.alloc(30), 140);
        assert_eq!(a.end(), 170);
        a.free_now(e(140, 30));
        assert_eq!(a.end(), 140);
        a.free_now(e(130, 10));
        assert_eq!(a.end(), 115);
        a.free_now(e(110, 5));
        assert_eq!(a.end(), 110);
        assert_eq!(a.free_bytes(), 0);
    }

    #[test]
    fn pending_waits_for_checkpoint_and_readers() {
        let mut a = Allocator::from_used(0, [e(0, 10), e(10, 10)]);
        a.defer(e(0, 10), 5, 1);
        assert!(a.reclaim(1, 9).is_empty(), "no checkpoint yet");
        assert!(a.reclaim(2, 4).is_empty(), "version 4 still reads it");
        assert_eq!(a.reclaim(2, 5), vec![e(0, 10)]);
        assert_eq!(a.alloc(10), 0);
    }
}
