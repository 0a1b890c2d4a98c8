//! Corrupt and hostile bytes: every single-byte change and every truncation of
//! a valid encoding is an error; each structural check names the field and its
//! offset; no length from the bytes makes the decoder allocate or panic.

use hyperctl_format::arrow::array::{Decimal128Array, Int32Array, Int64Array};
use hyperctl_format::fuzzing::column_round_trip;
use hyperctl_format::{Error, SqlType, crc32c, decode_column, encode_column};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::arb::{any_column, config, type_index};

/// Base offset for decodes in this module: errors must include it.
const BASE: u64 = 500;

/// A plain column from its parts, with a correct checksum.
fn plain(rows: u32, null_count: u32, bitmap: &[u8], values: &[u8]) -> Vec<u8> {
    let mut bytes = vec![1, 0];
    bytes.extend_from_slice(&rows.to_le_bytes());
    bytes.extend_from_slice(&null_count.to_le_bytes());
    bytes.extend_from_slice(bitmap);
    bytes.extend_from_slice(values);
    seal(bytes)
}

/// Appends the crc32c of `body`.
fn seal(mut body: Vec<u8>) -> Vec<u8> {
    let checksum = crc32c(&body);
    body.extend_from_slice(&checksum.to_le_bytes());
    body
}

/// Replaces the trailing checksum with the right one.
fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.truncate(bytes.len().saturating_sub(4));
    seal(bytes)
}

fn le32(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Asserts a `Corrupt` error at `BASE + position` whose text contains `what`.
#[track_caller]
fn assert_corrupt(ty: SqlType, bytes: &[u8], position: u64, what: &str) {
    match decode_column(ty, bytes, BASE) {
        Err(Error::Corrupt { offset, what: got }) => {
            assert!(got.contains(what), "expected {what:?} in {got:?}");
            assert_eq!(offset, BASE + position, "offset of {got:?}");
        }
        other => panic!("{ty}: expected Corrupt({what}), got {other:?}"),
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn any_changed_byte_is_an_error((ty, column) in any_column(), at in any::<Index>(), mask in 1u8..) {
        let mut bytes = encode_column(ty, column.as_ref()).expect("encode");
        let at = at.index(bytes.len());
        bytes[at] ^= mask;
        match decode_column(ty, &bytes, BASE) {
            Err(Error::Corrupt { offset, .. }) => {
                prop_assert!((BASE..=BASE + bytes.len() as u64).contains(&offset));
            }
            other => prop_assert!(false, "{}: byte {} ^ {:#x} gave {:?}", ty, at, mask, other),
        }
    }

    #[test]
    fn any_truncation_or_extension_is_an_error((ty, column) in any_column(), cut in any::<Index>(), extra in 1usize..8) {
        let bytes = encode_column(ty, column.as_ref()).expect("encode");
        let cut = cut.index(bytes.len());
        let result = decode_column(ty, &bytes[..cut], BASE);
        prop_assert!(matches!(result, Err(Error::Corrupt { .. })), "{}: cut at {}: {:?}", ty, cut, result);
        let mut longer = bytes.clone();
        longer.extend(std::iter::repeat_n(0, extra));
        let result = decode_column(ty, &reseal(longer), BASE);
        prop_assert!(matches!(result, Err(Error::Corrupt { .. })), "{}: {} more bytes: {:?}", ty, extra, result);
    }

    /// With the checksum fixed up, the structural checks are all that stands
    /// between the bytes and the decoder: it must not panic, and whatever it
    /// accepts must be canonical (the fuzz target's checks).
    #[test]
    fn resealed_corruption_passes_the_fuzz_checks(
        (ty, column) in any_column(),
        changes in proptest::collection::vec((any::<Index>(), 1u8..), 1..4),
    ) {
        let mut bytes = encode_column(ty, column.as_ref()).expect("encode");
        let body_len = bytes.len() - 4;
        for (at, mask) in changes {
            bytes[at.index(body_len)] ^= mask;
        }
        let mut input = vec![type_index(ty)];
        input.extend_from_slice(&reseal(bytes));
        column_round_trip(&input);
    }
}

#[test]
fn checksum_and_length() {
    let column = Int32Array::from(vec![1, 2, 3]);
    let mut bytes = encode_column(SqlType::Int, &column).unwrap();
    let end = bytes.len() as u64;
    *bytes.last_mut().unwrap() ^= 1;
    assert_corrupt(SqlType::Int, &bytes, end - 4, "checksum");
    assert_corrupt(SqlType::Int, &[], 0, "at least 14");
    assert_corrupt(SqlType::Int, &bytes[..13], 13, "at least 14");
}

#[test]
fn header_fields() {
    let good = plain(1, 0, &[], &le32(&[5]));
    let mut bad = good.clone();
    bad[0] = 2;
    assert_corrupt(SqlType::Int, &reseal(bad), 0, "encoding tag: unknown tag 2");
    let mut bad = good.clone();
    bad[1] = 0x80;
    assert_corrupt(SqlType::Int, &reseal(bad), 1, "flags");
    assert_corrupt(
        SqlType::Int,
        &plain(1, 2, &[1], &le32(&[5])),
        6,
        "null_count: 2",
    );
    assert_corrupt(
        SqlType::Int,
        &plain(2, 0, &[], &le32(&[5])),
        10,
        "column values: needs 8",
    );
    assert_corrupt(
        SqlType::Int,
        &plain(1, 0, &[], &le32(&[5, 6])),
        14,
        "4 trailing bytes",
    );
}

#[test]
fn null_bitmap() {
    let values = le32(&[1, 0, 3]);
    assert!(decode_column(SqlType::Int, &plain(3, 1, &[0b101], &values), BASE).is_ok());
    assert_corrupt(
        SqlType::Int,
        &plain(3, 1, &[0b111], &values),
        10,
        "0 null rows, null_count says 1",
    );
    assert_corrupt(
        SqlType::Int,
        &plain(3, 2, &[0b101], &values),
        10,
        "1 null rows, null_count says 2",
    );
    assert_corrupt(
        SqlType::Int,
        &plain(3, 1, &[0b1101], &values),
        10,
        "null bitmap: padding",
    );
    assert_corrupt(
        SqlType::Int,
        &plain(3, 1, &[], &[]),
        10,
        "null bitmap: needs 1",
    );
    // A null stored as anything but zero.
    assert_corrupt(
        SqlType::Int,
        &plain(3, 1, &[0b101], &le32(&[1, 9, 3])),
        15,
        "null row 1",
    );
}

#[test]
fn booleans() {
    assert!(decode_column(SqlType::Bool, &plain(3, 0, &[], &[0b101]), BASE).is_ok());
    assert_corrupt(
        SqlType::Bool,
        &plain(3, 0, &[], &[0b1101]),
        10,
        "boolean values: padding",
    );
    assert_corrupt(
        SqlType::Bool,
        &plain(3, 1, &[0b101], &[0b111]),
        11,
        "null row 1",
    );
    assert_corrupt(
        SqlType::Bool,
        &plain(9, 0, &[], &[0xff]),
        10,
        "boolean values: needs 2",
    );
}

#[test]
fn string_offsets() {
    let text = |offsets: &[u32], data: &[u8]| {
        let mut values = le32(offsets);
        values.extend_from_slice(data);
        plain((offsets.len() - 1) as u32, 0, &[], &values)
    };
    assert!(decode_column(SqlType::Text, &text(&[0, 1, 3], b"abc"), BASE).is_ok());
    assert_corrupt(
        SqlType::Text,
        &text(&[1, 1, 3], b"abc"),
        10,
        "value offset 0: is 1",
    );
    assert_corrupt(
        SqlType::Text,
        &text(&[0, 2, 1], b"abc"),
        18,
        "value offset 2: 1 is below",
    );
    assert_corrupt(
        SqlType::Text,
        &text(&[0, 4, 4], b"abc"),
        14,
        "value offset 1: 4 is past",
    );
    assert_corrupt(
        SqlType::Text,
        &text(&[0, 1, u32::MAX], b"abc"),
        18,
        "past the end",
    );
    assert_corrupt(
        SqlType::Text,
        &text(&[0, 1, 2], b"abc"),
        24,
        "1 trailing bytes",
    );
    // A null row must be empty.
    let mut values = le32(&[0, 1, 2]);
    values.extend_from_slice(b"ab");
    assert_corrupt(
        SqlType::Text,
        &plain(2, 1, &[0b01], &values),
        19,
        "null row 1 is not empty",
    );
    values[4..8].copy_from_slice(&2u32.to_le_bytes());
    assert!(decode_column(SqlType::Bytes, &plain(2, 1, &[0b10], &values), BASE).is_err());
}

#[test]
fn strings_must_be_utf8_but_bytes_need_not() {
    let mut values = le32(&[0, 1, 4]);
    values.extend_from_slice(b"ab\xffc");
    let bytes = plain(2, 0, &[], &values);
    for ty in [
        SqlType::Text,
        SqlType::Varchar { max_length: 3 },
        SqlType::Char { length: 1 },
        SqlType::Json,
    ] {
        assert_corrupt(ty, &bytes, 10 + 12 + 2, "string value of row 1: not UTF-8");
    }
    assert!(decode_column(SqlType::Bytes, &bytes, BASE).is_ok());
    assert!(decode_column(SqlType::Geography, &bytes, BASE).is_ok());
    // A character cut in two by an offset.
    let mut values = le32(&[0, 1, 2]);
    values.extend_from_slice("é".as_bytes());
    assert_corrupt(
        SqlType::Text,
        &plain(2, 0, &[], &values),
        22,
        "row 0: not UTF-8",
    );
}

#[test]
fn numeric_precision() {
    let ty = SqlType::numeric(18, 3).unwrap();
    let max = 10i128.pow(18) - 1;
    let values: Vec<u8> = [max, -max - 1]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_corrupt(ty, &plain(2, 0, &[], &values), 26, "row 1: NUMERIC value");
    let values: Vec<u8> = [max, -max].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert!(decode_column(ty, &plain(2, 0, &[], &values), BASE).is_ok());
}

#[test]
fn huge_row_counts_fail_without_allocating() {
    for ty in SqlType::examples() {
        for null_count in [0, u32::MAX] {
            let bytes = plain(u32::MAX, null_count, &[0xff; 3], &[0; 5]);
            assert!(
                matches!(
                    decode_column(ty, &bytes, u64::MAX - 100),
                    Err(Error::Corrupt { .. })
                ),
                "{ty}"
            );
        }
    }
}

#[test]
fn encode_rejects_what_the_type_cannot_hold() {
    let longs = Int64Array::from(vec![1]);
    assert!(matches!(
        encode_column(SqlType::Int, &longs),
        Err(Error::TypeMismatch { .. })
    ));
    let ty = SqlType::numeric(4, 2).unwrap();
    let wrong_precision = Decimal128Array::from(vec![1])
        .with_precision_and_scale(5, 2)
        .unwrap();
    assert!(matches!(
        encode_column(ty, &wrong_precision),
        Err(Error::TypeMismatch { .. })
    ));
    let too_wide = Decimal128Array::from(vec![Some(9999), None, Some(-10_000)])
        .with_precision_and_scale(4, 2)
        .unwrap();
    match encode_column(ty, &too_wide) {
        Err(Error::ValueOutOfRange {
            row,
            value,
            sql_type,
        }) => {
            assert_eq!(
                (row, value.as_str(), sql_type.as_str()),
                (2, "-100.00", "NUMERIC(4,2)")
            );
        }
        other => panic!("expected ValueOutOfRange, got {other:?}"),
    }
}
