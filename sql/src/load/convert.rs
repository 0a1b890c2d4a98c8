//! Turning CSV fields into Arrow columns of the target SQL types.
//!
//! The types inference can produce (and text) parse field by field with the
//! parsers of `infer`. Other types (SMALLINT, NUMERIC, REAL, TIME, ...) are
//! collected as text and cast with Arrow's cast kernels when the batch is
//! finished; a failure is then traced back to its row, so errors name the line
//! either way.

use hyperctl_exec::arrow::array::{
    Array, ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder,
    Float64Builder, Int32Builder, Int64Builder, RecordBatch, RecordBatchOptions, StringArray,
    StringBuilder, TimestampMicrosecondBuilder,
};
use hyperctl_exec::arrow::compute::{CastOptions, cast_with_options};
use hyperctl_exec::arrow::datatypes::SchemaRef;
use hyperctl_format::SqlType;
use hyperctl_storage::ColumnDef;

use super::infer::{
    parse_bigint, parse_bool, parse_date, parse_decimal, parse_double, parse_int, parse_timestamp,
};

/// A value that does not fit its column: the row in the batch, the column
/// index and the reason.
#[derive(Debug)]
pub(crate) struct ValueError {
    pub(crate) row: usize,
    pub(crate) column: usize,
    pub(crate) reason: String,
}

/// Builders for one batch of rows.
pub(crate) struct BatchBuilder {
    columns: Vec<ColumnDef>,
    builders: Vec<Box<dyn ArrayBuilder>>,
    rows: usize,
}

impl std::fmt::Debug for BatchBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchBuilder")
            .field("columns", &self.columns)
            .field("rows", &self.rows)
            .finish()
    }
}

impl BatchBuilder {
    pub(crate) fn new(columns: &[ColumnDef]) -> Self {
        BatchBuilder {
            columns: columns.to_vec(),
            builders: columns.iter().map(|c| builder(c.ty)).collect(),
            rows: 0,
        }
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Appends one field of the current row; `None` is NULL.
    ///
    /// # Errors
    /// The reason, when the text is not a value of the column's type.
    pub(crate) fn append(&mut self, column: usize, value: Option<&str>) -> Result<(), String> {
        let ty = self.columns[column].ty;
        append(self.builders[column].as_mut(), ty, value)
    }

    /// Ends the current row (after every column got a value).
    pub(crate) fn end_row(&mut self) {
        self.rows += 1;
    }

    /// Checks a field of column `column` without appending it: `Err` with
    /// the reason when it is certainly not a value of the column's type.
    /// Types cast at the end of the batch pass here and are checked by
    /// [`BatchBuilder::finish`].
    pub(crate) fn check(&self, column: usize, value: Option<&str>) -> Result<(), String> {
        let ty = self.columns[column].ty;
        let Some(v) = value else {
            return Ok(());
        };
        let ok = match ty {
            SqlType::Int => parse_int(v).is_some(),
            SqlType::BigInt => parse_bigint(v).is_some(),
            SqlType::Double => parse_double(v).is_some(),
            SqlType::Date => parse_date(v).is_some(),
            SqlType::Timestamp | SqlType::TimestampTz => parse_timestamp(v).is_some(),
            SqlType::Bool => parse_bool(v).is_some(),
            SqlType::Numeric { precision, scale } => parse_decimal(v, precision, scale).is_some(),
            _ => true,
        };
        if ok { Ok(()) } else { Err(invalid(ty, v)) }
    }

    /// The first value (by row, then column) that a deferred cast rejects
    /// among the values appended so far, which may end in a partial row.
    /// Leaves the builders as they are.
    pub(crate) fn first_deferred_error(&self) -> Option<ValueError> {
        let mut first: Option<ValueError> = None;
        for (i, b) in self.builders.iter().enumerate() {
            let ty = self.columns[i].ty;
            if !deferred(ty) {
                continue;
            }
            let array = b.finish_cloned();
            if let Some((row, reason)) = cast_text(&array, ty).1.into_iter().next()
                && first.as_ref().is_none_or(|f| row < f.row)
            {
                first = Some(ValueError {
                    row,
                    column: i,
                    reason,
                });
            }
        }
        first
    }

    /// The batch, with `schema` (of `columns`' types), and every value a
    /// deferred cast rejected, sorted by row then column (such values are
    /// NULL in the batch: the caller fails or drops their rows).
    ///
    /// # Errors
    /// An internal error when the arrays do not make a batch.
    pub(crate) fn finish(
        &mut self,
        schema: &SchemaRef,
    ) -> Result<(RecordBatch, Vec<ValueError>), String> {
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.builders.len());
        let mut bad = Vec::new();
        for (i, b) in self.builders.iter_mut().enumerate() {
            let array = b.finish();
            let ty = self.columns[i].ty;
            if deferred(ty) {
                let (cast, failures) = cast_text(&array, ty);
                bad.extend(failures.into_iter().map(|(row, reason)| ValueError {
                    row,
                    column: i,
                    reason,
                }));
                arrays.push(cast?);
            } else {
                arrays.push(array);
            }
        }
        self.rows = 0;
        bad.sort_by_key(|e| (e.row, e.column));
        let options =
            RecordBatchOptions::new().with_row_count(Some(arrays.first().map_or(0, |a| a.len())));
        let batch = RecordBatch::try_new_with_options(schema.clone(), arrays, &options)
            .map_err(|e| e.to_string())?;
        Ok((batch, bad))
    }
}

/// Types collected as text and cast at the end of the batch.
fn deferred(ty: SqlType) -> bool {
    !matches!(
        ty,
        SqlType::Int
            | SqlType::BigInt
            | SqlType::Double
            | SqlType::Date
            | SqlType::Timestamp
            | SqlType::TimestampTz
            | SqlType::Numeric { .. }
            | SqlType::Bool
            | SqlType::Text
            | SqlType::Varchar { .. }
            | SqlType::Char { .. }
            | SqlType::Json
    )
}

fn builder(ty: SqlType) -> Box<dyn ArrayBuilder> {
    match ty {
        SqlType::Int => Box::new(Int32Builder::new()),
        SqlType::BigInt => Box::new(Int64Builder::new()),
        SqlType::Double => Box::new(Float64Builder::new()),
        SqlType::Date => Box::new(Date32Builder::new()),
        SqlType::Timestamp => Box::new(TimestampMicrosecondBuilder::new()),
        SqlType::TimestampTz => Box::new(TimestampMicrosecondBuilder::new().with_timezone("UTC")),
        SqlType::Numeric { precision, scale } => Box::new(
            Decimal128Builder::new()
                .with_precision_and_scale(precision, scale as i8)
                .unwrap_or_default(),
        ),
        SqlType::Bool => Box::new(BooleanBuilder::new()),
        _ => Box::new(StringBuilder::new()),
    }
}

fn invalid(ty: SqlType, value: &str) -> String {
    format!(
        "invalid input syntax for type {}: \"{value}\"",
        ty.to_string().to_lowercase()
    )
}

/// Appends to a builder made by [`builder`] for `ty`.
fn append(b: &mut dyn ArrayBuilder, ty: SqlType, value: Option<&str>) -> Result<(), String> {
    fn typed<T: 'static>(b: &mut dyn ArrayBuilder) -> Result<&mut T, String> {
        b.as_any_mut()
            .downcast_mut::<T>()
            .ok_or_else(|| "internal error: builder of the wrong type".to_string())
    }
    fn parse<V>(
        ty: SqlType,
        value: Option<&str>,
        f: impl Fn(&str) -> Option<V>,
    ) -> Result<Option<V>, String> {
        value
            .map(|v| f(v).ok_or_else(|| invalid(ty, v)))
            .transpose()
    }
    match ty {
        SqlType::Int => typed::<Int32Builder>(b)?.append_option(parse(ty, value, parse_int)?),
        SqlType::BigInt => {
            typed::<Int64Builder>(b)?.append_option(parse(ty, value, parse_bigint)?);
        }
        SqlType::Double => {
            typed::<Float64Builder>(b)?.append_option(parse(ty, value, parse_double)?);
        }
        SqlType::Date => typed::<Date32Builder>(b)?.append_option(parse(ty, value, parse_date)?),
        SqlType::Numeric { precision, scale } => typed::<Decimal128Builder>(b)?
            .append_option(parse(ty, value, |v| parse_decimal(v, precision, scale))?),
        SqlType::Timestamp | SqlType::TimestampTz => typed::<TimestampMicrosecondBuilder>(b)?
            .append_option(parse(ty, value, parse_timestamp)?),
        SqlType::Bool => typed::<BooleanBuilder>(b)?.append_option(parse(ty, value, parse_bool)?),
        _ => typed::<StringBuilder>(b)?.append_option(value),
    }
    Ok(())
}

/// Casts a text column to `ty`, values that do not cast becoming NULL; and
/// those values' rows with the reason. `Err` when the cast is not supported.
#[allow(clippy::type_complexity)] // reason: a pair of results, named at the call sites
fn cast_text(array: &ArrayRef, ty: SqlType) -> (Result<ArrayRef, String>, Vec<(usize, String)>) {
    let target = ty.to_arrow();
    let cast = match cast_with_options(array, &target, &CastOptions::default()) {
        Ok(a) => a,
        Err(e) => return (Err(format!("cannot load text as {ty}: {e}")), Vec::new()),
    };
    let mut failures = Vec::new();
    if cast.null_count() != array.null_count() {
        let text = array.as_any().downcast_ref::<StringArray>();
        for row in 0..array.len() {
            if array.is_valid(row) && cast.is_null(row) {
                let value = text.map_or("", |t| t.value(row));
                failures.push((row, invalid(ty, value)));
            }
        }
    }
    (Ok(cast), failures)
}
