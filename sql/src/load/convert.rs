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

use super::fastparse;
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

/// The builder of one column: its Arrow builder, concrete, so that
/// appending a value costs no virtual call or downcast.
enum Column {
    Int(Int32Builder),
    BigInt(Int64Builder),
    Double(Float64Builder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Numeric(Decimal128Builder),
    Bool(BooleanBuilder),
    /// Text, VARCHAR(n), CHAR(n), JSON, and the deferred types as text.
    Text(StringBuilder),
}

impl Column {
    fn as_builder(&mut self) -> &mut dyn ArrayBuilder {
        match self {
            Column::Int(b) => b,
            Column::BigInt(b) => b,
            Column::Double(b) => b,
            Column::Date(b) => b,
            Column::Timestamp(b) => b,
            Column::Numeric(b) => b,
            Column::Bool(b) => b,
            Column::Text(b) => b,
        }
    }

    fn as_builder_ref(&self) -> &dyn ArrayBuilder {
        match self {
            Column::Int(b) => b,
            Column::BigInt(b) => b,
            Column::Double(b) => b,
            Column::Date(b) => b,
            Column::Timestamp(b) => b,
            Column::Numeric(b) => b,
            Column::Bool(b) => b,
            Column::Text(b) => b,
        }
    }
}

/// Builders for one batch of rows.
pub(crate) struct BatchBuilder {
    columns: Vec<ColumnDef>,
    builders: Vec<Column>,
    rows: usize,
    /// Rows the builders have room for.
    capacity: usize,
    /// Per column, string bytes per row seen in the last batch (to size the
    /// next one's buffer).
    text_bytes_per_row: Vec<usize>,
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
    /// Builders with room for `capacity` rows (they grow past it).
    pub(crate) fn new(columns: &[ColumnDef], capacity: usize) -> Self {
        let text_bytes_per_row = vec![16; columns.len()];
        BatchBuilder {
            columns: columns.to_vec(),
            builders: columns
                .iter()
                .zip(&text_bytes_per_row)
                .map(|(c, &w)| builder(c.ty, capacity, w))
                .collect(),
            rows: 0,
            capacity,
            text_bytes_per_row,
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
        append(&mut self.builders[column], ty, value)
    }

    /// Appends a NULL to column `column`.
    pub(crate) fn append_null(&mut self, column: usize) {
        match &mut self.builders[column] {
            Column::Int(b) => b.append_null(),
            Column::BigInt(b) => b.append_null(),
            Column::Double(b) => b.append_null(),
            Column::Date(b) => b.append_null(),
            Column::Timestamp(b) => b.append_null(),
            Column::Numeric(b) => b.append_null(),
            Column::Bool(b) => b.append_null(),
            Column::Text(b) => b.append_null(),
        }
    }

    /// Appends a non-NULL field from its bytes when its spelling is one the
    /// byte parsers of `fastparse` are sure of; `false`: nothing appended,
    /// the caller goes through [`BatchBuilder::append`], which decides.
    #[inline]
    pub(crate) fn append_fast(&mut self, column: usize, bytes: &[u8]) -> bool {
        match &mut self.builders[column] {
            Column::Int(b) => fastparse::int(bytes).map(|v| b.append_value(v)).is_some(),
            Column::BigInt(b) => fastparse::bigint(bytes)
                .map(|v| b.append_value(v))
                .is_some(),
            Column::Date(b) => fastparse::date(bytes).map(|v| b.append_value(v)).is_some(),
            Column::Numeric(b) => match self.columns[column].ty {
                SqlType::Numeric { precision, scale } => {
                    fastparse::decimal(bytes, precision, scale)
                        .map(|v| b.append_value(v))
                        .is_some()
                }
                _ => false,
            },
            _ => false,
        }
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
            SqlType::Varchar { .. } | SqlType::Char { .. } => return fit_text(v, ty).map(drop),
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
            let array = b.as_builder_ref().finish_cloned();
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
    /// NULL in the batch: the caller fails or drops their rows). The
    /// builders start over with room for `next_capacity` rows.
    ///
    /// # Errors
    /// An internal error when the arrays do not make a batch.
    pub(crate) fn finish(
        &mut self,
        schema: &SchemaRef,
        next_capacity: usize,
    ) -> Result<(RecordBatch, Vec<ValueError>), String> {
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.builders.len());
        let mut bad = Vec::new();
        let rows = self.rows.max(1);
        self.capacity = next_capacity;
        for (i, b) in self.builders.iter_mut().enumerate() {
            let ty = self.columns[i].ty;
            if let Column::Text(t) = b {
                self.text_bytes_per_row[i] = t.values_slice().len().div_ceil(rows);
            }
            let mut fresh = builder(ty, self.capacity, self.text_bytes_per_row[i]);
            std::mem::swap(b, &mut fresh);
            let array = fresh.as_builder().finish();
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
pub(crate) fn deferred(ty: SqlType) -> bool {
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

/// The builder of a column of type `ty` with room for `rows` rows (and
/// `text_bytes_per_row` bytes a row of string data).
fn builder(ty: SqlType, rows: usize, text_bytes_per_row: usize) -> Column {
    match ty {
        SqlType::Int => Column::Int(Int32Builder::with_capacity(rows)),
        SqlType::BigInt => Column::BigInt(Int64Builder::with_capacity(rows)),
        SqlType::Double => Column::Double(Float64Builder::with_capacity(rows)),
        SqlType::Date => Column::Date(Date32Builder::with_capacity(rows)),
        SqlType::Timestamp => Column::Timestamp(TimestampMicrosecondBuilder::with_capacity(rows)),
        SqlType::TimestampTz => {
            Column::Timestamp(TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"))
        }
        SqlType::Numeric { precision, scale } => Column::Numeric(
            Decimal128Builder::with_capacity(rows)
                .with_precision_and_scale(precision, scale as i8)
                .unwrap_or_default(),
        ),
        SqlType::Bool => Column::Bool(BooleanBuilder::with_capacity(rows)),
        _ => Column::Text(StringBuilder::with_capacity(
            rows,
            rows.saturating_mul(text_bytes_per_row),
        )),
    }
}

fn invalid(ty: SqlType, value: &str) -> String {
    format!(
        "invalid input syntax for type {}: \"{value}\"",
        ty.to_string().to_lowercase()
    )
}

/// Hyper's error for a string longer than VARCHAR(n) / CHAR(n) allow.
pub(crate) const STRING_TOO_LARGE: &str = "string too large for target string type";

/// `v` as stored in a column of type `ty`: as is, except that CHAR(n)
/// drops trailing blanks (Hyper stores CHAR(n) values without them, and
/// takes a value whose characters past n are all blanks).
///
/// # Errors
/// [`STRING_TOO_LARGE`] when `v` has more than n characters (CHAR(n):
/// without its trailing blanks), as Hyper's COPY says.
fn fit_text(v: &str, ty: SqlType) -> Result<&str, String> {
    let (v, max) = match ty {
        SqlType::Varchar { max_length } => (v, max_length as usize),
        SqlType::Char { length } => (v.trim_end_matches(' '), length as usize),
        _ => return Ok(v),
    };
    // Characters are at most bytes: most values need no count.
    if v.len() > max && v.chars().count() > max {
        return Err(STRING_TOO_LARGE.to_string());
    }
    Ok(v)
}

/// Appends to a builder made by [`builder`] for `ty`.
fn append(b: &mut Column, ty: SqlType, value: Option<&str>) -> Result<(), String> {
    fn parse<V>(
        ty: SqlType,
        value: Option<&str>,
        f: impl Fn(&str) -> Option<V>,
    ) -> Result<Option<V>, String> {
        value
            .map(|v| f(v).ok_or_else(|| invalid(ty, v)))
            .transpose()
    }
    match b {
        Column::Int(b) => b.append_option(parse(ty, value, parse_int)?),
        Column::BigInt(b) => b.append_option(parse(ty, value, parse_bigint)?),
        Column::Double(b) => b.append_option(parse(ty, value, parse_double)?),
        Column::Date(b) => b.append_option(parse(ty, value, parse_date)?),
        Column::Numeric(b) => {
            let SqlType::Numeric { precision, scale } = ty else {
                return Err("internal error: builder of the wrong type".to_string());
            };
            b.append_option(parse(ty, value, |v| parse_decimal(v, precision, scale))?);
        }
        Column::Timestamp(b) => b.append_option(parse(ty, value, parse_timestamp)?),
        Column::Bool(b) => b.append_option(parse(ty, value, parse_bool)?),
        Column::Text(b) => match value {
            Some(v) => b.append_value(fit_text(v, ty)?),
            None => b.append_null(),
        },
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
