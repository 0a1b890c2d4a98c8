//! Every SQL type: encode, decode, compare; slices encode like fresh arrays;
//! the encoding is canonical (re-encoding a decoded column gives the same bytes).

use std::sync::Arc;

use hyperctl_format::arrow::array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Int32Array, Int64Array, StringArray,
    new_empty_array, new_null_array,
};
use hyperctl_format::arrow::compute::concat;
use hyperctl_format::{SqlType, decode_column, encode_column};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::arb::{any_column, config, sample_column};

/// Encodes, decodes (at `base_offset`), checks equality and canonical bytes.
fn round_trip(ty: SqlType, column: &dyn Array, base_offset: u64) -> Vec<u8> {
    assert_eq!(column.data_type(), &ty.to_arrow(), "{ty}: test column type");
    let bytes = encode_column(ty, column).unwrap_or_else(|e| panic!("{ty}: encode: {e}"));
    let back =
        decode_column(ty, &bytes, base_offset).unwrap_or_else(|e| panic!("{ty}: decode: {e}"));
    assert!(
        back.as_ref() == column,
        "{ty}: decoded {back:?}, encoded {column:?}"
    );
    assert_eq!(back.data_type(), &ty.to_arrow(), "{ty}: decoded type");
    let again = encode_column(ty, back.as_ref()).expect("a decoded column re-encodes");
    assert!(again == bytes, "{ty}: re-encoding changed the bytes");
    bytes
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn every_type_round_trips((ty, column) in any_column(), base_offset in any::<u32>()) {
        round_trip(ty, column.as_ref(), u64::from(base_offset));
    }

    #[test]
    fn slices_encode_like_fresh_arrays((ty, column) in any_column(), a in any::<Index>(), b in any::<Index>()) {
        let (a, b) = (a.index(column.len() + 1), b.index(column.len() + 1));
        let (start, end) = (a.min(b), a.max(b));
        let slice = column.slice(start, end - start);
        let fresh = concat(&[slice.as_ref()]).expect("concat of one array");
        let bytes = round_trip(ty, slice.as_ref(), 0);
        prop_assert_eq!(bytes, encode_column(ty, fresh.as_ref()).expect("encode"));
    }
}

#[test]
fn samples_empty_and_all_null_columns_of_every_type() {
    for ty in SqlType::examples() {
        round_trip(ty, sample_column(ty).as_ref(), 0);
        round_trip(ty, new_empty_array(&ty.to_arrow()).as_ref(), 0);
        for rows in [1, 7, 8, 9, 1000] {
            round_trip(ty, new_null_array(&ty.to_arrow(), rows).as_ref(), 0);
        }
    }
}

#[test]
fn a_full_block_and_long_values() {
    let rows = 65_536;
    let ints = Int64Array::from_iter((0..rows).map(|i| (i % 3 != 0).then_some(i * 7919)));
    round_trip(SqlType::BigInt, &ints, 0);
    let bools = BooleanArray::from_iter((0..rows).map(|i| (i % 5 != 0).then_some(i % 2 == 0)));
    round_trip(SqlType::Bool, &bools, 0);
    let long = "ß🦀x".repeat(300_000);
    let strings = StringArray::from(vec![Some(long.as_str()), None, Some("")]);
    round_trip(SqlType::Text, &strings, 0);
    let blob = vec![0xa5u8; 1 << 20];
    let blobs = BinaryArray::from(vec![None, Some(blob.as_slice())]);
    round_trip(SqlType::Geography, &blobs, 0);
}

#[test]
fn a_null_buffer_without_nulls_encodes_like_none() {
    let with = Int32Array::new(vec![1, 2].into(), Some(vec![true, true].into()));
    let without = Int32Array::from(vec![1, 2]);
    let bytes = round_trip(SqlType::Int, &with, 0);
    assert_eq!(bytes, encode_column(SqlType::Int, &without).unwrap());
}

#[test]
fn values_under_nulls_do_not_matter() {
    let a: ArrayRef = Arc::new(Int32Array::new(
        vec![1, 99].into(),
        Some(vec![true, false].into()),
    ));
    let b: ArrayRef = Arc::new(Int32Array::new(
        vec![1, -5].into(),
        Some(vec![true, false].into()),
    ));
    let bytes = encode_column(SqlType::Int, a.as_ref()).unwrap();
    assert_eq!(bytes, encode_column(SqlType::Int, b.as_ref()).unwrap());
    let back = decode_column(SqlType::Int, &bytes, 0).unwrap();
    assert!(back.as_ref() == a.as_ref());
}
