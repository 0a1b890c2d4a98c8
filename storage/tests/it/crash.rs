//! Crash consistency: seeded workloads lose power at every write and every
//! sync, on the fault-injecting backend, and each crash image must reopen to
//! a state the model allows.
//!
//! For crash point `n` the workload runs with operations `0..n` performed and
//! operation `n` failing (power lost); then each of three crash images is
//! reopened with `MemBackend::from_bytes`: only synced data, every write
//! (including the one in flight), and a seeded torn mix (each unsynced write
//! whole, dropped or cut short). The rule, for each image:
//! - every transaction whose `commit()` returned `Ok` is there, whole;
//! - the commit in flight (`commit()` called, not returned) is there whole or
//!   not at all, never in part; a commit that had not returned may or may
//!   not be durable;
//! - nothing else of an uncommitted or rolled-back transaction is visible;
//! - `verify` reports no damage (a torn header slot is a warning);
//! - before creating the database returned, the image may also be "not a
//!   database" (or an empty database);
//! - the torn image takes another commit that survives a reopen.
//!
//! Counts: `cargo test` runs `DEFAULT_SEEDS` workloads, every crash point of
//! each (about 450 crash points, 1,350 images). `HYPERCTL_CRASH_POINTS=full`
//! runs `FULL_SEEDS` workloads (about 1,800 crash points; at least 1,000, the test
//! asserts it). `HYPERCTL_SEED=n` runs workload `n` alone, every crash point.

use hyperctl_storage::testing::{FaultyBackend, Survival};
use hyperctl_storage::{DEFAULT_SCHEMA, Database, Error, MemBackend, TableDef};

use crate::model::{
    self, Outcome, Rng, TxnPlan, describe, expected, random_batch, read_db, same, seed_from_env,
};

const DEFAULT_SEEDS: u64 = 6;
const FULL_SEEDS: u64 = 24;
const TXNS: usize = 10;

#[test]
fn every_crash_point_recovers_a_committed_state() {
    let full = std::env::var("HYPERCTL_CRASH_POINTS").as_deref() == Ok("full");
    let seeds: Vec<u64> = match seed_from_env() {
        Some(seed) => vec![seed],
        None => (0..if full { FULL_SEEDS } else { DEFAULT_SEEDS }).collect(),
    };
    let mut points = 0;
    for &seed in &seeds {
        points += crash_every_op(seed);
    }
    println!("crash test: {} seeds, {points} crash points", seeds.len());
    if full && seed_from_env().is_none() {
        assert!(points >= 1000, "only {points} crash points");
    }
}

/// Runs workload `seed` once to count its operations, then crashes it at
/// each one. Returns the number of crash points.
fn crash_every_op(seed: u64) -> u64 {
    println!("crash test: seed {seed} (rerun alone with HYPERCTL_SEED={seed})");
    let plan = model::plan(seed, TXNS);
    let reference = FaultyBackend::new();
    let outcome = model::run(&plan, &reference, true);
    assert!(!reference.crashed());
    assert!(
        outcome.commits > 0,
        "seed {seed}: a workload without commits"
    );
    let total = reference.ops();
    for n in 0..total {
        let backend = FaultyBackend::new();
        backend.crash_after(Some(n));
        let outcome = model::run(&plan, &backend, false);
        assert!(backend.crashed(), "seed {seed}: op {n} was not reached");
        let torn = Survival::Torn((seed << 32) | n);
        for survival in [Survival::Durable, Survival::Live, torn] {
            let ctx = format!("seed {seed}, power lost at op {n} of {total}, image {survival:?}");
            check_image(&backend.crash_image(survival), &outcome, &plan, &ctx);
        }
    }
    total
}

fn check_image(image: &[u8], outcome: &Outcome, plan: &[TxnPlan], ctx: &str) {
    let report = Database::verify_backend(model::path(), &MemBackend::from_bytes(image.to_vec()));
    let backend = FaultyBackend::from_bytes(image.to_vec());
    let db = match Database::from_backend(model::path(), Box::new(backend.clone()), false, false) {
        Ok(db) => db,
        Err(Error::NotADatabase { .. }) if !outcome.created => return,
        Err(e) => panic!("{ctx}: reopening failed: {e}\n{report}"),
    };
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
    if !ctx.contains("Torn") {
        return;
    }
    // The recovered database keeps working: one more commit, then a reopen.
    let def = TableDef {
        schema: DEFAULT_SCHEMA.into(),
        name: "after_crash".into(),
        columns: plan
            .iter()
            .flat_map(|t| &t.steps)
            .find_map(|s| match s {
                model::Step::Create(def) => Some(def.columns.clone()),
                _ => None,
            })
            .expect("a workload creates a table"),
    };
    let batch = random_batch(&def, 5, &mut Rng::new(7));
    let mut w = db.begin_write().expect("begin_write");
    w.create_table(def.clone()).expect("create");
    w.append(DEFAULT_SCHEMA, "after_crash", &batch)
        .expect("append");
    w.commit()
        .unwrap_or_else(|e| panic!("{ctx}: commit after recovery: {e}"));
    drop(db);
    let db = Database::from_backend(model::path(), Box::new(backend), false, false)
        .unwrap_or_else(|e| panic!("{ctx}: reopen after recovery: {e}"));
    let again = read_db(&db).unwrap_or_else(|e| panic!("{ctx}: read after recovery: {e}"));
    assert_eq!(again.len(), read.len() + 1, "{ctx}: tables after recovery");
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
/// the replace and of one commit after it: the image holds the old database
/// intact, no database at all, or the new one; never a mix.
#[test]
fn replacing_a_database_crashes_cleanly() {
    let built = model::build_image(0);
    let plan = model::plan(seed_from_env().unwrap_or(5), 2);
    let reference = FaultyBackend::from_bytes(built.image.clone());
    let base = reference.ops();
    run_replace(&plan, &reference);
    let total = reference.ops() - base;
    println!("replace: {total} crash points");
    for n in 0..total {
        let backend = FaultyBackend::from_bytes(built.image.clone());
        backend.crash_after(Some(n));
        let outcome = run_replace(&plan, &backend);
        for survival in [Survival::Durable, Survival::Live, Survival::Torn(n)] {
            let ctx = format!("replace, power lost at op {n} of {total}, image {survival:?}");
            let image = backend.crash_image(survival);
            let report =
                Database::verify_backend(model::path(), &MemBackend::from_bytes(image.clone()));
            let read = Database::from_backend(
                model::path(),
                Box::new(MemBackend::from_bytes(image)),
                true,
                false,
            )
            .and_then(|db| read_db(&db));
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

fn run_replace(plan: &[TxnPlan], backend: &FaultyBackend) -> Outcome {
    model::run(plan, backend, false)
}
