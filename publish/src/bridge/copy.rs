//! Arrow batches to and from the CSV of `COPY ... FROM STDIN / TO STDOUT WITH
//! (FORMAT csv)`.
//!
//! CSV framing: fields separated by `,`, rows ended by `\n`. NULL is an empty
//! unquoted field; every text value is quoted (`""` is the empty string), and a
//! quote inside is doubled. hyperd quotes the same way when it writes.
//!
//! Invariant: a value either crosses exactly (same Arrow value after the round
//! trip) or the write fails with [`Error::HyperValue`]; nothing is rounded or
//! clipped on our side. Values never appear in errors or logs, only their
//! position (table, column, row).

use std::io::BufRead;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder,
    Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder,
    IntervalMonthDayNanoBuilder, StringBuilder, Time64MicrosecondBuilder,
    TimestampMicrosecondBuilder, UInt32Builder,
};
use arrow::datatypes::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    IntervalMonthDayNano, IntervalMonthDayNanoType, SchemaRef, Time64MicrosecondType,
    TimestampMicrosecondType, UInt32Type,
};
use arrow::record_batch::RecordBatch;

use super::text;
use super::types::{HyperTableDef, HyperType};
use crate::error::{Error, Result};

/// Rows per batch when reading.
pub(crate) const READ_BATCH_ROWS: usize = 65_536;

/// Checks that `batch` has the table's columns with their Arrow types.
pub(crate) fn check_batch(def: &HyperTableDef, batch: &RecordBatch) -> Result<()> {
    if batch.num_columns() != def.columns.len() {
        return Err(Error::BatchSchema {
            table: def.sql_name(),
            column: String::new(),
            expected: format!("{} columns", def.columns.len()),
            found: format!("{} columns", batch.num_columns()),
        });
    }
    for (column, array) in def.columns.iter().zip(batch.columns()) {
        let expected = column.sql_type.arrow_type();
        if *array.data_type() != expected {
            return Err(Error::BatchSchema {
                table: def.sql_name(),
                column: column.name.clone(),
                expected: format!("{expected} (for {})", column.sql_type),
                found: array.data_type().to_string(),
            });
        }
    }
    Ok(())
}

/// Appends `batch` (checked with [`check_batch`]) as CSV rows to `out`.
/// `first_row` numbers the batch's first row in errors (0-based within the table).
pub(crate) fn encode_batch(
    def: &HyperTableDef,
    batch: &RecordBatch,
    first_row: u64,
    out: &mut String,
) -> Result<()> {
    for row in 0..batch.num_rows() {
        for (i, (column, array)) in def.columns.iter().zip(batch.columns()).enumerate() {
            if i > 0 {
                out.push(',');
            }
            let bad = |reason: &str| Error::HyperValue {
                table: def.sql_name(),
                column: column.name.clone(),
                row: first_row + row as u64,
                reason: reason.to_owned(),
            };
            if array.is_null(row) {
                if !column.nullable {
                    return Err(bad("NULL in a NOT NULL column"));
                }
                continue;
            }
            encode_value(column.sql_type, array.as_ref(), row, out).map_err(bad)?;
        }
        out.push('\n');
    }
    Ok(())
}

fn quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

/// Writes one non-null value; the array's type was checked against `ty`.
fn encode_value(
    ty: HyperType,
    array: &dyn Array,
    row: usize,
    out: &mut String,
) -> Result<(), &'static str> {
    use std::fmt::Write as _;
    match ty {
        HyperType::Bool => {
            out.push_str(if array.as_boolean().value(row) {
                "true"
            } else {
                "false"
            });
        }
        HyperType::SmallInt => {
            let _ = write!(out, "{}", array.as_primitive::<Int16Type>().value(row));
        }
        HyperType::Int => {
            let _ = write!(out, "{}", array.as_primitive::<Int32Type>().value(row));
        }
        HyperType::BigInt => {
            let _ = write!(out, "{}", array.as_primitive::<Int64Type>().value(row));
        }
        HyperType::Oid => {
            let _ = write!(out, "{}", array.as_primitive::<UInt32Type>().value(row));
        }
        HyperType::Numeric { precision, scale } => {
            let value = array.as_primitive::<Decimal128Type>().value(row);
            if value.unsigned_abs() >= 10_u128.pow(u32::from(precision)) {
                return Err("value has more digits than the column's NUMERIC precision");
            }
            text::write_decimal(out, value, scale);
        }
        HyperType::Double => {
            let v = array.as_primitive::<Float64Type>().value(row);
            text::write_float(out, v, v);
        }
        HyperType::Real => {
            let v = array.as_primitive::<Float32Type>().value(row);
            text::write_float(out, f64::from(v), v);
        }
        HyperType::Text | HyperType::Varchar(_) | HyperType::Char(_) | HyperType::Json => {
            let value = array.as_string::<i32>().value(row);
            if value.contains('\0') {
                return Err("text contains a NUL character, which Hyper does not store");
            }
            quoted(out, value);
        }
        HyperType::Bytes => text::write_hex(out, array.as_binary::<i32>().value(row)),
        HyperType::Geography => {
            let wkt = std::str::from_utf8(array.as_binary::<i32>().value(row))
                .map_err(|_| "geography must be well-known text (WKT) in UTF-8")?;
            quoted(out, wkt);
        }
        HyperType::Date => text::write_date(out, array.as_primitive::<Date32Type>().value(row)),
        HyperType::Time => {
            text::write_time(
                out,
                array.as_primitive::<Time64MicrosecondType>().value(row),
            )
            .ok_or("TIME outside 00:00:00 ..= 24:00:00")?;
        }
        HyperType::Timestamp | HyperType::TimestampTz => {
            let micros = array.as_primitive::<TimestampMicrosecondType>().value(row);
            text::write_timestamp(out, micros, ty == HyperType::TimestampTz);
        }
        HyperType::Interval => {
            let IntervalMonthDayNano {
                months,
                days,
                nanoseconds,
            } = array.as_primitive::<IntervalMonthDayNanoType>().value(row);
            text::write_interval(out, months, days, nanoseconds)
                .ok_or("INTERVAL with a fraction of a microsecond")?;
        }
    }
    Ok(())
}

/// Reads hyperd's CSV rows one at a time.
#[derive(Debug)]
pub(crate) struct CsvReader<R> {
    inner: R,
    line: Vec<u8>,
}

impl<R: BufRead> CsvReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            line: Vec::new(),
        }
    }

    /// The next row: `None` at the end, each field `None` for NULL.
    pub(crate) fn next_row(&mut self) -> Result<Option<Vec<Option<String>>>, String> {
        self.line.clear();
        loop {
            let n = self
                .inner
                .read_until(b'\n', &mut self.line)
                .map_err(|e| format!("reading COPY output: {e}"))?;
            let quotes = self.line.iter().filter(|b| **b == b'"').count();
            if n == 0 || quotes % 2 == 0 {
                break;
            }
        }
        if self.line.is_empty() {
            return Ok(None);
        }
        if self.line.last() == Some(&b'\n') {
            self.line.pop();
        }
        split_fields(&self.line).map(Some)
    }
}

fn split_fields(line: &[u8]) -> Result<Vec<Option<String>>, String> {
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        let (field, next) = if line.get(i) == Some(&b'"') {
            let mut value = Vec::new();
            let mut j = i + 1;
            loop {
                match line.get(j) {
                    Some(b'"') if line.get(j + 1) == Some(&b'"') => {
                        value.push(b'"');
                        j += 2;
                    }
                    Some(b'"') => break,
                    Some(b) => {
                        value.push(*b);
                        j += 1;
                    }
                    None => return Err("unterminated quoted field".to_owned()),
                }
            }
            (Some(value), j + 1)
        } else {
            let end = line[i..]
                .iter()
                .position(|b| *b == b',')
                .map_or(line.len(), |p| i + p);
            let value = &line[i..end];
            ((!value.is_empty()).then(|| value.to_vec()), end)
        };
        let field = field
            .map(String::from_utf8)
            .transpose()
            .map_err(|_| "invalid UTF-8".to_owned())?;
        fields.push(field);
        match line.get(next) {
            None => return Ok(fields),
            Some(b',') => i = next + 1,
            Some(_) => return Err("garbage after a quoted field".to_owned()),
        }
    }
}

/// Builds one column of a batch being read.
#[derive(Debug)]
enum ColumnBuilder {
    Bool(BooleanBuilder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    U32(UInt32Builder),
    Decimal(Decimal128Builder, u8, u8),
    F64(Float64Builder),
    F32(Float32Builder),
    Utf8(StringBuilder),
    Bytes(BinaryBuilder),
    Wkt(BinaryBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Timestamp(TimestampMicrosecondBuilder, bool),
    Interval(IntervalMonthDayNanoBuilder),
}

impl ColumnBuilder {
    fn new(ty: HyperType) -> Self {
        match ty {
            HyperType::Bool => Self::Bool(BooleanBuilder::new()),
            HyperType::SmallInt => Self::I16(Int16Builder::new()),
            HyperType::Int => Self::I32(Int32Builder::new()),
            HyperType::BigInt => Self::I64(Int64Builder::new()),
            HyperType::Oid => Self::U32(UInt32Builder::new()),
            HyperType::Numeric { precision, scale } => {
                Self::Decimal(Decimal128Builder::new(), precision, scale)
            }
            HyperType::Double => Self::F64(Float64Builder::new()),
            HyperType::Real => Self::F32(Float32Builder::new()),
            HyperType::Text | HyperType::Varchar(_) | HyperType::Char(_) | HyperType::Json => {
                Self::Utf8(StringBuilder::new())
            }
            HyperType::Bytes => Self::Bytes(BinaryBuilder::new()),
            HyperType::Geography => Self::Wkt(BinaryBuilder::new()),
            HyperType::Date => Self::Date(Date32Builder::new()),
            HyperType::Time => Self::Time(Time64MicrosecondBuilder::new()),
            HyperType::Timestamp => Self::Timestamp(TimestampMicrosecondBuilder::new(), false),
            HyperType::TimestampTz => Self::Timestamp(TimestampMicrosecondBuilder::new(), true),
            HyperType::Interval => Self::Interval(IntervalMonthDayNanoBuilder::new()),
        }
    }

    /// Appends one field; `None` if the text does not parse as this type.
    fn push(&mut self, field: Option<&str>) -> Option<()> {
        let Some(v) = field else {
            self.push_null();
            return Some(());
        };
        match self {
            Self::Bool(b) => b.append_value(match v {
                "t" | "true" => true,
                "f" | "false" => false,
                _ => return None,
            }),
            Self::I16(b) => b.append_value(v.parse().ok()?),
            Self::I32(b) => b.append_value(v.parse().ok()?),
            Self::I64(b) => b.append_value(v.parse().ok()?),
            Self::U32(b) => b.append_value(v.parse().ok()?),
            Self::Decimal(b, _, scale) => b.append_value(text::parse_decimal(v, *scale)?),
            Self::F64(b) => b.append_value(v.parse().ok()?),
            Self::F32(b) => b.append_value(v.parse().ok()?),
            Self::Utf8(b) => b.append_value(v),
            Self::Bytes(b) => b.append_value(text::parse_hex(v)?),
            Self::Wkt(b) => b.append_value(v.as_bytes()),
            Self::Date(b) => b.append_value(text::parse_date(v)?),
            Self::Time(b) => b.append_value(text::parse_time(v)?),
            Self::Timestamp(b, tz) => b.append_value(text::parse_timestamp(v, *tz)?),
            Self::Interval(b) => {
                let (months, days, micros) = text::parse_interval(v)?;
                let nanoseconds = micros.checked_mul(1000)?;
                b.append_value(IntervalMonthDayNano::new(months, days, nanoseconds));
            }
        }
        Some(())
    }

    fn push_null(&mut self) {
        match self {
            Self::Bool(b) => b.append_null(),
            Self::I16(b) => b.append_null(),
            Self::I32(b) => b.append_null(),
            Self::I64(b) => b.append_null(),
            Self::U32(b) => b.append_null(),
            Self::Decimal(b, ..) => b.append_null(),
            Self::F64(b) => b.append_null(),
            Self::F32(b) => b.append_null(),
            Self::Utf8(b) => b.append_null(),
            Self::Bytes(b) | Self::Wkt(b) => b.append_null(),
            Self::Date(b) => b.append_null(),
            Self::Time(b) => b.append_null(),
            Self::Timestamp(b, _) => b.append_null(),
            Self::Interval(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> Result<ArrayRef, String> {
        Ok(match self {
            Self::Bool(b) => Arc::new(b.finish()),
            Self::I16(b) => Arc::new(b.finish()),
            Self::I32(b) => Arc::new(b.finish()),
            Self::I64(b) => Arc::new(b.finish()),
            Self::U32(b) => Arc::new(b.finish()),
            Self::Decimal(b, precision, scale) => Arc::new(
                b.finish()
                    .with_precision_and_scale(*precision, *scale as i8)
                    .map_err(|e| e.to_string())?,
            ),
            Self::F64(b) => Arc::new(b.finish()),
            Self::F32(b) => Arc::new(b.finish()),
            Self::Utf8(b) => Arc::new(b.finish()),
            Self::Bytes(b) | Self::Wkt(b) => Arc::new(b.finish()),
            Self::Date(b) => Arc::new(b.finish()),
            Self::Time(b) => Arc::new(b.finish()),
            Self::Timestamp(b, true) => Arc::new(b.finish().with_timezone("UTC")),
            Self::Timestamp(b, false) => Arc::new(b.finish()),
            Self::Interval(b) => Arc::new(b.finish()),
        })
    }
}

/// Reads all of a table's CSV rows into batches of [`READ_BATCH_ROWS`].
pub(crate) fn decode_table(def: &HyperTableDef, input: impl BufRead) -> Result<Vec<RecordBatch>> {
    let schema: SchemaRef = Arc::new(def.arrow_schema());
    let mut builders: Vec<ColumnBuilder> = def
        .columns
        .iter()
        .map(|c| ColumnBuilder::new(c.sql_type))
        .collect();
    let mut reader = CsvReader::new(input);
    let mut batches = Vec::new();
    let mut rows_in_batch = 0;
    let mut row: u64 = 0;
    let bad = |column: &str, row: u64, reason: String| Error::HyperValue {
        table: def.sql_name(),
        column: column.to_owned(),
        row,
        reason,
    };
    while let Some(fields) = reader.next_row().map_err(|e| bad("", row, e))? {
        if fields.len() != def.columns.len() {
            let reason = format!("{} fields, expected {}", fields.len(), def.columns.len());
            return Err(bad("", row, reason));
        }
        for ((builder, column), field) in builders.iter_mut().zip(&def.columns).zip(&fields) {
            if field.is_none() && !column.nullable {
                return Err(bad(
                    &column.name,
                    row,
                    "NULL in a NOT NULL column".to_owned(),
                ));
            }
            builder.push(field.as_deref()).ok_or_else(|| {
                bad(
                    &column.name,
                    row,
                    format!("hyperd sent text that is not a {}", column.sql_type),
                )
            })?;
        }
        row += 1;
        rows_in_batch += 1;
        if rows_in_batch == READ_BATCH_ROWS {
            batches.push(finish_batch(def, &schema, &mut builders)?);
            rows_in_batch = 0;
        }
    }
    if rows_in_batch > 0 || batches.is_empty() {
        batches.push(finish_batch(def, &schema, &mut builders)?);
    }
    Ok(batches)
}

fn finish_batch(
    def: &HyperTableDef,
    schema: &SchemaRef,
    builders: &mut [ColumnBuilder],
) -> Result<RecordBatch> {
    let internal = |e: String| Error::Internal {
        what: format!("building a batch of {}: {e}", def.sql_name()),
    };
    let arrays = builders
        .iter_mut()
        .map(ColumnBuilder::finish)
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    RecordBatch::try_new(Arc::clone(schema), arrays).map_err(|e| internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::types::HyperColumn;

    fn def(columns: Vec<HyperColumn>) -> HyperTableDef {
        HyperTableDef::new("Extract", "Extract", columns)
    }

    #[test]
    fn csv_framing() {
        let input: &[u8] = b"1,\"a,\"\"b\"\"\nc\",,\"\"\n2,x,y,z\n";
        let mut reader = CsvReader::new(input);
        assert_eq!(
            reader.next_row().unwrap().unwrap(),
            vec![
                Some("1".to_owned()),
                Some("a,\"b\"\nc".to_owned()),
                None,
                Some(String::new())
            ]
        );
        assert_eq!(reader.next_row().unwrap().unwrap().len(), 4);
        assert_eq!(reader.next_row().unwrap(), None);
        assert!(split_fields(b"\"a\"b").is_err());
        assert!(split_fields(b"\"a").is_err());
        assert!(split_fields(b"\xff").is_err());
        assert_eq!(split_fields(b"").unwrap(), vec![None]);
    }

    #[test]
    fn encode_then_decode_in_memory() {
        let d = def(vec![
            HyperColumn::new("t", HyperType::Text, true),
            HyperColumn::new("n", HyperType::numeric(38, 10).unwrap(), true),
            HyperColumn::new("b", HyperType::Bool, false),
        ]);
        let schema = Arc::new(d.arrow_schema());
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(arrow::array::StringArray::from(vec![
                    Some(""),
                    None,
                    Some("q\"\n,"),
                ])),
                Arc::new(
                    arrow::array::Decimal128Array::from(vec![
                        Some(-1),
                        Some(10_i128.pow(38) - 1),
                        None,
                    ])
                    .with_precision_and_scale(38, 10)
                    .unwrap(),
                ),
                Arc::new(arrow::array::BooleanArray::from(vec![true, false, true])),
            ],
        )
        .unwrap();
        check_batch(&d, &batch).unwrap();
        let mut out = String::new();
        encode_batch(&d, &batch, 0, &mut out).unwrap();
        assert_eq!(
            out,
            "\"\",-0.0000000001,true\n,9999999999999999999999999999.9999999999,false\n\"q\"\"\n,\",,true\n"
        );
        // hyperd prints booleans as t/f; the decoder takes both spellings.
        let back = decode_table(&d, out.as_bytes()).unwrap();
        assert_eq!(back, vec![batch]);
    }

    #[test]
    fn bad_batches_and_values_are_errors() {
        let d = def(vec![HyperColumn::new("i", HyperType::Int, false)]);
        let wrong = RecordBatch::try_from_iter([(
            "i",
            Arc::new(arrow::array::Int64Array::from(vec![1])) as ArrayRef,
        )])
        .unwrap();
        assert!(matches!(
            check_batch(&d, &wrong),
            Err(Error::BatchSchema { .. })
        ));
        let nulls = RecordBatch::try_from_iter([(
            "i",
            Arc::new(arrow::array::Int32Array::from(vec![Some(1), None])) as ArrayRef,
        )])
        .unwrap();
        match encode_batch(&d, &nulls, 10, &mut String::new()) {
            Err(Error::HyperValue { row, column, .. }) => {
                assert_eq!((row, column.as_str()), (11, "i"))
            }
            other => panic!("{other:?}"),
        }
        for input in ["x\n", "1,2\n", "\n", "99999999999\n"] {
            assert!(
                matches!(
                    decode_table(&d, input.as_bytes()),
                    Err(Error::HyperValue { .. })
                ),
                "{input:?}"
            );
        }
        let empty = decode_table(&d, &b""[..]).unwrap();
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].num_rows(), 0);
    }
}
