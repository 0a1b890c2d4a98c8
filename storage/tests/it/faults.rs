//! Faults other than power loss: damaged reads, failed commits (the handle is
//! poisoned), truncated files, and the real-file paths (create, replace,
//! locks, `verify_file`).

use hyperctl_storage::testing::{FaultyBackend, ReadFaults, Survival};
use hyperctl_storage::{
    CreateMode, DEFAULT_SCHEMA, Database, Error, MemBackend, OpenOptions, Severity, TableDef,
};

use crate::model::{self, Rng, describe, random_batch, read_db, same, seed_from_env};

/// Reads that come back with a flipped bit or short never give wrong data:
/// an error or the last commit (both header slots of a closed file hold it).
#[test]
fn damaged_reads_never_give_wrong_data() {
    let built = model::build_image(0);
    let first = seed_from_env().unwrap_or(0);
    println!("damaged reads: seeds {first}.. (HYPERCTL_SEED to rerun)");
    let (mut errors, mut latest) = (0, 0);
    for seed in first..first + 300 {
        let backend = FaultyBackend::from_bytes(built.image.clone());
        backend.set_read_faults(Some(ReadFaults {
            seed,
            flip_probability: 0.04,
            short_read_probability: 0.02,
        }));
        let read = Database::from_backends(
            model::path(),
            Box::new(backend.clone()),
            Box::new(MemBackend::new()),
            &OpenOptions::new().read_only(true),
            false,
        )
        .and_then(|db| {
            let _ = db.verify();
            read_db(&db)
        });
        match read {
            Err(Error::Internal { what }) => panic!("seed {seed}: internal error {what}"),
            Err(_) => errors += 1,
            Ok(read) => {
                assert!(
                    same(&read, &built.latest),
                    "seed {seed}: wrong data [{}]",
                    describe(&read)
                );
                latest += 1;
            }
        }
    }
    assert!(errors > 0 && latest > 0, "errors {errors}, latest {latest}");
}

fn table(name: &str) -> TableDef {
    TableDef {
        schema: DEFAULT_SCHEMA.into(),
        name: name.into(),
        columns: vec![hyperctl_storage::ColumnDef::new(
            "a",
            hyperctl_format::SqlType::BigInt,
            true,
        )],
    }
}

fn commit_table(db: &Database, name: &str, rows: usize) -> Result<(), Error> {
    let def = table(name);
    let mut w = db.begin_write()?;
    w.create_table(def.clone())?;
    w.append(
        DEFAULT_SCHEMA,
        name,
        &random_batch(&def, rows, &mut Rng::new(1)),
    )?;
    w.commit()
}

fn new_db() -> (Database, FaultyBackend, FaultyBackend) {
    let main = FaultyBackend::new();
    let wal = main.sibling();
    let db = model::open(&main, &wal, &OpenOptions::new(), true).unwrap();
    (db, main, wal)
}

/// An I/O error at any write or sync of a commit (a small one: the log
/// record; a big one: blocks into the main file, then the record) fails the
/// commit and poisons the handle; a reopen sees the commit whole or not at
/// all, and writes again.
#[test]
fn a_failed_commit_poisons_the_handle() {
    for rows in [10, 70_000] {
        let (db, probe, _wal) = new_db();
        commit_table(&db, "t1", 10).unwrap();
        let before = probe.ops();
        commit_table(&db, "t2", rows).unwrap();
        let ops = probe.ops() - before;
        assert!(ops >= 2, "a commit writes and syncs the log");
        for k in 0..ops {
            let (db, main, wal) = new_db();
            commit_table(&db, "t1", 10).unwrap();
            main.fail_op(Some(before + k));
            let err = commit_table(&db, "t2", rows).expect_err("the injected fault");
            assert!(
                matches!(err, Error::Io { .. }),
                "rows {rows}, op {k}: {err}"
            );
            assert!(
                matches!(db.begin_write(), Err(Error::Poisoned { .. })),
                "rows {rows}, op {k}: not poisoned"
            );
            assert_eq!(
                db.snapshot().table_names(DEFAULT_SCHEMA),
                vec!["t1"],
                "rows {rows}, op {k}"
            );
            drop(db);
            for (image, log) in [
                (
                    main.crash_image(Survival::Durable),
                    wal.crash_image(Survival::Durable),
                ),
                (main.live_image(), wal.live_image()),
            ] {
                let db = model::open_images(image, log, false).unwrap();
                let names = db.snapshot().table_names(DEFAULT_SCHEMA);
                assert!(
                    names == ["t1"] || names == ["t1", "t2"],
                    "rows {rows}, op {k}: {names:?}"
                );
                if names.len() == 2 {
                    let t2 = db.snapshot().table(DEFAULT_SCHEMA, "t2").unwrap();
                    assert_eq!(t2.row_count(), rows as u64, "rows {rows}, op {k}");
                }
                assert!(db.verify().is_ok(), "rows {rows}, op {k}: {}", db.verify());
                commit_table(&db, "t3", 3).unwrap();
            }
        }
    }
}

/// A file cut short anywhere before the committed end does not open (it is
/// never silently read as an older commit); cut at the end, it opens.
#[test]
fn a_truncated_file_does_not_open_an_older_commit() {
    let built = model::build_image(0);
    let end = built.live.iter().map(|(r, _)| r.end).max().unwrap();
    let catalog = built
        .live
        .iter()
        .find(|(_, w)| w == "catalog")
        .unwrap()
        .0
        .clone();
    let mut cuts = vec![end - 1, catalog.start, catalog.start + 3, 4096, 4097, 100];
    cuts.extend(built.live.iter().skip(2).map(|(r, _)| r.start + 1));
    for cut in cuts {
        let image = built.image[..cut as usize].to_vec();
        let report =
            Database::verify_backend(model::path(), &MemBackend::from_bytes(image.clone()));
        assert!(!report.is_ok(), "cut at {cut}: {report}");
        match model::open_images(image, Vec::new(), true) {
            Err(Error::Corrupt { .. } | Error::NotADatabase { .. }) => {}
            Err(e) => panic!("cut at {cut}: {e}"),
            Ok(db) => panic!("cut at {cut} opens: [{}]", describe(&read_db(&db).unwrap())),
        }
    }
    let image = built.image[..end as usize].to_vec();
    let db = model::open_images(image, Vec::new(), true).unwrap();
    assert!(same(&read_db(&db).unwrap(), &built.latest));
    assert!(db.verify().is_ok());
}

/// The newest header slot's catalog damaged: the open fails, naming the
/// slot, instead of falling back to the older commit.
#[test]
fn a_damaged_newest_catalog_is_an_error_not_a_fallback() {
    let built = model::build_image(0);
    let catalog = built
        .live
        .iter()
        .find(|(_, w)| w == "catalog")
        .unwrap()
        .0
        .clone();
    let mut image = built.image.clone();
    image[catalog.start as usize + 5] ^= 1;
    let opened = model::open_images(image.clone(), Vec::new(), true);
    let Err(err) = opened else {
        panic!("a damaged catalog opens");
    };
    let text = err.to_string();
    assert!(
        matches!(err, Error::Corrupt { .. }) && text.contains("header slot"),
        "{text}"
    );
    let report = Database::verify_backend(model::path(), &MemBackend::from_bytes(image));
    let damage: Vec<_> = report
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Damage)
        .collect();
    assert_eq!(damage.len(), 1, "{report}");
    assert_eq!(damage[0].range(), catalog, "{report}");
}

/// Files on disk: create, replace, shared and exclusive locks, verify_file.
#[test]
fn real_files_create_replace_lock_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.hxe");
    let create = OpenOptions::new().create_mode(CreateMode::Create);
    let db = Database::open(&path, &create).unwrap();
    commit_table(&db, "t", 100).unwrap();
    let read_only = OpenOptions::new().read_only(true);
    assert!(matches!(
        Database::open(&path, &read_only),
        Err(Error::Locked { .. })
    ));
    assert!(matches!(
        Database::verify_file(&path),
        Err(Error::Locked { .. })
    ));
    drop(db);
    assert!(
        !hyperctl_storage::wal_path_of(&path).exists(),
        "a clean close removes the log"
    );
    let report = Database::verify_file(&path).unwrap();
    assert!(
        report.is_ok() && report.rows == 100 && report.tables == 1,
        "{report}"
    );
    let r1 = Database::open(&path, &read_only).unwrap();
    let r2 = Database::open(&path, &read_only).unwrap();
    assert!(matches!(r1.begin_write(), Err(Error::ReadOnly { .. })));
    assert_eq!(r2.snapshot().table("public", "t").unwrap().row_count(), 100);
    assert!(matches!(
        Database::open(&path, &OpenOptions::new()),
        Err(Error::Locked { .. })
    ));
    drop((r1, r2));
    let replace = OpenOptions::new().create_mode(CreateMode::CreateAndReplace);
    let db = Database::open(&path, &replace).unwrap();
    assert!(db.snapshot().table_names("public").is_empty());
    drop(db);
    assert!(Database::verify_file(&path).unwrap().is_ok());
    assert!(matches!(
        Database::verify_file(dir.path().join("missing.hxe")),
        Err(Error::NotFound { .. })
    ));
}

/// Acceptance 5: while a handle has the file open for writing (with commits
/// in the log, not yet checkpointed), every other open (for writing,
/// read-only, replacing, `verify_file`) fails with `Locked` and changes no
/// byte of the file or its log; the writer's commits survive.
#[test]
fn a_second_open_is_locked_and_harms_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.hxe");
    let wal = hyperctl_storage::wal_path_of(&path);
    let db = Database::open(&path, &OpenOptions::new().create_mode(CreateMode::Create)).unwrap();
    commit_table(&db, "t", 100).unwrap();
    commit_table(&db, "big", 70_000).unwrap();
    let before = (std::fs::read(&path).unwrap(), std::fs::read(&wal).unwrap());
    for options in [
        OpenOptions::new(),
        OpenOptions::new().read_only(true),
        OpenOptions::new().create_mode(CreateMode::CreateAndReplace),
        OpenOptions::new().create_mode(CreateMode::CreateIfNotExists),
    ] {
        let err = Database::open(&path, &options).expect_err("locked");
        assert!(matches!(err, Error::Locked { .. }), "{options:?}: {err}");
        assert!(err.to_string().contains("is locked"), "{err}");
    }
    assert!(matches!(
        Database::verify_file(&path),
        Err(Error::Locked { .. })
    ));
    let after = (std::fs::read(&path).unwrap(), std::fs::read(&wal).unwrap());
    assert!(
        before == after,
        "a refused open changed the file or its log"
    );
    commit_table(&db, "t2", 5).unwrap();
    drop(db);
    let db = Database::open(&path, &OpenOptions::new().read_only(true)).unwrap();
    let names = db.snapshot().table_names(DEFAULT_SCHEMA);
    assert_eq!(names, ["t", "big", "t2"]);
    let big = db.snapshot().table(DEFAULT_SCHEMA, "big").unwrap();
    assert_eq!(big.row_count(), 70_000);
    assert!(db.verify().is_ok(), "{}", db.verify());
}

/// A creation that was interrupted (killed before the first header was
/// written) leaves an empty file, or zeros and an empty catalog: opening it
/// for writing creates the database again. A small file that holds anything
/// else is not a database and stays untouched.
#[test]
fn an_interrupted_creation_is_created_again() {
    let dir = tempfile::tempdir().unwrap();
    let empty_catalog = {
        let main = FaultyBackend::new();
        drop(model::open(&main, &main.sibling(), &OpenOptions::new(), true).unwrap());
        main.live_image()[4096..].to_vec()
    };
    let mut zeros_and_catalog = vec![0u8; 4096];
    zeros_and_catalog.extend_from_slice(&empty_catalog);
    for (name, bytes) in [
        ("empty", Vec::new()),
        ("zeros", vec![0u8; 4096]),
        ("zeros-and-catalog", zeros_and_catalog),
    ] {
        let path = dir.path().join(format!("{name}.hxe"));
        std::fs::write(&path, &bytes).unwrap();
        let read_only = OpenOptions::new().read_only(true);
        assert!(
            matches!(
                Database::open(&path, &read_only),
                Err(Error::NotADatabase { .. })
            ),
            "{name}: read-only"
        );
        let db =
            Database::open(&path, &OpenOptions::new()).unwrap_or_else(|e| panic!("{name}: {e}"));
        commit_table(&db, "t", 10).unwrap();
        drop(db);
        let db = Database::open(&path, &read_only).unwrap();
        assert_eq!(db.snapshot().table_names(DEFAULT_SCHEMA), ["t"], "{name}");
    }
    let path = dir.path().join("text.hxe");
    std::fs::write(&path, b"not a database").unwrap();
    let err = Database::open(&path, &OpenOptions::new()).expect_err("not a database");
    assert!(matches!(err, Error::NotADatabase { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"not a database");
}

/// An I/O error at any write, `set_len` or sync of a checkpoint or a
/// VACUUM fails it and poisons the handle (it does not try again on
/// close); a reopen of what is on disk then (durable or not) holds every
/// commit, verifies, and writes again.
#[test]
fn a_failed_checkpoint_or_vacuum_loses_nothing() {
    let setup = || {
        let (db, main, wal) = new_db();
        commit_table(&db, "t1", 70_000).unwrap();
        commit_table(&db, "t2", 10).unwrap();
        let mut w = db.begin_write().unwrap();
        w.delete(
            DEFAULT_SCHEMA,
            "t1",
            &(0..65_536).step_by(2).collect::<Vec<u64>>(),
        )
        .unwrap();
        w.commit().unwrap();
        (db, main, wal)
    };
    let rows = |db: &Database| {
        let s = db.snapshot();
        (
            s.table(DEFAULT_SCHEMA, "t1").map(|t| t.row_count()),
            s.table(DEFAULT_SCHEMA, "t2").map(|t| t.row_count()),
        )
    };
    let want = (Some(70_000 - 32_768), Some(10));
    for vacuum in [false, true] {
        let (db, probe, _wal) = setup();
        let before = probe.ops();
        if vacuum {
            db.vacuum().unwrap();
        } else {
            db.checkpoint().unwrap();
        }
        let ops = probe.ops() - before;
        for k in 0..ops {
            let (db, main, wal) = setup();
            main.fail_op(Some(before + k));
            let result = if vacuum {
                db.vacuum().map(|_| ())
            } else {
                db.checkpoint()
            };
            let ctx = format!("vacuum {vacuum}, op {k} of {ops}");
            let err = result.expect_err(&ctx);
            assert!(matches!(err, Error::Io { .. }), "{ctx}: {err}");
            assert!(
                matches!(db.begin_write(), Err(Error::Poisoned { .. })),
                "{ctx}: not poisoned"
            );
            assert_eq!(rows(&db), want, "{ctx}");
            drop(db);
            for (image, log) in [
                (
                    main.crash_image(Survival::Durable),
                    wal.crash_image(Survival::Durable),
                ),
                (main.live_image(), wal.live_image()),
            ] {
                let db =
                    model::open_images(image, log, false).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                assert_eq!(rows(&db), want, "{ctx}");
                assert!(db.verify().is_ok(), "{ctx}: {}", db.verify());
                commit_table(&db, "t3", 3).unwrap();
                db.vacuum().unwrap();
                assert_eq!(rows(&db), want, "{ctx}");
            }
        }
    }
}
