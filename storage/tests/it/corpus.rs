//! Replays the seed corpus of the `storage_open` fuzz target
//! (`fuzz/corpus/storage_open/`) through the target's body, so that every
//! crash the fuzzer ever found stays a `cargo test` regression.
//!
//! `HYPERCTL_BLESS=1 cargo test -p hyperctl-storage --test it corpus` rewrites
//! the generated seeds (`valid-*`, `broken-*`: small real database images)
//! before replaying; other files (fuzzer finds, `regression-*`) are left alone.

use std::path::{Path, PathBuf};

use hyperctl_storage::fuzzing::open_arbitrary;
use hyperctl_storage::{Database, MemBackend};

use crate::model;

const CORPUS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/storage_open");

#[test]
fn fuzz_corpus_replays() {
    let dir = Path::new(CORPUS_DIR);
    if std::env::var("HYPERCTL_BLESS").as_deref() == Ok("1") {
        write_seeds(dir);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}; HYPERCTL_BLESS=1 writes the seeds", dir.display()))
        .map(|entry| entry.expect("corpus directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "{} is empty; HYPERCTL_BLESS=1 writes the seeds",
        dir.display()
    );
    for path in files {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("replaying {}", path.display());
        open_arbitrary(&data);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let ok = Database::verify_backend(model::path(), &MemBackend::from_bytes(data)).is_ok();
        if name.starts_with("broken-") {
            assert!(!ok, "{name} verifies");
        } else if name.starts_with("valid-") {
            assert!(ok, "{name} does not verify");
        }
    }
}

/// Small real images: empty, with tables (dead regions included), with a
/// torn unused header slot; and damaged ones.
fn write_seeds(dir: &Path) {
    std::fs::create_dir_all(dir).expect("create the corpus directory");
    let write = |name: &str, data: &[u8]| {
        std::fs::write(dir.join(name), data).unwrap_or_else(|e| panic!("write {name}: {e}"));
    };
    let backend = hyperctl_storage::testing::FaultyBackend::new();
    let db = model::open(
        &backend,
        &backend.sibling(),
        &hyperctl_storage::OpenOptions::new(),
        true,
    )
    .expect("create");
    drop(db);
    write("valid-empty", &backend.live_image());
    let built = model::build_image(0);
    write("valid-tables", &built.image);
    let region = |what: &str| {
        built
            .live
            .iter()
            .find(|(_, w)| w.contains(what))
            .unwrap_or_else(|| panic!("no live {what}"))
            .0
            .clone()
    };
    let mut torn = built.image.clone();
    torn[2048 + 30] ^= 0x10;
    write("valid-torn-slot-b", &torn);
    let mut bad = built.image.clone();
    bad[30] ^= 0x10;
    write("valid-torn-slot-a", &bad);
    let mut bad = built.image.clone();
    bad[region("catalog").start as usize + 9] ^= 0x01;
    write("broken-catalog", &bad);
    let mut bad = built.image.clone();
    bad[region("column").start as usize + 12] ^= 0x01;
    write("broken-column", &bad);
    let end = built.live.iter().map(|(r, _)| r.end).max().unwrap_or(0);
    write("broken-truncated", &built.image[..end as usize - 1]);
}
