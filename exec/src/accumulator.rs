//! Grouped accumulators: per-group state for one aggregate, updated a batch
//! at a time with each row's group index.
//!
//! Invariant: an accumulator never panics on a value array of the wrong type
//! or length; that is [`Error::Internal`].

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, Float64Array, Int64Array, UInt32Array,
    new_null_array,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Decimal128Type, DecimalType, Float64Type, Int64Type};
use arrow::row::{OwnedRow, RowConverter, SortField};

use crate::error::{Error, Result};
use crate::kernels::aggregate::Aggregates;

/// Per-group state of one aggregate.
pub(crate) trait Accumulator: Send + std::fmt::Debug {
    /// Adds row `i` of `values` to group `groups[i]` (`values` is `None` for
    /// `count(*)`). Every group index is below `num_groups`.
    fn update(
        &mut self,
        values: Option<&ArrayRef>,
        groups: &[usize],
        num_groups: usize,
    ) -> Result<()>;

    /// The result of each of the `num_groups` groups, in group order.
    fn finish(&mut self, num_groups: usize) -> Result<ArrayRef>;

    /// Adds the state of `other` (an accumulator of the same aggregate, fed
    /// other rows) into this one: `other`'s group `g` is group `groups[g]`
    /// here, and every group index is below `num_groups`.
    fn merge(
        &mut self,
        other: &mut dyn Accumulator,
        groups: &[usize],
        num_groups: usize,
    ) -> Result<()>;

    /// Bytes of state held, for the memory limit.
    fn size_bytes(&self) -> usize;

    /// For `merge`'s downcast.
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
}

/// `other` as the concrete type of the accumulator merging it.
fn same_kind<T: 'static>(other: &mut dyn Accumulator) -> Result<&mut T> {
    other
        .as_any_mut()
        .downcast_mut::<T>()
        .ok_or_else(|| Error::internal("merging accumulators of different aggregates"))
}

/// `groups[g]`, or [`Error::Internal`].
fn target(groups: &[usize], g: usize, num_groups: usize) -> Result<usize> {
    groups
        .get(g)
        .copied()
        .filter(|&t| t < num_groups)
        .ok_or_else(|| Error::internal("merged group out of range"))
}

/// How many values are not NULL.
fn valid_count(len: usize, nulls: Option<&NullBuffer>) -> i64 {
    (len - nulls.map_or(0, NullBuffer::null_count)) as i64
}

/// The values and validity of an aggregate argument, checked against `groups`.
fn argument<'a>(
    values: Option<&'a ArrayRef>,
    groups: &[usize],
) -> Result<(&'a ArrayRef, Option<NullBuffer>)> {
    let values = values.ok_or_else(|| Error::internal("aggregate without argument"))?;
    if values.len() != groups.len() {
        return Err(Error::internal(format!(
            "aggregate argument has {} rows, expected {}",
            values.len(),
            groups.len()
        )));
    }
    // Logical nulls: a `Null`-typed array has no null buffer but is all NULL.
    Ok((values, values.logical_nulls()))
}

fn is_valid(nulls: &Option<NullBuffer>, i: usize) -> bool {
    nulls.as_ref().is_none_or(|n| n.is_valid(i))
}

/// `count(*)` and `count(x)`.
#[derive(Debug)]
pub(crate) struct Count {
    star: bool,
    counts: Vec<i64>,
}

impl Count {
    pub(crate) fn new(star: bool) -> Self {
        Count {
            star,
            counts: Vec::new(),
        }
    }
}

impl Accumulator for Count {
    fn update(
        &mut self,
        values: Option<&ArrayRef>,
        groups: &[usize],
        num_groups: usize,
    ) -> Result<()> {
        self.counts.resize(num_groups, 0);
        if self.star {
            for &g in groups {
                self.counts[g] += 1;
            }
            return Ok(());
        }
        let (_, nulls) = argument(values, groups)?;
        for (i, &g) in groups.iter().enumerate() {
            self.counts[g] += i64::from(is_valid(&nulls, i));
        }
        Ok(())
    }

    fn finish(&mut self, num_groups: usize) -> Result<ArrayRef> {
        self.counts.resize(num_groups, 0);
        Ok(Arc::new(Int64Array::from(std::mem::take(&mut self.counts))))
    }

    fn merge(
        &mut self,
        other: &mut dyn Accumulator,
        groups: &[usize],
        num_groups: usize,
    ) -> Result<()> {
        let other = same_kind::<Count>(other)?;
        self.counts.resize(num_groups, 0);
        for (g, &c) in other.counts.iter().enumerate() {
            self.counts[target(groups, g, num_groups)?] += c;
        }
        Ok(())
    }

    fn size_bytes(&self) -> usize {
        self.counts.capacity() * 8
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

/// The numeric family of a `sum` or `avg` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumKind {
    /// Signed integers, summed exactly in `i128`.
    Int,
    /// `Decimal128` with this scale, summed exactly in `i128`.
    Decimal { scale: i8 },
    /// Floats, summed in `f64`.
    Float,
}

/// `sum(x)` and `avg(x)`.
#[derive(Debug)]
pub(crate) struct SumAvg {
    kind: NumKind,
    avg: bool,
    out: DataType,
    exact: Vec<i128>,
    float: Vec<f64>,
    counts: Vec<i64>,
}

impl SumAvg {
    /// `out` is the result type from `AggregateFunction::return_type`.
    pub(crate) fn new(kind: NumKind, avg: bool, out: DataType) -> Self {
        SumAvg {
            kind,
            avg,
            out,
            exact: Vec::new(),
            float: Vec::new(),
            counts: Vec::new(),
        }
    }

    fn resize(&mut self, num_groups: usize) {
        self.counts.resize(num_groups, 0);
        match self.kind {
            NumKind::Float => self.float.resize(num_groups, 0.0),
            _ => self.exact.resize(num_groups, 0),
        }
    }

    fn add_exact(
        &mut self,
        values: impl Iterator<Item = Option<i128>>,
        groups: &[usize],
    ) -> Result<()> {
        for (v, &g) in values.zip(groups) {
            if let Some(v) = v {
                self.exact[g] = self.exact[g]
                    .checked_add(v)
                    .ok_or_else(|| overflow("sum"))?;
                self.counts[g] += 1;
            }
        }
        Ok(())
    }

    fn finish_exact(&self, g: usize) -> Result<Option<i128>> {
        let (sum, count) = (self.exact[g], self.counts[g]);
        if count == 0 {
            return Ok(None);
        }
        let (in_scale, out_scale) = match (self.kind, &self.out) {
            (NumKind::Decimal { scale }, DataType::Decimal128(_, out)) => (scale, *out),
            (_, DataType::Decimal128(_, out)) => (0, *out),
            _ => (0, 0),
        };
        if !self.avg {
            return Ok(Some(sum));
        }
        let exponent =
            u32::try_from(i32::from(out_scale) - i32::from(in_scale)).unwrap_or(u32::MAX);
        let factor = 10i128
            .checked_pow(exponent)
            .ok_or_else(|| overflow("avg"))?;
        let scaled = sum.checked_mul(factor).ok_or_else(|| overflow("avg"))?;
        Ok(Some(div_round_half_away(scaled, i128::from(count))))
    }

    fn finish_exact_array(&self, num_groups: usize) -> Result<ArrayRef> {
        let values: Vec<Option<i128>> = (0..num_groups)
            .map(|g| self.finish_exact(g))
            .collect::<Result<_>>()?;
        match &self.out {
            DataType::Int64 => {
                let ints = values
                    .into_iter()
                    .map(|v| {
                        v.map(|v| i64::try_from(v).map_err(|_| overflow("sum of integers")))
                            .transpose()
                    })
                    .collect::<Result<Int64Array>>()?;
                Ok(Arc::new(ints))
            }
            DataType::Decimal128(p, s) => {
                for v in values.iter().flatten() {
                    Decimal128Type::validate_decimal_precision(*v, *p, *s)
                        .map_err(|_| overflow("sum or avg of numeric"))?;
                }
                Ok(Arc::new(
                    Decimal128Array::from(values).with_precision_and_scale(*p, *s)?,
                ))
            }
            t => Err(Error::internal(format!("exact sum into {t}"))),
        }
    }
}

fn overflow(what: &str) -> Error {
    Error::Overflow {
        what: what.to_string(),
    }
}

/// `n / d` rounded half away from zero, for `d > 0`.
pub(crate) fn div_round_half_away(n: i128, d: i128) -> i128 {
    let (q, r) = (n / d, n % d);
    // |r| < d, so 2*|r| cannot overflow for any d < 2^126.
    if r.unsigned_abs() * 2 >= d.unsigned_abs() {
        q + n.signum()
    } else {
        q
    }
}

impl Accumulator for SumAvg {
    fn update(
        &mut self,
        values: Option<&ArrayRef>,
        groups: &[usize],
        num_groups: usize,
    ) -> Result<()> {
        let (values, _) = argument(values, groups)?;
        self.resize(num_groups);
        match self.kind {
            NumKind::Int => {
                let v = crate::cast::cast(values, &DataType::Int64)?;
                let v = v
                    .as_primitive_opt::<Int64Type>()
                    .ok_or_else(|| Error::internal("sum of non-integer"))?;
                if num_groups == 1 {
                    // Every row is in group 0: the SIMD kernel, summed exactly.
                    let sum = Aggregates::current().sum_i64(v.values(), v.nulls());
                    self.exact[0] = self.exact[0]
                        .checked_add(sum)
                        .ok_or_else(|| overflow("sum"))?;
                    self.counts[0] += valid_count(v.len(), v.nulls());
                    return Ok(());
                }
                self.add_exact(v.iter().map(|x| x.map(i128::from)), groups)
            }
            NumKind::Decimal { .. } => {
                let v = values.as_primitive_opt::<Decimal128Type>().ok_or_else(|| {
                    Error::internal(format!("decimal sum of {}", values.data_type()))
                })?;
                self.add_exact(v.iter(), groups)
            }
            NumKind::Float => {
                let v = crate::cast::cast(values, &DataType::Float64)?;
                let v = v
                    .as_primitive_opt::<Float64Type>()
                    .ok_or_else(|| Error::internal("sum of non-float"))?;
                if num_groups == 1 {
                    self.float[0] += Aggregates::current().sum_f64(v.values(), v.nulls());
                    self.counts[0] += valid_count(v.len(), v.nulls());
                    return Ok(());
                }
                for (x, &g) in v.iter().zip(groups) {
                    if let Some(x) = x {
                        self.float[g] += x;
                        self.counts[g] += 1;
                    }
                }
                Ok(())
            }
        }
    }

    fn finish(&mut self, num_groups: usize) -> Result<ArrayRef> {
        self.resize(num_groups);
        if self.kind != NumKind::Float {
            return self.finish_exact_array(num_groups);
        }
        let out: Float64Array = (0..num_groups)
            .map(|g| match self.counts[g] {
                0 => None,
                n if self.avg => Some(self.float[g] / n as f64),
                _ => Some(self.float[g]),
            })
            .collect();
        Ok(Arc::new(out))
    }

    fn merge(
        &mut self,
        other: &mut dyn Accumulator,
        groups: &[usize],
        num_groups: usize,
    ) -> Result<()> {
        let other = same_kind::<SumAvg>(other)?;
        if other.kind != self.kind {
            return Err(Error::internal("merging sums of different kinds"));
        }
        self.resize(num_groups);
        for (g, &c) in other.counts.iter().enumerate() {
            let t = target(groups, g, num_groups)?;
            self.counts[t] += c;
            if self.kind == NumKind::Float {
                self.float[t] += other.float.get(g).copied().unwrap_or(0.0);
            } else {
                let v = other.exact.get(g).copied().unwrap_or(0);
                self.exact[t] = self.exact[t]
                    .checked_add(v)
                    .ok_or_else(|| overflow("sum"))?;
            }
        }
        Ok(())
    }

    fn size_bytes(&self) -> usize {
        self.exact.capacity() * 16 + self.float.capacity() * 8 + self.counts.capacity() * 8
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

/// `min(x)` and `max(x)` over any type the row format can order: each group
/// keeps the order-preserving row encoding of its best value.
#[derive(Debug)]
pub(crate) struct MinMax {
    max: bool,
    data_type: DataType,
    converter: RowConverter,
    best: Vec<Option<OwnedRow>>,
}

impl MinMax {
    pub(crate) fn try_new(data_type: &DataType, max: bool) -> Result<Self> {
        let converter = RowConverter::new(vec![SortField::new(data_type.clone())])?;
        Ok(MinMax {
            max,
            data_type: data_type.clone(),
            converter,
            best: Vec::new(),
        })
    }
}

impl MinMax {
    /// Keeps `row` as group `g`'s value if it beats the current one.
    fn offer(&mut self, g: usize, row: arrow::row::Row<'_>) {
        let better = match &self.best[g] {
            None => true,
            Some(best) if self.max => row > best.row(),
            Some(best) => row < best.row(),
        };
        if better {
            self.best[g] = Some(row.owned());
        }
    }

    /// The best value of an `Int64` or `Float64` batch by the SIMD kernel,
    /// as a one-row array; `None` for other types (and all-NULL batches).
    fn batch_best(
        &self,
        values: &ArrayRef,
        nulls: Option<&NullBuffer>,
    ) -> Result<Option<ArrayRef>> {
        let kernels = Aggregates::current();
        Ok(match values.data_type() {
            DataType::Int64 => {
                let v = values.as_primitive::<Int64Type>().values();
                kernels
                    .min_max_i64(v, nulls, self.max)
                    .map(|b| Arc::new(Int64Array::from(vec![b])) as ArrayRef)
            }
            DataType::Float64 => {
                let v = values.as_primitive::<Float64Type>().values();
                kernels
                    .min_max_f64(v, nulls, self.max)
                    .map(|b| Arc::new(Float64Array::from(vec![b])) as ArrayRef)
            }
            _ => None,
        })
    }
}

impl Accumulator for MinMax {
    fn update(
        &mut self,
        values: Option<&ArrayRef>,
        groups: &[usize],
        num_groups: usize,
    ) -> Result<()> {
        let (values, nulls) = argument(values, groups)?;
        if values.data_type() != &self.data_type {
            return Err(Error::internal(format!(
                "min/max of {} fed with {}",
                self.data_type,
                values.data_type()
            )));
        }
        self.best.resize(num_groups, None);
        if num_groups == 1
            && let Some(best) = self.batch_best(values, nulls.as_ref())?
        {
            // Every row is in group 0: the SIMD kernel found its best value.
            let rows = self.converter.convert_columns(&[best])?;
            self.offer(0, rows.row(0));
            return Ok(());
        }
        let rows = self
            .converter
            .convert_columns(std::slice::from_ref(values))?;
        for (i, &g) in groups.iter().enumerate() {
            if !is_valid(&nulls, i) {
                continue;
            }
            self.offer(g, rows.row(i));
        }
        Ok(())
    }

    fn finish(&mut self, num_groups: usize) -> Result<ArrayRef> {
        self.best.resize(num_groups, None);
        let present: Vec<_> = self.best.iter().flatten().map(|r| r.row()).collect();
        if present.is_empty() {
            return Ok(new_null_array(&self.data_type, num_groups));
        }
        let values = self.converter.convert_rows(present)?;
        let mut next = 0u32;
        let indices: UInt32Array = self
            .best
            .iter()
            .map(|b| {
                b.as_ref().map(|_| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        let column = values
            .first()
            .ok_or_else(|| Error::internal("row conversion lost the column"))?;
        Ok(arrow::compute::take(column.as_ref(), &indices, None)?)
    }

    fn merge(
        &mut self,
        other: &mut dyn Accumulator,
        groups: &[usize],
        num_groups: usize,
    ) -> Result<()> {
        let other = same_kind::<MinMax>(other)?;
        if other.max != self.max || other.data_type != self.data_type {
            return Err(Error::internal("merging different min/max"));
        }
        // Rows of another converter do not mix with ours: go through values.
        let values = other.finish(groups.len())?;
        self.update(Some(&values), groups, num_groups)
    }

    fn size_bytes(&self) -> usize {
        let rows: usize = self
            .best
            .iter()
            .flatten()
            .map(|r| r.row().data().len())
            .sum();
        self.best.capacity() * 32 + rows
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{ints, strs};

    #[test]
    fn rounding_half_away_from_zero() {
        assert_eq!(div_round_half_away(7, 3), 2);
        assert_eq!(div_round_half_away(5, 2), 3);
        assert_eq!(div_round_half_away(-5, 2), -3);
        assert_eq!(div_round_half_away(-7, 3), -2);
        assert_eq!(div_round_half_away(8, 3), 3);
        assert_eq!(div_round_half_away(-8, 3), -3);
        assert_eq!(div_round_half_away(0, 3), 0);
    }

    #[test]
    fn wrong_argument_type_is_internal() {
        let mut m = MinMax::try_new(&DataType::Int64, true).unwrap();
        let e = m.update(Some(&strs(&[Some("a")])), &[0], 1);
        assert!(matches!(e, Err(Error::Internal { .. })));
        let mut s = SumAvg::new(
            NumKind::Decimal { scale: 2 },
            false,
            DataType::Decimal128(38, 2),
        );
        assert!(matches!(
            s.update(Some(&ints(&[Some(1)])), &[0], 1),
            Err(Error::Internal { .. })
        ));
        let mut c = Count::new(false);
        assert!(matches!(
            c.update(Some(&ints(&[Some(1)])), &[0, 0], 1),
            Err(Error::Internal { .. })
        ));
        assert!(matches!(
            c.update(None, &[0], 1),
            Err(Error::Internal { .. })
        ));
    }

    #[test]
    fn sum_overflow_is_checked_at_the_end() {
        let mut s = SumAvg::new(NumKind::Int, false, DataType::Int64);
        // MAX + 1 - 1 fits: summed exactly, checked once at the end
        s.update(
            Some(&ints(&[Some(i64::MAX), Some(1), Some(-1)])),
            &[0, 0, 0],
            1,
        )
        .unwrap();
        let out = s.finish(1).unwrap();
        assert_eq!(out.as_primitive::<Int64Type>().value(0), i64::MAX);
        let mut s = SumAvg::new(NumKind::Int, false, DataType::Int64);
        s.update(Some(&ints(&[Some(i64::MAX), Some(1)])), &[0, 0], 1)
            .unwrap();
        assert!(matches!(s.finish(1), Err(Error::Overflow { .. })));
    }
}
