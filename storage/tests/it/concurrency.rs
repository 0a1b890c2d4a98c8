//! Readers during commits (issue 3, acceptance 4): reader threads sum the
//! balances of two accounts tables on snapshots, over and over, while writer
//! threads commit transfers (UPDATE of two rows = delete + append, in one
//! transaction, in one table or across both). Every sum is the constant total. The log threshold is small,
//! so commits checkpoint on their own: tails are frozen, blocks replaced and
//! their space freed (deferred) while readers still hold old snapshots and
//! half-read scans, which they finish and re-read later. Once with a pool
//! too small to cache anything, so those reads go to the file, where reused
//! space would show as wrong sums or damage; once with a pool that caches. A third thread runs VACUUM between commits.
//!
//! No timing: the readers run until the writers are done (at least once).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use hyperctl_format::SqlType;
use hyperctl_format::arrow::array::{AsArray, Int64Array, RecordBatch};
use hyperctl_format::arrow::datatypes::{Int64Type, UInt64Type};
use hyperctl_storage::{
    ColumnDef, CreateMode, DEFAULT_SCHEMA, Database, OpenOptions, ScanOptions, Snapshot, TableDef,
};

use crate::model::{Rng, seed_from_env};

const ACCOUNTS: i64 = 3_000;
const BALANCE: i64 = 1_000;
const TOTAL: i64 = ACCOUNTS * BALANCE;
const WRITERS: u64 = 2;
const TRANSFERS: usize = 250;
const READERS: u64 = 2;

/// Accounts live in two tables, even ids in `a`, odd ones in `b`, so that
/// a transfer may change both (a transaction across tables).
const TABLES: [&str; 2] = ["a", "b"];

fn table_of(id: i64) -> &'static str {
    TABLES[(id % 2) as usize]
}

fn accounts(name: &str) -> TableDef {
    TableDef {
        schema: DEFAULT_SCHEMA.into(),
        name: name.into(),
        columns: vec![
            ColumnDef::new("id", SqlType::BigInt, false),
            ColumnDef::new("balance", SqlType::BigInt, false),
        ],
    }
}

fn batch(ids: Vec<i64>, balances: Vec<i64>) -> RecordBatch {
    RecordBatch::try_new(
        accounts("a").arrow_schema(),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(Int64Array::from(balances)),
        ],
    )
    .expect("a valid batch")
}

/// (rows, sum of balances) of both tables of a snapshot; a scan is
/// started, then finished after `pause` runs (so a commit or checkpoint may
/// come in between).
fn sum(snapshot: &Snapshot, pause: impl FnOnce()) -> (u64, i64) {
    let mut rows = 0;
    let mut total = 0;
    let mut pause = Some(pause);
    for name in TABLES {
        let table = snapshot.table(DEFAULT_SCHEMA, name).expect("the table");
        let mut scan = table.scan(&[1]).expect("scan");
        let mut table_rows = 0;
        let mut add = |b: RecordBatch| {
            table_rows += b.num_rows() as u64;
            total += b
                .column(0)
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .sum::<i64>();
        };
        if let Some(first) = scan.next() {
            add(first.expect("first part"));
        }
        if let Some(pause) = pause.take() {
            pause();
        }
        for b in scan {
            add(b.expect("a part"));
        }
        assert_eq!(table_rows, table.row_count());
        rows += table_rows;
    }
    (rows, total)
}

/// One transfer: moves `amount` from account `from` to account `to` by
/// deleting both rows and appending their new versions (in one table or
/// in both).
fn transfer(db: &Database, from: i64, to: i64, amount: i64) {
    let mut w = db.begin_write().expect("begin");
    for name in TABLES {
        let wanted: Vec<i64> = [from, to]
            .into_iter()
            .filter(|id| table_of(*id) == name)
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let table = w.table(DEFAULT_SCHEMA, name).expect("the table");
        let options = ScanOptions::new(&[0, 1]).with_row_positions(true);
        let mut found = Vec::new();
        for b in table.scan_with(&options).expect("scan") {
            let b = b.expect("a part");
            let ids = b.column(0).as_primitive::<Int64Type>();
            let balances = b.column(1).as_primitive::<Int64Type>();
            let positions = b.column(2).as_primitive::<UInt64Type>();
            for i in 0..b.num_rows() {
                if wanted.contains(&ids.value(i)) {
                    found.push((ids.value(i), balances.value(i), positions.value(i)));
                }
            }
        }
        assert_eq!(found.len(), wanted.len(), "{name}: {wanted:?}: {found:?}");
        let positions: Vec<u64> = found.iter().map(|f| f.2).collect();
        let deleted = w.delete(DEFAULT_SCHEMA, name, &positions).unwrap();
        assert_eq!(deleted, wanted.len() as u64);
        let ids = found.iter().map(|f| f.0).collect();
        let balances = found
            .iter()
            .map(|f| {
                if f.0 == from {
                    f.1 - amount
                } else {
                    f.1 + amount
                }
            })
            .collect();
        w.append(DEFAULT_SCHEMA, name, &batch(ids, balances))
            .unwrap();
    }
    w.commit().expect("commit");
}

#[test]
fn readers_always_see_the_constant_total() {
    let seed = seed_from_env().unwrap_or(4);
    println!("concurrency: seed {seed} (HYPERCTL_SEED to rerun)");
    // A pool too small to cache a column (every read goes to the file),
    // and one that caches them all.
    for budget in [16 << 10, 1 << 20] {
        transfers_under_readers(seed, budget);
    }
}

fn transfers_under_readers(seed: u64, budget: usize) {
    println!("concurrency: pool budget {budget}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bank.hxe");
    let options = OpenOptions::new()
        .create_mode(CreateMode::Create)
        .checkpoint_wal_bytes(6_000)
        .memory_budget(budget);
    let db = Database::open(&path, &options).unwrap();
    let mut w = db.begin_write().unwrap();
    for (parity, name) in TABLES.into_iter().enumerate() {
        w.create_table(accounts(name)).unwrap();
        let ids: Vec<i64> = (0..ACCOUNTS).filter(|id| id % 2 == parity as i64).collect();
        let balances = vec![BALANCE; ids.len()];
        w.append(DEFAULT_SCHEMA, name, &batch(ids, balances))
            .unwrap();
    }
    w.commit().unwrap();
    db.checkpoint().unwrap();
    let start_sequence = db.stats().unwrap().checkpoint_sequence;

    let done = Arc::new(AtomicBool::new(false));
    let commits = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let db = db.clone();
            let done = done.clone();
            let commits = commits.clone();
            std::thread::spawn(move || {
                let mut rng = Rng::new(seed ^ (r + 100));
                let mut held: Vec<Snapshot> = Vec::new();
                let mut scans = 0u64;
                let mut distinct = std::collections::BTreeSet::new();
                loop {
                    let finished = done.load(Ordering::Acquire);
                    let snapshot = db.snapshot();
                    let (rows, total) = sum(&snapshot, || {
                        // Let the writers go on while this scan is half read.
                        let seen = commits.load(Ordering::Acquire);
                        for _ in 0..1000 {
                            if commits.load(Ordering::Acquire) != seen
                                || done.load(Ordering::Acquire)
                            {
                                break;
                            }
                            std::thread::yield_now();
                        }
                    });
                    assert_eq!((rows, total), (ACCOUNTS as u64, TOTAL), "reader {r}");
                    distinct.insert(commits.load(Ordering::Acquire));
                    scans += 1;
                    // Keep a few old snapshots and read them again later.
                    if held.len() < 4 {
                        held.push(snapshot);
                    } else if rng.chance(50) {
                        let i = rng.below(held.len() as u64) as usize;
                        let (rows, total) = sum(&held[i], || {});
                        assert_eq!((rows, total), (ACCOUNTS as u64, TOTAL), "reader {r}, old");
                        held[i] = snapshot;
                    }
                    if finished {
                        break;
                    }
                }
                for s in &held {
                    assert_eq!(sum(s, || {}), (ACCOUNTS as u64, TOTAL), "reader {r}, end");
                }
                (scans, distinct.len())
            })
        })
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let db = db.clone();
            let commits = commits.clone();
            std::thread::spawn(move || {
                let mut rng = Rng::new(seed ^ w);
                for _ in 0..TRANSFERS {
                    let from = rng.below(ACCOUNTS as u64) as i64;
                    let to = (from + 1 + rng.below(ACCOUNTS as u64 - 1) as i64) % ACCOUNTS;
                    transfer(&db, from, to, rng.below(500) as i64);
                    commits.fetch_add(1, Ordering::AcqRel);
                }
            })
        })
        .collect();
    // VACUUM now and then: it rewrites blocks with deleted rows and moves
    // extents down while readers hold old snapshots.
    let writers_done = Arc::new(AtomicBool::new(false));
    let vacuums = {
        let db = db.clone();
        let writers_done = writers_done.clone();
        let commits = commits.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            let mut seen = u64::MAX;
            loop {
                let finished = writers_done.load(Ordering::Acquire);
                let now = commits.load(Ordering::Acquire);
                if now != seen {
                    db.vacuum().expect("vacuum");
                    n += 1;
                    seen = now;
                }
                if finished {
                    break n;
                }
                std::thread::yield_now();
            }
        })
    };
    for w in writers {
        w.join().expect("writer");
    }
    writers_done.store(true, Ordering::Release);
    let vacuums = vacuums.join().expect("vacuum thread");
    println!("concurrency: {vacuums} vacuums");
    done.store(true, Ordering::Release);
    for (i, r) in readers.into_iter().enumerate() {
        let (scans, states) = r.join().expect("reader");
        println!("reader {i}: {scans} scans of {states} distinct commit counts");
    }
    let stats = db.stats().unwrap();
    println!("concurrency: {stats:?}");
    assert!(
        stats.checkpoint_sequence >= start_sequence + 3,
        "too few automatic checkpoints: {stats:?}"
    );
    let report = db.verify();
    assert!(report.is_ok(), "{report}");
    assert_eq!(sum(&db.snapshot(), || {}), (ACCOUNTS as u64, TOTAL));
    drop(db);
    let db = Database::open(&path, &OpenOptions::new().read_only(true)).unwrap();
    assert_eq!(sum(&db.snapshot(), || {}), (ACCOUNTS as u64, TOTAL));
    assert!(db.verify().is_ok(), "{}", db.verify());
}
