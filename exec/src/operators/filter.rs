//! Filter: keeps the rows whose predicate is TRUE; FALSE and NULL drop a row.
//!
//! The predicate is split at its ANDs; each conjunct of the shape
//! `column op literal` over an `Int32`/`Date32`, `Int64`/`Date64`/timestamp
//! or `Float64` column runs as a SIMD compare kernel (resolved once per
//! pipeline), the others as expressions, `column op literal` ones first. A
//! row stays when every conjunct is TRUE, which is exactly when their
//! Kleene AND is TRUE.
//!
//! Before a costly conjunct (anything but a comparison of fixed-width
//! columns and literals: text, functions, casts, ORs) the batch is cut down
//! to the rows the conjuncts so far keep, if that is at most half of them,
//! so that a selective cheap conjunct (a date range, say) spares the costly
//! ones most of their rows. Cheap conjuncts run over the whole batch:
//! gathering their rows first would cost more than comparing them all.

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use arrow::buffer::{BooleanBuffer, Buffer, ScalarBuffer};
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Float64Type, Int32Type, Int64Type, Schema, SchemaRef,
    TimeUnit, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::expr::{BinaryOp, PhysicalExpr, as_boolean, to_boolean};
use crate::kernels::Tier;
use crate::kernels::compare::{CmpOp, Resolved};
use crate::source::BatchStream;

pub(crate) fn schema(input: &SchemaRef, predicate: &PhysicalExpr) -> Result<SchemaRef> {
    match predicate.data_type(input)? {
        DataType::Boolean | DataType::Null => Ok(input.clone()),
        t => Err(Error::internal(format!("filter predicate of type {t}"))),
    }
}

pub(crate) fn execute(input: BatchStream, predicate: PhysicalExpr) -> BatchStream {
    let tier = crate::kernels::tier();
    Box::new(
        input
            .map(move |batch| {
                let batch = batch?;
                FilterOp::new(&predicate, batch.schema_ref(), tier).apply(&batch)
            })
            .filter(|batch| !matches!(batch, Ok(b) if b.num_rows() == 0)),
    )
}

/// A predicate prepared for one input schema: kernel conjuncts and the rest.
#[derive(Debug)]
pub(crate) struct FilterOp {
    fast: Vec<(usize, Fast)>,
    /// The other conjuncts, in the order they run, each with whether it is
    /// cheap (see the module comment).
    rest: Vec<(bool, PhysicalExpr)>,
    /// The input columns the output keeps (all when `None`): a projection
    /// of columns folded into the filter, so that columns only the
    /// predicate reads are not copied.
    output: Option<Vec<usize>>,
}

/// A compare kernel by column type.
#[derive(Debug, Clone, Copy)]
enum Fast {
    I32(Resolved<i32>),
    I64(Resolved<i64>),
    F64(Resolved<f64>),
}

impl FilterOp {
    /// Splits `predicate` (boolean over `input`) and resolves the kernels of
    /// `tier`.
    pub(crate) fn new(predicate: &PhysicalExpr, input: &Schema, tier: Tier) -> FilterOp {
        let mut conjuncts = Vec::new();
        split_and(predicate, &mut conjuncts);
        let mut fast = Vec::new();
        let mut rest = Vec::new();
        for c in conjuncts {
            match fast_compare(c, input, tier) {
                Some(f) => fast.push(f),
                None => rest.push(c.clone()),
            }
        }
        // A comparison of fixed-width columns and literals cannot fail and
        // is cheap: those run first (the sort is stable).
        let rest = rest
            .into_iter()
            .map(|c| (is_cheap(&c, input), c))
            .collect::<Vec<_>>();
        let (mut rest, costly): (Vec<_>, Vec<_>) = rest.into_iter().partition(|(cheap, _)| *cheap);
        rest.extend(costly);
        FilterOp {
            fast,
            rest,
            output: None,
        }
    }

    /// Keeps only the input columns at `columns` in the output, in that
    /// order (a projection of columns right after the filter).
    pub(crate) fn keep_only(&mut self, columns: Vec<usize>) {
        self.output = Some(columns);
    }

    /// `batch` narrowed to [`FilterOp::output`].
    fn narrow(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        Ok(match &self.output {
            Some(columns) => batch.project(columns)?,
            None => batch.clone(),
        })
    }

    /// How many conjuncts run as kernels (tests).
    #[cfg(test)]
    pub(crate) fn kernel_conjuncts(&self) -> usize {
        self.fast.len()
    }

    /// The rows of `batch` where the predicate is TRUE.
    pub(crate) fn apply(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let mut keep: Option<BooleanBuffer> = None;
        let and = |keep: &mut Option<BooleanBuffer>, m: BooleanBuffer| {
            *keep = Some(match keep.take() {
                None => m,
                Some(k) => &k & &m,
            })
        };
        for (column, fast) in &self.fast {
            let array = batch
                .columns()
                .get(*column)
                .ok_or_else(|| Error::internal(format!("filter column {column} out of range")))?;
            and(&mut keep, fast.run(array)?);
        }
        let mut current = std::borrow::Cow::Borrowed(batch);
        for (cheap, conjunct) in &self.rest {
            if let Some(k) = keep.take_if(|k| !cheap && k.count_set_bits() * 2 <= k.len()) {
                current = std::borrow::Cow::Owned(cut(&current, k)?);
                if current.num_rows() == 0 {
                    return self.narrow(&current);
                }
            }
            let mask = to_boolean(&conjunct.evaluate(&current)?)?;
            and(&mut keep, true_bits(as_boolean(&mask)?));
        }
        let out = self.narrow(&current)?;
        match keep {
            None => Ok(out),
            Some(k) => cut(&out, k),
        }
    }
}

/// The rows of `batch` whose bit in `keep` is set; no copy when all are.
fn cut(batch: &RecordBatch, keep: BooleanBuffer) -> Result<RecordBatch> {
    if keep.len() != batch.num_rows() {
        return Err(Error::internal("filter mask of the wrong length"));
    }
    // All rows pass (a range that covers the block, say): no copy.
    if keep.count_set_bits() == keep.len() {
        return Ok(batch.clone());
    }
    Ok(arrow::compute::filter_record_batch(
        batch,
        &BooleanArray::new(keep, None),
    )?)
}

/// A comparison of columns and literals of fixed-width types: it cannot
/// fail, and gathering its rows first costs more than comparing them all.
fn is_cheap(e: &PhysicalExpr, input: &Schema) -> bool {
    let PhysicalExpr::Binary { op, left, right } = e else {
        return false;
    };
    let fixed_operand = |e: &PhysicalExpr| match e {
        PhysicalExpr::Column { index } => input
            .fields()
            .get(*index)
            .is_some_and(|f| f.data_type().is_primitive()),
        PhysicalExpr::Literal { value } => value.data_type().is_primitive(),
        _ => false,
    };
    op.is_comparison() && fixed_operand(left) && fixed_operand(right)
}

/// TRUE rows of a boolean array (NULL counts as FALSE).
fn true_bits(a: &BooleanArray) -> BooleanBuffer {
    match a.nulls() {
        Some(n) => a.values() & n.inner(),
        None => a.values().clone(),
    }
}

fn split_and<'a>(e: &'a PhysicalExpr, out: &mut Vec<&'a PhysicalExpr>) {
    match e {
        PhysicalExpr::Binary {
            op: BinaryOp::And,
            left,
            right,
        } => {
            split_and(left, out);
            split_and(right, out);
        }
        e => out.push(e),
    }
}

/// `column op literal` (or `literal op column`) with a kernel for its type.
fn fast_compare(e: &PhysicalExpr, input: &Schema, tier: Tier) -> Option<(usize, Fast)> {
    let PhysicalExpr::Binary { op, left, right } = e else {
        return None;
    };
    let op = match op {
        BinaryOp::Eq => CmpOp::Eq,
        BinaryOp::NotEq => CmpOp::NotEq,
        BinaryOp::Lt => CmpOp::Lt,
        BinaryOp::LtEq => CmpOp::LtEq,
        BinaryOp::Gt => CmpOp::Gt,
        BinaryOp::GtEq => CmpOp::GtEq,
        _ => return None,
    };
    let (index, value, op) = match (left.as_ref(), right.as_ref()) {
        (PhysicalExpr::Column { index }, PhysicalExpr::Literal { value }) => (*index, value, op),
        (PhysicalExpr::Literal { value }, PhysicalExpr::Column { index }) => {
            (*index, value, op.flip())
        }
        _ => return None,
    };
    let column_type = input.fields().get(index)?.data_type();
    if value.len() != 1 || value.is_null(0) || value.data_type() != column_type {
        return None;
    }
    let fast = if let Some(v) = i32_values(value) {
        Fast::I32(Resolved::new(tier, op, v[0])?)
    } else if let Some(v) = i64_values(value) {
        Fast::I64(Resolved::new(tier, op, v[0])?)
    } else if let DataType::Float64 = column_type {
        Fast::F64(Resolved::new(
            tier,
            op,
            value.as_primitive::<Float64Type>().value(0),
        )?)
    } else {
        return None;
    };
    Some((index, fast))
}

fn i32_values(a: &ArrayRef) -> Option<ScalarBuffer<i32>> {
    match a.data_type() {
        DataType::Int32 => Some(a.as_primitive::<Int32Type>().values().clone()),
        DataType::Date32 => Some(a.as_primitive::<Date32Type>().values().clone()),
        _ => None,
    }
}

fn i64_values(a: &ArrayRef) -> Option<ScalarBuffer<i64>> {
    Some(match a.data_type() {
        DataType::Int64 => a.as_primitive::<Int64Type>().values().clone(),
        DataType::Date64 => a.as_primitive::<Date64Type>().values().clone(),
        DataType::Timestamp(TimeUnit::Second, _) => {
            a.as_primitive::<TimestampSecondType>().values().clone()
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => a
            .as_primitive::<TimestampMillisecondType>()
            .values()
            .clone(),
        DataType::Timestamp(TimeUnit::Microsecond, _) => a
            .as_primitive::<TimestampMicrosecondType>()
            .values()
            .clone(),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            a.as_primitive::<TimestampNanosecondType>().values().clone()
        }
        _ => return None,
    })
}

impl Fast {
    /// The TRUE rows of `column op c` (NULL rows are FALSE).
    fn run(&self, column: &ArrayRef) -> Result<BooleanBuffer> {
        let wrong = || Error::internal(format!("filter kernel fed with {}", column.data_type()));
        let words = match self {
            Fast::I32(k) => k.run(&i32_values(column).ok_or_else(wrong)?),
            Fast::I64(k) => k.run(&i64_values(column).ok_or_else(wrong)?),
            Fast::F64(k) => k.run(
                column
                    .as_primitive_opt::<Float64Type>()
                    .ok_or_else(wrong)?
                    .values(),
            ),
        };
        let bits = BooleanBuffer::new(Buffer::from_vec(words), 0, column.len());
        Ok(match column.logical_nulls() {
            Some(n) => &bits & n.inner(),
            None => bits,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::expr::{BinaryOp, PhysicalExpr};
    use crate::plan::{PhysicalPlan, collect};
    use crate::source::MemorySource;
    use crate::test_util::{bools, col, ints, lit_i64, lit_null, strs};
    use arrow::array::AsArray;
    use arrow::datatypes::{DataType, Int64Type};
    use arrow::record_batch::RecordBatch;
    use std::sync::Arc;

    fn scan(batches: Vec<RecordBatch>) -> Box<PhysicalPlan> {
        let source = MemorySource::try_new(batches[0].schema(), batches).unwrap();
        Box::new(PhysicalPlan::Scan {
            source: Arc::new(source),
            projection: vec![0, 1],
        })
    }

    fn ints_of(batches: &[RecordBatch], c: usize) -> Vec<Option<i64>> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(c)
                    .as_primitive::<Int64Type>()
                    .iter()
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn keeps_only_true_rows() {
        let b = crate::test_util::nullable_batch([
            ("x", ints(&[Some(1), Some(2), Some(3), None])),
            ("p", bools(&[Some(true), Some(false), None, Some(true)])),
        ])
        .unwrap();
        let plan = PhysicalPlan::Filter {
            input: scan(vec![b.clone(), b]),
            predicate: col(1),
        };
        let out = collect(&plan).unwrap();
        assert_eq!(ints_of(&out, 0), vec![Some(1), None, Some(1), None]);
    }

    #[test]
    fn comparison_predicate_and_empty_batches_skipped() {
        let b1 = crate::test_util::nullable_batch([
            ("x", ints(&[Some(1), Some(5)])),
            ("y", ints(&[None, None])),
        ])
        .unwrap();
        let b2 = crate::test_util::nullable_batch([
            ("x", ints(&[Some(0), None])),
            ("y", ints(&[None, None])),
        ])
        .unwrap();
        let predicate = PhysicalExpr::Binary {
            op: BinaryOp::Gt,
            left: Box::new(col(0)),
            right: Box::new(lit_i64(2)),
        };
        let plan = PhysicalPlan::Filter {
            input: scan(vec![b1, b2]),
            predicate,
        };
        let out = collect(&plan).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(ints_of(&out, 0), vec![Some(5)]);
    }

    #[test]
    fn null_predicate_drops_everything() {
        let b =
            crate::test_util::nullable_batch([("x", ints(&[Some(1)])), ("y", ints(&[Some(1)]))])
                .unwrap();
        let plan = PhysicalPlan::Filter {
            input: scan(vec![b]),
            predicate: lit_null(DataType::Null),
        };
        assert!(collect(&plan).unwrap().is_empty());
    }

    /// `a < k1 AND b = 'w' AND CAST(k2) IS DISTINCT FROM a AND b <> 'v'`:
    /// a kernel conjunct, costly text conjuncts (the batch is cut before
    /// them when the rows so far are few) and a cheap one after a folded
    /// cast, against evaluating the whole predicate as one Kleene AND and
    /// filtering once.
    fn mixed_predicate(k1: i64, k2: i32, w: &str, v: &str) -> PhysicalExpr {
        let text = |s: &str| PhysicalExpr::Literal {
            value: strs(&[Some(s)]),
        };
        let and = |l, r| PhysicalExpr::Binary {
            op: BinaryOp::And,
            left: Box::new(l),
            right: Box::new(r),
        };
        let cmp = |op, l, r| PhysicalExpr::Binary {
            op,
            left: Box::new(l),
            right: Box::new(r),
        };
        and(
            and(
                and(
                    cmp(BinaryOp::Lt, col(0), lit_i64(k1)),
                    cmp(BinaryOp::Eq, col(1), text(w)),
                ),
                cmp(BinaryOp::IsDistinctFrom, lit_i64(i64::from(k2)), col(0)),
            ),
            cmp(BinaryOp::NotEq, col(1), text(v)),
        )
    }

    proptest::proptest! {
        #![proptest_config(crate::test_util::proptest_config())]
        #[test]
        fn cutting_between_conjuncts_keeps_the_rows_of_one_and(
            rows in proptest::collection::vec(
                (proptest::option::of(-20i64..20), proptest::option::of("[a-c]{0,2}")),
                0..300,
            ),
            k1 in -25i64..25,
            k2 in -25i32..25,
            w in "[a-c]{0,2}",
            v in "[a-c]{0,2}",
        ) {
            let a: Vec<Option<i64>> = rows.iter().map(|r| r.0).collect();
            let b: Vec<Option<&str>> = rows.iter().map(|r| r.1.as_deref()).collect();
            let batch =
                crate::test_util::nullable_batch([("a", ints(&a)), ("b", strs(&b))]).unwrap();
            let predicate = mixed_predicate(k1, k2, &w, &v);
            let op = super::FilterOp::new(&predicate, batch.schema_ref(), crate::kernels::tier());
            proptest::prop_assert_eq!(op.kernel_conjuncts(), 1);
            // A fixed-width comparison with a literal is cheap: it runs before the text ones.
            proptest::prop_assert!(op.rest[0].0 && !op.rest[1].0 && !op.rest[2].0);
            let got = op.apply(&batch).unwrap();
            let mask = crate::expr::to_boolean(&predicate.evaluate(&batch).unwrap()).unwrap();
            let mask = super::true_bits(crate::expr::as_boolean(&mask).unwrap());
            let want = arrow::compute::filter_record_batch(
                &batch,
                &arrow::array::BooleanArray::new(mask, None),
            )
            .unwrap();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn non_boolean_predicate_is_internal() {
        let b =
            crate::test_util::nullable_batch([("x", ints(&[Some(1)])), ("y", ints(&[Some(1)]))])
                .unwrap();
        let plan = PhysicalPlan::Filter {
            input: scan(vec![b]),
            predicate: col(0),
        };
        assert!(matches!(plan.execute(), Err(Error::Internal { .. })));
    }
}
