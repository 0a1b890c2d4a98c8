//! Bodies of the fuzz targets in `fuzz/fuzz_targets/`, kept here so that
//! `cargo test` can replay their corpus without libFuzzer (see
//! `format/tests/it/corpus.rs`). Not part of the stable API.
//!
//! Invariant: each function panics only when it finds a bug.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array,
    Float64Array, Int16Array, Int32Array, Int64Array, IntervalMonthDayNanoArray, StringArray,
    Time64MicrosecondArray, TimestampMicrosecondArray, UInt32Array,
};
use arrow::datatypes::IntervalMonthDayNano;

use std::ops::Bound;

use crate::block::{
    BLOCK_ROWS_MAX, BlockEncoding, ColumnRange, ColumnStats, PackedColumn, StatValue,
    block_encoding_of, decode_limited, encode_block_column, encode_block_column_as,
};
use crate::checksum::crc32c;
use crate::encoding::{decode_column, encode_column};
use crate::error::Error;
use crate::types::SqlType;

/// Base offset handed to the decoder, so that error offsets are checked too.
const BASE_OFFSET: u64 = 1000;

/// Target `format_column`: the first byte picks a type of
/// [`SqlType::examples`], the rest is decoded as a column of that type, once as
/// given and once with its trailing checksum fixed up (random bytes almost never
/// carry a right crc32c; the second pass lets the fuzzer reach the structural
/// checks behind it). A column that decodes must re-encode to the same bytes
/// (the encoding is canonical) and decode again to an equal array; an error
/// must point inside the input.
///
/// # Panics
/// When one of those properties fails, that is, on a bug.
pub fn column_round_trip(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let types = SqlType::examples();
    let ty = types[usize::from(selector) % types.len()];
    check_column(ty, bytes);
    if let Some(body_len) = bytes.len().checked_sub(4) {
        let mut resealed = bytes[..body_len].to_vec();
        resealed.extend_from_slice(&crc32c(&resealed).to_le_bytes());
        check_column(ty, &resealed);
    }
}

fn check_column(ty: SqlType, bytes: &[u8]) {
    let array = match decode_column(ty, bytes, BASE_OFFSET) {
        Ok(array) => array,
        Err(Error::Corrupt { offset, what }) => {
            let end = BASE_OFFSET + bytes.len() as u64;
            assert!(
                (BASE_OFFSET..=end).contains(&offset),
                "{ty}: error offset {offset} outside {BASE_OFFSET}..={end}: {what}"
            );
            return;
        }
        Err(other) => panic!("{ty}: decoding gave a non-Corrupt error: {other}"),
    };
    assert_eq!(array.data_type(), &ty.to_arrow(), "{ty}: decoded data type");
    if let Err(e) = array.to_data().validate_full() {
        panic!("{ty}: decoded array is not valid Arrow: {e}");
    }
    let again = match encode_column(ty, array.as_ref()) {
        Ok(again) => again,
        Err(e) => panic!("{ty}: a decoded column does not re-encode: {e}"),
    };
    assert!(again == bytes, "{ty}: re-encoding gives other bytes");
    let back = match decode_column(ty, &again, 0) {
        Ok(back) => back,
        Err(e) => panic!("{ty}: a re-encoded column does not decode: {e}"),
    };
    assert!(
        back.as_ref() == array.as_ref(),
        "{ty}: decoded arrays differ"
    );
}

/// Most string bytes a decoded fuzz input may hold: a constant or dictionary
/// column legitimately expands a few bytes into many, and libFuzzer stops at
/// 2 GiB of memory.
const FUZZ_DATA_LEN_MAX: usize = 1 << 24;

/// Target `format_block`: the first byte picks a type of
/// [`SqlType::examples`]; the rest is decoded as an encoded block column (as
/// given, and with its checksum fixed up so the fuzzer gets past it), with
/// the row count its header claims. A column that decodes must be valid
/// Arrow of the type and round-trip through every encoding. The rest is also
/// read as the recipe of a column (row count, nulls, values) that must
/// round-trip through every encoding that applies.
///
/// # Panics
/// When one of those properties fails, that is, on a bug.
pub fn block_decode(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let types = SqlType::examples();
    let ty = types[usize::from(selector) % types.len()];
    check_block(&ty, bytes);
    if let Some(body_len) = bytes.len().checked_sub(4) {
        let mut resealed = bytes[..body_len].to_vec();
        resealed.extend_from_slice(&crc32c(&resealed).to_le_bytes());
        check_block(&ty, &resealed);
    }
    if let Some(array) = generated_column(&ty, bytes) {
        check_block_round_trip(&ty, array.as_ref());
    }
}

fn check_block(ty: &SqlType, bytes: &[u8]) {
    // The row count the header claims (the caller's count in storage).
    let rows = bytes.get(3..7).map_or(0, |le| {
        u32::from_le_bytes([le[0], le[1], le[2], le[3]]) as usize
    });
    let packed = PackedColumn::parse(ty, bytes, rows);
    let array = match decode_limited(ty, bytes, rows, FUZZ_DATA_LEN_MAX) {
        Ok(array) => array,
        Err(Error::Corrupt { offset, what }) => {
            let end = bytes.len() as u64;
            assert!(
                offset <= end,
                "{ty}: error offset {offset} past {end}: {what}"
            );
            return;
        }
        Err(other) => panic!("{ty}: decoding gave a non-Corrupt error: {other}"),
    };
    assert_eq!(array.data_type(), &ty.to_arrow(), "{ty}: decoded data type");
    assert_eq!(array.len(), rows, "{ty}: decoded row count");
    if let Err(e) = array.to_data().validate_full() {
        panic!("{ty}: decoded array is not valid Arrow: {e}");
    }
    let encoding = block_encoding_of(bytes).unwrap_or_else(|e| panic!("{ty}: {e}"));
    match packed {
        Ok(Some(packed)) => check_packed(ty, &packed, array.as_ref()),
        Ok(None) => {}
        Err(e) => panic!("{ty}: {encoding} decodes but its packed form fails: {e}"),
    }
    let again = encode_block_column_as(ty, array.as_ref(), encoding)
        .unwrap_or_else(|e| panic!("{ty}: a decoded {encoding} column does not re-encode: {e}"));
    let back = decode_limited(ty, &again.bytes, rows, usize::MAX)
        .unwrap_or_else(|e| panic!("{ty}: a re-encoded {encoding} column does not decode: {e}"));
    assert!(
        back.as_ref() == array.as_ref(),
        "{ty}: {encoding}: decoded arrays differ"
    );
    check_block_round_trip(ty, array.as_ref());
}

/// The packed form selects exactly the decoded rows in ranges around a
/// few of the column's values.
fn check_packed(ty: &SqlType, packed: &PackedColumn, array: &dyn Array) {
    // Each row's value as the scan's bounds carry it: text as its bytes
    // (not the statistics' prefix), integers as `Int`/`Int128`.
    let value = |i: usize| -> Option<StatValue> {
        if array.is_null(i) {
            return None;
        }
        if let Some(text) = array.as_any().downcast_ref::<StringArray>() {
            return Some(StatValue::Bytes(text.value(i).as_bytes().to_vec()));
        }
        let stats = ColumnStats::of(ty, array.slice(i, 1).as_ref()).ok()?;
        match stats.min? {
            StatValue::Int(v) if matches!(ty, SqlType::Numeric { .. }) => {
                Some(StatValue::Int128(i128::from(v)))
            }
            v @ (StatValue::Int(_) | StatValue::Int128(_)) => Some(v),
            _ => None,
        }
    };
    let values: Vec<Option<StatValue>> = (0..array.len()).map(value).collect();
    let odd: Vec<u32> = (1..values.len() as u32).step_by(2).collect();
    for at in [0, array.len() / 2, array.len().saturating_sub(1)] {
        let Some(Some(v)) = values.get(at).cloned() else {
            continue;
        };
        let ranges = [
            (Bound::Included(v.clone()), Bound::Included(v.clone())),
            (Bound::Excluded(v.clone()), Bound::Unbounded),
            (Bound::Unbounded, Bound::Excluded(v.clone())),
        ];
        for (lower, upper) in ranges {
            let cmp = |a: &StatValue, b: &StatValue| a.sql_cmp(b).expect("values of one type");
            let inside = |x: &StatValue| {
                (match &lower {
                    Bound::Included(l) => cmp(x, l).is_ge(),
                    Bound::Excluded(l) => cmp(x, l).is_gt(),
                    Bound::Unbounded => true,
                }) && (match &upper {
                    Bound::Included(u) => cmp(x, u).is_le(),
                    Bound::Excluded(u) => cmp(x, u).is_lt(),
                    Bound::Unbounded => true,
                })
            };
            let expected: Vec<u32> = (0..values.len())
                .filter(|&i| values[i].as_ref().is_some_and(inside))
                .map(|i| i as u32)
                .collect();
            let range = ColumnRange::new(lower.clone(), upper.clone());
            let got = packed.select(&range, None);
            assert_eq!(got.as_ref(), Some(&expected), "{ty}: packed selection");
            let expected_odd: Vec<u32> = expected.into_iter().filter(|i| i % 2 == 1).collect();
            assert_eq!(
                packed.select(&range, Some(&odd)),
                Some(expected_odd),
                "{ty}: packed selection of candidates"
            );
        }
        let listed: Vec<u32> = (0..values.len())
            .filter(|&i| values[i].as_ref() == Some(&v))
            .map(|i| i as u32)
            .collect();
        assert_eq!(
            packed.select_in(std::slice::from_ref(&v), None),
            Some(listed),
            "{ty}: packed IN selection"
        );
    }
    let indices = UInt32Array::from(odd.clone());
    let reference = arrow::compute::take(array, &indices, None).expect("take of rows in range");
    assert!(
        packed.take(&odd).as_ref() == reference.as_ref(),
        "{ty}: packed take"
    );
}

/// Every encoding that applies round-trips; the chooser's pick is no larger
/// than any lightweight encoding; stats agree with [`ColumnStats::of`].
fn check_block_round_trip(ty: &SqlType, array: &dyn Array) {
    let best = match encode_block_column(ty, array) {
        Ok(best) => best,
        Err(Error::TooLarge { .. }) if array.len() > BLOCK_ROWS_MAX => return,
        Err(e) => panic!("{ty}: encode: {e}"),
    };
    let stats = ColumnStats::of(ty, array).unwrap_or_else(|e| panic!("{ty}: stats: {e}"));
    assert_eq!(best.stats, stats, "{ty}: stats");
    for encoding in BlockEncoding::ALL {
        let encoded = match encode_block_column_as(ty, array, encoding) {
            Ok(encoded) => encoded,
            Err(Error::EncodingNotApplicable { .. }) => continue,
            Err(e) => panic!("{ty}: encode as {encoding}: {e}"),
        };
        assert_eq!(
            block_encoding_of(&encoded.bytes).ok(),
            Some(encoding),
            "{ty}"
        );
        let back = decode_limited(ty, &encoded.bytes, array.len(), usize::MAX)
            .unwrap_or_else(|e| panic!("{ty}: decode {encoding}: {e}"));
        assert!(
            back.as_ref() == array,
            "{ty}: {encoding} round trip differs"
        );
        if !encoding.is_lz4() {
            assert!(
                best.bytes.len() <= encoded.bytes.len(),
                "{ty}: chose {} ({} bytes) over {encoding} ({} bytes)",
                best.encoding,
                best.bytes.len(),
                encoded.bytes.len()
            );
        }
    }
}

/// A column of type `ty` built from `recipe`: its first byte sets the row
/// count (up to 1,020), the second how wide integers are; the bytes, cycled,
/// give nulls and values.
fn generated_column(ty: &SqlType, recipe: &[u8]) -> Option<ArrayRef> {
    let (&head, body) = recipe.split_first()?;
    let rows = usize::from(head) * 4;
    let shift = u32::from(body.first().copied().unwrap_or(0) % 64);
    let byte = |i: usize| body.get(i % body.len().max(1)).copied().unwrap_or(0);
    let word = |i: usize| (0..8).fold(0u64, |acc, k| acc << 8 | u64::from(byte(i * 8 + k)));
    let valid = |i: usize| byte(i * 3 + 1) % 5 != 0;
    let ints = |i: usize| valid(i).then(|| (word(i) as i64) >> shift);
    let column = |f: &dyn Fn(i64) -> i64| (0..rows).map(|i| ints(i).map(f)).collect::<Vec<_>>();
    let text = |i: usize| {
        let len = usize::from(byte(i) % 6);
        (0..len)
            .map(|k| char::from_u32(u32::from(byte(i + k)) % 4 * 0x3a7 + 0x61).unwrap_or('x'))
            .collect::<String>()
    };
    Some(match ty {
        SqlType::Bool => Arc::new(BooleanArray::from(
            (0..rows)
                .map(|i| ints(i).map(|v| v & 1 == 1))
                .collect::<Vec<_>>(),
        )),
        SqlType::SmallInt => Arc::new(Int16Array::from_iter(
            column(&|v| v).into_iter().map(|v| v.map(|v| v as i16)),
        )),
        SqlType::Int => Arc::new(Int32Array::from_iter(
            column(&|v| v).into_iter().map(|v| v.map(|v| v as i32)),
        )),
        SqlType::Date => Arc::new(Date32Array::from_iter(
            column(&|v| v).into_iter().map(|v| v.map(|v| v as i32)),
        )),
        SqlType::Oid => Arc::new(UInt32Array::from_iter(
            column(&|v| v).into_iter().map(|v| v.map(|v| v as u32)),
        )),
        SqlType::BigInt => Arc::new(Int64Array::from(column(&|v| v))),
        SqlType::Time => Arc::new(Time64MicrosecondArray::from(column(&|v| v))),
        SqlType::Timestamp => Arc::new(TimestampMicrosecondArray::from(column(&|v| v))),
        SqlType::TimestampTz => {
            Arc::new(TimestampMicrosecondArray::from(column(&|v| v)).with_timezone("UTC"))
        }
        SqlType::Numeric { precision, scale } => {
            let max = 10i128.checked_pow(u32::from(*precision))?;
            let values = column(&|v| v)
                .into_iter()
                .map(|v| v.map(|v| i128::from(v) * 1_000_003 % max));
            Arc::new(
                Decimal128Array::from_iter(values)
                    .with_precision_and_scale(*precision, *scale as i8)
                    .ok()?,
            )
        }
        SqlType::Double => Arc::new(Float64Array::from_iter(
            (0..rows).map(|i| valid(i).then(|| f64::from_bits(word(i) >> shift))),
        )),
        SqlType::Real => {
            Arc::new(Float32Array::from_iter((0..rows).map(|i| {
                valid(i).then(|| f32::from_bits((word(i) >> shift) as u32))
            })))
        }
        SqlType::Interval => {
            Arc::new(IntervalMonthDayNanoArray::from_iter((0..rows).map(|i| {
                ints(i).map(|v| IntervalMonthDayNano::new(v as i32, (v >> 32) as i32, v))
            })))
        }
        SqlType::Text | SqlType::Varchar { .. } | SqlType::Char { .. } | SqlType::Json => Arc::new(
            StringArray::from_iter((0..rows).map(|i| valid(i).then(|| text(i)))),
        ),
        // Arrays are not persisted: no column of them to fuzz.
        SqlType::Array(_) => return None,
        SqlType::Bytes | SqlType::Geography => {
            Arc::new(BinaryArray::from_iter((0..rows).map(|i| {
                valid(i).then(|| {
                    (0..usize::from(byte(i) % 9))
                        .map(|k| byte(i + k) >> (shift % 8))
                        .collect::<Vec<u8>>()
                })
            })))
        }
    })
}
