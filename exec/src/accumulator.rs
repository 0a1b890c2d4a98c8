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

pub(crate) use crate::collect::{Collect, Finisher};

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

    /// [`update`](Self::update), where `batch_counts[g]` is the number of
    /// rows of group `g` in `groups` (one entry per group), which an
    /// accumulator that counts rows may take instead of counting them.
    fn update_counted(
        &mut self,
        values: Option<&ArrayRef>,
        groups: &[usize],
        num_groups: usize,
        batch_counts: &[i64],
    ) -> Result<()> {
        let _ = batch_counts;
        self.update(values, groups, num_groups)
    }

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
pub(crate) fn same_kind<T: 'static>(other: &mut dyn Accumulator) -> Result<&mut T> {
    other
        .as_any_mut()
        .downcast_mut::<T>()
        .ok_or_else(|| Error::internal("merging accumulators of different aggregates"))
}

/// `groups[g]`, or [`Error::Internal`].
pub(crate) fn target(groups: &[usize], g: usize, num_groups: usize) -> Result<usize> {
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
pub(crate) fn argument<'a>(
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

/// [`argument`], which must be of type `expected` (`what` names the
/// aggregate in the internal error).
pub(crate) fn typed_argument<'a>(
    values: Option<&'a ArrayRef>,
    groups: &[usize],
    expected: &DataType,
    what: &str,
) -> Result<(&'a ArrayRef, Option<NullBuffer>)> {
    let (values, nulls) = argument(values, groups)?;
    if values.data_type() != expected {
        return Err(Error::internal(format!(
            "{what} of {expected} fed with {}",
            values.data_type()
        )));
    }
    Ok((values, nulls))
}

pub(crate) fn is_valid(nulls: &Option<NullBuffer>, i: usize) -> bool {
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
        let nulls = if self.star {
            None
        } else {
            argument(values, groups)?.1
        };
        if num_groups <= SMALL_GROUPS {
            count_small(groups, nulls.as_ref(), &mut self.counts);
            return Ok(());
        }
        for (i, &g) in groups.iter().enumerate() {
            self.counts[g] += i64::from(is_valid(&nulls, i));
        }
        Ok(())
    }

    fn update_counted(
        &mut self,
        values: Option<&ArrayRef>,
        groups: &[usize],
        num_groups: usize,
        batch_counts: &[i64],
    ) -> Result<()> {
        let all_valid = self.star || argument(values, groups)?.1.is_none();
        if !all_valid || batch_counts.len() != num_groups {
            return self.update(values, groups, num_groups);
        }
        self.counts.resize(num_groups, 0);
        for (count, &more) in self.counts.iter_mut().zip(batch_counts) {
            *count += more;
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

/// A numeric aggregate's argument, as the array its [`NumKind`] works on.
enum NumArg {
    Int(Int64Array),
    Decimal(Decimal128Array),
    Float(Float64Array),
}

impl NumKind {
    /// `values` cast to this kind's array (BIGINT, DECIMAL as is, DOUBLE);
    /// `what` names the aggregate in the error of a wrong input.
    fn arg(self, values: &ArrayRef, what: &str) -> Result<NumArg> {
        let wrong = || Error::internal(format!("{what} of {}", values.data_type()));
        Ok(match self {
            NumKind::Int => {
                let v = crate::cast::cast(values, &DataType::Int64)?;
                NumArg::Int(v.as_primitive_opt::<Int64Type>().ok_or_else(wrong)?.clone())
            }
            NumKind::Decimal { .. } => NumArg::Decimal(
                values
                    .as_primitive_opt::<Decimal128Type>()
                    .ok_or_else(wrong)?
                    .clone(),
            ),
            NumKind::Float => {
                let v = crate::cast::cast(values, &DataType::Float64)?;
                NumArg::Float(
                    v.as_primitive_opt::<Float64Type>()
                        .ok_or_else(wrong)?
                        .clone(),
                )
            }
        })
    }
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
    /// At least the magnitude of every `exact` sum: the sum of the largest
    /// magnitude of each batch times its rows. While it stays within
    /// `i128`, values are added without a check per value.
    bound: u128,
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
            bound: 0,
        }
    }

    fn resize(&mut self, num_groups: usize) {
        self.counts.resize(num_groups, 0);
        match self.kind {
            NumKind::Float => self.float.resize(num_groups, 0.0),
            _ => self.exact.resize(num_groups, 0),
        }
    }

    /// Adds `values` (NULLs skipped) to their `groups`: without a check per
    /// value when [`SumAvg::bound`] shows no sum can leave `i128` (and in
    /// `i64` partial sums when the batch's own bound fits them and the
    /// groups are few), else checked.
    /// `largest` is at least the largest magnitude of `values`; `batch_counts`,
    /// if given, holds the number of rows of each group in `groups`.
    fn add_values<T: Copy + Into<i128>>(
        &mut self,
        (values, largest): (&[T], u128),
        nulls: Option<&NullBuffer>,
        groups: &[usize],
        batch_counts: Option<&[i64]>,
    ) -> Result<()> {
        let batch = largest.checked_mul(values.len() as u128);
        let bound = batch
            .and_then(|b| b.checked_add(self.bound))
            .filter(|&b| b <= i128::MAX as u128);
        let (Some(batch), Some(bound)) = (batch, bound) else {
            // From now on every value is checked.
            self.bound = u128::MAX;
            let values = values
                .iter()
                .enumerate()
                .map(|(i, &v)| nulls.is_none_or(|n| n.is_valid(i)).then(|| v.into()));
            return self.add_exact(values, groups);
        };
        self.bound = bound;
        if self.exact.len() <= SMALL_GROUPS && batch <= i64::MAX as u128 {
            let counts = &mut self.counts;
            add_small(values, nulls, groups, &mut self.exact, counts, batch_counts);
            return Ok(());
        }
        match nulls {
            None => {
                for (&v, &g) in values.iter().zip(groups) {
                    self.exact[g] += v.into();
                    self.counts[g] += 1;
                }
            }
            Some(nulls) => {
                for i in nulls.valid_indices() {
                    let g = groups[i];
                    self.exact[g] += values[i].into();
                    self.counts[g] += 1;
                }
            }
        }
        Ok(())
    }

    /// [`Accumulator::update`], with each group's rows in `groups` when
    /// known.
    fn add(
        &mut self,
        values: Option<&ArrayRef>,
        groups: &[usize],
        num_groups: usize,
        batch_counts: Option<&[i64]>,
    ) -> Result<()> {
        let (values, _) = argument(values, groups)?;
        self.resize(num_groups);
        match self.kind.arg(values, "sum")? {
            NumArg::Int(v) => {
                if num_groups == 1 {
                    // Every row is in group 0: the SIMD kernel, summed exactly.
                    let sum = Aggregates::current().sum_i64(v.values(), v.nulls());
                    self.bound = self.bound.saturating_add(sum.unsigned_abs());
                    self.exact[0] = self.exact[0]
                        .checked_add(sum)
                        .ok_or_else(|| overflow("sum"))?;
                    self.counts[0] += valid_count(v.len(), v.nulls());
                    return Ok(());
                }
                let largest = magnitude_bound_i64(v.values());
                self.add_values((v.values(), largest), v.nulls(), groups, batch_counts)
            }
            NumArg::Decimal(v) => {
                let largest = crate::binary::magnitude_bound(v.values());
                self.add_values((v.values(), largest), v.nulls(), groups, batch_counts)
            }
            NumArg::Float(v) => {
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

/// At most this many groups take [`add_small`] and [`count_small`].
pub(crate) const SMALL_GROUPS: usize = 256;

/// Partial sums per group in [`add_small`] and [`count_small`]: row `i`
/// goes to copy `i % COPIES`, so that rows of one group in a row do not
/// wait on each other's add.
const COPIES: usize = 4;

/// [`magnitude_bound`](crate::binary::magnitude_bound) of `i64` values.
fn magnitude_bound_i64(values: &[i64]) -> u128 {
    let or = values
        .iter()
        .fold(0u64, |acc, &v| acc | (v ^ (v >> 63)) as u64);
    if values.is_empty() {
        0
    } else {
        u128::from(or) + 1
    }
}

/// Adds the valid `values` to `exact[groups[i]]` and counts them in
/// `counts`, through `i64` partial sums of [`COPIES`] copies per group.
/// Without NULLs, `batch_counts` (each group's rows in `groups`), if given,
/// are the counts, so the loop only sums.
///
/// The caller guarantees that every value's magnitude times `values.len()`
/// fits `i64` (so no partial sum, NULL slots zeroed, can overflow, and each
/// value converts exactly), that every group is below `exact.len()`, and
/// that `counts` and `batch_counts` are as long as `exact`.
fn add_small<T: Copy + Into<i128>>(
    values: &[T],
    nulls: Option<&NullBuffer>,
    groups: &[usize],
    exact: &mut [i128],
    counts: &mut [i64],
    batch_counts: Option<&[i64]>,
) {
    let n = exact.len();
    let mut sums = vec![0i64; COPIES * n];
    let value = |v: T| -> i64 { v.into() as i64 };
    match (nulls, batch_counts) {
        (None, Some(batch_counts)) => {
            let (vs, gs) = (values.chunks_exact(COPIES), groups.chunks_exact(COPIES));
            for (&v, &g) in vs.remainder().iter().zip(gs.remainder()) {
                sums[g * COPIES] += value(v);
            }
            for (v, g) in vs.zip(gs) {
                for c in 0..COPIES {
                    sums[g[c] * COPIES + c] += value(v[c]);
                }
            }
            for (count, &more) in counts.iter_mut().zip(batch_counts) {
                *count += more;
            }
        }
        _ => {
            let valid = nulls.map(NullBuffer::inner);
            for (i, (&v, &g)) in values.iter().zip(groups).enumerate() {
                let ok = valid.is_none_or(|b| b.value(i));
                sums[g * COPIES + i % COPIES] += value(v) & -i64::from(ok);
            }
            count_small(groups, nulls, counts);
        }
    }
    for (g, sum) in exact.iter_mut().enumerate() {
        *sum += sums[g * COPIES..(g + 1) * COPIES]
            .iter()
            .map(|&s| i128::from(s))
            .sum::<i128>();
    }
}

/// Adds one to `counts[groups[i]]` for each row `i` whose `valid` bit is
/// set (every row without `valid`), through [`COPIES`] counts per group;
/// every group is below `counts.len()`.
pub(crate) fn count_small(groups: &[usize], valid: Option<&NullBuffer>, counts: &mut [i64]) {
    let mut seen = vec![0i64; COPIES * counts.len()];
    match valid {
        None => {
            let gs = groups.chunks_exact(COPIES);
            for &g in gs.remainder() {
                seen[g * COPIES] += 1;
            }
            for g in gs {
                for c in 0..COPIES {
                    seen[g[c] * COPIES + c] += 1;
                }
            }
        }
        Some(valid) => {
            let valid = valid.inner();
            for (i, &g) in groups.iter().enumerate() {
                seen[g * COPIES + i % COPIES] += i64::from(valid.value(i));
            }
        }
    }
    for (g, count) in counts.iter_mut().enumerate() {
        *count += seen[g * COPIES..(g + 1) * COPIES].iter().sum::<i64>();
    }
}

pub(crate) fn overflow(what: &str) -> Error {
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
        self.add(values, groups, num_groups, None)
    }

    fn update_counted(
        &mut self,
        values: Option<&ArrayRef>,
        groups: &[usize],
        num_groups: usize,
        batch_counts: &[i64],
    ) -> Result<()> {
        let counts = Some(batch_counts).filter(|c| c.len() == num_groups);
        self.add(values, groups, num_groups, counts)
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
        self.bound = self.bound.saturating_add(other.bound);
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
        let (values, nulls) = typed_argument(values, groups, &self.data_type, "min/max")?;
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

/// The variances and standard deviations. Integers and decimals keep exact
/// sums of values and of squares (`i128`, checked); floats keep Welford's
/// running mean and sum of squared deviations.
#[derive(Debug)]
pub(crate) struct Variance {
    kind: NumKind,
    /// Divide by `n - 1` (else `n`).
    sample: bool,
    /// The square root (a standard deviation).
    root: bool,
    counts: Vec<i64>,
    /// Exact kinds: sums and sums of squares (at twice the input scale).
    sums: Vec<i128>,
    squares: Vec<i128>,
    /// Floats: means and sums of squared deviations.
    means: Vec<f64>,
    m2: Vec<f64>,
}

/// Output scale of the exact variances (`NUMERIC(38,6)`).
const VARIANCE_SCALE: u32 = 6;

impl Variance {
    pub(crate) fn new(kind: NumKind, sample: bool, root: bool) -> Self {
        Variance {
            kind,
            sample,
            root,
            counts: Vec::new(),
            sums: Vec::new(),
            squares: Vec::new(),
            means: Vec::new(),
            m2: Vec::new(),
        }
    }

    fn resize(&mut self, num_groups: usize) {
        self.counts.resize(num_groups, 0);
        if self.kind == NumKind::Float {
            self.means.resize(num_groups, 0.0);
            self.m2.resize(num_groups, 0.0);
        } else {
            self.sums.resize(num_groups, 0);
            self.squares.resize(num_groups, 0);
        }
    }

    /// Adds each non-NULL value to its group.
    fn add_all(
        &mut self,
        values: impl Iterator<Item = Option<i128>>,
        groups: &[usize],
    ) -> Result<()> {
        for (x, &g) in values.zip(groups) {
            if let Some(x) = x {
                self.add_exact(g, x)?;
            }
        }
        Ok(())
    }

    fn add_exact(&mut self, g: usize, v: i128) -> Result<()> {
        let square = v.checked_mul(v).ok_or_else(|| overflow("variance"))?;
        self.sums[g] = self.sums[g]
            .checked_add(v)
            .ok_or_else(|| overflow("variance"))?;
        self.squares[g] = self.squares[g]
            .checked_add(square)
            .ok_or_else(|| overflow("variance"))?;
        self.counts[g] += 1;
        Ok(())
    }

    /// Chan et al.'s combination of two Welford states into group `g`.
    fn add_float(&mut self, g: usize, n: i64, mean: f64, m2: f64) {
        let (na, nb) = (self.counts[g] as f64, n as f64);
        let total = na + nb;
        if n == 0 {
            return;
        }
        let delta = mean - self.means[g];
        self.means[g] += delta * nb / total;
        self.m2[g] += m2 + delta * delta * na * nb / total;
        self.counts[g] += n;
    }

    /// The divisor, or `None` when the result is NULL.
    fn divisor(&self, n: i64) -> Option<i64> {
        match (self.sample, n) {
            (_, 0) | (true, 1) => None,
            (true, n) => Some(n - 1),
            (false, n) => Some(n),
        }
    }

    /// Group `g`'s exact result at scale 6.
    fn finish_exact(&self, g: usize, in_scale: u32) -> Result<Option<i128>> {
        let n = self.counts[g];
        let Some(d) = self.divisor(n) else {
            return Ok(None);
        };
        let n = i128::from(n);
        // var = (n * Q - S^2) / (n * d), at scale 2 * in_scale.
        let num = n
            .checked_mul(self.squares[g])
            .and_then(|nq| nq.checked_sub(self.sums[g].checked_mul(self.sums[g])?))
            .ok_or_else(|| overflow("variance"))?;
        let den = n
            .checked_mul(i128::from(d))
            .ok_or_else(|| overflow("variance"))?;
        let out_scale = if self.root {
            2 * VARIANCE_SCALE
        } else {
            VARIANCE_SCALE
        };
        let exact = rescale_ratio(num, den, 2 * in_scale, out_scale);
        if !self.root {
            return exact.map(Some).ok_or_else(|| overflow("variance"));
        }
        Ok(Some(match exact {
            Some(v) => ceil_sqrt(v.max(0)),
            None => {
                // Too large for twelve digits of scale: through a double.
                let var = num as f64 / den as f64 / 10f64.powi(2 * in_scale as i32);
                let sd = var.max(0.0).sqrt() * 10f64.powi(VARIANCE_SCALE as i32);
                if !sd.is_finite() || sd.abs() >= 1e37 {
                    return Err(overflow("standard deviation"));
                }
                sd.ceil() as i128
            }
        }))
    }

    fn finish_float(&self, g: usize) -> Option<f64> {
        let d = self.divisor(self.counts[g])?;
        let var = self.m2[g] / d as f64;
        Some(if self.root { var.sqrt() } else { var })
    }
}

/// `num / den` (scale `from`) at scale `to`, rounded half away from zero;
/// `None` on overflow.
fn rescale_ratio(num: i128, den: i128, from: u32, to: u32) -> Option<i128> {
    if to >= from {
        let num = num.checked_mul(10i128.checked_pow(to - from)?)?;
        Some(div_round_half_away(num, den))
    } else {
        let den = den.checked_mul(10i128.checked_pow(from - to)?)?;
        Some(div_round_half_away(num, den))
    }
}

/// The square root of `v >= 0`, rounded up, as Hyper's standard deviations
/// are (`stddev_samp` of 1, 2, 4 is 1.527526, though sqrt(7/3) is
/// 1.5275252...).
fn ceil_sqrt(v: i128) -> i128 {
    let v = v.unsigned_abs();
    let r = v.isqrt();
    (if r * r < v { r + 1 } else { r }) as i128
}

impl Accumulator for Variance {
    fn update(
        &mut self,
        values: Option<&ArrayRef>,
        groups: &[usize],
        num_groups: usize,
    ) -> Result<()> {
        let (values, _) = argument(values, groups)?;
        self.resize(num_groups);
        match self.kind.arg(values, "variance")? {
            NumArg::Int(v) => self.add_all(v.iter().map(|x| x.map(i128::from)), groups)?,
            NumArg::Decimal(v) => self.add_all(v.iter(), groups)?,
            NumArg::Float(v) => {
                for (x, &g) in v.iter().zip(groups) {
                    if let Some(x) = x {
                        self.add_float(g, 1, x, 0.0);
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, num_groups: usize) -> Result<ArrayRef> {
        self.resize(num_groups);
        let in_scale = match self.kind {
            NumKind::Float => {
                let out: Float64Array = (0..num_groups).map(|g| self.finish_float(g)).collect();
                return Ok(Arc::new(out));
            }
            NumKind::Int => 0,
            NumKind::Decimal { scale } => u32::try_from(scale).unwrap_or(0),
        };
        let values: Vec<Option<i128>> = (0..num_groups)
            .map(|g| self.finish_exact(g, in_scale))
            .collect::<Result<_>>()?;
        for v in values.iter().flatten() {
            Decimal128Type::validate_decimal_precision(*v, 38, VARIANCE_SCALE as i8)
                .map_err(|_| overflow("variance"))?;
        }
        Ok(Arc::new(
            Decimal128Array::from(values).with_precision_and_scale(38, VARIANCE_SCALE as i8)?,
        ))
    }

    fn merge(
        &mut self,
        other: &mut dyn Accumulator,
        groups: &[usize],
        num_groups: usize,
    ) -> Result<()> {
        let other = same_kind::<Variance>(other)?;
        if other.kind != self.kind {
            return Err(Error::internal("merging variances of different kinds"));
        }
        self.resize(num_groups);
        for (g, &n) in other.counts.iter().enumerate() {
            let t = target(groups, g, num_groups)?;
            if self.kind == NumKind::Float {
                self.add_float(t, n, other.means[g], other.m2[g]);
                continue;
            }
            self.sums[t] = self.sums[t]
                .checked_add(other.sums[g])
                .ok_or_else(|| overflow("variance"))?;
            self.squares[t] = self.squares[t]
                .checked_add(other.squares[g])
                .ok_or_else(|| overflow("variance"))?;
            self.counts[t] += n;
        }
        Ok(())
    }

    fn size_bytes(&self) -> usize {
        self.counts.capacity() * 8
            + (self.sums.capacity() + self.squares.capacity()) * 16
            + (self.means.capacity() + self.m2.capacity()) * 8
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

/// `bool_and(x)` / `every(x)` and `bool_or(x)`.
#[derive(Debug)]
pub(crate) struct BoolAndOr {
    and: bool,
    /// Per group: no value yet, or the result so far.
    state: Vec<Option<bool>>,
}

impl BoolAndOr {
    pub(crate) fn new(and: bool) -> Self {
        BoolAndOr {
            and,
            state: Vec::new(),
        }
    }

    fn add(&mut self, g: usize, v: bool) {
        let s = &mut self.state[g];
        *s = Some(match *s {
            None => v,
            Some(x) if self.and => x && v,
            Some(x) => x || v,
        });
    }
}

impl Accumulator for BoolAndOr {
    fn update(
        &mut self,
        values: Option<&ArrayRef>,
        groups: &[usize],
        num_groups: usize,
    ) -> Result<()> {
        let (values, _) = argument(values, groups)?;
        let v = values
            .as_boolean_opt()
            .ok_or_else(|| Error::internal(format!("bool_and/or of {}", values.data_type())))?;
        self.state.resize(num_groups, None);
        for (x, &g) in v.iter().zip(groups) {
            if let Some(x) = x {
                self.add(g, x);
            }
        }
        Ok(())
    }

    fn finish(&mut self, num_groups: usize) -> Result<ArrayRef> {
        self.state.resize(num_groups, None);
        Ok(Arc::new(arrow::array::BooleanArray::from(
            self.state.clone(),
        )))
    }

    fn merge(
        &mut self,
        other: &mut dyn Accumulator,
        groups: &[usize],
        num_groups: usize,
    ) -> Result<()> {
        let other = same_kind::<BoolAndOr>(other)?;
        self.state.resize(num_groups, None);
        for (g, s) in other.state.iter().enumerate() {
            let t = target(groups, g, num_groups)?;
            if let Some(v) = *s {
                self.add(t, v);
            }
        }
        Ok(())
    }

    fn size_bytes(&self) -> usize {
        self.state.capacity()
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{ints, strs};
    use proptest::prelude::*;

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

    /// A value near a bound that matters: `i64::MAX` over the batch's rows
    /// (the edge of the `i64` partial sums), `i128::MAX` over a few rows
    /// (the edge of the unchecked `i128` sums), or small.
    fn edgy_value() -> impl Strategy<Value = i128> {
        let near = |m: i128| (m - 1000..=m).prop_flat_map(|v| prop_oneof![Just(v), Just(-v)]);
        prop_oneof![
            4 => -1000i128..1000,
            1 => near(i128::from(i64::MAX) / 64),
            1 => near(i128::from(i64::MAX) / 3),
            1 => near(i128::MAX / 4),
        ]
    }

    /// The reference: per group, the checked sum and the count of the
    /// valid values; `None` when a sum leaves `i128`.
    fn reference_sums(
        batches: &[(Vec<Option<i128>>, Vec<usize>)],
        num_groups: usize,
    ) -> Option<Vec<(i128, i64)>> {
        let mut out = vec![(0i128, 0i64); num_groups];
        for (values, groups) in batches {
            for (v, &g) in values.iter().zip(groups) {
                if let Some(v) = v {
                    out[g].0 = out[g].0.checked_add(*v)?;
                    out[g].1 += 1;
                }
            }
        }
        Some(out)
    }

    proptest::proptest! {
        #![proptest_config(crate::test_util::proptest_config())]

        /// Sums, averages and counts of decimals and integers, over few
        /// groups (the `i64` partial sums) and many (the `i128` loop), with
        /// NULLs and values near each bound, agree with a checked `i128`
        /// reference; an overflow there is an overflow error here.
        #[test]
        fn sums_and_counts_agree_with_a_checked_reference(
            batches in prop::collection::vec(
                prop::collection::vec((prop::option::weighted(0.8, edgy_value()), 0usize..1000), 0..80),
                1..5,
            ),
            num_groups in prop_oneof![1usize..6, Just(SMALL_GROUPS), Just(SMALL_GROUPS + 1), 300usize..400],
            ints in any::<bool>(),
            garbage in -1000i128..1000,
            small_only in any::<bool>(),
        ) {
            let batches: Vec<(Vec<Option<i128>>, Vec<usize>)> = batches
                .iter()
                .map(|b| {
                    b.iter()
                        .map(|&(v, g)| {
                            // Small values only: every batch takes the `i64` sums.
                            let v = if small_only { v.map(|v| v % 1000) } else { v };
                            let v = if ints { v.map(|v| v.clamp(i64::MIN.into(), i64::MAX.into())) } else { v };
                            (v, g % num_groups)
                        })
                        .unzip()
                })
                .collect();
            let (kind, out) = if ints {
                (NumKind::Int, DataType::Int64)
            } else {
                (NumKind::Decimal { scale: 0 }, DataType::Decimal128(38, 0))
            };
            let mut sum = SumAvg::new(kind, false, out.clone());
            // Fed each batch's group counts: the same answers.
            let mut counted = SumAvg::new(kind, true, out.clone());
            let mut avg = SumAvg::new(kind, true, out);
            let mut count = Count::new(false);
            let mut star = Count::new(true);
            let mut failed = false;
            for (values, groups) in &batches {
                // A NULL slot holds a value too (`garbage`), to be skipped.
                let valid: Vec<bool> = values.iter().map(Option::is_some).collect();
                let nulls = Some(NullBuffer::from(valid)).filter(|n| n.null_count() > 0);
                let slots = values.iter().map(|v| v.unwrap_or(garbage));
                let array: ArrayRef = if ints {
                    let slots: Vec<i64> = slots.map(|v| v as i64).collect();
                    Arc::new(Int64Array::new(slots.into(), nulls))
                } else {
                    let slots: Vec<i128> = slots.collect();
                    Arc::new(Decimal128Array::new(slots.into(), nulls).with_precision_and_scale(38, 0).unwrap())
                };
                match sum.update(Some(&array), groups, num_groups) {
                    Ok(()) => {}
                    Err(Error::Overflow { .. }) => failed = true,
                    Err(e) => prop_assert!(false, "{e}"),
                }
                let mut rows = vec![0i64; num_groups];
                for &g in groups {
                    rows[g] += 1;
                }
                let a = avg.update(Some(&array), groups, num_groups);
                let c = counted.update_counted(Some(&array), groups, num_groups, &rows);
                prop_assert_eq!(a.is_ok(), c.is_ok());
                // Counts through both entries, batch by batch.
                if groups.len() % 2 == 0 {
                    count.update(Some(&array), groups, num_groups).unwrap();
                    star.update(None, groups, num_groups).unwrap();
                } else {
                    count.update_counted(Some(&array), groups, num_groups, &rows).unwrap();
                    star.update_counted(None, groups, num_groups, &rows).unwrap();
                }
                if failed {
                    break;
                }
            }
            let want = reference_sums(&batches, num_groups);
            if !failed {
                let got = sum.finish(num_groups);
                match &want {
                    // The result type's limit: `i64`, or 38 digits.
                    Some(w) if w.iter().all(|&(s, _)| {
                        if ints { i64::try_from(s).is_ok() } else { s.unsigned_abs() < 10u128.pow(38) }
                    }) => {
                        let got = got.unwrap();
                        let got: Vec<Option<i128>> = if ints {
                            got.as_primitive::<Int64Type>().iter().map(|v| v.map(i128::from)).collect()
                        } else {
                            got.as_primitive::<Decimal128Type>().iter().collect()
                        };
                        let w: Vec<Option<i128>> = w.iter().map(|&(s, n)| (n > 0).then_some(s)).collect();
                        prop_assert_eq!(got, w);
                    }
                    _ => prop_assert!(matches!(got, Err(Error::Overflow { .. })), "{got:?}"),
                }
                match (avg.finish(num_groups), counted.finish(num_groups)) {
                    (Ok(a), Ok(c)) => prop_assert_eq!(a.to_data(), c.to_data()),
                    (a, c) => prop_assert!(a.is_err() && c.is_err(), "{a:?} vs {c:?}"),
                }
                let counts = count.finish(num_groups).unwrap();
                let counts: Vec<i64> = counts.as_primitive::<Int64Type>().values().to_vec();
                let mut want_counts = vec![0i64; num_groups];
                let mut want_star = vec![0i64; num_groups];
                for (values, groups) in &batches {
                    for (v, &g) in values.iter().zip(groups) {
                        want_counts[g] += i64::from(v.is_some());
                        want_star[g] += 1;
                    }
                }
                prop_assert_eq!(counts, want_counts);
                let stars = star.finish(num_groups).unwrap();
                prop_assert_eq!(stars.as_primitive::<Int64Type>().values().to_vec(), want_star);
            } else {
                // Only an actual overflow of some group's sum may fail.
                prop_assert!(want.is_none(), "overflow reported for sums that fit");
            }
        }
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

    #[test]
    fn decimal_sums_are_exact_and_overflow_past_the_bound_is_an_error() {
        use arrow::array::Decimal128Array;
        let kind = NumKind::Decimal { scale: 0 };
        let out = DataType::Decimal128(38, 0);
        let dec = |v: Vec<Option<i128>>| -> ArrayRef {
            Arc::new(
                Decimal128Array::from(v)
                    .with_precision_and_scale(38, 0)
                    .unwrap(),
            )
        };
        // Small values, NULLs, several groups: the unchecked path.
        let mut s = SumAvg::new(kind, false, out.clone());
        s.update(
            Some(&dec(vec![Some(5), None, Some(-7), Some(11)])),
            &[0, 1, 1, 0],
            2,
        )
        .unwrap();
        let r = s.finish(2).unwrap();
        let r = r.as_primitive::<arrow::datatypes::Decimal128Type>();
        assert_eq!(r.iter().collect::<Vec<_>>(), [Some(16), Some(-7)]);
        // A batch past the bound is checked, and so is every later one: two
        // values of i128::MAX / 2 + 1 do not fit.
        let half = i128::MAX / 2 + 1;
        let mut s = SumAvg::new(kind, false, out.clone());
        s.update(Some(&dec(vec![Some(1)])), &[0], 1).unwrap();
        let err = s.update(Some(&dec(vec![Some(half), Some(half)])), &[0, 0], 1);
        assert!(matches!(err, Err(Error::Overflow { .. })), "{err:?}");
        let mut s = SumAvg::new(kind, false, out);
        s.update(Some(&dec(vec![Some(half)])), &[0], 1).unwrap();
        let err = s.update(Some(&dec(vec![Some(half)])), &[0], 1);
        assert!(matches!(err, Err(Error::Overflow { .. })), "{err:?}");
    }
}
