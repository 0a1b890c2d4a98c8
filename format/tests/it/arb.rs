//! Columns of every SQL type: random ones (proptest strategies with extreme
//! values, nulls and long strings), small fixed samples, and the seeded
//! proptest configuration.
//!
//! Seeds: `HYPERCTL_SEED=<u64>` replays a run; without it each run picks a seed
//! from the clock. The seed is printed to stderr, which the test harness shows
//! when a test fails.

use std::sync::{Arc, OnceLock};

use hyperctl_format::SqlType;
use hyperctl_format::arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, IntervalMonthDayNanoArray, StringArray,
    Time64MicrosecondArray, TimestampMicrosecondArray, UInt32Array,
};
use hyperctl_format::arrow::datatypes::IntervalMonthDayNano;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, RngSeed};

/// Most rows in a random column.
const ROWS_MAX: usize = 200;
/// Where proptest keeps the seeds of failures it found (committed).
const REGRESSIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/proptest-regressions/it.txt");

/// The run's seed: `HYPERCTL_SEED`, or else one from the clock.
pub(crate) fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| match std::env::var("HYPERCTL_SEED") {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("HYPERCTL_SEED={text:?} is not a u64")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    })
}

/// A proptest configuration that starts from [`seed`] and prints it.
pub(crate) fn config(cases: u32) -> Config {
    let seed = seed();
    eprintln!("random test seed: HYPERCTL_SEED={seed}");
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..Config::default()
    }
}

/// Any type of [`SqlType::examples`] with a random column of it.
pub(crate) fn any_column() -> impl Strategy<Value = (SqlType, ArrayRef)> {
    prop::sample::select(SqlType::examples()).prop_flat_map(|ty| (Just(ty), arb_column(ty)))
}

/// The position of `ty` in [`SqlType::examples`] (the fuzz target's first byte).
pub(crate) fn type_index(ty: SqlType) -> u8 {
    let index = SqlType::examples().iter().position(|t| *t == ty);
    index.expect("an example type") as u8
}

/// A random column of type `ty`: 0 to [`ROWS_MAX`] rows, none to all of them null.
pub(crate) fn arb_column(ty: SqlType) -> BoxedStrategy<ArrayRef> {
    match ty {
        SqlType::Bool => column(any::<bool>(), |v| Arc::new(BooleanArray::from(v))),
        SqlType::SmallInt => column(
            prop_oneof![4 => any::<i16>(), 1 => Just(i16::MIN), 1 => Just(i16::MAX), 1 => Just(0)],
            |v| Arc::new(Int16Array::from(v)),
        ),
        SqlType::Int => column(int32s(), |v| Arc::new(Int32Array::from(v))),
        SqlType::BigInt => column(int64s(), |v| Arc::new(Int64Array::from(v))),
        SqlType::Numeric { precision, scale } => {
            let max = 10i128.pow(u32::from(precision)) - 1;
            let values = prop_oneof![
                4 => -max..=max,
                1 => Just(max),
                1 => Just(-max),
                1 => -1000i128..1000,
            ];
            column(values, move |v| {
                let a = Decimal128Array::from(v).with_precision_and_scale(precision, scale as i8);
                Arc::new(a.expect("valid precision and scale"))
            })
        }
        SqlType::Double => column(float64s(), |v| Arc::new(Float64Array::from(v))),
        SqlType::Real => column(float32s(), |v| Arc::new(Float32Array::from(v))),
        SqlType::Text | SqlType::Varchar { .. } | SqlType::Char { .. } | SqlType::Json => {
            column(strings(), |v| Arc::new(StringArray::from(v)))
        }
        SqlType::Bytes | SqlType::Geography => column(byte_strings(), |v| {
            Arc::new(BinaryArray::from_iter(v.iter().map(|b| b.as_deref())))
        }),
        SqlType::Date => column(int32s(), |v| Arc::new(Date32Array::from(v))),
        SqlType::Time => column(prop_oneof![3 => 0i64..86_400_000_000, 1 => int64s()], |v| {
            Arc::new(Time64MicrosecondArray::from(v))
        }),
        SqlType::Timestamp => column(int64s(), |v| Arc::new(TimestampMicrosecondArray::from(v))),
        SqlType::TimestampTz => column(int64s(), |v| {
            Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
        }),
        SqlType::Interval => column((int32s(), int32s(), int64s()), |v| {
            let v = v
                .into_iter()
                .map(|x| x.map(|(m, d, n)| IntervalMonthDayNano::new(m, d, n)));
            Arc::new(IntervalMonthDayNanoArray::from_iter(v))
        }),
        SqlType::Oid => column(prop_oneof![any::<u32>(), Just(u32::MAX), Just(0)], |v| {
            Arc::new(UInt32Array::from(v))
        }),
        other => panic!("no strategy for {other}: add one"),
    }
}

/// Rows of `values`, with a share of nulls that is 0, 10%, 50% or 100%.
fn column<S>(
    values: S,
    build: impl Fn(Vec<Option<S::Value>>) -> ArrayRef + 'static,
) -> BoxedStrategy<ArrayRef>
where
    S: Strategy + Clone + 'static,
    S::Value: Clone,
{
    let rows = 0..ROWS_MAX;
    prop_oneof![
        vec(values.clone().prop_map(Some), rows.clone()),
        vec(prop::option::weighted(0.9, values.clone()), rows.clone()),
        vec(prop::option::weighted(0.5, values), rows.clone()),
        vec(Just(None), rows),
    ]
    .prop_map(build)
    .boxed()
}

fn int32s() -> impl Strategy<Value = i32> + Clone {
    prop_oneof![4 => any::<i32>(), 1 => Just(i32::MIN), 1 => Just(i32::MAX), 1 => -3i32..3]
}

fn int64s() -> impl Strategy<Value = i64> + Clone {
    prop_oneof![4 => any::<i64>(), 1 => Just(i64::MIN), 1 => Just(i64::MAX), 1 => -3i64..3]
}

fn float64s() -> impl Strategy<Value = f64> + Clone {
    let special = [
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
    ];
    prop_oneof![
        3 => prop::num::f64::ANY,
        2 => any::<u64>().prop_map(f64::from_bits),
        2 => prop::sample::select(special.to_vec()),
    ]
}

fn float32s() -> impl Strategy<Value = f32> + Clone {
    let special = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        -0.0,
        f32::MIN,
        f32::MAX,
    ];
    prop_oneof![
        3 => prop::num::f32::ANY,
        2 => any::<u32>().prop_map(f32::from_bits),
        2 => prop::sample::select(special.to_vec()),
    ]
}

fn strings() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        16 => vec(any::<char>(), 0..12).prop_map(String::from_iter),
        4 => "[a-z ]{0,8}",
        2 => Just(String::new()),
        1 => (0usize..4000, any::<char>()).prop_map(|(n, c)| c.to_string().repeat(n)),
    ]
}

fn byte_strings() -> impl Strategy<Value = Vec<u8>> + Clone {
    prop_oneof![
        8 => vec(any::<u8>(), 0..16),
        1 => (0usize..4000, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
    ]
}

/// A small fixed column of type `ty`: extreme values, a null, an empty value.
pub(crate) fn sample_column(ty: SqlType) -> ArrayRef {
    match ty {
        SqlType::Bool => Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        SqlType::SmallInt => Arc::new(Int16Array::from(vec![Some(i16::MIN), None, Some(7)])),
        SqlType::Int => Arc::new(Int32Array::from(vec![Some(i32::MAX), None, Some(-1)])),
        SqlType::BigInt => Arc::new(Int64Array::from(vec![Some(i64::MIN), None, Some(i64::MAX)])),
        SqlType::Numeric { precision, scale } => {
            let max = 10i128.pow(u32::from(precision)) - 1;
            let a = Decimal128Array::from(vec![Some(-max), None, Some(12_345), Some(max)])
                .with_precision_and_scale(precision, scale as i8);
            Arc::new(a.expect("valid precision and scale"))
        }
        SqlType::Double => Arc::new(Float64Array::from(vec![
            Some(f64::NAN),
            None,
            Some(f64::NEG_INFINITY),
            Some(-0.0),
            Some(1.5),
        ])),
        SqlType::Real => Arc::new(Float32Array::from(vec![
            Some(f32::INFINITY),
            None,
            Some(2.25),
        ])),
        SqlType::Text | SqlType::Varchar { .. } | SqlType::Char { .. } => {
            Arc::new(StringArray::from(vec![
                Some("héllo"),
                None,
                Some(""),
                Some("日本 🦀"),
            ]))
        }
        SqlType::Json => Arc::new(StringArray::from(vec![Some(r#"{"a": [1, 2]}"#), None])),
        SqlType::Bytes | SqlType::Geography => Arc::new(BinaryArray::from(vec![
            Some(&[0u8, 0xff, 0x80][..]),
            None,
            Some(&[][..]),
        ])),
        SqlType::Date => Arc::new(Date32Array::from(vec![Some(0), None, Some(i32::MIN)])),
        SqlType::Time => Arc::new(Time64MicrosecondArray::from(vec![
            Some(0),
            None,
            Some(86_399_999_999),
        ])),
        SqlType::Timestamp => Arc::new(TimestampMicrosecondArray::from(vec![
            Some(i64::MIN),
            None,
            Some(1_700_000_000_000_000),
        ])),
        SqlType::TimestampTz => Arc::new(
            TimestampMicrosecondArray::from(vec![Some(1_700_000_000_000_000), None, Some(-1)])
                .with_timezone("UTC"),
        ),
        SqlType::Interval => Arc::new(IntervalMonthDayNanoArray::from(vec![
            Some(IntervalMonthDayNano::new(1, -2, 3_000)),
            None,
            Some(IntervalMonthDayNano::new(i32::MIN, i32::MAX, i64::MIN)),
        ])),
        SqlType::Oid => Arc::new(UInt32Array::from(vec![Some(u32::MAX), None, Some(0)])),
        other => panic!("no sample for {other}: add one"),
    }
}
