//! Crash consistency (issue 3, acceptance 1): seeded workloads lose power at
//! every write, `set_len` and sync of the main file and of its log (one
//! simulated disk: `FaultyBackend::sibling`), and each crash image must
//! reopen to a state the model allows.
//!
//! The workloads (`model::plan`) create tables, append small batches and
//! (in some seeds) 70,000 rows at once, so that a block is frozen inside
//! the transaction, delete rows by position, update (delete + append),
//! truncate and drop tables, touch several tables per transaction, roll
//! back, and checkpoint, vacuum or close and reopen between transactions.
//!
//! For crash point `n` the workload runs with operations `0..n` performed and
//! operation `n` failing (power lost); then each of three crash images of
//! both files is reopened with `MemBackend::from_bytes`: only synced data,
//! every write (including the one in flight), and a seeded torn mix (each
//! unsynced write whole, dropped or cut short). The rule, for each image:
//! - every transaction whose `commit()` returned `Ok` is there, whole;
//! - the commit in flight (`commit()` called, not returned) is there whole or
//!   not at all, never in part;
//! - nothing else of an uncommitted or rolled-back transaction is visible;
//! - `verify` reports no damage (warnings, e.g. a torn header slot, allowed);
//! - before creating the database returned, the image may also be "not a
//!   database" (or an empty database);
//! - the recovered database takes another commit, which survives a close
//!   and a reopen.
//!
//! Counts: `cargo test` runs `DEFAULT_SEEDS` workloads and `DEFAULT_SEEDS`
//! small-log workloads (log threshold `SMALL_WAL` bytes, so that commits
//! checkpoint automatically mid-workload), every crash point of each (with
//! the two replace tests, about 1,000 crash points, 3 images each; the
//! tests print their counts). The full run, `FULL_SEEDS` workloads of each
//! kind (about 6,400 crash points; each of the two workload tests asserts
//! at least 1,000), in a minute in release:
//!
//! ```text
//! HYPERCTL_CRASH_POINTS=full cargo test --release -p hyperctl-storage --test it crash -- --nocapture
//! ```
//!
//! `HYPERCTL_SEED=n` runs workload `n` alone, every crash point.

use hyperctl_storage::testing::{FaultyBackend, Survival};
use hyperctl_storage::{DEFAULT_SCHEMA, Database, Error, OpenOptions, TableDef};

use crate::model::{
    self, Outcome, Rng, Shape, describe, expected, random_batch, read_db, same, seed_from_env,
};

const DEFAULT_SEEDS: u64 = 4;
const FULL_SEEDS: u64 = 30;
/// Log threshold of the small-log workloads: a few commits each.
const SMALL_WAL: u64 = 3_000;

/// 70,000 rows in every third workload only (when `big`): each crash point
/// reruns the workload, and a block makes every run slower.
fn shape(seed: u64, big: bool) -> Shape {
    Shape {
        txns: 14,
        big_inserts: usize::from(big && seed % 3 == 1),
    }
}

fn seeds(full: bool, offset: u64) -> Vec<u64> {
    match seed_from_env() {
        Some(seed) => vec![seed],
        None => (offset..offset + if full { FULL_SEEDS } else { DEFAULT_SEEDS }).collect(),
    }
}

fn full() -> bool {
    std::env::var("HYPERCTL_CRASH_POINTS").as_deref() == Ok("full")
}

#[test]
fn every_crash_point_recovers_a_committed_state() {
    let full = full();
    let seeds = seeds(full, 0);
    let options = OpenOptions::new();
    let points: u64 = seeds
        .iter()
        .map(|&seed| crash_every_op(seed, shape(seed, true), &options))
        .sum();
    println!("crash test: {} seeds, {points} crash points", seeds.len());
    if full && seed_from_env().is_none() {
        assert!(points >= 1000, "only {points} crash points");
    }
}

/// The same with a log threshold so small that commits checkpoint on their
/// own mid-workload (and blocks freed by one checkpoint are reused while
/// the log of the next one still runs).
#[test]
fn every_crash_point_with_automatic_checkpoints() {
    let full = full();
    let seeds = seeds(full, 100);
    let options = OpenOptions::new().checkpoint_wal_bytes(SMALL_WAL);
    let mut points = 0;
    for &seed in &seeds {
        // Blocks in the small-log workloads in the full run only (time).
        points += crash_every_op(seed, shape(seed, full), &options);
    }
    println!(
        "crash test, small log: {} seeds, {points} crash points",
        seeds.len()
    );
    if full && seed_from_env().is_none() {
        assert!(points >= 1000, "only {points} crash points");
    }
}

/// Runs workload `seed` once to count its operations, then crashes it at
/// each one. Returns the number of crash points.
fn crash_every_op(seed: u64, shape: Shape, options: &OpenOptions) -> u64 {
    println!("crash test: seed {seed} (rerun alone with HYPERCTL_SEED={seed})");
    let plan = model::plan(seed, shape);
    let main = FaultyBackend::new();
    let wal = main.sibling();
    let outcome = model::run(&plan, &main, &wal, options, true);
    assert!(!main.crashed());
    assert!(
        outcome.commits > 0,
        "seed {seed}: a workload without commits"
    );
    println!(
        "crash test: seed {seed}: {}; header sequence {} at the end",
        model::summary(&plan),
        outcome.checkpoints
    );
    let total = main.ops();
    for n in 0..total {
        let main = FaultyBackend::new();
        let wal = main.sibling();
        main.crash_after(Some(n));
        let outcome = model::run(&plan, &main, &wal, options, false);
        assert!(main.crashed(), "seed {seed}: op {n} was not reached");
        let torn = Survival::Torn((seed << 32) | n);
        for survival in [Survival::Durable, Survival::Live, torn] {
            let ctx = format!("seed {seed}, power lost at op {n} of {total}, image {survival:?}");
            check_image(
                main.crash_image(survival),
                wal.crash_image(survival),
                &outcome,
                &ctx,
            );
        }
    }
    total
}

fn check_image(main: Vec<u8>, wal: Vec<u8>, outcome: &Outcome, ctx: &str) {
    let main = FaultyBackend::from_bytes(main);
    let wal = FaultyBackend::from_bytes(wal);
    let db = match model::open(&main, &wal, &OpenOptions::new(), false) {
        Ok(db) => db,
        Err(Error::NotADatabase { .. }) if !outcome.created => return,
        Err(e) => {
            let report = Database::verify_backend(model::path(), &main);
            panic!("{ctx}: reopening failed: {e}\n{report}")
        }
    };
    let report = db.verify();
    assert!(report.is_ok(), "{ctx}: verify found damage:\n{report}");
    let read = read_db(&db).unwrap_or_else(|e| panic!("{ctx}: reading failed: {e}\n{report}"));
    let last = expected(&outcome.last);
    let in_flight = outcome.in_flight.as_ref().map(expected);
    let allowed = same(&read, &last) || in_flight.as_ref().is_some_and(|s| same(&read, s));
    assert!(
        allowed,
        "{ctx}: read [{}]; last commit [{}]; commit in flight [{}]",
        describe(&read),
        describe(&last),
        in_flight.as_ref().map(describe).unwrap_or_default()
    );
    // The recovered database keeps working: one more commit, a clean
    // close, a reopen.
    let def = TableDef {
        schema: DEFAULT_SCHEMA.into(),
        name: "after_crash".into(),
        columns: model::column_sets()[0].clone(),
    };
    let batch = random_batch(&def, 5, &mut Rng::new(7));
    let mut w = db.begin_write().expect("begin_write");
    w.create_table(def.clone()).expect("create");
    w.append(DEFAULT_SCHEMA, "after_crash", &batch)
        .expect("append");
    w.commit()
        .unwrap_or_else(|e| panic!("{ctx}: commit after recovery: {e}"));
    drop(db);
    let db = model::open(&main, &wal, &OpenOptions::new(), false)
        .unwrap_or_else(|e| panic!("{ctx}: reopen after recovery: {e}"));
    let again = read_db(&db).unwrap_or_else(|e| panic!("{ctx}: read after recovery: {e}"));
    assert_eq!(again.len(), read.len() + 1, "{ctx}: tables after recovery");
    let mut without = again;
    without.remove("public.after_crash");
    assert!(same(&without, &read), "{ctx}: other tables changed");
    assert_eq!(
        db.snapshot()
            .table(DEFAULT_SCHEMA, "after_crash")
            .map(|t| t.row_count()),
        Some(5),
        "{ctx}"
    );
    assert!(db.verify().is_ok(), "{ctx}: {}", db.verify());
}

/// Replacing a database (`init` over an existing file, as
/// `CreateMode::CreateAndReplace` does) loses power at every operation of
/// the replace and of the commits after it: the image holds the old database
/// intact, no database at all, or the new one; never a mix.
#[test]
fn replacing_a_database_crashes_cleanly() {
    let built = model::build_image(0);
    let plan = model::plan(
        seed_from_env().unwrap_or(5),
        Shape {
            txns: 2,
            big_inserts: 0,
        },
    );
    let options = OpenOptions::new();
    let reference = FaultyBackend::from_bytes(built.image.clone());
    let base = reference.ops();
    model::run(&plan, &reference, &reference.sibling(), &options, false);
    let total = reference.ops() - base;
    println!("replace: {total} crash points");
    for n in 0..total {
        let main = FaultyBackend::from_bytes(built.image.clone());
        let wal = main.sibling();
        main.crash_after(Some(n));
        let outcome = model::run(&plan, &main, &wal, &options, false);
        for survival in [Survival::Durable, Survival::Live, Survival::Torn(n)] {
            let ctx = format!("replace, power lost at op {n} of {total}, image {survival:?}");
            let image = main.crash_image(survival);
            let log = wal.crash_image(survival);
            let report =
                Database::verify_backend(model::path(), &FaultyBackend::from_bytes(image.clone()));
            let read = model::open_images(image, log, true).and_then(|db| read_db(&db));
            match read {
                Err(Error::NotADatabase { .. }) => {}
                Err(e) => panic!("{ctx}: {e}\n{report}"),
                Ok(read) => {
                    assert!(report.is_ok(), "{ctx}: {report}");
                    let new = [Some(&outcome.last), outcome.in_flight.as_ref()];
                    let allowed = same(&read, &built.latest)
                        || new.iter().flatten().any(|s| same(&read, &expected(s)));
                    assert!(allowed, "{ctx}: read [{}]", describe(&read));
                }
            }
        }
    }
}

/// A database that crashed with commits in its log (its last checkpoint is
/// sequence 2), as images of its file and its log.
fn crashed_with_a_log() -> (Vec<u8>, Vec<u8>, model::Read) {
    let main = FaultyBackend::new();
    let wal = main.sibling();
    let db = model::open(&main, &wal, &OpenOptions::new(), true).unwrap();
    let def = TableDef {
        schema: DEFAULT_SCHEMA.into(),
        name: "old".into(),
        columns: model::column_sets()[0].clone(),
    };
    let mut state = model::State::new();
    let mut w = db.begin_write().unwrap();
    let mut rng = Rng::new(3);
    let steps = [
        model::Step::Create(def.clone()),
        model::Step::Append("old".into(), random_batch(&def, 70_000, &mut rng)),
    ];
    for step in &steps {
        model::apply_step(&mut w, &mut state, step).unwrap();
    }
    w.commit().unwrap();
    db.checkpoint().unwrap();
    let mut w = db.begin_write().unwrap();
    let step = model::Step::Append("old".into(), random_batch(&def, 70_000, &mut rng));
    model::apply_step(&mut w, &mut state, &step).unwrap();
    w.commit().unwrap();
    // Power off before the close.
    main.crash_after(Some(main.ops()));
    drop(db);
    (
        main.crash_image(Survival::Durable),
        wal.crash_image(Survival::Durable),
        expected(&state),
    )
}

/// Replacing a database that crashed with commits in its log (the old log
/// is still there, as after a crash) loses power at every operation of the
/// replace and of the commits after it: the image holds the old database
/// with its logged commits, no database, or the new one; never a mix, and
/// it always opens.
#[test]
fn replacing_a_crashed_database_crashes_cleanly() {
    let (old_main, old_wal, old) = crashed_with_a_log();
    {
        let db = model::open_images(old_main.clone(), old_wal.clone(), true).unwrap();
        assert!(same(&read_db(&db).unwrap(), &old), "the old database");
    }
    let plan = model::plan(
        seed_from_env().unwrap_or(5),
        Shape {
            txns: 2,
            big_inserts: 0,
        },
    );
    let options = OpenOptions::new();
    let setup = |crash: Option<u64>| {
        let main = FaultyBackend::from_bytes(old_main.clone());
        let wal = main.sibling();
        use hyperctl_storage::Backend;
        wal.write_all_at(&old_wal, 0).unwrap();
        wal.sync().unwrap();
        let base = main.ops();
        main.crash_after(crash.map(|n| base + n));
        (main, wal, base)
    };
    let (reference, reference_wal, base) = setup(None);
    model::run(&plan, &reference, &reference_wal, &options, false);
    let total = reference.ops() - base;
    println!("replace a crashed database: {total} crash points");
    for n in 0..total {
        let (main, wal, _) = setup(Some(n));
        let outcome = model::run(&plan, &main, &wal, &options, false);
        for survival in [Survival::Durable, Survival::Live, Survival::Torn(n)] {
            let ctx = format!("replace, power lost at op {n} of {total}, image {survival:?}");
            let image = main.crash_image(survival);
            let log = wal.crash_image(survival);
            let report =
                Database::verify_backend(model::path(), &FaultyBackend::from_bytes(image.clone()));
            match model::open_images(image, log, true).and_then(|db| read_db(&db)) {
                Err(Error::NotADatabase { .. }) => {}
                Err(e) => panic!("{ctx}: {e}\n{report}"),
                Ok(read) => {
                    let new = [Some(&outcome.last), outcome.in_flight.as_ref()];
                    let allowed = same(&read, &old)
                        || new.iter().flatten().any(|s| same(&read, &expected(s)));
                    assert!(allowed, "{ctx}: read [{}]", describe(&read));
                }
            }
        }
    }
}
