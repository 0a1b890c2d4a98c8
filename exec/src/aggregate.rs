//! Aggregate functions: their SQL result types and their accumulators.
//!
//! Result types follow Hyper: `count` is `BIGINT`; `sum` of integers is
//! `BIGINT` (overflow is an error), of floats `DOUBLE PRECISION`, of
//! `NUMERIC(p,s)` `NUMERIC(38,s)`; `avg` of integers is `NUMERIC(38,6)`, of
//! `NUMERIC(p,s)` `NUMERIC(38,max(s,6))`, of floats `DOUBLE PRECISION`;
//! `min`/`max` keep their input type. Every aggregate but `count` is NULL
//! over zero non-NULL values, and all of them skip NULL inputs.

use arrow::datatypes::DataType;
use arrow::row::{RowConverter, SortField};

use crate::accumulator::{Accumulator, Count, MinMax, NumKind, SumAvg};
use crate::error::{Error, Result};
use crate::expr::PhysicalExpr;

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
}

/// One aggregate of a [`PhysicalPlan::HashAggregate`](crate::PhysicalPlan::HashAggregate).
#[derive(Debug, Clone)]
pub struct AggregateExpr {
    /// The function.
    pub func: AggregateFunction,
    /// The argument, evaluated over the aggregate's input; `None` only for
    /// [`AggregateFunction::CountStar`].
    pub arg: Option<PhysicalExpr>,
    /// The output column name.
    pub name: String,
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
            (_, Some(NumKind::Float)) => Ok(Float64),
            _ => Err(Error::internal(format!("{self:?} of type {arg}"))),
        }
    }

    /// A fresh accumulator for an argument of type `arg`.
    pub(crate) fn accumulator(&self, arg: Option<&DataType>) -> Result<Box<dyn Accumulator>> {
        let out = self.return_type(arg)?;
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
            (f, None) => return Err(Error::internal(format!("{f:?} needs an argument"))),
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
