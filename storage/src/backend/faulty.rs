//! The fault-injecting twin of [`MemBackend`](super::MemBackend), for crash and
//! corruption tests (here and in other crates' tests).
//!
//! It keeps two images of the file: the *durable* one (what a disk holds after
//! power loss) and the *live* one (what reads see). `write_all_at` and
//! `set_len` change the live image and are remembered as pending; `sync` makes
//! the live image durable and forgets them. Told to lose power after `n`
//! operations (writes, `set_len`s and syncs, counted from 0), it performs
//! operations `0..n`, fails operation `n` and every later call, and
//! [`FaultyBackend::crash_image`] gives what survives: the durable image plus,
//! by [`Survival`], none, all or a seeded random tear of the pending writes
//! (the write that was in flight at the crash counts as pending).
//!
//! A second mode damages reads ([`ReadFaults`]): a flipped bit in the returned
//! bytes, or a short read (`UnexpectedEof`), at seeded random.
//!
//! Invariant: before the crash, reads see exactly what a [`MemBackend`] would;
//! the injected faults are the only difference.

use std::io;
use std::ops::Range;
use std::sync::Arc;

use parking_lot::Mutex;

use super::Backend;

/// Which of the writes pending at a crash (not yet synced) survive in
/// [`FaultyBackend::crash_image`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Survival {
    /// None: only synced data survives.
    Durable,
    /// All of them, in order (the live image).
    Live,
    /// Each, by a RNG seeded with this value: whole, not at all, or only a
    /// prefix of it (a torn write). Later writes may survive where earlier
    /// ones did not (disks reorder).
    Torn(u64),
}

/// Read damage, at seeded random.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadFaults {
    /// Seed of the RNG that picks the faults.
    pub seed: u64,
    /// Chance that a read comes back with one bit flipped.
    pub flip_probability: f64,
    /// Chance that a read fails with `UnexpectedEof` (a short read).
    pub short_read_probability: f64,
}

#[derive(Debug, Clone)]
enum Pending {
    Write { offset: usize, bytes: Vec<u8> },
    SetLen(usize),
}

/// One file on the simulated disk.
#[derive(Debug, Default)]
struct Image {
    durable: Vec<u8>,
    live: Vec<u8>,
    pending: Vec<Pending>,
}

/// The simulated disk: its files share one operation count and one power
/// supply.
#[derive(Debug)]
struct State {
    files: Vec<Image>,
    ops: u64,
    crash_after: Option<u64>,
    fail_at: Option<u64>,
    crashed: bool,
    read_faults: Option<(ReadFaults, Rng)>,
    damaged_reads: Vec<Range<u64>>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            files: vec![Image::default()],
            ops: 0,
            crash_after: None,
            fail_at: None,
            crashed: false,
            read_faults: None,
            damaged_reads: Vec::new(),
        }
    }
}

/// An in-memory file that can lose power and damage reads (see the module
/// docs). Clones share the file, so a test keeps one clone and hands another
/// to the database. [`FaultyBackend::sibling`] makes another file on the same
/// disk (a database's log): operations on both count towards one crash point.
#[derive(Debug, Clone, Default)]
pub struct FaultyBackend {
    state: Arc<Mutex<State>>,
    file: usize,
}

impl FaultyBackend {
    /// An empty file that never fails.
    pub fn new() -> Self {
        Self::default()
    }

    /// A file holding `bytes`, all durable.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        let mut state = State::default();
        state.files[0] = Image {
            durable: bytes.clone(),
            live: bytes,
            pending: Vec::new(),
        };
        Self {
            state: Arc::new(Mutex::new(state)),
            file: 0,
        }
    }

    /// A new empty file on the same disk: it shares the operation count, the
    /// crash point and the power supply with this one.
    pub fn sibling(&self) -> Self {
        let mut state = self.state.lock();
        state.files.push(Image::default());
        Self {
            state: self.state.clone(),
            file: state.files.len() - 1,
        }
    }

    /// Loses power at operation `ops` (counted from 0 over writes, `set_len`s
    /// and syncs): that one and every later call fail. `None` never crashes.
    pub fn crash_after(&self, ops: Option<u64>) {
        self.state.lock().crash_after = ops;
    }

    /// Fails operation `op` with an I/O error, without losing power: a
    /// failed write changes nothing, a failed sync makes nothing durable.
    pub fn fail_op(&self, op: Option<u64>) {
        self.state.lock().fail_at = op;
    }

    /// Damages reads from now on (`None` stops it).
    pub fn set_read_faults(&self, faults: Option<ReadFaults>) {
        self.state.lock().read_faults = faults.map(|f| (f, Rng::new(f.seed)));
    }

    /// The byte ranges of reads that were damaged so far.
    pub fn damaged_reads(&self) -> Vec<Range<u64>> {
        self.state.lock().damaged_reads.clone()
    }

    /// Operations performed so far (writes, `set_len`s, syncs; the failing one
    /// at a crash included).
    pub fn ops(&self) -> u64 {
        self.state.lock().ops
    }

    /// Whether the power is off.
    pub fn crashed(&self) -> bool {
        self.state.lock().crashed
    }

    /// What reads see now.
    pub fn live_image(&self) -> Vec<u8> {
        self.state.lock().files[self.file].live.clone()
    }

    /// What survives a power loss now (or the one that happened), by `survival`.
    pub fn crash_image(&self, survival: Survival) -> Vec<u8> {
        let state = self.state.lock();
        let file = &state.files[self.file];
        let mut image = file.durable.clone();
        let mut rng = match survival {
            Survival::Durable => return image,
            Survival::Live => None,
            Survival::Torn(seed) => Some(Rng::new(seed ^ (self.file as u64) << 32)),
        };
        for op in &file.pending {
            let (keep, prefix) = match rng.as_mut() {
                None => (true, None),
                Some(rng) => match rng.below(3) {
                    0 => (false, None),
                    1 => (true, None),
                    _ => (true, Some(rng.next())),
                },
            };
            if !keep {
                continue;
            }
            match op {
                Pending::Write { offset, bytes } => {
                    let len =
                        prefix.map_or(bytes.len(), |r| (r % (bytes.len() as u64 + 1)) as usize);
                    write_at(&mut image, *offset, &bytes[..len]);
                }
                Pending::SetLen(len) => image.resize(*len, 0),
            }
        }
        image
    }

    /// Counts an operation: `Ok(true)` to perform it, `Ok(false)` when the
    /// power goes off during it, `Err` when it fails or the power was off.
    fn begin_op(state: &mut State) -> io::Result<bool> {
        if state.crashed {
            return Err(power_lost());
        }
        let n = state.ops;
        state.ops += 1;
        if state.fail_at == Some(n) {
            return Err(io::Error::other("injected fault: I/O error"));
        }
        if state.crash_after == Some(n) {
            state.crashed = true;
            return Ok(false);
        }
        Ok(true)
    }
}

fn power_lost() -> io::Error {
    io::Error::other("injected fault: power lost")
}

fn write_at(image: &mut Vec<u8>, offset: usize, bytes: &[u8]) {
    let end = offset + bytes.len();
    if image.len() < end {
        image.resize(end, 0);
    }
    image[offset..end].copy_from_slice(bytes);
}

fn to_usize(v: u64) -> io::Result<usize> {
    usize::try_from(v)
        .ok()
        .filter(|v| *v <= isize::MAX as usize)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))
}

impl Backend for FaultyBackend {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        if state.crashed {
            return Err(power_lost());
        }
        let start = to_usize(offset)?;
        let end = start
            .checked_add(buf.len())
            .filter(|end| *end <= state.files[self.file].live.len())
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(&state.files[self.file].live[start..end]);
        if let Some((faults, rng)) = state.read_faults.as_mut() {
            let range = offset..offset + buf.len() as u64;
            if rng.chance(faults.short_read_probability) {
                state.damaged_reads.push(range);
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
            }
            if !buf.is_empty() && rng.chance(faults.flip_probability) {
                let bit = rng.below(buf.len() as u64 * 8);
                buf[(bit / 8) as usize] ^= 1 << (bit % 8);
                state.damaged_reads.push(range);
            }
        }
        Ok(())
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut state = self.state.lock();
        let offset = to_usize(offset)?;
        to_usize(offset as u64 + buf.len() as u64)?;
        let performed = Self::begin_op(&mut state)?;
        // The write in flight at a crash may reach the disk, whole or torn.
        let file = &mut state.files[self.file];
        file.pending.push(Pending::Write {
            offset,
            bytes: buf.to_vec(),
        });
        if !performed {
            return Err(power_lost());
        }
        write_at(&mut file.live, offset, buf);
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        let state = self.state.lock();
        if state.crashed {
            return Err(power_lost());
        }
        Ok(state.files[self.file].live.len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut state = self.state.lock();
        let len = to_usize(len)?;
        let performed = Self::begin_op(&mut state)?;
        let file = &mut state.files[self.file];
        file.pending.push(Pending::SetLen(len));
        if !performed {
            return Err(power_lost());
        }
        file.live.resize(len, 0);
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        if !Self::begin_op(state)? {
            return Err(power_lost());
        }
        let file = &mut state.files[self.file];
        file.durable.clone_from(&file.live);
        file.pending.clear();
        Ok(())
    }
}

/// splitmix64: small, seedable, good enough to pick faults.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_makes_live_durable_and_crash_fails_everything() {
        let b = FaultyBackend::new();
        b.write_all_at(b"abcd", 0).unwrap();
        b.sync().unwrap();
        b.write_all_at(b"XY", 1).unwrap();
        assert_eq!(b.crash_image(Survival::Durable), b"abcd");
        assert_eq!(b.crash_image(Survival::Live), b"aXYd");
        b.crash_after(Some(b.ops() + 1));
        b.write_all_at(b"zz", 4).unwrap();
        assert!(b.write_all_at(b"!", 0).is_err(), "the crash point fails");
        assert!(
            b.sync().is_err() && b.len().is_err(),
            "so does everything after it"
        );
        assert!(b.crashed());
        assert_eq!(b.crash_image(Survival::Durable), b"abcd");
        assert_eq!(b.crash_image(Survival::Live), b"!XYdzz");
        for seed in 0..50 {
            let torn = b.crash_image(Survival::Torn(seed));
            assert!([b'a', b'!'].contains(&torn[0]), "{torn:?}");
            assert!(torn[1..3] == *b"bc" || torn[1] == b'X', "{torn:?}");
            assert!((4..=6).contains(&torn.len()), "{torn:?}");
        }
    }

    #[test]
    fn read_faults_damage_reads_and_say_where() {
        let b = FaultyBackend::from_bytes(vec![0; 64]);
        b.set_read_faults(Some(ReadFaults {
            seed: 1,
            flip_probability: 1.0,
            short_read_probability: 0.0,
        }));
        let mut buf = [0u8; 16];
        b.read_exact_at(&mut buf, 8).unwrap();
        assert_eq!(buf.iter().map(|b| b.count_ones()).sum::<u32>(), 1);
        assert_eq!(b.damaged_reads(), vec![8..24]);
        b.set_read_faults(None);
        b.read_exact_at(&mut buf, 8).unwrap();
        assert_eq!(buf, [0; 16]);
    }
}
