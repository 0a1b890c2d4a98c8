//! Small constructors shared by the unit tests.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Int64Array, StringArray, new_null_array};
use arrow::datatypes::DataType;

use crate::expr::PhysicalExpr;

pub(crate) fn ints(values: &[Option<i64>]) -> ArrayRef {
    Arc::new(Int64Array::from(values.to_vec()))
}

pub(crate) fn bools(values: &[Option<bool>]) -> ArrayRef {
    Arc::new(BooleanArray::from(values.to_vec()))
}

pub(crate) fn strs(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

pub(crate) fn lit_i64(v: i64) -> PhysicalExpr {
    PhysicalExpr::Literal {
        value: ints(&[Some(v)]),
    }
}

pub(crate) fn lit_null(t: DataType) -> PhysicalExpr {
    PhysicalExpr::Literal {
        value: new_null_array(&t, 1),
    }
}

pub(crate) fn col(index: usize) -> PhysicalExpr {
    PhysicalExpr::Column { index }
}

/// A batch whose fields are all nullable (`RecordBatch::try_from_iter`
/// derives nullability from the data, which breaks with later batches).
pub(crate) fn nullable_batch<N: AsRef<str>>(
    columns: impl IntoIterator<Item = (N, ArrayRef)>,
) -> Result<arrow::record_batch::RecordBatch, arrow::error::ArrowError> {
    arrow::record_batch::RecordBatch::try_from_iter_with_nullable(
        columns.into_iter().map(|(n, a)| (n, a, true)),
    )
}

/// A scan over `batches` (all columns), which share the first batch's schema.
pub(crate) fn scan_of(
    batches: Vec<arrow::record_batch::RecordBatch>,
) -> Box<crate::plan::PhysicalPlan> {
    let schema = batches[0].schema();
    let projection = (0..schema.fields().len()).collect();
    let source = crate::source::MemorySource::try_new(schema, batches).unwrap();
    Box::new(crate::plan::PhysicalPlan::Scan {
        source: Arc::new(source),
        projection,
    })
}

/// Splits `batch` at the given cut points (taken modulo its length, sorted).
pub(crate) fn split(
    batch: &arrow::record_batch::RecordBatch,
    cuts: &[usize],
) -> Vec<arrow::record_batch::RecordBatch> {
    let n = batch.num_rows();
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|c| if n == 0 { 0 } else { c % (n + 1) })
        .collect();
    points.push(0);
    points.push(n);
    points.sort_unstable();
    points
        .windows(2)
        .map(|w| batch.slice(w[0], w[1] - w[0]))
        .collect()
}

/// Proptest settings: a fixed seed, `HYPERCTL_SEED` to pick another.
pub(crate) fn proptest_config() -> proptest::test_runner::Config {
    let seed = std::env::var("HYPERCTL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_e7ec_u64);
    // Printed with the failure output (the harness captures it otherwise).
    eprintln!("proptest seed: {seed} (set HYPERCTL_SEED to change it)");
    proptest::test_runner::Config {
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        cases: 128,
        ..proptest::test_runner::Config::default()
    }
}
