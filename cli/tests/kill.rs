//! Process kills (issue 3, acceptance 2): `hyperctl` is killed with SIGKILL
//! (`Child::kill` on unix) in the middle of a large CSV import (one
//! transaction) and in the middle of the checkpoint that a process runs when
//! it closes the database; the file is then reopened with the storage
//! library, and must hold a committed state: every import that finished is
//! there whole, the killed one whole or not at all, and `verify` passes.
//!
//! No timed assertions: the test polls file sizes to pick kill moments and
//! draws random delays (seeded; `HYPERCTL_SEED` to rerun), and asserts only
//! about the states it finds. It does assert that some kills found the
//! process still running (else nothing was tested).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hyperctl_format::arrow::array::AsArray;
use hyperctl_format::arrow::compute::cast;
use hyperctl_format::arrow::datatypes::{DataType, Int64Type};
use hyperctl_storage::{DEFAULT_SCHEMA, Database, OpenOptions, wal_path_of};

/// Rows of the big CSV: tens of MB, seconds to import in a debug build.
const BIG_ROWS: u64 = 1_500_000;
/// Rows of the CSV appended in the checkpoint test: less than one block,
/// so it stays in the table's tail until the close's checkpoint freezes it.
const SMALL_ROWS: u64 = 30_000;

/// Writes `id,amount,note` rows `0..rows`; returns (path, sum of ids).
fn write_csv(dir: &Path, name: &str, rows: u64) -> (PathBuf, i64) {
    use std::io::Write;
    let path = dir.join(name);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(f, "id,amount,note").unwrap();
    for i in 0..rows {
        writeln!(f, "{i},{},note number {i}", (i * 7919) % 100_000).unwrap();
    }
    f.flush().unwrap();
    (path, (0..rows as i64).sum())
}

fn hyperctl(args: &[&Path]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hyperctl"));
    c.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

fn import(db: &Path, csv: &Path, table: &str, append: bool) -> Command {
    let mut c = hyperctl(&[Path::new("import"), db, csv]);
    c.args(["--table", table]);
    if append {
        c.arg("--append");
    }
    c
}

/// Starts a process to be killed (its stderr goes nowhere: nobody reads
/// it, and a full pipe must not stall the process).
fn spawn(mut c: Command) -> Child {
    c.stderr(Stdio::null()).spawn().expect("start hyperctl")
}

fn run_ok(mut c: Command) {
    let out = c.output().expect("run hyperctl");
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Kills `child` (SIGKILL) and reaps it; returns whether it was still
/// running (`false`: it had exited on its own, successfully).
fn kill(mut child: Child) -> bool {
    if let Some(status) = child.try_wait().unwrap() {
        assert!(status.success(), "hyperctl failed on its own: {status}");
        return false;
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    if status.success() {
        return false; // it finished between try_wait and kill
    }
    true
}

/// (rows, sum of column 0) of a table, or `None` when it does not exist.
fn table_sum(db: &Database, name: &str) -> Option<(u64, i64)> {
    let table = db.snapshot().table(DEFAULT_SCHEMA, name)?;
    let mut rows = 0;
    let mut sum = 0i64;
    for b in table.scan(&[0]).unwrap() {
        let b = b.unwrap_or_else(|e| panic!("reading {name}: {e}"));
        let ids = cast(b.column(0), &DataType::Int64).unwrap();
        rows += b.num_rows() as u64;
        sum += ids.as_primitive::<Int64Type>().values().iter().sum::<i64>();
    }
    assert_eq!(rows, table.row_count());
    Some((rows, sum))
}

fn seed() -> u64 {
    let seed = std::env::var("HYPERCTL_SEED")
        .ok()
        .map_or(7, |s| s.parse().expect("HYPERCTL_SEED is a u64"));
    println!("kill test: seed {seed} (HYPERCTL_SEED to rerun)");
    seed
}

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }
}

/// Opens the database after a kill, checks it, and closes it (a clean
/// close) or leaves its log for the next process (`keep_log`).
fn reopen(path: &Path, keep_log: bool) -> Database {
    let options = OpenOptions::new().read_only(keep_log);
    let db = Database::open(path, &options)
        .unwrap_or_else(|e| panic!("reopening {} after a kill: {e}", path.display()));
    let report = db.verify();
    assert!(report.is_ok(), "{report}");
    db
}

/// A large import killed at several moments: when the main file first grows,
/// and when it has grown by 64 KiB, 1 MiB, 8 MiB, 24 MiB (blocks written
/// ahead of the commit). A table committed before stays intact; the killed
/// import's table is absent or complete.
#[test]
fn kill_during_a_large_import() {
    let dir = tempfile::tempdir().unwrap();
    let (big, big_sum) = write_csv(dir.path(), "big.csv", BIG_ROWS);
    let (small, small_sum) = write_csv(dir.path(), "small.csv", 1_000);
    let path = dir.path().join("kill.hxe");
    run_ok(import(&path, &small, "base", false));
    let mut killed_running = 0;
    for (i, grown) in [0u64, 64 << 10, 1 << 20, 8 << 20, 24 << 20]
        .into_iter()
        .enumerate()
    {
        let table = format!("t{i}");
        let start = len(&path);
        let mut child = spawn(import(&path, &big, &table, false));
        // Poll until the file has grown enough (or the import is done).
        while len(&path) < start + grown.max(1) && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
        let at = len(&path);
        let was_running = kill(child);
        killed_running += usize::from(was_running);
        let db = reopen(&path, false);
        assert_eq!(table_sum(&db, "base"), Some((1_000, small_sum)), "kill {i}");
        let state = table_sum(&db, &table);
        println!(
            "kill {i}: at +{} bytes of the file, running {was_running}: table {table} {state:?}",
            at - start
        );
        match state {
            None => assert!(was_running, "kill {i}: a finished import is missing"),
            Some(s) => assert_eq!(s, (BIG_ROWS, big_sum), "kill {i}: partial import"),
        }
        drop(db);
        assert!(
            !wal_path_of(&path).exists(),
            "kill {i}: log left after a close"
        );
    }
    assert!(killed_running > 0, "every import finished before its kill");
}

/// Processes that append a small CSV (its rows stay in the log and the
/// table's tail) and then checkpoint on close, killed after random delays
/// up to a little more than an unkilled run takes. After each kill: every
/// finished append is there, the killed one whole or not at all. The
/// checker sometimes leaves the log in place (a read-only open), so that the
/// next process recovers it.
#[test]
fn kill_during_checkpoints() {
    let mut rng = Rng(seed());
    let dir = tempfile::tempdir().unwrap();
    let (small, small_sum) = write_csv(dir.path(), "small.csv", SMALL_ROWS);
    let path = dir.path().join("ckpt.hxe");
    run_ok(import(&path, &small, "c", false));
    let t0 = Instant::now();
    run_ok(import(&path, &small, "c", true));
    let full = t0.elapsed().as_micros() as u64;
    let mut appends = 2u64;
    let (mut killed_running, mut committed_by_killed) = (0, 0);
    for i in 0..40 {
        let delay = Duration::from_micros(rng.below(full * 6 / 5));
        let child = spawn(import(&path, &small, "c", true));
        std::thread::sleep(delay);
        let was_running = kill(child);
        let keep_log = rng.below(3) == 0;
        let db = reopen(&path, keep_log);
        let (rows, sum) = table_sum(&db, "c").expect("table c");
        let k = rows / SMALL_ROWS;
        assert_eq!(
            rows % SMALL_ROWS,
            0,
            "kill {i}: a partial append ({rows} rows)"
        );
        assert_eq!(sum, k as i64 * small_sum, "kill {i}: wrong rows");
        if was_running {
            killed_running += 1;
            assert!(
                k == appends || k == appends + 1,
                "kill {i}: {k} appends, {appends} finished before"
            );
            committed_by_killed += usize::from(k == appends + 1);
        } else {
            assert_eq!(k, appends + 1, "kill {i}: a finished append is missing");
        }
        appends = k;
        drop(db);
        println!(
            "kill {i}: after {} us, running {was_running}, {k} appends, log kept {keep_log}",
            delay.as_micros()
        );
    }
    println!(
        "kill test: {killed_running} of 40 kills hit a running process; {committed_by_killed} \
         of those had committed (killed after the commit: during the close's checkpoint)"
    );
    assert!(killed_running > 0, "every process finished before its kill");
    let db = reopen(&path, false);
    drop(db);
    assert!(Database::verify_file(&path).unwrap().is_ok());
}

/// Imports into a new file killed as soon as the file appears (while it is
/// being created): the file then opens as a new database, and the next
/// import into it works.
#[test]
fn kill_during_creation() {
    let dir = tempfile::tempdir().unwrap();
    let (small, small_sum) = write_csv(dir.path(), "small.csv", 1_000);
    let mut killed_running = 0;
    for i in 0..10 {
        let path = dir.path().join(format!("new{i}.hxe"));
        let mut child = spawn(import(&path, &small, "t", false));
        while !path.exists() && child.try_wait().unwrap().is_none() {
            std::thread::yield_now();
        }
        killed_running += usize::from(kill(child));
        println!("kill {i}: the file has {} bytes", len(&path));
        let mut again = import(&path, &small, "t", false);
        again.arg("--replace");
        run_ok(again);
        let db = reopen(&path, true);
        assert_eq!(table_sum(&db, "t"), Some((1_000, small_sum)), "kill {i}");
    }
    println!("kill during creation: {killed_running} of 10 kills hit a running process");
    assert!(killed_running > 0, "every process finished before its kill");
}
