//! Single-byte damage (issue 3, acceptance 3): flip one byte of a closed
//! database (dropped, so checkpointed, log removed, header in both slots),
//! then verify it, open it, and scan every table. Each flipped byte must be
//! reported by `verify` with a problem (damage or warning) whose byte range
//! holds it, and reading must give the exact original rows or an error:
//! `Corrupt` naming the catalog, or the table and column of a damaged block
//! column. Never a panic, never `Internal`, never wrong rows.
//!
//! - A header slot: the other slot holds the same commit, so reads give the
//!   original rows and `verify` warns about the slot.
//! - The reserved bytes after each header slot: `verify` reports damage
//!   (they must be zero); reads do not look at them.
//! - The catalog and every block column: crc32c; the open or the scan fails.
//!
//! - Free space inside the file (the holes that a dropped table's blocks and
//!   older catalogs left): a clean close writes zeros there, so `verify`
//!   reports a flipped byte as a free-space warning; nothing points there, so
//!   reads give the original rows. The closed file has no bytes past the end
//!   of the committed data (a close cuts the file), and the test asserts
//!   that too.

use std::ops::Range;

use hyperctl_storage::{Database, Error, MemBackend};

use crate::model::{self, Built, Rng, describe, read_db, same, seed_from_env};

/// Header slot fields end here; the rest of each slot's 2,048 bytes is
/// reserved and must be zero.
const SLOT_FIELDS: u64 = 56;
const PADDING: [Range<u64>; 2] = [SLOT_FIELDS..2048, 2048 + SLOT_FIELDS..4096];

#[test]
fn every_byte_of_a_small_file() {
    let built = model::build_image(0);
    let len = built.image.len();
    assert!(len < 20_000, "the small file has {len} bytes");
    let mut free = 0;
    for offset in 0..len {
        free += usize::from(check_flip(&built, offset));
    }
    println!("flips: {len} bytes, {free} of them free space (reported as warnings)");
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
    offsets.extend((0..1_500).map(|_| rng.below(len)));
    for offset in offsets {
        check_flip(&built, offset as usize);
    }
}

/// Flips the byte at `offset` and checks the rules of the module docs.
/// Returns whether the byte is free space.
fn check_flip(built: &Built, offset: usize) -> bool {
    let committed_end = built.live.iter().map(|(r, _)| r.end).max().unwrap_or(0);
    assert_eq!(
        built.image.len() as u64,
        committed_end,
        "a closed file ends with its committed data"
    );
    let mut image = built.image.clone();
    image[offset] ^= 0xff;
    let report = Database::verify_backend(model::path(), &MemBackend::from_bytes(image.clone()));
    let read = model::open_images(image, Vec::new(), true).and_then(|db| read_db(&db));
    let at = offset as u64;
    let live: Option<&(Range<u64>, String)> = built.live.iter().find(|(r, _)| r.contains(&at));
    let padding = PADDING.iter().any(|r| r.contains(&at));
    if live.is_none() && !padding {
        let read = read.unwrap_or_else(|e| panic!("flip at {offset} (free space): {e}\n{report}"));
        assert!(
            same(&read, &built.latest),
            "flip at {offset} (free space): wrong data [{}]",
            describe(&read)
        );
        assert!(report.is_ok(), "flip at {offset} (free space): {report}");
        assert!(
            report.problems.iter().any(|p| p.range().contains(&at)),
            "flip at {offset} (free space) is not reported:\n{report}"
        );
        return true;
    }
    let region = live.map_or("header slot padding", |(_, w)| w.as_str());
    assert!(
        report.problems.iter().any(|p| p.range().contains(&at)),
        "flip at {offset} ({region}) is not reported:\n{report}"
    );
    match read {
        Err(Error::Internal { what }) => {
            panic!("flip at {offset} ({region}): internal error {what}")
        }
        Err(e @ Error::Corrupt { .. }) => {
            let text = e.to_string();
            let named = match region.split_once(" block ") {
                // "schema.table block i column c"
                Some((table, rest)) => {
                    let table = table.split_once('.').map_or(table, |(_, t)| t);
                    let column = rest.split_once(" column ").map_or("", |(_, c)| c);
                    text.contains(&format!("table \"{table}\""))
                        && text.contains(&format!("column \"{column}\""))
                }
                None => region == "catalog" && text.contains("catalog"),
            };
            assert!(
                named,
                "flip at {offset} ({region}): the error does not name it: {text}"
            );
        }
        Err(e) => panic!("flip at {offset} ({region}): not a Corrupt error: {e}"),
        Ok(read) => {
            assert!(
                region.starts_with("header slot"),
                "flip at {offset} ({region}): read [{}] without an error",
                describe(&read)
            );
            assert!(
                same(&read, &built.latest),
                "flip at {offset} ({region}): wrong data [{}]",
                describe(&read)
            );
        }
    }
    false
}
