//! Single-byte damage: flip one byte of a closed database, then open it, scan
//! every table and verify. Each flip must either be reported by `verify` with
//! a problem whose byte range holds the flipped byte (and then reading gives
//! an error, or, for the current header slot only, the previous commit,
//! which is what a torn header write of the last commit looks like), or lie
//! in a dead region (the unused header slot, old catalogs, dropped and
//! rolled-back chunks, garbage past the committed end) and change nothing.
//! Never a panic, never wrong data.

use std::ops::Range;

use hyperctl_storage::{Database, Error, MemBackend};

use crate::model::{self, Built, Rng, describe, read_db, same, seed_from_env};

#[test]
fn every_byte_of_a_small_file() {
    let built = model::build_image(0);
    let len = built.image.len();
    assert!(len < 20_000, "the small file has {len} bytes");
    for offset in 0..len {
        check_flip(&built, offset);
    }
}

#[test]
fn a_sample_of_a_bigger_file() {
    let seed = seed_from_env().unwrap_or(0x00F1_1B5E);
    println!("flip sample: seed {seed} (HYPERCTL_SEED to rerun)");
    let built = model::build_image(20_000);
    let len = built.image.len() as u64;
    assert!(len > 100_000, "the bigger file has {len} bytes");
    let mut rng = Rng::new(seed);
    // Every live region's first and last byte, then random offsets.
    let mut offsets: Vec<u64> = built
        .live
        .iter()
        .flat_map(|(r, _)| [r.start, r.end - 1])
        .collect();
    offsets.extend((0..2_000).map(|_| rng.below(len)));
    for offset in offsets {
        check_flip(&built, offset as usize);
    }
}

fn check_flip(built: &Built, offset: usize) {
    let mut image = built.image.clone();
    image[offset] ^= 0xff;
    let report = Database::verify_backend(model::path(), &MemBackend::from_bytes(image.clone()));
    let read = Database::from_backend(
        model::path(),
        Box::new(MemBackend::from_bytes(image)),
        true,
        false,
    )
    .and_then(|db| read_db(&db));
    let at = offset as u64;
    let live: Option<&(Range<u64>, String)> = built.live.iter().find(|(r, _)| r.contains(&at));
    let Some((_, region)) = live else {
        let read = read.unwrap_or_else(|e| panic!("flip at {offset} (dead region): {e}\n{report}"));
        assert!(
            same(&read, &built.latest),
            "flip at {offset} (dead region): wrong data [{}]",
            describe(&read)
        );
        assert!(report.is_ok(), "flip at {offset} (dead region): {report}");
        return;
    };
    assert!(
        report.problems.iter().any(|p| p.range().contains(&at)),
        "flip at {offset} ({region}) is not reported:\n{report}"
    );
    match read {
        Err(Error::Internal { .. }) => panic!("flip at {offset} ({region}): internal error"),
        Err(_) => {}
        Ok(read) => assert!(
            region == "current header slot" && same(&read, &built.previous),
            "flip at {offset} ({region}): read [{}] without an error",
            describe(&read)
        ),
    }
}
