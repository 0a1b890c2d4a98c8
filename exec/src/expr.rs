//! Scalar expressions over the columns of one record batch.
//!
//! The SQL layer binds names and types and hands exec a [`PhysicalExpr`] tree
//! that refers to input columns by index. Evaluation is vectorized: one call
//! computes the expression for every row of a batch.
//!
//! Invariant: `data_type()` returns exactly the type of the array that
//! `evaluate()` produces for a batch of that schema. Where Arrow derives the
//! result type (decimal arithmetic), `data_type()` asks the same Arrow kernel
//! on empty arrays, so the two cannot drift apart.
//!
//! Literals are kept as one-row "scalars" during evaluation so that
//! `col + 1` does not materialize a column of ones, and a subtree made only of
//! literals is computed once per batch on one row.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, UInt32Array, new_empty_array, new_null_array};
use arrow::datatypes::{DataType, Schema};
use arrow::record_batch::RecordBatch;

use crate::binary::{binary_data_type, evaluate_binary};
use crate::error::{Error, Result};
use crate::functions::ScalarFunction;

/// A binary operator. Operands must have the types the SQL layer coerced them
/// to (see [`PhysicalExpr::Binary`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`, checked for integers and decimals.
    Add,
    /// `-`, checked for integers and decimals.
    Sub,
    /// `*`, checked for integers and decimals.
    Mul,
    /// `/`: integer division truncates toward zero; by zero is an error
    /// except for floats.
    Div,
    /// `%`: the sign follows the dividend; by zero is an error except for floats.
    Mod,
    /// `=`
    Eq,
    /// `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// Three-valued (Kleene) `AND`.
    And,
    /// Three-valued (Kleene) `OR`.
    Or,
    /// `IS DISTINCT FROM`: `<>` with NULL a value like any other; never NULL.
    IsDistinctFrom,
    /// `IS NOT DISTINCT FROM`: `=` with NULL equal to NULL; never NULL.
    IsNotDistinctFrom,
}

impl BinaryOp {
    /// The operator as SQL writes it (`+`, `<>`, `AND`, `IS DISTINCT FROM`).
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
            BinaryOp::IsDistinctFrom => "IS DISTINCT FROM",
            BinaryOp::IsNotDistinctFrom => "IS NOT DISTINCT FROM",
        }
    }

    pub(crate) fn is_comparison(self) -> bool {
        use BinaryOp::*;
        matches!(
            self,
            Eq | NotEq | Lt | LtEq | Gt | GtEq | IsDistinctFrom | IsNotDistinctFrom
        )
    }

    /// The comparison with its operands swapped (`c < x` is `x > c`);
    /// `None` for other operators.
    pub(crate) fn flipped(self) -> Option<BinaryOp> {
        use BinaryOp::*;
        Some(match self {
            Lt => Gt,
            LtEq => GtEq,
            Gt => Lt,
            GtEq => LtEq,
            Eq | NotEq | IsDistinctFrom | IsNotDistinctFrom => self,
            _ => return None,
        })
    }

    pub(crate) fn is_logical(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or)
    }
}

/// An expression evaluated row by row over a batch.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum PhysicalExpr {
    /// The column at `index` of the input batch.
    Column {
        /// Position in the input schema.
        index: usize,
    },
    /// A constant: a one-row array (possibly a typed NULL), broadcast to the
    /// batch length.
    Literal {
        /// The one-row array.
        value: ArrayRef,
    },
    /// `left op right`. Both sides have the same type, except that decimals
    /// may differ in precision and scale, and a side of type `Null` takes the
    /// other side's type.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<PhysicalExpr>,
        /// Right operand.
        right: Box<PhysicalExpr>,
    },
    /// Three-valued `NOT` of a boolean.
    Not(Box<PhysicalExpr>),
    /// Arithmetic negation, checked for integers and decimals.
    Negate(Box<PhysicalExpr>),
    /// `IS NULL`; never NULL itself.
    IsNull(Box<PhysicalExpr>),
    /// `IS NOT NULL`; never NULL itself.
    IsNotNull(Box<PhysicalExpr>),
    /// `CAST(expr AS to)`; a value that does not convert is an error.
    Cast {
        /// The operand.
        expr: Box<PhysicalExpr>,
        /// The target type.
        to: DataType,
    },
    /// A scalar function call; the arguments have the types the function
    /// takes (see [`ScalarFunction`]).
    ScalarFunction {
        /// The function.
        func: ScalarFunction,
        /// The arguments.
        args: Vec<PhysicalExpr>,
    },
    /// Searched `CASE WHEN c THEN r ... [ELSE e] END`: the first branch
    /// whose condition is true gives the value, else `else_expr`, else NULL.
    /// Each branch is evaluated only on the rows that reach it. All results
    /// have one type (a `Null`-typed result takes the others' type).
    Case {
        /// `(condition, result)` pairs, in order.
        branches: Vec<(PhysicalExpr, PhysicalExpr)>,
        /// The `ELSE` result.
        else_expr: Option<Box<PhysicalExpr>>,
    },
    /// `expr [NOT] IN (list)` with SQL NULL semantics; `expr` and the list
    /// items have one type.
    InList {
        /// The probe value.
        expr: Box<PhysicalExpr>,
        /// The items (at least one).
        list: Vec<PhysicalExpr>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `expr [NOT] LIKE | ILIKE pattern [ESCAPE escape]` over text.
    Like {
        /// The text to match.
        expr: Box<PhysicalExpr>,
        /// The pattern (`%` any string, `_` any character).
        pattern: Box<PhysicalExpr>,
        /// `NOT LIKE`.
        negated: bool,
        /// `ILIKE`.
        case_insensitive: bool,
        /// The escape character; PostgreSQL's default is the backslash,
        /// `None` means `ESCAPE ''` (no escape character).
        escape: Option<char>,
    },
}

impl PhysicalExpr {
    /// The type of the values this expression produces over `input`.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] when the expression is ill-typed for `input`
    /// (bad column index, operands of different types, ...).
    pub fn data_type(&self, input: &Schema) -> Result<DataType> {
        match self {
            PhysicalExpr::Column { index } => Ok(column_field(input, *index)?.data_type().clone()),
            PhysicalExpr::Literal { value } => Ok(value.data_type().clone()),
            PhysicalExpr::Binary { op, left, right } => {
                binary_data_type(*op, &left.data_type(input)?, &right.data_type(input)?)
            }
            PhysicalExpr::Not(e) => match e.data_type(input)? {
                DataType::Boolean | DataType::Null => Ok(DataType::Boolean),
                t => Err(Error::internal(format!("NOT of non-boolean type {t}"))),
            },
            PhysicalExpr::Negate(e) => {
                let t = e.data_type(input)?;
                Ok(negate(&new_empty_array(&t))?.data_type().clone())
            }
            PhysicalExpr::IsNull(e) | PhysicalExpr::IsNotNull(e) => {
                e.data_type(input)?;
                Ok(DataType::Boolean)
            }
            PhysicalExpr::Cast { expr, to } => {
                crate::cast::check_cast(&expr.data_type(input)?, to)?;
                Ok(to.clone())
            }
            PhysicalExpr::ScalarFunction { func, args } => {
                let types = args
                    .iter()
                    .map(|a| a.data_type(input))
                    .collect::<Result<Vec<_>>>()?;
                func.return_type(&types)
            }
            PhysicalExpr::Case {
                branches,
                else_expr,
            } => crate::conditional::case_type(branches, else_expr.as_deref(), input),
            PhysicalExpr::InList { expr, list, .. } => {
                for item in list {
                    let (a, b) = (expr.data_type(input)?, item.data_type(input)?);
                    binary_data_type(BinaryOp::Eq, &a, &b)?;
                }
                Ok(DataType::Boolean)
            }
            PhysicalExpr::Like { expr, pattern, .. } => {
                for e in [expr, pattern] {
                    match e.data_type(input)? {
                        DataType::Utf8 | DataType::Null => {}
                        t => return Err(Error::internal(format!("LIKE on {t}"))),
                    }
                }
                Ok(DataType::Boolean)
            }
        }
    }

    /// Whether the expression may produce NULL over `input`. Conservative:
    /// `true` when unsure (also for a bad column index).
    pub fn nullable(&self, input: &Schema) -> bool {
        match self {
            PhysicalExpr::Column { index } => {
                input.fields().get(*index).is_none_or(|f| f.is_nullable())
            }
            PhysicalExpr::Literal { value } => value.len() != 1 || value.logical_null_count() > 0,
            PhysicalExpr::Binary { left, right, .. } => {
                left.nullable(input) || right.nullable(input)
            }
            PhysicalExpr::Not(e) | PhysicalExpr::Negate(e) => e.nullable(input),
            PhysicalExpr::Cast { expr, .. } => expr.nullable(input),
            PhysicalExpr::IsNull(_) | PhysicalExpr::IsNotNull(_) => false,
            PhysicalExpr::ScalarFunction { func, args } => {
                func.nullable(args.iter().any(|a| a.nullable(input)))
            }
            PhysicalExpr::Case {
                branches,
                else_expr,
            } => {
                else_expr.as_ref().is_none_or(|e| e.nullable(input))
                    || branches.iter().any(|(_, r)| r.nullable(input))
            }
            PhysicalExpr::InList { expr, list, .. } => {
                expr.nullable(input) || list.iter().any(|e| e.nullable(input))
            }
            PhysicalExpr::Like { expr, pattern, .. } => {
                expr.nullable(input) || pattern.nullable(input)
            }
        }
    }

    /// Evaluates the expression for every row of `batch`.
    ///
    /// The result has `batch.num_rows()` rows and the type
    /// [`data_type`](Self::data_type) names for `batch.schema()`.
    ///
    /// # Errors
    ///
    /// [`Error::Overflow`], [`Error::DivisionByZero`] and
    /// [`Error::InvalidCast`] for bad values; [`Error::Internal`] for an
    /// ill-typed expression.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<ArrayRef> {
        self.evaluate_value(batch)?.into_array(batch.num_rows())
    }

    /// Evaluates to a column, or to a one-row scalar when no column is read.
    pub(crate) fn evaluate_value(&self, batch: &RecordBatch) -> Result<Value> {
        match self {
            PhysicalExpr::Column { index } => match batch.columns().get(*index) {
                Some(column) => Ok(Value::Array(column.clone())),
                None => Err(Error::internal(format!(
                    "column index {index} out of range for a batch of {} columns",
                    batch.num_columns()
                ))),
            },
            PhysicalExpr::Literal { value } if value.len() == 1 => Ok(Value::Scalar(value.clone())),
            PhysicalExpr::Literal { value } => Err(Error::internal(format!(
                "literal with {} rows, expected 1",
                value.len()
            ))),
            PhysicalExpr::Binary { op, left, right } => {
                let l = left.evaluate_value(batch)?;
                let r = right.evaluate_value(batch)?;
                evaluate_binary(*op, l, r, batch.num_rows())
            }
            PhysicalExpr::Not(e) => e.evaluate_value(batch)?.map(|a| {
                let a = to_boolean(a)?;
                Ok(Arc::new(arrow::compute::not(as_boolean(&a)?)?))
            }),
            PhysicalExpr::Negate(e) => e.evaluate_value(batch)?.map(negate),
            PhysicalExpr::IsNull(e) => e
                .evaluate_value(batch)?
                .map(|a| Ok(Arc::new(arrow::compute::is_null(a)?))),
            PhysicalExpr::IsNotNull(e) => e
                .evaluate_value(batch)?
                .map(|a| Ok(Arc::new(arrow::compute::is_not_null(a)?))),
            PhysicalExpr::Cast { expr, to } => expr
                .evaluate_value(batch)?
                .map(|a| crate::cast::cast(a, to)),
            PhysicalExpr::ScalarFunction { func, args } => {
                let values = args
                    .iter()
                    .map(|a| a.evaluate_value(batch))
                    .collect::<Result<Vec<_>>>()?;
                func.evaluate(values, batch.num_rows())
            }
            PhysicalExpr::Case {
                branches,
                else_expr,
            } => crate::conditional::evaluate_case(branches, else_expr.as_deref(), batch)
                .map(Value::Array),
            PhysicalExpr::InList {
                expr,
                list,
                negated,
            } => crate::conditional::evaluate_in_list(expr, list, *negated, batch),
            PhysicalExpr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
                escape,
            } => crate::conditional::evaluate_like(
                expr.evaluate_value(batch)?,
                pattern.evaluate_value(batch)?,
                *negated,
                *case_insensitive,
                *escape,
            ),
        }
    }
}

/// The field at `index` of `schema`, or [`Error::Internal`].
pub(crate) fn column_field(schema: &Schema, index: usize) -> Result<&arrow::datatypes::Field> {
    schema
        .fields()
        .get(index)
        .map(|f| f.as_ref())
        .ok_or_else(|| {
            Error::internal(format!(
                "column index {index} out of range for a schema of {} columns",
                schema.fields().len()
            ))
        })
}

/// Downcasts to a boolean array, or [`Error::Internal`].
pub(crate) fn as_boolean(array: &ArrayRef) -> Result<&BooleanArray> {
    array
        .as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or_else(|| Error::internal(format!("expected Boolean, got {}", array.data_type())))
}

/// A boolean operand: `Boolean` as is, a `Null` column as all-NULL booleans.
pub(crate) fn to_boolean(array: &ArrayRef) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::Boolean => Ok(array.clone()),
        DataType::Null => Ok(new_null_array(&DataType::Boolean, array.len())),
        t => Err(Error::internal(format!(
            "expected a Boolean operand, got {t}"
        ))),
    }
}

/// Checked negation; an unsupported type is an internal error.
fn negate(array: &ArrayRef) -> Result<ArrayRef> {
    arrow::compute::kernels::numeric::neg(array).map_err(crate::binary::arithmetic_error)
}

/// An evaluated expression: a full column, or a one-row constant.
///
/// Invariant: a `Scalar` holds exactly one row.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// One value per row of the batch.
    Array(ArrayRef),
    /// One value for all rows.
    Scalar(ArrayRef),
}

impl Value {
    pub(crate) fn array(&self) -> &ArrayRef {
        match self {
            Value::Array(a) | Value::Scalar(a) => a,
        }
    }

    pub(crate) fn is_scalar(&self) -> bool {
        matches!(self, Value::Scalar(_))
    }

    /// Applies a row-wise function, keeping the scalar-ness.
    pub(crate) fn map(self, f: impl FnOnce(&ArrayRef) -> Result<ArrayRef>) -> Result<Value> {
        Ok(match self {
            Value::Array(a) => Value::Array(f(&a)?),
            Value::Scalar(a) => Value::Scalar(f(&a)?),
        })
    }

    /// The value as a column of `rows` rows.
    pub(crate) fn into_array(self, rows: usize) -> Result<ArrayRef> {
        match self {
            Value::Array(a) if a.len() == rows => Ok(a),
            Value::Array(a) => Err(Error::internal(format!(
                "expression produced {} rows for a batch of {rows}",
                a.len()
            ))),
            Value::Scalar(a) => broadcast(&a, rows),
        }
    }
}

/// Repeats the only value of a one-row array `rows` times.
fn broadcast(scalar: &ArrayRef, rows: usize) -> Result<ArrayRef> {
    // Logical nulls: an array of type `Null` has no null buffer.
    if scalar.logical_null_count() > 0 {
        return Ok(new_null_array(scalar.data_type(), rows));
    }
    if rows == 1 {
        return Ok(scalar.clone());
    }
    let indices = UInt32Array::from_value(0, rows);
    Ok(arrow::compute::take(scalar.as_ref(), &indices, None)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{bools, ints, lit_i64, lit_null};
    use arrow::array::{AsArray, Int64Array, StringArray};
    use arrow::datatypes::{Field, Int64Type};
    use arrow::record_batch::RecordBatchOptions;

    fn batch(columns: Vec<ArrayRef>) -> RecordBatch {
        crate::test_util::nullable_batch(
            columns
                .into_iter()
                .enumerate()
                .map(|(i, c)| (format!("c{i}"), c)),
        )
        .unwrap()
    }

    fn col(index: usize) -> Box<PhysicalExpr> {
        Box::new(PhysicalExpr::Column { index })
    }

    #[test]
    fn column_and_literal_broadcast() {
        let b = batch(vec![ints(&[Some(1), None, Some(3)])]);
        let out = PhysicalExpr::Column { index: 0 }.evaluate(&b).unwrap();
        assert_eq!(out.len(), 3);
        let out = lit_i64(7).evaluate(&b).unwrap();
        assert_eq!(
            out.as_primitive::<Int64Type>().values().to_vec(),
            vec![7, 7, 7]
        );
        let out = lit_null(DataType::Utf8).evaluate(&b).unwrap();
        assert_eq!((out.len(), out.null_count()), (3, 3));
        assert_eq!(out.data_type(), &DataType::Utf8);
    }

    #[test]
    fn bad_column_index_is_internal() {
        let b = batch(vec![ints(&[Some(1)])]);
        let e = PhysicalExpr::Column { index: 1 };
        assert!(matches!(e.evaluate(&b), Err(Error::Internal { .. })));
        assert!(matches!(
            e.data_type(&b.schema()),
            Err(Error::Internal { .. })
        ));
        assert!(e.nullable(&b.schema()));
    }

    #[test]
    fn literal_must_have_one_row() {
        let b = batch(vec![ints(&[Some(1)])]);
        let e = PhysicalExpr::Literal {
            value: ints(&[Some(1), Some(2)]),
        };
        assert!(matches!(e.evaluate(&b), Err(Error::Internal { .. })));
    }

    #[test]
    fn not_is_three_valued() {
        let b = batch(vec![bools(&[Some(true), Some(false), None])]);
        let out = PhysicalExpr::Not(col(0)).evaluate(&b).unwrap();
        let out: Vec<_> = out.as_boolean().iter().collect();
        assert_eq!(out, vec![Some(false), Some(true), None]);
        let b = batch(vec![ints(&[Some(1)])]);
        assert!(matches!(
            PhysicalExpr::Not(col(0)).data_type(&b.schema()),
            Err(Error::Internal { .. })
        ));
        assert!(PhysicalExpr::Not(col(0)).evaluate(&b).is_err());
    }

    #[test]
    fn is_null_never_null() {
        let b = batch(vec![ints(&[Some(1), None])]);
        let out = PhysicalExpr::IsNull(col(0)).evaluate(&b).unwrap();
        assert_eq!(
            out.as_boolean().iter().collect::<Vec<_>>(),
            vec![Some(false), Some(true)]
        );
        let out = PhysicalExpr::IsNotNull(col(0)).evaluate(&b).unwrap();
        assert_eq!(
            out.as_boolean().iter().collect::<Vec<_>>(),
            vec![Some(true), Some(false)]
        );
        let out = PhysicalExpr::IsNull(Box::new(lit_null(DataType::Int64)))
            .evaluate(&b)
            .unwrap();
        assert_eq!(
            out.as_boolean().iter().collect::<Vec<_>>(),
            vec![Some(true), Some(true)]
        );
        assert!(!PhysicalExpr::IsNull(col(0)).nullable(&b.schema()));
    }

    #[test]
    fn negate_is_checked() {
        let b = batch(vec![ints(&[Some(i64::MIN)])]);
        let e = PhysicalExpr::Negate(col(0));
        assert_eq!(e.data_type(&b.schema()).unwrap(), DataType::Int64);
        assert!(matches!(e.evaluate(&b), Err(Error::Overflow { .. })));
        let b = batch(vec![ints(&[Some(5), None])]);
        let out = e.evaluate(&b).unwrap();
        assert_eq!(
            out.as_primitive::<Int64Type>().iter().collect::<Vec<_>>(),
            vec![Some(-5), None]
        );
        let b = batch(vec![Arc::new(StringArray::from(vec!["a"]))]);
        assert!(matches!(
            e.data_type(&b.schema()),
            Err(Error::Internal { .. })
        ));
        assert!(matches!(e.evaluate(&b), Err(Error::Internal { .. })));
    }

    #[test]
    fn cast_expr() {
        let b = batch(vec![Arc::new(StringArray::from(vec![
            Some("4"),
            None,
            Some("x"),
        ]))]);
        let e = PhysicalExpr::Cast {
            expr: col(0),
            to: DataType::Int64,
        };
        assert_eq!(e.data_type(&b.schema()).unwrap(), DataType::Int64);
        assert!(matches!(e.evaluate(&b), Err(Error::InvalidCast { value, .. }) if value == "x"));
        let ok = b.slice(0, 2);
        let out = e.evaluate(&ok).unwrap();
        assert_eq!(
            out.as_primitive::<Int64Type>().iter().collect::<Vec<_>>(),
            vec![Some(4), None]
        );
    }

    #[test]
    fn constant_subtree_on_zero_column_batch() {
        let schema = Arc::new(Schema::empty());
        let options = RecordBatchOptions::new().with_row_count(Some(1));
        let b = RecordBatch::try_new_with_options(schema, vec![], &options).unwrap();
        let e = PhysicalExpr::Binary {
            op: BinaryOp::Add,
            left: Box::new(lit_i64(1)),
            right: Box::new(lit_i64(1)),
        };
        let out = e.evaluate(&b).unwrap();
        assert_eq!(out.as_primitive::<Int64Type>().values().to_vec(), vec![2]);
        assert!(!e.nullable(&b.schema()));
        let schema = Schema::new(vec![Field::new("x", DataType::Int64, false)]);
        assert!(!PhysicalExpr::Column { index: 0 }.nullable(&schema));
        let _: &Int64Array = out.as_primitive();
    }
}
