//! Arrays (Hyper's one-dimensional `array(T)`, an Arrow `List` whose items
//! field is `Field::new_list_field(T, true)`): the `ARRAY[...]` constructor,
//! subscripts and slices, `array_length`, `array_to_string`, `||`, `=`,
//! and the text form of arrays (casts both ways, and result printing).
//!
//! Text form (hyperd's): `[1,NULL,3]`; numbers and booleans (`t`, `f`) bare,
//! every other element in double quotes with `"` and `\` escaped by a
//! backslash: `["a b","e\"f"]`. Reading accepts blanks around elements and
//! unquoted text; curly braces (PostgreSQL's form) are an error, as in Hyper.
//!
//! Invariant: every list this module builds has the canonical items field,
//! so that its type equals `SqlType::to_arrow` of the array type.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int32Array, Int64Array, ListArray, StringArray,
    StringBuilder, UInt32Array,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type, IntervalMonthDayNanoType, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use super::{ScalarFunction, bad_args};
use crate::error::{Error, Result};

/// The canonical items field of an array of `element`s.
fn item_field(element: &DataType) -> FieldRef {
    Arc::new(Field::new_list_field(element.clone(), true))
}

/// The array type of `element`s.
pub(crate) fn list_of(element: &DataType) -> DataType {
    DataType::List(item_field(element))
}

fn element_of(t: &DataType) -> Option<&DataType> {
    match t {
        DataType::List(f) => Some(f.data_type()),
        _ => None,
    }
}

pub(super) fn return_type(func: ScalarFunction, args: &[DataType]) -> Result<DataType> {
    use ScalarFunction::*;
    let bad = || bad_args(func, args);
    match (func, args) {
        (MakeArray, [first, rest @ ..]) if rest.iter().all(|t| t == first) => {
            if element_of(first).is_some() {
                return Err(bad());
            }
            Ok(list_of(first))
        }
        (ArrayElement, [DataType::List(f), DataType::Int64]) => Ok(f.data_type().clone()),
        (ArraySlice, [l @ DataType::List(_), DataType::Int64, DataType::Int64]) => Ok(l.clone()),
        (ArrayLength, [DataType::List(_)]) => Ok(DataType::Int32),
        (ArrayToString, [DataType::List(_), DataType::Utf8])
        | (ArrayToString, [DataType::List(_), DataType::Utf8, DataType::Utf8]) => {
            Ok(DataType::Utf8)
        }
        (ArrayConcat, [a @ DataType::List(_), b]) if a == b => Ok(a.clone()),
        (ArrayAppend, [a @ DataType::List(f), e]) if f.data_type() == e => Ok(a.clone()),
        (ArrayPrepend, [e, a @ DataType::List(f)]) if f.data_type() == e => Ok(a.clone()),
        (ArrayEquals { .. }, [a @ DataType::List(_), b]) if a == b => Ok(DataType::Boolean),
        _ => Err(bad()),
    }
}

pub(super) fn evaluate(func: ScalarFunction, args: &[ArrayRef]) -> Result<ArrayRef> {
    use ScalarFunction::*;
    let list = |i: usize| -> Result<&ListArray> {
        args.get(i)
            .and_then(|a| a.as_list_opt::<i32>())
            .ok_or_else(|| bad_args(func, &types(args)))
    };
    match func {
        MakeArray => make_array(args),
        ArrayElement => element_at(list(0)?, args[1].as_primitive::<Int64Type>()),
        ArraySlice => slice(
            list(0)?,
            args[1].as_primitive::<Int64Type>(),
            args[2].as_primitive::<Int64Type>(),
        ),
        ArrayLength => {
            let l = list(0)?;
            let lengths: Int32Array = (0..l.len())
                .map(|i| l.is_valid(i).then(|| l.value_length(i)))
                .collect();
            Ok(Arc::new(lengths))
        }
        ArrayToString => to_string(list(0)?, args[1].as_string::<i32>(), args.get(2)),
        ArrayConcat => concat(list(0)?, list(1)?),
        ArrayAppend => {
            let single = make_array(&args[1..2])?;
            concat(list(0)?, single.as_list::<i32>())
        }
        ArrayPrepend => {
            let single = make_array(&args[0..1])?;
            concat(single.as_list::<i32>(), list(1)?)
        }
        ArrayEquals { negated } => equals(list(0)?, list(1)?, negated),
        _ => Err(bad_args(func, &types(args))),
    }
}

fn types(args: &[ArrayRef]) -> Vec<DataType> {
    args.iter().map(|a| a.data_type().clone()).collect()
}

/// `ARRAY[a, b, ...]`: one array per row, NULL elements kept.
fn make_array(args: &[ArrayRef]) -> Result<ArrayRef> {
    let Some(first) = args.first() else {
        return Err(Error::internal("ARRAY[] without elements"));
    };
    let rows = first.len();
    let width = args.len();
    // Row-major interleaving: element k of row r is args[k][r].
    let indices: Vec<(usize, usize)> = (0..rows)
        .flat_map(|r| (0..width).map(move |k| (k, r)))
        .collect();
    let refs: Vec<&dyn Array> = args.iter().map(|a| a.as_ref()).collect();
    let values = arrow::compute::interleave(&refs, &indices)?;
    let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(width, rows));
    Ok(Arc::new(ListArray::try_new(
        item_field(first.data_type()),
        offsets,
        values,
        None,
    )?))
}

/// Builds a list array from per-row picks (`None`: a NULL array) of
/// positions into `values`.
fn pick(
    field: FieldRef,
    values: &ArrayRef,
    rows: impl Iterator<Item = Option<std::ops::Range<usize>>>,
) -> Result<ArrayRef> {
    let mut lengths = Vec::new();
    let mut validity = Vec::new();
    let mut indices = Vec::new();
    for row in rows {
        validity.push(row.is_some());
        let range = row.unwrap_or(0..0);
        lengths.push(range.len());
        for i in range {
            indices.push(u32::try_from(i).map_err(|_| Error::internal("array too large"))?);
        }
    }
    let taken = arrow::compute::take(values.as_ref(), &UInt32Array::from(indices), None)?;
    let nulls = NullBuffer::from(validity);
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    Ok(Arc::new(ListArray::try_new(
        field,
        OffsetBuffer::from_lengths(lengths),
        taken,
        nulls,
    )?))
}

/// The value range of row `i` of `l` in its values array.
fn range_of(l: &ListArray, i: usize) -> std::ops::Range<usize> {
    let offsets = l.value_offsets();
    offsets[i] as usize..offsets[i + 1] as usize
}

/// `a[i]`, 1-based; NULL outside the array.
fn element_at(l: &ListArray, at: &arrow::array::Int64Array) -> Result<ArrayRef> {
    let indices: UInt32Array = (0..l.len())
        .map(|row| {
            if l.is_null(row) || at.is_null(row) {
                return Ok(None);
            }
            let range = range_of(l, row);
            let k = at.value(row);
            if k < 1 || k as u64 > range.len() as u64 {
                return Ok(None);
            }
            u32::try_from(range.start + (k - 1) as usize)
                .map(Some)
                .map_err(|_| Error::internal("array too large"))
        })
        .collect::<Result<_>>()?;
    Ok(arrow::compute::take(l.values().as_ref(), &indices, None)?)
}

/// `a[lo:hi]`, 1-based and inclusive, clamped to the array.
fn slice(
    l: &ListArray,
    lo: &arrow::array::Int64Array,
    hi: &arrow::array::Int64Array,
) -> Result<ArrayRef> {
    let rows = (0..l.len()).map(|row| {
        if l.is_null(row) || lo.is_null(row) || hi.is_null(row) {
            return None;
        }
        let range = range_of(l, row);
        let len = range.len() as i64;
        let from = lo.value(row).max(1);
        let to = hi.value(row).min(len);
        if from > to {
            return Some(range.start..range.start);
        }
        Some(range.start + (from - 1) as usize..range.start + to as usize)
    });
    pick(item_field(&l.value_type()), l.values(), rows)
}

/// `a || b`: NULL arrays count as empty (as Hyper: `[1] || NULL::int[]` is
/// `[1]`); NULL only when both are.
fn concat(a: &ListArray, b: &ListArray) -> Result<ArrayRef> {
    let both = arrow::compute::concat(&[a.values().as_ref(), b.values().as_ref()])?;
    let shift = a.values().len();
    let mut lengths = Vec::with_capacity(a.len());
    let mut validity = Vec::with_capacity(a.len());
    let mut indices = Vec::new();
    for row in 0..a.len() {
        validity.push(a.is_valid(row) || b.is_valid(row));
        let mut n = 0;
        if a.is_valid(row) {
            let r = range_of(a, row);
            n += r.len();
            indices.extend(r);
        }
        if b.is_valid(row) {
            let r = range_of(b, row);
            n += r.len();
            indices.extend(r.map(|i| i + shift));
        }
        lengths.push(n);
    }
    let indices = indices
        .into_iter()
        .map(u32::try_from)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| Error::internal("array too large"))?;
    let taken = arrow::compute::take(both.as_ref(), &UInt32Array::from(indices), None)?;
    let nulls = NullBuffer::from(validity);
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    Ok(Arc::new(ListArray::try_new(
        item_field(&a.value_type()),
        OffsetBuffer::from_lengths(lengths),
        taken,
        nulls,
    )?))
}

/// `a = b`: NULL when an array is NULL, FALSE for different lengths, else
/// SQL's AND over the element comparisons (so NULL elements make NULL
/// unless some pair differs).
fn equals(a: &ListArray, b: &ListArray, negated: bool) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(a.len());
    for row in 0..a.len() {
        if a.is_null(row) || b.is_null(row) {
            out.push(None);
            continue;
        }
        let (x, y) = (a.value(row), b.value(row));
        if x.len() != y.len() {
            out.push(Some(negated));
            continue;
        }
        let eq = arrow::compute::kernels::cmp::eq(&x, &y)?;
        let answer = if eq.false_count() > 0 {
            Some(false)
        } else if eq.null_count() > 0 {
            None
        } else {
            Some(true)
        };
        out.push(answer.map(|v| v != negated));
    }
    Ok(Arc::new(BooleanArray::from(out)))
}

/// `array_to_string(a, sep [, null_text])`: NULL elements are skipped
/// unless `null_text` is given.
fn to_string(l: &ListArray, sep: &StringArray, null_text: Option<&ArrayRef>) -> Result<ArrayRef> {
    let null_text = null_text.map(|a| a.as_string::<i32>());
    let texts = element_texts(l.values())?;
    let mut out = StringBuilder::new();
    for row in 0..l.len() {
        if l.is_null(row) || sep.is_null(row) {
            out.append_null();
            continue;
        }
        let fill = null_text.and_then(|n| n.is_valid(row).then(|| n.value(row)));
        let mut parts = Vec::new();
        for i in range_of(l, row) {
            match (&texts[i], fill) {
                (Some(t), _) => parts.push(t.as_str()),
                (None, Some(f)) => parts.push(f),
                (None, None) => {}
            }
        }
        out.append_value(parts.join(sep.value(row)));
    }
    Ok(Arc::new(out.finish()))
}

/// Whether elements of this type print without quotes.
fn bare(t: &DataType) -> bool {
    t.is_numeric() || matches!(t, DataType::Boolean | DataType::UInt32)
}

/// The text of each element (`None` for NULL), as Hyper prints it inside an
/// array (and casts it to text): `t`/`f`, numbers as cast to text, dates
/// and times without trailing zeros in fractions, intervals in ISO 8601.
fn element_texts(values: &ArrayRef) -> Result<Vec<Option<String>>> {
    let valid = |i: usize| values.is_valid(i);
    Ok(match values.data_type() {
        DataType::Boolean => {
            let b = values.as_boolean();
            (0..b.len())
                .map(|i| valid(i).then(|| if b.value(i) { "t" } else { "f" }.to_owned()))
                .collect()
        }
        DataType::Interval(_) => {
            let v = values.as_primitive::<IntervalMonthDayNanoType>();
            (0..v.len())
                .map(|i| {
                    valid(i).then(|| {
                        let x = v.value(i);
                        interval_text(x.months, x.days, x.nanoseconds)
                    })
                })
                .collect()
        }
        DataType::Binary => {
            let b = values.as_binary::<i32>();
            (0..b.len())
                .map(|i| {
                    valid(i).then(|| {
                        let hex: String = b.value(i).iter().map(|x| format!("{x:02x}")).collect();
                        format!("\\x{hex}")
                    })
                })
                .collect()
        }
        DataType::Date32 | DataType::Time64(_) | DataType::Timestamp(_, _) => {
            temporal_texts(values)?
        }
        _ => {
            let text = crate::cast::cast(values, &DataType::Utf8)?;
            let s = text.as_string::<i32>();
            (0..s.len())
                .map(|i| s.is_valid(i).then(|| s.value(i).to_owned()))
                .collect()
        }
    })
}

fn temporal_texts(values: &ArrayRef) -> Result<Vec<Option<String>>> {
    let utc = matches!(values.data_type(), DataType::Timestamp(_, Some(_)));
    let shown: ArrayRef = match values.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => Arc::new(
            values
                .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                .clone()
                .with_timezone_opt(None::<String>),
        ),
        _ => values.clone(),
    };
    let options = FormatOptions::default()
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_time_format(Some("%H:%M:%S%.f"));
    let f = ArrayFormatter::try_new(shown.as_ref(), &options)?;
    Ok((0..shown.len())
        .map(|i| {
            shown.is_valid(i).then(|| {
                let text = trim_fraction_zeros(f.value(i).to_string());
                if utc { format!("{text}+00") } else { text }
            })
        })
        .collect())
}

/// `text` without the trailing zeros of a trailing `.digits` fraction, and
/// without the point when nothing is left of it: `12:30:05.500` becomes
/// `12:30:05.5`, `12:30:05.000` becomes `12:30:05` (how hyperd prints
/// fractions of a second).
pub fn trim_fraction_zeros(text: String) -> String {
    match text.rsplit_once('.') {
        Some((whole, frac)) if frac.bytes().all(|b| b.is_ascii_digit()) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                whole.to_owned()
            } else {
                format!("{whole}.{frac}")
            }
        }
        _ => text,
    }
}

/// Hyper's ISO 8601 interval text: `P1Y2M3DT4H5M6.5S`, `PT0S` for zero
/// (how hyperd prints an interval, alone or in an array).
pub fn interval_text(months: i32, days: i32, nanos: i64) -> String {
    use std::fmt::Write as _;
    let mut s = String::from("P");
    let (years, months) = (months / 12, months % 12);
    for (v, unit) in [(years, 'Y'), (months, 'M'), (days, 'D')] {
        if v != 0 {
            let _ = write!(s, "{v}{unit}");
        }
    }
    let micros = nanos / 1000;
    if micros != 0 {
        s.push('T');
        let (hours, rest) = (micros / 3_600_000_000, micros % 3_600_000_000);
        let (minutes, rest) = (rest / 60_000_000, rest % 60_000_000);
        if hours != 0 {
            let _ = write!(s, "{hours}H");
        }
        if minutes != 0 {
            let _ = write!(s, "{minutes}M");
        }
        if rest != 0 {
            let (secs, frac) = (rest / 1_000_000, (rest % 1_000_000).abs());
            let sign = if rest < 0 && secs == 0 { "-" } else { "" };
            if frac == 0 {
                let _ = write!(s, "{sign}{secs}S");
            } else {
                let f = format!("{frac:06}");
                let _ = write!(s, "{sign}{secs}.{}S", f.trim_end_matches('0'));
            }
        }
    }
    if s == "P" { "PT0S".into() } else { s }
}

/// Arrays as Hyper's text (`[1,NULL,3]`); `None` when `array` is not an
/// array.
///
/// # Errors
/// [`Error::Internal`] for an element type with no text form.
pub fn arrays_as_text(array: &ArrayRef) -> Result<Option<ArrayRef>> {
    let Some(l) = array.as_list_opt::<i32>() else {
        return Ok(None);
    };
    let quote = !bare(&l.value_type());
    let texts = element_texts(l.values())?;
    let mut out = StringBuilder::new();
    for row in 0..l.len() {
        if l.is_null(row) {
            out.append_null();
            continue;
        }
        let mut s = String::from("[");
        for (n, i) in range_of(l, row).enumerate() {
            if n > 0 {
                s.push(',');
            }
            match &texts[i] {
                None => s.push_str("NULL"),
                Some(t) if quote => {
                    s.push('"');
                    for c in t.chars() {
                        if c == '"' || c == '\\' {
                            s.push('\\');
                        }
                        s.push(c);
                    }
                    s.push('"');
                }
                Some(t) => s.push_str(t),
            }
        }
        s.push(']');
        out.append_value(s);
    }
    Ok(Some(Arc::new(out.finish())))
}

/// Splits one array text into its elements (`None`: NULL), or says why
/// it is not one.
fn split_array_text(text: &str) -> std::result::Result<Vec<Option<String>>, String> {
    let t = text.trim();
    if t.starts_with('{') {
        return Err(
            "invalid array format: Hyper uses square brackets ([...]) to represent \
                    array literals and not curly braces ({...})"
                .into(),
        );
    }
    let inner = t
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .ok_or_else(|| "invalid array format".to_owned())?;
    let mut out = Vec::new();
    if inner.trim().is_empty() {
        return Ok(out);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let element = if chars.peek() == Some(&'"') {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => s.push(chars.next().ok_or("invalid array format")?),
                    Some(c) => s.push(c),
                    None => return Err("invalid array format".into()),
                }
            }
            Some(s)
        } else {
            let mut s = String::new();
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if matches!(c, '[' | ']' | '"') {
                    return Err("invalid array format".into());
                }
                s.push(c);
                chars.next();
            }
            let s = s.trim().to_owned();
            if s.is_empty() {
                return Err("invalid array format".into());
            }
            (!s.eq_ignore_ascii_case("null")).then_some(s)
        };
        out.push(element);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => return Ok(out),
            Some(',') => {}
            Some(_) => return Err("invalid array format".into()),
        }
    }
}

/// Text to arrays of `to`'s element type: each element is cast from its
/// text as a value of that type would be.
///
/// # Errors
/// [`Error::InvalidCast`] for text that is not an array or an element that
/// does not convert.
pub(crate) fn cast_text_to_array(text: &StringArray, to: &DataType) -> Result<ArrayRef> {
    let element = element_of(to).ok_or_else(|| Error::internal(format!("{to} is not a list")))?;
    let mut values: Vec<Option<String>> = Vec::new();
    let mut rows = Vec::with_capacity(text.len());
    for row in 0..text.len() {
        if text.is_null(row) {
            rows.push(None);
            continue;
        }
        let parts = split_array_text(text.value(row)).map_err(|reason| Error::InvalidCast {
            value: text.value(row).to_owned(),
            to: "array".into(),
            reason,
        })?;
        let start = values.len();
        values.extend(parts);
        rows.push(Some(start..values.len()));
    }
    let strings: ArrayRef = Arc::new(StringArray::from(values));
    let cast = crate::cast::cast(&strings, element)?;
    pick(item_field(element), &cast, rows.into_iter())
}

/// Arrays to arrays of another element type, element by element.
pub(crate) fn cast_array_elements(l: &ListArray, to: &DataType) -> Result<ArrayRef> {
    let element = element_of(to).ok_or_else(|| Error::internal(format!("{to} is not a list")))?;
    let values = crate::cast::cast(l.values(), element)?;
    Ok(Arc::new(ListArray::try_new(
        item_field(element),
        l.offsets().clone(),
        values,
        l.nulls().cloned(),
    )?))
}

/// The elements of each row's array, with the row each came from
/// (`unnest`): NULL and empty arrays give no row.
///
/// # Errors
/// [`Error::Internal`] when `array` is not an array.
pub fn unnest(array: &ArrayRef) -> Result<(ArrayRef, Vec<usize>)> {
    let l = array
        .as_list_opt::<i32>()
        .ok_or_else(|| Error::internal("unnest of a non-array"))?;
    let mut rows = Vec::new();
    let mut indices = Vec::new();
    for row in 0..l.len() {
        if l.is_null(row) {
            continue;
        }
        for i in range_of(l, row) {
            rows.push(row);
            indices.push(u32::try_from(i).map_err(|_| Error::internal("array too large"))?);
        }
    }
    let values = arrow::compute::take(l.values().as_ref(), &UInt32Array::from(indices), None)?;
    Ok((values, rows))
}

/// The 1-based positions of `unnest`'s rows within their arrays (`WITH
/// ORDINALITY`), BIGINT.
pub fn ordinality(rows: &[usize]) -> ArrayRef {
    let mut out = Vec::with_capacity(rows.len());
    let mut n = 0i64;
    for (k, &r) in rows.iter().enumerate() {
        n = if k > 0 && rows[k - 1] == r { n + 1 } else { 1 };
        out.push(n);
    }
    Arc::new(Int64Array::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(v: Vec<Option<i32>>) -> ArrayRef {
        Arc::new(Int32Array::from(v))
    }

    fn text_of(a: &ArrayRef) -> Vec<Option<String>> {
        let t = arrays_as_text(a).unwrap().unwrap();
        let s = t.as_string::<i32>();
        (0..s.len())
            .map(|i| s.is_valid(i).then(|| s.value(i).to_owned()))
            .collect()
    }

    #[test]
    fn constructor_keeps_nulls_and_prints_with_brackets() {
        let a = make_array(&[ints(vec![Some(1), Some(4)]), ints(vec![None, Some(5)])]).unwrap();
        assert_eq!(
            text_of(&a),
            vec![Some("[1,NULL]".into()), Some("[4,5]".into())]
        );
        let s: ArrayRef = Arc::new(StringArray::from(vec![Some("a b"), Some("e\"f\\"), None]));
        let a = make_array(&[s]).unwrap();
        assert_eq!(
            text_of(&a),
            vec![
                Some("[\"a b\"]".into()),
                Some("[\"e\\\"f\\\\\"]".into()),
                Some("[NULL]".into())
            ]
        );
    }

    #[test]
    fn text_reads_back() {
        let text = StringArray::from(vec![Some("[1, 2 ,NULL]"), Some("[]"), None]);
        let a = cast_text_to_array(&text, &list_of(&DataType::Int32)).unwrap();
        assert_eq!(
            text_of(&a),
            vec![Some("[1,2,NULL]".into()), Some("[]".into()), None]
        );
        for bad in ["{1,2}", "[1,2", "1", "[1,,2]", "[\"a]"] {
            let text = StringArray::from(vec![bad]);
            assert!(
                cast_text_to_array(&text, &list_of(&DataType::Utf8)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn subscripts_slices_concat_and_equality() {
        let a = make_array(&[ints(vec![Some(1)]), ints(vec![Some(2)]), ints(vec![None])]).unwrap();
        let l = a.as_list::<i32>();
        let at = |k: i64| element_at(l, &Int64Array::from(vec![k])).unwrap();
        assert_eq!(
            at(2).as_primitive::<arrow::datatypes::Int32Type>().value(0),
            2
        );
        assert!(at(0).is_null(0) && at(4).is_null(0) && at(3).is_null(0));
        let s = slice(l, &Int64Array::from(vec![2]), &Int64Array::from(vec![9])).unwrap();
        assert_eq!(text_of(&s), vec![Some("[2,NULL]".into())]);
        let c = concat(l, l).unwrap();
        assert_eq!(text_of(&c), vec![Some("[1,2,NULL,1,2,NULL]".into())]);
        let e = equals(l, l, false).unwrap();
        assert!(e.is_null(0), "NULL elements make = unknown");
        let b = make_array(&[ints(vec![Some(1)])]).unwrap();
        let e = equals(l, b.as_list::<i32>(), false).unwrap();
        assert!(!e.as_boolean().value(0));
    }

    #[test]
    fn unnest_numbers_rows_within_arrays() {
        let a = make_array(&[ints(vec![Some(1), Some(3)]), ints(vec![Some(2), None])]).unwrap();
        let (values, rows) = unnest(&a).unwrap();
        assert_eq!(values.len(), 4);
        assert_eq!(rows, vec![0, 0, 1, 1]);
        let o = ordinality(&rows);
        assert_eq!(
            o.as_primitive::<Int64Type>().values().to_vec(),
            vec![1, 2, 1, 2]
        );
    }
}
