//! Conditional and pattern expressions: `CASE`, `IN (list)`, `LIKE`/`ILIKE`.
//!
//! `CASE` evaluates each branch only on the rows that reach it, so that
//! `CASE WHEN x = 0 THEN 0 ELSE 1 / x END` never divides by zero: rows are
//! picked with `take`, each branch runs on its rows, and `interleave` puts
//! the pieces back in row order.
//!
//! `x IN (a, b)` is `x = a OR x = b` with Kleene logic: true if some item
//! equals, else NULL if `x` or some item is NULL, else false.
//!
//! `LIKE` patterns are translated to Arrow's dialect (backslash escapes) and
//! run by Arrow's `like` kernels; a pattern that ends with the escape
//! character is an error, as in PostgreSQL.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, StringArray, UInt32Array, new_null_array,
};
use arrow::compute::kernels::comparison;
use arrow::compute::{interleave, take_record_batch};
use arrow::datatypes::{DataType, Schema};
use arrow::record_batch::RecordBatch;

use crate::binary::{evaluate_binary, text_equals_any, text_scalar, with_datums};
use crate::error::{Error, Result};
use crate::expr::{BinaryOp, PhysicalExpr, Value, to_boolean};
use crate::functions::invalid;

/// The result type of a CASE: the type all branches share (a `Null`-typed
/// branch takes the others' type).
pub(crate) fn case_type(
    branches: &[(PhysicalExpr, PhysicalExpr)],
    else_expr: Option<&PhysicalExpr>,
    input: &Schema,
) -> Result<DataType> {
    let mut out = DataType::Null;
    for (when, _) in branches {
        match when.data_type(input)? {
            DataType::Boolean | DataType::Null => {}
            t => return Err(Error::internal(format!("CASE condition of type {t}"))),
        }
    }
    let results = branches.iter().map(|(_, then)| then).chain(else_expr);
    for e in results {
        let t = e.data_type(input)?;
        if out == DataType::Null {
            out = t;
        } else if t != DataType::Null && t != out {
            return Err(Error::internal(format!(
                "CASE branches of types {out} and {t}"
            )));
        }
    }
    Ok(out)
}

/// Evaluates a searched CASE over `batch`.
pub(crate) fn evaluate_case(
    branches: &[(PhysicalExpr, PhysicalExpr)],
    else_expr: Option<&PhysicalExpr>,
    batch: &RecordBatch,
) -> Result<ArrayRef> {
    let out_type = case_type(branches, else_expr, &batch.schema())?;
    let rows = batch.num_rows();
    // pieces[0] is a one-row NULL for rows no branch takes.
    let mut pieces: Vec<ArrayRef> = vec![new_null_array(&out_type, 1)];
    let mut picks: Vec<(usize, usize)> = vec![(0, 0); rows];
    let mut remaining: Vec<u32> = (0..rows as u32).collect();
    for (when, then) in branches {
        if remaining.is_empty() {
            break;
        }
        let sub = take_rows(batch, &remaining)?;
        let cond = to_boolean(&when.evaluate(&sub)?)?;
        let cond = cond.as_boolean();
        let mut hit = Vec::new();
        let mut miss = Vec::new();
        for (k, row) in remaining.iter().enumerate() {
            if cond.is_valid(k) && cond.value(k) {
                hit.push(*row);
            } else {
                miss.push(*row);
            }
        }
        if !hit.is_empty() {
            add_piece(then, batch, &hit, &out_type, &mut pieces, &mut picks)?;
        }
        remaining = miss;
    }
    if let (Some(e), false) = (else_expr, remaining.is_empty()) {
        add_piece(e, batch, &remaining, &out_type, &mut pieces, &mut picks)?;
    }
    let refs: Vec<&dyn Array> = pieces.iter().map(|p| p.as_ref()).collect();
    Ok(interleave(&refs, &picks)?)
}

/// Evaluates `expr` on `rows` of `batch` and records where each row's value is.
fn add_piece(
    expr: &PhysicalExpr,
    batch: &RecordBatch,
    rows: &[u32],
    out_type: &DataType,
    pieces: &mut Vec<ArrayRef>,
    picks: &mut [(usize, usize)],
) -> Result<()> {
    let values = expr.evaluate(&take_rows(batch, rows)?)?;
    let values = if values.data_type() == &DataType::Null {
        new_null_array(out_type, values.len())
    } else {
        values
    };
    pieces.push(values);
    let piece = pieces.len() - 1;
    for (k, r) in rows.iter().enumerate() {
        if let Some(slot) = picks.get_mut(*r as usize) {
            *slot = (piece, k);
        }
    }
    Ok(())
}

fn take_rows(batch: &RecordBatch, rows: &[u32]) -> Result<RecordBatch> {
    if rows.len() == batch.num_rows() {
        return Ok(batch.clone());
    }
    Ok(take_record_batch(batch, &UInt32Array::from(rows.to_vec()))?)
}

/// `expr IN (list)` (or `NOT IN` when `negated`).
pub(crate) fn evaluate_in_list(
    expr: &PhysicalExpr,
    list: &[PhysicalExpr],
    negated: bool,
    batch: &RecordBatch,
) -> Result<Value> {
    let rows = batch.num_rows();
    let x = expr.evaluate_value(batch)?;
    // A text column and a list of non-NULL text literals: one pass.
    if let Value::Array(a) = &x
        && let Some(s) = a.as_string_opt::<i32>()
    {
        let items = list
            .iter()
            .map(|item| match item.evaluate_value(batch)? {
                Value::Scalar(v) => Ok(Some(v)),
                Value::Array(_) => Ok(None),
            })
            .collect::<Result<Option<Vec<ArrayRef>>>>()?;
        if let Some(out) = items
            .as_ref()
            .and_then(|items| items.iter().map(text_scalar).collect::<Option<Vec<_>>>())
            .and_then(|needles| text_equals_any(s, &needles, negated))
        {
            return Ok(Value::Array(out));
        }
    }
    let mut acc: Option<Value> = None;
    for item in list {
        let eq = evaluate_binary(BinaryOp::Eq, x.clone(), item.evaluate_value(batch)?, rows)?;
        acc = Some(match acc {
            None => eq,
            Some(acc) => evaluate_binary(BinaryOp::Or, acc, eq, rows)?,
        });
    }
    let acc = acc.ok_or_else(|| Error::internal("IN with an empty list"))?;
    if negated {
        acc.map(|a| Ok(Arc::new(arrow::compute::not(a.as_boolean())?)))
    } else {
        Ok(acc)
    }
}

/// `expr [NOT] [I]LIKE pattern [ESCAPE escape]`.
pub(crate) fn evaluate_like(
    value: Value,
    pattern: Value,
    negated: bool,
    case_insensitive: bool,
    escape: Option<char>,
) -> Result<Value> {
    let both_scalar = value.is_scalar() && pattern.is_scalar();
    let value = value.map(|a| Ok(to_utf8(a)))?;
    let pattern = pattern.map(|p| arrow_pattern(&to_utf8(p), escape))?;
    let out: BooleanArray =
        with_datums(&value, &pattern, |l, r| match (case_insensitive, negated) {
            (false, false) => comparison::like(l, r),
            (false, true) => comparison::nlike(l, r),
            (true, false) => comparison::ilike(l, r),
            (true, true) => comparison::nilike(l, r),
        })?;
    let out: ArrayRef = Arc::new(out);
    Ok(if both_scalar {
        Value::Scalar(out)
    } else {
        Value::Array(out)
    })
}

/// A `Null`-typed operand as NULL strings.
fn to_utf8(a: &ArrayRef) -> ArrayRef {
    if a.data_type() == &DataType::Null {
        new_null_array(&DataType::Utf8, a.len())
    } else {
        a.clone()
    }
}

/// Rewrites SQL LIKE patterns with escape character `escape` (none when
/// `None`) into Arrow's, whose escape is always the backslash.
fn arrow_pattern(patterns: &ArrayRef, escape: Option<char>) -> Result<ArrayRef> {
    let patterns = patterns
        .as_string_opt::<i32>()
        .ok_or_else(|| Error::internal(format!("LIKE pattern of type {}", patterns.data_type())))?;
    if escape == Some('\\') {
        if let Some(p) = patterns
            .iter()
            .flatten()
            .find(|p| ends_with_escape(p, '\\'))
        {
            return Err(trailing_escape(p));
        }
        return Ok(Arc::new(patterns.clone()));
    }
    let mut out = Vec::with_capacity(patterns.len());
    for p in patterns.iter() {
        out.push(p.map(|p| translate(p, escape)).transpose()?);
    }
    Ok(Arc::new(StringArray::from(out)))
}

fn translate(pattern: &str, escape: Option<char>) -> Result<String> {
    let mut out = String::with_capacity(pattern.len() + 2);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            let next = chars.next().ok_or_else(|| trailing_escape(pattern))?;
            out.push('\\');
            out.push(next);
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Whether `pattern` ends with an escape character that escapes nothing.
fn ends_with_escape(pattern: &str, escape: char) -> bool {
    let trailing = pattern.chars().rev().take_while(|c| *c == escape).count();
    trailing % 2 == 1
}

fn trailing_escape(pattern: &str) -> Error {
    invalid(
        "LIKE",
        format!("LIKE pattern must not end with escape character: '{pattern}'"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translate_escapes() {
        assert_eq!(translate("a#%b", Some('#')).unwrap(), "a\\%b");
        assert_eq!(translate("a\\b", Some('#')).unwrap(), "a\\\\b");
        assert_eq!(translate("a\\b%", None).unwrap(), "a\\\\b%");
        assert_eq!(translate("##", Some('#')).unwrap(), "\\#");
        assert!(translate("ab#", Some('#')).is_err());
        assert!(ends_with_escape("ab\\", '\\'));
        assert!(!ends_with_escape("ab\\\\", '\\'));
    }

    fn like(
        values: &[Option<&str>],
        pattern: &str,
        escape: Option<char>,
        ci: bool,
    ) -> Vec<Option<bool>> {
        let v: ArrayRef = Arc::new(StringArray::from(values.to_vec()));
        let p: ArrayRef = Arc::new(StringArray::from(vec![pattern]));
        let out = evaluate_like(Value::Array(v), Value::Scalar(p), false, ci, escape).unwrap();
        out.into_array(values.len())
            .unwrap()
            .as_boolean()
            .iter()
            .collect()
    }

    #[test]
    fn like_semantics() {
        let vals = [Some("abc"), Some("a%c"), Some("ABC"), None];
        let t = Some(true);
        let f = Some(false);
        assert_eq!(like(&vals, "a%", Some('\\'), false), vec![t, t, f, None]);
        assert_eq!(like(&vals, "a\\%c", Some('\\'), false), vec![f, t, f, None]);
        assert_eq!(like(&vals, "a!%c", Some('!'), false), vec![f, t, f, None]);
        assert_eq!(like(&vals, "a_c", Some('\\'), true), vec![t, t, t, None]);
        let v: ArrayRef = Arc::new(StringArray::from(vec!["a"]));
        let p: ArrayRef = Arc::new(StringArray::from(vec!["a\\"]));
        let e = evaluate_like(Value::Array(v), Value::Scalar(p), false, false, Some('\\'));
        assert!(matches!(e, Err(Error::InvalidArgument { .. })));
    }
}
