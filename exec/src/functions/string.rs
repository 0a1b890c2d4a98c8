//! String functions, with PostgreSQL/Hyper semantics: positions and lengths
//! count characters (not bytes), positions are 1-based, and a NULL argument
//! gives NULL (except `concat`, which skips NULLs).
//!
//! Arrow's kernels are used where their semantics match SQL's (`||` is
//! `concat_elements_utf8`, `octet_length` is `length`, `starts_with`); the
//! rest work row by row on `&str`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int32Array, Int64Array, StringArray, StringBuilder};
use arrow::compute::kernels::{comparison, concat_elements, length};
use arrow::datatypes::DataType;

use super::{ScalarFunction, TrimSide, bad_args, invalid};
use crate::error::{Error, Result};

/// Largest string a function may build (1 GiB), so that `repeat` and
/// `lpad` fail cleanly instead of exhausting memory.
const RESULT_BYTES_MAX: usize = 1 << 30;

pub(super) fn return_type(func: ScalarFunction, args: &[DataType]) -> Result<DataType> {
    use DataType::{Int64, Utf8};
    use ScalarFunction::*;
    let ok = match func {
        CharLength | OctetLength | Lower | Upper | Reverse => args == [Utf8],
        Substring => matches!(args, [Utf8, Int64] | [Utf8, Int64, Int64]),
        Left | Right | Repeat => args == [Utf8, Int64],
        StrPos | StringConcat | StartsWith | EndsWith => args == [Utf8, Utf8],
        Trim(_) => matches!(args, [Utf8] | [Utf8, Utf8]),
        Lpad | Rpad => matches!(args, [Utf8, Int64] | [Utf8, Int64, Utf8]),
        Replace => args == [Utf8, Utf8, Utf8],
        SplitPart => args == [Utf8, Utf8, Int64],
        Concat => args.iter().all(|t| matches!(t, Utf8 | DataType::Null)),
        BitLength | Ascii | Initcap | QuoteIdent | QuoteLiteral | Md5 => args == [Utf8],
        Chr => args == [Int64],
        ToHex => matches!(args, [Int64 | DataType::Int32]),
        _ => false,
    };
    if !ok {
        return Err(bad_args(func, args));
    }
    Ok(match func {
        CharLength | OctetLength | StrPos | BitLength | Ascii => DataType::Int32,
        StartsWith | EndsWith => DataType::Boolean,
        _ => Utf8,
    })
}

pub(super) fn evaluate(func: ScalarFunction, args: &[ArrayRef]) -> Result<ArrayRef> {
    use ScalarFunction::*;
    let types: Vec<DataType> = args.iter().map(|a| a.data_type().clone()).collect();
    return_type(func, &types)?;
    let rows = args.first().map_or(0, |a| a.len());
    match func {
        CharLength => int32_rows(rows, |i| Ok(text(args, 0, i).map(char_count))),
        OctetLength => Ok(length::length(args[0].as_ref())?),
        Lower => map_text(args, |s| Ok(s.to_lowercase())),
        Upper => map_text(args, |s| Ok(s.to_uppercase())),
        Reverse => map_text(args, |s| Ok(s.chars().rev().collect())),
        Substring => text_rows(rows, |i| substring_at(args, i)),
        Left | Right => text_rows(rows, |i| {
            let (Some(s), Some(n)) = (text(args, 0, i), int(args, 1, i)) else {
                return Ok(None);
            };
            Ok(Some(left_right(s, n, func == Left)))
        }),
        StrPos => int32_rows(rows, |i| match (text(args, 0, i), text(args, 1, i)) {
            (Some(s), Some(needle)) => Ok(Some(strpos(s, needle))),
            _ => Ok(None),
        }),
        Trim(side) => text_rows(rows, |i| trim_at(args, side, i)),
        Lpad | Rpad => text_rows(rows, |i| pad_at(args, func == Lpad, i)),
        Repeat => text_rows(rows, |i| repeat_at(args, i)),
        Replace => text_rows(rows, |i| {
            match (text(args, 0, i), text(args, 1, i), text(args, 2, i)) {
                (Some(s), Some(""), Some(_)) => Ok(Some(s.to_string())),
                (Some(s), Some(from), Some(to)) => Ok(Some(s.replace(from, to))),
                _ => Ok(None),
            }
        }),
        SplitPart => text_rows(rows, |i| split_part_at(args, i)),
        Concat => text_rows(rows, |i| {
            Ok(Some(
                (0..args.len()).filter_map(|a| text(args, a, i)).collect(),
            ))
        }),
        StringConcat => Ok(Arc::new(concat_elements::concat_elements_utf8(
            args[0].as_string::<i32>(),
            args[1].as_string::<i32>(),
        )?)),
        StartsWith => Ok(Arc::new(comparison::starts_with(&args[0], &args[1])?)),
        EndsWith => Ok(Arc::new(comparison::ends_with(&args[0], &args[1])?)),
        BitLength => int32_rows(rows, |i| {
            text(args, 0, i)
                .map(|s| i32::try_from(s.len() * 8).map_err(|_| invalid("bit_length", "too long")))
                .transpose()
        }),
        Ascii => int32_rows(rows, |i| {
            Ok(text(args, 0, i).map(|s| s.chars().next().map_or(0, |c| c as i32)))
        }),
        Chr => text_rows(rows, |i| int(args, 0, i).map(chr).transpose()),
        ToHex => {
            if let Some(a) = args[0].as_primitive_opt::<arrow::datatypes::Int32Type>() {
                return text_rows(rows, |i| {
                    Ok(a.is_valid(i).then(|| format!("{:x}", a.value(i) as u32)))
                });
            }
            text_rows(rows, |i| {
                Ok(int(args, 0, i).map(|v| format!("{:x}", v as u64)))
            })
        }
        Initcap => map_text(args, |s| Ok(initcap(s))),
        QuoteIdent => map_text(args, |s| Ok(quote_ident(s))),
        QuoteLiteral => map_text(args, |s| Ok(quote_literal(s))),
        Md5 => map_text(args, |s| Ok(md5_hex(s))),
        other => Err(Error::internal(format!(
            "{other:?} is not a string function"
        ))),
    }
}

/// `chr(code)`: 0 and values that are no character are errors.
fn chr(code: i64) -> Result<String> {
    if code == 0 {
        return Err(invalid(
            "chr",
            "the null (0) character is not permitted as an argument to `chr()`",
        ));
    }
    u32::try_from(code)
        .ok()
        .and_then(char::from_u32)
        .map(String::from)
        .ok_or_else(|| invalid("chr", format!("requested character {code} is not valid")))
}

/// Upper-cases the first letter of each run of letters and digits and
/// lower-cases the rest, as PostgreSQL.
fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for c in s.chars() {
        if in_word {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        in_word = c.is_alphanumeric();
    }
    out
}

/// Whether `s` needs no quotes as an identifier: lower-case letters,
/// digits and `_`, not starting with a digit, and not a reserved word.
fn plain_identifier(s: &str) -> bool {
    const RESERVED: &[&str] = &[
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "current_date",
        "current_role",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "grant",
        "group",
        "having",
        "in",
        "initially",
        "intersect",
        "into",
        "lateral",
        "leading",
        "limit",
        "localtime",
        "localtimestamp",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "placing",
        "primary",
        "references",
        "returning",
        "select",
        "session_user",
        "some",
        "symmetric",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "when",
        "where",
        "window",
        "with",
    ];
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&s)
}

fn quote_ident(s: &str) -> String {
    if plain_identifier(s) {
        return s.to_string();
    }
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn md5_hex(s: &str) -> String {
    use md5::Digest as _;
    md5::Md5::digest(s.as_bytes())
        .iter()
        .fold(String::with_capacity(32), |mut out, b| {
            use std::fmt::Write as _;
            let _ = write!(out, "{b:02x}");
            out
        })
}

fn quote_literal(s: &str) -> String {
    let body = s.replace('\'', "''");
    if s.contains('\\') {
        format!("E'{}'", body.replace('\\', "\\\\"))
    } else {
        format!("'{body}'")
    }
}

/// The text at row `i` of argument `arg` (checked to be `Utf8` before).
fn text(args: &[ArrayRef], arg: usize, i: usize) -> Option<&str> {
    let a = args.get(arg)?.as_string_opt::<i32>()?;
    a.is_valid(i).then(|| a.value(i))
}

/// The integer at row `i` of argument `arg` (checked to be `Int64` before).
fn int(args: &[ArrayRef], arg: usize, i: usize) -> Option<i64> {
    let a = args.get(arg)?.as_any().downcast_ref::<Int64Array>()?;
    a.is_valid(i).then(|| a.value(i))
}

fn char_count(s: &str) -> i32 {
    i32::try_from(s.chars().count()).unwrap_or(i32::MAX)
}

/// Builds a text column row by row.
fn text_rows(rows: usize, mut f: impl FnMut(usize) -> Result<Option<String>>) -> Result<ArrayRef> {
    let mut b = StringBuilder::with_capacity(rows, 0);
    for i in 0..rows {
        b.append_option(f(i)?);
    }
    Ok(Arc::new(b.finish()))
}

/// Builds an INTEGER column row by row.
fn int32_rows(rows: usize, mut f: impl FnMut(usize) -> Result<Option<i32>>) -> Result<ArrayRef> {
    let values = (0..rows).map(&mut f).collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(Int32Array::from(values)))
}

/// Applies `f` to every non-NULL value of the only (text) argument.
fn map_text(args: &[ArrayRef], f: impl Fn(&str) -> Result<String>) -> Result<ArrayRef> {
    let a: &StringArray = args[0].as_string::<i32>();
    let mut b = StringBuilder::with_capacity(a.len(), a.value_data().len());
    for v in a.iter() {
        b.append_option(v.map(&f).transpose()?);
    }
    Ok(Arc::new(b.finish()))
}

/// `substring(s, start [, count])` as PostgreSQL: characters from `start`
/// (which may be before 1) for `count` characters.
fn substring_at(args: &[ArrayRef], i: usize) -> Result<Option<String>> {
    let (Some(s), Some(start)) = (text(args, 0, i), int(args, 1, i)) else {
        return Ok(None);
    };
    let end = if args.len() == 3 {
        let Some(count) = int(args, 2, i) else {
            return Ok(None);
        };
        if count < 0 {
            return Err(invalid(
                "substring",
                "negative substring length not allowed",
            ));
        }
        Some(start.saturating_add(count))
    } else {
        None
    };
    let from = start.max(1);
    let take = match end {
        Some(end) if end <= from => return Ok(Some(String::new())),
        Some(end) => usize::try_from(end - from).unwrap_or(usize::MAX),
        None => usize::MAX,
    };
    let skip = usize::try_from(from - 1).unwrap_or(usize::MAX);
    Ok(Some(s.chars().skip(skip).take(take).collect()))
}

/// `left(s, n)` / `right(s, n)`.
fn left_right(s: &str, n: i64, left: bool) -> String {
    let len = s.chars().count() as i64;
    let keep = if n >= 0 { n.min(len) } else { (len + n).max(0) };
    let keep = keep as usize;
    if left {
        s.chars().take(keep).collect()
    } else {
        s.chars().skip(len as usize - keep).collect()
    }
}

fn strpos(s: &str, needle: &str) -> i32 {
    match s.find(needle) {
        Some(byte) => char_count(&s[..byte]) + 1,
        None => 0,
    }
}

fn trim_at(args: &[ArrayRef], side: TrimSide, i: usize) -> Result<Option<String>> {
    let Some(s) = text(args, 0, i) else {
        return Ok(None);
    };
    let set: Vec<char> = if args.len() == 2 {
        match text(args, 1, i) {
            Some(chars) => chars.chars().collect(),
            None => return Ok(None),
        }
    } else {
        vec![' ']
    };
    let strip = |c: char| set.contains(&c);
    let out = match side {
        TrimSide::Both => s.trim_matches(strip),
        TrimSide::Leading => s.trim_start_matches(strip),
        TrimSide::Trailing => s.trim_end_matches(strip),
    };
    Ok(Some(out.to_string()))
}

/// `lpad`/`rpad`: fills (or truncates) to `length` characters.
fn pad_at(args: &[ArrayRef], left: bool, i: usize) -> Result<Option<String>> {
    let (Some(s), Some(length)) = (text(args, 0, i), int(args, 1, i)) else {
        return Ok(None);
    };
    let fill = if args.len() == 3 {
        match text(args, 2, i) {
            Some(f) => f,
            None => return Ok(None),
        }
    } else {
        " "
    };
    let target = usize::try_from(length.max(0)).unwrap_or(usize::MAX);
    check_size(target.saturating_mul(4), if left { "lpad" } else { "rpad" })?;
    let len = s.chars().count();
    if len >= target || fill.is_empty() {
        return Ok(Some(s.chars().take(target).collect()));
    }
    let padding: String = fill.chars().cycle().take(target - len).collect();
    Ok(Some(if left {
        padding + s
    } else {
        format!("{s}{padding}")
    }))
}

fn repeat_at(args: &[ArrayRef], i: usize) -> Result<Option<String>> {
    let (Some(s), Some(n)) = (text(args, 0, i), int(args, 1, i)) else {
        return Ok(None);
    };
    let n = usize::try_from(n.max(0)).unwrap_or(usize::MAX);
    check_size(s.len().saturating_mul(n), "repeat")?;
    Ok(Some(s.repeat(n)))
}

fn check_size(bytes: usize, function: &str) -> Result<()> {
    if bytes > RESULT_BYTES_MAX {
        return Err(invalid(function, "requested length too large"));
    }
    Ok(())
}

/// `split_part(s, delimiter, n)`: the n-th field, counting from the end
/// when `n` is negative; empty when there is no such field.
fn split_part_at(args: &[ArrayRef], i: usize) -> Result<Option<String>> {
    let (Some(s), Some(delim), Some(n)) = (text(args, 0, i), text(args, 1, i), int(args, 2, i))
    else {
        return Ok(None);
    };
    if n == 0 {
        return Err(invalid("split_part", "field position must not be zero"));
    }
    let fields: Vec<&str> = if delim.is_empty() {
        if s.is_empty() { vec![] } else { vec![s] }
    } else {
        s.split(delim).collect()
    };
    let index = if n > 0 {
        usize::try_from(n - 1).ok()
    } else {
        usize::try_from(n.unsigned_abs())
            .ok()
            .and_then(|k| fields.len().checked_sub(k))
    };
    Ok(Some(
        index
            .and_then(|k| fields.get(k))
            .map_or_else(String::new, |f| (*f).to_string()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(v.to_vec()))
    }

    fn i(v: &[Option<i64>]) -> ArrayRef {
        Arc::new(Int64Array::from(v.to_vec()))
    }

    fn texts(a: &ArrayRef) -> Vec<Option<String>> {
        a.as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    fn run(func: ScalarFunction, args: &[ArrayRef]) -> Result<ArrayRef> {
        evaluate(func, args)
    }

    #[test]
    fn substring_like_postgres() {
        let src = s(&[Some("hello"); 5]);
        let start = i(&[Some(2), Some(0), Some(-3), Some(9), Some(2)]);
        let count = i(&[Some(3), Some(2), Some(5), Some(1), None]);
        let out = run(ScalarFunction::Substring, &[src.clone(), start, count]).unwrap();
        let want = [Some("ell"), Some("h"), Some("h"), Some(""), None];
        assert_eq!(texts(&out), want.map(|v| v.map(str::to_string)).to_vec());
        let e = run(
            ScalarFunction::Substring,
            &[s(&[Some("x")]), i(&[Some(1)]), i(&[Some(-1)])],
        );
        assert!(matches!(e, Err(Error::InvalidArgument { .. })));
    }

    #[test]
    fn split_part_negative_and_zero() {
        let src = s(&[Some("a,b,c"); 4]);
        let d = s(&[Some(","); 4]);
        let n = i(&[Some(2), Some(-1), Some(4), Some(-4)]);
        let out = run(ScalarFunction::SplitPart, &[src, d, n]).unwrap();
        let want = ["b", "c", "", ""].map(|v| Some(v.to_string()));
        assert_eq!(texts(&out), want.to_vec());
        let e = run(
            ScalarFunction::SplitPart,
            &[s(&[Some("a")]), s(&[Some(",")]), i(&[Some(0)])],
        );
        assert!(matches!(e, Err(Error::InvalidArgument { .. })));
    }

    #[test]
    fn pads_and_repeat() {
        let out = run(
            ScalarFunction::Lpad,
            &[
                s(&[Some("hi"), Some("hello")]),
                i(&[Some(5), Some(3)]),
                s(&[Some("xy"), Some("*")]),
            ],
        )
        .unwrap();
        assert_eq!(texts(&out), vec![Some("xyxhi".into()), Some("hel".into())]);
        let e = run(
            ScalarFunction::Repeat,
            &[s(&[Some("abc")]), i(&[Some(i64::MAX)])],
        );
        assert!(matches!(e, Err(Error::InvalidArgument { .. })));
    }

    #[test]
    fn wrong_types_are_internal() {
        let e = run(ScalarFunction::Lower, &[i(&[Some(1)])]);
        assert!(matches!(e, Err(Error::Internal { .. })));
    }

    #[test]
    fn positions_count_characters() {
        assert_eq!(strpos("äbc", "c"), 3);
        assert_eq!(strpos("abc", ""), 1);
        assert_eq!(strpos("abc", "x"), 0);
        assert_eq!(left_right("äbcd", -1, true), "äbc");
        assert_eq!(left_right("äbcd", 2, false), "cd");
        assert_eq!(left_right("ab", 5, false), "ab");
    }
}
