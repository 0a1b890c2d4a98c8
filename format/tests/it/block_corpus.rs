//! Replays the seed corpus of the `format_block` fuzz target
//! (`fuzz/corpus/format_block/`) through the target's body, so that every
//! crash the fuzzer ever found stays a `cargo test` regression.
//!
//! `HYPERCTL_BLESS=1 cargo test -p hyperctl-format --test it block_corpus`
//! rewrites the generated seeds (`valid-*`, `broken-*`) before replaying;
//! files with other names (fuzzer finds, `regression-*`) are left alone.

use std::path::{Path, PathBuf};

use hyperctl_format::arrow::array::{ArrayRef, Int64Array, StringArray};
use hyperctl_format::fuzzing::block_decode;
use hyperctl_format::{
    BlockEncoding, SqlType, crc32c, decode_block_column, encode_block_column,
    encode_block_column_as,
};

use crate::arb::{sample_column, type_index};

const CORPUS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/format_block");

#[test]
fn block_fuzz_corpus_replays() {
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
        block_decode(&data);
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

/// Decodes a corpus entry: the type's index, then the column, with the row
/// count of its header.
fn decodes(data: &[u8]) -> hyperctl_format::Result<ArrayRef> {
    let ty = SqlType::examples()[usize::from(data[0]) % SqlType::examples().len()];
    let rows = data.get(4..8).map_or(0, |le| {
        u32::from_le_bytes([le[0], le[1], le[2], le[3]]) as usize
    });
    decode_block_column(&ty, &data[1..], rows)
}

fn file_name(ty: SqlType) -> String {
    let name: String = ty
        .to_string()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name.trim_end_matches('-').to_string()
}

/// Writes each example type's sample in every encoding that fits, a few
/// larger columns, and some broken ones.
fn write_seeds(dir: &Path) {
    std::fs::create_dir_all(dir).expect("create the corpus directory");
    let write = |name: &str, data: &[u8]| {
        std::fs::write(dir.join(name), data).unwrap_or_else(|e| panic!("write {name}: {e}"));
    };
    let entry = |ty: SqlType, bytes: &[u8]| {
        let mut data = vec![type_index(ty)];
        data.extend_from_slice(bytes);
        data
    };
    for (i, ty) in SqlType::examples().into_iter().enumerate() {
        let sample = sample_column(ty);
        for encoding in BlockEncoding::ALL {
            if let Ok(encoded) = encode_block_column_as(&ty, sample.as_ref(), encoding) {
                let name = format!("valid-{i:02}-{}-{encoding}", file_name(ty));
                write(&name.replace('+', "-"), &entry(ty, &encoded.bytes));
            }
        }
    }
    let ints = Int64Array::from_iter_values((0..300).map(|i| 1000 + i % 50));
    let ints = encode_block_column(&SqlType::BigInt, &ints).expect("encode");
    write(
        "valid-bigint-300-rows",
        &entry(SqlType::BigInt, &ints.bytes),
    );
    let json = StringArray::from_iter_values(
        (0..200).map(|i| format!(r#"{{"id": {i}, "region": "Central"}}"#)),
    );
    let json = encode_block_column(&SqlType::Json, &json).expect("encode");
    assert_eq!(json.encoding, BlockEncoding::PlainLz4);
    write("valid-json-lz4", &entry(SqlType::Json, &json.bytes));

    let mut bad = entry(SqlType::BigInt, &ints.bytes);
    *bad.last_mut().expect("not empty") ^= 0x40;
    write("broken-checksum", &bad);
    write(
        "broken-truncated",
        &entry(SqlType::BigInt, &ints.bytes)[..9],
    );
    // Structural damage under a correct checksum, so the fuzzer starts past it.
    let mut bad = entry(SqlType::Json, &json.bytes);
    bad[1 + 11 + 4 + 3] ^= 0xff;
    write("broken-lz4-resealed", &reseal(bad));
    let mut bad = entry(SqlType::BigInt, &ints.bytes);
    bad[1 + 1] = 9;
    write("broken-encoding-resealed", &reseal(bad));
}

/// Fixes the checksum of a corpus entry (type byte, then the column).
fn reseal(mut data: Vec<u8>) -> Vec<u8> {
    data.truncate(data.len() - 4);
    let checksum = crc32c(&data[1..]);
    data.extend_from_slice(&checksum.to_le_bytes());
    data
}
