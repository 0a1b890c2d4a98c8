//! Bodies of the fuzz targets in `fuzz/fuzz_targets/`, kept here so that
//! `cargo test` can replay their corpus without libFuzzer (see
//! `format/tests/it/corpus.rs`). Not part of the stable API.
//!
//! Invariant: each function panics only when it finds a bug.

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
