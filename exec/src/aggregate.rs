//! Aggregate functions: their SQL result types and their accumulators.
//!
//! Result types follow Hyper: `count` is `BIGINT`; `sum` of integers is
//! `BIGINT` (overflow is an error), of floats `DOUBLE PRECISION`, of
//! `NUMERIC(p,s)` `NUMERIC(38,s)`; `avg` of integers is `NUMERIC(38,6)`, of
//! `NUMERIC(p,s)` `NUMERIC(38,max(s,6))`, of floats `DOUBLE PRECISION`;
//! `min`/`max` keep their input type; the variances and standard
//! deviations of integers and NUMERIC are `NUMERIC(38,6)`, of floats `DOUBLE
//! PRECISION`; `median` and `percentile_cont` are `DOUBLE PRECISION` (numeric
//! input only), `percentile_disc` keeps its input type; `string_agg` is
//! `TEXT`. Every aggregate but `count` is NULL over zero non-NULL values, and
//! all of them skip NULL inputs.
//!
//! An aggregate may carry a `FILTER (WHERE ...)` (rows where it is not true
//! are skipped), and the collecting ones (`string_agg`, the percentiles) an
//! order of their values and DISTINCT (see [`crate::accumulator::Collect`]).

use arrow::array::{Array, ArrayRef, AsArray, StructArray};
use arrow::compute::SortOptions;
use arrow::datatypes::{DataType, Field, Fields};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};

use crate::accumulator::{
    Accumulator, BoolAndOr, Collect, Count, Finisher, MinMax, NumKind, SumAvg, Variance,
};
use crate::error::{Error, Result};
use crate::expr::PhysicalExpr;
use crate::plan::SortKey;

/// An aggregate function of [`AggregateExpr`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateFunction {
    /// `count(*)`: the number of rows.
    CountStar,
    /// `count(x)`: the number of non-NULL values.
    Count,
    /// `sum(x)`.
    Sum,
    /// `min(x)` over any orderable type.
    Min,
    /// `max(x)` over any orderable type.
    Max,
    /// `avg(x)`, rounded half away from zero for integers and decimals.
    Avg,
    /// `var_samp(x)`, `variance(x)`: NULL below two values.
    VarSamp,
    /// `var_pop(x)`.
    VarPop,
    /// `stddev_samp(x)`, `stddev(x)`: NULL below two values.
    StddevSamp,
    /// `stddev_pop(x)`.
    StddevPop,
    /// `bool_and(x)`, `every(x)`.
    BoolAnd,
    /// `bool_or(x)`.
    BoolOr,
    /// `string_agg(x, separator)`: needs [`AggregateParam::Separator`].
    StringAgg,
    /// `percentile_cont(f) WITHIN GROUP (ORDER BY x)`, `median(x)`: linear
    /// interpolation; needs [`AggregateParam::Fraction`].
    PercentileCont,
    /// `percentile_disc(f) WITHIN GROUP (ORDER BY x)`: the first value whose
    /// cumulative distribution reaches `f`; needs [`AggregateParam::Fraction`].
    PercentileDisc,
    /// `array_agg(x)`: the values (NULLs included) as an array.
    ArrayAgg,
}

/// The constant parameter of an aggregate.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq)]
pub enum AggregateParam {
    /// No parameter.
    #[default]
    None,
    /// The separator of `string_agg`.
    Separator(String),
    /// The fraction (0 to 1) of the percentiles.
    Fraction(f64),
}

/// One aggregate of a [`PhysicalPlan::HashAggregate`](crate::PhysicalPlan::HashAggregate).
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct AggregateExpr {
    /// The function.
    pub func: AggregateFunction,
    /// The argument, evaluated over the aggregate's input; `None` only for
    /// [`AggregateFunction::CountStar`].
    pub arg: Option<PhysicalExpr>,
    /// The output column name.
    pub name: String,
    /// `FILTER (WHERE ...)`: only rows where it is true are aggregated.
    pub filter: Option<PhysicalExpr>,
    /// The order in which a collecting aggregate (`string_agg`, the
    /// percentiles) sees its values; ignored by the others.
    pub order_by: Vec<SortKey>,
    /// DISTINCT values only. The SQL layer plans DISTINCT of the
    /// non-collecting aggregates as two aggregations where it can, and
    /// sets this where it cannot (DISTINCT over several arguments).
    pub distinct: bool,
    /// The constant parameter.
    pub param: AggregateParam,
}

impl AggregateExpr {
    /// `func(arg)` named `name`, without filter, order or parameter.
    pub fn new(
        func: AggregateFunction,
        arg: Option<PhysicalExpr>,
        name: impl Into<String>,
    ) -> Self {
        AggregateExpr {
            func,
            arg,
            name: name.into(),
            filter: None,
            order_by: Vec::new(),
            distinct: false,
            param: AggregateParam::None,
        }
    }

    /// With a `FILTER (WHERE filter)`.
    #[must_use]
    pub fn with_filter(mut self, filter: Option<PhysicalExpr>) -> Self {
        self.filter = filter;
        self
    }

    /// With an order of the values (collecting aggregates).
    #[must_use]
    pub fn with_order_by(mut self, order_by: Vec<SortKey>) -> Self {
        self.order_by = order_by;
        self
    }

    /// With DISTINCT handled by the accumulator (collecting aggregates).
    #[must_use]
    pub fn with_distinct(mut self, distinct: bool) -> Self {
        self.distinct = distinct;
        self
    }

    /// With a constant parameter.
    #[must_use]
    pub fn with_param(mut self, param: AggregateParam) -> Self {
        self.param = param;
        self
    }

    /// A fresh accumulator for input of `schema`.
    pub(crate) fn accumulator(
        &self,
        schema: &arrow::datatypes::Schema,
    ) -> Result<Box<dyn Accumulator>> {
        let arg = self.arg.as_ref().map(|e| e.data_type(schema)).transpose()?;
        let keys = self
            .order_by
            .iter()
            .map(|k| {
                let options = SortOptions {
                    descending: k.descending,
                    nulls_first: k.nulls_first,
                };
                Ok((k.expr.data_type(schema)?, options))
            })
            .collect::<Result<_>>()?;
        self.func
            .accumulator_with(arg.as_ref(), &self.param, keys, self.distinct)
    }

    /// Evaluates what the accumulator is fed over `batch`: with a filter,
    /// the rows to keep, and the input (see [`AggregateExpr::input_type`])
    /// of those rows only (of all rows without one).
    pub(crate) fn evaluate(
        &self,
        batch: &RecordBatch,
    ) -> Result<(Option<ArrayRef>, Option<arrow::array::BooleanArray>)> {
        let keep = match &self.filter {
            None => None,
            Some(f) => {
                let mask = f.evaluate(batch)?;
                let mask = mask
                    .as_boolean_opt()
                    .ok_or_else(|| Error::internal("aggregate FILTER is not boolean"))?;
                // NULL counts as false.
                Some(if mask.null_count() > 0 {
                    arrow::compute::prep_null_mask_filter(mask)
                } else {
                    mask.clone()
                })
            }
        };
        // The argument only for the rows the FILTER keeps, as in PostgreSQL:
        // `sum(a / c) FILTER (WHERE c <> 0)` never divides by a zero `c`.
        let kept;
        let batch = match &keep {
            Some(k) => {
                kept = arrow::compute::filter_record_batch(batch, k)?;
                &kept
            }
            None => batch,
        };
        let mut input = self.arg.as_ref().map(|e| e.evaluate(batch)).transpose()?;
        if let Some(arg) = &input
            && !self.order_by.is_empty()
        {
            let mut fields = vec![Field::new("v", arg.data_type().clone(), true)];
            let mut columns = vec![arg.clone()];
            for (i, k) in self.order_by.iter().enumerate() {
                let key = k.expr.evaluate(batch)?;
                fields.push(Field::new(format!("k{i}"), key.data_type().clone(), true));
                columns.push(key);
            }
            input = Some(std::sync::Arc::new(StructArray::try_new(
                Fields::from(fields),
                columns,
                None,
            )?));
        }
        Ok((input, keep))
    }

    /// Feeds `batch` to `acc`, row `i` to group `groups[i]`; `batch_counts`,
    /// if given, is the number of rows of each group in `groups`.
    pub(crate) fn feed(
        &self,
        acc: &mut dyn Accumulator,
        batch: &RecordBatch,
        (groups, batch_counts): (&[usize], Option<&[i64]>),
        num_groups: usize,
    ) -> Result<()> {
        let (input, keep) = self.evaluate(batch)?;
        let Some(keep) = keep else {
            return match batch_counts {
                Some(counts) => acc.update_counted(input.as_ref(), groups, num_groups, counts),
                None => acc.update(input.as_ref(), groups, num_groups),
            };
        };
        let kept: Vec<usize> = groups
            .iter()
            .zip(keep.values().iter())
            .filter_map(|(&g, k)| k.then_some(g))
            .collect();
        acc.update(input.as_ref(), &kept, num_groups)
    }
}

impl AggregateFunction {
    /// The type of the aggregate's result for an argument of type `arg`.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] when the function does not take that type, or an
    /// argument is missing.
    pub fn return_type(&self, arg: Option<&DataType>) -> Result<DataType> {
        use DataType::*;
        let arg = match (self, arg) {
            (AggregateFunction::CountStar, _) | (AggregateFunction::Count, Some(_)) => {
                return Ok(Int64);
            }
            (_, Some(arg)) => arg,
            (f, None) => return Err(Error::internal(format!("{f:?} needs an argument"))),
        };
        match (self, num_kind(arg)) {
            (AggregateFunction::Min | AggregateFunction::Max, _) => {
                if RowConverter::supports_fields(&[SortField::new(arg.clone())]) {
                    Ok(arg.clone())
                } else {
                    Err(Error::internal(format!(
                        "{self:?} of unorderable type {arg}"
                    )))
                }
            }
            (AggregateFunction::Sum, Some(NumKind::Int)) => Ok(Int64),
            (AggregateFunction::Avg, Some(NumKind::Int)) => Ok(Decimal128(38, 6)),
            (AggregateFunction::Sum, Some(NumKind::Decimal { scale })) => Ok(Decimal128(38, scale)),
            (AggregateFunction::Avg, Some(NumKind::Decimal { scale })) => {
                Ok(Decimal128(38, scale.max(6)))
            }
            (
                AggregateFunction::VarSamp
                | AggregateFunction::VarPop
                | AggregateFunction::StddevSamp
                | AggregateFunction::StddevPop,
                Some(NumKind::Int | NumKind::Decimal { .. }),
            ) => Ok(Decimal128(38, 6)),
            (AggregateFunction::BoolAnd | AggregateFunction::BoolOr, _) if *arg == Boolean => {
                Ok(Boolean)
            }
            (AggregateFunction::StringAgg, _) if *arg == Utf8 => Ok(Utf8),
            (AggregateFunction::ArrayAgg, _) if !matches!(arg, List(_)) => {
                Ok(crate::functions::list_of(arg))
            }
            (AggregateFunction::PercentileCont, Some(_)) => Ok(Float64),
            (AggregateFunction::PercentileDisc, _)
                if RowConverter::supports_fields(&[SortField::new(arg.clone())]) =>
            {
                Ok(arg.clone())
            }
            (
                AggregateFunction::Sum
                | AggregateFunction::Avg
                | AggregateFunction::VarSamp
                | AggregateFunction::VarPop
                | AggregateFunction::StddevSamp
                | AggregateFunction::StddevPop,
                Some(NumKind::Float),
            ) => Ok(Float64),
            _ => Err(Error::internal(format!("{self:?} of type {arg}"))),
        }
    }

    /// Whether the function collects its values (and so takes an order,
    /// DISTINCT and a parameter).
    pub fn is_collecting(&self) -> bool {
        matches!(
            self,
            AggregateFunction::StringAgg
                | AggregateFunction::PercentileCont
                | AggregateFunction::PercentileDisc
                | AggregateFunction::ArrayAgg
        )
    }

    /// A fresh accumulator for an argument of type `arg`, without order,
    /// DISTINCT or parameter.
    pub(crate) fn accumulator(&self, arg: Option<&DataType>) -> Result<Box<dyn Accumulator>> {
        self.accumulator_with(arg, &AggregateParam::None, Vec::new(), false)
    }

    /// A fresh accumulator for an argument of type `arg`; `keys` order the
    /// values of a collecting aggregate.
    pub(crate) fn accumulator_with(
        &self,
        arg: Option<&DataType>,
        param: &AggregateParam,
        keys: Vec<(DataType, SortOptions)>,
        distinct: bool,
    ) -> Result<Box<dyn Accumulator>> {
        let out = self.return_type(arg)?;
        if distinct && !self.is_collecting() {
            let arg = arg.ok_or_else(|| Error::internal(format!("{self:?} needs an argument")))?;
            let inner = Finisher::Inner(*self);
            return Ok(Box::new(Collect::try_new(
                inner,
                arg,
                out,
                Vec::new(),
                true,
            )?));
        }
        if self.is_collecting() {
            let finisher = match (self, param) {
                (AggregateFunction::StringAgg, AggregateParam::Separator(s)) => {
                    Finisher::StringAgg(s.clone())
                }
                (AggregateFunction::PercentileCont, AggregateParam::Fraction(f)) => {
                    Finisher::Cont(*f)
                }
                (AggregateFunction::PercentileDisc, AggregateParam::Fraction(f)) => {
                    Finisher::Disc(*f)
                }
                (AggregateFunction::ArrayAgg, AggregateParam::None) => Finisher::ArrayAgg,
                (f, p) => return Err(Error::internal(format!("{f:?} with parameter {p:?}"))),
            };
            let arg = arg.ok_or_else(|| Error::internal(format!("{self:?} needs an argument")))?;
            return Ok(Box::new(Collect::try_new(
                finisher, arg, out, keys, distinct,
            )?));
        }
        Ok(match (self, arg) {
            (AggregateFunction::CountStar, _) => Box::new(Count::new(true)),
            (AggregateFunction::Count, _) => Box::new(Count::new(false)),
            (AggregateFunction::Min | AggregateFunction::Max, Some(arg)) => {
                Box::new(MinMax::try_new(arg, *self == AggregateFunction::Max)?)
            }
            (AggregateFunction::Sum | AggregateFunction::Avg, Some(arg)) => {
                let kind =
                    num_kind(arg).ok_or_else(|| Error::internal(format!("{self:?} of {arg}")))?;
                Box::new(SumAvg::new(kind, *self == AggregateFunction::Avg, out))
            }
            (
                AggregateFunction::VarSamp
                | AggregateFunction::VarPop
                | AggregateFunction::StddevSamp
                | AggregateFunction::StddevPop,
                Some(arg),
            ) => {
                let kind =
                    num_kind(arg).ok_or_else(|| Error::internal(format!("{self:?} of {arg}")))?;
                let sample = matches!(
                    self,
                    AggregateFunction::VarSamp | AggregateFunction::StddevSamp
                );
                let root = matches!(
                    self,
                    AggregateFunction::StddevSamp | AggregateFunction::StddevPop
                );
                Box::new(Variance::new(kind, sample, root))
            }
            (AggregateFunction::BoolAnd | AggregateFunction::BoolOr, Some(_)) => {
                Box::new(BoolAndOr::new(*self == AggregateFunction::BoolAnd))
            }
            (f, _) => return Err(Error::internal(format!("{f:?} of {arg:?}"))),
        })
    }
}

/// The numeric family of a type, for `sum` and `avg`.
fn num_kind(t: &DataType) -> Option<NumKind> {
    use DataType::*;
    match t {
        Int8 | Int16 | Int32 | Int64 => Some(NumKind::Int),
        Float16 | Float32 | Float64 => Some(NumKind::Float),
        Decimal128(_, scale) => Some(NumKind::Decimal { scale: *scale }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AggregateFunction::*;
    use DataType::*;

    #[test]
    fn return_types() {
        assert_eq!(CountStar.return_type(None).unwrap(), Int64);
        assert_eq!(Count.return_type(Some(&Utf8)).unwrap(), Int64);
        assert_eq!(Sum.return_type(Some(&Int32)).unwrap(), Int64);
        assert_eq!(Sum.return_type(Some(&Float32)).unwrap(), Float64);
        assert_eq!(
            Sum.return_type(Some(&Decimal128(10, 2))).unwrap(),
            Decimal128(38, 2)
        );
        assert_eq!(Avg.return_type(Some(&Int16)).unwrap(), Decimal128(38, 6));
        assert_eq!(
            Avg.return_type(Some(&Decimal128(10, 2))).unwrap(),
            Decimal128(38, 6)
        );
        assert_eq!(
            Avg.return_type(Some(&Decimal128(20, 9))).unwrap(),
            Decimal128(38, 9)
        );
        assert_eq!(Avg.return_type(Some(&Float64)).unwrap(), Float64);
        assert_eq!(Min.return_type(Some(&Utf8)).unwrap(), Utf8);
        assert_eq!(Max.return_type(Some(&Date32)).unwrap(), Date32);
    }

    #[test]
    fn bad_arguments_are_internal() {
        assert!(matches!(
            Sum.return_type(Some(&Utf8)),
            Err(Error::Internal { .. })
        ));
        assert!(matches!(
            Avg.return_type(Some(&Boolean)),
            Err(Error::Internal { .. })
        ));
        assert!(matches!(Sum.return_type(None), Err(Error::Internal { .. })));
        assert!(matches!(
            Count.return_type(None),
            Err(Error::Internal { .. })
        ));
        assert!(Sum.accumulator(Some(&Utf8)).is_err());
    }
}
