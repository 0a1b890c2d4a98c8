//! Replays the seed corpus of the `format_column` fuzz target
//! (`fuzz/corpus/format_column/`) through the target's body, so that every
//! crash the fuzzer ever found stays a `cargo test` regression.
//!
//! `HYPERCTL_BLESS=1 cargo test -p hyperctl-format --test it corpus` rewrites
//! the generated seeds (`valid-*`, `broken-*`) before replaying; files with
//! other names (fuzzer finds, `regression-*`) are left alone.

use std::path::{Path, PathBuf};

use hyperctl_format::arrow::array::ArrayRef;
use hyperctl_format::fuzzing::column_round_trip;
use hyperctl_format::{SqlType, crc32c, decode_column, encode_column};

use crate::arb::{sample_column, type_index};

const CORPUS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/format_column");

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
        column_round_trip(&data);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("broken-") {
            assert!(decodes(&data).is_err(), "{name} decodes");
        } else if name.starts_with("valid-") {
            decodes(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

/// Decodes a corpus entry: the type's index, then the column.
fn decodes(data: &[u8]) -> hyperctl_format::Result<ArrayRef> {
    let ty = SqlType::examples()[usize::from(data[0]) % SqlType::examples().len()];
    decode_column(ty, &data[1..], 0)
}

/// Writes one valid sample column per example type, and a few broken ones.
fn write_seeds(dir: &Path) {
    std::fs::create_dir_all(dir).expect("create the corpus directory");
    let write = |name: &str, data: &[u8]| {
        std::fs::write(dir.join(name), data).unwrap_or_else(|e| panic!("write {name}: {e}"));
    };
    for (i, ty) in SqlType::examples().into_iter().enumerate() {
        let mut data = vec![type_index(ty)];
        data.extend(encode_column(ty, sample_column(ty).as_ref()).expect("encode a sample"));
        let name: String = ty
            .to_string()
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        write(
            &format!("valid-{i:02}-{}", name.trim_end_matches('-')),
            &data,
        );
    }
    let text = |ty: SqlType| {
        let mut data = vec![type_index(ty)];
        data.extend(encode_column(ty, sample_column(ty).as_ref()).expect("encode a sample"));
        data
    };
    let mut bad = text(SqlType::Text);
    *bad.last_mut().expect("not empty") ^= 0x40;
    write("broken-checksum", &bad);
    write("broken-truncated", &text(SqlType::BigInt)[..9]);
    // Structural damage under a correct checksum, so the fuzzer starts past it.
    let mut bad = text(SqlType::Text);
    let data_end = bad.len() - 5;
    bad[data_end] = 0xff;
    write("broken-utf8-resealed", &reseal(bad));
    let mut bad = text(SqlType::Text);
    bad[1 + 10 + 1 + 4] = 0x7f;
    write("broken-offset-resealed", &reseal(bad));
    let numeric = SqlType::numeric(18, 3).expect("valid");
    let mut bad = text(numeric);
    bad[1 + 10 + 1 + 15] = 0x40;
    write("broken-numeric-resealed", &reseal(bad));
    let mut bad = text(SqlType::Bool);
    bad[1 + 10] = 0xff;
    write("broken-bitmap-resealed", &reseal(bad));
}

/// Fixes the checksum of a corpus entry (type byte, then the column).
fn reseal(mut data: Vec<u8>) -> Vec<u8> {
    data.truncate(data.len() - 4);
    let checksum = crc32c(&data[1..]);
    data.extend_from_slice(&checksum.to_le_bytes());
    data
}
