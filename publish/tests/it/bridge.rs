//! The `.hyper` bridge against Tableau's real `hyperd` and Hyper API.
//!
//! These tests need `hyperd` (`HYPERD_PATH`, or `python3 -m pip install
//! tableauhyperapi`). Without it each test prints `SKIPPED: ...` and returns,
//! unless `HYPERCTL_REQUIRE_HYPERD=1` (CI), where a missing hyperd fails.
//! The Python cross-checks run `tests/hyper_roundtrip.py` with the Hyper API.

use std::sync::Arc;

use hyperctl_publish::arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, IntervalMonthDayNanoArray, StringArray,
    Time64MicrosecondArray, TimestampMicrosecondArray, UInt32Array,
};
use hyperctl_publish::arrow::datatypes::IntervalMonthDayNano;
use hyperctl_publish::arrow::record_batch::RecordBatch;
use hyperctl_publish::hyperd_testing::{
    hyperd_or_skip, python_hyper_api_or_skip, run_roundtrip_script,
};
use hyperctl_publish::serde_json::{self, Value, json};
use hyperctl_publish::{
    Error, HyperColumn, HyperTable, HyperTableDef, HyperType, HyperdProcess, hyper_file_version,
    read_hyper_file, write_hyper_file,
};

const DAY_US: i64 = 86_400_000_000;

/// A running hyperd, or `None` after printing SKIPPED (a failure when required).
fn hyperd(test: &str) -> Option<HyperdProcess> {
    hyperd_or_skip(test)
        .map(|path| HyperdProcess::start(&path).expect("hyperd was found but did not start"))
}

fn days(year: i64, month: u32, day: u32) -> i32 {
    // Proleptic Gregorian, year 0 = 1 BC (same algorithm as the bridge, restated).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    (era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468) as i32
}

fn col(name: &str, spelling: &str, nullable: bool) -> HyperColumn {
    HyperColumn::new(name, HyperType::parse(spelling).unwrap(), nullable)
}

fn batch(def: &HyperTableDef, arrays: Vec<ArrayRef>) -> RecordBatch {
    RecordBatch::try_new(Arc::new(def.arrow_schema()), arrays).unwrap()
}

fn dec(values: Vec<Option<i128>>, p: u8, s: i8) -> ArrayRef {
    Arc::new(
        Decimal128Array::from(values)
            .with_precision_and_scale(p, s)
            .unwrap(),
    )
}

fn iv(months: i32, days: i32, micros: i64) -> Option<IntervalMonthDayNano> {
    Some(IntervalMonthDayNano::new(months, days, micros * 1000))
}

/// One table with every type, NULLs and edge values.
fn every_type() -> (HyperTableDef, RecordBatch) {
    let def = HyperTableDef::new(
        "Extract",
        "Every \"Type\"",
        vec![
            col("id", "INTEGER", false),
            col("b", "BOOLEAN", true),
            col("s", "SMALLINT", true),
            col("i", "INTEGER", true),
            col("bi", "BIGINT", true),
            col("n38", "NUMERIC(38,10)", true),
            col("n18", "NUMERIC(18,3)", true),
            col("d", "DOUBLE PRECISION", true),
            col("r", "REAL", true),
            col("t", "TEXT", true),
            col("vc", "VARCHAR(7)", true),
            col("ch", "CHAR(3)", true),
            col("by", "BYTES", true),
            col("j", "JSON", true),
            col("dt", "DATE", true),
            col("tm", "TIME", true),
            col("ts", "TIMESTAMP", true),
            col("tz", "TIMESTAMPTZ", true),
            col("iv", "INTERVAL", true),
            col("o", "OID", true),
            col("g", "TABLEAU.TABGEOGRAPHY", true),
        ],
    );
    let max38 = 10_i128.pow(38) - 1;
    let max18 = 10_i128.pow(18) - 1;
    let bc44 = i64::from(days(-43, 3, 15));
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(vec![1, 2, 3, 4])),
        Arc::new(BooleanArray::from(vec![
            Some(true),
            Some(false),
            None,
            Some(true),
        ])),
        Arc::new(Int16Array::from(vec![
            Some(i16::MIN),
            Some(i16::MAX),
            None,
            Some(0),
        ])),
        Arc::new(Int32Array::from(vec![
            Some(i32::MIN),
            Some(i32::MAX),
            None,
            Some(0),
        ])),
        Arc::new(Int64Array::from(vec![
            Some(i64::MIN),
            Some(i64::MAX),
            None,
            Some(0),
        ])),
        dec(vec![Some(-max38), Some(max38), None, Some(1)], 38, 10),
        dec(vec![Some(-max18), Some(max18), None, Some(-5)], 18, 3),
        Arc::new(Float64Array::from(vec![
            Some(0.1 + 0.2),
            Some(5e-324),
            None,
            Some(f64::MAX),
        ])),
        Arc::new(Float32Array::from(vec![
            Some(0.1_f32),
            Some(f32::MAX),
            None,
            Some(-1.5e-40_f32),
        ])),
        Arc::new(StringArray::from(vec![
            Some(""),
            Some("Grüße, \"Welt\"\n日本 🎉\\x"),
            None,
            Some("a\r\nb"),
        ])),
        Arc::new(StringArray::from(vec![
            Some("abcdefg"),
            Some("ü"),
            None,
            Some(""),
        ])),
        Arc::new(StringArray::from(vec![
            Some("ab "),
            Some("xyz"),
            None,
            Some("é  "),
        ])),
        Arc::new(BinaryArray::from(vec![
            Some(&b""[..]),
            Some(&[0, 255, b'"', b',', b'\n'][..]),
            None,
            Some(&b"\\"[..]),
        ])),
        Arc::new(StringArray::from(vec![
            Some("{\"a\":[1,2]}"),
            Some("\"x\""),
            None,
            Some("null"),
        ])),
        Arc::new(Date32Array::from(vec![
            Some(bc44 as i32),
            Some(-1),
            None,
            Some(days(294_276, 12, 31)),
        ])),
        Arc::new(Time64MicrosecondArray::from(vec![
            Some(0),
            Some(DAY_US),
            None,
            Some(45_296_789_012),
        ])),
        Arc::new(TimestampMicrosecondArray::from(vec![
            Some(i64::from(days(-4712, 1, 1)) * DAY_US),
            Some(-1),
            None,
            Some(i64::from(days(200_000, 12, 31)) * DAY_US + DAY_US - 1),
        ])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![
                Some(bc44 * DAY_US + 43_200_000_001),
                Some(i64::from(days(2024, 6, 1)) * DAY_US + 23_400_000_000),
                None,
                Some(i64::from(days(1900, 1, 1)) * DAY_US),
            ])
            .with_timezone("UTC"),
        ),
        Arc::new(IntervalMonthDayNanoArray::from(vec![
            iv(-14, 3, -14_706_000_007),
            iv(0, 0, 0),
            None,
            iv(1, -1, -3_600_000_000 * 1_000_000 - 500_000),
        ])),
        Arc::new(UInt32Array::from(vec![
            Some(0),
            Some(u32::MAX),
            None,
            Some(42),
        ])),
        Arc::new(BinaryArray::from(vec![
            Some(&b"POINT(1.0000000 2.0000000)"[..]),
            Some(&b"POINT(-122.3000000 47.6000000)"[..]),
            None,
            None,
        ])),
    ];
    let b = batch(&def, arrays);
    (def, b)
}

#[test]
fn every_type_round_trips_through_hyperd() {
    let Some(hyperd) = hyperd("every_type_round_trips_through_hyperd") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("every type.hyper");
    let (def, written) = every_type();
    let outcome = write_hyper_file(
        &hyperd,
        &file,
        vec![HyperTable::new(
            def.clone(),
            [written.slice(0, 3), written.slice(3, 1)],
        )],
    )
    .unwrap();
    assert_eq!(outcome.rows, vec![4]);
    // REAL forces version 4 even though NUMERIC(38,10) alone would need 3.
    assert_eq!(outcome.file_version.version, 4);
    assert!(
        outcome.file_version.to_string().contains("REAL"),
        "{}",
        outcome.file_version
    );
    assert_eq!(hyper_file_version(&hyperd, &file).unwrap(), 4);

    let tables = read_hyper_file(&hyperd, &file).unwrap();
    assert_eq!(tables.len(), 1);
    let (read_def, batches) = &tables[0];
    assert_eq!(*read_def, def);
    assert_eq!(batches, &vec![written]);
}

#[test]
fn file_version_is_the_lowest_that_holds_the_types() {
    let Some(hyperd) = hyperd("file_version_is_the_lowest_that_holds_the_types") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("NUMERIC(18,3)", 2, dec(vec![Some(1)], 18, 3)),
        ("NUMERIC(19,0)", 3, dec(vec![Some(1)], 19, 0)),
        (
            "REAL",
            4,
            Arc::new(Float32Array::from(vec![1.5_f32])) as ArrayRef,
        ),
    ];
    for (spelling, version, array) in cases {
        let def = HyperTableDef::new("public", "t", vec![col("c", spelling, true)]);
        let file = dir.path().join(format!("v{version}.hyper"));
        let b = batch(&def, vec![array]);
        let outcome = write_hyper_file(&hyperd, &file, vec![HyperTable::new(def, [b])]).unwrap();
        assert_eq!(outcome.file_version.version, version, "{spelling}");
        assert_eq!(
            hyper_file_version(&hyperd, &file).unwrap(),
            version,
            "{spelling}"
        );
        // The header stores the version as a little-endian u16 at offset 10
        // (observed on hyperd 0.0.26963; the catalog check above is the contract).
        let header = std::fs::read(&file).unwrap();
        assert_eq!(&header[..5], b"Hyper");
        assert_eq!(
            u16::from_le_bytes([header[10], header[11]]),
            u16::from(version)
        );
    }
}

#[test]
fn bad_input_is_an_error_and_leaves_no_file() {
    let Some(hyperd) = hyperd("bad_input_is_an_error_and_leaves_no_file") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.hyper");
    let def = HyperTableDef::new("public", "t", vec![col("c", "INTEGER", false)]);
    let wrong =
        RecordBatch::try_from_iter([("c", Arc::new(Int64Array::from(vec![1])) as ArrayRef)])
            .unwrap();
    let err = write_hyper_file(&hyperd, &file, vec![HyperTable::new(def.clone(), [wrong])]);
    assert!(matches!(err, Err(Error::BatchSchema { .. })), "{err:?}");
    assert!(!file.exists());

    // A NULL for a NOT NULL column in the second batch: the COPY has begun.
    let first = batch(&def, vec![Arc::new(Int32Array::from(vec![1, 2]))]);
    let null = RecordBatch::try_from_iter([(
        "c",
        Arc::new(Int32Array::from(vec![Some(3), None])) as ArrayRef,
    )])
    .unwrap();
    let err = write_hyper_file(
        &hyperd,
        &file,
        vec![HyperTable::new(def.clone(), [first, null])],
    );
    match err {
        Err(Error::HyperValue { row, column, .. }) => assert_eq!((row, column.as_str()), (3, "c")),
        other => panic!("{other:?}"),
    }
    assert!(!file.exists());

    let ok = batch(&def, vec![Arc::new(Int32Array::from(vec![7]))]);
    write_hyper_file(
        &hyperd,
        &file,
        vec![HyperTable::new(def.clone(), [ok.clone()])],
    )
    .unwrap();
    let again = write_hyper_file(&hyperd, &file, vec![HyperTable::new(def, [ok])]);
    match again {
        Err(e @ Error::Hyper { .. }) => assert!(e.to_string().contains("already exists"), "{e}"),
        other => panic!("{other:?}"),
    }
    let missing = read_hyper_file(&hyperd, &dir.path().join("missing.hyper"));
    assert!(matches!(missing, Err(Error::Hyper { .. })), "{missing:?}");
}

/// A table of values the Python Hyper API can represent (years 1..9999).
fn python_table() -> (HyperTableDef, RecordBatch) {
    let def = HyperTableDef::new(
        "Extract",
        "Extract",
        vec![
            col("id", "INTEGER", false),
            col("amount", "NUMERIC(18,3)", true),
            col("name", "TEXT", true),
            col("code", "VARCHAR(5)", true),
            col("ratio", "DOUBLE PRECISION", true),
            col("day", "DATE", true),
            col("at", "TIMESTAMP", true),
            col("at_tz", "TIMESTAMPTZ", true),
            col("span", "INTERVAL", true),
            col("blob", "BYTES", true),
            col("flag", "BOOLEAN", true),
            col("t", "TIME", true),
            col("big", "BIGINT", true),
        ],
    );
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(vec![1, 2, 3])),
        dec(vec![Some(-123_456_789_012_345_678), None, Some(1)], 18, 3),
        Arc::new(StringArray::from(vec![
            Some("Grüße, \"Welt\"\n"),
            Some(""),
            None,
        ])),
        Arc::new(StringArray::from(vec![Some("abc"), None, Some("")])),
        Arc::new(Float64Array::from(vec![
            Some(0.1 + 0.2),
            Some(f64::NEG_INFINITY),
            Some(-0.0),
        ])),
        Arc::new(Date32Array::from(vec![
            Some(-1),
            Some(days(9999, 12, 31)),
            None,
        ])),
        Arc::new(TimestampMicrosecondArray::from(vec![
            Some(i64::from(days(1900, 1, 1)) * DAY_US + 1),
            None,
            Some(i64::from(days(1, 1, 1)) * DAY_US),
        ])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![
                Some(i64::from(days(2024, 2, 29)) * DAY_US + DAY_US - 1),
                None,
                Some(0),
            ])
            .with_timezone("UTC"),
        ),
        Arc::new(IntervalMonthDayNanoArray::from(vec![
            iv(-14, 3, -14_706_000_007),
            iv(0, 0, 0),
            None,
        ])),
        Arc::new(BinaryArray::from(vec![
            Some(&[0, 255, b'"'][..]),
            Some(&b""[..]),
            None,
        ])),
        Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
        Arc::new(Time64MicrosecondArray::from(vec![
            Some(DAY_US - 1),
            Some(0),
            None,
        ])),
        Arc::new(Int64Array::from(vec![Some(i64::MIN), Some(i64::MAX), None])),
    ];
    let b = batch(&def, arrays);
    (def, b)
}

/// `python_table` as `hyper_roundtrip.py read` prints it.
fn python_table_json() -> Value {
    let ymd = |y, m, d| json!([y, m, d]);
    json!({
        "Extract.Extract": {
            "rows": [
                [1, "-123456789012345.678", "Grüße, \"Welt\"\n", "abc", "0.30000000000000004",
                 ymd(1969, 12, 31), [ymd(1900, 1, 1), 1], [ymd(2024, 2, 29), DAY_US - 1],
                 [-14, 3, -14_706_000_007_i64], "00ff22", true, DAY_US - 1, i64::MIN],
                [2, null, "", null, "-inf", ymd(9999, 12, 31), null, null,
                 [0, 0, 0], "", false, 0, i64::MAX],
                [3, "0.001", null, "", "-0.0", null, [ymd(1, 1, 1), 0], [ymd(1970, 1, 1), 0],
                 null, null, null, null, null],
            ]
        }
    })
}

/// Keeps only the rows (column types are compared separately, by parsing).
fn rows_only(printed: &str) -> (Value, Vec<Value>) {
    let mut value: Value = serde_json::from_str(printed).unwrap();
    let table = value
        .get_mut("Extract.Extract")
        .expect("table Extract.Extract");
    let columns = table["columns"].as_array().unwrap().clone();
    table.as_object_mut().unwrap().remove("columns");
    (value, columns)
}

fn assert_columns(columns: &[Value], def: &HyperTableDef) {
    assert_eq!(columns.len(), def.columns.len());
    for (printed, ours) in columns.iter().zip(&def.columns) {
        assert_eq!(printed[0], ours.name.as_str());
        let ty = HyperType::parse(printed[1].as_str().unwrap())
            .unwrap_or_else(|e| panic!("Hyper API type {}: {e}", printed[1]));
        assert_eq!(ty, ours.sql_type, "{}", ours.name);
        assert_eq!(printed[2], ours.nullable, "{}", ours.name);
    }
}

#[test]
fn hyper_api_reads_what_the_bridge_wrote() {
    let test = "hyper_api_reads_what_the_bridge_wrote";
    let Some(hyperd) = hyperd(test) else {
        return;
    };
    if !python_hyper_api_or_skip(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ours.hyper");
    let (def, b) = python_table();
    let outcome =
        write_hyper_file(&hyperd, &file, vec![HyperTable::new(def.clone(), [b])]).unwrap();
    assert_eq!(outcome.file_version.version, 2);
    drop(hyperd); // the file is closed; the Hyper API opens it with its own hyperd
    let (rows, columns) = rows_only(&run_roundtrip_script("read", &file));
    assert_columns(&columns, &def);
    assert_eq!(rows, python_table_json());
}

#[test]
fn bridge_reads_what_the_hyper_api_wrote() {
    let test = "bridge_reads_what_the_hyper_api_wrote";
    let Some(hyperd) = hyperd(test) else {
        return;
    };
    if !python_hyper_api_or_skip(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("theirs.hyper");
    run_roundtrip_script("write", &file);
    assert_eq!(hyper_file_version(&hyperd, &file).unwrap(), 2);
    let tables = read_hyper_file(&hyperd, &file).unwrap();
    let (def, batch) = python_table();
    assert_eq!(tables, vec![(def, vec![batch])]);
}
