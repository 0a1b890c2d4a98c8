//! Block column encodings: every type round-trips through every encoding that
//! applies (random, low-cardinality, empty, one-row, full-block and all-null
//! columns); corrupt, truncated and lying bytes are errors; the stats hold
//! every value and never rule out a block with a match; the chooser picks the
//! encodings a reader would expect.

use std::ops::Bound;

use hyperctl_format::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, StringArray, UInt32Array, new_empty_array, new_null_array,
};
use hyperctl_format::arrow::compute::{concat, take};
use hyperctl_format::arrow::datatypes::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Time64MicrosecondType, TimestampMicrosecondType, UInt32Type,
};
use hyperctl_format::fuzzing::block_decode;
use hyperctl_format::{
    BLOCK_ROWS_MAX, BlockEncoding, ColumnRange, ColumnStats, Error, SqlType, StatValue,
    block_encoding_of, crc32c, decode_block_column, encode_block_column, encode_block_column_as,
};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::arb::{any_column, arb_column, config, sample_column, type_index};

/// Encodes with the chooser and with every encoding that applies; each must
/// decode to the column, name its encoding and carry the column's stats.
/// Returns the chooser's pick.
fn round_trips(ty: SqlType, column: &dyn Array) -> BlockEncoding {
    let stats = ColumnStats::of(&ty, column).unwrap_or_else(|e| panic!("{ty}: stats: {e}"));
    let best = encode_block_column(&ty, column).unwrap_or_else(|e| panic!("{ty}: encode: {e}"));
    let mut applied = 0;
    for encoding in BlockEncoding::ALL {
        let encoded = match encode_block_column_as(&ty, column, encoding) {
            Ok(encoded) => encoded,
            Err(Error::EncodingNotApplicable { .. }) => continue,
            Err(e) => panic!("{ty}: encode as {encoding}: {e}"),
        };
        applied += 1;
        check_decodes(ty, column, &encoded.bytes, encoding);
        assert_eq!(encoded.stats, stats, "{ty}: {encoding} stats");
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
    assert!(applied >= 1, "{ty}: plain always applies");
    check_decodes(ty, column, &best.bytes, best.encoding);
    assert_eq!(best.stats, stats, "{ty}: chosen stats");
    best.encoding
}

#[track_caller]
fn check_decodes(ty: SqlType, column: &dyn Array, bytes: &[u8], encoding: BlockEncoding) {
    assert_eq!(block_encoding_of(bytes).ok(), Some(encoding), "{ty}");
    let back = decode_block_column(&ty, bytes, column.len())
        .unwrap_or_else(|e| panic!("{ty}: decode {encoding}: {e}"));
    assert_eq!(back.data_type(), &ty.to_arrow(), "{ty}: {encoding} type");
    back.to_data().validate_full().expect("valid Arrow");
    assert!(
        back.as_ref() == column,
        "{ty}: {encoding}: decoded {back:?}, encoded {column:?}"
    );
}

/// A column with few distinct values in runs: rows `(i / run) % distinct` of
/// `column`.
fn low_cardinality(column: &dyn Array, rows: usize, run: usize, distinct: usize) -> ArrayRef {
    let distinct = distinct.min(column.len()).max(1);
    let indices = UInt32Array::from_iter_values((0..rows).map(|i| ((i / run) % distinct) as u32));
    take(column, &indices, None).expect("take")
}

/// The SQL-order value of a row, computed independently of the encoder.
fn value_of(ty: SqlType, a: &dyn Array, i: usize) -> Option<StatValue> {
    if a.is_null(i) {
        return None;
    }
    Some(match ty {
        SqlType::Bool => StatValue::Bool(a.as_boolean().value(i)),
        SqlType::SmallInt => StatValue::Int(a.as_primitive::<Int16Type>().value(i).into()),
        SqlType::Int => StatValue::Int(a.as_primitive::<Int32Type>().value(i).into()),
        SqlType::Date => StatValue::Int(a.as_primitive::<Date32Type>().value(i).into()),
        SqlType::BigInt => StatValue::Int(a.as_primitive::<Int64Type>().value(i)),
        SqlType::Time => StatValue::Int(a.as_primitive::<Time64MicrosecondType>().value(i)),
        SqlType::Timestamp | SqlType::TimestampTz => {
            StatValue::Int(a.as_primitive::<TimestampMicrosecondType>().value(i))
        }
        SqlType::Oid => StatValue::Int(a.as_primitive::<UInt32Type>().value(i).into()),
        SqlType::Numeric { .. } => StatValue::Int128(a.as_primitive::<Decimal128Type>().value(i)),
        SqlType::Double => StatValue::Float(a.as_primitive::<Float64Type>().value(i)),
        SqlType::Real => StatValue::Float(a.as_primitive::<Float32Type>().value(i).into()),
        SqlType::Interval => return None,
        SqlType::Bytes | SqlType::Geography => {
            StatValue::Bytes(a.as_binary::<i32>().value(i).to_vec())
        }
        _ => StatValue::Bytes(a.as_string::<i32>().value(i).as_bytes().to_vec()),
    })
}

fn in_range(v: &StatValue, range: &ColumnRange) -> bool {
    use std::cmp::Ordering::*;
    let lower = match &range.lower {
        Bound::Included(l) => matches!(v.sql_cmp(l), Some(Greater | Equal)),
        Bound::Excluded(l) => v.sql_cmp(l) == Some(Greater),
        Bound::Unbounded => true,
    };
    let upper = match &range.upper {
        Bound::Included(u) => matches!(v.sql_cmp(u), Some(Less | Equal)),
        Bound::Excluded(u) => v.sql_cmp(u) == Some(Less),
        Bound::Unbounded => true,
    };
    lower && upper
}

fn bound(value: Option<StatValue>, kind: u8) -> Bound<StatValue> {
    match (value, kind % 3) {
        (Some(v), 0) => Bound::Included(v),
        (Some(v), 1) => Bound::Excluded(v),
        _ => Bound::Unbounded,
    }
}

/// A type with a random column of it and another one (the source of range bounds).
fn column_and_bounds() -> impl Strategy<Value = (SqlType, ArrayRef, ArrayRef)> {
    prop::sample::select(SqlType::examples())
        .prop_flat_map(|ty| (Just(ty), arb_column(ty), arb_column(ty)))
}

/// Adds the crc32c of `body`.
fn seal(mut body: Vec<u8>) -> Vec<u8> {
    let checksum = crc32c(&body);
    body.extend_from_slice(&checksum.to_le_bytes());
    body
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn every_type_round_trips_through_every_encoding((ty, column) in any_column()) {
        round_trips(ty, column.as_ref());
    }

    #[test]
    fn low_cardinality_columns_round_trip(
        (ty, column) in any_column(),
        rows in 0usize..600,
        run in 1usize..40,
        distinct in 1usize..5,
    ) {
        prop_assume!(!column.is_empty());
        round_trips(ty, low_cardinality(column.as_ref(), rows, run, distinct).as_ref());
    }

    #[test]
    fn any_changed_byte_or_cut_is_an_error(
        (ty, column) in any_column(),
        pick in any::<Index>(),
        at in any::<Index>(),
        mask in 1u8..,
    ) {
        let column = low_cardinality(column.as_ref(), column.len(), 3, 4);
        let fits: Vec<_> = BlockEncoding::ALL
            .into_iter()
            .filter_map(|e| encode_block_column_as(&ty, column.as_ref(), e).ok())
            .collect();
        let encoded = pick.get(&fits);
        let mut bytes = encoded.bytes.clone();
        let cut = at.index(bytes.len());
        prop_assert!(decode_block_column(&ty, &bytes[..cut], column.len()).is_err());
        bytes[cut] ^= mask;
        prop_assert!(decode_block_column(&ty, &bytes, column.len()).is_err());
        prop_assert!(block_encoding_of(&bytes).is_err());
    }

    /// Damage under a fixed-up checksum: no panic, and whatever decodes
    /// round-trips (the fuzz target's checks).
    #[test]
    fn resealed_corruption_passes_the_fuzz_checks(
        (ty, column) in any_column(),
        pick in any::<Index>(),
        changes in proptest::collection::vec((any::<Index>(), 1u8..), 1..4),
    ) {
        let column = low_cardinality(column.as_ref(), column.len(), 2, 3);
        let fits: Vec<_> = BlockEncoding::ALL
            .into_iter()
            .filter_map(|e| encode_block_column_as(&ty, column.as_ref(), e).ok())
            .collect();
        let mut bytes = pick.get(&fits).bytes.clone();
        bytes.truncate(bytes.len() - 4);
        for (at, mask) in changes {
            let at = at.index(bytes.len());
            bytes[at] ^= mask;
        }
        let mut input = vec![type_index(ty)];
        input.extend(seal(bytes));
        block_decode(&input);
    }

    /// Invariant: min <= v <= max for every non-null value v, and may_match
    /// is true for every range that holds one of them.
    #[test]
    fn stats_hold_every_value_and_may_match_is_sound(
        (ty, column, other) in column_and_bounds(),
        picks in proptest::collection::vec((any::<Index>(), any::<bool>(), 0u8..3), 2),
    ) {
        let stats = ColumnStats::of(&ty, column.as_ref()).expect("stats");
        prop_assert_eq!(stats.rows as usize, column.len());
        prop_assert_eq!(stats.null_count as usize, column.null_count());
        let values: Vec<StatValue> =
            (0..column.len()).filter_map(|i| value_of(ty, column.as_ref(), i)).collect();
        for v in &values {
            if let Some(min) = &stats.min {
                prop_assert!(min.sql_cmp(v).is_some_and(|o| o.is_le()), "{ty}: min {min:?} > {v:?}");
            }
            if let Some(max) = &stats.max {
                prop_assert!(max.sql_cmp(v).is_some_and(|o| o.is_ge()), "{ty}: max {max:?} < {v:?}");
            }
        }
        let pick_bound = |(at, from_other, kind): &(Index, bool, u8)| {
            let source = if *from_other { &other } else { &column };
            let value = if source.is_empty() {
                None
            } else {
                value_of(ty, source.as_ref(), at.index(source.len()))
            };
            bound(value, *kind)
        };
        let range = ColumnRange::new(pick_bound(&picks[0]), pick_bound(&picks[1]));
        if values.iter().any(|v| in_range(v, &range)) {
            prop_assert!(stats.may_match(&range), "{ty}: {stats:?} rules out {range:?}");
        }
        for v in &values {
            prop_assert!(stats.may_match(&ColumnRange::eq(v.clone())), "{ty}: {v:?}");
        }
        prop_assert_eq!(stats.may_match(&ColumnRange::all()), column.null_count() < column.len());
    }
}

proptest! {
    // Full blocks are slow to build in a debug build: fewer cases.
    #![proptest_config(config(16))]

    /// Full and nearly full blocks (65,536 rows and lengths around whole
    /// groups of 64 packed values) of every type, with nulls, built from a
    /// random column in random runs: every encoding decodes them back.
    #[test]
    fn full_blocks_of_every_type_round_trip(
        (ty, column) in any_column(),
        rows in prop::sample::select(vec![BLOCK_ROWS_MAX, BLOCK_ROWS_MAX - 1, 63, 64, 65, 4097]),
        seed in any::<u64>(),
        run_max in 1u64..300,
    ) {
        prop_assume!(!column.is_empty());
        let mut random = xorshift(seed);
        let mut indices = Vec::with_capacity(rows);
        while indices.len() < rows {
            let index = (random.next().unwrap_or(0) % column.len() as u64) as u32;
            let run = 1 + random.next().unwrap_or(0) % run_max;
            indices.extend(std::iter::repeat_n(index, run as usize));
        }
        indices.truncate(rows);
        let block = take(column.as_ref(), &UInt32Array::from(indices), None).expect("take");
        round_trips(ty, block.as_ref());
    }
}

#[test]
fn empty_one_row_all_null_and_full_blocks_of_every_type() {
    for ty in SqlType::examples() {
        let dt = ty.to_arrow();
        round_trips(ty, new_empty_array(&dt).as_ref());
        let sample = sample_column(ty);
        round_trips(ty, sample.as_ref());
        round_trips(ty, sample.slice(0, 1).as_ref());
        for rows in [1, 7, 8, 9, BLOCK_ROWS_MAX] {
            let nulls = new_null_array(&dt, rows);
            assert_eq!(
                round_trips(ty, nulls.as_ref()),
                BlockEncoding::Constant,
                "{ty}"
            );
        }
        // A full block: the sample repeated, and in runs.
        let repeated = low_cardinality(sample.as_ref(), BLOCK_ROWS_MAX, 1, usize::MAX);
        round_trips(ty, repeated.as_ref());
        let runs = low_cardinality(sample.as_ref(), BLOCK_ROWS_MAX, 5000, usize::MAX);
        round_trips(ty, runs.as_ref());
    }
}

#[test]
fn more_rows_than_a_block_is_an_error() {
    let column = Int64Array::from_iter_values(0..BLOCK_ROWS_MAX as i64 + 1);
    assert!(matches!(
        encode_block_column(&SqlType::BigInt, &column),
        Err(Error::TooLarge { .. })
    ));
    let too_many = BLOCK_ROWS_MAX + 1;
    assert!(ColumnStats::of(&SqlType::BigInt, &column).is_ok_and(|s| s.rows as usize == too_many));
}

#[test]
fn forced_encodings_that_do_not_fit_are_errors() {
    let text = StringArray::from(vec!["a", "b"]);
    for encoding in [BlockEncoding::ForBitpack, BlockEncoding::Constant] {
        assert!(matches!(
            encode_block_column_as(&SqlType::Text, &text, encoding),
            Err(Error::EncodingNotApplicable { .. })
        ));
    }
    let ints = Int64Array::from(vec![1, 2]);
    assert!(encode_block_column_as(&SqlType::BigInt, &ints, BlockEncoding::PlainLz4).is_err());
    let wide = hyperctl_format::arrow::array::Decimal128Array::from(vec![
        -(10i128.pow(38) - 1),
        10i128.pow(38) - 1,
    ])
    .with_precision_and_scale(38, 10)
    .unwrap();
    let numeric = SqlType::numeric(38, 10).unwrap();
    assert!(encode_block_column_as(&numeric, &wide, BlockEncoding::ForBitpack).is_err());
    round_trips(numeric, &wide);
    assert!(matches!(
        encode_block_column(&SqlType::Int, &ints),
        Err(Error::TypeMismatch { .. })
    ));
}

/// The header of a block column: version, encoding, flags, rows, null count.
fn header(encoding: u8, flags: u8, rows: u32) -> Vec<u8> {
    let mut h = vec![1, encoding, flags];
    h.extend_from_slice(&rows.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h
}

#[test]
fn lying_lengths_fail_without_allocating() {
    let rows = BLOCK_ROWS_MAX as u32;
    // A constant 40,000-byte string in 65,536 rows would be 2.6 GB of data.
    let mut bytes = header(1, 0, rows);
    bytes.extend_from_slice(&40_000u32.to_le_bytes());
    bytes.extend(std::iter::repeat_n(b'a', 40_000));
    let err = decode_block_column(&SqlType::Text, &seal(bytes), rows as usize);
    assert!(matches!(err, Err(Error::Corrupt { .. })), "{err:?}");
    // A constant value longer than the bytes.
    let mut bytes = header(1, 0, 2);
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(decode_block_column(&SqlType::Bytes, &seal(bytes), 2).is_err());
    // Dictionary and run counts above the row count; a dictionary code past its end.
    for encoding in [3, 4] {
        let mut bytes = header(encoding, 0, 2);
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_block_column(&SqlType::BigInt, &seal(bytes), 2).is_err());
    }
    let mut bytes = header(3, 0, 2);
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&7i64.to_le_bytes());
    bytes.push(1);
    bytes.extend_from_slice(&[0b10, 0, 0, 0, 0, 0, 0, 0]);
    assert!(decode_block_column(&SqlType::BigInt, &seal(bytes), 2).is_err());
    // Run lengths that do not add up to the rows.
    let mut bytes = header(4, 0, 3);
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&7i64.to_le_bytes());
    bytes.push(1);
    bytes.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    assert!(decode_block_column(&SqlType::BigInt, &seal(bytes), 3).is_err());
    // An lz4 raw length far beyond what the compressed bytes can hold.
    let mut bytes = header(5, 1, 1);
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    bytes.extend_from_slice(&[0x10, b'a']);
    assert!(decode_block_column(&SqlType::Text, &seal(bytes), 1).is_err());
    // A frame wider than the type.
    let mut bytes = header(2, 0, 1);
    bytes.extend_from_slice(&[0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert!(decode_block_column(&SqlType::SmallInt, &seal(bytes), 1).is_err());
    // A row count other than the caller's, or above a block.
    let good = encode_block_column(&SqlType::BigInt, &Int64Array::from(vec![1, 2])).unwrap();
    assert!(decode_block_column(&SqlType::BigInt, &good.bytes, 3).is_err());
    assert!(decode_block_column(&SqlType::BigInt, &good.bytes, 2).is_ok());
    let huge = header(1, 0, u32::MAX);
    assert!(decode_block_column(&SqlType::BigInt, &seal(huge), u32::MAX as usize).is_err());
    // lz4 on a fixed-width type, unknown flags, versions and encodings.
    for (version, encoding, flags) in [(1, 5, 1), (1, 2, 2), (2, 5, 0), (1, 0, 0), (1, 6, 0)] {
        let bytes = seal(vec![version, encoding, flags, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(decode_block_column(&SqlType::BigInt, &bytes, 0).is_err());
    }
}

#[test]
fn every_single_byte_change_of_samples_is_an_error() {
    for ty in SqlType::examples() {
        let sample = low_cardinality(sample_column(ty).as_ref(), 40, 3, usize::MAX);
        for encoding in BlockEncoding::ALL {
            let Ok(encoded) = encode_block_column_as(&ty, sample.as_ref(), encoding) else {
                continue;
            };
            for at in 0..encoded.bytes.len() {
                let mut bytes = encoded.bytes.clone();
                bytes[at] ^= 0x01;
                assert!(
                    decode_block_column(&ty, &bytes, 40).is_err(),
                    "{ty} {encoding} @{at}"
                );
                assert!(decode_block_column(&ty, &encoded.bytes[..at], 40).is_err());
            }
        }
    }
}

/// Plain size of a column, for compression ratios.
fn plain_len(ty: SqlType, column: &dyn Array) -> usize {
    encode_block_column_as(&ty, column, BlockEncoding::Plain)
        .expect("plain")
        .bytes
        .len()
}

#[track_caller]
fn chooses(ty: SqlType, column: &dyn Array, expected: &[BlockEncoding], ratio_max: f64) -> usize {
    let encoded = encode_block_column(&ty, column).expect("encode");
    let ratio = encoded.bytes.len() as f64 / plain_len(ty, column) as f64;
    eprintln!(
        "{ty}: {} rows as {}: {} bytes, {:.1}% of plain",
        column.len(),
        encoded.encoding,
        encoded.bytes.len(),
        100.0 * ratio
    );
    assert!(
        expected.contains(&encoded.encoding),
        "{ty}: chose {}, expected one of {expected:?}",
        encoded.encoding
    );
    assert!(
        ratio <= ratio_max,
        "{ty}: {ratio:.3} of plain, expected at most {ratio_max}"
    );
    check_decodes(ty, column, &encoded.bytes, encoded.encoding);
    encoded.bytes.len()
}

/// A deterministic pseudo-random sequence (xorshift), seeded per test.
fn xorshift(seed: u64) -> impl Iterator<Item = u64> {
    let mut x = seed | 1;
    std::iter::from_fn(move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        Some(x)
    })
}

#[test]
fn the_chooser_picks_sensible_encodings() {
    use BlockEncoding::*;
    let rows = BLOCK_ROWS_MAX;
    // Small integers: 6 bits a value.
    let ints = Int64Array::from_iter_values(xorshift(1).take(rows).map(|x| 1 + (x % 50) as i64));
    let len = chooses(SqlType::BigInt, &ints, &[ForBitpack], 0.20);
    assert!(
        len <= 11 + 8 + 1 + rows * 6 / 8 + 8 + 4,
        "{len} bytes: more than 6 bits a value"
    );
    // Three distinct strings.
    let words = ["Central", "East", "West"];
    let text =
        StringArray::from_iter_values(xorshift(2).take(rows).map(|x| words[(x % 3) as usize]));
    chooses(SqlType::Text, &text, &[Dictionary], 0.20);
    // Sorted values in long runs.
    let sorted = Int64Array::from_iter_values((0..rows as i64).map(|i| 1_000_000 + i / 1000));
    chooses(SqlType::BigInt, &sorted, &[RunLength], 0.05);
    // One value, with some nulls.
    let constant = Int64Array::from_iter((0..rows).map(|i| (i % 7 != 0).then_some(42)));
    chooses(SqlType::BigInt, &constant, &[Constant], 0.20);
    // Random long strings: nothing to gain but maybe a little lz4.
    let random = StringArray::from_iter_values(xorshift(3).take(rows / 16).map(|x| {
        xorshift(x)
            .take(12)
            .map(|y| format!("{y:016x}"))
            .collect::<String>()
    }));
    chooses(SqlType::Text, &random, &[Plain, PlainLz4], 1.0);
    // Long repetitive strings with unique ids: lz4.
    let json = StringArray::from_iter_values((0..rows / 4).map(|i| {
        format!(r#"{{"order_id": {i}, "region": "Central", "segment": "Consumer", "ship_mode": "Standard Class"}}"#)
    }));
    chooses(SqlType::Json, &json, &[PlainLz4, DictionaryLz4], 0.40);
    // Booleans in long runs, floats with few values.
    let bools = hyperctl_format::arrow::array::BooleanArray::from_iter(
        (0..rows).map(|i| Some(i / 10_000 % 2 == 0)),
    );
    chooses(SqlType::Bool, &bools, &[RunLength], 0.05);
    let prices = hyperctl_format::arrow::array::Float64Array::from_iter_values(
        xorshift(4)
            .take(rows)
            .map(|x| [9.99, 19.99, 4.5, 100.0][(x % 4) as usize]),
    );
    chooses(SqlType::Double, &prices, &[Dictionary], 0.05);
}

#[test]
fn a_slice_encodes_like_a_fresh_array() {
    for ty in SqlType::examples() {
        let sample = low_cardinality(sample_column(ty).as_ref(), 100, 7, usize::MAX);
        let slice = sample.slice(13, 50);
        let fresh = concat(&[slice.as_ref()]).expect("concat");
        let a = encode_block_column(&ty, slice.as_ref()).expect("encode");
        let b = encode_block_column(&ty, fresh.as_ref()).expect("encode");
        assert_eq!(a, b, "{ty}");
        round_trips(ty, slice.as_ref());
    }
}

/// NUMERIC values past the precision are errors in every encoding, whether
/// the decoder can rule them out from the payload's values alone (constant,
/// frame, dictionary, runs) or has to look at each row; values at the edge
/// of the precision are not, also where a frame's bit width could reach past
/// it.
#[test]
fn numeric_values_past_the_precision_are_errors_in_every_encoding() {
    use hyperctl_format::arrow::array::Decimal128Array;
    let narrow = SqlType::numeric(5, 0).unwrap();
    let wide = SqlType::numeric(10, 0).unwrap();
    let column = |values: &[Option<i128>]| {
        Decimal128Array::from(values.to_vec())
            .with_precision_and_scale(10, 0)
            .unwrap()
    };
    let fits = [
        Some(99_999),
        None,
        Some(0),
        Some(-99_999),
        Some(99_999),
        Some(5),
    ];
    let past = [
        Some(99_999),
        None,
        Some(100_000),
        Some(-3),
        Some(-3),
        Some(5),
    ];
    let below = [Some(-100_000), Some(-100_000), None, Some(7)];
    let constant = [Some(100_000), None, Some(100_000)];
    for encoding in BlockEncoding::ALL {
        let encode = |values: &[Option<i128>]| {
            encode_block_column_as(&wide, &column(values), encoding).map(|e| e.bytes)
        };
        if let Ok(bytes) = encode(&fits) {
            let back = decode_block_column(&narrow, &bytes, fits.len())
                .unwrap_or_else(|e| panic!("{encoding}: {e}"));
            let expected = column(&fits).with_precision_and_scale(5, 0).unwrap();
            assert_eq!(back.as_ref(), &expected as &dyn Array, "{encoding}");
        }
        for values in [&past[..], &below[..], &constant[..]] {
            let Ok(bytes) = encode(values) else {
                continue;
            };
            assert!(decode_block_column(&wide, &bytes, values.len()).is_ok());
            let err = decode_block_column(&narrow, &bytes, values.len());
            assert!(
                matches!(&err, Err(Error::Corrupt { what, .. }) if what.contains("more than 5 digits")),
                "{encoding} {values:?}: {err:?}"
            );
        }
    }
}

/// Codes past the dictionary's end are errors wherever they sit (in a whole
/// group of 64 packed codes or in the last, partial one) for fixed-width and
/// string columns, and name the first bad row.
#[test]
fn dictionary_codes_past_the_end_are_errors() {
    let rows = 130usize;
    for bad_row in [0, 63, 64, 100, 129] {
        for (ty, width) in [
            (SqlType::BigInt, 8),
            (SqlType::numeric(18, 2).unwrap(), 16),
            (SqlType::Text, 0),
        ] {
            let mut bytes = header(3, 0, rows as u32);
            bytes.extend_from_slice(&3u32.to_le_bytes());
            if width == 0 {
                // A value list: offsets 0, 1, 2, 3 and the data "abc".
                for offset in 0u32..4 {
                    bytes.extend_from_slice(&offset.to_le_bytes());
                }
                bytes.extend_from_slice(b"abc");
            } else {
                for value in 0u8..3 {
                    bytes.extend(std::iter::once(value).chain(std::iter::repeat_n(0, width - 1)));
                }
            }
            bytes.push(2);
            let codes: Vec<u64> = (0..rows)
                .map(|i| if i == bad_row { 3 } else { (i % 3) as u64 })
                .collect();
            let mut words = vec![0u64; (rows * 2).div_ceil(64)];
            for (i, &c) in codes.iter().enumerate() {
                words[i * 2 / 64] |= c << (i * 2 % 64);
            }
            for w in &words {
                bytes.extend_from_slice(&w.to_le_bytes());
            }
            let sealed = seal(bytes.clone());
            let err = decode_block_column(&ty, &sealed, rows);
            assert!(
                matches!(&err, Err(Error::Corrupt { what, .. }) if what.contains(&format!("row {bad_row}:"))),
                "{ty} row {bad_row}: {err:?}"
            );
            // The same bytes with a valid code decode.
            let fixed_word = bad_row * 2 / 64;
            let mut good = bytes;
            let at = good.len() - 8 * (words.len() - fixed_word);
            let mut word = words[fixed_word];
            word &= !(3u64 << (bad_row * 2 % 64));
            good[at..at + 8].copy_from_slice(&word.to_le_bytes());
            let back = decode_block_column(&ty, &seal(good), rows);
            assert!(back.is_ok_and(|a| a.len() == rows), "{ty} row {bad_row}");
        }
    }
}
